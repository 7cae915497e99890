//! The credit records' SQL: batched inserts keyed on (kind, 文书号), updates
//! that keep the earlier version, and the reads behind the profile and export.

use super::fields::CreditRow;
use super::{CreditRecord, RecordState};
use crate::storage::Backend;
use foldhash::{HashMap, HashMapExt};
use lifeservice_domain::credit::{RecordKind, SubjectCategory};
use lifeservice_domain::{CreditCode, EntityKind};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};

/// Values a new record binds of its own (see [`insert_sql`]).
const ROW_PARAMETERS: usize = 10;
/// Rows per INSERT statement: within both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 500;

/// What is stored of a record already there, to decide insert, update or reject.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: i64,
    pub source_code: String,
    pub version: i64,
    pub state: String,
    /// The stored items ([`super::fields::items_json`]).
    pub items: String,
}

pub async fn existing(
    conn: &mut AnyConnection,
    kind: RecordKind,
    doc_nos: &[&str],
) -> Result<HashMap<String, Existing>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in doc_nos.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, doc_no, source_code, version, state, items FROM credit_records WHERE kind = {} AND doc_no IN ({})",
            first_placeholder(conn),
            in_list(conn, 1, chunk.len())
        );
        let mut query = sqlx::query::<Any>(&sql).bind(kind.code().to_string());
        for doc in chunk {
            query = query.bind(doc.to_string());
        }
        for r in query.fetch_all(&mut *conn).await? {
            found.insert(
                r.try_get("doc_no")?,
                Existing {
                    id: r.try_get("id")?,
                    source_code: r.try_get("source_code")?,
                    version: r.try_get("version")?,
                    state: r.try_get("state")?,
                    items: r.try_get("items")?,
                },
            );
        }
    }
    Ok(found)
}

/// Entity ids by credit code, for the codes that are registered.
pub async fn entity_ids(
    conn: &mut AnyConnection,
    codes: &[&str],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in codes.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, credit_code FROM entities WHERE credit_code IN ({})",
            in_list(conn, 0, chunk.len())
        );
        let mut query = sqlx::query::<Any>(&sql);
        for code in chunk {
            query = query.bind(code.to_string());
        }
        for r in query.fetch_all(&mut *conn).await? {
            found.insert(r.try_get("credit_code")?, r.try_get("id")?);
        }
    }
    Ok(found)
}

/// Registers an entity known only from a credit record, flagged unregistered;
/// its division is the registration authority's (code positions 3–8).
pub async fn insert_placeholder_entity(
    conn: &mut AnyConnection,
    code: &CreditCode,
    name: &str,
    now: &str,
) -> Result<i64, sqlx::Error> {
    let kind = EntityKind::from_registrant(code.registrant()).unwrap_or(EntityKind::Other);
    let division = lifeservice_domain::DivisionCode::parse(code.division_digits())
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "14".to_string());
    sqlx::query_scalar::<Any, i64>(
        "INSERT INTO entities (credit_code, name, kind, division_code, status, unregistered, created_at, updated_at) VALUES ($1, $2, $3, $4, 'active', 1, $5, $5) RETURNING id",
    )
    .bind(code.to_string())
    .bind(name.to_string())
    .bind(kind.code().to_string())
    .bind(division)
    .bind(now.to_string())
    .fetch_one(conn)
    .await
}

/// A row to insert, with what the batch resolved for it.
pub struct NewRecord<'a> {
    pub row: &'a CreditRow,
    pub entity_id: Option<i64>,
}

/// How [`insert_records`] treats a 文书号 that is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// The caller looked the batch's 文书号 up first: a stored one fails the
    /// statement (another writer got there in between).
    Fails,
    /// The caller is the only writer of the database until it commits
    /// (SQLite's write turn): a stored 文书号 is skipped and returned, so a
    /// batch of new records is written without looking each one up first.
    Skipped,
}

