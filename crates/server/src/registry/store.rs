//! The registry's SQL. Writes are batched multi-row upserts on natural keys
//! (credit code; entity + outlet name + address) that touch a row only when a
//! value differs, so re-importing a file changes nothing; every touched row
//! is appended to `changes` for the search index to follow.

use super::{Designation, DesignationInput, Entity, EntityInput, Outlet, OutletInput};
use crate::storage::{Backend, placeholders};
use lifeservice_domain::{DesignationKind, EntityKind, EntityStatus, ServiceType};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};
use std::collections::HashMap;

/// What an upsert did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touched {
    Inserted(i64),
    Updated(i64),
}

impl Touched {
    pub fn id(self) -> i64 {
        match self {
            Touched::Inserted(id) | Touched::Updated(id) => id,
        }
    }
}

fn touched(rows: Vec<AnyRow>, now: &str) -> Result<Vec<Touched>, sqlx::Error> {
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            let created: String = r.try_get("created_at")?;
            Ok(if created == now {
                Touched::Inserted(id)
            } else {
                Touched::Updated(id)
            })
        })
        .collect()
}

const ENTITY_COLUMNS: usize = 12;

pub async fn upsert_entities(
    conn: &mut AnyConnection,
    entities: &[EntityInput],
    now: &str,
    synthetic: bool,
) -> Result<Vec<Touched>, sqlx::Error> {
    if entities.is_empty() {
        return Ok(Vec::new());
    }
    let conflict = "ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name, kind = excluded.kind, legal_rep = excluded.legal_rep, \
         division_code = excluded.division_code, established = excluded.established, closed_on = excluded.closed_on, status = excluded.status, phone = excluded.phone, updated_at = excluded.updated_at \
         WHERE entities.name IS DISTINCT FROM excluded.name OR entities.kind IS DISTINCT FROM excluded.kind \
         OR entities.legal_rep IS DISTINCT FROM excluded.legal_rep OR entities.division_code IS DISTINCT FROM excluded.division_code \
         OR entities.established IS DISTINCT FROM excluded.established OR entities.closed_on IS DISTINCT FROM excluded.closed_on OR entities.status IS DISTINCT FROM excluded.status \
         OR entities.phone IS DISTINCT FROM excluded.phone \
         RETURNING id, created_at";
    let sql = insert_entities_sql(conn, entities.len(), conflict);
    let rows = bind_entities(
        sqlx::query::<Any>(&sql),
        entities,
        now,
        synthetic,
        |q, v| q.bind(v),
        |q, v| q.bind(v),
        |q, v| q.bind(v),
    )
    .fetch_all(&mut *conn)
    .await?;
    touched(rows, now)
}

fn insert_entities_sql(conn: &AnyConnection, rows: usize, conflict: &str) -> String {
    format!(
        "INSERT INTO entities (credit_code, name, kind, legal_rep, division_code, established, closed_on, status, phone, synthetic, created_at, updated_at) VALUES {} {conflict}",
        placeholders(Backend::of(conn), rows, ENTITY_COLUMNS)
    )
}

/// Binds the [`ENTITY_COLUMNS`] values of each entity, in the column order of
/// [`insert_entities_sql`], whatever the query type.
fn bind_entities<Q>(
    mut query: Q,
    entities: &[EntityInput],
    now: &str,
    synthetic: bool,
    text: impl Fn(Q, String) -> Q,
    optional: impl Fn(Q, Option<String>) -> Q,
    number: impl Fn(Q, i64) -> Q,
) -> Q {
    for e in entities {
        query = text(query, e.credit_code.to_string());
        query = text(query, e.name.clone());
        query = text(query, e.kind.code().to_string());
        query = optional(query, e.legal_rep.clone());
        query = text(query, e.division.to_string());
        query = optional(query, e.established.map(|d| d.to_string()));
        query = optional(query, e.closed_on.map(|d| d.to_string()));
        query = text(query, e.status.code().to_string());
        query = optional(query, e.phone.clone());
        query = number(query, synthetic as i64);
        query = text(query, now.to_string());
        query = text(query, now.to_string());
    }
    query
}

