//! Group commit of review submissions.
//!
//! A submission is validated and rate-limited by its own request, then waits
//! here. One writer task per process takes every submission waiting (up to
//! [`MAX_BATCH`]) and writes them in one transaction with a fixed number of
//! statements: outlet, occasion and receipt checks, the moderation history,
//! the insert, the receipt claims, the running totals and cases, the audit
//! entries. Each statement is a round trip (on SQLite to sqlx's worker thread,
//! every wake-up queued behind a busy runtime), so paying them once per batch
//! instead of once per review is what lets submissions keep pace with load.
//! The writer keeps one connection (`Db::writer_connection`), so the pages of
//! the indexes it reads stay in that connection's cache between batches.
//!
//! Moderation still judges the batch's reviews one after another, in arrival
//! order, against the stored history plus the batch's earlier reviews: the
//! outcome is the one they would have had in separate transactions.
//! A batch that fails as a whole (a database error, not a refusal) is written
//! again review by review, so that only the review that causes it fails.

use super::ReviewConfig;
use super::api::{one_per_occasion, outlet_closed, receipt_used};
use super::store::{self, OutletRef, ReviewFacts, ReviewView};
use crate::error::{AppError, AppResult};
use crate::storage::{Backend, Db, WriterConnection, in_list, placeholders};
use futures_util::FutureExt;
use lifeservice_domain::review::{Rating, SHINGLE_K, Shingles, shingles, similar_shingles};
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock, RwLock};
use tokio::sync::{mpsc, oneshot};

/// The most submissions written in one transaction (the insert binds 14
/// values a review, well inside either database's parameter limit).
pub const MAX_BATCH: usize = 64;

/// Joins texts read back in one column; review text never holds control
/// characters (`validate_text`), so it cannot hold this one.
const TEXT_SEPARATOR: char = '\u{1f}';

/// A validated submission, ready to be written.
pub struct Draft {
    pub outlet: OutletRef,
    pub reviewer_id: i64,
    pub pseudonym: String,
    /// `receipt:CODE` or `date:YYYY-MM-DD`: one review per occasion.
    pub occasion: String,
    pub rating: Rating,
    /// Aspect code → 1..5, as a JSON object.
    pub aspects: serde_json::Value,
    pub text: String,
    pub receipt: Option<String>,
    pub channel: &'static str,
    pub ip: String,
}

struct Pending {
    draft: Draft,
    done: oneshot::Sender<AppResult<ReviewView>>,
}

/// The queue in front of the process's review writer, started on first use.
#[derive(Clone, Default)]
pub struct Queue(Arc<OnceLock<mpsc::Sender<Pending>>>);

impl Queue {
    /// Writes a submission with whichever others are waiting, and returns it
    /// as stored, or why it was refused.
    pub async fn submit(
        &self,
        db: &Db,
        config: &Arc<RwLock<Arc<ReviewConfig>>>,
        draft: Draft,
    ) -> AppResult<ReviewView> {
        let writer = self
            .0
            .get_or_init(|| spawn_writer(db.clone(), Arc::clone(config)));
        let (done, answer) = oneshot::channel();
        let stopped = || AppError::Internal(anyhow::anyhow!("the review writer has stopped"));
        writer
            .send(Pending { draft, done })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn spawn_writer(db: Db, config: Arc<RwLock<Arc<ReviewConfig>>>) -> mpsc::Sender<Pending> {
    let (sender, mut waiting) = mpsc::channel::<Pending>(MAX_BATCH * 16);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut conn: Option<WriterConnection> = None;
        while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let batch = std::mem::take(&mut batch);
            if conn.as_ref().is_none_or(WriterConnection::is_stale) {
                conn = None;
                match db.writer_connection().await {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        for p in batch {
                            let _ = p.done.send(Err(AppError::Internal(anyhow::anyhow!("{e}"))));
                        }
                        continue;
                    }
                }
            }
            let config = config.read().expect("config lock").clone();
            let writer = conn.as_mut().expect("a writer connection");
            if !write(&db, writer, &config, batch).await {
                // The failure may have been the connection's own: take another.
                conn = None;
            }
        }
    });
    sender
}

