//! The statistics cube: monthly flows by measure × division × category,
//! pre-aggregated so that a dashboard for any area reads a few hundred cells
//! instead of grouping millions of records.
//!
//! Each source (registry with credit; reviews) is rebuilt as a whole when its
//! fingerprint moves: the records are grouped once at the finest grain
//! (county × service type × month) outside any transaction, the groups are
//! rolled up to city and province and to major category and "all" in memory,
//! and one short transaction swaps the source's cells. Writers never pay for
//! statistics, and on PostgreSQL a rebuild is claimed in `job_runs` so several
//! app servers write each data state once.

use crate::storage::{Db, in_list, placeholders};
use lifeservice_domain::division_changes::current_county;
use sqlx::Row;
use std::collections::HashMap;
use std::time::Instant;

/// The period of records that have no date: they count in every stock.
pub const UNDATED: &str = "0000-00";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Entities, outlets, designations and credit records (the change feed).
    Registry,
    /// Published reviews and rectification cases (the running quality totals).
    Reviews,
}

impl Source {
    pub const ALL: [Source; 2] = [Source::Registry, Source::Reviews];

    pub fn name(self) -> &'static str {
        match self {
            Source::Registry => "registry",
            Source::Reviews => "reviews",
        }
    }

    fn measures(self) -> &'static [&'static str] {
        match self {
            Source::Registry => &[
                "entity_new",
                "entity_closed",
                "outlet_new",
                "outlet_closed",
                "penalty",
                "designation:inclusive",
                "designation:leader",
                "designation:demonstration",
                "designation:star",
                "designation:a_grade",
                "designation:time_honoured",
            ],
            Source::Reviews => &[
                "review_n",
                "review_rating_sum",
                "review_bad",
                "case_opened",
                "case_rectified",
                "case_followed",
                "case_escalated",
            ],
        }
    }

    /// A cheap value that changes whenever the source's data does.
    async fn fingerprint(self, db: &Db) -> anyhow::Result<String> {
        Ok(match self {
            Source::Registry => {
                let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
                    .fetch_one(db.pool())
                    .await?;
                format!("seq{seq}")
            }
            Source::Reviews => {
                let row = sqlx::query(
                    "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n, CAST(COALESCE(SUM(rating_sum), 0) AS BIGINT) AS s, CAST(COALESCE(SUM(bad), 0) AS BIGINT) AS b, \
                     CAST(COALESCE(SUM(cases), 0) AS BIGINT) AS c, CAST(COALESCE(SUM(rectified), 0) AS BIGINT) AS r, \
                     CAST(COALESCE(SUM(followed), 0) AS BIGINT) AS f FROM quality_totals WHERE scope = 'county'",
                )
                .fetch_one(db.pool())
                .await?;
                let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM reviews")
                    .fetch_one(db.pool())
                    .await?;
                let mut parts = vec![format!("id{max}")];
                for column in ["n", "s", "b", "c", "r", "f"] {
                    parts.push(row.try_get::<i64, _>(column)?.to_string());
                }
                parts.push(escalations(db).await?);
                parts.join(":")
            }
        })
    }

    /// `(measure, SQL)`: each query yields `county, category, period, value`
    /// at the finest grain, with the records' own (possibly retired) codes.
    fn queries(self) -> Vec<(&'static str, String)> {
        // An entity is classified by its first outlet's service type, as NBS
        // classifies a unit by its main activity; one without outlets is
        // counted in the all-categories totals only.
        const PRIMARY: &str = "WITH prim AS (SELECT o.entity_id, o.service_type FROM outlets o \
             JOIN (SELECT entity_id, MIN(id) AS id FROM outlets GROUP BY entity_id) f ON f.id = o.id)";
        let entity = |period: &str, filter: &str| {
            format!(
                "{PRIMARY} SELECT substr(e.division_code, 1, 6) AS county, COALESCE(p.service_type, '') AS category, \
                 {period} AS period, COUNT(*) AS value FROM entities e LEFT JOIN prim p ON p.entity_id = e.id \
                 {filter} GROUP BY substr(e.division_code, 1, 6), COALESCE(p.service_type, ''), {period}"
            )
        };
        let outlet = |period: &str, filter: &str| {
            format!(
                "SELECT o.county_code AS county, o.service_type AS category, {period} AS period, COUNT(*) AS value \
                 FROM outlets o {filter} GROUP BY o.county_code, o.service_type, {period}"
            )
        };
        match self {
            Source::Registry => {
                let mut queries = vec![
                    (
                        "entity_new",
                        entity("COALESCE(substr(e.established, 1, 7), '0000-00')", ""),
                    ),
                    (
                        "entity_closed",
                        entity(
                            "COALESCE(substr(e.closed_on, 1, 7), substr(e.updated_at, 1, 7))",
                            "WHERE e.status <> 'active'",
                        ),
                    ),
                    (
                        "outlet_new",
                        outlet(
                            "COALESCE(substr(o.opened_on, 1, 7), substr(o.created_at, 1, 7))",
                            "",
                        ),
                    ),
                    (
                        "outlet_closed",
                        outlet(
                            "COALESCE(substr(o.closed_on, 1, 7), substr(o.updated_at, 1, 7))",
                            "WHERE o.status = 'closed'",
                        ),
                    ),
                    (
                        "penalty",
                        format!(
                            "{PRIMARY} SELECT substr(e.division_code, 1, 6) AS county, COALESCE(p.service_type, '') AS category, \
                             COALESCE(substr(r.decision_date, 1, 7), '0000-00') AS period, COUNT(*) AS value \
                             FROM credit_records r JOIN entities e ON e.id = r.entity_id LEFT JOIN prim p ON p.entity_id = e.id \
                             WHERE r.kind = 'penalty' AND r.state <> 'withdrawn' \
                             GROUP BY substr(e.division_code, 1, 6), COALESCE(p.service_type, ''), COALESCE(substr(r.decision_date, 1, 7), '0000-00')"
                        ),
                    ),
                ];
                for m in Source::Registry.measures() {
                    if let Some(kind) = m.strip_prefix("designation:") {
                        queries.push((
                            m,
                            format!(
                                "SELECT o.county_code AS county, o.service_type AS category, \
                                 COALESCE(substr(d.granted_on, 1, 7), '0000-00') AS period, COUNT(*) AS value \
                                 FROM designations d JOIN outlets o ON o.id = d.outlet_id WHERE d.kind = '{kind}' \
                                 GROUP BY o.county_code, o.service_type, COALESCE(substr(d.granted_on, 1, 7), '0000-00')"
                            ),
                        ));
                    }
                }
                queries
            }
            Source::Reviews => {
                let review = |value: &str, filter: &str| {
                    format!(
                        "SELECT county_code AS county, service_type AS category, substr(created_at, 1, 7) AS period, \
                         {value} AS value FROM reviews WHERE status = 'published' {filter} \
                         GROUP BY county_code, service_type, substr(created_at, 1, 7)"
                    )
                };
                let case = |filter: &str| {
                    format!(
                        "SELECT county_code AS county, service_type AS category, substr(opened_on, 1, 7) AS period, \
                         COUNT(*) AS value FROM review_cases WHERE status <> 'withdrawn' {filter} \
                         GROUP BY county_code, service_type, substr(opened_on, 1, 7)"
                    )
                };
                vec![
                    ("review_n", review("COUNT(*)", "")),
                    (
                        "review_rating_sum",
                        review("CAST(SUM(rating) AS BIGINT)", ""),
                    ),
                    ("review_bad", review("COUNT(*)", "AND rating <= 2")),
                    ("case_opened", case("")),
                    (
                        "case_rectified",
                        case("AND status IN ('rectified', 'closed')"),
                    ),
                    ("case_followed", case("AND followed_on IS NOT NULL")),
                    ("case_escalated", case("AND escalated_on IS NOT NULL")),
                ]
            }
        }
    }
}

