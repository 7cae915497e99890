//! 统计监测 benchmark at province scale: BENCH_OUTLETS outlets (default 2M,
//! with the demo's entities), BENCH_CREDIT penalty and licence rows (default
//! 10M) and BENCH_REVIEWS reviews (default 10M; BENCH_REVIEWS_GENERATED of
//! them, default 1M, by the demo generator, the rest copied) in SQLite, then:
//! - the cube's full rebuild per source (what the refresher does when data moves);
//! - the dashboard page `/stats` and the API for every indicator × several
//!   divisions × year/quarter/month, through the real server in this process;
//! - the same monthly figures by naive SQL GROUP BY over the raw records;
//! - generating and publishing a quarterly release.
//!
//! `BENCH_DIR=/var/tmp/stats-bench cargo bench -p lifeservice --bench stats`
//! (a BENCH_DIR keeps the generated database for reruns; nothing is
//! committed; `BENCH_ONLY_GENERATE=1` stops once the data and its cube are
//! there). Prints a Markdown table for docs/benchmarks.md.

use lifeservice::app::{AppState, router};
use lifeservice::search::SearchIndex;
use lifeservice::stats::indicators::Indicator;
use lifeservice::stats::{cube, releases};
use lifeservice::storage::Db;
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(mut lat: Vec<Duration>) -> String {
    lat.sort();
    let p = |q: f64| ms(lat[((lat.len() - 1) as f64 * q).round() as usize]);
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} requests)",
        p(0.5),
        p(0.95),
        p(1.0),
        lat.len()
    )
}

/// Credit rows written straight into the table by one INSERT … SELECT: the
/// statistics read only kind, entity, decision date and state, and the
/// import path has its own benchmark. Labelled in `submitted_by`.
async fn bulk_credit(db: &Db, rows: usize) -> anyhow::Result<()> {
    let entities: i64 = sqlx::query_scalar("SELECT MAX(id) FROM entities")
        .fetch_one(db.pool())
        .await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO credit_records (kind, doc_no, entity_id, source_code, source_name, submitted_by, \
           decision_date, state, version, items, created_at, updated_at) \
         SELECT CASE WHEN i % 3 = 0 THEN 'penalty' ELSE 'licence' END, 'BENCH-' || i, 1 + (i * 7919) % $2, \
           '11140000MB0000000X', '基准测试', 'bench (synthetic)', date('2012-01-01', '+' || ((i * 104729) % 5400) || ' days'), \
           'active', 1, '[\"合成主体\",\"法人及非法人组织\"]', '2026-01-01', '2026-01-01' FROM n",
    )
    .bind(rows as i64)
    .bind(entities)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Shifts a stored date or timestamp text back `k` years (only its month
/// matters to the statistics).
fn years_back(column: &str, k: usize) -> String {
    format!("(CAST(CAST(substr({column}, 1, 4) AS INTEGER) - {k} AS TEXT) || substr({column}, 5))")
}

/// Fills `reviews` up to `target` rows by copying the generated ones, copy
/// `k` with its occasion suffixed `#k` and every date `k` years earlier,
/// with their rectification cases: same counts per county and type, more
/// history. The generator writes a few thousand reviews a second, so 10M
/// generated would take most of an hour.
async fn copy_reviews(db: &Db, target: usize) -> anyhow::Result<usize> {
    let max = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
            .fetch_one(db.pool())
            .await
    };
    let (base, case_base) = (max("reviews").await?, max("review_cases").await?);
    let generated = base as usize;
    let mut total = generated;
    for k in 1.. {
        if total >= target || generated == 0 {
            break;
        }
        let rows = (target - total).min(generated);
        let created = years_back("created_at", k);
        sqlx::query(&format!(
            "INSERT INTO reviews (id, outlet_id, reviewer_id, occasion, rating, aspects_json, body, verified, channel, status, service_type, county_code, created_at) \
             SELECT id + {k} * {base}, outlet_id, reviewer_id, occasion || '#{k}', rating, aspects_json, body, verified, channel, status, service_type, county_code, {created} \
             FROM reviews WHERE id <= {rows} ORDER BY id"
        ))
        .execute(db.pool())
        .await?;
        let dates = [
            "opened_on",
            "contact_due",
            "rectify_due",
            "contacted_on",
            "rectified_on",
            "followed_on",
            "escalated_on",
        ]
        .map(|c| years_back(c, k))
        .join(", ");
        sqlx::query(&format!(
            "INSERT INTO review_cases (id, review_id, outlet_id, entity_id, service_type, county_code, departments, status, \
               opened_on, contact_due, rectify_due, contacted_on, rectified_on, followed_on, escalated_on, contact_note, rectify_note, follow_rating) \
             SELECT id + {k} * {case_base}, review_id + {k} * {base}, outlet_id, entity_id, service_type, county_code, departments, status, \
               {dates}, contact_note, rectify_note, follow_rating FROM review_cases WHERE id <= {case_base} AND review_id <= {rows}"
        ))
        .execute(db.pool())
        .await?;
        add_copied_totals(db, rows).await?;
        total += rows;
    }
    Ok(total - generated)
}