/// Ids of the entities among `codes` that exist.
pub async fn entity_ids(
    conn: &mut AnyConnection,
    codes: &[&str],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in codes.chunks(500) {
        // One row of `len` columns is a parenthesised list: what IN takes.
        let sql = format!(
            "SELECT id, credit_code FROM entities WHERE credit_code IN {}",
            placeholders(Backend::of(conn), 1, chunk.len())
        );
        let mut query = sqlx::query::<Any>(&sql);
        for code in chunk {
            query = query.bind(code.to_string());
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.insert(row.try_get("credit_code")?, row.try_get("id")?);
        }
    }
    Ok(found)
}

const OUTLET_COLUMNS: usize = 16;

/// Upserts outlets; `rows` pairs each outlet with its entity id. Returns the
/// rows that were inserted or changed.
pub async fn upsert_outlets(
    conn: &mut AnyConnection,
    rows: &[(i64, &OutletInput)],
    now: &str,
    synthetic: bool,
) -> Result<Vec<Touched>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "INSERT INTO outlets (entity_id, name, service_type, address, division_code, county_code, lon, lat, phone, hours, opened_on, status, closed_on, \
         synthetic, created_at, updated_at) VALUES {} \
         ON CONFLICT (entity_id, name, address) DO UPDATE SET {OUTLET_UPDATE_SET} WHERE {} RETURNING id, created_at",
        placeholders(Backend::of(conn), rows.len(), OUTLET_COLUMNS),
        outlet_differs("outlets", "excluded")
    );
    let mut query = sqlx::query::<Any>(&sql);
    for (entity_id, o) in rows {
        query = bind_outlet_fields(query.bind(*entity_id), o)
            .bind(synthetic as i64)
            .bind(now.to_string())
            .bind(now.to_string());
    }
    touched(query.fetch_all(&mut *conn).await?, now)
}

/// The staging table an imported batch of outlets is loaded into, so that the
/// merge runs as a few set-based statements inside the database: only counts and
/// rejected rows come back, never a row per outlet (on SQLite every returned row
/// crosses from sqlx's worker thread by channel, which dominated the import).
/// A temporary table lives in its own connection only; plain SQL on both backends.
const OUTLET_STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS import_outlets (\
     row_no BIGINT NOT NULL, credit_code TEXT NOT NULL, entity_name TEXT, entity_kind TEXT, entity_division TEXT, \
     name TEXT NOT NULL, service_type TEXT NOT NULL, address TEXT NOT NULL, division_code TEXT NOT NULL, \
     county_code TEXT NOT NULL, lon DOUBLE PRECISION NOT NULL, lat DOUBLE PRECISION NOT NULL, phone TEXT, hours TEXT, \
     opened_on TEXT, status TEXT NOT NULL, closed_on TEXT)";

const STAGING_COLUMNS: usize = 17;

/// Rows per staging insert: as many as SQLite's 32,766 bound values allow.
const STAGING_ROWS: usize = 32_766 / STAGING_COLUMNS;

/// Whether the outlet row `old` differs from the imported values `new` in
/// anything an import sets: the condition under which an upsert touches it.
fn outlet_differs(old: &str, new: &str) -> String {
    format!(
        "{old}.service_type IS DISTINCT FROM {new}.service_type OR {old}.division_code IS DISTINCT FROM {new}.division_code \
         OR {old}.lon IS DISTINCT FROM {new}.lon OR {old}.lat IS DISTINCT FROM {new}.lat \
         OR {old}.phone IS DISTINCT FROM {new}.phone OR {old}.hours IS DISTINCT FROM {new}.hours OR {old}.status <> {new}.status \
         OR ({new}.opened_on IS NOT NULL AND {old}.opened_on IS DISTINCT FROM {new}.opened_on) \
         OR ({new}.closed_on IS NOT NULL AND {old}.closed_on IS DISTINCT FROM {new}.closed_on)"
    )
}