/// Writes a batch and answers each submission; false if the batch as a whole failed.
async fn write(
    db: &Db,
    conn: &mut WriterConnection,
    config: &ReviewConfig,
    batch: Vec<Pending>,
) -> bool {
    let (drafts, dones): (Vec<Draft>, Vec<_>) =
        batch.into_iter().map(|p| (p.draft, p.done)).unzip();
    let (results, whole) = match attempt(db, conn, config, &drafts).await {
        Ok(results) => (results, true),
        Err(e) if drafts.len() == 1 => (vec![Err(e)], false),
        Err(e) => {
            tracing::warn!(error = %e, reviews = drafts.len(), "review batch failed; writing its reviews one by one");
            let mut results = Vec::with_capacity(drafts.len());
            for draft in &drafts {
                results.push(
                    match attempt(db, conn, config, std::slice::from_ref(draft)).await {
                        Ok(mut one) => one.pop().expect("one result per draft"),
                        Err(e) => Err(e),
                    },
                );
            }
            (results, false)
        }
    };
    for (done, result) in dones.into_iter().zip(results) {
        // The request may have gone away; its review is stored all the same.
        let _ = done.send(result);
    }
    whole
}

/// One transaction for `drafts`; a panic rolls it back like an error.
async fn attempt(
    db: &Db,
    conn: &mut WriterConnection,
    config: &ReviewConfig,
    drafts: &[Draft],
) -> AppResult<Vec<AppResult<ReviewView>>> {
    AssertUnwindSafe(write_batch(db, conn, config, drafts))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(AppError::Internal(anyhow::anyhow!(
                "review writer panicked"
            )))
        })
}

async fn write_batch(
    db: &Db,
    conn: &mut WriterConnection,
    config: &ReviewConfig,
    drafts: &[Draft],
) -> AppResult<Vec<AppResult<ReviewView>>> {
    let mut tx = db.begin_write_on(conn).await?;
    if db.backend() == Backend::Postgres {
        take_turns(&mut tx, drafts).await?;
    }
    let mut refusals = refusals(&mut tx, drafts).await?;
    let mut history = History::read(
        &mut tx,
        config,
        drafts
            .iter()
            .zip(&refusals)
            .filter(|(_, refused)| refused.is_none())
            .map(|(d, _)| d),
    )
    .await?;
    let mut accepted: Vec<(usize, Option<String>)> = Vec::new();
    let mut occasions = HashSet::new();
    let mut receipts = HashSet::new();
    for (i, d) in drafts.iter().enumerate() {
        if refusals[i].is_some() {
            continue;
        }
        if !occasions.insert((d.reviewer_id, d.outlet.id, d.occasion.as_str())) {
            refusals[i] = Some(one_per_occasion());
        } else if d
            .receipt
            .as_ref()
            .is_some_and(|r| !receipts.insert(r.as_str()))
        {
            refusals[i] = Some(receipt_used());
        } else {
            accepted.push((i, history.judge(config, d)));
        }
    }

    let now = crate::time::now_text();
    let today = crate::time::today();
    let ids = insert(&mut tx, drafts, &accepted, &now).await?;
    claim_receipts(&mut tx, drafts, &accepted, &ids).await?;
    let facts: Vec<ReviewFacts> = accepted
        .iter()
        .zip(&ids)
        .map(|((i, hold), id)| {
            let d = &drafts[*i];
            ReviewFacts {
                id: *id,
                outlet_id: d.outlet.id,
                reviewer_id: d.reviewer_id,
                rating: i64::from(d.rating.value()),
                status: status_of(hold).to_string(),
                service_type: d.outlet.service_type.clone(),
                county_code: d.outlet.county_code.clone(),
                has_reply: false,
            }
        })
        .collect();
    let published: Vec<(&ReviewFacts, i64)> = facts
        .iter()
        .zip(&accepted)
        .filter(|(_, (_, hold))| hold.is_none())
        .map(|(f, (i, _))| (f, drafts[*i].outlet.entity_id))
        .collect();
    let cases = store::publish_all(&mut tx, config, &published, today).await?;
    let case_of: HashMap<i64, i64> = published
        .iter()
        .zip(cases)
        .filter_map(|((f, _), case)| Some((f.id, case?)))
        .collect();
    let mut views: HashMap<usize, ReviewView> = HashMap::new();
    let mut records = Vec::with_capacity(accepted.len());
    for ((i, hold), id) in accepted.iter().zip(&ids) {
        let view = view_of(&drafts[*i], *id, hold, &now, case_of.get(id).copied());
        records.push(crate::audit::Record {
            actor: format!("reviewer:{}", drafts[*i].reviewer_id),
            action: "create",
            object_type: "review",
            object_id: id.to_string(),
            before: None,
            after: Some(serde_json::to_value(&view).unwrap_or(serde_json::Value::Null)),
        });
        views.insert(*i, view);
    }
    crate::audit::record_all(&mut tx, &records).await?;
    tx.commit().await?;
    Ok(refusals
        .into_iter()
        .enumerate()
        .map(|(i, refused)| match refused {
            Some(e) => Err(e),
            None => Ok(views.remove(&i).expect("a view for every accepted review")),
        })
        .collect())
}