/// Inserts the records; with [`Taken::Skipped`], returns the records
/// already stored under the 文书号 of those that were skipped.
pub async fn insert_records(
    conn: &mut AnyConnection,
    kind: RecordKind,
    records: &[&NewRecord<'_>],
    taken: Taken,
    actor: &str,
    now: &str,
) -> Result<HashMap<String, Existing>, sqlx::Error> {
    let backend = Backend::of(conn);
    // Every id above this one is this writer's own (it is the only writer).
    let stored_before: i64 = match taken {
        Taken::Skipped => {
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM credit_records")
                .fetch_one(&mut *conn)
                .await?
        }
        Taken::Fails => 0,
    };
    let on_conflict = match taken {
        Taken::Skipped => " ON CONFLICT (kind, doc_no) DO NOTHING",
        Taken::Fails => "",
    };
    let mut found = HashMap::new();
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let sql = insert_sql(backend, kind, chunk.len(), on_conflict);
        let mut query = sqlx::query::<Any>(&sql).bind(actor).bind(now);
        for r in chunk {
            let row = r.row;
            let window = row.window.as_ref();
            query = query
                .bind(row.doc_no.as_str())
                .bind(r.entity_id)
                .bind(row.source_code.as_str())
                .bind(row.source_name.as_str())
                .bind(row.decision_date.to_string())
                .bind(row.valid_until.map(|d| d.storage()))
                .bind(window.and_then(|w| w.publish_until).map(|d| d.to_string()))
                .bind(
                    window
                        .and_then(|w| w.repairable_from)
                        .map(|d| d.to_string()),
                )
                .bind(window.map(|w| w.severity.code()))
                .bind(row.items.as_str());
        }
        let inserted = query.execute(&mut *conn).await?.rows_affected();
        if inserted < chunk.len() as u64 {
            let docs: Vec<&str> = chunk.iter().map(|r| r.row.doc_no.as_str()).collect();
            found.extend(
                existing(conn, kind, &docs)
                    .await?
                    .into_iter()
                    .filter(|(_, old)| old.id <= stored_before),
            );
        }
    }
    Ok(found)
}

