//! The one storage layer both backends pass through.
//!
//! Feature code writes portable SQL with `$1`-style placeholders (both
//! SQLite and PostgreSQL accept them) against an [`sqlx::AnyPool`]; the few
//! places where dialects differ ask [`Db::backend`]. Migrations are embedded,
//! one folder per backend with matching numbers, applied at start.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Executor};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: whose turn it is to write (see [`Db::begin_write`]).
    write_turn: Option<Arc<tokio::sync::Mutex<()>>>,
    /// PostgreSQL: the server URL without our `schema=` parameter, and the
    /// schema, for connections outside the pool (LISTEN, COPY).
    postgres: Option<(String, Option<String>)>,
    /// SQLite: stops the WAL checkpointer when the last handle goes.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// Dropped with the last [`Db`] handle of a SQLite database: the
/// checkpointer then stops and lets go of its pool.
struct Checkpointer {
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Frames (pages) in the write-ahead log past which writers wait for the
/// checkpointer once, so that the log can start again from its beginning
/// (64 MiB at 4 KiB pages).
#[cfg(not(test))]
const RESTART_LOG_AFTER: i64 = 16_384;
#[cfg(test)]
const RESTART_LOG_AFTER: i64 = 128;

/// Before writers wait, checkpoints run beside them until fewer frames than
/// this (2 MiB) were written during the last one, at most four more times.
const CATCH_UP_FRAMES: i64 = 512;
const CATCH_UP_PASSES: usize = 4;

/// Copies SQLite's write-ahead log back into the database file every
/// [`CHECKPOINT_EVERY`], beside the writers (see [`checkpoint`]). SQLite's
/// automatic checkpoint runs inside the commit that crosses the log's
/// threshold, so that writer (the review writer's batch, an import's) would
/// wait for the whole copy and its two `fsync`s.
fn spawn_checkpointer(pool: AnyPool, write_turn: Arc<tokio::sync::Mutex<()>>) -> Checkpointer {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = every.tick() => {}
            }
            if pool.is_closed() {
                break;
            }
            if let Err(e) = checkpoint(&pool, &write_turn).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    Checkpointer { _stop: stop }
}

/// One checkpoint beside the writers; past [`RESTART_LOG_AFTER`] frames, a
/// last one in this process's write turn, after catching up beside them so
/// that writers wait only for the last frames. SQLite starts the log again only
/// for a writer that begins once every frame is in the database file, which
/// under steady writes never happens unless writers wait: without this the
/// log, and the cost of each checkpoint, would grow without end. If readers
/// still keep the log from starting again at four times the threshold, the
/// last checkpoint waits for them (RESTART).
async fn checkpoint(
    pool: &AnyPool,
    write_turn: &tokio::sync::Mutex<()>,
) -> Result<(), sqlx::Error> {
    let mut log = wal_checkpoint(pool, "PASSIVE").await?;
    if log < RESTART_LOG_AFTER {
        return Ok(());
    }
    for _ in 0..CATCH_UP_PASSES {
        let before = log;
        log = wal_checkpoint(pool, "PASSIVE").await?;
        if log - before < CATCH_UP_FRAMES {
            break;
        }
    }
    let _turn = write_turn.lock().await;
    let mode = if log < 4 * RESTART_LOG_AFTER {
        "PASSIVE"
    } else {
        "RESTART"
    };
    wal_checkpoint(pool, mode).await?;
    Ok(())
}

/// Runs a checkpoint; returns the frames in the log when it began.
async fn wal_checkpoint(pool: &AnyPool, mode: &str) -> Result<i64, sqlx::Error> {
    // All rows read, so that the statement ends and holds no snapshot of the log.
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&format!("PRAGMA wal_checkpoint({mode})"))
        .fetch_all(pool)
        .await?;
    Ok(rows.first().map_or(0, |(_busy, log, _copied)| *log))
}