fn status_of(hold: &Option<String>) -> &'static str {
    if hold.is_some() { "held" } else { "published" }
}

/// On PostgreSQL, whose writers run side by side, submissions to the same
/// outlet or by the same reviewer take turns: each batch locks its outlets'
/// and reviewers' keys in one global order (`review-outlet:` sorts before
/// `reviewer:`), so two batches never wait on each other in a cycle.
async fn take_turns(conn: &mut AnyConnection, drafts: &[Draft]) -> AppResult<()> {
    let mut keys: Vec<String> = drafts
        .iter()
        .flat_map(|d| {
            [
                format!("review-outlet:{}", d.outlet.id),
                format!("reviewer:{}", d.reviewer_id),
            ]
        })
        .collect();
    keys.sort();
    keys.dedup();
    let sql = format!(
        "SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext(k)) FROM (VALUES {}) AS t(k)",
        placeholders(Backend::Postgres, keys.len(), 1)
    );
    let mut q = sqlx::query(&sql);
    for k in keys {
        q = q.bind(k);
    }
    q.execute(conn).await?;
    Ok(())
}

/// What the stored state refuses, checked under the write lock: a closed
/// outlet, an occasion already reviewed, a receipt already used.
async fn refusals(conn: &mut AnyConnection, drafts: &[Draft]) -> AppResult<Vec<Option<AppError>>> {
    let mut outlets: Vec<i64> = drafts.iter().map(|d| d.outlet.id).collect();
    outlets.sort_unstable();
    outlets.dedup();
    let sql = format!(
        "SELECT id FROM outlets WHERE status = 'open' AND id IN {}",
        in_list(1, outlets.len())
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql);
    for id in &outlets {
        q = q.bind(*id);
    }
    let open: HashSet<i64> = q.fetch_all(&mut *conn).await?.into_iter().collect();

    let terms: Vec<String> = (0..drafts.len())
        .map(|i| {
            let p = 3 * i + 1;
            format!(
                "(reviewer_id = ${p} AND outlet_id = ${} AND occasion = ${})",
                p + 1,
                p + 2
            )
        })
        .collect();
    let sql = format!(
        "SELECT reviewer_id, outlet_id, occasion FROM reviews WHERE {}",
        terms.join(" OR ")
    );
    let mut q = sqlx::query(&sql);
    for d in drafts {
        q = q
            .bind(d.reviewer_id)
            .bind(d.outlet.id)
            .bind(d.occasion.clone());
    }
    let mut taken = HashSet::new();
    for row in q.fetch_all(&mut *conn).await? {
        taken.insert((
            row.try_get::<i64, _>("reviewer_id")?,
            row.try_get::<i64, _>("outlet_id")?,
            row.try_get::<String, _>("occasion")?,
        ));
    }

    let codes: Vec<&str> = drafts.iter().filter_map(|d| d.receipt.as_deref()).collect();
    let mut used = HashSet::new();
    if !codes.is_empty() {
        let sql = format!(
            "SELECT code FROM review_receipts WHERE review_id IS NOT NULL AND code IN {}",
            in_list(1, codes.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for code in &codes {
            q = q.bind(code.to_string());
        }
        used.extend(q.fetch_all(&mut *conn).await?);
    }

    Ok(drafts
        .iter()
        .map(|d| {
            if !open.contains(&d.outlet.id) {
                Some(outlet_closed())
            } else if taken.contains(&(d.reviewer_id, d.outlet.id, d.occasion.clone())) {
                Some(one_per_occasion())
            } else if d.receipt.as_ref().is_some_and(|r| used.contains(r)) {
                Some(receipt_used())
            } else {
                None
            }
        })
        .collect())
}

/// What moderation compares a new review with: the latest texts of its outlet
/// and of its reviewer, and the outlet's reviews in the burst window and the
/// baseline before it. Reviews accepted earlier in the batch join it.
struct History {
    window: usize,
    /// Newest first, as shingle sets.
    outlet_texts: HashMap<i64, Vec<Shingles>>,
    reviewer_texts: HashMap<i64, Vec<Shingles>>,
    /// Outlet → (reviews in the burst window, reviews in the baseline).
    counts: HashMap<i64, (i64, i64)>,
}

impl History {
    /// One round trip: per outlet its latest texts and one counting row, per
    /// reviewer their latest texts.
    async fn read<'a>(
        conn: &mut AnyConnection,
        config: &ReviewConfig,
        drafts: impl Iterator<Item = &'a Draft>,
    ) -> AppResult<History> {
        let mut outlets = Vec::new();
        let mut reviewers = Vec::new();
        for d in drafts {
            outlets.push(d.outlet.id);
            reviewers.push(d.reviewer_id);
        }
        for keys in [&mut outlets, &mut reviewers] {
            keys.sort_unstable();
            keys.dedup();
        }
        let mut history = History {
            window: usize::try_from(config.duplicate_window).unwrap_or(0),
            outlet_texts: HashMap::new(),
            reviewer_texts: HashMap::new(),
            counts: HashMap::new(),
        };
        if outlets.is_empty() {
            return Ok(history);
        }
        // One row per outlet and per reviewer, the texts joined newest first
        // (rows, not statements, are what cost here: each crosses from the
        // database by itself). $1 the window, $2 the separator, $3 the burst
        // window's start, $4 the baseline's start.
        let latest = |column: &str, p: usize| {
            format!(
                "(SELECT string_agg(body, $2 ORDER BY id DESC) AS texts FROM \
                 (SELECT id, body FROM reviews WHERE {column} = ${p} ORDER BY id DESC LIMIT $1) l) t"
            )
        };
        let mut members = Vec::new();
        for k in 0..outlets.len() {
            let p = k + 5;
            members.push(format!(
                "SELECT 'o' AS kind, CAST(${p} AS BIGINT) AS owner, t.texts, c.recent, c.baseline FROM {}, \
                 (SELECT COALESCE(SUM(CASE WHEN created_at >= $3 THEN 1 ELSE 0 END), 0) AS recent, \
                 COALESCE(SUM(CASE WHEN created_at < $3 THEN 1 ELSE 0 END), 0) AS baseline \
                 FROM reviews WHERE outlet_id = ${p} AND created_at >= $4) c",
                latest("outlet_id", p)
            ));
        }
        for k in 0..reviewers.len() {
            let p = k + 5 + outlets.len();
            members.push(format!(
                "SELECT 'r', CAST(${p} AS BIGINT), t.texts, 0, 0 FROM {}",
                latest("reviewer_id", p)
            ));
        }
        let (window_start, baseline_start) = burst_window_starts(config);
        let sql = members.join(" UNION ALL ");
        let mut q = sqlx::query(&sql)
            .bind(config.duplicate_window)
            .bind(TEXT_SEPARATOR.to_string())
            .bind(window_start)
            .bind(baseline_start);
        for key in outlets.iter().chain(&reviewers) {
            q = q.bind(*key);
        }
        for row in q.fetch_all(conn).await? {
            let owner: i64 = row.try_get("owner")?;
            let texts: Vec<Shingles> = row
                .try_get::<Option<String>, _>("texts")?
                .unwrap_or_default()
                .split(TEXT_SEPARATOR)
                .filter(|t| !t.is_empty())
                .map(|t| shingles(t, SHINGLE_K))
                .collect();
            if row.try_get::<String, _>("kind")? == "o" {
                history
                    .counts
                    .insert(owner, (row.try_get("recent")?, row.try_get("baseline")?));
                history.outlet_texts.insert(owner, texts);
            } else {
                history.reviewer_texts.insert(owner, texts);
            }
        }
        Ok(history)
    }

    /// Why `d` must wait for a moderator, if it must; then counts `d` in the
    /// history of the reviews after it.
    fn judge(&mut self, config: &ReviewConfig, d: &Draft) -> Option<String> {
        let outlet_texts = self.outlet_texts.entry(d.outlet.id).or_default();
        let own_texts = self.reviewer_texts.entry(d.reviewer_id).or_default();
        let (recent, baseline) = self.counts.entry(d.outlet.id).or_default();
        let text = shingles(&d.text, SHINGLE_K);
        let hold = if outlet_texts
            .iter()
            .chain(own_texts.iter())
            .any(|t| similar_shingles(t, &text))
        {
            Some("疑似重复内容".to_string())
        } else if config.burst.is_burst(*recent as u64 + 1, *baseline as u64) {
            Some("评价量突增，待人工审核".to_string())
        } else {
            None
        };
        for texts in [outlet_texts, own_texts] {
            texts.insert(0, text.clone());
            texts.truncate(self.window);
        }
        *recent += 1;
        hold
    }
}

/// When the burst window and the baseline before it begin, as stored times.
fn burst_window_starts(config: &ReviewConfig) -> (String, String) {
    let window_start =
        crate::time::now() - chrono::Duration::hours(i64::from(config.burst.window_hours));
    let baseline_start =
        window_start - chrono::Duration::days(i64::from(config.burst.baseline_days));
    let stored =
        |t: chrono::DateTime<chrono::FixedOffset>| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    (stored(window_start), stored(baseline_start))
}

/// Inserts the accepted reviews; returns their ids in the order of `accepted`.
async fn insert(
    conn: &mut AnyConnection,
    drafts: &[Draft],
    accepted: &[(usize, Option<String>)],
    now: &str,
) -> AppResult<Vec<i64>> {
    if accepted.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "INSERT INTO reviews (outlet_id, reviewer_id, occasion, rating, aspects_json, body, verified, channel, status, hold_reason, service_type, county_code, ip, created_at) \
         VALUES {} RETURNING id, reviewer_id, outlet_id, occasion",
        placeholders(Backend::of(conn), accepted.len(), 14)
    );
    let mut q = sqlx::query(&sql);
    for (i, hold) in accepted {
        let d = &drafts[*i];
        q = q
            .bind(d.outlet.id)
            .bind(d.reviewer_id)
            .bind(d.occasion.clone())
            .bind(i64::from(d.rating.value()))
            .bind(d.aspects.to_string())
            .bind(d.text.clone())
            .bind(i64::from(d.receipt.is_some()))
            .bind(d.channel)
            .bind(status_of(hold))
            .bind(hold.clone())
            .bind(d.outlet.service_type.clone())
            .bind(d.outlet.county_code.clone())
            .bind(d.ip.clone())
            .bind(now.to_string());
    }
    // Matched by the natural key: neither database promises RETURNING's order.
    let mut id_of = HashMap::new();
    for row in q.fetch_all(&mut *conn).await? {
        id_of.insert(
            (
                row.try_get::<i64, _>("reviewer_id")?,
                row.try_get::<i64, _>("outlet_id")?,
                row.try_get::<String, _>("occasion")?,
            ),
            row.try_get::<i64, _>("id")?,
        );
    }
    accepted
        .iter()
        .map(|(i, _)| {
            let d = &drafts[*i];
            id_of
                .get(&(d.reviewer_id, d.outlet.id, d.occasion.clone()))
                .copied()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("inserted review not returned")))
        })
        .collect()
}

