//! Moving data between deployments: `migrate-data` copies every table from
//! one database to another (SQLite ⇄ PostgreSQL) and proves the copy with row
//! counts and checksums per table; `backup` makes a consistent copy of a live
//! database.

use crate::storage::{Backend, Db, placeholders, split_schema};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

/// Every table, parents before children, with the key that orders its rows.
pub const TABLES: &[(&str, &str)] = &[
    ("divisions", "code"),
    ("entities", "id"),
    ("outlets", "id"),
    ("designations", "id"),
    ("users", "id"),
    ("sessions", "token_hash"),
    ("api_tokens", "token_hash"),
    ("audit_log", "id"),
    ("imports", "id"),
    ("changes", "seq"),
    ("credit_records", "id"),
    ("credit_record_versions", "record_id, version"),
    ("credit_repairs", "id"),
    ("job_runs", "job, period"),
    ("review_settings", "name"),
    ("reviewers", "id"),
    ("reviewer_codes", "id"),
    ("reviewer_sessions", "token_hash"),
    ("entity_tokens", "token_hash"),
    ("review_receipts", "code"),
    ("reviews", "id"),
    ("review_cases", "id"),
    ("review_appeals", "id"),
    ("quality_totals", "scope, key"),
    ("plan_reports", "id"),
    ("plan_report_versions", "report_id, version"),
    ("plan_report_attachments", "id"),
    ("plan_cadences", "task"),
    ("stat_cells", "measure, category, division_code, period"),
    ("stat_sources", "source"),
    ("stat_releases", "id"),
    ("rate_hits", "bucket, window_start"),
];

/// Rows per INSERT while copying.
const COPY_ROWS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Float,
    Text,
    Blob,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableSum {
    pub table: String,
    pub rows: u64,
    pub sha256: String,
}

/// Column names and storage types of a table, from the catalogue.
async fn columns(db: &Db, table: &str) -> anyhow::Result<Vec<(String, Ty)>> {
    let rows: Vec<(String, String)> = match db.backend() {
        Backend::Sqlite => {
            sqlx::query_as(&format!("SELECT name, type FROM pragma_table_info('{table}') ORDER BY cid"))
                .fetch_all(db.pool())
                .await?
        }
        Backend::Postgres => {
            sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table.to_string())
            .fetch_all(db.pool())
            .await?
        }
    };
    anyhow::ensure!(!rows.is_empty(), "table {table} not found");
    Ok(rows
        .into_iter()
        .map(|(name, ty)| {
            let ty = ty.to_ascii_uppercase();
            let ty = if ty.contains("INT") {
                Ty::Int
            } else if ty.contains("DOUBLE") || ty.contains("REAL") || ty.contains("FLOAT") {
                Ty::Float
            } else if ty.contains("BLOB") || ty.contains("BYTEA") {
                Ty::Blob
            } else {
                Ty::Text
            };
            (name, ty)
        })
        .collect())
}

/// One value, typed by its column.
#[derive(Debug, Clone)]
enum Value {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

impl Value {
    fn read(row: &AnyRow, index: usize, ty: Ty) -> Result<Value, sqlx::Error> {
        Ok(match ty {
            Ty::Int => Value::Int(row.try_get(index)?),
            Ty::Float => Value::Float(row.try_get(index)?),
            Ty::Text => Value::Text(row.try_get(index)?),
            Ty::Blob => Value::Blob(row.try_get(index)?),
        })
    }

    /// The canonical text the checksum is taken over; equal on both backends.
    fn canonical(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(Some(v)) => out.extend_from_slice(v.to_string().as_bytes()),
            Value::Float(Some(v)) => out.extend_from_slice(format!("{v:?}").as_bytes()),
            Value::Text(Some(v)) => out.extend_from_slice(v.as_bytes()),
            Value::Blob(Some(v)) => {
                out.extend_from_slice(format!("{:x}", Sha256::digest(v)).as_bytes())
            }
            _ => out.push(0),
        }
        out.push(0x1f);
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Value::Int(v) => query.bind(v),
            Value::Float(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Blob(v) => query.bind(v),
        }
    }
}

/// Reads a table in key order, a page at a time, handing each page to `each`.
async fn scan(
    db: &Db,
    table: &str,
    key: &str,
    cols: &[(String, Ty)],
    mut each: impl AsyncFnMut(Vec<Vec<Value>>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let mut offset = 0i64;
    // Files (up to 10 MB each) are read a few at a time.
    let page: i64 = if has_files(cols) { 8 } else { 5000 };
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM {table} ORDER BY {key} LIMIT $1 OFFSET $2",
            names.join(", ")
        ))
        .bind(page)
        .bind(offset)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        offset += rows.len() as i64;
        let page = rows
            .iter()
            .map(|r| {
                cols.iter()
                    .enumerate()
                    .map(|(i, (_, ty))| Value::read(r, i, *ty))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        each(page).await?;
    }
}

