//! Scheduled jobs, run exactly once per period however many app processes
//! share the database. One transaction claims `(job, period)` in
//! `job_runs` and does the job's writes: on
//! PostgreSQL a transaction-level advisory lock makes the other processes
//! skip at once instead of waiting, and the primary key on `job_runs` makes a
//! second run of a finished period impossible on either backend. A process
//! that dies mid-run rolls back, and the next one runs the period again.

use crate::storage::{Backend, Db};
use chrono::{DateTime, FixedOffset};
use sqlx::AnyConnection;
use std::time::Duration;

/// What a job did, for `job_runs.outcome` and the log.
pub type Outcome = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Penalties whose disclosure window has ended are stamped as changed, so
    /// that the incremental exchange export reports them as 停止公示 and the
    /// search index refreshes their providers.
    CreditExpiry,
    /// Rectification cases past their contact or rectify deadline are
    /// escalated to the responsible department (逾期升级督办).
    EscalateOverdue,
    /// Rate-limit counts of windows long ended are dropped.
    PurgeRateHits,
    /// Entries of the review feed a day old are dropped.
    PurgeReviewFeed,
}

impl Job {
    pub const ALL: &'static [Job] = &[
        Job::CreditExpiry,
        Job::EscalateOverdue,
        Job::PurgeRateHits,
        Job::PurgeReviewFeed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::CreditExpiry => "credit_expiry",
            Job::EscalateOverdue => "escalate_overdue",
            Job::PurgeRateHits => "purge_rate_hits",
            Job::PurgeReviewFeed => "purge_review_feed",
        }
    }

    async fn run(
        self,
        conn: &mut AnyConnection,
        now: DateTime<FixedOffset>,
    ) -> anyhow::Result<Outcome> {
        match self {
            Job::CreditExpiry => crate::credit::store::stamp_expired(conn, now).await,
            Job::EscalateOverdue => {
                let n = crate::reviews::store::escalate_overdue_on(conn, now.date_naive()).await?;
                Ok(format!("escalated {n} cases"))
            }
            Job::PurgeRateHits => {
                let n = crate::auth::purge_rate_hits(conn, now.timestamp()).await?;
                Ok(format!("dropped {n} counts"))
            }
            Job::PurgeReviewFeed => {
                let n = crate::reviews::store::purge_review_changes(conn, now.timestamp()).await?;
                Ok(format!("dropped {n} feed entries"))
            }
        }
    }
}

/// Did this call run the job (`Some(outcome)`), or had it run or was it
/// running elsewhere (`None`)?
pub async fn run_once(
    db: &Db,
    job: Job,
    period: &str,
    now: DateTime<FixedOffset>,
) -> anyhow::Result<Option<Outcome>> {
    let mut tx = db.begin_write().await?;
    if !claim(&mut tx, db.backend(), job.name(), period).await? {
        // Roll back now: a dropped transaction's ROLLBACK waits for the pooled
        // connection's next use, holding the advisory lock until then.
        tx.rollback().await?;
        return Ok(None);
    }
    let outcome = job.run(&mut tx, now).await?;
    sqlx::query(
        "UPDATE job_runs SET finished_at = $1, outcome = $2 WHERE job = $3 AND period = $4",
    )
    .bind(crate::time::now_text())
    .bind(outcome.clone())
    .bind(job.name())
    .bind(period.to_string())
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        "scheduler",
        "run",
        "job",
        &format!("{}:{period}", job.name()),
        None,
        Some(serde_json::json!({"outcome": outcome})),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(outcome))
}

/// Claims `(job, period)` for the transaction on `conn`: false when another
/// process holds or has finished it, and the caller must roll back.
pub async fn claim(
    conn: &mut AnyConnection,
    backend: Backend,
    job: &str,
    period: &str,
) -> anyhow::Result<bool> {
    if backend == Backend::Postgres {
        // Advisory locks are database-wide: keyed by schema as well, so that
        // sites sharing a database in separate schemas never block each other.
        let locked: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), hashtext($1))",
        )
        .bind(job.to_string())
        .fetch_one(&mut *conn)
        .await?;
        if !locked {
            return Ok(false);
        }
    }
    // The claim is the transaction's first write: SQLite takes its writer
    // lock here (waiting out the busy timeout), and a concurrent claim of the
    // same period on PostgreSQL waits for this transaction's outcome.
    let claimed = sqlx::query(
        "INSERT INTO job_runs (job, period, finished_at, outcome) VALUES ($1, $2, $3, '') ON CONFLICT (job, period) DO NOTHING",
    )
    .bind(job.to_string())
    .bind(period.to_string())
    .bind(crate::time::now_text())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(claimed > 0)
}

/// Runs every job due today (daily jobs; the period is the Shanghai date).
pub async fn run_due(db: &Db) -> anyhow::Result<Vec<(Job, Outcome)>> {
    let now = crate::time::now();
    let mut ran = Vec::new();
    for job in Job::ALL {
        if let Some(outcome) = run_once(db, *job, &now.date_naive().to_string(), now).await? {
            ran.push((*job, outcome));
        }
    }
    Ok(ran)
}

/// Checks every minute for due jobs; refreshes planner statistics hourly.
pub fn spawn_scheduler(state: crate::app::AppState) {
    tokio::spawn(async move {
        // `Db::open` has just analyzed.
        let mut analyzed = std::time::Instant::now();
        loop {
            match crate::stats::releases::publish_due(&state).await {
                Ok(published) => {
                    for release in published {
                        tracing::info!(%release, "statistics release published");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "statistics releases failed"),
            }
            match run_due(&state.db).await {
                Ok(ran) => {
                    for (job, outcome) in ran {
                        tracing::info!(job = job.name(), %outcome, "scheduled job ran");
                    }
                    state.index_wakeup.notify_one();
                }
                Err(e) => tracing::warn!(error = %e, "scheduled jobs failed"),
            }
            if analyzed.elapsed() >= Duration::from_secs(3600) {
                analyzed = std::time::Instant::now();
                if let Err(e) = state.db.analyze().await {
                    tracing::warn!(error = %e, "planner statistics not refreshed");
                }
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
}
