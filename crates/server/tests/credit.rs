//! Credit disclosure end to end, on every backend: submission with per-row
//! rejects, provenance, disclosure windows, repair, and the exchange export.

mod common;

use common::{TestApp, backends, spawn_app};
use lifeservice::credit::fields::columns;
use lifeservice_domain::CreditCode;
use lifeservice_domain::credit::RecordKind;
use serde_json::{Value, json};

const ENTITY: &str = "91350200776049653A";

fn code(body: &str) -> String {
    CreditCode::from_body(body).unwrap().to_string()
}

fn days_ago(days: u64) -> String {
    (lifeservice::time::today() - chrono::Days::new(days))
        .format("%Y/%m/%d")
        .to_string()
}

/// A CSV in the template layout: one line per row of `key → value` pairs.
fn csv(kind: RecordKind, rows: &[Vec<(&str, String)>]) -> String {
    let cols = columns(kind);
    let mut out = cols.iter().map(|c| c.header).collect::<Vec<_>>().join(",");
    for row in rows {
        out.push('\n');
        let cells: Vec<String> = cols
            .iter()
            .map(|c| {
                row.iter()
                    .find(|(k, _)| *k == c.key)
                    .map(|(_, v)| format!("\"{v}\""))
                    .unwrap_or_default()
            })
            .collect();
        out.push_str(&cells.join(","));
    }
    out
}

fn penalty(
    doc: &str,
    agency: &str,
    overrides: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let mut row = vec![
        ("subject_name", "山西安心生活服务有限公司".to_string()),
        ("subject_category", "个体工商户".into()),
        ("credit_code", ENTITY.into()),
        ("legal_rep", "王小明".into()),
        ("id_type", "身份证".into()),
        ("id_number", "140105199001011234".into()),
        ("decision_no", doc.into()),
        ("violation_type", "价格违法".into()),
        ("facts", "未明码标价".into()),
        ("basis", "《价格法》第四十二条".into()),
        ("penalty_categories", "罚款".into()),
        ("content", "罚款二万元".into()),
        ("fine_wan_yuan", "2".into()),
        ("decision_date", days_ago(150)),
        ("authority", "太原市小店区商务局".into()),
        ("authority_code", agency.into()),
        ("source_name", "太原市小店区商务局".into()),
        ("source_code", agency.into()),
    ];
    for (k, v) in overrides {
        row.retain(|(key, _)| key != k);
        row.push((k, v.clone()));
    }
    row
}

