//! Registry benchmark at scale: import of a generated outlets CSV into SQLite,
//! index build, and search latency (keyword, keyword + division, near a point).
//!
//! `BENCH_OUTLETS=1000000 cargo bench -p lifeservice --bench registry`
//! (default 1,000,000). Prints a Markdown table for docs/benchmarks.md.
//!
//! `BENCH_DB=URL` imports into that empty database instead of a new SQLite file.
//! `BENCH_ONLY_IMPORT=1` stops after the import (generate + import only, for
//! iterating on the import path); `BENCH_REIMPORT=1` then imports the same file
//! a second time, which must change nothing. Both check that the change feed
//! holds one entry per registered entity and outlet.

use lifeservice::registry::fields::RecordKind;
use lifeservice::registry::import::{ImportOptions, Table, import_table};
use lifeservice::search::params::SearchParams;
use lifeservice::search::{DocKind, SearchIndex};
use lifeservice::storage::Db;
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return Ok(());
    }
    let outlets: usize = std::env::var("BENCH_OUTLETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("outlets.csv");
    let started = Instant::now();
    let written = lifeservice::demo::write_outlets_csv(&csv, outlets, 7)?;
    println!(
        "generated {written} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // BENCH_DB=URL imports into that (empty) database instead, e.g. PostgreSQL.
        let url = std::env::var("BENCH_DB")
            .unwrap_or_else(|_| format!("sqlite:{}", dir.path().join("bench.db").display()));
        let db = Db::open(&url).await?;
        println!("database: {:?}", db.backend());
        let options = ImportOptions {
            datum: Default::default(),
            actor: "bench".into(),
            synthetic: true,
            principal: None,
        };
        let started = Instant::now();
        let table = Table::open(&csv)?;
        let report = import_table(&db, RecordKind::Outlets, table, &options, None).await?;
        let import_s = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            report.rejected_rows == 0,
            "generated rows rejected: {:?}",
            &report.rejects[..report.rejects.len().min(5)]
        );

        let feed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes")
            .fetch_one(db.pool())
            .await?;
        let rows: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM entities) + (SELECT COUNT(*) FROM outlets)",
        )
        .fetch_one(db.pool())
        .await?;
        anyhow::ensure!(
            feed == rows,
            "change feed has {feed} entries for {rows} rows"
        );
        println!(
            "import: {} rows, {} outlets inserted, {} entities, {import_s:.1} s = {:.0} rows/s",
            report.rows,
            report.inserted,
            rows - report.inserted as i64,
            report.rows as f64 / import_s
        );
        if std::env::var_os("BENCH_REIMPORT").is_some() {
            let started = Instant::now();
            let again =
                import_table(&db, RecordKind::Outlets, Table::open(&csv)?, &options, None).await?;
            let s = started.elapsed().as_secs_f64();
            anyhow::ensure!(
                again.inserted == 0 && again.updated == 0 && again.unchanged == report.rows,
                "re-import changed rows: {again:?}"
            );
            println!(
                "re-import (no change): {s:.1} s = {:.0} rows/s",
                again.rows as f64 / s
            );
        }
        if std::env::var_os("BENCH_ONLY_IMPORT").is_some() {
            return Ok(());
        }

        let search = std::sync::Arc::new(SearchIndex::open(&dir.path().join("index"))?);
        let started = Instant::now();
        search.rebuild(&db, None).await?;
        let index_s = started.elapsed().as_secs_f64();
        let circles = lifeservice::circle::CircleService::new(dir.path().join("network.bin"));
        let state = lifeservice::app::AppState::new(db, search, circles);

        let keywords = [
            "便利店",
            "家政",
            "养老",
            "药店",
            "早餐",
            "维修",
            "超市",
            "幼儿园",
            "美发",
            "快递",
            "书店",
            "健身",
        ];
        let counties = [
            "140105", "140106", "140107", "140213", "140302", "140403", "140502", "140602",
            "140702", "140802", "140902", "141002", "141102",
        ];
        let points = [
            "37.87,112.55",
            "40.08,113.30",
            "37.86,113.58",
            "36.20,113.12",
            "35.49,112.85",
            "39.33,112.43",
            "37.69,112.75",
            "35.03,111.00",
            "38.42,112.73",
            "36.09,111.52",
            "37.52,111.14",
        ];
        let mut cases: Vec<(&str, Vec<HashMap<String, String>>)> = Vec::new();
        let q = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        cases.push((
            "keyword",
            (0..600)
                .map(|i| q(&[("q", keywords[i % keywords.len()])]))
                .collect(),
        ));
        cases.push((
            "keyword + division",
            (0..600)
                .map(|i| {
                    q(&[
                        ("q", keywords[i % keywords.len()]),
                        ("division", counties[i % counties.len()]),
                    ])
                })
                .collect(),
        ));
        cases.push((
            "near a point (3 km, by distance)",
            (0..600)
                .map(|i| q(&[("near", points[i % points.len()])]))
                .collect(),
        ));
        cases.push((
            "keyword near a point",
            (0..600)
                .map(|i| {
                    q(&[
                        ("q", keywords[i % keywords.len()]),
                        ("near", points[i % points.len()]),
                    ])
                })
                .collect(),
        ));

        println!("\n| measure | value |\n|---|---|");
        println!("| outlets imported | {} |", report.inserted);
        println!(
            "| import (parse, validate, upsert) | {import_s:.1} s = {:.0} rows/s |",
            report.rows as f64 / import_s
        );
        println!(
            "| index build | {index_s:.1} s = {:.0} docs/s |",
            report.rows as f64 / index_s
        );
        for (name, queries) in &cases {
            let mut times = Vec::with_capacity(queries.len());
            let mut hits = 0;
            for params in queries {
                let parsed = SearchParams::parse(params, DocKind::Outlet)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let started = Instant::now();
                // The whole API path: index query plus loading the page of outlets.
                let result = lifeservice::registry::api::run_outlet_search(&state, &parsed)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                times.push(started.elapsed());
                hits += result.total;
            }
            times.sort();
            println!(
                "| search: {name} | p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms (mean hits {}) |",
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                percentile(&times, 0.99),
                hits / queries.len()
            );
        }
        println!("| bench process peak RSS | {:.0} MB |", peak_rss_mb());
        Ok(())
    })
}