/// Escalation stamps a case without touching the quality totals, and never
/// goes back: the latest escalation day and how many cases carry it move
/// with every escalation, read from the index in two seeks.
async fn escalations(db: &Db) -> anyhow::Result<String> {
    let day: Option<String> = sqlx::query_scalar("SELECT MAX(escalated_on) FROM review_cases")
        .fetch_one(db.pool())
        .await?;
    let Some(day) = day else {
        return Ok("esc0".into());
    };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_cases WHERE escalated_on = $1")
        .bind(day.clone())
        .fetch_one(db.pool())
        .await?;
    Ok(format!("esc{day}/{n}"))
}

/// `(measure, division, category, period)`.
type Key = (&'static str, String, String, String);

/// Groups the source's records and rolls them up: every fine cell adds to
/// its county, city and province, each for its service type, its major
/// category and all categories. Retired county codes (区划调整) are counted
/// under their current successor.
async fn compute(db: &Db, source: Source) -> anyhow::Result<HashMap<Key, i64>> {
    let mut cells: HashMap<Key, i64> = HashMap::new();
    for (measure, sql) in source.queries() {
        let rows = sqlx::query(&sql).fetch_all(db.pool()).await?;
        for row in rows {
            let county: String = row.try_get("county")?;
            let category: String = row.try_get("category")?;
            let period: String = row.try_get("period")?;
            let value: i64 = row.try_get("value")?;
            if county.len() != 6 || !county.starts_with("14") {
                continue;
            }
            let county = current_county(&county);
            let mut categories = vec![String::new()];
            if category.len() == 4 {
                categories.push(category[..2].to_string());
                categories.push(category);
            }
            for division in [county, &county[..4], &county[..2]] {
                for c in &categories {
                    *cells
                        .entry((measure, division.to_string(), c.clone(), period.clone()))
                        .or_default() += value;
                }
            }
        }
    }
    Ok(cells)
}

/// Rows per INSERT while writing cells.
const WRITE_ROWS: usize = 500;

/// Replaces the source's cells in one transaction, claimed in `job_runs`
/// under the fingerprint so that one process builds each data state.
async fn swap(
    db: &Db,
    source: Source,
    fingerprint: &str,
    cells: &HashMap<Key, i64>,
    millis: i64,
) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let period = format!("{}:{fingerprint}", source.name());
    if !crate::jobs::claim(&mut tx, db.backend(), "stats_cube", &period).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    let measures = source.measures();
    let sql = format!(
        "DELETE FROM stat_cells WHERE measure IN {}",
        placeholders(db.backend(), 1, measures.len())
    );
    let mut delete = sqlx::query(&sql);
    for m in measures {
        delete = delete.bind(m.to_string());
    }
    delete.execute(&mut *tx).await?;
    let rows: Vec<(&Key, &i64)> = cells.iter().collect();
    for chunk in rows.chunks(WRITE_ROWS) {
        let sql = format!(
            "INSERT INTO stat_cells (measure, division_code, category, period, value) VALUES {}",
            placeholders(db.backend(), chunk.len(), 5)
        );
        let mut insert = sqlx::query(&sql);
        for ((measure, division, category, period), value) in chunk {
            insert = insert
                .bind(measure.to_string())
                .bind(division.clone())
                .bind(category.clone())
                .bind(period.clone())
                .bind(**value);
        }
        insert.execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO stat_sources (source, fingerprint, built_at, millis) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (source) DO UPDATE SET fingerprint = excluded.fingerprint, built_at = excluded.built_at, millis = excluded.millis",
    )
        .bind(source.name())
        .bind(fingerprint.to_string())
        .bind(crate::time::now_text())
        .bind(millis)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// What the cube was built from, per source.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Freshness {
    pub source: &'static str,
    pub built_at: Option<String>,
    /// Whether the data has moved since (a rebuild is due).
    pub stale: bool,
    /// How long the last build took.
    pub millis: Option<i64>,
}