/// The SET list of an outlet upsert, from the conflicting row `excluded`. A
/// row without 关闭日期 keeps a closed outlet's day, and closes an operating
/// one on the (Shanghai) day of the write, as closing it by hand does.
const OUTLET_UPDATE_SET: &str = "service_type = excluded.service_type, division_code = excluded.division_code, \
     county_code = excluded.county_code, lon = excluded.lon, lat = excluded.lat, phone = excluded.phone, hours = excluded.hours, \
     opened_on = COALESCE(excluded.opened_on, outlets.opened_on), status = excluded.status, \
     closed_on = CASE WHEN excluded.status = 'open' THEN NULL WHEN outlets.status = 'open' THEN COALESCE(excluded.closed_on, substr(excluded.updated_at, 1, 10)) \
     ELSE COALESCE(excluded.closed_on, outlets.closed_on) END, updated_at = excluded.updated_at";

/// An imported outlet row: its spreadsheet row, the outlet, and the entity to
/// register for it when its credit code is not registered yet (the first row
/// of a batch that names the entity carries it).
pub struct StagedOutlet<'a> {
    pub row: usize,
    pub outlet: &'a OutletInput,
    pub new_entity: Option<NewEntity<'a>>,
    /// The importer already knows the entity is registered (an earlier batch).
    pub registered: bool,
}

pub struct NewEntity<'a> {
    pub name: &'a str,
    pub kind: EntityKind,
    pub division: String,
}

/// What [`merge_outlets`] did.
#[derive(Debug, Default)]
pub struct Merged {
    pub inserted: usize,
    pub updated: usize,
    /// `(row, credit code)` of outlets whose entity is not registered and
    /// could not be registered from the row.
    pub unregistered: Vec<(usize, String)>,
}

/// Binds an outlet's own columns, name to closed_on, in the order the upsert
/// and the staging table both list them.
fn bind_outlet_fields<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    o: &OutletInput,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(o.name.clone())
        .bind(o.service_type.code())
        .bind(o.address.clone())
        .bind(o.division.as_str().to_string())
        .bind(o.county.as_str().to_string())
        .bind(o.location.lon())
        .bind(o.location.lat())
        .bind(o.phone.clone())
        .bind(o.hours.clone())
        .bind(o.opened_on.map(|d| d.to_string()))
        .bind(o.status.code())
        .bind(o.closed_on.map(|d| d.to_string()))
}

