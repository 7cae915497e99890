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
    ("review_changes", "seq"),
    ("plan_reports", "id"),
    ("plan_report_versions", "report_id, version"),
    ("plan_report_attachments", "id"),
    ("plan_cadences", "task"),
    ("stat_cells", "measure, category, division_code, period"),
    ("stat_sources", "source"),
    ("stat_releases", "id"),
    ("rate_hits", "bucket, window_start"),
];

/// Rows per INSERT while copying into SQLite.
const INSERT_ROWS: usize = 200;

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

/// Streams a table in key order (one query, so one consistent snapshot and
/// no OFFSET rescans at millions of rows), handing rows to `each` a page at
/// a time.
async fn scan(
    db: &Db,
    table: &str,
    key: &str,
    cols: &[(String, Ty)],
    mut each: impl AsyncFnMut(Vec<Vec<Value>>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use futures_util::TryStreamExt;
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY {key}", names.join(", "));
    let mut rows = sqlx::query(&sql).fetch(db.pool());
    // Files (up to 10 MB each) are handed on a few at a time.
    let page_len = if has_files(cols) { 8 } else { 5000 };
    let mut page = Vec::with_capacity(page_len);
    while let Some(row) = rows.try_next().await? {
        page.push(
            cols.iter()
                .enumerate()
                .map(|(i, (_, ty))| Value::read(&row, i, *ty))
                .collect::<Result<Vec<_>, _>>()?,
        );
        if page.len() == page_len {
            each(std::mem::replace(&mut page, Vec::with_capacity(page_len))).await?;
        }
    }
    if !page.is_empty() {
        each(page).await?;
    }
    Ok(())
}

fn has_files(cols: &[(String, Ty)]) -> bool {
    cols.iter().any(|(_, ty)| *ty == Ty::Blob)
}

/// Row count and SHA-256 over every value of a table in key order, read
/// straight from each row (no copy of its values).
pub async fn table_sum(db: &Db, table: &str, key: &str) -> anyhow::Result<TableSum> {
    use futures_util::TryStreamExt;
    let cols = columns(db, table).await?;
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY {key}", names.join(", "));
    let mut stream = sqlx::query(&sql).fetch(db.pool());
    let mut hasher = Sha256::new();
    let mut rows = 0u64;
    let mut buffer = Vec::new();
    while let Some(row) = stream.try_next().await? {
        buffer.clear();
        for (i, (_, ty)) in cols.iter().enumerate() {
            canonical(&row, i, *ty, &mut buffer)?;
        }
        buffer.push(0x1e);
        hasher.update(&buffer);
        rows += 1;
    }
    Ok(TableSum {
        table: table.to_string(),
        rows,
        sha256: format!("{:x}", hasher.finalize()),
    })
}

/// The canonical text of one value that the checksum is taken over; equal on
/// both backends (floats in Rust's shortest exact form, files by SHA-256).
fn canonical(row: &AnyRow, i: usize, ty: Ty, out: &mut Vec<u8>) -> Result<(), sqlx::Error> {
    use std::io::Write;
    let written = match ty {
        Ty::Int => row
            .try_get::<Option<i64>, _>(i)?
            .map(|v| write!(out, "{v}")),
        Ty::Float => row
            .try_get::<Option<f64>, _>(i)?
            .map(|v| write!(out, "{v:?}")),
        Ty::Text => row
            .try_get::<Option<&str>, _>(i)?
            .map(|v| out.write_all(v.as_bytes())),
        Ty::Blob => row
            .try_get::<Option<&[u8]>, _>(i)?
            .map(|v| write!(out, "{:x}", Sha256::digest(v))),
    };
    if written.is_none() {
        out.push(0);
    }
    out.push(0x1f);
    Ok(())
}

/// One table's copy: rows written and the time it took.
#[derive(Debug, Clone)]
pub struct Copied {
    pub table: String,
    pub rows: u64,
    pub elapsed: std::time::Duration,
}

/// What `migrate_data` did: each table's copy, then its verified sums.
#[derive(Debug, Clone)]
pub struct Migration {
    pub copied: Vec<Copied>,
    pub verified: Vec<TableSum>,
}

/// Copies every table from `from` to `to`, which must hold no data yet (the
/// reference divisions it seeded are replaced by the source's), then
/// verifies each table. PostgreSQL targets are loaded with COPY.
pub async fn migrate_data(
    from: &Db,
    to: &Db,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<Migration> {
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
    let mut copied = Vec::new();
    for (table, key) in TABLES {
        if let Some(bar) = progress {
            bar.set_message(table.to_string());
        }
        let started = std::time::Instant::now();
        let cols = columns(from, table).await?;
        let rows = match (from.backend(), to.backend()) {
            (Backend::Sqlite, Backend::Postgres) => {
                copy_into_postgres(from, to, table, key, &cols, progress).await?
            }
            _ => insert_rows(from, to, table, key, &cols, progress).await?,
        };
        copied.push(Copied {
            table: table.to_string(),
            rows,
            elapsed: started.elapsed(),
        });
    }
    if to.backend() == Backend::Postgres {
        reset_sequences(to).await?;
    }
    let mut verified = Vec::new();
    for (table, key) in TABLES {
        // Each side on its own task, so the two read on both cores.
        let side = |db: &Db| {
            let db = db.clone();
            tokio::spawn(async move { table_sum(&db, table, key).await })
        };
        let (a, b) = tokio::try_join!(side(from), side(to))?;
        let (a, b) = (a?, b?);
        anyhow::ensure!(
            a == b,
            "校验失败：{table} 源 {} 行 {}，目标 {} 行 {}",
            a.rows,
            a.sha256,
            b.rows,
            b.sha256
        );
        verified.push(a);
    }
    Ok(Migration { copied, verified })
}

/// Loads a table from SQLite into PostgreSQL as `pg_restore` does: in one
/// transaction, its secondary indexes, unique constraints and foreign keys
/// dropped, the rows sent by one `COPY … FROM STDIN (FORMAT csv)` in buffers
/// of about 1 MB, and all of them added again at the end (one sort or join
/// each instead of an index insert and a key lookup per row).
/// Primary keys stay; a duplicate or an orphan fails the copy when its
/// constraint is added back. SQLite writes the CSV itself ([`csv_line`]),
/// thousands of lines per value read.
async fn copy_into_postgres(
    from: &Db,
    to: &Db,
    table: &str,
    key: &str,
    cols: &[(String, Ty)],
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<u64> {
    use futures_util::TryStreamExt;
    use sqlx::Executor;
    const BUFFER: usize = 1 << 20;
    let mut conn = to.postgres_connection().await?;
    conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; BEGIN")
        .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 \
         AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1)) ORDER BY indexname",
    )
    .bind(table)
    .fetch_all(&mut conn)
    .await?;
    // Foreign keys, and unique constraints no foreign key rests on, go the
    // same way: checked once, by a join or a sort, when added back (a
    // duplicate or an orphan still fails the copy) instead of row by row.
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conname::text, pg_get_constraintdef(c.oid) FROM pg_constraint c \
         WHERE c.conrelid = to_regclass($1) AND (c.contype = 'f' OR (c.contype = 'u' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid))) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut conn)
    .await?;
    for (name, _) in &indexes {
        conn.execute(format!("DROP INDEX {name}").as_str()).await?;
    }
    for (name, _) in &constraints {
        conn.execute(format!("ALTER TABLE {table} DROP CONSTRAINT {name}").as_str())
            .await?;
    }
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY {table} ({}) FROM STDIN (FORMAT csv)",
            names.join(", ")
        ))
        .await?;
    let mut buffer = Vec::with_capacity(BUFFER + 4096);
    let line = csv_line(cols);
    // One snapshot of the table, however many statements read it.
    let mut read = from.pool().begin().await?;
    let has_rowid: Option<i64> =
        sqlx::query_scalar("SELECT 1 - wr FROM pragma_table_list WHERE name = $1")
            .bind(table)
            .fetch_optional(&mut *read)
            .await?;
    if has_rowid == Some(1) {
        // Thousands of lines per value: sqlx hands SQLite's rows over one
        // by one through a channel, which costs more than the COPY itself.
        let (first, last): (Option<i64>, Option<i64>) =
            sqlx::query_as(&format!("SELECT MIN(rowid), MAX(rowid) FROM {table}"))
                .fetch_one(&mut *read)
                .await?;
        let span = if has_files(cols) { 8 } else { 2000 };
        let chunk = format!(
            "SELECT group_concat(line, ''), COUNT(*) FROM (SELECT {line} AS line FROM {table} WHERE rowid BETWEEN $1 AND $2)"
        );
        let (mut start, last) = (first.unwrap_or(1), last.unwrap_or(0));
        while start <= last {
            let (text, n): (Option<String>, i64) = sqlx::query_as(&chunk)
                .bind(start)
                .bind(start + span - 1)
                .fetch_one(&mut *read)
                .await?;
            buffer.extend_from_slice(text.unwrap_or_default().as_bytes());
            start += span;
            send_full(&mut copy, &mut buffer, BUFFER).await?;
            if let Some(bar) = progress {
                bar.inc(n as u64);
            }
        }
    } else {
        let select = format!("SELECT {line} FROM {table} ORDER BY {key}");
        let mut lines = sqlx::query_scalar::<_, String>(&select).fetch(&mut *read);
        while let Some(line) = lines.try_next().await? {
            buffer.extend_from_slice(line.as_bytes());
            send_full(&mut copy, &mut buffer, BUFFER).await?;
            if let Some(bar) = progress {
                bar.inc(1);
            }
        }
    }
    send_full(&mut copy, &mut buffer, 0).await?;
    let rows = copy.finish().await?;
    for (_, definition) in &indexes {
        conn.execute(definition.as_str()).await?;
    }
    for (name, definition) in &constraints {
        conn.execute(format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}").as_str())
            .await?;
    }
    conn.execute("COMMIT").await?;
    Ok(rows)
}