pub async fn freshness(db: &Db) -> anyhow::Result<Vec<Freshness>> {
    let mut out = Vec::new();
    for source in Source::ALL {
        let row =
            sqlx::query("SELECT fingerprint, built_at, millis FROM stat_sources WHERE source = $1")
                .bind(source.name())
                .fetch_optional(db.pool())
                .await?;
        let current = source.fingerprint(db).await?;
        out.push(match row {
            Some(r) => Freshness {
                source: source.name(),
                stale: r.try_get::<String, _>("fingerprint")? != current,
                built_at: Some(r.try_get("built_at")?),
                millis: Some(r.try_get("millis")?),
            },
            None => Freshness {
                source: source.name(),
                built_at: None,
                stale: true,
                millis: None,
            },
        });
    }
    Ok(out)
}

/// Rebuilds every source whose data moved; returns the sources rebuilt here.
pub async fn refresh(db: &Db) -> anyhow::Result<Vec<&'static str>> {
    let mut rebuilt = Vec::new();
    for f in freshness(db).await? {
        if !f.stale {
            continue;
        }
        let source = Source::ALL
            .into_iter()
            .find(|s| s.name() == f.source)
            .expect("known source");
        // Fingerprint first: writes landing during the build move it again,
        // so they are picked up by the next round rather than lost.
        let fingerprint = source.fingerprint(db).await?;
        let started = Instant::now();
        let cells = compute(db, source).await?;
        let millis = started.elapsed().as_millis() as i64;
        if swap(db, source, &fingerprint, &cells, millis).await? {
            tracing::info!(
                source = source.name(),
                cells = cells.len(),
                millis,
                "statistics rebuilt"
            );
            rebuilt.push(source.name());
        }
    }
    Ok(rebuilt)
}