fn has_files(cols: &[(String, Ty)]) -> bool {
    cols.iter().any(|(_, ty)| *ty == Ty::Blob)
}

/// Row count and SHA-256 over every value of a table in key order.
pub async fn table_sum(db: &Db, table: &str, key: &str) -> anyhow::Result<TableSum> {
    let cols = columns(db, table).await?;
    let mut hasher = Sha256::new();
    let mut rows = 0u64;
    let mut buffer = Vec::new();
    scan(db, table, key, &cols, async |page| {
        for row in page {
            buffer.clear();
            row.iter().for_each(|v| v.canonical(&mut buffer));
            buffer.push(0x1e);
            hasher.update(&buffer);
            rows += 1;
        }
        Ok(())
    })
    .await?;
    Ok(TableSum {
        table: table.to_string(),
        rows,
        sha256: format!("{:x}", hasher.finalize()),
    })
}

/// Copies every table from `from` to `to`, which must hold no data yet (the
/// reference divisions it seeded are replaced by the source's), then
/// verifies each table. Returns the verified sums.
pub async fn migrate_data(
    from: &Db,
    to: &Db,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<Vec<TableSum>> {
    for (table, _) in &TABLES[1..] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(to.pool())
            .await?;
        anyhow::ensure!(
            count == 0,
            "目标数据库的 {table} 表已有 {count} 行：请使用空数据库"
        );
    }
    sqlx::query("DELETE FROM divisions")
        .execute(to.pool())
        .await?;
    for (table, key) in TABLES {
        copy_table(from, to, table, key, progress).await?;
    }
    if to.backend() == Backend::Postgres {
        reset_sequences(to).await?;
    }
    let mut sums = Vec::new();
    for (table, key) in TABLES {
        let (a, b) = (
            table_sum(from, table, key).await?,
            table_sum(to, table, key).await?,
        );
        anyhow::ensure!(
            a == b,
            "校验失败：{table} 源 {} 行 {}，目标 {} 行 {}",
            a.rows,
            a.sha256,
            b.rows,
            b.sha256
        );
        sums.push(a);
    }
    Ok(sums)
}

async fn copy_table(
    from: &Db,
    to: &Db,
    table: &str,
    key: &str,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<()> {
    let cols = columns(from, table).await?;
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(bar) = progress {
        bar.set_message(table.to_string());
    }
    scan(from, table, key, &cols, async |page| {
        let mut tx = to.pool().begin().await?;
        // One file per statement keeps each well inside PostgreSQL's message limit.
        let rows = if has_files(&cols) { 1 } else { COPY_ROWS };
        for chunk in page.chunks(rows) {
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                names.join(", "),
                placeholders(to.backend(), chunk.len(), names.len())
            );
            // Not kept prepared: sqlx's Any driver binds a NULL f64 as a
            // PostgreSQL float4, and a statement prepared with one refuses
            // the next chunk's float8 values.
            let mut query = sqlx::query(&sql).persistent(false);
            for row in chunk {
                for value in row.iter().cloned() {
                    query = value.bind(query);
                }
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        if let Some(bar) = progress {
            bar.inc(page.len() as u64);
        }
        Ok(())
    })
    .await
}

/// After copying explicit ids, each BIGSERIAL sequence continues past the largest.
async fn reset_sequences(db: &Db) -> anyhow::Result<()> {
    for (table, key) in TABLES {
        if *key == "id" || *key == "seq" {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{key}'), COALESCE(MAX({key}), 0) + 1, false) FROM {table}"
            ))
            .execute(db.pool())
            .await?;
        }
    }
    Ok(())
}

/// A consistent copy of the live database at `out`. SQLite: `VACUUM INTO`,
/// which reads one snapshot while the server keeps writing (sqlx does not
/// expose sqlite3_backup; the result is the same consistent file, compacted).
/// PostgreSQL: `pg_dump --format=custom` of the database or schema.
pub async fn backup(db: &Db, url: &str, out: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !out.exists(),
        "{} 已存在：备份不会覆盖已有文件",
        out.display()
    );
    match db.backend() {
        Backend::Sqlite => {
            sqlx::query("VACUUM INTO $1")
                .bind(out.display().to_string())
                .execute(db.pool())
                .await?;
        }
        Backend::Postgres => {
            let (base, schema) = split_schema(url);
            let mut command = tokio::process::Command::new("pg_dump");
            command
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(out);
            if let Some(schema) = schema {
                command.arg(format!("--schema={schema}"));
            }
            let status = command.arg(base).status().await.map_err(|e| {
                anyhow::anyhow!(
                    "无法运行 pg_dump（请安装与服务器版本一致的 PostgreSQL 客户端）：{e}"
                )
            })?;
            anyhow::ensure!(status.success(), "pg_dump 失败：{status}");
        }
    }
    Ok(())
}
