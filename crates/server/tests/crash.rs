//! Crash safety: the real binary is killed with SIGKILL in the middle of a
//! large import, on each backend. What it committed is consistent (every
//! outlet has its entity and is in the change feed, nothing half-written),
//! the server starts on it, and running the import again reaches exactly the
//! state of one uninterrupted import.

mod common;

use common::{backends, spawn_app, spawn_app_on};
use lifeservice::storage::Db;
use sha2::{Digest, Sha256};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// Several of the importer's 10,000-row transactions, so a kill lands between commits.
const ROWS: usize = 25_000;

fn import(db_url: &str, file: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_lifeservice"))
        .args(["--db", db_url, "import", "outlets"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the lifeservice binary")
}

async fn outlets(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outlets")
        .fetch_one(db.pool())
        .await
        .unwrap_or(0)
}

/// The registry's content without timestamps or ids, which differ between runs.
async fn content(db: &Db) -> (i64, i64, String) {
    let entities: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT credit_code, name, kind, division_code FROM entities ORDER BY credit_code",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let outlets: Vec<(String, String, String, String, f64, f64)> = sqlx::query_as(
        "SELECT e.credit_code, o.name, o.address, o.service_type, o.lon, o.lat FROM outlets o \
         JOIN entities e ON e.id = o.entity_id ORDER BY e.credit_code, o.name, o.address",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut hash = Sha256::new();
    hash.update(format!("{entities:?}{outlets:?}"));
    (
        entities.len() as i64,
        outlets.len() as i64,
        format!("{:x}", hash.finalize()),
    )
}

/// Invariants of whatever was committed.
async fn assert_consistent(db: &Db) {
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outlets o WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.id = o.entity_id)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(orphans, 0, "outlets without their entity");
    let unfed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outlets o WHERE NOT EXISTS \
         (SELECT 1 FROM changes c WHERE c.object_type = 'outlet' AND c.object_id = o.id)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(unfed, 0, "outlets missing from the change feed");
}

#[tokio::test]
async fn an_import_killed_midway_leaves_consistent_data_and_reruns_to_the_same_end() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outlets.csv");
    lifeservice::demo::write_outlets_csv(&file, ROWS, 11).unwrap();
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let mut child = import(&app.db_url, &file);
        let started = Instant::now();
        loop {
            let n = outlets(&app.state.db).await;
            if n > 0 {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "{backend:?}: the import finished before it could be killed ({n} outlets)"
            );
            assert!(started.elapsed() < Duration::from_secs(120), "no progress");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let partial = outlets(&app.state.db).await;
        assert!(partial > 0, "{backend:?}");
        assert_consistent(&app.state.db).await;

        // A server restarted on the same database serves what was committed.
        let restarted = spawn_app_on(&app.db_url).await;
        restarted.state.refresh_index().await;
        let (status, body) = restarted.get_json("/api/v1/outlets?per_page=1").await;
        assert_eq!(status, 200);
        assert_eq!(
            body["total"].as_i64(),
            Some(partial),
            "{backend:?}: index of the committed rows"
        );

        // Running the import again reaches the state of one clean import.
        assert!(import(&app.db_url, &file).wait().unwrap().success());
        assert_consistent(&app.state.db).await;
        let clean = spawn_app(backend).await;
        assert!(import(&clean.db_url, &file).wait().unwrap().success());
        let (resumed, fresh) = (content(&app.state.db).await, content(&clean.state.db).await);
        assert!(resumed.1 > partial, "{backend:?}");
        assert_eq!(
            resumed, fresh,
            "{backend:?}: re-run import differs from a clean one"
        );
        clean.cleanup().await;
        restarted.cleanup().await;
        app.cleanup().await;
    }
}
