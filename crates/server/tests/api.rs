//! End-to-end tests of the registry through the real server, on every backend.

mod common;

use common::{Backend, TestApp, backends, csrf_of, outlets_csv, spawn_app};
use lifeservice::registry::fields::RecordKind;
use lifeservice::registry::import::{ImportOptions, Table, import_table};
use serde_json::json;

fn cli_options() -> ImportOptions {
    ImportOptions {
        datum: Default::default(),
        actor: "test".into(),
        synthetic: false,
        principal: None,
    }
}

async fn import_outlets(
    app: &TestApp,
    bytes: &[u8],
) -> lifeservice::registry::import::ImportReport {
    let table = Table::read(bytes).unwrap();
    let report = import_table(
        &app.state.db,
        RecordKind::Outlets,
        table,
        &cli_options(),
        None,
    )
    .await
    .unwrap();
    app.state.refresh_index().await;
    report
}

#[tokio::test]
async fn import_keeps_good_rows_explains_bad_ones_and_is_idempotent() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let report = import_outlets(&app, outlets_csv().as_bytes()).await;
        assert_eq!(
            (report.rows, report.inserted, report.rejected_rows),
            (7, 3, 4),
            "{backend:?} {report:?}"
        );
        let reasons: Vec<(usize, &str)> = report
            .rejects
            .iter()
            .map(|r| (r.row, r.column.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (5, "统一社会信用代码"),
                (6, "经度"),
                (7, "服务类型"),
                (8, "所属社区")
            ]
        );
        assert!(report.rejects[0].reason.contains("校验位"));

        // The same file again changes nothing.
        let again = import_outlets(&app, outlets_csv().as_bytes()).await;
        assert_eq!(
            (again.inserted, again.updated, again.unchanged),
            (0, 0, 3),
            "{backend:?}"
        );

        // GB18030 files from older Excel versions read the same.
        let csv = outlets_csv();
        let (gbk, _, _) = encoding_rs::GB18030.encode(&csv);
        let gb = import_outlets(&app, &gbk).await;
        assert_eq!(gb.unchanged, 3);

        // Blank lines are the empty rows a spreadsheet shows: the reasons'
        // row numbers count them.
        let spaced = import_outlets(&app, csv.replacen('\n', "\n\n\n", 1).as_bytes()).await;
        let rows: Vec<usize> = spaced.rejects.iter().map(|r| r.row).collect();
        assert_eq!(
            (spaced.unchanged, rows),
            (3, vec![7, 8, 9, 10]),
            "{backend:?}"
        );

        // Search 家政 小店区 finds the two housekeeping outlets, not the shop.
        let (status, body) = app.get_json("/api/v1/outlets?q=家政%20小店区").await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], 2, "{body}");
        assert!(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|o| o["service_type"] == "0101")
        );
        let outlet = &body["items"][0];
        assert_eq!(outlet["entity_code"], "91350200776049653A");
        assert_eq!(outlet["division_code"].as_str().unwrap().len(), 12);

        // Near a point, by distance.
        let (_, near) = app
            .get_json("/api/v1/outlets?near=37.775,112.585&radius_m=2000")
            .await;
        assert_eq!(near["total"], 3);
        assert!(near["items"][0]["distance_m"].as_f64().unwrap() < 1.0);

        // The entity with all its outlets (一照多址).
        let (status, entity) = app.get_json("/api/v1/entities/91350200776049653A").await;
        assert_eq!(status, 200);
        assert_eq!(entity["outlets"].as_array().unwrap().len(), 3);
        app.cleanup().await;
    }
}

/// `(rows, inserted, updated, unchanged, rejected)` of an import.
fn counts(r: &lifeservice::registry::import::ImportReport) -> (usize, usize, usize, usize, usize) {
    (r.rows, r.inserted, r.updated, r.unchanged, r.rejected_rows)
}