/// Marks the accepted reviews' receipts used, in one statement.
async fn claim_receipts(
    conn: &mut AnyConnection,
    drafts: &[Draft],
    accepted: &[(usize, Option<String>)],
    ids: &[i64],
) -> AppResult<()> {
    let claims: Vec<(&str, i64)> = accepted
        .iter()
        .zip(ids)
        .filter_map(|((i, _), id)| Some((drafts[*i].receipt.as_deref()?, *id)))
        .collect();
    if claims.is_empty() {
        return Ok(());
    }
    let whens: Vec<String> = (0..claims.len())
        .map(|k| format!("WHEN ${} THEN CAST(${} AS BIGINT)", 2 * k + 1, 2 * k + 2))
        .collect();
    let sql = format!(
        "UPDATE review_receipts SET review_id = CASE code {} END WHERE review_id IS NULL AND code IN {}",
        whens.join(" "),
        in_list(2 * claims.len() + 1, claims.len())
    );
    let mut q = sqlx::query(&sql);
    for (code, id) in &claims {
        q = q.bind(code.to_string()).bind(*id);
    }
    for (code, _) in &claims {
        q = q.bind(code.to_string());
    }
    let claimed = q.execute(conn).await?.rows_affected();
    if claimed != claims.len() as u64 {
        // Checked above under the same lock; a mismatch fails the batch.
        return Err(receipt_used());
    }
    Ok(())
}