/// Keeps the cube current: checks the fingerprints every few seconds (two
/// indexed reads) and rebuilds what moved.
pub fn spawn_refresher(db: Db) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = refresh(&db).await {
                tracing::warn!(error = %e, "statistics refresh failed");
            }
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        }
    });
}

/// Monthly values of `measures` for one division and category:
/// measure → period → value.
pub type Monthly = HashMap<String, std::collections::BTreeMap<String, i64>>;

pub async fn monthly(
    db: &Db,
    division: &str,
    category: &str,
    measures: &[&str],
) -> anyhow::Result<Monthly> {
    let sql = format!(
        "SELECT measure, period, value FROM stat_cells WHERE division_code = $1 AND category = $2 AND measure IN {}",
        in_list(3, measures.len())
    );
    let mut q = sqlx::query(&sql)
        .bind(division.to_string())
        .bind(category.to_string());
    for m in measures {
        q = q.bind(m.to_string());
    }
    let mut out = Monthly::new();
    for row in q.fetch_all(db.pool()).await? {
        out.entry(row.try_get("measure")?)
            .or_default()
            .insert(row.try_get("period")?, row.try_get("value")?);
    }
    Ok(out)
}

/// Per child division (counties of a city or the province, or cities) and
/// measure: the sum up to `end` and the sum within `[start, end]`.
pub async fn by_division(
    db: &Db,
    area: &str,
    child_len: usize,
    category: &str,
    measures: &[&str],
    (start, end): (&str, &str),
) -> anyhow::Result<HashMap<(String, String), (i64, i64)>> {
    let sql = format!(
        "SELECT division_code, measure, CAST(SUM(CASE WHEN period <= $1 THEN value ELSE 0 END) AS BIGINT) AS upto, \
         CAST(SUM(CASE WHEN period >= $2 AND period <= $1 THEN value ELSE 0 END) AS BIGINT) AS within FROM stat_cells \
         WHERE division_code >= $3 AND division_code < $6 AND length(division_code) = $4 AND category = $5 AND measure IN {} \
         GROUP BY division_code, measure",
        in_list(7, measures.len())
    );
    // A key range rather than LIKE 'area%': it walks the primary key on both
    // backends (SQLite's LIKE is case-insensitive and cannot).
    let mut q = sqlx::query(&sql)
        .bind(end.to_string())
        .bind(start.to_string())
        .bind(area.to_string())
        .bind(child_len as i64)
        .bind(category.to_string())
        .bind(prefix_end(area));
    for m in measures {
        q = q.bind(m.to_string());
    }
    let mut out = HashMap::new();
    for row in q.fetch_all(db.pool()).await? {
        out.insert(
            (row.try_get("division_code")?, row.try_get("measure")?),
            (row.try_get("upto")?, row.try_get("within")?),
        );
    }
    Ok(out)
}

/// Per category of `categories` in a division: the sum up to `end` and
/// within `[start, end]` of one measure.
pub async fn by_category(
    db: &Db,
    division: &str,
    measure: &str,
    categories: &[String],
    (start, end): (&str, &str),
) -> anyhow::Result<HashMap<String, (i64, i64)>> {
    // The categories listed, not `length(category) = 2`: with the key
    // (measure, category, division) each is one seek, where a filter on the
    // category's length made SQLite read every cell of the measure.
    let sql = format!(
        "SELECT category, CAST(SUM(CASE WHEN period <= $1 THEN value ELSE 0 END) AS BIGINT) AS upto, \
         CAST(SUM(CASE WHEN period >= $2 AND period <= $1 THEN value ELSE 0 END) AS BIGINT) AS within FROM stat_cells \
         WHERE measure = $3 AND division_code = $4 AND category IN {} GROUP BY category",
        in_list(5, categories.len())
    );
    let mut q = sqlx::query(&sql)
        .bind(end.to_string())
        .bind(start.to_string())
        .bind(measure.to_string())
        .bind(division.to_string());
    for c in categories {
        q = q.bind(c.clone());
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("category")?,
                (r.try_get("upto")?, r.try_get("within")?),
            ))
        })
        .collect()
}

/// The first string after every string that starts with `prefix` (codes
/// are ASCII digits).
fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    String::from_utf8(bytes).expect("ASCII code")
}