/// Adds one copy of the first `rows` generated reviews (and their cases) to
/// the running totals, as the generator counted the originals: the copies
/// keep ratings, statuses and the order of their dates.
async fn add_copied_totals(db: &Db, rows: usize) -> anyhow::Result<()> {
    use lifeservice::reviews::store::{Delta, Totals, add_totals};
    let groups: Vec<(i64, String, String, Delta)> = sqlx::query(&format!(
        "SELECT r.outlet_id, r.service_type, r.county_code, COUNT(*) AS n, SUM(r.rating) AS rating_sum, \
           SUM(CASE WHEN r.rating <= 2 THEN 1 ELSE 0 END) AS bad, COUNT(c.id) AS cases, \
           SUM(CASE WHEN c.rectified_on IS NOT NULL THEN 1 ELSE 0 END) AS rectified, \
           SUM(CASE WHEN c.rectified_on <= c.rectify_due THEN 1 ELSE 0 END) AS on_time, \
           SUM(CASE WHEN c.followed_on IS NOT NULL THEN 1 ELSE 0 END) AS followed \
         FROM reviews r LEFT JOIN review_cases c ON c.review_id = r.id \
         WHERE r.id <= {rows} AND r.status = 'published' GROUP BY r.outlet_id, r.service_type, r.county_code"
    ))
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        let delta = Delta::from(Totals::from_row(r)?);
        Ok((r.try_get("outlet_id")?, r.try_get("service_type")?, r.try_get("county_code")?, delta))
    })
    .collect::<Result<_, sqlx::Error>>()?;
    let mut deltas = Vec::with_capacity(groups.len() * 3);
    for (outlet, service_type, county, delta) in groups {
        deltas.push(("outlet", outlet.to_string(), delta));
        deltas.push(("type", service_type, delta));
        deltas.push(("county", county, delta));
    }
    let mut tx = db.begin_write().await?;
    add_totals(&mut tx, &deltas).await?;
    tx.commit().await?;
    Ok(())
}