/// The stored review as `store::review_by_id` would read it back.
fn view_of(
    d: &Draft,
    id: i64,
    hold: &Option<String>,
    now: &str,
    case_id: Option<i64>,
) -> ReviewView {
    let rating = i64::from(d.rating.value());
    ReviewView {
        id,
        outlet_id: d.outlet.id,
        reviewer: d.pseudonym.clone(),
        rating,
        rating_zh: d.rating.zh().to_string(),
        bad: rating <= 2,
        aspects: d.aspects.clone(),
        text: super::store::shown_text(&d.text),
        verified: d.receipt.is_some(),
        channel: d.channel.to_string(),
        status: status_of(hold).to_string(),
        created_at: now.to_string(),
        reply: None,
        reply_at: None,
        status_reason: hold.clone(),
        case_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeservice_domain::review::BurstRule;

    fn draft(outlet: i64, reviewer: i64, text: &str) -> Draft {
        Draft {
            outlet: OutletRef {
                id: outlet,
                entity_id: 1,
                name: "网点".into(),
                service_type: "8010".into(),
                county_code: "140105".into(),
                division_code: "140105001001".into(),
                open: true,
            },
            reviewer_id: reviewer,
            pseudonym: "居民".into(),
            occasion: "date:2026-12-01".into(),
            rating: Rating::from_value(4).expect("a level"),
            aspects: serde_json::json!({}),
            text: text.into(),
            receipt: None,
            channel: "api",
            ip: "127.0.0.1".into(),
        }
    }

    fn history(window: usize) -> History {
        History {
            window,
            outlet_texts: HashMap::new(),
            reviewer_texts: HashMap::new(),
            counts: HashMap::new(),
        }
    }

    const LONG: &str = "这家店的服务非常好，员工态度热情，价格也很公道";
    const OTHER: &str = "师傅上门准时，修好了热水器，收费明白清楚";

    #[test]
    fn a_batch_is_judged_in_arrival_order() {
        let config = ReviewConfig {
            burst: BurstRule {
                min_count: 2,
                ..BurstRule::default()
            },
            ..ReviewConfig::default()
        };
        let mut h = history(50);
        // The same text from another reviewer, then a third review that
        // tips the outlet over the burst rule (more than two in the window).
        assert_eq!(h.judge(&config, &draft(1, 10, LONG)), None);
        assert_eq!(
            h.judge(&config, &draft(1, 11, LONG)).as_deref(),
            Some("疑似重复内容")
        );
        assert_eq!(
            h.judge(&config, &draft(1, 12, OTHER)).as_deref(),
            Some("评价量突增，待人工审核")
        );
        // Another outlet has its own window, but a reviewer's texts follow them.
        assert_eq!(
            h.judge(&config, &draft(2, 10, LONG)).as_deref(),
            Some("疑似重复内容")
        );
        assert_eq!(h.judge(&config, &draft(3, 13, LONG)), None);
    }

    #[test]
    fn stored_counts_and_the_window_carry_over() {
        let config = ReviewConfig::default();
        let mut h = history(1);
        h.counts.insert(1, (10, 0));
        assert_eq!(
            h.judge(&config, &draft(1, 10, LONG)).as_deref(),
            Some("评价量突增，待人工审核")
        );
        // A window of one: the text two reviews back is no longer compared.
        let mut h = history(1);
        assert_eq!(h.judge(&config, &draft(5, 20, LONG)), None);
        assert_eq!(h.judge(&config, &draft(5, 21, OTHER)), None);
        assert_eq!(h.judge(&config, &draft(5, 22, LONG)), None);
        let mut h = history(0);
        assert_eq!(h.judge(&config, &draft(6, 30, LONG)), None);
        assert_eq!(h.judge(&config, &draft(6, 31, LONG)), None);
    }
}
