//! Credit benchmark: import of generated penalty records into SQLite with
//! full validation, against the sqlite3 shell's `.import` of the same CSV as
//! the floor; then the provider page and the credit API under `wrk` with all
//! those records in the database.
//!
//! `BENCH_RECORDS=1000000 cargo bench -p lifeservice --bench credit`
//! (default 1,000,000; the registry holds the demo's entities for
//! `BENCH_OUTLETS` outlets, default one per 20 records, so ~30 records each). Needs `sqlite3` and `wrk` on the PATH for the floor and the
//! page figures; prints a Markdown table for docs/benchmarks.md. `BENCH_DB=URL`
//! runs on that empty database instead of a new SQLite file.

use lifeservice::credit::import::{CreditImportOptions, import_credit};
use lifeservice::registry::import::Table;
use lifeservice::storage::Db;
use lifeservice_domain::credit::RecordKind;
use std::process::Command;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `wrk` for `seconds` on `url`; returns requests per second and the p99 line.
fn wrk(url: &str, seconds: u32) -> Option<(f64, String)> {
    if seconds == 0 {
        return None;
    }
    let out = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rate = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
        .unwrap_or_default();
    let errors = text.lines().find(|l| l.contains("Non-2xx"));
    if let Some(line) = errors {
        eprintln!("wrk reported errors on {url}: {line}");
    }
    Some((rate, p99))
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return Ok(());
    }
    let records = env_usize("BENCH_RECORDS", 1_000_000);
    let outlets = env_usize("BENCH_OUTLETS", (records / 20).max(1000));
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let db_path = dir.path().join("bench.db");
        // BENCH_DB=URL runs on that (empty) database instead, e.g. PostgreSQL.
        let url = std::env::var("BENCH_DB").unwrap_or_else(|_| format!("sqlite:{}", db_path.display()));
        let db = Db::open(&url).await?;
        println!("database: {:?}", db.backend());
        lifeservice::demo::generate(&db, outlets, 7, None).await?;
        let subjects = lifeservice::credit::demo::credit_subjects(&db).await?;
        let [(_, agency), ..] = lifeservice::credit::demo::demo_agencies();

        let csv = dir.path().join("penalties.csv");
        let started = Instant::now();
        let file = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        lifeservice::credit::demo::write_credit_csv(file, RecordKind::Penalty, &subjects, &agency, (0, records, 1), 7)?;
        println!(
            "generated {records} penalties over {} entities in {:.1} s ({} MB)",
            subjects.len(),
            started.elapsed().as_secs_f64(),
            std::fs::metadata(&csv)?.len() / 1_000_000
        );

        let options = CreditImportOptions {
            actor: "bench".into(),
            submitter: Some(agency.code.clone()),
            register_unknown: false,
            rules: Default::default(),
        };
        let started = Instant::now();
        let table = Table::open(&csv)?;
        let report = import_credit(&db, RecordKind::Penalty, table, &options, None).await?;
        let import_s = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            report.rejected_rows == 0 && report.inserted == records,
            "generated rows rejected: {:?}",
            &report.rejects[..report.rejects.len().min(5)]
        );

        let floor = dir.path().join("floor.db");
        let started = Instant::now();
        let shell = Command::new("sqlite3")
            .arg(&floor)
            .args(["-cmd", ".mode csv", &format!(".import {} t", csv.display())])
            .status();
        let floor_s = shell
            .ok()
            .filter(|s| s.success())
            .map(|_| started.elapsed().as_secs_f64());

        let search = std::sync::Arc::new(lifeservice::search::SearchIndex::open(&dir.path().join("index"))?);
        search.rebuild(&db, None).await?;
        let circles = lifeservice::circle::CircleService::new(dir.path().join("network.bin"));
        let state = lifeservice::app::AppState::new(db, search, circles);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = lifeservice::app::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        // A provider with records in every state: the first subject.
        let code = &subjects[0].0;
        let seconds = env_usize("BENCH_SECONDS", 10) as u32;
        let (page, api) = tokio::task::spawn_blocking({
            let page = format!("http://{addr}/entities/{code}");
            let api = format!("http://{addr}/api/v1/entities/{code}/credit");
            move || (wrk(&page, seconds), wrk(&api, seconds))
        })
        .await?;

        let db_size = std::fs::metadata(&db_path)
            .map_or_else(|_| "— (not a SQLite file)".to_string(), |m| format!("{} MB", m.len() / 1_000_000));
        println!("\n| measure | value | target |\n|---|---|---|");
        println!(
            "| import {records} penalties, full validation | {import_s:.1} s, **{:.0} records/s** | ≥ 100,000/s |",
            records as f64 / import_s
        );
        match floor_s {
            Some(s) => println!(
                "| sqlite3 `.import` of the same CSV (floor, no validation, no index) | {s:.1} s, {:.0} rows/s | — |",
                records as f64 / s
            ),
            None => println!("| sqlite3 `.import` floor | sqlite3 not found | — |"),
        }
        println!("| database size | {db_size} | — |");
        for (what, result) in [("provider page `/entities/{code}`", page), ("credit API `/api/v1/entities/{code}/credit`", api)] {
            match result {
                Some((rate, p99)) => println!("| {what} | **{rate:.0} req/s**, p99 {p99} | ≥ 2,000 req/s |"),
                None => println!("| {what} | wrk not found | ≥ 2,000 req/s |"),
            }
        }
        Ok(())
    })
}