/// `(version, sqlite, postgres)`; never edit an applied migration, append.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("../migrations/sqlite/0001_registry.sql"),
        include_str!("../migrations/postgres/0001_registry.sql"),
    ),
    (
        2,
        include_str!("../migrations/sqlite/0002_credit.sql"),
        include_str!("../migrations/postgres/0002_credit.sql"),
    ),
    (
        3,
        include_str!("../migrations/sqlite/0003_reviews.sql"),
        include_str!("../migrations/postgres/0003_reviews.sql"),
    ),
    (
        4,
        include_str!("../migrations/sqlite/0004_jobs.sql"),
        include_str!("../migrations/postgres/0004_jobs.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_plan_reports.sql"),
        include_str!("../migrations/postgres/0005_plan_reports.sql"),
    ),
    (
        6,
        include_str!("../migrations/sqlite/0006_reviews_outlet_id.sql"),
        include_str!("../migrations/postgres/0006_reviews_outlet_id.sql"),
    ),
    (
        7,
        include_str!("../migrations/sqlite/0007_stats.sql"),
        include_str!("../migrations/postgres/0007_stats.sql"),
    ),
    (
        8,
        include_str!("../migrations/sqlite/0008_stat_cells_key.sql"),
        include_str!("../migrations/postgres/0008_stat_cells_key.sql"),
    ),
    (
        9,
        include_str!("../migrations/sqlite/0009_plan_cadence.sql"),
        include_str!("../migrations/postgres/0009_plan_cadence.sql"),
    ),
    (
        10,
        include_str!("../migrations/sqlite/0010_rate_hits.sql"),
        include_str!("../migrations/postgres/0010_rate_hits.sql"),
    ),
    (
        11,
        include_str!("../migrations/sqlite/0011_case_reopen.sql"),
        include_str!("../migrations/postgres/0011_case_reopen.sql"),
    ),
    (
        12,
        include_str!("../migrations/sqlite/0012_plan_report_areas.sql"),
        include_str!("../migrations/postgres/0012_plan_report_areas.sql"),
    ),
    (
        13,
        include_str!("../migrations/sqlite/0013_plan_attachments.sql"),
        include_str!("../migrations/postgres/0013_plan_attachments.sql"),
    ),
    (
        14,
        include_str!("../migrations/sqlite/0014_reviews_reviewer_id.sql"),
        include_str!("../migrations/postgres/0014_reviews_reviewer_id.sql"),
    ),
    (
        15,
        include_str!("../migrations/sqlite/0015_credit_items.sql"),
        include_str!("../migrations/postgres/0015_credit_items.sql"),
    ),
    (
        16,
        include_str!("../migrations/sqlite/0016_review_changes.sql"),
        include_str!("../migrations/postgres/0016_review_changes.sql"),
    ),
];

/// How long a SQLite writer waits for the write lock: its turn in this
/// process, or another process's transaction (`busy_timeout`).
const WRITE_TURN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How often the write-ahead log is copied back into a SQLite database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// How long a SQLite connection serves before it is renewed.
const CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);

/// Rows an import must add before it refreshes the planner's statistics.
pub const ANALYZE_AFTER_ROWS: usize = 10_000;

/// Sampled statistics for SQLite's query planner (see [`Db::analyze`]).
const ANALYZE_SQLITE: &str = "PRAGMA analysis_limit=1000; ANALYZE;";

/// The PostgreSQL channel writers notify after appending to `changes`.
pub const CHANGES_CHANNEL: &str = "lifeservice_changes";

/// Default database location, relative to the working directory.
pub const DEFAULT_DB: &str = "sqlite:lifeservice-data/lifeservice.db";

impl Db {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    /// `sqlite:PATH` or `postgres://USER@HOST/DB[?schema=NAME]`.
    pub async fn open(url: &str) -> anyhow::Result<Db> {
        let db = Self::open_unmigrated(url).await?;
        db.migrate(i64::MAX).await?;
        db.seed_reference().await?;
        Ok(db)
    }

    /// The database at `url` with the migrations before `version` applied
    /// and no others: the schema an older release left, for testing that
    /// migration `version` carries its data over.
    pub async fn open_before(url: &str, version: i64) -> anyhow::Result<Db> {
        let db = Self::open_unmigrated(url).await?;
        db.migrate(version).await?;
        Ok(db)
    }

