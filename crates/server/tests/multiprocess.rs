//! Several app servers on one database behave as one site: sessions and CSRF
//! tokens are valid on each, each index follows the others' writes, and
//! scheduled jobs run exactly once.

mod common;

use common::{Backend, TestApp, backends, csrf_of, outlets_csv, spawn_app, spawn_app_on};
use lifeservice::jobs::{Job, run_due, run_once};
use lifeservice::registry::fields::RecordKind;
use lifeservice::registry::import::{ImportOptions, Table, import_table};
use std::time::{Duration, Instant};

async fn search_total(app: &TestApp) -> serde_json::Value {
    app.get_json("/api/v1/outlets?division=140105").await.1["total"].clone()
}

#[tokio::test]
async fn sessions_csrf_and_search_span_processes_on_postgres() {
    if !backends().await.contains(&Backend::Postgres) {
        return;
    }
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_app_on(&a.db_url).await;
    a.add_user("officer", "division", "140105").await;

    // Signed in on A, the same cookie is a session on B, and A's CSRF token is valid there.
    let client = a.staff("officer").await;
    let page = client.get(b.url("/admin")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csrf = csrf_of(&page.text().await.unwrap());
    let forged = client
        .post(b.url("/admin/tokens"))
        .form(&[("label", "x"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let created = client
        .post(b.url("/admin/tokens"))
        .form(&[("label", "x"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);

    // A write through A's database reaches B's index within a second. B polls
    // only every ten seconds on PostgreSQL: LISTEN/NOTIFY is what wakes it.
    let _ = search_total(&b).await;
    let options = ImportOptions {
        datum: Default::default(),
        actor: "a".into(),
        synthetic: false,
        principal: None,
    };
    let table = Table::read(outlets_csv().as_bytes()).unwrap();
    import_table(&a.state.db, RecordKind::Outlets, table, &options, None)
        .await
        .unwrap();
    let written = Instant::now();
    while search_total(&b).await != 3 {
        assert!(
            written.elapsed() < Duration::from_secs(1),
            "B's index did not follow A's write within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // B caches a provider's credit records; A's new records reach B within a second.
    let path = "/api/v1/entities/91350200776049653A/credit";
    let records = |v: &serde_json::Value| v["licences"].as_array().unwrap().len();
    assert_eq!(records(&b.get_json(path).await.1), 0);
    lifeservice::credit::demo::generate_credit(&a.state.db, 1, 1)
        .await
        .unwrap();
    let written = Instant::now();
    while records(&b.get_json(path).await.1) == 0 {
        assert!(
            written.elapsed() < Duration::from_secs(1),
            "B's credit cache kept stale records"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // B keeps the provider's registration and outlets too: A's new outlet and
    // A's change of the entity's name reach B's page within a second.
    let path = "/api/v1/entities/91350200776049653A";
    let view = |v: serde_json::Value| {
        (
            v["name"].as_str().unwrap().to_string(),
            v["outlets"].as_array().unwrap().len(),
        )
    };
    let before = view(b.get_json(path).await.1);
    assert_eq!(before, ("山西安心生活服务有限公司".to_string(), 3));
    let steps = [
        (
            RecordKind::Outlets,
            "统一社会信用代码,主体名称,名称,服务类型,地址,所属社区,经度,纬度\n91350200776049653A,山西安心生活服务有限公司,安心家政（坞城店）,0101,太原市小店区坞城路1号,140105001003,112.581,37.771",
            ("山西安心生活服务有限公司", 4),
        ),
        (
            RecordKind::Entities,
            "统一社会信用代码,名称\n91350200776049653A,山西安心生活服务集团有限公司",
            ("山西安心生活服务集团有限公司", 4),
        ),
    ];
    for (kind, csv, (name, outlets)) in steps {
        let table = Table::read(csv.as_bytes()).unwrap();
        let report = import_table(&a.state.db, kind, table, &options, None)
            .await
            .unwrap();
        assert_eq!(report.rejected_rows, 0, "{:?}", report.rejects);
        let written = Instant::now();
        while view(b.get_json(path).await.1) != (name.to_string(), outlets) {
            assert!(
                written.elapsed() < Duration::from_secs(1),
                "B's entity view kept stale registration data after the {kind:?} import"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // B keeps outlet pages (the quality block and latest reviews) too:
    // reviews written through A reach B's pages within a second, each
    // outlet's totals and its service type's mean (the score's prior) alike.
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM outlets ORDER BY id")
        .fetch_all(a.state.db.pool())
        .await
        .unwrap();
    for id in &ids {
        assert_eq!(b.get_text(&format!("/outlets/{id}")).await.0, 200);
    }
    let reviews =
        lifeservice::reviews::demo::generate(&a.state.db, &a.state.reviews, 12, 7, false, None)
            .await
            .unwrap();
    assert_eq!(reviews, 12);
    let written = Instant::now();
    for id in &ids {
        let quality = &a.get_json(&format!("/api/v1/outlets/{id}/reviews")).await.1["quality"];
        let formula = quality["formula"].as_str().unwrap().to_string();
        while !b
            .get_text(&format!("/outlets/{id}"))
            .await
            .1
            .contains(&formula)
        {
            assert!(
                written.elapsed() < Duration::from_secs(1),
                "B's page of outlet {id} kept a stale quality block"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    a.cleanup().await;
}

#[tokio::test]
async fn scheduled_jobs_run_exactly_once_across_processes() {
    for backend in backends().await {
        let a = spawn_app(backend).await;
        let b = spawn_app_on(&a.db_url).await;
        let c = spawn_app_on(&a.db_url).await;
        let (ra, rb, rc) = tokio::join!(
            run_due(&a.state.db),
            run_due(&b.state.db),
            run_due(&c.state.db)
        );
        let ran: usize = [ra, rb, rc].into_iter().map(|r| r.unwrap().len()).sum();
        assert_eq!(ran, Job::ALL.len(), "{backend:?}: each job once");
        let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_runs")
            .fetch_one(a.state.db.pool())
            .await
            .unwrap();
        assert_eq!(runs, Job::ALL.len() as i64);
        // The next period runs again, once.
        let now = lifeservice::time::now();
        assert!(
            run_once(&b.state.db, Job::CreditExpiry, "next", now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            run_once(&a.state.db, Job::CreditExpiry, "next", now)
                .await
                .unwrap()
                .is_none()
        );
        a.cleanup().await;
    }
}

#[tokio::test]
async fn rate_limits_hold_for_the_site_not_each_process() {
    if !backends().await.contains(&Backend::Postgres) {
        return;
    }
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_app_on(&a.db_url).await;
    // Ten sign-in attempts a minute per address: alternating between two
    // servers does not double that.
    let mut limited = Vec::new();
    for i in 0..12 {
        let app = if i % 2 == 0 { &a } else { &b };
        let response = app
            .client()
            .post(app.url("/login"))
            .form(&[("username", "nobody"), ("password", "wrong-password")])
            .send()
            .await
            .unwrap();
        limited.push(response.status().as_u16() == 429);
    }
    assert_eq!(limited, [vec![false; 10], vec![true; 2]].concat());
    drop(b);
    a.cleanup().await;
}