/// Imports penalties as department `agency` would from the command line.
async fn import_penalties(
    db: &lifeservice::storage::Db,
    agency: &str,
    rows: &[Vec<(&'static str, String)>],
    register_unknown: bool,
) -> lifeservice::registry::import::ImportReport {
    let options = lifeservice::credit::import::CreditImportOptions {
        actor: "test".into(),
        submitter: Some(CreditCode::parse(agency).unwrap()),
        register_unknown,
        rules: Default::default(),
    };
    let table =
        lifeservice::registry::import::Table::read(csv(RecordKind::Penalty, rows).into_bytes())
            .unwrap();
    lifeservice::credit::import::import_credit(db, RecordKind::Penalty, table, &options, None)
        .await
        .unwrap()
}

async fn department(app: &TestApp, name: &str, agency: &str) -> String {
    let token = app.add_user(name, "department", "01").await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(name.to_string())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let agency = lifeservice::auth::Agency {
        code: CreditCode::parse(agency).unwrap(),
        name: format!("{name}局"),
    };
    lifeservice::auth::set_agency(&app.state.db, id, &agency)
        .await
        .unwrap();
    token
}

async fn post(
    app: &TestApp,
    token: &str,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let response = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn post_json(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn profile(app: &TestApp, token: Option<&str>) -> Value {
    let mut request = app
        .client()
        .get(app.url(&format!("/api/v1/entities/{ENTITY}/credit")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn penalties_are_validated_attributed_windowed_and_repaired() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        app.seed_outlets().await;
        let (a, b) = (code("11140105MB0000001"), code("11140105MB0000002"));
        let officer_a = department(&app, "shangwu", &a).await;
        let officer_b = department(&app, "shichang", &b).await;

        let file = csv(
            RecordKind::Penalty,
            &[
                penalty("并小商罚〔2026〕1号", &a, &[]),
                penalty(
                    "并小商罚〔2020〕9号",
                    &a,
                    &[("decision_date", "2020/01/15".into())],
                ),
                penalty("R3", &a, &[("credit_code", code("91140105MA0000009"))]),
                penalty("R4", &a, &[("decision_date", "2099/01/01".into())]),
                penalty("R5", &a, &[("fine_wan_yuan", "-3".into())]),
                penalty("R6", &a, &[("penalty_categories", "罚款;打板子".into())]),
                penalty("R7", &a, &[("authority_code", "1114010512345".into())]),
                penalty("R8", &a, &[("source_code", b.clone())]),
            ],
        );
        let (status, report) = post(&app, &officer_a, "/api/v1/credit/penalties", file).await;
        assert_eq!(status, 200, "{backend:?} {report}");
        assert_eq!(report["inserted"], 2, "{report}");
        let rejects: Vec<(u64, &str)> = report["rejects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["row"].as_u64().unwrap(), r["column"].as_str().unwrap()))
            .collect();
        assert_eq!(
            rejects,
            [
                (5, "处罚决定日期"),
                (6, "罚款金额（万元）"),
                (7, "处罚类别"),
                (8, "处罚机关统一社会信用代码"),
                (9, "数据来源单位统一社会信用代码"),
                (4, "统一社会信用代码"),
            ]
        );

        // The public sees the penalty inside its window, masked; the old one is gone.
        let public = profile(&app, None).await;
        let penalties = public["penalties"].as_array().unwrap();
        assert_eq!(penalties.len(), 1, "{public}");
        let p = &penalties[0];
        assert_eq!(p["decision_no"], "并小商罚〔2026〕1号");
        assert_eq!(p["fine_wan_yuan"], "2");
        assert_eq!(p["source_department"], "太原市小店区商务局");
        assert!(p["disclosure_until"].as_str().is_some());
        assert_eq!(
            p["id_number"].as_str().unwrap().len(),
            "140105199001011234".len()
        );
        assert!(!p["id_number"].as_str().unwrap().contains("19900101"));
        assert!(p.get("submitted_by").is_none());
        assert!(
            public["summary"]
                .as_str()
                .unwrap()
                .contains("公示期内有1项行政处罚")
        );
        assert!(
            public["summary"]
                .as_str()
                .unwrap()
                .contains("无行政许可记录")
        );
        // Search can leave out providers with a penalty in its window.
        let (_, hits) = app.get_json("/api/v1/outlets?q=安心&no_penalty=1").await;
        assert_eq!(hits["total"], 0, "{hits}");
        let (_, hits) = app.get_json("/api/v1/outlets?q=安心").await;
        assert_eq!(hits["total"], 3, "{hits}");
        // Officers also see the expired one, marked not public.
        let officer = profile(&app, Some(&officer_b)).await;
        assert_eq!(officer["penalties"].as_array().unwrap().len(), 2);
        assert!(
            officer["penalties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["public"] == false)
        );

        // Another department cannot take over a 文书号; its owner corrects it.
        let (_, report) = post(
            &app,
            &officer_b,
            "/api/v1/credit/penalties",
            csv(
                RecordKind::Penalty,
                &[penalty("并小商罚〔2026〕1号", &b, &[])],
            ),
        )
        .await;
        assert_eq!(report["rejected_rows"], 1, "{report}");
        assert!(
            report["rejects"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("已由其他部门")
        );
        let corrected = penalty(
            "并小商罚〔2026〕1号",
            &a,
            &[
                ("content", "罚款一万元".into()),
                ("fine_wan_yuan", "1".into()),
            ],
        );
        let (_, report) = post(
            &app,
            &officer_a,
            "/api/v1/credit/penalties",
            csv(RecordKind::Penalty, std::slice::from_ref(&corrected)),
        )
        .await;
        assert_eq!(report["updated"], 1, "{report}");
        let (_, report) = post(
            &app,
            &officer_a,
            "/api/v1/credit/penalties",
            csv(RecordKind::Penalty, &[corrected]),
        )
        .await;
        assert_eq!(
            report["unchanged"], 1,
            "re-submitting the same is a no-op: {report}"
        );
        let p = &profile(&app, None).await["penalties"][0];
        assert_eq!(
            (p["content"].as_str(), p["version"].as_i64()),
            (Some("罚款一万元"), Some(2))
        );
        let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credit_record_versions")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(versions, 1);
        let id = p["id"].as_i64().unwrap();

        // Only the source department may withdraw.
        let (status, _) = post_json(
            &app,
            &officer_b,
            &format!("/api/v1/credit/records/{id}/withdraw"),
            json!({"reason": "误报"}),
        )
        .await;
        assert_eq!(status, 403);

        // Credit repair: the entity applies, its source department decides.
        let entity = app.add_user("anxin", "entity", ENTITY).await;
        let path = format!("/api/v1/credit/records/{id}/repairs");
        let (status, body) = post_json(
            &app,
            &entity,
            &path,
            json!({"proof": "", "pledge": "守法经营"}),
        )
        .await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some("proof"))
        );
        let (status, repair) = post_json(
            &app,
            &entity,
            &path,
            json!({"proof": "罚款已缴纳，票据号0001", "pledge": "今后明码标价，守法经营"}),
        )
        .await;
        assert_eq!(status, 200, "{repair}");
        let decision = format!("/api/v1/credit/repairs/{}/decision", repair["id"]);
        let (status, _) = post_json(&app, &officer_b, &decision, json!({"approve": true})).await;
        assert_eq!(status, 403, "only the source department decides");
        let (status, body) =
            post_json(&app, &officer_a, &decision, json!({"approve": false})).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some("reason"))
        );
        let (status, body) = post_json(&app, &officer_a, &decision, json!({"approve": true})).await;
        assert_eq!((status, body["state"].as_str()), (200, Some("approved")));
        let public = profile(&app, None).await;
        assert!(
            public["penalties"].as_array().unwrap().is_empty(),
            "{public}"
        );
        assert!(
            public["summary"]
                .as_str()
                .unwrap()
                .contains("公示期内无行政处罚记录")
        );
        let (_, hits) = app.get_json("/api/v1/outlets?q=安心&no_penalty=1").await;
        assert_eq!(
            hits["total"], 3,
            "a repaired penalty no longer counts: {hits}"
        );
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE object_type IN ('credit_record', 'credit_repair')")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert!(
            audited >= 4,
            "correction, application, approval and repair are audited: {audited}"
        );
        app.cleanup().await;
    }
}

fn licence(doc: &str, agency: &str, from: &str, until: &str) -> Vec<(&'static str, String)> {
    vec![
        ("subject_name", "山西安心生活服务有限公司".to_string()),
        ("subject_category", "法人及非法人组织".into()),
        ("credit_code", ENTITY.into()),
        ("decision_title", "食品经营许可决定书".into()),
        ("decision_no", doc.into()),
        ("licence_category", "普通".into()),
        ("content", "预包装食品销售".into()),
        ("decision_date", from.into()),
        ("valid_from", from.into()),
        ("valid_until", until.into()),
        ("authority", "太原市小店区行政审批服务管理局".into()),
        ("authority_code", agency.into()),
        ("source_name", "太原市小店区行政审批服务管理局".into()),
        ("source_code", agency.into()),
    ]
}

#[tokio::test]
async fn licences_round_trip_through_the_exchange_export() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        app.seed_outlets().await;
        let agency = code("11140105MB0000003");
        let officer = department(&app, "shenpi", &agency).await;
        let file = csv(
            RecordKind::Licence,
            &[
                licence("晋食许1号", &agency, "2024/01/01", "2099/12/31"),
                licence("晋食许2号", &agency, "2020/01/01", "2021/12/31"),
                licence("晋食许3号", &agency, "2024/05/01", "2024/04/30"),
            ],
        )
        // Half-width parentheses and XLSX-style headers are accepted alike.
        .replace("（", "(")
        .replace("）", ")");
        let (_, report) = post(&app, &officer, "/api/v1/credit/licences", file).await;
        assert_eq!(
            (
                report["inserted"].as_u64(),
                report["rejected_rows"].as_u64()
            ),
            (Some(2), Some(1)),
            "{report}"
        );
        assert!(
            report["rejects"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("早于有效期自")
        );

        let public = profile(&app, None).await;
        let states: Vec<&str> = public["licences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["licence_state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["valid", "expired"]);
        assert_eq!(public["licences"][0]["valid_until"], "长期");

        let export = app
            .client()
            .get(app.url("/api/v1/credit/export?kind=licences&format=csv"))
            .bearer_auth(&officer)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(export.contains("2099/12/31"), "{export}");
        let (status, body) = app.get_json("/api/v1/credit/export?kind=licences").await;
        assert_eq!(status, 401, "{body}");

        // A fresh instance importing the export has the same records.
        let other = spawn_app(backend).await;
        other.seed_outlets().await;
        let officer2 = department(&other, "shenpi", &agency).await;
        let (_, report) = post(&other, &officer2, "/api/v1/credit/licences", export).await;
        assert_eq!(report["inserted"], 2, "{report}");
        let strip = |v: &Value| {
            v["licences"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    for k in ["id", "updated_at"] {
                        l.as_object_mut().unwrap().remove(k);
                    }
                    l
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&profile(&other, None).await), strip(&public));

        let page = app
            .client()
            .get(app.url(&format!("/entities/{ENTITY}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("信用信息") && page.contains("晋食许1号") && page.contains("长期"),
            "provider page shows credit"
        );
        other.cleanup().await;
        app.cleanup().await;
    }
}

#[tokio::test]
async fn unknown_entities_are_rejected_or_registered_as_placeholders() {
    let app = spawn_app(common::Backend::Sqlite).await;
    let agency = code("11140105MB0000004");
    let officer = department(&app, "jianguan", &agency).await;
    let stranger = code("91140105MA0000077");
    let file = csv(
        RecordKind::Penalty,
        &[penalty("X1", &agency, &[("credit_code", stranger.clone())])],
    );
    let (_, report) = post(&app, &officer, "/api/v1/credit/penalties", file.clone()).await;
    assert_eq!(report["rejected_rows"], 1);
    let (_, report) = post(
        &app,
        &officer,
        "/api/v1/credit/penalties?register_unknown=true",
        file,
    )
    .await;
    assert_eq!(report["inserted"], 1, "{report}");
    let unregistered: i64 =
        sqlx::query_scalar("SELECT unregistered FROM entities WHERE credit_code = $1")
            .bind(stranger)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(unregistered, 1);
    let (status, body) = app.get_json("/api/v1/credit/templates/penalties").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get_json("/api/v1/credit/templates/fines").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

/// Entity ids are kept from batch to batch of one import: a code that the
/// first batch registers as a placeholder must be found, not registered
/// again, by the next (which would break the code's uniqueness).
#[tokio::test]
async fn a_placeholder_registered_by_one_batch_is_found_by_the_next() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let db = &app.state.db;
        let agency = code("11140105MB0000004");
        let stranger = code("91140105MA0000077");
        // More rows than one batch writes (5,000), all for the same unknown entity.
        let rows: Vec<_> = (0..5_200)
            .map(|i| {
                penalty(
                    &format!("晋罚〔2026〕{i}号"),
                    &agency,
                    &[("credit_code", stranger.clone())],
                )
            })
            .collect();
        let report = import_penalties(db, &agency, &rows, true).await;
        assert_eq!(
            (report.inserted, report.rejected_rows),
            (5_200, 0),
            "{backend:?}: {:?}",
            report.rejects.first()
        );
        let (entities, ids): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM entities WHERE credit_code = $1), COUNT(DISTINCT entity_id) FROM credit_records",
        )
        .bind(stranger)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!((entities, ids), (1, 1), "{backend:?}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_expiry_job_stamps_penalties_whose_window_ended() {
    let app = spawn_app(common::Backend::Sqlite).await;
    app.seed_outlets().await;
    let agency = code("11140105MB0000005");
    let officer = department(&app, "jianguan", &agency).await;
    let file = csv(RecordKind::Penalty, &[penalty("E1", &agency, &[])]);
    let (_, report) = post(&app, &officer, "/api/v1/credit/penalties", file).await;
    assert_eq!(report["inserted"], 1, "{report}");
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    let now = lifeservice::time::now();
    let soon = lifeservice::credit::store::stamp_expired(&mut conn, now + chrono::Days::new(30))
        .await
        .unwrap();
    assert!(soon.starts_with("0 "), "still public in a month: {soon}");
    let later = now + chrono::Days::new(400);
    let outcome = lifeservice::credit::store::stamp_expired(&mut conn, later)
        .await
        .unwrap();
    assert!(outcome.starts_with("1 "), "{outcome}");
    let again = lifeservice::credit::store::stamp_expired(&mut conn, later)
        .await
        .unwrap();
    assert!(again.starts_with("0 "), "idempotent: {again}");
}

/// Regression: SQLite read every penalty through the (kind, 文书号) key to
/// find a list of entities' penalties, which made `reindex` take seconds per
/// 500 entities at province scale.
#[tokio::test]
async fn sqlite_finds_an_entitys_records_by_the_entity_index() {
    let app = spawn_app(common::Backend::Sqlite).await;
    lifeservice::demo::generate(&app.state.db, 2000, 5, None)
        .await
        .unwrap();
    lifeservice::credit::demo::generate_credit(&app.state.db, 1, 1)
        .await
        .unwrap();
    // Demo 文书号 read like real ones (…罚〔2024〕12号), no English inside.
    let docs: Vec<String> = sqlx::query_scalar("SELECT doc_no FROM credit_records")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(!docs.is_empty());
    for doc in &docs {
        assert!(!doc.chars().any(|c| c.is_ascii_alphabetic()), "{doc}");
    }
    // They name the 法定代表人 the registry has, as the 双公示 layout asks.
    let (code, legal_rep): (String, String) = sqlx::query_as(
        "SELECT e.credit_code, e.legal_rep FROM entities e WHERE e.kind <> 'individual_business' \
         AND e.legal_rep IS NOT NULL AND EXISTS (SELECT 1 FROM credit_records r WHERE r.entity_id = e.id \
         AND r.kind = 'licence') ORDER BY e.id LIMIT 1",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    let (_, credit) = app
        .get_json(&format!("/api/v1/entities/{code}/credit"))
        .await;
    assert!(
        credit["licences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["legal_rep"] == legal_rep.as_str()),
        "{legal_rep}: {credit}"
    );
    // As the server finds the file when it next starts.
    let reopened = lifeservice::storage::Db::open(&app.db_url).await.unwrap();
    let mut conn = reopened.pool().acquire().await.unwrap();
    // A few entities (a page) and a long list (reindex, 500 at a time).
    for ids in [3, 500] {
        let list: Vec<String> = (1..=ids).map(|i| i.to_string()).collect();
        let sql = lifeservice::credit::store::penalty_until_sql(&list.join(", "));
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let detail: Vec<String> = rows
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
            .collect();
        assert!(
            detail.iter().any(|d| d.contains("credit_records_entity")),
            "{ids}: {detail:?}"
        );
    }
}

async fn has_planner_statistics(db: &lifeservice::storage::Db) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        .fetch_one(db.pool())
        .await
        .unwrap()
        > 0
}

/// A web upload of a few rows must not pay for a sampled ANALYZE of the
/// whole file (seconds at province scale); a large import refreshes them.
#[tokio::test]
async fn only_large_imports_refresh_planner_statistics() {
    let app = spawn_app(common::Backend::Sqlite).await;
    let report = app.seed_outlets().await;
    assert!(report.inserted > 0);
    assert!(!has_planner_statistics(&app.state.db).await);
    lifeservice::storage::StatsRefresh::new(&["outlets"])
        .finish(&app.state.db, lifeservice::storage::ANALYZE_AFTER_ROWS)
        .await
        .unwrap();
    assert!(has_planner_statistics(&app.state.db).await);
}

/// A large import into a PostgreSQL table that was empty refreshes its
/// statistics on the way: a plan made for the empty table scanned it whole
/// for every batch (250 rows/s at a million penalties).
#[tokio::test]
async fn a_large_import_refreshes_statistics_on_the_way_on_postgresql() {
    if !backends().await.contains(&common::Backend::Postgres) {
        return;
    }
    let app = spawn_app(common::Backend::Postgres).await;
    let db = &app.state.db;
    lifeservice::demo::generate(db, 500, 7, None).await.unwrap();
    let subjects = lifeservice::credit::demo::credit_subjects(db)
        .await
        .unwrap();
    let [(_, agency), ..] = lifeservice::credit::demo::demo_agencies();
    let rows = lifeservice::storage::ANALYZE_AFTER_ROWS + 2_000;
    let mut csv = Vec::new();
    lifeservice::credit::demo::write_credit_csv(
        &mut csv,
        RecordKind::Penalty,
        &subjects,
        &agency,
        (0, rows, 1),
        7,
    )
    .unwrap();
    let options = lifeservice::credit::import::CreditImportOptions {
        actor: "test".into(),
        submitter: Some(agency.code.clone()),
        register_unknown: false,
        rules: Default::default(),
    };
    let table = lifeservice::registry::import::Table::read(&csv).unwrap();
    let report =
        lifeservice::credit::import::import_credit(db, RecordKind::Penalty, table, &options, None)
            .await
            .unwrap();
    assert_eq!(report.inserted, rows, "{:?}", &report.rejects[..1]);
    // The row estimate ANALYZE leaves in the catalogue (0 or -1 before any).
    let estimate: f64 = sqlx::query_scalar(
        "SELECT CAST(reltuples AS DOUBLE PRECISION) FROM pg_class WHERE oid = CAST('credit_records' AS regclass)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(
        estimate >= lifeservice::storage::ANALYZE_AFTER_ROWS as f64,
        "credit_records not analyzed during the import: {estimate} rows estimated"
    );
    app.cleanup().await;
}

/// Migration 15 rewrote stored items from keyed objects to positional
/// arrays and dropped the columns that repeated them: a record stored before
/// it reads back the same, keeps its earlier version, and re-submitting it
/// unchanged is still a no-op (PostgreSQL writes the arrays with other
/// spacing than ours, so the comparison must be by value).
#[tokio::test]
async fn records_stored_before_the_items_migration_read_back_the_same() {
    use lifeservice::credit::fields::{self, RowContext};
    for backend in backends().await {
        let (url, _dir, schema) = common::fresh_database(backend).await;
        let agency = code("11140105MB0000004");
        let row = penalty(
            "晋罚〔2020〕7号",
            &agency,
            &[
                ("subject_category", "自然人".into()),
                ("credit_code", String::new()),
                ("remarks", "迁移前".into()),
            ],
        );
        let cols = columns(RecordKind::Penalty);
        let cells: Vec<Option<&str>> = cols
            .iter()
            .map(|c| {
                row.iter()
                    .find(|(k, _)| *k == c.key)
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        let submitter = CreditCode::parse(&agency).unwrap();
        let rules = Default::default();
        let ctx = RowContext {
            today: lifeservice::time::today(),
            rules: &rules,
            submitter: Some(&submitter),
        };
        let parsed = fields::parse_row(RecordKind::Penalty, &cols, &cells, &ctx).unwrap();
        let keyed = fields::items_by_key(RecordKind::Penalty, &parsed.items);
        let mut earlier = keyed.clone();
        earlier.insert("content".into(), "警告".into());

        let old = lifeservice::storage::Db::open_before(&url, 15)
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO credit_records (kind, doc_no, entity_id, subject_name, subject_category, credit_code, source_code, source_name, \
             submitted_by, decision_date, valid_from, valid_until, publish_until, repairable_from, severity, state, version, fields_json, \
             content_hash, created_at, updated_at) VALUES ('penalty', $1, NULL, $2, 'natural_person', NULL, $3, $4, 'old', $5, NULL, NULL, \
             $6, NULL, 'general', 'active', 2, $7, 'x', '2020-01-01', '2020-01-01') RETURNING id",
        )
        .bind(parsed.doc_no.clone())
        .bind(parsed.subject_name.clone())
        .bind(agency.clone())
        .bind(parsed.source_name.clone())
        .bind(parsed.decision_date.to_string())
        .bind(parsed.window.as_ref().and_then(|w| w.publish_until).map(|d| d.to_string()))
        .bind(serde_json::to_string(&keyed).unwrap())
        .fetch_one(old.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO credit_record_versions (record_id, version, state, fields_json, replaced_at, replaced_by, reason) \
             VALUES ($1, 1, 'active', $2, '2020-01-02', 'old', '更正')",
        )
        .bind(id)
        .bind(serde_json::to_string(&earlier).unwrap())
        .execute(old.pool())
        .await
        .unwrap();
        old.pool().close().await;

        let db = lifeservice::storage::Db::open(&url).await.unwrap();
        let select = format!(
            "{} WHERE id = $1",
            lifeservice::credit::store::RECORD_SELECT
        );
        let stored = sqlx::query(&select)
            .bind(id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        let record = lifeservice::credit::store::record_from_row(&stored).unwrap();
        assert_eq!(record.fields, keyed, "{backend:?}");
        assert_eq!(
            (
                record.subject_category.as_str(),
                record.credit_code.as_deref(),
                record.version
            ),
            ("natural_person", None, 2),
            "{backend:?}"
        );
        let version: String =
            sqlx::query_scalar("SELECT items FROM credit_record_versions WHERE record_id = $1")
                .bind(id)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(
            fields::items_by_key(RecordKind::Penalty, &version),
            earlier,
            "{backend:?}"
        );

        let report = import_penalties(&db, &agency, &[row], false).await;
        assert_eq!(
            (report.unchanged, report.updated, report.inserted),
            (1, 0, 0),
            "{backend:?}: {:?}",
            report.rejects
        );
        db.pool().close().await;
        if let Some(schema) = schema {
            common::drop_schema(&schema).await;
        }
    }
}

/// One import whose rows are partly stored already, spread over several
/// statements of one batch: on SQLite the new ones go in first and the taken
/// 文书号 are sorted out after (another department's rejected, unchanged ones
/// left, changed ones corrected), which must come to what PostgreSQL's
/// look-up-first path gives.
#[tokio::test]
async fn a_batch_mixing_new_and_stored_records_sorts_each_out() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let db = &app.state.db;
        let (a, b) = (code("11140105MB0000004"), code("11140105MB0000012"));
        let import = |agency: &str, rows: Vec<Vec<(&'static str, String)>>| {
            let agency = agency.to_string();
            async move { import_penalties(db, &agency, &rows, true).await }
        };
        let doc = |i: usize| format!("晋罚〔2026〕{i}号");
        // Department B owns 0..300, department A 300..900.
        let first = import(&b, (0..300).map(|i| penalty(&doc(i), &b, &[])).collect()).await;
        assert_eq!(first.inserted, 300, "{backend:?}");
        let first = import(&a, (300..900).map(|i| penalty(&doc(i), &a, &[])).collect()).await;
        assert_eq!(first.inserted, 600, "{backend:?}");

        // A again, 1,500 rows: 0..300 B's (rejected), 300..600 unchanged,
        // 600..900 changed, 900..1500 new; interleaved over the statements.
        let rows = (0..1500)
            .map(|k| (k * 7) % 1500)
            .map(|i| {
                let content = if (600..900).contains(&i) {
                    "罚款三万元"
                } else {
                    "罚款二万元"
                };
                penalty(&doc(i), &a, &[("content", content.into())])
            })
            .collect();
        let report = import(&a, rows).await;
        assert_eq!(
            (
                report.inserted,
                report.updated,
                report.unchanged,
                report.rejected_rows
            ),
            (600, 300, 300, 300),
            "{backend:?}: {:?}",
            report.rejects.first()
        );
        assert!(
            report
                .rejects
                .iter()
                .all(|r| r.reason.contains("已由其他部门"))
        );
        let (records, versions, by_b): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM credit_records), (SELECT COUNT(*) FROM credit_record_versions), \
             (SELECT COUNT(*) FROM credit_records WHERE source_code = $1)",
        )
        .bind(b.clone())
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!((records, versions, by_b), (1500, 300, 300), "{backend:?}");
        app.cleanup().await;
    }
}

/// A file whose last line is not UTF-8, beyond the first 64 KiB that tell the
/// file's encoding (blank lines, which imports skip, pad a short file).
fn file_ending_in_a_broken_line(good: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut bytes = good.as_bytes().to_vec();
    bytes.resize(bytes.len().max(70_000), b'\n');
    bytes.extend_from_slice(b"\n\"\xFF\xFE\",x\n");
    std::fs::write(file.path(), bytes).unwrap();
    file
}

/// Reading stops at a broken line and says where; every row before it, those
/// of the unfinished last batch too, is imported and counted.
#[tokio::test]
async fn a_broken_line_stops_a_credit_import_and_keeps_every_row_before_it() {
    let app = spawn_app(common::Backend::Sqlite).await;
    app.seed_outlets().await;
    let db = &app.state.db;
    let agency = code("11140105MB0000004");
    let rows: Vec<_> = (0..5_200)
        .map(|i| penalty(&format!("晋罚〔2026〕{i}号"), &agency, &[]))
        .collect();
    let file = file_ending_in_a_broken_line(&csv(RecordKind::Penalty, &rows));
    let options = lifeservice::credit::import::CreditImportOptions {
        actor: "test".into(),
        submitter: Some(CreditCode::parse(&agency).unwrap()),
        register_unknown: false,
        rules: Default::default(),
    };
    let table = lifeservice::registry::import::Table::open(file.path()).unwrap();
    let report =
        lifeservice::credit::import::import_credit(db, RecordKind::Penalty, table, &options, None)
            .await
            .unwrap();
    assert_eq!(
        (
            report.rows,
            report.inserted,
            report.rejected_rows,
            report.unchanged
        ),
        (5_201, 5_200, 1, 0)
    );
    let reject = &report.rejects[0];
    assert_eq!(reject.row, 5_202);
    assert_eq!(reject.reason, "第5202行无法解析：不是UTF-8编码的文本");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credit_records")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 5_200);
}

/// The registry's import counts a broken line among the file's rows, so that
/// the rows it reports unchanged are the good rows that did not change.
#[tokio::test]
async fn a_broken_line_is_counted_among_the_rows_of_a_registry_import() {
    use lifeservice::registry::import::{ImportOptions, Table, import_table};
    let app = spawn_app(common::Backend::Sqlite).await;
    let seeded = app.seed_outlets().await;
    let file = file_ending_in_a_broken_line(&common::outlets_csv());
    let options = ImportOptions {
        datum: Default::default(),
        actor: "test".into(),
        synthetic: false,
        principal: None,
    };
    let table = Table::open(file.path()).unwrap();
    let kind = lifeservice::registry::fields::RecordKind::Outlets;
    let again = import_table(&app.state.db, kind, table, &options, None)
        .await
        .unwrap();
    assert_eq!(again.rows, seeded.rows + 1);
    assert_eq!(again.rejected_rows, seeded.rejected_rows + 1);
    assert_eq!(again.unchanged, seeded.inserted, "{again:?}");
    assert!(
        again
            .rejects
            .last()
            .unwrap()
            .reason
            .contains("不是UTF-8编码的文本")
    );
}