/// Imports a batch of outlets (natural keys distinct): registers the entities
/// they name that are missing, upserts the outlets and their designations
/// (touching only rows whose values differ, so a re-import is a no-op), and
/// records every registered entity and touched outlet in the change feed. Runs
/// inside the caller's transaction.
///
/// New rows are found by id: the change feed's lock (PostgreSQL) or the single
/// writer (SQLite) means no other writer commits entities or outlets while the
/// batch runs, so the rows with ids above the maxima read at the start are this
/// batch's. Updated outlets carry this batch's `updated_at`; they are looked up
/// only when the upsert reports more rows than it inserted.
pub async fn merge_outlets(
    conn: &mut AnyConnection,
    rows: &[StagedOutlet<'_>],
    now: &str,
    synthetic: bool,
) -> Result<Merged, sqlx::Error> {
    let mut merged = Merged::default();
    if rows.is_empty() {
        return Ok(merged);
    }
    let backend = Backend::of(conn);
    lock_feed(conn, "changes").await?;
    sqlx::query(OUTLET_STAGING).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM import_outlets")
        .execute(&mut *conn)
        .await?;
    for chunk in rows.chunks(STAGING_ROWS) {
        let sql = format!(
            "INSERT INTO import_outlets (row_no, credit_code, entity_name, entity_kind, entity_division, name, service_type, address, \
             division_code, county_code, lon, lat, phone, hours, opened_on, status, closed_on) VALUES {}",
            placeholders(backend, chunk.len(), STAGING_COLUMNS)
        );
        let mut query = sqlx::query::<Any>(&sql);
        for r in chunk {
            let o = r.outlet;
            let entity = r.new_entity.as_ref().filter(|_| !r.registered);
            query = bind_outlet_fields(
                query
                    .bind(r.row as i64)
                    .bind(o.entity.to_string())
                    .bind(entity.map(|e| e.name.to_string()))
                    .bind(entity.map(|e| e.kind.code().to_string()))
                    .bind(entity.map(|e| e.division.clone())),
                o,
            );
        }
        query.execute(&mut *conn).await?;
    }
    let maxima = sqlx::query(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM entities) AS entities, (SELECT COALESCE(MAX(id), 0) FROM outlets) AS outlets",
    )
    .fetch_one(&mut *conn)
    .await?;
    let (last_entity, last_outlet): (i64, i64) =
        (maxima.try_get("entities")?, maxima.try_get("outlets")?);

    // Entities the rows name and that are missing; existing ones are left as
    // their own register says.
    if rows.iter().any(|r| r.new_entity.is_some() && !r.registered) {
        let registered = sqlx::query(
            "INSERT INTO entities (credit_code, name, kind, division_code, status, synthetic, created_at, updated_at) \
             SELECT credit_code, entity_name, entity_kind, entity_division, 'active', 0, $1, $1 FROM import_outlets s \
             WHERE entity_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entities e WHERE e.credit_code = s.credit_code) \
             ORDER BY row_no ON CONFLICT (credit_code) DO NOTHING",
        )
        .bind(now.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if registered > 0 {
            sqlx::query(
                "INSERT INTO changes (object_type, object_id) SELECT 'entity', id FROM entities WHERE id > $1 ORDER BY id",
            )
            .bind(last_entity)
            .execute(&mut *conn)
            .await?;
        }
    }
    if rows.iter().any(|r| r.new_entity.is_none() && !r.registered) {
        for row in sqlx::query(
            "SELECT row_no, credit_code FROM import_outlets s \
             WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.credit_code = s.credit_code) ORDER BY row_no",
        )
        .fetch_all(&mut *conn)
        .await?
        {
            let row_no: i64 = row.try_get("row_no")?;
            merged
                .unregistered
                .push((row_no as usize, row.try_get("credit_code")?));
        }
    }

    // Outlets: one upsert of the whole batch; rows whose entity is not
    // registered drop out of the join.
    let touched = sqlx::query(&format!(
        "INSERT INTO outlets (entity_id, name, service_type, address, division_code, county_code, lon, lat, phone, hours, opened_on, \
         status, closed_on, synthetic, created_at, updated_at) \
         SELECT e.id, s.name, s.service_type, s.address, s.division_code, s.county_code, s.lon, s.lat, s.phone, s.hours, s.opened_on, \
         s.status, s.closed_on, $1, $2, $2 FROM import_outlets s JOIN entities e ON e.credit_code = s.credit_code WHERE true ORDER BY s.row_no \
         ON CONFLICT (entity_id, name, address) DO UPDATE SET {OUTLET_UPDATE_SET} WHERE {}",
        outlet_differs("outlets", "excluded")
    ))
    .bind(synthetic as i64)
    .bind(now.to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected() as usize;
    merged.inserted = sqlx::query(
        "INSERT INTO changes (object_type, object_id) SELECT 'outlet', id FROM outlets WHERE id > $1 ORDER BY id",
    )
    .bind(last_outlet)
    .execute(&mut *conn)
    .await?
    .rows_affected() as usize;
    merged.updated = touched.saturating_sub(merged.inserted);
    if merged.updated > 0 {
        // Every outlet this upsert updated has this `updated_at`; one updated
        // in the same second by an earlier write gets a second, harmless entry.
        sqlx::query(
            "INSERT INTO changes (object_type, object_id) SELECT 'outlet', o.id FROM import_outlets s \
             JOIN entities e ON e.credit_code = s.credit_code \
             JOIN outlets o ON o.entity_id = e.id AND o.name = s.name AND o.address = s.address \
             WHERE o.id <= $1 AND o.updated_at = $2 ORDER BY o.id",
        )
        .bind(last_outlet)
        .bind(now.to_string())
        .execute(&mut *conn)
        .await?;
    }

    // Designations are rare in import files: row by row, as the API writes them.
    let designated: Vec<&StagedOutlet> = rows
        .iter()
        .filter(|r| r.outlet.designation.is_some())
        .collect();
    if !designated.is_empty() {
        let codes: Vec<String> = designated
            .iter()
            .map(|r| r.outlet.entity.to_string())
            .collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let entity_of = entity_ids(conn, &codes).await?;
        let mut designations = Vec::new();
        for r in designated {
            let (Some(d), Some(&entity_id)) = (
                &r.outlet.designation,
                entity_of.get(r.outlet.entity.as_str()),
            ) else {
                continue;
            };
            if let Some(id) = outlet_id(conn, entity_id, &r.outlet.name, &r.outlet.address).await? {
                designations.push((id, d));
            }
        }
        let mut changed = upsert_designations(conn, &designations).await?;
        changed.sort_unstable();
        changed.dedup();
        record_changes(conn, "outlet", &changed).await?;
    }
    Ok(merged)
}

/// Writes a batch of outlets with their designations and records every
/// outlet that changed in the feed. Returns what the outlet upsert did.
pub async fn write_outlets(
    conn: &mut AnyConnection,
    rows: &[(i64, &OutletInput)],
    now: &str,
    synthetic: bool,
) -> Result<Vec<Touched>, sqlx::Error> {
    let touched = upsert_outlets(conn, rows, now, synthetic).await?;
    let mut changed: Vec<i64> = touched.iter().map(|t| t.id()).collect();
    let mut designations = Vec::new();
    for (entity_id, outlet) in rows {
        let Some(d) = &outlet.designation else {
            continue;
        };
        if let Some(id) = outlet_id(conn, *entity_id, &outlet.name, &outlet.address).await? {
            designations.push((id, d));
        }
    }
    changed.extend(upsert_designations(conn, &designations).await?);
    changed.sort_unstable();
    changed.dedup();
    record_changes(conn, "outlet", &changed).await?;
    Ok(touched)
}

/// Id of an outlet by its natural key.
pub async fn outlet_id(
    conn: &mut AnyConnection,
    entity_id: i64,
    name: &str,
    address: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM outlets WHERE entity_id = $1 AND name = $2 AND address = $3")
        .bind(entity_id)
        .bind(name.to_string())
        .bind(address.to_string())
        .fetch_optional(conn)
        .await
}

/// Upserts designations; returns the outlets whose designations changed.
pub async fn upsert_designations(
    conn: &mut AnyConnection,
    rows: &[(i64, &DesignationInput)],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut changed = Vec::new();
    for (outlet_id, d) in rows {
        let touched: Option<i64> = sqlx::query_scalar(
            "INSERT INTO designations (outlet_id, kind, grade, granted_by, granted_on) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (outlet_id, kind) DO UPDATE SET grade = excluded.grade, granted_by = excluded.granted_by, granted_on = excluded.granted_on \
             WHERE designations.grade IS DISTINCT FROM excluded.grade OR designations.granted_by IS DISTINCT FROM excluded.granted_by \
             OR designations.granted_on IS DISTINCT FROM excluded.granted_on RETURNING outlet_id",
        )
        .bind(*outlet_id)
        .bind(d.kind.code())
        .bind(d.grade.clone())
        .bind(d.granted_by.clone())
        .bind(d.granted_on.map(|d| d.to_string()))
        .fetch_optional(&mut *conn)
        .await?;
        changed.extend(touched);
    }
    Ok(changed)
}

/// Appends to the change feed that search indexes follow.
///
/// Followers read the feed in sequence order and remember the last sequence
/// applied, so a sequence must never become visible after a higher one. SQLite
/// has one writer at a time; on PostgreSQL the table lock makes writers that
/// append to the feed commit in sequence order.
pub async fn record_changes(
    conn: &mut AnyConnection,
    object_type: &str,
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let backend = Backend::of(conn);
    lock_feed(conn, "changes").await?;
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "INSERT INTO changes (object_type, object_id) VALUES {}",
            placeholders(backend, chunk.len(), 2)
        );
        let mut query = sqlx::query::<Any>(&sql);
        for id in chunk {
            query = query.bind(object_type.to_string()).bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Entries of the change feed after `seen`, in order, at most `limit`:
/// `(seq, object_type, object_id)`.
pub async fn changes_after(
    db: &crate::storage::Db,
    seen: i64,
    limit: i64,
) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, object_type, object_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seen)
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

/// On PostgreSQL, locks a change feed (`changes`, `review_changes`) until
/// commit, so that writers appending to it commit in sequence order, and
/// notifies every process's follower at commit (LISTEN). Nothing to do on
/// SQLite, which has one writer at a time.
pub(crate) async fn lock_feed(
    conn: &mut AnyConnection,
    feed: &'static str,
) -> Result<(), sqlx::Error> {
    if Backend::of(conn) == Backend::Postgres {
        sqlx::query(&format!("LOCK TABLE {feed} IN SHARE ROW EXCLUSIVE MODE"))
            .execute(&mut *conn)
            .await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::storage::CHANGES_CHANNEL)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

const ENTITY_SELECT: &str = "SELECT id, credit_code, name, kind, legal_rep, division_code, established, closed_on, status, phone, synthetic, updated_at FROM entities";

fn entity_from_row(r: &AnyRow) -> Result<Entity, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    Ok(Entity {
        id: r.try_get("id")?,
        credit_code: r.try_get("credit_code")?,
        name: r.try_get("name")?,
        kind_zh: EntityKind::parse(&kind)
            .map(|k| k.zh())
            .unwrap_or("其他")
            .to_string(),
        kind,
        legal_rep: r.try_get("legal_rep")?,
        division_code: r.try_get("division_code")?,
        established: r.try_get("established")?,
        closed_on: r.try_get("closed_on")?,
        status_zh: EntityStatus::parse(&status)
            .map(|s| s.zh())
            .unwrap_or("未知")
            .to_string(),
        status,
        phone: r.try_get("phone")?,
        synthetic: r.try_get::<i64, _>("synthetic")? != 0,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn entity_by_code(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<Entity>, sqlx::Error> {
    let row = sqlx::query(&format!("{ENTITY_SELECT} WHERE credit_code = $1"))
        .bind(code.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(entity_from_row).transpose()
}

pub async fn entities_by_ids(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<Vec<Entity>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!("{ENTITY_SELECT} WHERE id IN ({})", id_list(chunk));
        for row in sqlx::query(&sql).fetch_all(&mut *conn).await? {
            out.push(entity_from_row(&row)?);
        }
    }
    Ok(out)
}

/// Integer ids are inlined: they are i64 values, never user text.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

const OUTLET_SELECT: &str = "SELECT o.id, o.entity_id, e.credit_code, e.name AS entity_name, e.kind AS entity_kind, o.name, o.service_type, \
     o.division_code, o.county_code, o.address, o.lon, o.lat, o.phone, o.hours, o.opened_on, o.status, o.closed_on, o.synthetic \
     FROM outlets o JOIN entities e ON e.id = o.entity_id";

fn outlet_from_row(r: &AnyRow) -> Result<Outlet, sqlx::Error> {
    let code: String = r.try_get("service_type")?;
    let stype = ServiceType::parse(&code);
    Ok(Outlet {
        id: r.try_get("id")?,
        entity_id: r.try_get("entity_id")?,
        entity_code: r.try_get("credit_code")?,
        entity_name: r.try_get("entity_name")?,
        entity_kind: r.try_get("entity_kind")?,
        name: r.try_get("name")?,
        service_type_zh: stype.map(|t| t.zh()).unwrap_or("未知").to_string(),
        major_category: stype.map(|t| t.major().code()).unwrap_or_default(),
        service_type: code,
        division_code: r.try_get("division_code")?,
        county_code: r.try_get("county_code")?,
        address: r.try_get("address")?,
        lon: r.try_get("lon")?,
        lat: r.try_get("lat")?,
        phone: r.try_get("phone")?,
        hours: r.try_get("hours")?,
        opened_on: r.try_get("opened_on")?,
        status: r.try_get("status")?,
        closed_on: r.try_get("closed_on")?,
        synthetic: r.try_get::<i64, _>("synthetic")? != 0,
        designations: Vec::new(),
        distance_m: None,
        quality: None,
    })
}

/// Outlets by id, with designations, in the order of `ids` (missing ids skipped).
pub async fn outlets_by_ids(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<Vec<Outlet>, sqlx::Error> {
    let mut by_id = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!("{OUTLET_SELECT} WHERE o.id IN ({})", id_list(chunk));
        for row in sqlx::query(&sql).fetch_all(&mut *conn).await? {
            let outlet = outlet_from_row(&row)?;
            by_id.insert(outlet.id, outlet);
        }
        let sql = format!(
            "SELECT outlet_id, kind, grade, granted_by, granted_on FROM designations WHERE outlet_id IN ({}) ORDER BY id",
            id_list(chunk)
        );
        for row in sqlx::query(&sql).fetch_all(&mut *conn).await? {
            let outlet_id: i64 = row.try_get("outlet_id")?;
            let kind: String = row.try_get("kind")?;
            if let Some(outlet) = by_id.get_mut(&outlet_id) {
                outlet.designations.push(Designation {
                    kind_zh: DesignationKind::parse(&kind)
                        .map(|k| k.zh())
                        .unwrap_or("其他")
                        .to_string(),
                    kind,
                    grade: row.try_get("grade")?,
                    granted_by: row.try_get("granted_by")?,
                    granted_on: row.try_get("granted_on")?,
                });
            }
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The entities owning these outlets (an outlet never changes owner).
pub async fn entities_of_outlets(
    conn: &mut AnyConnection,
    outlet_ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in outlet_ids.chunks(1000) {
        let sql = format!(
            "SELECT DISTINCT entity_id FROM outlets WHERE id IN ({})",
            id_list(chunk)
        );
        out.extend(
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    Ok(out)
}

/// The id of the entity registered under `code`.
pub async fn entity_id_of_code(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM entities WHERE credit_code = $1")
        .bind(code.to_string())
        .fetch_optional(conn)
        .await
}

pub async fn outlet_ids_of_entity(
    conn: &mut AnyConnection,
    entity_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM outlets WHERE entity_id = $1 ORDER BY id")
        .bind(entity_id)
        .fetch_all(conn)
        .await
}

/// Outlet ids after `after` in id order, for streaming the whole table.
pub async fn outlet_ids_page(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM outlets WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Marks an outlet closed (kept for history and statistics).
pub async fn close_outlet(
    conn: &mut AnyConnection,
    id: i64,
    now: &str,
) -> Result<bool, sqlx::Error> {
    // The closing day is the Shanghai calendar day of `now`.
    let result = sqlx::query("UPDATE outlets SET status = 'closed', closed_on = $1, updated_at = $2 WHERE id = $3 AND status <> 'closed'")
        .bind(now.get(..10).unwrap_or(now).to_string())
        .bind(now.to_string())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Counts of open outlets per county, for division pages and maps.
pub async fn open_outlets_per_county(
    conn: &mut AnyConnection,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT county_code, COUNT(*) AS n FROM outlets WHERE status = 'open' GROUP BY county_code",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("county_code")?, r.try_get("n")?)))
        .collect()
}

pub async fn count_outlets(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM outlets")
        .fetch_one(conn)
        .await
}