/// Sends the buffer once it holds `at_least` bytes. The buffer is reused: a
/// fresh megabyte per send is an mmap and page faults each time.
async fn send_full(
    copy: &mut sqlx::postgres::PgCopyIn<&mut sqlx::PgConnection>,
    buffer: &mut Vec<u8>,
    at_least: usize,
) -> Result<(), sqlx::Error> {
    if !buffer.is_empty() && buffer.len() >= at_least {
        copy.send(buffer.as_slice()).await?;
        buffer.clear();
    }
    Ok(())
}

/// A SQLite expression for one row as a line of PostgreSQL's CSV format:
/// NULL is an empty unquoted field, text always quoted (so an empty string
/// stays empty, not NULL), reals with 17 significant digits, which read back
/// to the same double (`%!`: without it SQLite's printf stops at 16), blobs
/// as bytea hex.
fn csv_line(cols: &[(String, Ty)]) -> String {
    let fields: Vec<String> = cols
        .iter()
        .map(|(c, ty)| {
            let value = match ty {
                Ty::Int => format!("CAST({c} AS TEXT)"),
                Ty::Float => format!("printf('%!.17g', {c})"),
                Ty::Text => format!("'\"' || replace({c}, '\"', '\"\"') || '\"'"),
                Ty::Blob => format!("'\\x' || lower(hex({c}))"),
            };
            format!("CASE WHEN {c} IS NULL THEN '' ELSE {value} END")
        })
        .collect();
    format!("{} || char(10)", fields.join(" || ',' || "))
}

