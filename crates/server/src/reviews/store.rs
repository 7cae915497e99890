//! The SQL of reviews: reviewers and codes, reviews, receipts, cases, appeals,
//! and the running totals of the quality index.
//!
//! The index is never recomputed over the reviews table: each write that
//! changes it (publish, removal, case opened/rectified/followed up) adds a
//! [`Delta`] to the rows of its outlet, service type and county in
//! `quality_totals`, in the same transaction.

use super::ReviewConfig;
use crate::error::{AppError, AppResult};
use crate::storage::{Backend, Db, placeholders};
use chrono::NaiveDate;
use lifeservice_domain::review::{NEUTRAL_PRIOR, QualityFormula, is_overdue};
use lifeservice_domain::{MajorCategory, ServiceType, privacy};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// A change to the running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub n: i64,
    pub rating_sum: i64,
    pub bad: i64,
    pub cases: i64,
    pub rectified: i64,
    pub on_time: i64,
    pub followed: i64,
}

impl Delta {
    /// A review entering (`sign` = 1) or leaving (-1) the published set.
    pub fn review(rating: i64, sign: i64) -> Delta {
        Delta {
            n: sign,
            rating_sum: sign * rating,
            bad: sign * i64::from(rating <= 2),
            ..Delta::default()
        }
    }
}

/// Adds `delta` to the outlet's, its service type's and its county's totals.
pub async fn bump(
    conn: &mut AnyConnection,
    outlet_id: i64,
    service_type: &str,
    county: &str,
    delta: Delta,
) -> Result<(), sqlx::Error> {
    add_totals(conn, &scoped(outlet_id, service_type, county, delta)).await
}