/// The pre-cube way: one GROUP BY per measure over the raw records of the
/// division, by month.
async fn naive(db: &Db, indicator: Indicator, division: &str) -> anyhow::Result<usize> {
    let like = format!("{division}%");
    let queries: &[&str] = match indicator {
        Indicator::Entities => &[
            "SELECT substr(established, 1, 7), COUNT(*) FROM entities WHERE division_code LIKE $1 GROUP BY 1",
            "SELECT substr(closed_on, 1, 7), COUNT(*) FROM entities WHERE division_code LIKE $1 AND status <> 'active' GROUP BY 1",
        ],
        Indicator::Outlets => &[
            "SELECT substr(COALESCE(opened_on, created_at), 1, 7), COUNT(*) FROM outlets WHERE county_code LIKE $1 GROUP BY 1",
            "SELECT substr(closed_on, 1, 7), COUNT(*) FROM outlets WHERE county_code LIKE $1 AND status = 'closed' GROUP BY 1",
        ],
        Indicator::Penalties => &[
            "SELECT substr(r.decision_date, 1, 7), COUNT(*) FROM credit_records r JOIN entities e ON e.id = r.entity_id \
             WHERE r.kind = 'penalty' AND r.state <> 'withdrawn' AND e.division_code LIKE $1 GROUP BY 1",
            "SELECT substr(established, 1, 7), COUNT(*) FROM entities WHERE division_code LIKE $1 GROUP BY 1",
        ],
        Indicator::Designations => &[
            "SELECT d.kind, substr(d.granted_on, 1, 7), COUNT(*) FROM designations d JOIN outlets o ON o.id = d.outlet_id \
             WHERE o.county_code LIKE $1 GROUP BY 1, 2",
        ],
        Indicator::Satisfaction => &[
            "SELECT substr(created_at, 1, 7), COUNT(*), SUM(rating), SUM(CASE WHEN rating <= 2 THEN 1 ELSE 0 END) FROM reviews \
             WHERE county_code LIKE $1 AND status = 'published' GROUP BY 1",
        ],
        Indicator::Rectification => &[
            "SELECT substr(opened_on, 1, 7), COUNT(*), SUM(CASE WHEN status IN ('rectified', 'closed') THEN 1 ELSE 0 END) \
             FROM review_cases WHERE county_code LIKE $1 GROUP BY 1",
        ],
    };
    let mut rows = 0;
    for q in queries {
        rows += sqlx::query(q)
            .bind(like.clone())
            .fetch_all(db.pool())
            .await?
            .len();
    }
    Ok(rows)
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return Ok(());
    }
    let outlets = env("BENCH_OUTLETS", 2_000_000);
    let credit = env("BENCH_CREDIT", 10_000_000);
    let reviews = env("BENCH_REVIEWS", 10_000_000);
    let generated_reviews = env("BENCH_REVIEWS_GENERATED", 1_000_000).min(reviews);
    let dir = match std::env::var("BENCH_DIR") {
        Ok(d) => std::path::PathBuf::from(d),
        Err(_) => tempfile::tempdir()?.keep(),
    };
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let db_path = dir.join("stats.db");
        let fresh = !db_path.exists();
        let db = Db::open(&format!("sqlite:{}", db_path.display())).await?;
        let search = Arc::new(SearchIndex::open(&dir.join("index"))?);
        let circles = lifeservice::circle::CircleService::new(dir.join("network.bin"));
        let state = AppState::new(db.clone(), search, circles);
        println!("## 统计监测 benchmark: {outlets} outlets, {credit} credit rows, {reviews} reviews (SQLite)\n");
        println!("| measure | result |\n|---|---|");
        if fresh {
            let t = Instant::now();
            lifeservice::demo::generate(&db, outlets, 11, None).await?;
            println!("| registry generated | {:.0} s |", t.elapsed().as_secs_f64());
            let t = Instant::now();
            bulk_credit(&db, credit).await?;
            println!("| credit rows written | {:.0} s |", t.elapsed().as_secs_f64());
            let t = Instant::now();
            lifeservice::reviews::demo::generate(&db, &state.reviews, generated_reviews, 11, false, None).await?;
            println!("| {generated_reviews} reviews generated | {:.0} s |", t.elapsed().as_secs_f64());
            let t = Instant::now();
            let copied = copy_reviews(&db, reviews).await?;
            println!("| {copied} reviews copied from them, years earlier | {:.0} s |", t.elapsed().as_secs_f64());
        }
        for (label, table) in [("entities", "entities"), ("outlets", "outlets"), ("credit records", "credit_records"), ("reviews", "reviews"), ("rectification cases", "review_cases")] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(db.pool()).await?;
            println!("| {label} in the database | {n} |");
        }
        // BENCH_REBUILD=0 measures reads on the cube already built.
        if env("BENCH_REBUILD", 1) == 1 {
            sqlx::query("DELETE FROM stat_sources").execute(db.pool()).await?;
            sqlx::query("DELETE FROM job_runs WHERE job = 'stats_cube'").execute(db.pool()).await?;
        }
        let t = Instant::now();
        cube::refresh(&db).await?;
        println!("| cube full rebuild, both sources | {:.1} s |", t.elapsed().as_secs_f64());
        for f in cube::freshness(&db).await? {
            println!("| — of which {} | {:.1} s |", f.source, f.millis.unwrap_or(0) as f64 / 1000.0);
        }
        let cells: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stat_cells").fetch_one(db.pool()).await?;
        println!("| cube cells | {cells} |");
        let t = Instant::now();
        let rebuilt = cube::refresh(&db).await?;
        println!("| refresh check with nothing changed | {:.1} ms ({} rebuilt) |", ms(t.elapsed()), rebuilt.len());
        // BENCH_ONLY_GENERATE=1: the province dataset and its cube alone, e.g.
        // for scripts/bench-province.sh.
        if env("BENCH_ONLY_GENERATE", 0) == 1 {
            return Ok(());
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = format!("http://{}", listener.local_addr()?);
        let app = router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        let divisions = ["14", "1401", "1402", "1404", "140105", "140213", "140403", "141127"];
        for (label, path) in [("dashboard page `/stats` (HTML: table, trend, bars, county map)", "/stats"), ("API `/api/v1/stats` (JSON series)", "/api/v1/stats")] {
            let mut lat = Vec::new();
            for d in divisions {
                for i in Indicator::ALL {
                    for p in ["year", "quarter", "month"] {
                        let t = Instant::now();
                        let r = client.get(format!("{addr}{path}?indicator={}&division={d}&period={p}", i.code())).send().await?;
                        assert!(r.status().is_success(), "{path} {d} {p}: {}", r.status());
                        r.bytes().await?;
                        lat.push(t.elapsed());
                    }
                }
            }
            println!("| {label}, {} divisions × 6 indicators × 3 periods | **{}** |", divisions.len(), summary(lat));
        }
        for d in ["14", "1401", "140105"] {
            let mut lat = Vec::new();
            for i in Indicator::ALL {
                let t = Instant::now();
                naive(&db, i, d).await?;
                lat.push(t.elapsed());
            }
            let total: Duration = lat.iter().sum();
            println!("| naive GROUP BY over the raw records, division {d}, 6 indicators | {} ; all six {:.0} ms |", summary(lat), ms(total));
        }
        sqlx::query("DELETE FROM stat_releases").execute(db.pool()).await?;
        let month = lifeservice::stats::last_full_month();
        let quarter = lifeservice::stats::indicators::Granularity::Quarter.previous(
            &lifeservice::stats::indicators::Granularity::Quarter.period_of(&month),
        ).expect("a quarter");
        let t = Instant::now();
        releases::publish(&state, releases::Kind::Quarterly, &quarter, "bench", "", false).await?;
        println!("| quarterly release {quarter} generated and published | **{:.2} s** |", t.elapsed().as_secs_f64());
        let size = std::fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0);
        println!("| database file | {:.1} GB |", size as f64 / 1e9);
        anyhow::Ok(())
    })?;
    Ok(())
}
