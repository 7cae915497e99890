//! 好差评 benchmark at scale: BENCH_REVIEWS synthetic reviews (default 10M)
//! over BENCH_OUTLETS outlets (default 100k) in SQLite, then the real server
//! (in this process) under load from this process's HTTP client:
//! - the provider page with its quality block (`/outlets/{id}`) and the outlet
//!   JSON with `quality` (`/api/v1/outlets/{id}`), random outlets;
//! - review submission (`POST /api/v1/outlets/{id}/reviews`) by 500 signed-in
//!   reviewers on random outlets, sustained for BENCH_SECONDS (default 20).
//!
//! `BENCH_REVIEWS=10000000 cargo bench -p lifeservice --bench reviews`
//! `BENCH_DB=URL` measures an existing database instead (no generation),
//! e.g. the province dataset of scripts/bench-province.sh on PostgreSQL.
//! Prints a Markdown table for docs/benchmarks.md.

use lifeservice::app::{AppState, router};
use lifeservice::reviews::{MemorySender, ReviewConfig};
use lifeservice::search::SearchIndex;
use lifeservice::storage::Db;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Statuses other than 2xx and how often each came (0: no response).
type Refused = std::collections::BTreeMap<u16, u64>;

fn describe(refused: &Refused) -> String {
    let total: u64 = refused.values().sum();
    let each: Vec<String> = refused.iter().map(|(s, n)| format!("{s}×{n}")).collect();
    format!(
        "{total} refused{}",
        if each.is_empty() {
            String::new()
        } else {
            format!(": {}", each.join(", "))
        }
    )
}