    async fn open_unmigrated(url: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let db = if let Some(path) = url.strip_prefix("sqlite:") {
            Self::open_sqlite(path).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url).await?
        } else {
            anyhow::bail!("不支持的数据库地址“{url}”：应以 sqlite: 或 postgres:// 开头");
        };
        Ok(db)
    }

    /// Refreshes the query planner's statistics. SQLite has none until
    /// `ANALYZE`, and without them it would, for one, read every penalty by
    /// the (kind, 文书号) key to find one entity's few records instead of
    /// using the entity index. Sampled (`analysis_limit`): about 1.5 s on a
    /// province-sized file. Run when a SQLite file is opened and hourly by the
    /// scheduler (imports refresh the tables they fill, [`StatsRefresh`]); a
    /// pooled connection sees new statistics once renewed (within five
    /// minutes). PostgreSQL's autovacuum does this itself.
    pub async fn analyze(&self) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Sqlite {
            self.pool.execute(ANALYZE_SQLITE).await?;
        }
        Ok(())
    }

    /// Refreshes the planner's statistics of a few tables, on both backends.
    async fn analyze_tables(&self, tables: &[&str]) -> Result<(), sqlx::Error> {
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "PRAGMA analysis_limit=1000; ANALYZE {};",
                tables.join("; ANALYZE ")
            ),
            Backend::Postgres => format!("ANALYZE {}", tables.join(", ")),
        };
        self.pool.execute(sql.as_str()).await?;
        Ok(())
    }

    /// Loads the shipped divisions into an empty `divisions` table, so that SQL
    /// can join on names and levels; located communities and population are
    /// added to it later by imports.
    async fn seed_reference(&self) -> anyhow::Result<()> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM divisions")
            .fetch_one(&self.pool)
            .await?;
        if count > 0 {
            return Ok(());
        }
        let reference = crate::reference::Reference::shipped();
        let mut all: Vec<_> = reference.all().collect();
        all.sort_by(|a, b| a.code.cmp(&b.code));
        let mut tx = self.pool.begin().await?;
        for chunk in all.chunks(1000) {
            let sql = format!(
                "INSERT INTO divisions (code, name, level, parent_code, population) VALUES {} ON CONFLICT (code) DO NOTHING",
                placeholders(self.backend, chunk.len(), 5)
            );
            let mut query = sqlx::query(&sql);
            for d in chunk {
                let population = (d.level == lifeservice_domain::Level::City)
                    .then(|| reference.city_population(&d.code))
                    .flatten();
                query = query
                    .bind(d.code.to_string())
                    .bind(d.name.clone())
                    .bind(d.level.as_str())
                    .bind(d.code.parent().map(|p| p.to_string()))
                    .bind(population);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn open_sqlite(path: &str) -> anyhow::Result<Db> {
        let path = path.trim_start_matches("//");
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        if Path::new(path).exists() {
            // Before the pool: a SQLite connection reads the planner's
            // statistics only when it loads the schema.
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{path}")).await?;
            conn.execute(ANALYZE_SQLITE).await?;
            conn.close().await?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            // Renewed connections load statistics refreshed since they opened.
            .max_lifetime(CONNECTION_LIFETIME)
            // An in-process connection cannot drop, and the ping would be one
            // more round trip to its worker thread on every acquire.
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the one writer; the busy timeout lets a CLI
                    // import and the server share the file. The map covers the whole file
                    // (up to 64 GiB, the cap set in .cargo/config.toml): a page read past it
                    // costs a system call and a copy.
                    // Commits do not checkpoint: [`spawn_checkpointer`] does, beside them.
                    let pragmas = format!(
                        "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout={}; PRAGMA synchronous=NORMAL; \
                         PRAGMA cache_size=-65536; PRAGMA mmap_size=68719476736; PRAGMA wal_autocheckpoint=0;",
                        WRITE_TURN_TIMEOUT.as_millis()
                    );
                    conn.execute(pragmas.as_str()).await?;
                    Ok(())
                })
            })
            .connect(&format!("sqlite:{path}?mode=rwc"))
            .await?;
        let write_turn = Arc::default();
        let checkpointer = spawn_checkpointer(pool.clone(), Arc::clone(&write_turn));
        Ok(Db {
            pool,
            backend: Backend::Sqlite,
            write_turn: Some(write_turn),
            postgres: None,
            _checkpointer: Some(Arc::new(checkpointer)),
        })
    }

    async fn open_postgres(url: &str) -> anyhow::Result<Db> {
        let (base, schema) = split_schema(url);
        let postgres = Some((base.clone(), schema.clone()));
        if let Some(schema) = &schema {
            anyhow::ensure!(
                schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "schema 名称只能包含字母、数字和下划线"
            );
            let admin = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&base)
                .await?;
            admin
                .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await?;
            admin.close().await;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    if let Some(schema) = schema {
                        conn.execute(format!("SET search_path TO {schema}").as_str())
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&base)
            .await?;
        Ok(Db {
            pool,
            backend: Backend::Postgres,
            write_turn: None,
            postgres,
            _checkpointer: None,
        })
    }

    /// PostgreSQL only: a native connection on the same schema, for what the
    /// `Any` driver cannot do (COPY). Bulk loads may turn off its synchronous
    /// commit: they are verified afterwards and re-run into an empty database.
    pub async fn postgres_connection(&self) -> anyhow::Result<sqlx::PgConnection> {
        use sqlx::Connection;
        let Some((base, schema)) = &self.postgres else {
            anyhow::bail!("not a PostgreSQL database");
        };
        let mut conn = sqlx::PgConnection::connect(base).await?;
        if let Some(schema) = schema {
            conn.execute(format!("SET search_path TO {schema}").as_str())
                .await?;
        }
        Ok(conn)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction that writes.
    ///
    /// SQLite has one writer at a time. Left to themselves, connections that
    /// find the write lock taken poll for it in SQLite's busy handler, which
    /// sleeps 1, 2, 5, 10… ms between tries, so under concurrent writes the
    /// lock mostly sits free while waiters sleep (submissions at 32 concurrent
    /// clients spent most of their time so). This process's writers therefore
    /// queue for their turn here, first come first served, and the one whose
    /// turn it is takes the write lock at once (`BEGIN IMMEDIATE`), so a read
    /// cannot later fail to become a write; the busy timeout is left for other
    /// processes (a CLI import beside the server). PostgreSQL writers run in
    /// parallel under row locks.
    pub async fn begin_write(&self) -> Result<WriteTx<'static>, sqlx::Error> {
        let turn = self.write_turn().await?;
        let tx = match turn {
            Some(_) => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            None => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// [`Db::begin_write`] on a connection a long-lived writer keeps.
    pub async fn begin_write_on<'c>(
        &self,
        writer: &'c mut WriterConnection,
    ) -> Result<WriteTx<'c>, sqlx::Error> {
        use sqlx::Connection;
        let turn = self.write_turn().await?;
        let tx = match turn {
            Some(_) => writer.conn.begin_with("BEGIN IMMEDIATE").await?,
            None => writer.conn.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// This process's turn to write on SQLite (none to wait for on PostgreSQL).
    async fn write_turn(&self) -> Result<Option<tokio::sync::OwnedMutexGuard<()>>, sqlx::Error> {
        let Some(turn) = &self.write_turn else {
            return Ok(None);
        };
        // As long as SQLite's own busy timeout: a writer that waits longer
        // fails rather than hangs.
        tokio::time::timeout(WRITE_TURN_TIMEOUT, Arc::clone(turn).lock_owned())
            .await
            .map(Some)
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }

    /// A pooled connection for one long-lived writer (the review writer). On
    /// SQLite a connection empties its page cache whenever another connection
    /// has committed, so a writer that takes any pooled connection reads the
    /// pages of its indexes afresh each time; on its own connection they stay
    /// cached between its transactions.
    pub async fn writer_connection(&self) -> Result<WriterConnection, sqlx::Error> {
        Ok(WriterConnection {
            conn: self.pool.acquire().await?,
            since: std::time::Instant::now(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Calls `wake` whenever another process appends to the change feed
    /// (PostgreSQL LISTEN on [`CHANGES_CHANNEL`]); returns at once on SQLite,
    /// whose followers poll. Reconnects after a lost connection.
    pub async fn listen_for_changes(&self, wake: impl Fn()) {
        let Some((url, _)) = &self.postgres else {
            return;
        };
        loop {
            match sqlx::postgres::PgListener::connect(url).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANGES_CHANNEL).await {
                        tracing::warn!(error = %e, "LISTEN failed");
                    } else {
                        // A reconnect may have missed notifications: catch up once.
                        wake();
                        while listener.recv().await.is_ok() {
                            wake();
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "change listener cannot connect"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// Applies the migrations not yet applied, up to but not including `before`.
    async fn migrate(&self, before: i64) -> anyhow::Result<()> {
        self.pool
            .execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")
            .await?;
        for (version, sqlite, postgres) in MIGRATIONS.iter().take_while(|(v, ..)| *v < before) {
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&self.pool)
                    .await?;
            if applied.is_some() {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            let mut tx = self.pool.begin().await?;
            tx.execute(sqlx::raw_sql(sql)).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(crate::time::now_text())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, "applied migration");
        }
        Ok(())
    }
}

/// Keeps the planner's statistics of the tables an import fills in step with
/// their growth: refreshed once [`ANALYZE_AFTER_ROWS`] rows are in, then each
/// time the rows inserted double, a handful of times even for millions, and
/// at the end if enough rows came in since. Smaller imports (a web upload of
/// a few rows) leave them to the hourly refresh.
///
/// A plan made while a table was nearly empty scans it whole; PostgreSQL keeps
/// such a plan for a prepared statement until the table's statistics change,
/// and autovacuum may be off or behind a bulk load. Importing a million
/// penalties into an empty PostgreSQL database ran at 250 rows/s for that
/// reason, and at 17,000 rows/s once the table was analyzed.
pub struct StatsRefresh {
    tables: &'static [&'static str],
    next: usize,
    /// Rows inserted when the statistics were last refreshed.
    refreshed_at: usize,
}

impl StatsRefresh {
    pub fn new(tables: &'static [&'static str]) -> Self {
        StatsRefresh {
            tables,
            next: ANALYZE_AFTER_ROWS,
            refreshed_at: 0,
        }
    }

    /// Called after each committed batch with the rows inserted so far.
    pub async fn after(&mut self, db: &Db, inserted: usize) -> Result<(), sqlx::Error> {
        if inserted >= self.next {
            self.refresh(db, inserted).await?;
            self.next = inserted * 2;
        }
        Ok(())
    }

    /// Called when the import is done, with the rows it inserted.
    pub async fn finish(mut self, db: &Db, inserted: usize) -> Result<(), sqlx::Error> {
        if inserted - self.refreshed_at >= ANALYZE_AFTER_ROWS {
            self.refresh(db, inserted).await?;
        }
        Ok(())
    }

    async fn refresh(&mut self, db: &Db, inserted: usize) -> Result<(), sqlx::Error> {
        db.analyze_tables(self.tables).await?;
        self.refreshed_at = inserted;
        Ok(())
    }
}

/// A write transaction from [`Db::begin_write`] or [`Db::begin_write_on`];
/// holds this process's write turn on SQLite until committed or dropped
/// (dropping rolls back).
pub struct WriteTx<'c> {
    tx: sqlx::Transaction<'c, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// See [`Db::writer_connection`].
pub struct WriterConnection {
    conn: sqlx::pool::PoolConnection<sqlx::Any>,
    since: std::time::Instant,
}

impl WriterConnection {
    /// Time to hand the connection back and take another, as the pool renews
    /// its own: a new connection loads planner statistics refreshed since.
    pub fn is_stale(&self) -> bool {
        self.since.elapsed() > CONNECTION_LIFETIME
    }
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back now rather than at the pooled connection's next use.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Splits our own `schema=` parameter off a PostgreSQL URL.
pub(crate) fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("schema=") {
            Some(s) => {
                schema = Some(s.to_string());
                false
            }
            None => true,
        })
        .collect();
    let base = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (base, schema)
}

impl Backend {
    /// The backend a connection talks to.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// `($first, …)` placeholders for an IN list whose binds start at `first`;
/// numbered parameters read the same on both backends.
pub fn in_list(first: usize, len: usize) -> String {
    let items: Vec<String> = (0..len).map(|i| format!("${}", first + i)).collect();
    format!("({})", items.join(", "))
}

/// Placeholders for a multi-row VALUES list of `rows` × `columns` values, the
/// statement's only parameters. SQLite gets anonymous `?`: it resolves a named
/// `$n` by a linear scan, which makes large batches quadratic.
pub fn placeholders(backend: Backend, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 6);
    for r in 0..rows {
        out.push_str(if r > 0 { ",(" } else { "(" });
        for c in 0..columns {
            if c > 0 {
                out.push(',');
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    out.push('$');
                    out.push_str(&(1 + r * columns + c).to_string());
                }
            }
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_schema_parameter() {
        assert_eq!(
            split_schema("postgres://u@h/db?schema=t1&sslmode=disable"),
            (
                "postgres://u@h/db?sslmode=disable".into(),
                Some("t1".into())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db"),
            ("postgres://u@h/db".into(), None)
        );
    }

    /// A statement that may fail midway, inside a transaction of several,
    /// journals the pages it changes; past SQLite's spill size that journal
    /// goes to a temporary file. With a larger spill size built in, a journal
    /// beyond it failed with "database or disk is full" (migration 15
    /// rewriting 1M credit records did).
    #[tokio::test]
    async fn a_statement_rewriting_a_large_table_inside_a_transaction_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite:{}", dir.path().join("large.db").display()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE filler (x TEXT NOT NULL)")
            .execute(db.pool())
            .await
            .unwrap();
        // 100,000 rows of 500 characters: about 50 MB of pages to journal.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
             INSERT INTO filler (x) SELECT hex(randomblob(250)) FROM n",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO filler (x) VALUES ('first statement')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let rewritten = sqlx::query("UPDATE filler SET x = x || '.'")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(rewritten.rows_affected(), 100_001);
    }

    /// Commits leave the log to the checkpointer; the log must still reach
    /// the database file and start again from its beginning, or it would
    /// grow without end.
    #[tokio::test]
    async fn the_write_ahead_log_reaches_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.db");
        let db = Db::open(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        sqlx::query("CREATE TABLE filler (x TEXT)")
            .execute(db.pool())
            .await
            .unwrap();
        // Commits of 25 rows of 4,000 characters one after another: with no
        // pause between writers, the log starts again from its beginning (past
        // 128 frames, 512 KiB) only because writers wait for the checkpointer;
        // commits then write over old frames and the file does not grow. How
        // much is written first depends on the machine's load (a checkpointer
        // slowed by other tests' disk writes once let 128 MB of 137 MB through
        // in 2 s), so the bound is on the data written, not on time: with
        // PASSIVE checkpoints only, the log keeps everything.
        let wal = dir.path().join("checkpoint.db-wal");
        let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        let (mut written, mut commits_in_place) = (0u64, 0);
        while commits_in_place < 20 {
            assert!(
                written < 1 << 30,
                "the log grew to {} bytes of {written} written and never started again",
                wal_len()
            );
            let log_before = wal_len();
            let mut tx = db.begin_write().await.unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25) \
                 INSERT INTO filler (x) SELECT hex(randomblob(2000)) FROM n",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            written += 100_000;
            if log_before > 0 && wal_len() == log_before {
                commits_in_place += 1;
            }
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::metadata(&path).unwrap().len() < before + written * 9 / 10 {
            assert!(
                std::time::Instant::now() < deadline,
                "the log was not copied into the database file"
            );
            tokio::time::sleep(CHECKPOINT_EVERY).await;
        }
    }

    #[test]
    fn builds_placeholders() {
        assert_eq!(placeholders(Backend::Postgres, 2, 2), "($1,$2),($3,$4)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2), "(?,?),(?,?)");
    }
}