/// The outlets of the seeded entity, by name: (id, status, closed_on).
async fn outlet_states(
    app: &TestApp,
) -> std::collections::HashMap<String, (i64, String, Option<String>)> {
    let (_, entity) = app.get_json("/api/v1/entities/91350200776049653A").await;
    let mut states = std::collections::HashMap::new();
    for o in entity["outlets"].as_array().unwrap() {
        let id = o["id"].as_i64().unwrap();
        let (_, outlet) = app.get_json(&format!("/api/v1/outlets/{id}")).await;
        states.insert(
            outlet["name"].as_str().unwrap().to_string(),
            (
                id,
                outlet["status"].as_str().unwrap().to_string(),
                outlet["closed_on"].as_str().map(str::to_string),
            ),
        );
    }
    states
}

#[tokio::test]
async fn an_export_imports_back_unchanged_and_a_file_can_close_an_outlet() {
    use lifeservice::registry::export::{public_rows, to_csv};
    for backend in backends().await {
        let app = spawn_app(backend).await;
        app.seed_outlets().await;
        let shop = outlet_states(&app).await["安心便利店"].0;
        let mut tx = app.state.db.begin_write().await.unwrap();
        lifeservice::registry::store::close_outlet(&mut tx, shop, "2026-03-02T10:00:00+08:00")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // The public export, imported as it is, changes nothing: the closed
        // outlet stays closed on its day.
        let export = to_csv(
            &public_rows(&app.state.db, RecordKind::Outlets)
                .await
                .unwrap(),
        );
        let again = import_outlets(&app, &export).await;
        assert_eq!(counts(&again), (3, 0, 0, 3, 0), "{backend:?} {again:?}");
        let states = outlet_states(&app).await;
        assert_eq!(
            (
                states["安心便利店"].1.as_str(),
                states["安心便利店"].2.as_deref()
            ),
            ("closed", Some("2026-03-02")),
            "{backend:?}"
        );
        let (_, page) = app.get_text(&format!("/outlets/{shop}")).await;
        assert!(page.contains("已关闭（2026-03-02关闭）"), "{page}");

        // 状态 closes an operating outlet, on the day of the import where no
        // 关闭日期 is given; an operating outlet with a closing day is refused.
        let file = [
            "统一社会信用代码,名称,服务类型,地址,经度,纬度,状态,关闭日期",
            "91350200776049653A,安心家政（八一店）,0101,太原市小店区坞城南路12号,112.580,37.770,已关闭,",
            "91350200776049653A,安心家政（师范街店）,0101,太原市小店区坞城路92号,112.585,37.775,在营,2026-01-05",
        ]
        .join("\n");
        let closing = import_outlets(&app, file.as_bytes()).await;
        assert_eq!(
            (closing.updated, closing.rejected_rows),
            (1, 1),
            "{backend:?} {closing:?}"
        );
        assert_eq!(
            (closing.rejects[0].row, closing.rejects[0].column.as_str()),
            (3, "关闭日期")
        );
        let today = lifeservice::time::today().to_string();
        let states = outlet_states(&app).await;
        assert_eq!(
            (
                states["安心家政（八一店）"].1.as_str(),
                states["安心家政（八一店）"].2.as_deref()
            ),
            ("closed", Some(today.as_str())),
            "{backend:?}"
        );
        assert_eq!(states["安心家政（师范街店）"].1, "open");

        // A file that lists outlets without 状态 lists them as operating.
        let reopened = import_outlets(&app, outlets_csv().as_bytes()).await;
        assert_eq!(reopened.updated, 2, "{backend:?} {reopened:?}");
        assert!(
            outlet_states(&app)
                .await
                .values()
                .all(|(_, status, closed_on)| status == "open" && closed_on.is_none()),
            "{backend:?}"
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_export_for_import_keeps_designations_and_phones_and_imports_back_unchanged() {
    use lifeservice::registry::export::{importable_rows, public_rows, to_csv};
    let code = lifeservice_domain::CreditCode::from_body("92140105MA0000001").unwrap();
    let file = [
        "统一社会信用代码,主体名称,名称,服务类型,地址,经度,纬度,联系电话,开业日期,认定称号,认定等级,认定单位,认定日期".to_string(),
        format!("{code},张三便利店,张三便利店（坞城路）,便利店,太原市小店区坞城路1号,112.585,37.775,13912345678,2024-05-01,星级,4,山西省商务厅,2025-01-01"),
        format!("{code},张三便利店,张三便利店（坞城路）,便利店,太原市小店区坞城路1号,112.585,37.775,13912345678,2024-05-01,示范,,太原市商务局,2025-03-01"),
    ]
    .join("\n");
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let first = import_outlets(&app, file.as_bytes()).await;
        assert_eq!(
            (first.inserted, first.rejected_rows),
            (1, 0),
            "{backend:?} {first:?}"
        );

        let public = public_rows(&app.state.db, RecordKind::Outlets)
            .await
            .unwrap();
        assert!(
            public.records[0].contains(&"139****5678".to_string()),
            "{:?}",
            public.records
        );
        let table = importable_rows(&app.state.db, RecordKind::Outlets, None)
            .await
            .unwrap();
        assert_eq!(table.records.len(), 2, "one row per designation");
        assert!(
            table
                .records
                .iter()
                .all(|r| r.contains(&"13912345678".to_string()))
        );
        let again = import_outlets(&app, &to_csv(&table)).await;
        assert_eq!(counts(&again), (2, 0, 0, 2, 0), "{backend:?} {again:?}");
        let (_, entity) = app.get_json(&format!("/api/v1/entities/{code}")).await;
        let id = entity["outlets"][0]["id"].as_i64().unwrap();
        let (_, outlet) = app.get_json(&format!("/api/v1/outlets/{id}")).await;
        assert_eq!(
            outlet["designations"].as_array().unwrap().len(),
            2,
            "{outlet}"
        );
        assert_eq!(outlet["opened_on"], "2024-05-01");

        let entities = importable_rows(&app.state.db, RecordKind::Entities, None)
            .await
            .unwrap();
        let report = import_table(
            &app.state.db,
            RecordKind::Entities,
            Table::read(to_csv(&entities)).unwrap(),
            &cli_options(),
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            (report.rows, report.unchanged, report.rejected_rows),
            (1, 1, 0),
            "{backend:?} {report:?}"
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn bad_requests_get_specific_errors() {
    let app = spawn_app(Backend::Sqlite).await;
    for (path, status, field) in [
        ("/api/v1/outlets?colour=red", 400, Some("colour")),
        ("/api/v1/outlets?type=算命", 400, Some("type")),
        ("/api/v1/outlets?near=abc", 400, Some("near")),
        ("/api/v1/outlets?page=0", 400, Some("page")),
        (
            "/api/v1/entities/91350200776049653B",
            400,
            Some("credit_code"),
        ),
        ("/api/v1/entities/91350200776049653A", 404, None),
        ("/api/v1/outlets/999", 404, None),
        ("/api/v1/outlets/abc", 400, Some("id")),
        ("/api/v1/divisions/999999", 404, None),
    ] {
        let (got, body) = app.get_json(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}: {body}"
        );
        assert_eq!(body["error"]["field"].as_str(), field, "{path}: {body}");
    }
}

#[tokio::test]
async fn reference_data_and_openapi() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, division) = app.get_json("/api/v1/divisions/140105").await;
    assert_eq!(division["name"], "小店区");
    assert_eq!(division["parent"], "1401");
    let (_, cities) = app.get_json("/api/v1/divisions?parent=14").await;
    assert_eq!(cities.as_array().unwrap().len(), 11);
    let (_, types) = app.get_json("/api/v1/service-types").await;
    assert_eq!(types["major_categories"].as_array().unwrap().len(), 12);
    let (status, spec) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"]["/api/v1/outlets"]["get"].is_object());
    assert!(spec["paths"]["/api/v1/entities/{code}/credit"]["get"].is_object());
    assert!(spec["paths"]["/api/v1/stats"]["get"].is_object());
    // Every security requirement names a scheme the document defines.
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().unwrap().keys() {
                    assert!(schemes[name].is_object(), "{method} {path}: {name}");
                }
            }
        }
    }
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn writes_need_a_token_respect_scope_and_are_audited() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let client = reqwest::Client::new();
        let admin = app.add_user("admin", "admin", "").await;
        let minzheng = app.add_user("minzheng", "department", "03").await;
        let entity = json!({"credit_code": "91350200776049653A", "name": "山西安心养老有限公司"});
        let outlet = json!({"credit_code": "91350200776049653A", "name": "安心日间照料中心", "service_type": "0302",
            "address": "太原市小店区坞城路1号", "lon": 112.585, "lat": 37.775});

        let anonymous = client
            .post(app.url("/api/v1/entities"))
            .json(&entity)
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        let created = client
            .post(app.url("/api/v1/entities"))
            .bearer_auth(&admin)
            .json(&entity)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 200);

        let ok = client
            .post(app.url("/api/v1/outlets"))
            .bearer_auth(&minzheng)
            .json(&outlet)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status().as_u16(), 200, "{backend:?}");
        let body: serde_json::Value = ok.json().await.unwrap();
        let id = body["id"].as_i64().unwrap();

        let shop = json!({"credit_code": "91350200776049653A", "name": "便利店", "service_type": "0701",
            "address": "太原市小店区坞城路2号", "lon": 112.585, "lat": 37.775});
        let denied = client
            .post(app.url("/api/v1/outlets"))
            .bearer_auth(&minzheng)
            .json(&shop)
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status().as_u16(), 403);

        let mut bad = outlet.clone();
        bad["lat"] = json!("north");
        let wrong_type = client
            .post(app.url("/api/v1/outlets"))
            .bearer_auth(&admin)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_type.status().as_u16(), 400);

        // The new outlet is searchable at once.
        let (_, found) = app.get_json("/api/v1/outlets?q=日间照料").await;
        assert_eq!(found["total"], 1, "{backend:?} {found}");

        let closed = client
            .delete(app.url(&format!("/api/v1/outlets/{id}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(closed.status().as_u16(), 200);
        let (_, gone) = app.get_json("/api/v1/outlets?q=日间照料").await;
        assert_eq!(gone["total"], 0);

        let entries = lifeservice::audit::recent(&app.state.db, None, 50)
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str()))
            .collect();
        assert!(
            actions.contains(&("minzheng", "upsert")) && actions.contains(&("admin", "close")),
            "{actions:?}"
        );
        // The audit log refuses to be rewritten.
        assert!(
            sqlx::query("UPDATE audit_log SET actor = 'x'")
                .execute(app.state.db.pool())
                .await
                .is_err()
        );
        assert!(
            sqlx::query("DELETE FROM audit_log")
                .execute(app.state.db.pool())
                .await
                .is_err()
        );
        app.cleanup().await;
    }
}