/// The statement of [`insert_records`] for `rows` new records. What every
/// record of a batch shares is written once: kind, state and version as
/// literals, the account and the time bound once (the first two
/// parameters); each row binds only its own ten values. The parameters are
/// anonymous on SQLite: sqlx asks SQLite each parameter's name when it
/// binds, and SQLite finds a numbered one by a linear scan.
fn insert_sql(backend: Backend, kind: RecordKind, rows: usize, on_conflict: &str) -> String {
    let mut next = 0;
    let mut param = || {
        next += 1;
        match backend {
            Backend::Sqlite => "?".to_string(),
            Backend::Postgres => format!("${next}"),
        }
    };
    let shared = format!("SELECT {} AS actor, {} AS now", param(), param());
    let values: Vec<String> = (0..rows)
        .map(|_| {
            let row: Vec<String> = (0..ROW_PARAMETERS).map(|_| param()).collect();
            format!("({})", row.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO credit_records (kind, doc_no, entity_id, source_code, source_name, submitted_by, decision_date, \
         valid_until, publish_until, repairable_from, severity, state, version, items, created_at, updated_at) \
         SELECT '{}', v.column1, v.column2, v.column3, v.column4, s.actor, v.column5, v.column6, v.column7, v.column8, v.column9, \
         '{}', 1, v.column10, s.now, s.now FROM ({shared}) s, (VALUES {}) v WHERE true{on_conflict}",
        kind.code(),
        RecordState::Active.code(),
        values.join(",")
    )
}

/// Replaces a record's content, keeping the earlier version.
pub async fn update_record(
    conn: &mut AnyConnection,
    old: &Existing,
    new: &NewRecord<'_>,
    actor: &str,
    reason: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    keep_version(conn, old, actor, reason, now).await?;
    let row = new.row;
    let window = row.window.as_ref();
    sqlx::query(
        "UPDATE credit_records SET entity_id = $1, source_name = $2, submitted_by = $3, decision_date = $4, valid_until = $5, \
         publish_until = $6, repairable_from = $7, severity = $8, state = $9, version = $10, items = $11, updated_at = $12 WHERE id = $13",
    )
    .bind(new.entity_id)
    .bind(row.source_name.as_str())
    .bind(actor)
    .bind(row.decision_date.to_string())
    .bind(row.valid_until.map(|d| d.storage()))
    .bind(window.and_then(|w| w.publish_until).map(|d| d.to_string()))
    .bind(window.and_then(|w| w.repairable_from).map(|d| d.to_string()))
    .bind(window.map(|w| w.severity.code()))
    .bind(RecordState::Active.code())
    .bind(old.version + 1)
    .bind(row.items.as_str())
    .bind(now)
    .bind(old.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes a record's state (withdrawn, repaired), keeping the earlier version.
pub async fn set_state(
    conn: &mut AnyConnection,
    old: &Existing,
    state: RecordState,
    actor: &str,
    reason: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    keep_version(conn, old, actor, reason, now).await?;
    sqlx::query(
        "UPDATE credit_records SET state = $1, version = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(state.code())
    .bind(old.version + 1)
    .bind(now)
    .bind(old.id)
    .execute(conn)
    .await?;
    Ok(())
}

async fn keep_version(
    conn: &mut AnyConnection,
    old: &Existing,
    actor: &str,
    reason: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credit_record_versions (record_id, version, state, items, replaced_at, replaced_by, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(old.id)
    .bind(old.version)
    .bind(old.state.as_str())
    .bind(old.items.as_str())
    .bind(now)
    .bind(actor)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn existing_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<Existing>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, source_code, version, state, items FROM credit_records WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Existing {
            id: r.try_get("id")?,
            source_code: r.try_get("source_code")?,
            version: r.try_get("version")?,
            state: r.try_get("state")?,
            items: r.try_get("items")?,
        })
    })
    .transpose()
}

pub const RECORD_SELECT: &str = "SELECT id, kind, doc_no, entity_id, source_code, source_name, submitted_by, decision_date, \
     valid_until, publish_until, repairable_from, severity, state, version, items, updated_at FROM credit_records";

pub fn record_from_row(r: &AnyRow) -> Result<CreditRecord, sqlx::Error> {
    let items: String = r.try_get("items")?;
    let kind: String = r.try_get("kind")?;
    let kind = RecordKind::parse(&kind).unwrap_or(RecordKind::Licence);
    let state: String = r.try_get("state")?;
    let fields = super::fields::items_by_key(kind, &items);
    let item = |key: &str| fields.get(key).cloned();
    Ok(CreditRecord {
        id: r.try_get("id")?,
        kind,
        doc_no: r.try_get("doc_no")?,
        entity_id: r.try_get("entity_id")?,
        subject_category: item("subject_category")
            .and_then(|c| SubjectCategory::parse(&c))
            .map_or_else(String::new, |c| c.code().to_string()),
        credit_code: item("credit_code"),
        source_code: r.try_get("source_code")?,
        source_name: r.try_get("source_name")?,
        submitted_by: r.try_get("submitted_by")?,
        decision_date: r.try_get("decision_date")?,
        valid_from: item("valid_from"),
        valid_until: r.try_get("valid_until")?,
        publish_until: r.try_get("publish_until")?,
        repairable_from: r.try_get("repairable_from")?,
        severity: r.try_get("severity")?,
        state: RecordState::parse(&state).unwrap_or(RecordState::Active),
        version: r.try_get("version")?,
        fields,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn records_of_entity(
    conn: &mut AnyConnection,
    entity_id: i64,
) -> Result<Vec<CreditRecord>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{RECORD_SELECT} WHERE entity_id = $1 ORDER BY decision_date DESC, id DESC"
    ))
    .bind(entity_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(record_from_row).collect()
}

/// Records kept under a registered entity's name with an id after `after`,
/// in id order, whatever their state: whether each is public is decided by
/// [`super::profile::view`]. Natural persons' records (no entity) are not
/// read: like the provider pages, open data shows records under entities only.
pub async fn entity_records_page(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<CreditRecord>, sqlx::Error> {
    entity_page(conn, RECORD_SELECT, after, limit).await
}

/// Like [`entity_records_page`] without the records' items (`fields` left
/// empty): what deciding and counting public records needs, read without
/// parsing every record's JSON.
pub async fn entity_record_states_page(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<CreditRecord>, sqlx::Error> {
    let select = RECORD_SELECT.replace(" items,", " '[]' AS items,");
    debug_assert_ne!(select, RECORD_SELECT, "the items column is left out");
    entity_page(conn, &select, after, limit).await
}

async fn entity_page(
    conn: &mut AnyConnection,
    select: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<CreditRecord>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{select} WHERE entity_id IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(record_from_row).collect()
}

/// Stamps penalties whose window ended before `today` and that were not
/// changed since, so that the incremental export reports them as no longer
/// public and the index refreshes their entities. Idempotent; catches up
/// after days without a run.
pub async fn stamp_expired(
    conn: &mut AnyConnection,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> anyhow::Result<String> {
    let today = now.date_naive().to_string();
    let entities: Vec<Option<i64>> = sqlx::query_scalar(
        "SELECT DISTINCT entity_id FROM credit_records WHERE kind = 'penalty' AND state = 'active' \
         AND publish_until < $1 AND substr(updated_at, 1, 10) <= publish_until",
    )
    .bind(today.clone())
    .fetch_all(&mut *conn)
    .await?;
    let stamped = sqlx::query(
        "UPDATE credit_records SET updated_at = $1 WHERE kind = 'penalty' AND state = 'active' \
         AND publish_until < $2 AND substr(updated_at, 1, 10) <= publish_until",
    )
    .bind(now.to_rfc3339())
    .bind(today)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let entities: Vec<i64> = entities.into_iter().flatten().collect();
    super::profile::record_entity_changes(conn, &entities).await?;
    Ok(format!("{stamped} penalties left public view"))
}

/// The statement of [`penalty_until_by_entity`] for the entity ids `ids`.
/// `kind || ''` is never an index key: with a long IN list SQLite would
/// otherwise walk every penalty by the (kind, 文书号) key, its sampled
/// statistics putting a kind's rows far too low.
pub fn penalty_until_sql(ids: &str) -> String {
    format!(
        "SELECT entity_id, MAX(publish_until) AS until FROM credit_records WHERE kind || '' = 'penalty' AND state = 'active' \
         AND publish_until IS NOT NULL AND entity_id IN ({ids}) GROUP BY entity_id"
    )
}

/// The last public day of each entity's active penalties, where it has any.
pub async fn penalty_until_by_entity(
    conn: &mut AnyConnection,
    entity_ids: &[i64],
) -> Result<HashMap<i64, chrono::NaiveDate>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in entity_ids.chunks(ROWS_PER_STATEMENT) {
        let sql = penalty_until_sql(&in_list(conn, 0, chunk.len()));
        let mut query = sqlx::query::<Any>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            let until: String = r.try_get("until")?;
            if let Ok(day) = chrono::NaiveDate::parse_from_str(&until, "%Y-%m-%d") {
                found.insert(r.try_get("entity_id")?, day);
            }
        }
    }
    Ok(found)
}

fn first_placeholder(conn: &AnyConnection) -> &'static str {
    match Backend::of(conn) {
        Backend::Sqlite => "?",
        Backend::Postgres => "$1",
    }
}

/// `n` placeholders for an IN list, after `before` earlier parameters. Unlike
/// [`crate::storage::in_list`], SQLite gets anonymous `?`: these lists run to
/// 500 values, and SQLite finds a numbered `$n` by a linear scan.
fn in_list(conn: &AnyConnection, before: usize, n: usize) -> String {
    match Backend::of(conn) {
        Backend::Sqlite => vec!["?"; n].join(","),
        Backend::Postgres => (1..=n)
            .map(|i| format!("${}", before + i))
            .collect::<Vec<_>>()
            .join(","),
    }
}