/// Copies a table by multi-row INSERTs, a transaction per page.
async fn insert_rows(
    from: &Db,
    to: &Db,
    table: &str,
    key: &str,
    cols: &[(String, Ty)],
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<u64> {
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let mut rows = 0;
    scan(from, table, key, cols, async |page| {
        let mut tx = to.begin_write().await?;
        // One file per statement keeps each statement small.
        let chunk_len = if has_files(cols) { 1 } else { INSERT_ROWS };
        for chunk in page.chunks(chunk_len) {
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
        rows += page.len() as u64;
        if let Some(bar) = progress {
            bar.inc(page.len() as u64);
        }
        Ok(())
    })
    .await?;
    Ok(rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The CSV lines SQLite writes for `values` of the given column types.
    async fn lines(types: &[(&str, Ty)], values: &str) -> String {
        use sqlx::Connection;
        let mut db = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let cols: Vec<(String, Ty)> = types.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        let names: Vec<&str> = types.iter().map(|(n, _)| *n).collect();
        sqlx::query_scalar::<_, String>(&format!(
            "WITH t({}) AS (VALUES {values}) SELECT {} FROM t",
            names.join(", "),
            csv_line(&cols)
        ))
        .fetch_all(&mut db)
        .await
        .unwrap()
        .concat()
    }

    #[tokio::test]
    async fn copy_lines_keep_null_apart_from_empty_and_quote_text() {
        let types = [
            ("i", Ty::Int),
            ("t", Ty::Text),
            ("e", Ty::Text),
            ("n", Ty::Text),
            ("f", Ty::Float),
            ("g", Ty::Float),
            ("b", Ty::Blob),
        ];
        let csv = lines(
            &types,
            "(-7, '甲\"乙\",丙' || char(10) || '丁\\', '', NULL, 0.5, NULL, x'00ff')",
        )
        .await;
        assert_eq!(csv, "-7,\"甲\"\"乙\"\",丙\n丁\\\",\"\",,0.5,,\\x00ff\n");
    }

    #[tokio::test]
    async fn copy_lines_carry_every_bit_of_a_double() {
        for v in [112.123_456_789_012_35f64, 1e-300, 5e300, 1.0 / 3.0, 0.1] {
            let csv = lines(&[("f", Ty::Float)], &format!("({v:e})")).await;
            assert_eq!(
                csv.trim_end().parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{csv}"
            );
        }
    }
}