/// `delta` as the rows of an outlet, its service type and its county.
fn scoped(
    outlet_id: i64,
    service_type: &str,
    county: &str,
    delta: Delta,
) -> [(&'static str, String, Delta); 3] {
    [
        ("outlet", outlet_id.to_string(), delta),
        ("type", service_type.to_string(), delta),
        ("county", county.to_string(), delta),
    ]
}

impl std::ops::AddAssign for Delta {
    fn add_assign(&mut self, o: Delta) {
        self.n += o.n;
        self.rating_sum += o.rating_sum;
        self.bad += o.bad;
        self.cases += o.cases;
        self.rectified += o.rectified;
        self.on_time += o.on_time;
        self.followed += o.followed;
    }
}

/// Adds deltas to `(scope, key)` rows of the running totals, creating them as needed.
///
/// Deltas to the same row are summed first (one statement may not touch a row
/// twice), and rows are written in key order, so that on PostgreSQL two
/// transactions updating the same rows lock them in the same order.
pub async fn add_totals(
    conn: &mut AnyConnection,
    rows: &[(&str, String, Delta)],
) -> Result<(), sqlx::Error> {
    let backend = Backend::of(conn);
    let outlets: Vec<i64> = rows
        .iter()
        .filter(|(scope, _, _)| *scope == "outlet")
        .filter_map(|(_, key, _)| key.parse().ok())
        .collect();
    // Before the rows: a writer holding the feed's lock never waits on
    // totals rows that another writer, queued for the lock, holds.
    record_review_changes(conn, &outlets).await?;
    let mut merged: BTreeMap<(&str, &str), Delta> = BTreeMap::new();
    for (scope, key, delta) in rows {
        *merged.entry((scope, key.as_str())).or_default() += *delta;
    }
    let rows: Vec<_> = merged.into_iter().collect();
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO quality_totals (scope, key, n, rating_sum, bad, cases, rectified, on_time, followed) VALUES {} \
             ON CONFLICT (scope, key) DO UPDATE SET n = quality_totals.n + excluded.n, rating_sum = quality_totals.rating_sum + excluded.rating_sum, \
             bad = quality_totals.bad + excluded.bad, cases = quality_totals.cases + excluded.cases, rectified = quality_totals.rectified + excluded.rectified, \
             on_time = quality_totals.on_time + excluded.on_time, followed = quality_totals.followed + excluded.followed",
            placeholders(backend, chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        for ((scope, key), d) in chunk {
            q = q
                .bind(scope.to_string())
                .bind(key.to_string())
                .bind(d.n)
                .bind(d.rating_sum)
                .bind(d.bad)
                .bind(d.cases)
                .bind(d.rectified)
                .bind(d.on_time)
                .bind(d.followed);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends outlets whose public reviews or totals change in this transaction
/// to `review_changes`, which each process's page cache follows.
pub async fn record_review_changes(
    conn: &mut AnyConnection,
    outlets: &[i64],
) -> Result<(), sqlx::Error> {
    if outlets.is_empty() {
        return Ok(());
    }
    crate::registry::store::lock_feed(conn, "review_changes").await?;
    let at = chrono::Utc::now().timestamp();
    for chunk in outlets.chunks(1000) {
        let sql = format!(
            "INSERT INTO review_changes (outlet_id, at) VALUES {}",
            placeholders(Backend::of(conn), chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id).bind(at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Drops entries of the review feed older than a day: a follower reads them
/// within seconds, and one that starts reads only what comes after.
pub async fn purge_review_changes(conn: &mut AnyConnection, now_secs: i64) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM review_changes WHERE at < $1")
        .bind(now_secs - 86_400)
        .execute(conn)
        .await?
        .rows_affected())
}

/// One row of running totals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub n: i64,
    pub rating_sum: i64,
    pub bad: i64,
    pub cases: i64,
    pub rectified: i64,
    pub on_time: i64,
    pub followed: i64,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.n += o.n;
        self.rating_sum += o.rating_sum;
        self.bad += o.bad;
        self.cases += o.cases;
        self.rectified += o.rectified;
        self.on_time += o.on_time;
        self.followed += o.followed;
    }
}

impl Totals {
    /// From a row with the columns of `quality_totals` (or sums named alike).
    pub fn from_row(r: &sqlx::any::AnyRow) -> Result<Totals, sqlx::Error> {
        Ok(Totals {
            n: r.try_get("n")?,
            rating_sum: r.try_get("rating_sum")?,
            bad: r.try_get("bad")?,
            cases: r.try_get("cases")?,
            rectified: r.try_get("rectified")?,
            on_time: r.try_get("on_time")?,
            followed: r.try_get("followed")?,
        })
    }
}

/// Totals added as one change (e.g. counted from rows written in bulk).
impl From<Totals> for Delta {
    fn from(t: Totals) -> Delta {
        Delta {
            n: t.n,
            rating_sum: t.rating_sum,
            bad: t.bad,
            cases: t.cases,
            rectified: t.rectified,
            on_time: t.on_time,
            followed: t.followed,
        }
    }
}

/// Totals of the given keys of a scope.
pub async fn totals_for_keys(
    db: &Db,
    scope: &'static str,
    keys: &[String],
) -> AppResult<HashMap<String, Totals>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let sql = format!(
            "SELECT key, n, rating_sum, bad, cases, rectified, on_time, followed FROM quality_totals WHERE scope = '{scope}' AND key IN {}",
            placeholders(db.backend(), 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for k in chunk {
            q = q.bind(k.clone());
        }
        for r in q.fetch_all(db.pool()).await? {
            out.insert(r.try_get::<String, _>("key")?, Totals::from_row(&r)?);
        }
    }
    Ok(out)
}

/// All totals of a scope, by key.
pub async fn totals_of_scope(db: &Db, scope: &str) -> AppResult<HashMap<String, Totals>> {
    let rows = sqlx::query("SELECT key, n, rating_sum, bad, cases, rectified, on_time, followed FROM quality_totals WHERE scope = $1")
        .bind(scope.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("key")?, Totals::from_row(r)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round3(part as f64 / whole as f64))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// An outlet's (or an area's) quality index, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Quality {
    /// Bayesian average on the 1–5 scale; null before the first rating.
    pub score: Option<f64>,
    pub count: i64,
    /// Share of 差评 (ratings 1–2) among published reviews.
    pub bad_share: Option<f64>,
    /// Share of bad-review cases rectified.
    pub rectified_share: Option<f64>,
    /// Share of cases rectified within the deadline.
    pub on_time_share: Option<f64>,
    /// 实名差评回访整改率: cases rectified and followed up with the reviewer.
    pub followed_share: Option<f64>,
    pub cases: i64,
    /// The prior m (service type mean) and its weight C.
    pub prior: f64,
    pub weight: f64,
    /// The formula with its numbers, as shown on the page.
    pub formula: String,
}

impl Quality {
    pub fn from_totals(t: Totals, prior: f64, weight: f64) -> Quality {
        let f = QualityFormula {
            weight,
            prior,
            sum: t.rating_sum as f64,
            count: t.n as f64,
        };
        Quality {
            score: (t.n > 0).then(|| (f.score() * 100.0).round() / 100.0),
            count: t.n,
            bad_share: share(t.bad, t.n),
            rectified_share: share(t.rectified, t.cases),
            on_time_share: share(t.on_time, t.cases),
            followed_share: share(t.followed, t.cases),
            cases: t.cases,
            prior: (prior * 100.0).round() / 100.0,
            weight,
            formula: f.display(),
        }
    }
}

/// The mean rating of a service type, or the neutral prior before any rating.
pub fn prior_of(types: &HashMap<String, Totals>, service_type: &str) -> f64 {
    types
        .get(service_type)
        .filter(|t| t.n > 0)
        .map(|t| t.rating_sum as f64 / t.n as f64)
        .unwrap_or(NEUTRAL_PRIOR)
}

/// Quality of outlets `(id, service type)`, from their running totals.
pub async fn quality_of(
    db: &Db,
    config: &ReviewConfig,
    outlets: &[(i64, String)],
) -> AppResult<HashMap<i64, Quality>> {
    let mut out = HashMap::with_capacity(outlets.len());
    if outlets.is_empty() {
        return Ok(out);
    }
    let mut types: Vec<&str> = outlets.iter().map(|(_, t)| t.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    let ids: Vec<String> = outlets.iter().map(|(id, _)| id.to_string()).collect();
    let outlet_totals = totals_for_keys(db, "outlet", &ids).await?;
    let types: Vec<String> = types.into_iter().map(str::to_string).collect();
    let type_totals = totals_for_keys(db, "type", &types).await?;
    for (id, stype) in outlets {
        let t = outlet_totals
            .get(&id.to_string())
            .copied()
            .unwrap_or_default();
        out.insert(
            *id,
            Quality::from_totals(t, prior_of(&type_totals, stype), config.prior_weight),
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Outlets as reviews need them

/// `(id, service type)` of outlets, in the order of `ids`.
pub async fn outlet_types(db: &Db, ids: &[i64]) -> AppResult<Vec<(i64, String)>> {
    let mut by_id = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, service_type FROM outlets WHERE id IN {}",
            placeholders(db.backend(), 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.pool()).await? {
            by_id.insert(
                r.try_get::<i64, _>("id")?,
                r.try_get::<String, _>("service_type")?,
            );
        }
    }
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id).map(|t| (*id, t)))
        .collect())
}

#[derive(Debug, Clone)]
pub struct OutletRef {
    pub id: i64,
    pub entity_id: i64,
    pub name: String,
    pub service_type: String,
    pub county_code: String,
    pub division_code: String,
    pub open: bool,
}

impl OutletRef {
    pub fn stype(&self) -> Option<ServiceType> {
        ServiceType::parse(&self.service_type)
    }

    pub fn major(&self) -> Option<MajorCategory> {
        self.stype().map(|t| t.major())
    }
}

pub async fn outlet_ref(conn: &mut AnyConnection, id: i64) -> AppResult<OutletRef> {
    let row = sqlx::query("SELECT id, entity_id, name, service_type, county_code, division_code, status FROM outlets WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found(format!("服务网点{id}不存在")))?;
    Ok(OutletRef {
        id: row.try_get("id")?,
        entity_id: row.try_get("entity_id")?,
        name: row.try_get("name")?,
        service_type: row.try_get("service_type")?,
        county_code: row.try_get("county_code")?,
        division_code: row.try_get("division_code")?,
        open: row.try_get::<String, _>("status")? == "open",
    })
}

// ---------------------------------------------------------------------------
// Reviews

/// A review as shown: pseudonym only, never the phone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: i64,
    pub outlet_id: i64,
    pub reviewer: String,
    pub rating: i64,
    pub rating_zh: String,
    pub bad: bool,
    /// Aspect code → 1..5.
    pub aspects: serde_json::Value,
    pub text: String,
    pub verified: bool,
    pub channel: String,
    pub status: String,
    pub created_at: String,
    pub reply: Option<String>,
    pub reply_at: Option<String>,
    /// Why a review is held or was removed (officer views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<i64>,
}

const REVIEW_COLUMNS: &str = "r.id, r.outlet_id, r.rating, r.aspects_json, r.body, r.verified, r.channel, r.status, r.hold_reason, r.removed_reason, r.created_at, r.reply, r.reply_at, v.pseudonym, c.id AS case_id";
const REVIEW_FROM: &str = "FROM reviews r JOIN reviewers v ON v.id = r.reviewer_id LEFT JOIN review_cases c ON c.review_id = r.id";

/// A review's or reply's text as every view shows it. Reviewers and repliers
/// write freely and sometimes put a phone or ID number in: it is masked as
/// open data masks it (the stored text keeps it, for the record).
pub(super) fn shown_text(text: &str) -> String {
    privacy::mask_personal_numbers(text)
}

fn review_from(r: &sqlx::any::AnyRow) -> Result<ReviewView, sqlx::Error> {
    let rating: i64 = r.try_get("rating")?;
    let status: String = r.try_get("status")?;
    let reason: Option<String> = if status == "removed" {
        r.try_get("removed_reason")?
    } else {
        r.try_get("hold_reason")?
    };
    Ok(ReviewView {
        id: r.try_get("id")?,
        outlet_id: r.try_get("outlet_id")?,
        reviewer: r.try_get("pseudonym")?,
        rating,
        rating_zh: lifeservice_domain::review::Rating::from_value(rating)
            .map(|x| x.zh())
            .unwrap_or("")
            .to_string(),
        bad: rating <= 2,
        aspects: serde_json::from_str(&r.try_get::<String, _>("aspects_json")?)
            .unwrap_or(serde_json::Value::Null),
        text: shown_text(&r.try_get::<String, _>("body")?),
        verified: r.try_get::<i64, _>("verified")? != 0,
        channel: r.try_get("channel")?,
        status,
        created_at: r.try_get("created_at")?,
        reply: r
            .try_get::<Option<String>, _>("reply")?
            .map(|reply| shown_text(&reply)),
        reply_at: r.try_get("reply_at")?,
        status_reason: reason,
        case_id: r.try_get("case_id")?,
    })
}

pub async fn review_by_id(conn: &mut AnyConnection, id: i64) -> AppResult<ReviewView> {
    let sql = format!("SELECT {REVIEW_COLUMNS} {REVIEW_FROM} WHERE r.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found(format!("评价{id}不存在")))?;
    Ok(review_from(&row)?)
}

/// Published reviews of an outlet, newest first.
pub async fn published_reviews(
    db: &Db,
    outlet_id: i64,
    offset: i64,
    limit: i64,
) -> AppResult<Vec<ReviewView>> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} {REVIEW_FROM} WHERE r.outlet_id = $1 AND r.status = 'published' ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(&sql)
        .bind(outlet_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(review_from)
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

/// Reviews held for moderation in `scope`, oldest first, with their outlet's name.
pub async fn held_reviews(
    db: &Db,
    scope: &Scope,
    limit: i64,
) -> AppResult<Vec<(ReviewView, String)>> {
    let mut next = 1;
    let condition = scope.condition("r", &mut next);
    let sql = format!(
        "SELECT {REVIEW_COLUMNS}, o.name AS outlet_name {REVIEW_FROM} JOIN outlets o ON o.id = r.outlet_id \
         WHERE r.status = 'held' AND {condition} ORDER BY r.id LIMIT ${next}"
    );
    let rows = scope
        .bind(sqlx::query(&sql))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((review_from(r)?, r.try_get("outlet_name")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// An entity's reviews (published, or removed with the reason), bad ones
/// first and newest first within each, with their outlet's name.
pub async fn entity_reviews(
    db: &Db,
    entity_id: i64,
    offset: i64,
    limit: i64,
) -> AppResult<Vec<(ReviewView, String)>> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS}, o.name AS outlet_name {REVIEW_FROM} JOIN outlets o ON o.id = r.outlet_id \
         WHERE o.entity_id = $1 AND r.status IN ('published', 'removed') \
         ORDER BY CASE WHEN r.rating <= 2 THEN 0 ELSE 1 END, r.id DESC LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(&sql)
        .bind(entity_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((review_from(r)?, r.try_get("outlet_name")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// How many reviews [`entity_reviews`] pages through.
pub async fn count_entity_reviews(db: &Db, entity_id: i64) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews r JOIN outlets o ON o.id = r.outlet_id \
         WHERE o.entity_id = $1 AND r.status IN ('published', 'removed')",
    )
    .bind(entity_id)
    .fetch_one(db.pool())
    .await?)
}

/// A reviewer's own reviews, newest first, with their outlet's name.
pub async fn reviewer_reviews(
    db: &Db,
    reviewer_id: i64,
    limit: i64,
) -> AppResult<Vec<(ReviewView, String)>> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS}, o.name AS outlet_name {REVIEW_FROM} JOIN outlets o ON o.id = r.outlet_id \
         WHERE r.reviewer_id = $1 ORDER BY r.id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(reviewer_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((review_from(r)?, r.try_get("outlet_name")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The stored facts of a review that writes need.
#[derive(Debug, Clone)]
pub struct ReviewFacts {
    pub id: i64,
    pub outlet_id: i64,
    pub reviewer_id: i64,
    pub rating: i64,
    pub status: String,
    pub service_type: String,
    pub county_code: String,
    pub has_reply: bool,
}

pub async fn review_facts(conn: &mut AnyConnection, id: i64) -> AppResult<ReviewFacts> {
    let row = sqlx::query("SELECT id, outlet_id, reviewer_id, rating, status, service_type, county_code, reply FROM reviews WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found(format!("评价{id}不存在")))?;
    Ok(ReviewFacts {
        id: row.try_get("id")?,
        outlet_id: row.try_get("outlet_id")?,
        reviewer_id: row.try_get("reviewer_id")?,
        rating: row.try_get("rating")?,
        status: row.try_get("status")?,
        service_type: row.try_get("service_type")?,
        county_code: row.try_get("county_code")?,
        has_reply: row.try_get::<Option<String>, _>("reply")?.is_some(),
    })
}

/// The department accounts and the service types in their scope, read once
/// for however many reviews need them.
pub struct Departments(Vec<(String, String)>);

impl Departments {
    pub async fn read(conn: &mut AnyConnection) -> AppResult<Departments> {
        let rows = sqlx::query(
            "SELECT display_name, scope FROM users WHERE role = 'department' ORDER BY id",
        )
        .fetch_all(conn)
        .await?;
        let accounts = rows
            .iter()
            .map(|r| Ok((r.try_get("display_name")?, r.try_get("scope")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(Departments(accounts))
    }

    /// Display names of the departments responsible for a service type.
    pub fn responsible_for(&self, service_type: &str) -> String {
        let major = service_type.get(..2).unwrap_or_default();
        let names: Vec<&str> = self
            .0
            .iter()
            .filter(|(_, scope)| {
                scope
                    .split(',')
                    .any(|c| c.trim() == service_type || c.trim() == major)
            })
            .map(|(name, _)| name.as_str())
            .collect();
        names.join("、")
    }
}

/// Department accounts responsible for a service type, by display name.
pub async fn departments_for(conn: &mut AnyConnection, service_type: &str) -> AppResult<String> {
    Ok(Departments::read(conn).await?.responsible_for(service_type))
}

/// Moves a review into the published set: totals, and a case if it is bad.
pub async fn publish(
    conn: &mut AnyConnection,
    config: &ReviewConfig,
    review: &ReviewFacts,
    entity_id: i64,
    today: NaiveDate,
) -> AppResult<Option<i64>> {
    let cases = publish_all(conn, config, &[(review, entity_id)], today).await?;
    Ok(cases.into_iter().next().flatten())
}

/// Moves reviews (each with its outlet's entity) into the published set: one
/// totals upsert for all of them, and a rectification case for each bad one,
/// counted in the totals too. Returns each review's case id, in order.
pub async fn publish_all(
    conn: &mut AnyConnection,
    config: &ReviewConfig,
    reviews: &[(&ReviewFacts, i64)],
    today: NaiveDate,
) -> AppResult<Vec<Option<i64>>> {
    let mut deltas = Vec::with_capacity(reviews.len() * 6);
    let mut add = |r: &ReviewFacts, delta: Delta| {
        deltas.extend(scoped(r.outlet_id, &r.service_type, &r.county_code, delta));
    };
    let bad: Vec<&(&ReviewFacts, i64)> = reviews.iter().filter(|(r, _)| r.rating <= 2).collect();
    for (r, _) in reviews {
        add(r, Delta::review(r.rating, 1));
    }
    for (r, _) in &bad {
        add(
            r,
            Delta {
                cases: 1,
                ..Delta::default()
            },
        );
    }
    let cases = open_cases(conn, config, &bad, today).await?;
    add_totals(conn, &deltas).await?;
    Ok(reviews
        .iter()
        .map(|(r, _)| cases.get(&r.id).copied())
        .collect())
}

/// Opens the rectification cases of bad reviews; returns case ids by review id.
async fn open_cases(
    conn: &mut AnyConnection,
    config: &ReviewConfig,
    bad: &[&(&ReviewFacts, i64)],
    today: NaiveDate,
) -> AppResult<HashMap<i64, i64>> {
    if bad.is_empty() {
        return Ok(HashMap::new());
    }
    let (contact_due, rectify_due) = config.deadlines.due(&config.calendar, today);
    let departments = Departments::read(conn).await?;
    let sql = format!(
        "INSERT INTO review_cases (review_id, outlet_id, entity_id, service_type, county_code, departments, status, opened_on, contact_due, rectify_due) \
         VALUES {} RETURNING id, review_id",
        placeholders(Backend::of(conn), bad.len(), 10)
    );
    let mut q = sqlx::query(&sql);
    for (r, entity_id) in bad {
        q = q
            .bind(r.id)
            .bind(r.outlet_id)
            .bind(*entity_id)
            .bind(r.service_type.clone())
            .bind(r.county_code.clone())
            .bind(departments.responsible_for(&r.service_type))
            .bind("open")
            .bind(today.to_string())
            .bind(contact_due.to_string())
            .bind(rectify_due.to_string());
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("review_id")?, row.try_get("id")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

// ---------------------------------------------------------------------------
// Cases

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: i64,
    pub review_id: i64,
    pub outlet_id: i64,
    pub outlet_name: String,
    pub entity_id: i64,
    pub service_type: String,
    pub county_code: String,
    /// Departments overseeing the case (by the outlet's service type).
    pub departments: String,
    pub status: String,
    pub opened_on: String,
    pub contact_due: String,
    pub rectify_due: String,
    pub contacted_on: Option<String>,
    pub contact_note: Option<String>,
    pub rectified_on: Option<String>,
    pub rectify_note: Option<String>,
    pub followed_on: Option<String>,
    pub follow_rating: Option<i64>,
    pub follow_note: Option<String>,
    pub escalated_on: Option<String>,
    /// A first 回访 rated bad sent the case back on this day, with its rating and words.
    pub reopened_on: Option<String>,
    pub reopen_rating: Option<i64>,
    pub reopen_note: Option<String>,
    /// 逾期未联系 / 逾期未整改, computed against today (Asia/Shanghai).
    pub overdue: Option<String>,
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl CaseView {
    /// Which deadline, if any, the case has missed as of `today`.
    pub fn overdue_as_of(&self, today: NaiveDate) -> Option<String> {
        if matches!(self.status.as_str(), "closed" | "withdrawn" | "rectified") {
            return None;
        }
        let rectify_due = parse_day(&self.rectify_due)?;
        let contact_due = parse_day(&self.contact_due)?;
        if is_overdue(rectify_due, None, today) {
            return Some("逾期未整改".into());
        }
        if self.contacted_on.is_none() && is_overdue(contact_due, None, today) {
            return Some("逾期未联系".into());
        }
        None
    }
}

const CASE_COLUMNS: &str = "c.id, c.review_id, c.outlet_id, o.name AS outlet_name, c.entity_id, c.service_type, c.county_code, c.departments, c.status, c.opened_on, c.contact_due, c.rectify_due, c.contacted_on, c.contact_note, c.rectified_on, c.rectify_note, c.followed_on, c.follow_rating, c.follow_note, c.escalated_on, c.reopened_on, c.reopen_rating, c.reopen_note";

fn case_from(r: &sqlx::any::AnyRow, today: NaiveDate) -> Result<CaseView, sqlx::Error> {
    let mut c = CaseView {
        id: r.try_get("id")?,
        review_id: r.try_get("review_id")?,
        outlet_id: r.try_get("outlet_id")?,
        outlet_name: r.try_get("outlet_name")?,
        entity_id: r.try_get("entity_id")?,
        service_type: r.try_get("service_type")?,
        county_code: r.try_get("county_code")?,
        departments: r.try_get("departments")?,
        status: r.try_get("status")?,
        opened_on: r.try_get("opened_on")?,
        contact_due: r.try_get("contact_due")?,
        rectify_due: r.try_get("rectify_due")?,
        contacted_on: r.try_get("contacted_on")?,
        contact_note: r.try_get("contact_note")?,
        rectified_on: r.try_get("rectified_on")?,
        rectify_note: r.try_get("rectify_note")?,
        followed_on: r.try_get("followed_on")?,
        follow_rating: r.try_get("follow_rating")?,
        follow_note: r.try_get("follow_note")?,
        escalated_on: r.try_get("escalated_on")?,
        reopened_on: r.try_get("reopened_on")?,
        reopen_rating: r.try_get("reopen_rating")?,
        reopen_note: r.try_get("reopen_note")?,
        overdue: None,
    };
    c.overdue = c.overdue_as_of(today);
    Ok(c)
}

pub async fn case_by_id(
    conn: &mut AnyConnection,
    id: i64,
    today: NaiveDate,
) -> AppResult<CaseView> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM review_cases c JOIN outlets o ON o.id = c.outlet_id WHERE c.id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found(format!("整改工单{id}不存在")))?;
    Ok(case_from(&row, today)?)
}

/// Cases of reviews, by review id.
pub async fn cases_of_reviews(
    db: &Db,
    review_ids: &[i64],
    today: NaiveDate,
) -> AppResult<HashMap<i64, CaseView>> {
    let mut out = HashMap::with_capacity(review_ids.len());
    for chunk in review_ids.chunks(500) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM review_cases c JOIN outlets o ON o.id = c.outlet_id WHERE c.review_id IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(db.pool()).await? {
            let case = case_from(&r, today)?;
            out.insert(case.review_id, case);
        }
    }
    Ok(out)
}

/// Whose cases, held reviews and appeals a viewer sees, as SQL can select
/// them. `service::Actor::case_scope` and `decision_scope` derive it from the
/// account; [`Scope::admits`] is the same test in Rust. Unset parts do not
/// restrict: the default scope is everything (an admin's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// One entity's own (entity accounts and `ent_` tokens).
    pub entity: Option<i64>,
    /// Service type codes or NBS major categories (a department's scope).
    pub types: Option<Vec<String>>,
    /// A division containing the counties in scope (a division officer's).
    pub area: Option<String>,
}

impl Scope {
    /// Whether a record of `entity_id`, `service_type` and `county_code` is in scope.
    pub fn admits(&self, entity_id: i64, service_type: &str, county_code: &str) -> bool {
        let major = service_type.get(..2).unwrap_or_default();
        self.entity.is_none_or(|e| e == entity_id)
            && self
                .area
                .as_deref()
                .is_none_or(|a| county_code.starts_with(a))
            && self
                .types
                .as_ref()
                .is_none_or(|codes| codes.iter().any(|c| c == service_type || c == major))
    }

    /// The SQL condition on the `entity_id`, `service_type` and `county_code`
    /// columns of `alias`, its parameters numbered from `*next` on (and
    /// `*next` moved past them), bound by [`Scope::bind`] in the same order.
    /// Reviews have no `entity_id`: an entity scope is for cases only.
    fn condition(&self, alias: &str, next: &mut usize) -> String {
        let mut parts = vec!["1 = 1".to_string()];
        if self.entity.is_some() {
            parts.push(format!("{alias}.entity_id = ${next}"));
            *next += 1;
        }
        if self.area.is_some() {
            parts.push(format!("{alias}.county_code LIKE ${next}"));
            *next += 1;
        }
        if let Some(codes) = &self.types {
            let list: Vec<String> = (*next..*next + codes.len())
                .map(|i| format!("${i}"))
                .collect();
            let list = list.join(", ");
            parts.push(format!(
                "({alias}.service_type IN ({list}) OR substr({alias}.service_type, 1, 2) IN ({list}))"
            ));
            *next += codes.len();
        }
        parts.join(" AND ")
    }

    fn bind<'q>(
        &self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        if let Some(entity) = self.entity {
            q = q.bind(entity);
        }
        if let Some(area) = &self.area {
            q = q.bind(format!("{area}%"));
        }
        for code in self.types.iter().flatten() {
            q = q.bind(code.clone());
        }
        q
    }
}

/// Which cases a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseFilter {
    /// Not yet closed or withdrawn: the entity's steps or the 回访 are pending.
    #[default]
    Open,
    /// The entity still has a step to take (contact or rectify).
    Pending,
    /// A deadline has passed with its step not done.
    Overdue,
    /// Escalated for missing a deadline, whatever happened since.
    Escalated,
    /// Closed by the reviewer's 回访.
    Closed,
    All,
}

impl CaseFilter {
    /// The filters an officer picks from, in the order shown.
    pub const PICKS: [CaseFilter; 5] = [
        CaseFilter::Open,
        CaseFilter::Overdue,
        CaseFilter::Escalated,
        CaseFilter::Closed,
        CaseFilter::All,
    ];

    pub fn parse(s: &str) -> Option<CaseFilter> {
        Some(match s {
            "open" => CaseFilter::Open,
            "pending" => CaseFilter::Pending,
            "overdue" => CaseFilter::Overdue,
            "escalated" => CaseFilter::Escalated,
            "closed" => CaseFilter::Closed,
            "all" => CaseFilter::All,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            CaseFilter::Open => "open",
            CaseFilter::Pending => "pending",
            CaseFilter::Overdue => "overdue",
            CaseFilter::Escalated => "escalated",
            CaseFilter::Closed => "closed",
            CaseFilter::All => "all",
        }
    }

    /// The condition on review_cases `c`; `today` is `$n` (Overdue only uses it).
    fn condition(self, today: usize) -> String {
        match self {
            CaseFilter::Open => "c.status IN ('open', 'contacted', 'rectified')".into(),
            CaseFilter::Pending => "c.status IN ('open', 'contacted')".into(),
            // The same test as `CaseView::overdue_as_of` and `escalate_overdue`.
            CaseFilter::Overdue => format!(
                "((c.status IN ('open', 'contacted') AND c.rectify_due < ${today}) OR (c.status = 'open' AND c.contact_due < ${today}))"
            ),
            CaseFilter::Escalated => "c.escalated_on IS NOT NULL".into(),
            CaseFilter::Closed => "c.status = 'closed'".into(),
            CaseFilter::All => "1 = 1".into(),
        }
    }

    fn uses_today(self) -> bool {
        self == CaseFilter::Overdue
    }
}

/// The `WHERE` of a case list and the number of its next parameter.
fn case_where(scope: &Scope, filter: CaseFilter) -> (String, usize) {
    let mut next = 1;
    let scope_sql = scope.condition("c", &mut next);
    let filter_sql = filter.condition(next);
    if filter.uses_today() {
        next += 1;
    }
    (format!("WHERE {scope_sql} AND {filter_sql}"), next)
}

/// Cases in `scope` that pass `filter`, newest first.
pub async fn cases(
    db: &Db,
    scope: &Scope,
    filter: CaseFilter,
    today: NaiveDate,
    offset: i64,
    limit: i64,
) -> AppResult<Vec<CaseView>> {
    let (condition, next) = case_where(scope, filter);
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM review_cases c JOIN outlets o ON o.id = c.outlet_id {condition} \
         ORDER BY c.id DESC LIMIT ${next} OFFSET ${}",
        next + 1
    );
    let mut q = scope.bind(sqlx::query(&sql));
    if filter.uses_today() {
        q = q.bind(today.to_string());
    }
    let rows = q.bind(limit).bind(offset).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| case_from(r, today))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

/// How many cases [`cases`] pages through.
pub async fn count_cases(
    db: &Db,
    scope: &Scope,
    filter: CaseFilter,
    today: NaiveDate,
) -> AppResult<i64> {
    let (condition, _) = case_where(scope, filter);
    let sql = format!("SELECT COUNT(*) FROM review_cases c {condition}");
    let mut q = scope.bind(sqlx::query(&sql));
    if filter.uses_today() {
        q = q.bind(today.to_string());
    }
    Ok(q.fetch_one(db.pool()).await?.try_get(0)?)
}

// ---------------------------------------------------------------------------
// Appeals

/// An entity's appeal against a review, and the department's decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppealView {
    pub id: i64,
    pub review_id: i64,
    /// `malicious` (恶意评价) or `mistaken` (错评误评).
    pub kind: String,
    pub reason: String,
    pub filed_by: String,
    pub filed_at: String,
    /// `uphold` (the review was removed) or `reject`; none while pending.
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

const APPEAL_COLUMNS: &str = "a.id, a.review_id, a.kind, a.reason, a.filed_by, a.filed_at, a.decision, a.decision_reason, a.decided_by, a.decided_at";

fn appeal_from(r: &sqlx::any::AnyRow) -> Result<AppealView, sqlx::Error> {
    Ok(AppealView {
        id: r.try_get("id")?,
        review_id: r.try_get("review_id")?,
        kind: r.try_get("kind")?,
        reason: r.try_get("reason")?,
        filed_by: r.try_get("filed_by")?,
        filed_at: r.try_get("filed_at")?,
        decision: r.try_get("decision")?,
        decision_reason: r.try_get("decision_reason")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
    })
}

/// The appeal against a review, if one was filed (一评一诉).
pub async fn appeal_of_review(
    conn: &mut AnyConnection,
    review_id: i64,
) -> AppResult<Option<AppealView>> {
    let sql = format!("SELECT {APPEAL_COLUMNS} FROM review_appeals a WHERE a.review_id = $1");
    let row = sqlx::query(&sql)
        .bind(review_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(appeal_from).transpose()?)
}

/// Appeals awaiting a decision in `scope`, oldest first, with the review
/// and its outlet's name.
pub async fn pending_appeals(
    db: &Db,
    scope: &Scope,
    limit: i64,
) -> AppResult<Vec<(AppealView, ReviewView, String)>> {
    let mut next = 1;
    let condition = scope.condition("r", &mut next);
    let sql = format!(
        "SELECT a.id AS appeal_id, a.kind, a.reason, a.filed_by, a.filed_at, {REVIEW_COLUMNS}, o.name AS outlet_name \
         FROM review_appeals a JOIN reviews r ON r.id = a.review_id JOIN reviewers v ON v.id = r.reviewer_id \
         LEFT JOIN review_cases c ON c.review_id = r.id JOIN outlets o ON o.id = r.outlet_id \
         WHERE a.decision IS NULL AND {condition} ORDER BY a.id LIMIT ${next}"
    );
    let rows = scope
        .bind(sqlx::query(&sql))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let review = review_from(r)?;
            let appeal = AppealView {
                id: r.try_get("appeal_id")?,
                review_id: review.id,
                kind: r.try_get("kind")?,
                reason: r.try_get("reason")?,
                filed_by: r.try_get("filed_by")?,
                filed_at: r.try_get("filed_at")?,
                decision: None,
                decision_reason: None,
                decided_by: None,
                decided_at: None,
            };
            Ok((appeal, review, r.try_get("outlet_name")?))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Cases past a deadline and not yet escalated, as of the day bound to `$1`.
const OVERDUE_UNESCALATED: &str = "SELECT id FROM review_cases WHERE escalated_on IS NULL AND \
     ((status IN ('open', 'contacted') AND rectify_due < $1) OR (status = 'open' AND contact_due < $1)) ORDER BY id";

/// Marks overdue, not yet escalated cases as escalated (and audits each);
/// returns how many were escalated now.
pub async fn escalate_overdue(db: &Db, today: NaiveDate) -> AppResult<usize> {
    // Pages call this on every view: take the writer lock only when needed.
    let due: Vec<i64> = sqlx::query_scalar(&format!("{OVERDUE_UNESCALATED} LIMIT 1"))
        .bind(today.to_string())
        .fetch_all(db.pool())
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let escalated = escalate_overdue_on(&mut tx, today).await?;
    tx.commit().await?;
    Ok(escalated)
}

/// [`escalate_overdue`] inside the caller's transaction (the daily job's).
pub async fn escalate_overdue_on(
    tx: &mut sqlx::AnyConnection,
    today: NaiveDate,
) -> AppResult<usize> {
    let day = today.to_string();
    let ids: Vec<i64> = sqlx::query_scalar(&format!("{OVERDUE_UNESCALATED} LIMIT 10000"))
        .bind(day.clone())
        .fetch_all(&mut *tx)
        .await?;
    let mut escalated = 0;
    for id in &ids {
        let done = sqlx::query(
            "UPDATE review_cases SET escalated_on = $1 WHERE id = $2 AND escalated_on IS NULL",
        )
        .bind(day.clone())
        .bind(*id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            continue;
        }
        escalated += 1;
        crate::audit::record(
            &mut *tx,
            "system",
            "escalate",
            "review_case",
            &id.to_string(),
            None,
            Some(serde_json::json!({"escalated_on": day})),
        )
        .await?;
    }
    Ok(escalated)
}

// ---------------------------------------------------------------------------
// Rankings

/// One row of a ranking: a service type, county, city or department.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankRow {
    pub key: String,
    pub name: String,
    #[serde(flatten)]
    pub quality: Quality,
}

/// Rankings `by` type, county, city or department, best score first. Area and
/// type scores are Bayesian averages towards the province-wide mean.
pub async fn rankings(db: &Db, config: &ReviewConfig, by: &str) -> AppResult<Vec<RankRow>> {
    let types = totals_of_scope(db, "type").await?;
    let mut all = Totals::default();
    for t in types.values() {
        all += *t;
    }
    let prior = if all.n > 0 {
        all.rating_sum as f64 / all.n as f64
    } else {
        NEUTRAL_PRIOR
    };
    let reference = crate::reference::Reference::shipped();
    let mut groups: Vec<(String, String, Totals)> = match by {
        "type" => types
            .iter()
            .map(|(k, t)| {
                let name = ServiceType::parse(k).map(|s| s.zh()).unwrap_or("未知");
                (k.clone(), name.to_string(), *t)
            })
            .collect(),
        "county" | "city" => {
            let counties = totals_of_scope(db, "county").await?;
            let mut by_key: HashMap<String, Totals> = HashMap::new();
            for (k, t) in counties {
                let key = if by == "city" {
                    k.get(..4).unwrap_or(&k).to_string()
                } else {
                    k
                };
                *by_key.entry(key).or_default() += t;
            }
            by_key
                .into_iter()
                .map(|(k, t)| {
                    let name = lifeservice_domain::DivisionCode::parse(&k)
                        .map(|c| reference.name(&c).to_string())
                        .unwrap_or_else(|_| k.clone());
                    (k, name, t)
                })
                .collect()
        }
        "department" => {
            let rows = sqlx::query(
                "SELECT username, display_name, scope FROM users WHERE role = 'department' ORDER BY id",
            )
            .fetch_all(db.pool())
            .await?;
            let mut out = Vec::new();
            for r in rows {
                let scope: String = r.try_get("scope")?;
                let codes: Vec<&str> = scope.split(',').map(str::trim).collect();
                let mut sum = Totals::default();
                for (k, t) in &types {
                    if codes.iter().any(|c| *c == k || Some(*c) == k.get(..2)) {
                        sum += *t;
                    }
                }
                out.push((r.try_get("username")?, r.try_get("display_name")?, sum));
            }
            out
        }
        other => {
            return Err(AppError::field(
                "by",
                format!("未知的排名维度“{other}”，应为 type、county、city 或 department"),
            ));
        }
    };
    groups.retain(|(_, _, t)| t.n > 0 || t.cases > 0);
    let mut rows: Vec<RankRow> = groups
        .into_iter()
        .map(|(key, name, t)| RankRow {
            key,
            name,
            quality: Quality::from_totals(t, prior, config.prior_weight),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.quality
            .score
            .unwrap_or(0.0)
            .total_cmp(&a.quality.score.unwrap_or(0.0))
            .then(b.quality.count.cmp(&a.quality.count))
            .then(a.key.cmp(&b.key))
    });
    Ok(rows)
}

/// Province-wide totals (the sum of the service type rows).
pub async fn province_totals(db: &Db) -> AppResult<Totals> {
    let mut all = Totals::default();
    for t in totals_of_scope(db, "type").await?.values() {
        all += *t;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn quality_from_running_totals() {
        let t = Totals {
            n: 4,
            rating_sum: 14,
            bad: 1,
            cases: 1,
            rectified: 1,
            on_time: 0,
            followed: 1,
        };
        let q = Quality::from_totals(t, 4.0, 5.0);
        assert_eq!(q.score, Some(3.78)); // (5×4 + 14) / 9 = 3.777…
        assert_eq!(q.bad_share, Some(0.25));
        assert_eq!(q.rectified_share, Some(1.0));
        assert_eq!(q.on_time_share, Some(0.0));
        assert!(q.formula.ends_with("= 3.78"), "{}", q.formula);
        let empty = Quality::from_totals(Totals::default(), 4.0, 5.0);
        assert_eq!((empty.score, empty.bad_share), (None, None));
        let mut types = HashMap::new();
        assert_eq!(prior_of(&types, "0101"), NEUTRAL_PRIOR);
        types.insert("0101".to_string(), t);
        assert_eq!(prior_of(&types, "0101"), 3.5);
    }

    #[test]
    fn deltas_add_and_reverse() {
        let mut d = Delta::review(2, 1);
        assert_eq!((d.n, d.rating_sum, d.bad), (1, 2, 1));
        d += Delta::review(2, -1);
        assert_eq!(d, Delta::default());
    }

    #[test]
    fn overdue_steps() {
        let mut c = CaseView {
            id: 1,
            review_id: 1,
            outlet_id: 1,
            outlet_name: String::new(),
            entity_id: 1,
            service_type: "0101".into(),
            county_code: "140105".into(),
            departments: String::new(),
            status: "open".into(),
            opened_on: "2026-11-27".into(),
            contact_due: "2026-11-30".into(),
            rectify_due: "2026-12-18".into(),
            contacted_on: None,
            contact_note: None,
            rectified_on: None,
            rectify_note: None,
            followed_on: None,
            follow_rating: None,
            follow_note: None,
            escalated_on: None,
            reopened_on: None,
            reopen_rating: None,
            reopen_note: None,
            overdue: None,
        };
        assert_eq!(c.overdue_as_of(day("2026-11-30")), None);
        assert_eq!(
            c.overdue_as_of(day("2026-12-01")).as_deref(),
            Some("逾期未联系")
        );
        c.contacted_on = Some("2026-11-30".into());
        c.status = "contacted".into();
        assert_eq!(c.overdue_as_of(day("2026-12-01")), None);
        assert_eq!(
            c.overdue_as_of(day("2026-12-19")).as_deref(),
            Some("逾期未整改")
        );
        c.status = "rectified".into();
        assert_eq!(c.overdue_as_of(day("2027-01-01")), None);
    }
}