/// Runs `workers` loops of `request` for `seconds`; returns (ok, refused, latencies).
async fn load<F, Fut>(workers: usize, seconds: u64, request: F) -> (u64, Refused, Vec<Duration>)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = u16> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    for w in 0..workers {
        let request = request.clone();
        handles.push(tokio::spawn(async move {
            let (mut ok, mut refused, mut lat) = (0, Refused::new(), Vec::new());
            let mut i = w as u64 * 1_000_003;
            while Instant::now() < deadline {
                i += 1;
                let t = Instant::now();
                let status = request(i).await;
                lat.push(t.elapsed());
                if (200..300).contains(&status) {
                    ok += 1;
                } else {
                    *refused.entry(status).or_default() += 1;
                }
            }
            (ok, refused, lat)
        }));
    }
    let (mut ok, mut refused, mut all) = (0, Refused::new(), Vec::new());
    for h in handles {
        let (n, r, lat) = h.await.unwrap();
        ok += n;
        for (status, count) in r {
            *refused.entry(status).or_default() += count;
        }
        all.extend(lat);
    }
    all.sort();
    (ok, refused, all)
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return Ok(());
    }
    let outlets = env("BENCH_OUTLETS", 100_000);
    let reviews = env("BENCH_REVIEWS", 10_000_000);
    let seconds = env("BENCH_SECONDS", 20) as u64;
    let workers = env("BENCH_CONNECTIONS", 32);
    let dir = match std::env::var("BENCH_DIR") {
        Ok(d) => std::path::PathBuf::from(d),
        Err(_) => tempfile::tempdir()?.keep(),
    };
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let db_path = dir.join("bench.db");
        let given = std::env::var("BENCH_DB").ok();
        let fresh = given.is_none() && !db_path.exists();
        let url = given.unwrap_or_else(|| format!("sqlite:{}", db_path.display()));
        let db = Db::open(&url).await?;
        let search = Arc::new(SearchIndex::open(&dir.join("index"))?);
        let circles = lifeservice::circle::CircleService::new(dir.join("network.bin"));
        let state = AppState::new(db.clone(), search.clone(), circles);
        let backend = format!("{:?}", db.backend());
        println!("## 好差评 benchmark: {reviews} reviews over {outlets} outlets ({backend})\n");
        println!("| measure | result |\n|---|---|");
        if fresh {
            let t = Instant::now();
            lifeservice::demo::generate(&db, outlets, 3, None).await?;
            search.rebuild(&db, None).await?;
            println!("| outlets generated and indexed | {:.1} s |", t.elapsed().as_secs_f64());
            let t = Instant::now();
            let written =
                lifeservice::reviews::demo::generate(&db, &state.reviews, reviews, 3, false, None)
                    .await?;
            let s = t.elapsed().as_secs_f64();
            println!(
                "| {written} reviews bulk-generated (with cases, reviewers, seeded totals) | {s:.1} s = {:.0} rows/s |",
                written as f64 / s
            );
        }
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews")
            .fetch_one(db.pool())
            .await?;
        println!("| reviews in the database | {total} |");
        if let Ok(meta) = std::fs::metadata(&db_path) {
            println!("| database file | {:.1} GB |", meta.len() as f64 / 1e9);
        }

        // Benchmark rules: the anti-abuse limits would (rightly) stop one client.
        state.reviews.set_config(ReviewConfig {
            per_account: u32::MAX,
            per_ip: u32::MAX,
            per_outlet: u32::MAX,
            codes_per_ip: u32::MAX,
            burst: lifeservice_domain::review::BurstRule {
                min_count: u32::MAX,
                ..Default::default()
            },
            ..ReviewConfig::default()
        });
        let sender = Arc::new(MemorySender::default());
        state.reviews.set_sender(sender.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = format!("http://{}", listener.local_addr()?);
        let app = router(state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM outlets WHERE status = 'open' ORDER BY id")
            .fetch_all(db.pool())
            .await?;
        let ids = Arc::new(ids);
        let client = reqwest::Client::builder().pool_max_idle_per_host(workers).build()?;

        for (label, path) in [
            ("provider page `/outlets/{id}` (HTML, quality block + 10 latest reviews)", "/outlets/"),
            ("outlet JSON `/api/v1/outlets/{id}` with `quality`", "/api/v1/outlets/"),
            ("reviews JSON `/api/v1/outlets/{id}/reviews`", "/api/v1/outlets/"),
        ] {
            let suffix = if label.starts_with("reviews") { "/reviews" } else { "" };
            let (client, ids, addr) = (client.clone(), ids.clone(), addr.clone());
            let (ok, refused, lat) = load(workers, seconds, move |i| {
                let (client, ids, addr) = (client.clone(), ids.clone(), addr.clone());
                async move {
                    let id = ids[(i.wrapping_mul(2654435761) % ids.len() as u64) as usize];
                    match client.get(format!("{addr}{path}{id}{suffix}")).send().await {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            let _ = r.bytes().await;
                            s
                        }
                        Err(_) => 0,
                    }
                }
            })
            .await;
            println!(
                "| {label} | **{:.0} req/s**, p50 {:.1} ms, p99 {:.1} ms ({}) |",
                ok as f64 / seconds as f64,
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                describe(&refused)
            );
        }

        // Reviewers sign in through the API with the codes the sender received.
        let mut tokens = Vec::new();
        for i in 0..500 {
            let phone = format!("139{:08}", i);
            client
                .post(format!("{addr}/api/v1/reviewer/code"))
                .json(&serde_json::json!({"phone": phone}))
                .send()
                .await?;
            let code = sender.last_code(&phone).expect("code");
            let body: serde_json::Value = client
                .post(format!("{addr}/api/v1/reviewer/session"))
                .json(&serde_json::json!({"phone": phone, "code": code}))
                .send()
                .await?
                .json()
                .await?;
            tokens.push(body["token"].as_str().unwrap_or_default().to_string());
        }
        let tokens = Arc::new(tokens);
        let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews")
            .fetch_one(db.pool())
            .await?;
        let texts = ["服务热情周到，价格公道", "师傅准时上门，干活仔细", "环境一般，等了很久", "收费不透明，态度也不好", "老人照顾得很好，很放心"];
        let (client2, ids2, addr2, tokens2) = (client.clone(), ids.clone(), addr.clone(), tokens.clone());
        let (ok, refused, lat) = load(workers, seconds, move |i| {
            let (client, ids, addr, tokens) = (client2.clone(), ids2.clone(), addr2.clone(), tokens2.clone());
            async move {
                // Seeded by the reviews already there too, so that a rerun on a kept
                // database draws other occasions rather than repeating (409) the last run's.
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(i ^ ((before as u64) << 24));
                let id = ids[rng.random_range(0..ids.len())];
                let token = &tokens[rng.random_range(0..tokens.len())];
                let rating = rng.random_range(1..=5);
                let text = format!("{}（第{i}次）", texts[rng.random_range(0..texts.len())]);
                let days = rng.random_range(0..90u64);
                let date = (lifeservice::time::today() - chrono::Days::new(days)).to_string();
                match client
                    .post(format!("{addr}/api/v1/outlets/{id}/reviews"))
                    .bearer_auth(token)
                    .json(&serde_json::json!({"rating": rating, "text": text, "service_date": date}))
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                }
            }
        })
        .await;
        let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews")
            .fetch_one(db.pool())
            .await?;
        println!(
            "| submit `POST /api/v1/outlets/{{id}}/reviews`, {seconds} s sustained | **{:.0} reviews/s**, p50 {:.1} ms, p99 {:.1} ms ({}, {} stored) |",
            ok as f64 / seconds as f64,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            describe(&refused),
            after - before
        );

        // The incremental totals still equal a recount for a sample of outlets.
        let sample: Vec<i64> = ids.iter().step_by((ids.len() / 50).max(1)).copied().collect();
        let mut mismatches = 0;
        for id in &sample {
            let (n, sum): (i64, i64) = sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(rating), 0) AS BIGINT) FROM reviews WHERE outlet_id = $1 AND status = 'published'")
                .bind(*id).fetch_one(db.pool()).await?;
            let t: Option<(i64, i64)> = sqlx::query_as("SELECT n, rating_sum FROM quality_totals WHERE scope = 'outlet' AND key = $1")
                .bind(id.to_string()).fetch_optional(db.pool()).await?;
            if t.unwrap_or((0, 0)) != (n, sum) {
                mismatches += 1;
            }
        }
        println!("| running totals vs recount, {} sampled outlets | {mismatches} mismatches |", sample.len());
        // SQLite maps the database file into every connection, and each mapping's
        // resident pages count in RSS again: the heap is RssAnon, not the peak.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map_or(String::new(), |v| v.trim().to_string())
        };
        println!(
            "| process memory (server + load client) | heap and stacks (RssAnon) {}; mapped database pages (RssFile, counted once per connection) {}; peak RSS {} |",
            field("RssAnon:"),
            field("RssFile:"),
            field("VmHWM:")
        );
        println!("\ndata kept in {} (BENCH_DIR to reuse)", dir.display());
        Ok::<_, anyhow::Error>(())
    })
}