/// What the framework itself refuses (an unknown path, a wrong method, a
/// parameter or form that does not parse) is answered like every other error:
/// the JSON error body on the API, a Chinese page elsewhere, same status.
#[tokio::test]
async fn framework_refusals_get_the_platform_error_format() {
    let app = spawn_app(Backend::Sqlite).await;
    for (path, status, code) in [
        ("/api/v1/no-such-thing", 404, "not_found"),
        ("/api/v1/plan/tasks/abc/consolidation", 400, "invalid"),
    ] {
        let (s, body) = app.get_json(path).await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }
    let (_, body) = app.get_json("/api/v1/plan/tasks/abc/consolidation").await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("“abc”"),
        "{body}"
    );
    let (s, html) = app.get_text("/no-such-page").await;
    assert_eq!(s, 404);
    assert!(
        html.contains("页面或接口不存在：/no-such-page") && html.contains("返回首页"),
        "{html}"
    );
    let r = app
        .client()
        .post(app.url("/login"))
        .form(&[("username", "someone")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("缺少“password”") && !html.contains("deserialize"),
        "{html}"
    );
    let r = app.client().delete(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("/login 不接受 DELETE 请求")
    );
}

/// The sign-in form has no session to bind a CSRF token to: a sign-in (or any
/// write) posted from another site's page is refused, so a forged form
/// cannot sign a victim into someone else's account.
#[tokio::test]
async fn writes_from_another_site_are_refused_sign_in_included() {
    let app = spawn_app(Backend::Sqlite).await;
    app.add_user("xiaodian", "division", "140105").await;
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = app
            .client()
            .post(app.url("/login"))
            .form(&[("username", "xiaodian"), ("password", "test-password-1")]);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        request.send()
    };
    for forged in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("origin", "null"),
    ] {
        let r = post(vec![(forged.0, forged.1.to_string())]).await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "{forged:?}");
        assert!(
            r.headers().get("set-cookie").is_none(),
            "no session: {forged:?}"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
    }
    for genuine in [
        vec![("sec-fetch-site", "same-origin".to_string())],
        vec![("origin", app.addr.clone())],
        vec![],
    ] {
        let r = post(genuine.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 303, "{genuine:?}");
    }
    // Reading is never refused, whatever page linked here.
    let r = app
        .client()
        .get(app.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn officer_uploads_excel_and_sees_rejects_with_csrf_enforced() {
    let app = spawn_app(Backend::Sqlite).await;
    app.add_user("xiaodian", "division", "140105").await;
    let client = app.staff("xiaodian").await;
    let page = client
        .get(app.url("/admin/import"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);

    let xlsx = xlsx_of(&outlets_csv());
    let form = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("kind", "outlets")
            .text("crs", "wgs84")
            .text("csrf", csrf.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(xlsx.clone()).file_name("网点.xlsx"),
            )
    };
    let forged = client
        .post(app.url("/admin/import"))
        .multipart(form("forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);

    let result = client
        .post(app.url("/admin/import"))
        .multipart(form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(result.status().as_u16(), 200);
    let html = result.text().await.unwrap();
    assert!(html.contains("新增3"), "{html}");
    assert!(
        html.contains("校验位错误")
            && html.contains("不在山西省境内")
            && html.contains("未知的服务类型")
    );
    let (_, found) = app.get_json("/api/v1/outlets?division=140105").await;
    assert_eq!(found["total"], 3);

    // The rejects are the uploader's (and an administrator's), not another district's.
    let rejects = html
        .split("href=\"/admin/imports/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|id| format!("/admin/imports/{id}"))
        .expect("a link to the rejects");
    let status = |client: reqwest::Client, path: &str| {
        let url = app.url(path);
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(client.clone(), &rejects).await, 200);
    app.add_user("yingze", "division", "140106").await;
    app.add_user("root", "admin", "").await;
    let yingze = app.staff("yingze").await;
    assert_eq!(status(yingze.clone(), &rejects).await, 404);
    assert_eq!(status(app.staff("root").await, &rejects).await, 200);
    let history = yingze.get(app.url("/admin/import")).send().await.unwrap();
    assert!(!history.text().await.unwrap().contains("网点.xlsx"));
}

/// An officer downloads the records their account keeps, in the import
/// template's columns, and uploads the file again: nothing changes. Rows
/// outside the account's scope stay out of the file, an entity's account and
/// anonymous visitors get nothing, and every download is in the audit log.
#[tokio::test]
async fn officers_export_what_they_keep_and_it_imports_back_unchanged() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        app.seed_outlets().await;
        app.add_user("jiazheng", "department", "0101").await;
        app.add_user("yingze", "division", "140106").await;
        app.add_user("anxin", "entity", "91350200776049653A").await;
        let get = |client: reqwest::Client, path: &str| {
            let url = app.url(path);
            async move { client.get(url).send().await.unwrap() }
        };

        // 家政 (0101) is the department's: two of the three outlets.
        let jiazheng = app.staff("jiazheng").await;
        let csv = get(jiazheng.clone(), "/admin/exports/outlets?format=csv").await;
        assert_eq!(csv.status().as_u16(), 200);
        let disposition = csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.contains("outlets-") && disposition.ends_with(".csv\""),
            "{disposition}"
        );
        let text = csv.text().await.unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert!(
            lines[0].starts_with("统一社会信用代码,主体名称,名称,服务类型"),
            "{}",
            lines[0]
        );
        assert_eq!(lines.len(), 3, "{text}");
        assert!(text.contains("安心家政（师范街店）") && text.contains("安心家政（八一店）"));
        assert!(!text.contains("安心便利店"), "not the department's: {text}");
        assert!(text.contains("0351-7001234"), "unmasked, to import back");

        // The Excel file imports back through the upload page and changes nothing.
        let xlsx = get(jiazheng.clone(), "/admin/exports/outlets").await;
        assert_eq!(
            xlsx.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let xlsx = xlsx.bytes().await.unwrap().to_vec();
        let page = get(jiazheng.clone(), "/admin/import")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("/admin/exports/outlets?format=csv"),
            "linked from the import page"
        );
        let form = reqwest::multipart::Form::new()
            .text("kind", "outlets")
            .text("csrf", csrf_of(&page))
            .part(
                "file",
                reqwest::multipart::Part::bytes(xlsx).file_name("outlets.xlsx"),
            );
        let upload = jiazheng
            .post(app.url("/admin/import"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let html = upload.text().await.unwrap();
        assert!(html.contains("共2行：新增0，更新0，未变2，拒绝0"), "{html}");

        // Other scopes: another district's officer gets the header only.
        let yingze = app.staff("yingze").await;
        let text = get(yingze, "/admin/exports/outlets?format=csv")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let entities = get(jiazheng.clone(), "/admin/exports/entities?format=csv")
            .await
            .text()
            .await
            .unwrap();
        assert!(entities.contains("91350200776049653A"), "{entities}");

        let anxin = app.staff("anxin").await;
        assert_eq!(
            get(anxin, "/admin/exports/outlets").await.status().as_u16(),
            403
        );
        assert_eq!(
            get(app.client(), "/admin/exports/outlets")
                .await
                .status()
                .as_u16(),
            401
        );
        let unknown = get(jiazheng.clone(), "/admin/exports/penalties").await;
        assert_eq!(unknown.status().as_u16(), 404);
        assert!(unknown.text().await.unwrap().contains("没有这类数据"));
        let pdf = get(jiazheng, "/admin/exports/outlets?format=pdf").await;
        assert_eq!(pdf.status().as_u16(), 400);
        assert!(pdf.text().await.unwrap().contains("不支持的格式“pdf”"));

        let log = lifeservice::audit::recent(&app.state.db, None, 50)
            .await
            .unwrap();
        let exports: Vec<(&str, &str, &str)> = log
            .iter()
            .filter(|e| e.action == "export")
            .map(|e| {
                (
                    e.actor.as_str(),
                    e.object_type.as_str(),
                    e.after.as_deref().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(exports.len(), 4, "{exports:?}");
        assert!(
            exports.contains(&("jiazheng", "outlets", r#"{"format":"csv","rows":2}"#)),
            "{exports:?}"
        );
        app.cleanup().await;
    }
}

/// Writes CSV text into an XLSX file, as a department's spreadsheet would hold it.
fn xlsx_of(csv_text: &str) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, line) in csv_text.lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            match cell.parse::<f64>() {
                Ok(n) if c >= 6 => sheet.write_number(r as u32, c as u16, n).map(|_| ()),
                _ => sheet.write_string(r as u32, c as u16, cell).map(|_| ()),
            }
            .unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn portal_pages_render_in_chinese() {
    let app = spawn_app(Backend::Sqlite).await;
    import_outlets(&app, outlets_csv().as_bytes()).await;
    let get = |path: &str| {
        let url = app.url(path);
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, home) = get("/").await;
    assert_eq!(status, 200);
    assert!(home.contains("山西省生活服务平台") && home.contains("<svg"));
    let (_, results) = get("/search?q=家政%20小店区").await;
    assert!(results.contains("安心家政（师范街店）") && !results.contains("安心便利店"));
    let (status, best) = get("/search?q=安心&sort=quality&no_penalty=1").await;
    assert_eq!(status, 200);
    assert!(
        best.contains(r#"<option value="quality" selected>"#),
        "the sort is kept in the form"
    );
    assert!(best.contains("安心家政（师范街店）"));
    // A page past the last says so and leads back, instead of "9 / 1".
    let (_, beyond) = get("/search?q=安心&page=9").await;
    assert!(
        beyond.contains("没有这一页：结果共 1 页") && !beyond.contains("9 / 1"),
        "{beyond}"
    );
    let (_, provider) = get("/entities/91350200776049653A").await;
    assert!(provider.contains("一站式查询") && provider.contains("安心便利店"));
    let (_, division) = get("/divisions/140105").await;
    assert!(division.contains("小店区") && division.contains("坞城街道"));
    let (status, error) = get("/search?type=算命").await;
    assert_eq!(status, 400);
    assert!(error.contains("未知的服务类型"));
    let (_, english) = get("/?lang=en").await;
    assert!(english.contains("Find trusted services nearby"));
}

#[tokio::test]
async fn index_follows_writes_from_another_process() {
    let app = spawn_app(Backend::Sqlite).await;
    // A second connection to the same file, as a CLI import would open.
    let other = lifeservice::storage::Db::open(&app.db_url).await.unwrap();
    let table = Table::read(outlets_csv().as_bytes()).unwrap();
    import_table(&other, RecordKind::Outlets, table, &cli_options(), None)
        .await
        .unwrap();
    let mut total = serde_json::Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        total = app.get_json("/api/v1/outlets?division=140105").await.1["total"].clone();
        if total == 3 {
            break;
        }
    }
    assert_eq!(
        total, 3,
        "the running server's index did not follow the other process's import"
    );
}

#[tokio::test]
async fn language_choice_is_remembered_and_oversized_uploads_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = app.client();
    client.get(app.url("/?lang=en")).send().await.unwrap();
    let next = client
        .get(app.url("/service-types"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        next.contains("Categories"),
        "the English choice carries to the next page"
    );

    app.add_user("officer", "admin", "").await;
    client
        .post(app.url("/login"))
        .form(&[("username", "officer"), ("password", "test-password-1")])
        .send()
        .await
        .unwrap();
    let huge = vec![b'a'; lifeservice::app::MAX_UPLOAD_BYTES + 1024];
    let form = reqwest::multipart::Form::new()
        .text("kind", "outlets")
        .part(
            "file",
            reqwest::multipart::Part::bytes(huge).file_name("big.csv"),
        );
    let response = client
        .post(app.url("/admin/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert!(response.text().await.unwrap().contains("文件过大"));
}

/// The account list and the audit log speak Chinese: roles, actions and
/// objects by name, times without their offset.
#[tokio::test]
async fn the_account_list_names_roles_and_times_plainly() {
    let app = spawn_app(Backend::Sqlite).await;
    app.add_user("root", "admin", "").await;
    app.add_user("minzheng", "department", "03").await;
    let client = app.staff("root").await;
    let page = app.text_as(&client, "/admin/users").await;
    assert!(
        page.contains("<td>管理员</td>") && page.contains("<td>部门工作人员</td>"),
        "{page}"
    );
    assert!(
        !page.contains("<td>department</td>") && !page.contains("+08:00"),
        "{page}"
    );
    // So does the audit log: actions and objects by name.
    let log = app.text_as(&client, "/admin/audit").await;
    assert!(
        log.contains("<td>新建</td>") && log.contains("账号"),
        "{log}"
    );
    assert!(!log.contains("<td>create</td>"), "{log}");
}

/// 长辈模式 without a browser: the switch sets a cookie and comes back, and
/// the pages then carry `body.elder` with maps as pictures (their places
/// linked from lists instead); switching off restores the standard pages.
#[tokio::test]
async fn elder_mode_is_remembered_and_changes_the_pages() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = app.client();
    let page = |path: &'static str| {
        let client = client.clone();
        let url = app.url(path);
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let standard = page("/").await;
    assert!(standard.contains("<body>") && standard.contains(r#"role="group""#));
    assert!(
        standard.contains(r#"href="/mode?elder=1&amp;back=%2F""#),
        "switch on every page"
    );
    assert!(standard.contains(r#"id="read-aloud""#) && standard.contains("speechSynthesis"));

    let switched = client
        .get(app.url("/mode?elder=1&back=%2Fsearch%3Fq%3D%E5%AE%B6%E6%94%BF"))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status().as_u16(), 303);
    assert_eq!(
        switched.headers()["location"],
        "/search?q=%E5%AE%B6%E6%94%BF"
    );
    let elder = page("/").await;
    assert!(elder.contains(r#"<body class="elder">"#), "remembered");
    assert!(elder.contains(r#"role="img""#) && !elder.contains(r#"role="group""#));
    assert!(elder.contains("退出长辈模式"));

    client
        .get(app.url("/mode?elder=0&back=%2F"))
        .send()
        .await
        .unwrap();
    assert!(page("/").await.contains("<body>"));
}
