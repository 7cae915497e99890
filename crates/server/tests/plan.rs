//! The action plan through the API and pages.

mod common;

use common::{Backend, TestApp, spawn_app};
use lifeservice_domain::plan::Cadence;

#[tokio::test]
async fn plan_tasks_with_units_and_live_indicators() {
    let app = spawn_app(Backend::Sqlite).await;
    lifeservice::demo::generate(&app.state.db, 600, 3, None)
        .await
        .unwrap();
    let (status, body) = app.get_json("/api/v1/plan/tasks").await;
    assert_eq!(status, 200);
    let tasks = body["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 41);
    assert_eq!(tasks[0]["title"], "实施A级旅游景区倍增计划");
    assert_eq!(
        tasks[0]["responsible_units"],
        serde_json::json!(["省文旅厅", "省林草局"])
    );
    let five_a = &tasks[0]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "T01-2")
        .unwrap();
    assert_eq!(
        (five_a["min"].as_f64(), five_a["max"].as_f64()),
        (Some(1.0), Some(3.0))
    );
    // 市场主体倍增 is computed from the registry: demo entities were founded 2000–2025.
    let doubling = &body["plan_indicators"][0];
    assert_eq!(doubling["id"], "P-1");
    let ratio = doubling["current"]["value"].as_f64().unwrap();
    assert!(ratio > 1.0 && ratio < 2.0, "{ratio}");
    assert!(
        doubling["current"]["formula"]
            .as_str()
            .unwrap()
            .contains("2021")
    );
    // Its baseline is the statistics' end-2021 stock (entities founded by
    // then and not yet closed), so /plan and /stats show the same growth.
    lifeservice::stats::cube::refresh(&app.state.db)
        .await
        .unwrap();
    let (_, stats) = app
        .get_json("/api/v1/stats?indicator=entities&period=year")
        .await;
    let rows = stats["rows"].as_array().unwrap();
    let stock = |row: &serde_json::Value| row["values"][3].as_f64().unwrap();
    let end_2021 = stock(rows.iter().find(|r| r["period"] == "2021").unwrap());
    let now = stock(rows.last().unwrap());
    assert!(
        (ratio - now / end_2021).abs() < 1e-9,
        "{ratio} vs {now} / {end_2021}"
    );
    let founded_by_2021: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM entities WHERE established <= '2021-12-31'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        (founded_by_2021 as f64) > end_2021,
        "the demo closed some of them by then"
    );

    let page = reqwest::get(app.url("/plan/tasks/16"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("综合性养老机构") && page.contains("牵头单位"));
    let missing = reqwest::get(app.url("/plan/tasks/99")).await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn assessment_scores_and_ranks_cities_and_counties() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        lifeservice::demo::generate(&app.state.db, 2000, 3, None)
            .await
            .unwrap();
        lifeservice::credit::demo::generate_credit(&app.state.db, 3, 5)
            .await
            .unwrap();
        let (status, body) = app.get_json("/api/v1/plan/assessment?level=city").await;
        assert_eq!(status, 200, "{body}");
        let areas = body["areas"].as_array().unwrap();
        assert_eq!(areas.len(), 11, "Shanxi's 11 cities");
        let scores: Vec<f64> = areas.iter().map(|a| a["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "ranked: {scores:?}"
        );
        assert_eq!(areas[0]["rank"], 1);
        // Counties are ranked among the 117 the per-county targets count:
        // development zones (such as 太原 and 大同's 经济技术开发区) are not.
        let (_, counties) = app.get_json("/api/v1/plan/assessment?level=county").await;
        let codes: Vec<&str> = counties["areas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.len() <= 117 && codes.contains(&"140105"),
            "{}",
            codes.len()
        );
        for zone in ["140171", "140271", "140671", "140971"] {
            assert!(!codes.contains(&zone), "{zone} is not ranked");
        }
        let taiyuan = areas.iter().find(|a| a["code"] == "1401").unwrap();
        let credit = taiyuan["values"]["credit"].as_f64().unwrap();
        assert!(
            credit > 0.5 && credit < 1.0,
            "some entities have penalties: {credit}"
        );
        // The score is the weighted mean of the criteria it has data for.
        let criteria = body["criteria"].as_array().unwrap();
        let (sum, weight) = criteria.iter().fold((0.0, 0.0), |(s, w), c| {
            match taiyuan["values"][c["id"].as_str().unwrap()].as_f64() {
                Some(v) => (
                    s + v * c["weight"].as_f64().unwrap(),
                    w + c["weight"].as_f64().unwrap(),
                ),
                None => (s, w),
            }
        });
        assert!((taiyuan["score"].as_f64().unwrap() - 100.0 * sum / weight).abs() < 0.06);

        let (_, counties) = app
            .get_json("/api/v1/plan/assessment?level=county&weights=credit:0,entities:1")
            .await;
        assert!(counties["areas"].as_array().unwrap().len() > 100);
        let (status, bad) = app
            .get_json("/api/v1/plan/assessment?weights=speed:1")
            .await;
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (400, Some("weights"))
        );
        let xlsx = reqwest::get(app.url("/api/v1/plan/assessment?level=city&format=xlsx"))
            .await
            .unwrap();
        assert!(
            xlsx.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("spreadsheetml")
        );
        assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
        let csv = reqwest::get(app.url("/api/v1/plan/assessment?level=city&format=csv"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            csv.contains("排名,区划代码,地区,得分") && csv.contains("太原市"),
            "{csv}"
        );
        let page = reqwest::get(app.url("/plan/assessment?level=county"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("计分方法") && page.contains("<svg"));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn responsible_units_report_progress_with_history_and_late_flags() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        let token = app.add_user("minzheng", "department", "03").await;
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = 'minzheng'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        lifeservice::auth::set_plan_unit(&app.state.db, id, "省民政厅")
            .await
            .unwrap();
        let post = |body: serde_json::Value| {
            let (app, token) = (&app, &token);
            async move {
                let r = app
                    .client()
                    .post(app.url("/api/v1/plan/reports"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (
                    r.status().as_u16(),
                    r.json::<serde_json::Value>().await.unwrap(),
                )
            }
        };
        let quarter = Cadence::Quarterly
            .last_due(lifeservice::time::today())
            .to_string();
        let (status, first) = post(serde_json::json!({"task": 16, "indicator": "T16-1", "period": quarter, "value": 12.0, "narrative": "新建街道综合养老服务中心12个", "evidence": "晋民发〔2026〕1号"})).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(
            (first["unit_name"].as_str(), first["version"].as_i64()),
            (Some("省民政厅"), Some(1))
        );
        // A second report for the period amends it and keeps the first.
        let (_, amended) = post(serde_json::json!({"task": 16, "indicator": "T16-1", "period": quarter, "value": 13.0, "narrative": "更正：13个"})).await;
        assert_eq!(
            (amended["id"].clone(), amended["version"].as_i64()),
            (first["id"].clone(), Some(2))
        );
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM plan_report_versions")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(kept, 1);
        // Specific errors for each kind of bad report.
        for (body, field_or_status) in [
            (
                serde_json::json!({"task": 1, "period": quarter, "narrative": "x"}),
                "403",
            ),
            (
                serde_json::json!({"task": 16, "indicator": "T01-2", "period": quarter, "narrative": "x"}),
                "indicator",
            ),
            (
                serde_json::json!({"task": 16, "period": "2099-Q1", "narrative": "x"}),
                "period",
            ),
            (
                serde_json::json!({"task": 16, "period": "下季度", "narrative": "x"}),
                "period",
            ),
            (
                serde_json::json!({"task": 16, "indicator": "T16-1", "period": quarter, "value": -1, "narrative": "x"}),
                "value",
            ),
            (
                serde_json::json!({"task": 16, "period": quarter, "narrative": " "}),
                "narrative",
            ),
            (
                serde_json::json!({"task": 99, "period": quarter, "narrative": "x"}),
                "task",
            ),
        ] {
            let (status, error) = post(body.clone()).await;
            let got = if status == 403 {
                "403".to_string()
            } else {
                error["error"]["field"].as_str().unwrap_or("").to_string()
            };
            assert_eq!(got, field_or_status, "{body} → {status} {error}");
        }
        // The reported value feeds the indicator's outlook (one point: its value).
        let (_, tasks) = app.get_json("/api/v1/plan/tasks").await;
        let t16_1 = tasks["tasks"][15]["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == "T16-1")
            .unwrap()
            .clone();
        assert_eq!(
            t16_1["outlook"]["projected"].as_f64(),
            Some(13.0),
            "{t16_1}"
        );
        assert!(
            t16_1["outlook"]["method"]
                .as_str()
                .unwrap()
                .contains("最小二乘")
        );
        let (_, list) = app.get_json("/api/v1/plan/reports?task=16").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        // The overview flags units that have not reported on the quarter: 民政厅 has for task 16 only.
        let page = reqwest::get(app.url("/plan/reports"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("到期未报")
                && page.contains(&format!("/plan/tasks/17\">17</a>（{quarter}）"))
                && page.contains("省民政厅"),
            "other tasks of 民政厅 are late"
        );
        let cadences = lifeservice::plan::cadence::load(&app.state.db)
            .await
            .unwrap();
        let missing = lifeservice::plan::reports::missing(
            &app.state.db,
            &cadences,
            lifeservice::time::today(),
        )
        .await
        .unwrap();
        // 民政厅 leads task 16 with other units: its own report does not
        // stand for the task; its consolidated report is what it owes.
        assert!(
            missing
                .iter()
                .any(|d| d.task == 16 && d.unit.as_str() == "U16" && d.consolidation)
        );
        assert!(
            missing
                .iter()
                .any(|d| d.unit.as_str() == "U16" && d.period.to_string() == quarter),
            "民政厅's other tasks are still owed"
        );
        app.cleanup().await;
    }
}

/// An account reporting for plan unit `unit` (code or name), with an API token.
async fn unit_account(app: &TestApp, username: &str, unit: &str) -> String {
    let token = app.add_user(username, "department", "03").await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username.to_string())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    lifeservice::auth::set_plan_unit(&app.state.db, id, unit)
        .await
        .unwrap();
    token
}

/// A signed-in browser session and the CSRF token of its forms (from the desk).
async fn session(app: &TestApp, username: &str) -> (reqwest::Client, String) {
    let client = app.staff(username).await;
    let page = app.text_as(&client, "/plan/desk").await;
    (client, common::csrf_of(&page))
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = app
        .client()
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        r.status().as_u16(),
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}

async fn get_with(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cadence_is_set_per_task_and_reports_and_late_flags_follow_it() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        let admin = app.add_user("admin", "admin", "").await;
        let minzheng = unit_account(&app, "minzheng", "省民政厅").await;
        let fagai = unit_account(&app, "fagai", "山西省发展和改革委员会").await;
        let today = lifeservice::time::today();
        let (month, quarter) = (
            Cadence::Monthly.last_due(today).to_string(),
            Cadence::Quarterly.last_due(today).to_string(),
        );
        let put = reqwest::Method::PUT;

        // Only an administrator sets a cadence, to one of the two.
        let (status, set) = send(
            &app,
            put.clone(),
            "/api/v1/plan/tasks/16/cadence",
            &admin,
            serde_json::json!({"cadence": "monthly"}),
        )
        .await;
        assert_eq!(
            (status, set["due_period"].as_str()),
            (200, Some(month.as_str())),
            "{set}"
        );
        let (status, _) = send(
            &app,
            put.clone(),
            "/api/v1/plan/tasks/16/cadence",
            &minzheng,
            serde_json::json!({"cadence": "quarterly"}),
        )
        .await;
        assert_eq!(status, 403);
        let (status, bad) = send(
            &app,
            put.clone(),
            "/api/v1/plan/tasks/16/cadence",
            &admin,
            serde_json::json!({"cadence": "weekly"}),
        )
        .await;
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (400, Some("cadence"))
        );
        let (status, _) = send(
            &app,
            put,
            "/api/v1/plan/tasks/99/cadence",
            &admin,
            serde_json::json!({"cadence": "monthly"}),
        )
        .await;
        assert_eq!(status, 404);
        let audited: (String, String) = sqlx::query_as(
            "SELECT before_json, after_json FROM audit_log WHERE object_type = 'plan_cadence' AND object_id = '16'",
        )
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        assert_eq!(
            audited,
            (
                r#"{"cadence":"quarterly"}"#.into(),
                r#"{"cadence":"monthly"}"#.into()
            )
        );
        let (_, tasks) = app.get_json("/api/v1/plan/tasks").await;
        assert_eq!(tasks["tasks"][15]["cadence"], "monthly");
        assert_eq!(
            tasks["tasks"][15]["due_period"].as_str(),
            Some(month.as_str())
        );
        assert_eq!(tasks["tasks"][16]["cadence"], "quarterly");

        // Reports are checked against the task's cadence and the indicator's unit.
        let post = reqwest::Method::POST;
        let report = |body: serde_json::Value| {
            send(&app, post.clone(), "/api/v1/plan/reports", &minzheng, body)
        };
        let next_month = Cadence::Monthly
            .period_containing(today + chrono::Months::new(1))
            .to_string();
        for (body, field, says) in [
            (
                serde_json::json!({"task": 16, "period": quarter, "narrative": "x"}),
                "period",
                "按月",
            ),
            (
                serde_json::json!({"task": 17, "period": month, "narrative": "x"}),
                "period",
                "按季度",
            ),
            (
                serde_json::json!({"task": 16, "period": next_month, "narrative": "x"}),
                "period",
                "尚未开始",
            ),
            (
                serde_json::json!({"task": 16, "indicator": "T16-8", "period": month, "value": 1, "value_unit": "家", "narrative": "x"}),
                "value_unit",
                "“所”",
            ),
            (
                serde_json::json!({"task": 16, "indicator": "T16-1", "period": month, "value": -2, "narrative": "x"}),
                "value",
                "非负数",
            ),
            (
                serde_json::json!({"task": 21, "indicator": "T21-1", "period": quarter, "value": 120, "narrative": "x"}),
                "value",
                "百分数",
            ),
        ] {
            let (status, error) = report(body.clone()).await;
            assert_eq!(
                (status, error["error"]["field"].as_str()),
                (400, Some(field)),
                "{body} → {error}"
            );
            let message = error["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{message} should say {says}");
        }
        let quarter_q = quarter.replace("-Q", "Q");
        let (status, stored) = report(serde_json::json!({"task": 21, "indicator": "T21-1", "period": quarter_q, "value": 12.5, "value_unit": "%", "narrative": "新建小区配建达标"})).await;
        assert_eq!(
            (status, stored["period"].as_str()),
            (200, Some(quarter.as_str())),
            "{stored}"
        );
        let (status, _) = report(serde_json::json!({"task": 16, "indicator": "T16-8", "period": month, "value": 1, "value_unit": "所", "division": "140105", "narrative": "已建成"})).await;
        assert_eq!(status, 200);

        // The unit sees its own late reports; the plan office sees everyone's.
        let (status, _) = app.get_json("/api/v1/plan/missing").await;
        assert_eq!(status, 401);
        let own: serde_json::Value = get_with(&app, "/api/v1/plan/missing", &minzheng)
            .await
            .json()
            .await
            .unwrap();
        let own = own["missing"].as_array().unwrap();
        assert!(
            !own.is_empty() && own.iter().all(|d| d["unit"] == "U16"),
            "{own:?}"
        );
        assert!(!own.iter().any(|d| d["task"] == 21), "reported: {own:?}");
        // Task 16 is 民政厅's to consolidate: its own report does not settle it.
        assert!(
            own.iter()
                .any(|d| d["task"] == 16 && d["consolidation"] == true),
            "{own:?}"
        );
        let t17 = own.iter().find(|d| d["task"] == 17).unwrap();
        assert_eq!(
            (t17["period"].as_str(), t17["cadence"].as_str()),
            (Some(quarter.as_str()), Some("quarterly"))
        );
        assert_eq!(
            get_with(&app, "/api/v1/plan/missing?unit=U01", &minzheng)
                .await
                .status()
                .as_u16(),
            403
        );
        let all: serde_json::Value = get_with(&app, "/api/v1/plan/missing", &fagai)
            .await
            .json()
            .await
            .unwrap();
        let all = all["missing"].as_array().unwrap();
        assert!(all.iter().any(|d| d["unit"] == "U01") && all.iter().any(|d| d["unit"] == "U16"));
        assert!(all.len() > own.len());
        let one: serde_json::Value = get_with(&app, "/api/v1/plan/missing?unit=省民政厅", &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(one["missing"].as_array().unwrap().len(), own.len());

        // And on their desks.
        let (unit_desk, _) = session(&app, "minzheng").await;
        let page = app.text_as(&unit_desk, "/plan/desk").await;
        assert!(
            page.contains(&format!("本单位到期未报（{}项）", own.len()))
                && page.contains("逾期未报"),
            "{page}"
        );
        assert!(!page.contains("全部责任单位到期未报"));
        let (office_desk, _) = session(&app, "fagai").await;
        let page = app.text_as(&office_desk, "/plan/desk").await;
        assert!(
            page.contains(&format!("全部责任单位到期未报（{}项）", all.len())),
            "{page}"
        );

        // Administrators also set a cadence on the task page, with the form's CSRF token.
        let (admin_web, csrf) = session(&app, "admin").await;
        let task = app.text_as(&admin_web, "/plan/tasks/17").await;
        assert!(task.contains("修改填报频次") && task.contains("按季度"));
        let set = |csrf: String| {
            admin_web
                .post(app.url("/plan/tasks/17/cadence"))
                .form(&[("csrf", csrf), ("cadence", "monthly".into())])
                .send()
        };
        assert_eq!(set("forged".into()).await.unwrap().status().as_u16(), 403);
        assert_eq!(set(csrf).await.unwrap().status().as_u16(), 200);
        let own: serde_json::Value = get_with(&app, "/api/v1/plan/missing", &minzheng)
            .await
            .json()
            .await
            .unwrap();
        let t17 = own["missing"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["task"] == 17)
            .unwrap()
            .clone();
        assert_eq!(
            (t17["period"].as_str(), t17["cadence"].as_str()),
            (Some(month.as_str()), Some("monthly"))
        );
        let unit_page = app.text_as(&unit_desk, "/plan/tasks/17").await;
        assert!(
            !unit_page.contains("修改填报频次")
                && unit_page.contains(&format!("value=\"{month}\"")),
            "the report form defaults to the due month: {unit_page}"
        );
        app.cleanup().await;
    }
}

/// The sheet names of a workbook and the cells of its first sheet, as text.
fn read_xlsx(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    use calamine::{Data, Reader};
    let mut book =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let cell = |c: &Data| match c {
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Empty => String::new(),
        other => other.to_string(),
    };
    (
        names,
        range.rows().map(|r| r.iter().map(cell).collect()).collect(),
    )
}

/// The template's columns before areas and consolidation: files in this
/// older layout must still upload.
const FIRST_COLUMNS: [&str; 9] = [
    "任务编号",
    "任务",
    "指标",
    "单位",
    "目标",
    "期间",
    "数值",
    "进展说明",
    "佐证材料",
];

/// A filled template in the first layout: the header, then `rows`; 任务编号
/// and 数值 cells that read as numbers are written as numbers, as Excel would
/// keep them.
fn filled(rows: &[[&str; 9]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in FIRST_COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<f64>() {
                Ok(n) if c == 0 || c == 6 => sheet.write_number(r, c, n).unwrap(),
                _ => sheet.write_string(r, c, *cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    unit: Option<&str>,
    bytes: Vec<u8>,
) -> (u16, String) {
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf.to_string());
    if let Some(unit) = unit {
        form = form.text("unit", unit.to_string());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("填报.xlsx"),
    );
    let r = client
        .post(app.url("/plan/desk/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Stored reports of a unit for a period: (task, indicator) → (value, version).
async fn stored(
    app: &TestApp,
    unit: &str,
    period: &str,
) -> std::collections::HashMap<(i64, String), (Option<f64>, i64)> {
    let rows: Vec<(i64, String, Option<f64>, i64)> = sqlx::query_as(
        "SELECT task, indicator, value, version FROM plan_reports WHERE unit = $1 AND period = $2",
    )
    .bind(unit.to_string())
    .bind(period.to_string())
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(t, i, v, n)| ((t, i), (v, n)))
        .collect()
}

/// The template as downloaded, with some rows filled in: every column,
/// 类型 included.
fn from_template(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_template_row_of_an_unknown_type_is_listed_and_the_others_kept() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        let minzheng = unit_account(&app, "minzheng", "U16").await;
        let response = get_with(&app, "/plan/desk/template", &minzheng).await;
        let (_, rows) = read_xlsx(&response.bytes().await.unwrap());
        let pick = |indicator: &str, kind: &str| {
            rows.iter()
                .find(|r| r[2].starts_with(indicator) && r[4] == kind)
                .unwrap_or_else(|| panic!("{indicator} {kind} row"))
                .clone()
        };
        let mut bad = pick("T16-1 ", "牵头汇总");
        bad[4] = "汇总".into();
        let mut good = pick("T16-2 ", "牵头汇总");
        for row in [&mut bad, &mut good] {
            row[8] = "5".into();
            row[9] = "进展".into();
        }
        let quarter = good[7].clone();
        let (client, csrf) = session(&app, "minzheng").await;
        let file = from_template(&[rows[0].clone(), bad, good]);
        let (status, html) = upload(&app, &client, &csrf, None, file).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("出错1行"), "{html}");
        let cells = "<td>2</td><td>类型</td><td>";
        let at = html.find(cells).unwrap_or_else(|| panic!("{html}"));
        assert!(
            html[at..].starts_with(&format!("{cells}类型“汇总”无效：应为“本单位”或“牵头汇总”")),
            "{}",
            &html[at..]
        );
        let saved = stored(&app, "U16", &quarter).await;
        assert_eq!(saved.len(), 1, "{saved:?}");
        assert_eq!(saved[&(16, "T16-2".into())], (Some(5.0), 1));
    }
}

#[tokio::test]
async fn units_fill_in_the_excel_template_and_bad_rows_are_listed() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        let admin = app.add_user("admin", "admin", "").await;
        let minzheng = unit_account(&app, "minzheng", "U16").await;
        let today = lifeservice::time::today();
        let quarter = Cadence::Quarterly.last_due(today);
        let previous = Cadence::Quarterly.last_due(quarter.start()).to_string();
        let (month, quarter) = (
            Cadence::Monthly.last_due(today).to_string(),
            quarter.to_string(),
        );
        // A consolidated value from the quarter before, which the template
        // prefills in the 牵头汇总 row (民政厅 leads task 16 with others).
        let (status, _) = send(&app, reqwest::Method::POST, "/api/v1/plan/reports", &minzheng,
            serde_json::json!({"task": 16, "indicator": "T16-1", "period": previous, "value": 12, "narrative": "上期", "consolidated": true})).await;
        assert_eq!(status, 200);

        // The template: one row per target indicator (per city or county where
        // it is assessed per area) and one 任务整体 row per task of the unit.
        let response = get_with(&app, "/plan/desk/template", &minzheng).await;
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("spreadsheetml")
        );
        let (sheets, rows) = read_xlsx(&response.bytes().await.unwrap());
        assert_eq!(sheets, ["填报", "填报说明"]);
        assert_eq!(rows[0], lifeservice::plan::workbook::COLUMNS);
        let (_, tasks) = app.get_json("/api/v1/plan/tasks").await;
        let counties = rows.iter().filter(|r| r[2].starts_with("T26-1 ")).count();
        assert!(counties > 100, "one T26-1 row per county: {counties}");
        assert!(rows.iter().any(|r| r[2].starts_with("T26-1 ")
            && r[3].starts_with("140105 ")
            && r[3].contains("小店区")));
        assert!(
            !rows.iter().any(|r| r[2].starts_with("T16-8 ")),
            "the platform counts T16-8 itself"
        );
        let expected: usize = tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| {
                t["responsible_unit_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u == "U16")
            })
            .map(|t| {
                1 + t["indicators"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["kind"] != "政策参数")
                    .map(|i| match i["scope"].as_str().unwrap() {
                        _ if i["id"] == "T16-8" || i["id"] == "T03-3" => 0,
                        "每县(市、区)" => counties,
                        "每市" => 11,
                        _ => 1,
                    })
                    .sum::<usize>()
            })
            .sum();
        assert_eq!(rows.len() - 1, expected);
        let t16_1 = rows.iter().find(|r| r[2].starts_with("T16-1 ")).unwrap();
        assert_eq!(
            (
                t16_1[0].as_str(),
                t16_1[4].as_str(),
                t16_1[5].as_str(),
                t16_1[7].as_str(),
                t16_1[8].as_str()
            ),
            ("16", "牵头汇总", "个", quarter.as_str(), "12")
        );
        assert!(
            rows.iter()
                .any(|r| r[0] == "17" && r[2] == "任务整体" && r[8].is_empty())
        );
        assert!(rows.iter().all(|r| r[0] != "1"), "task 1 is not 民政厅's");
        // Who may download which template.
        assert_eq!(
            reqwest::get(app.url("/plan/desk/template"))
                .await
                .unwrap()
                .status()
                .as_u16(),
            401
        );
        assert_eq!(
            get_with(&app, "/plan/desk/template?unit=U01", &minzheng)
                .await
                .status()
                .as_u16(),
            403
        );
        let no_unit: serde_json::Value = get_with(&app, "/plan/desk/template", &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(no_unit["error"]["field"], "unit");
        let (_, for_u01) = read_xlsx(
            &get_with(&app, "/plan/desk/template?unit=省文旅厅", &admin)
                .await
                .bytes()
                .await
                .unwrap(),
        );
        assert!(
            for_u01.iter().skip(1).all(|r| r[0] != "16")
                && for_u01.iter().any(|r| r[2].starts_with("T01-2 "))
        );
        let (_, by_month) = read_xlsx(
            &get_with(
                &app,
                &format!("/plan/desk/template?period={month}"),
                &minzheng,
            )
            .await
            .bytes()
            .await
            .unwrap(),
        );
        let containing = Cadence::Quarterly
            .period_containing(
                lifeservice_domain::plan::Period::parse(&month)
                    .unwrap()
                    .end(),
            )
            .to_string();
        assert!(
            by_month.iter().skip(1).all(|r| r[7] == containing),
            "quarterly tasks take the quarter of {month}"
        );

        let (client, csrf) = session(&app, "minzheng").await;
        let q = quarter.as_str();
        let file = filled(&[
            [
                "16",
                "",
                "T16-1 养老服务模范市",
                "个",
                "",
                q,
                "15",
                "新认定模范市3个",
                "晋民发〔2026〕5号",
            ], // 2
            [
                "16",
                "",
                "T16-2 养老服务模范县(市、区)",
                "个",
                "",
                q,
                "31个",
                "模范县31个",
                "",
            ], // 3
            ["17", "", "任务整体", "", "", q, "", "普惠托育机构扩容", ""], // 4
            [
                "16",
                "",
                "T16-8 综合性养老机构",
                "家",
                "",
                q,
                "2",
                "说明",
                "",
            ], // 5: wrong unit
            [
                "16",
                "",
                "T16-3 养老服务模范机构",
                "个",
                "",
                q,
                "-5",
                "说明",
                "",
            ], // 6: negative
            ["1", "", "任务整体", "", "", q, "", "说明", ""],              // 7: not responsible
            [
                "16",
                "",
                "T16-4 社区养老服务品牌",
                "个",
                "",
                "2099-Q1",
                "3",
                "说明",
                "",
            ], // 8: future
            [
                "16",
                "",
                "T16-5 社区养老示范机构",
                "个",
                "",
                q,
                "很多",
                "说明",
                "",
            ], // 9: not a number
            ["16", "", "T16-6 养老示范社区", "个", "", q, "7", "", ""],    // 10: no narrative
            ["16", "", "T16-7 社区养老服务组织", "个", "", q, "", "", ""], // 11: left as it was
            [
                "16",
                "",
                "T16-1 养老服务模范市",
                "个",
                "",
                q,
                "16",
                "重复",
                "",
            ], // 12: duplicate
            [
                "16",
                "",
                "T01-2 新创建国家5A级旅游景区",
                "家",
                "",
                q,
                "1",
                "说明",
                "",
            ], // 13: another task's
            ["13", "", "任务整体", "", "", &month, "", "说明", ""], // 14: a month for a quarterly task
            ["", "", "", "", "", "", "", "", ""],                   // 15: blank
            [
                "21",
                "",
                "T21-1 新建社区商业和综合服务设施面积占社区总建筑面积比例",
                "%",
                "",
                q,
                "120",
                "说明",
                "",
            ], // 16: share over 100
        ]);
        let (status, _) = upload(&app, &client, "forged", None, file.clone()).await;
        assert_eq!(status, 403);
        let (status, html) = upload(&app, &client, &csrf, None, file).await;
        assert_eq!(status, 200, "{html}");
        assert!(
            html.contains("共读取14行：新填报3行，更正0行，未填写跳过1行，出错10行"),
            "{html}"
        );
        for (row, column, reason) in [
            (5, "单位", "“所”"),
            (6, "数值", "非负数"),
            (7, "任务编号", "不是任务1"),
            (8, "期间", "尚未开始"),
            (9, "数值", "应为数字"),
            (10, "进展说明", "请填写进展说明"),
            (12, "期间", "与第2行"),
            (13, "指标", "不属于任务16"),
            (14, "期间", "按季度"),
            (16, "数值", "百分数"),
        ] {
            let cells = format!("<td>{row}</td><td>{column}</td><td>");
            let at = html
                .find(&cells)
                .unwrap_or_else(|| panic!("row {row} {column} not listed: {html}"));
            let reason_cell = &html[at + cells.len()..];
            assert!(
                reason_cell[..reason_cell.find("</td>").unwrap()].contains(reason),
                "row {row}: {reason_cell}"
            );
        }
        let saved = stored(&app, "U16", q).await;
        assert_eq!(saved.len(), 3, "{saved:?}");
        assert_eq!(saved[&(16, "T16-1".into())], (Some(15.0), 1));
        assert_eq!(saved[&(16, "T16-2".into())], (Some(31.0), 1));
        assert_eq!(saved[&(17, String::new())], (None, 1));

        // A re-upload amends with history; unchanged rows are skipped, bad ones listed, nothing good lost.
        let again = filled(&[
            [
                "16",
                "",
                "T16-1 养老服务模范市",
                "个",
                "",
                q,
                "16",
                "更正：4个",
                "",
            ],
            [
                "16",
                "",
                "T16-2 养老服务模范县(市、区)",
                "个",
                "",
                q,
                "31",
                "",
                "",
            ],
            [
                "16",
                "",
                "T16-3 养老服务模范机构",
                "个",
                "",
                q,
                "-1",
                "说明",
                "",
            ],
        ]);
        let (_, html) = upload(&app, &client, &csrf, None, again).await;
        assert!(
            html.contains("新填报0行，更正1行，未填写跳过1行，出错1行"),
            "{html}"
        );
        let saved = stored(&app, "U16", q).await;
        assert_eq!(saved[&(16, "T16-1".into())], (Some(16.0), 2));
        assert_eq!(saved.len(), 3);
        let history: Vec<Option<f64>> = sqlx::query_scalar(
            "SELECT v.value FROM plan_report_versions v JOIN plan_reports r ON r.id = v.report_id \
             WHERE r.unit = 'U16' AND r.indicator = 'T16-1' AND r.period = $1",
        )
        .bind(quarter.clone())
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
        assert_eq!(history, [Some(15.0)]);

        // An administrator uploads for a unit it names; a file without the columns is refused whole.
        let (admin_client, admin_csrf) = session(&app, "admin").await;
        let (status, html) = upload(
            &app,
            &admin_client,
            &admin_csrf,
            Some("U16"),
            filled(&[[
                "16",
                "",
                "T16-4 社区养老服务品牌",
                "个",
                "",
                q,
                "3",
                "代填",
                "",
            ]]),
        )
        .await;
        assert!(status == 200 && html.contains("新填报1行"), "{html}");
        let by: String =
            sqlx::query_scalar("SELECT reported_by FROM plan_reports WHERE indicator = 'T16-4'")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert_eq!(by, "admin");
        let (status, html) = upload(
            &app,
            &client,
            &csrf,
            None,
            b"\xEF\xBB\xBF\xE4\xBB\xBB\xE5\x8A\xA1,\xE6\x95\xB0\xE5\x80\xBC\n1,2\n".to_vec(),
        )
        .await;
        assert!(
            status == 400 && html.contains("文件缺少必填列：任务编号"),
            "{status} {html}"
        );
        assert_eq!(stored(&app, "U16", q).await.len(), 4);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn views_per_unit_and_per_city_with_the_attainment_map() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        lifeservice::demo::generate(&app.state.db, 1500, 5, None)
            .await
            .unwrap();
        let minzheng = unit_account(&app, "minzheng", "省民政厅").await;
        let quarter = Cadence::Quarterly
            .last_due(lifeservice::time::today())
            .to_string();
        let (status, _) = send(&app, reqwest::Method::POST, "/api/v1/plan/reports", &minzheng,
            serde_json::json!({"task": 16, "indicator": "T16-1", "period": quarter, "value": 3, "narrative": "模范市3个", "consolidated": true})).await;
        assert_eq!(status, 200);

        // A unit: its tasks as lead (13–16, 23) or co-unit (10 more), indicators, reports and late ones.
        let (status, html) = app.get_text("/plan/units/U16").await;
        assert_eq!(status, 200);
        assert!(html.contains("省民政厅") && html.contains("全称：山西省民政厅"));
        assert!(
            html.contains("牵头的任务（5项）") && html.contains("配合的任务（10项）"),
            "{html}"
        );
        assert!(html.contains("养老服务模范市") && html.contains("模范市3个"));
        assert!(
            html.contains("到期未报（14项）"),
            "15 tasks, task 16 reported: {html}"
        );
        let (status, by_name) = app.get_text("/plan/units/省民政厅").await;
        assert_eq!((status, by_name.contains("牵头的任务（5项）")), (200, true));
        assert_eq!(app.get_text("/plan/units/U99").await.0, 404);
        let (_, collective) = app.get_text("/plan/units/U32").await;
        assert!(collective.contains("不逐项填报") && !collective.contains("到期未报"));

        // A city: its counties' measured per-county targets, the map and the assessment.
        let (status, html) = app.get_text("/plan/cities/1401").await;
        assert_eq!(status, 200);
        assert!(html.contains("太原市：行动方案分地区进展") && html.contains("<svg"));
        let reference = lifeservice::reference::Reference::shipped();
        let counties: Vec<String> = reference
            .children(&lifeservice_domain::DivisionCode::parse("1401").unwrap())
            .iter()
            .filter(|c| c.level() == lifeservice_domain::Level::County)
            .map(|c| c.to_string())
            .collect();
        assert!(counties.len() >= 10, "{counties:?}");
        assert!(
            html.contains(&format!("/ {}</td>", counties.len())),
            "达标县数 of every county"
        );
        assert!(html.contains("精品赛事品牌") && html.contains("/plan/assessment?level=city"));
        let areas = lifeservice::plan::views::AreaValues::load(&app.state)
            .await
            .unwrap();
        for code in &counties {
            let count = |sql: &'static str| {
                let (pool, code) = (app.state.db.pool(), code.clone());
                async move {
                    sqlx::query_scalar::<_, i64>(sql)
                        .bind(code)
                        .fetch_one(pool)
                        .await
                        .unwrap() as f64
                }
            };
            let elderly = count("SELECT COUNT(*) FROM outlets WHERE county_code = $1 AND service_type = '0301' AND status = 'open'").await;
            let restaurants = count("SELECT COUNT(*) FROM outlets o JOIN designations d ON d.outlet_id = o.id WHERE o.county_code = $1 \
                AND d.kind = 'time_honoured' AND o.service_type = '0902' AND o.status = 'open'").await;
            let expected = 100.0 * (elderly.min(1.0) + (restaurants / 5.0).min(1.0)) / 2.0;
            let county = lifeservice_domain::DivisionCode::parse(code).unwrap();
            assert!(
                (areas.attainment(&county) - expected).abs() < 1e-9,
                "{code}"
            );
        }
        let (_, assessment) = app.get_json("/api/v1/plan/assessment?level=city").await;
        let taiyuan = assessment["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == "1401")
            .unwrap()
            .clone();
        assert!(
            html.contains(&format!("排第{}名", taiyuan["rank"])),
            "{html}"
        );
        assert_eq!(app.get_text("/plan/cities/140105").await.0, 404);
        assert_eq!(app.get_text("/plan/cities/1499").await.0, 404);
        assert_eq!(app.get_text("/plan/cities/140100").await.0, 200);

        // Linked from /plan and the task pages.
        let (_, plan) = app.get_text("/plan").await;
        assert!(
            plan.contains("href=\"/plan/units/U01\"")
                && plan.contains("href=\"/plan/cities/1401\"")
        );
        assert!(plan.contains("分县指标达成度"));
        let (_, task) = app.get_text("/plan/tasks/16").await;
        assert!(
            task.contains("href=\"/plan/units/U16\"")
                && task.contains("href=\"/plan/cities/1411\"")
        );
        app.cleanup().await;
    }
}

/// Task numbers of an API answer, in its order.
fn numbers(body: &serde_json::Value) -> Vec<u64> {
    body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn tasks_are_found_by_chinese_words_and_responsible_units() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, all) = app.get_json("/api/v1/plan/tasks").await;
    let all = all["tasks"].as_array().unwrap();
    let mentioning = |word: &str| -> std::collections::BTreeSet<u64> {
        all.iter()
            .filter(|t| {
                ["title", "text", "group"]
                    .iter()
                    .any(|f| t[*f].as_str().unwrap().contains(word))
            })
            .map(|t| t["number"].as_u64().unwrap())
            .collect()
    };
    let responsible = |unit: &str| -> std::collections::BTreeSet<u64> {
        all.iter()
            .filter(|t| {
                t["responsible_units"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u == unit)
            })
            .map(|t| t["number"].as_u64().unwrap())
            .collect()
    };

    let (status, elderly) = app.get_json("/api/v1/plan/tasks?q=养老").await;
    assert_eq!(status, 200);
    let found: std::collections::BTreeSet<u64> = numbers(&elderly).into_iter().collect();
    assert!([16, 17, 18].iter().all(|n| found.contains(n)), "{found:?}");
    assert_eq!(found, mentioning("养老"));
    assert_eq!(elderly["query"], "养老");

    let (_, culture) = app.get_json("/api/v1/plan/tasks?q=文化和旅游厅").await;
    let found: std::collections::BTreeSet<u64> = numbers(&culture).into_iter().collect();
    assert_eq!(found, responsible("省文旅厅"));
    let (_, civil) = app.get_json("/api/v1/plan/tasks?q=省民政厅").await;
    assert_eq!(
        numbers(&civil)
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        responsible("省民政厅")
    );

    // Every term must match: 养老 托育 is narrower than either.
    let (_, both) = app.get_json("/api/v1/plan/tasks?q=养老%20托育").await;
    let both: std::collections::BTreeSet<u64> = numbers(&both).into_iter().collect();
    assert!(
        !both.is_empty()
            && both.is_subset(&mentioning("养老"))
            && both.is_subset(&mentioning("托育")),
        "{both:?}"
    );

    let (status, none) = app.get_json("/api/v1/plan/tasks?q=量子纠缠").await;
    assert_eq!((status, numbers(&none).len()), (200, 0));
    assert!(
        none["message"]
            .as_str()
            .unwrap()
            .contains("没有与“量子纠缠”相关的任务")
    );

    let (_, html) = app.get_text("/plan?q=养老").await;
    assert!(html.contains("找到") && html.contains("href=\"/plan/tasks/16\""));
    let (_, html) = app.get_text("/plan?q=量子纠缠").await;
    assert!(
        html.contains("没有与“量子纠缠”相关的任务") && !html.contains("href=\"/plan/tasks/16\"")
    );
}

/// The units that owe a report on task 16, and whether it is a consolidation.
async fn owed_on_task_16(app: &TestApp) -> Vec<(String, bool)> {
    let cadences = lifeservice::plan::cadence::load(&app.state.db)
        .await
        .unwrap();
    lifeservice::plan::reports::missing(&app.state.db, &cadences, lifeservice::time::today())
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.task == 16)
        .map(|d| (d.unit.to_string(), d.consolidation))
        .collect()
}

#[tokio::test]
async fn the_lead_unit_consolidates_the_co_units_reports() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        // Task 16: 省民政厅 (U16) leads; 省卫健委 (U12) is one of its co-units.
        let lead = unit_account(&app, "minzheng", "U16").await;
        let co = unit_account(&app, "weijian", "U12").await;
        let tiyu = unit_account(&app, "tiyu", "U13").await;
        let quarter = Cadence::Quarterly
            .last_due(lifeservice::time::today())
            .to_string();
        let post = |token: &str, body: serde_json::Value| {
            let token = token.to_string();
            let app = &app;
            async move {
                send(
                    app,
                    reqwest::Method::POST,
                    "/api/v1/plan/reports",
                    &token,
                    body,
                )
                .await
            }
        };
        let report = |value: f64, extra: serde_json::Value| {
            let mut body = serde_json::json!({"task": 16, "indicator": "T16-1", "period": quarter, "value": value, "narrative": "进展"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };
        assert_eq!(post(&co, report(5.0, serde_json::json!({}))).await.0, 200);
        assert_eq!(post(&lead, report(7.0, serde_json::json!({}))).await.0, 200);

        // Before consolidation the task's value is the units' sum.
        let current = |tasks: &serde_json::Value| {
            tasks["tasks"][15]["indicators"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == "T16-1")
                .unwrap()["current"]
                .clone()
        };
        let (_, tasks) = app.get_json("/api/v1/plan/tasks").await;
        let before = current(&tasks);
        assert_eq!(before["value"].as_f64(), Some(12.0), "{before}");
        assert_eq!(before["period"], quarter.as_str());
        assert!(before["formula"].as_str().unwrap().contains("汇总"));
        let due = owed_on_task_16(&app).await;
        assert!(due.contains(&("U16".into(), true)), "{due:?}");
        assert!(!due.iter().any(|(u, _)| u == "U12"), "{due:?}");

        // Only the lead consolidates, and only where there is something to consolidate.
        let (status, error) =
            post(&co, report(9.0, serde_json::json!({"consolidated": true}))).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some("consolidated")),
            "{error}"
        );
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("省民政厅牵头")
        );
        let single = serde_json::json!({"task": 9, "period": quarter, "narrative": "x", "consolidated": true});
        let (status, error) = post(&tiyu, single).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some("consolidated")),
            "{error}"
        );

        // The lead's consolidated value stands for the task; its own part is kept.
        let (status, consolidated) = post(
            &lead,
            report(11.0, serde_json::json!({"consolidated": true})),
        )
        .await;
        assert_eq!(status, 200, "{consolidated}");
        assert_eq!(
            (
                consolidated["consolidated"].as_bool(),
                consolidated["version"].as_i64()
            ),
            (Some(true), Some(1))
        );
        let (_, tasks) = app.get_json("/api/v1/plan/tasks").await;
        assert_eq!(current(&tasks)["value"].as_f64(), Some(11.0));
        assert!(!owed_on_task_16(&app).await.iter().any(|(u, _)| u == "U16"));
        let (_, list) = app
            .get_json(&format!("/api/v1/plan/reports?task=16&period={quarter}"))
            .await;
        assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
        let (status, _) = app.get_json("/api/v1/plan/reports?period=下季度").await;
        assert_eq!(status, 400);

        // What the lead consolidates, through the API and on the task page.
        let (status, view) = app
            .get_json(&format!(
                "/api/v1/plan/tasks/16/consolidation?period={quarter}"
            ))
            .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(
            (
                view["lead"].as_str(),
                view["units"].as_array().unwrap().len()
            ),
            (Some("U16"), 4)
        );
        assert_eq!(view["sums"][0]["sum"].as_f64(), Some(12.0));
        assert_eq!(view["sums"][0]["units"].as_u64(), Some(2));
        assert_eq!(view["consolidated"].as_array().unwrap().len(), 1);
        assert_eq!(
            app.get_json("/api/v1/plan/tasks/9/consolidation").await.0,
            400
        );
        assert_eq!(
            app.get_json("/api/v1/plan/tasks/99/consolidation").await.0,
            404
        );
        let (_, public) = app.get_text("/plan/tasks/16").await;
        assert!(
            public.contains("2/4个责任单位已填报")
                && public.contains("已汇总上报")
                && public.contains("牵头汇总"),
            "{public}"
        );
        let (client, csrf) = session(&app, "minzheng").await;
        let desk = app.text_as(&client, "/plan/desk").await;
        assert!(
            desk.contains("牵头汇总（") && desk.contains("/plan/tasks/16#consolidation"),
            "{desk}"
        );
        let task = app.text_as(&client, "/plan/tasks/16").await;
        assert!(
            task.contains("牵头汇总（本单位为牵头单位）") && task.contains("各单位填报值之和"),
            "{task}"
        );
        // The web form amends the consolidated report, with history.
        let amended = client
            .post(app.url("/plan/tasks/16/reports"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("indicator", "T16-1"),
                ("period", quarter.as_str()),
                ("value", "13"),
                ("narrative", "汇总更正"),
                ("evidence", ""),
                ("division", ""),
                ("consolidated", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(amended.status().as_u16(), 200);
        assert!(amended.text().await.unwrap().contains("已汇总上报"));
        let (_, tasks) = app.get_json("/api/v1/plan/tasks").await;
        assert_eq!(current(&tasks)["value"].as_f64(), Some(13.0));

        // The plan endpoints are in the OpenAPI document.
        let (_, spec) = app.get_json("/api/openapi.json").await;
        for path in [
            "/api/v1/plan/tasks",
            "/api/v1/plan/reports",
            "/api/v1/plan/tasks/{number}/consolidation",
            "/api/v1/plan/missing",
            "/api/v1/plan/assessment",
            "/api/v1/plan/tasks/{number}/cadence",
        ] {
            assert!(
                spec["paths"][path].is_object(),
                "{path} missing from OpenAPI"
            );
        }
        assert!(spec["components"]["schemas"]["ReportBody"]["properties"]["division"].is_object());
        app.cleanup().await;
    }
}

#[tokio::test]
async fn per_area_targets_are_reported_per_area_shown_and_scored() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        let tiyu = unit_account(&app, "tiyu", "省体育局").await;
        let quarter = Cadence::Quarterly
            .last_due(lifeservice::time::today())
            .to_string();
        let post = |body: serde_json::Value| {
            let (app, tiyu) = (&app, &tiyu);
            async move {
                send(
                    app,
                    reqwest::Method::POST,
                    "/api/v1/plan/reports",
                    tiyu,
                    body,
                )
                .await
            }
        };
        let body = |indicator: &str, division: Option<&str>, value: f64| {
            let mut body = serde_json::json!({"task": 9, "indicator": indicator, "period": quarter, "value": value, "narrative": "赛事"});
            if let Some(d) = division {
                body["division"] = d.into();
            }
            body
        };
        // T09-3 特色精品赛事: one per county; T09-2 精品赛事品牌: one per city.
        let (status, stored) = post(body("T09-3", Some("140105"), 1.0)).await;
        assert_eq!(status, 200, "{stored}");
        assert!(stored["division_name"].as_str().unwrap().contains("小店区"));
        assert_eq!(post(body("T09-3", Some("140106"), 0.0)).await.0, 200);
        assert_eq!(post(body("T09-2", Some("1401"), 1.0)).await.0, 200);
        assert_eq!(post(body("T09-4", Some("140105001"), 2.0)).await.0, 200);
        // Each bad area is named.
        for (bad, reason) in [
            (body("T09-3", None, 1.0), "须注明所属县"),
            (body("T09-3", Some("1401"), 1.0), "地区应为县"),
            (
                body("T09-3", Some("149999"), 1.0),
                "不是山西省的行政区划代码",
            ),
            (body("T09-3", Some("小店"), 1.0), "不是山西省的行政区划代码"),
            (body("T09-1", Some("140105"), 1.0), "全省指标"),
            (
                serde_json::json!({"task": 9, "period": quarter, "narrative": "x", "division": "140105"}),
                "任务整体",
            ),
        ] {
            let (status, error) = post(bad.clone()).await;
            assert_eq!(
                (status, error["error"]["field"].as_str()),
                (400, Some("division")),
                "{bad} → {error}"
            );
            assert!(
                error["error"]["message"].as_str().unwrap().contains(reason),
                "{error}"
            );
        }

        // Province value: the share of areas meeting the target.
        let (_, tasks) = app.get_json("/api/v1/plan/tasks").await;
        let indicator = |id: &str| {
            tasks["tasks"][8]["indicators"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == id)
                .unwrap()
                .clone()
        };
        let t09_2 = indicator("T09-2");
        assert!(
            (t09_2["current"]["value"].as_f64().unwrap() - 1.0 / 11.0).abs() < 1e-9,
            "{t09_2}"
        );
        assert_eq!(t09_2["status"], "in_progress");
        let t09_3 = indicator("T09-3");
        assert!(
            t09_3["current"]["formula"]
                .as_str()
                .unwrap()
                .contains("地区数")
        );

        // The city page lists each county's reported value.
        let (_, html) = app.get_text("/plan/cities/1401").await;
        let html = &html[html
            .find("责任单位分地区填报的指标")
            .expect("the reported section")..];
        let row = |name: &str| {
            let at = html
                .find(&format!(">{name}</a></td>"))
                .unwrap_or_else(|| panic!("{name}: {html}"));
            html[at..at + html[at..].find("</tr>").unwrap()].to_string()
        };
        let xiaodian = row("小店区");
        assert!(
            xiaodian.contains("已达标") && xiaodian.contains("达标乡镇 1 / "),
            "{xiaodian}"
        );
        assert!(row("迎泽区").contains("未达标"));
        assert!(row("杏花岭区").contains("未填报"));

        // The assessment's reported criterion: each reported indicator over the
        // areas at its level within the area, unreported areas counting 0.
        let reference = lifeservice::reference::Reference::shipped();
        let below = |code: &str, level: lifeservice_domain::Level| {
            reference
                .all()
                .filter(|d| d.level == level && d.code.as_str().starts_with(code))
                .count() as f64
        };
        let (_, counties) = app.get_json("/api/v1/plan/assessment?level=county").await;
        let value = |code: &str| {
            counties["areas"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["code"] == code)
                .unwrap()["values"]["reported"]
                .as_f64()
        };
        // 小店区: T09-3 met; T09-4 met in one of its townships.
        let expected = (1.0 + 1.0 / below("140105", lifeservice_domain::Level::Town)) / 2.0;
        assert!((value("140105").unwrap() - expected).abs() < 1e-9);
        assert_eq!(value("140106"), Some(0.0), "a shortfall reported");
        assert_eq!(
            value("140107"),
            Some(0.0),
            "nothing reported counts 0, not less than a shortfall"
        );
        assert!(
            counties["criteria"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == "reported")
        );
        let weights: f64 = counties["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["weight"].as_f64().unwrap())
            .sum();
        assert!(
            (weights - 1.0).abs() < 1e-9,
            "default weights add up to 1: {weights}"
        );
        let (_, cities) = app.get_json("/api/v1/plan/assessment?level=city").await;
        let taiyuan = cities["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == "1401")
            .unwrap()
            .clone();
        // T09-2 met by the city; T09-3 in one of its counties; T09-4 in one of its townships.
        let expected = (1.0
            + 1.0 / below("1401", lifeservice_domain::Level::County)
            + 1.0 / below("1401", lifeservice_domain::Level::Town))
            / 3.0;
        assert!(
            (taiyuan["values"]["reported"].as_f64().unwrap() - expected).abs() < 1e-9,
            "{taiyuan}"
        );

        // The template lists one T09-2 row per city and one T09-3 row per county.
        let (_, rows) = read_xlsx(
            &get_with(&app, "/plan/desk/template", &tiyu)
                .await
                .bytes()
                .await
                .unwrap(),
        );
        assert_eq!(
            rows.iter().filter(|r| r[2].starts_with("T09-2 ")).count(),
            11
        );
        let xiaodian = rows
            .iter()
            .find(|r| r[2].starts_with("T09-3 ") && r[3].starts_with("140105 "))
            .unwrap();
        assert_eq!(
            (xiaodian[4].as_str(), xiaodian[8].as_str()),
            ("本单位", "1")
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn demo_reports_pass_every_check_and_leave_work_to_do() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        let written = lifeservice::plan::demo::generate(&app.state.db, 7)
            .await
            .unwrap();
        assert!(written > 100, "{written}");
        let narratives: Vec<String> = sqlx::query_scalar("SELECT narrative FROM plan_reports")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
        assert!(narratives.iter().all(|n| n.contains("演示数据")));
        // Consolidated earlier periods, units still late on the latest one,
        // and per-area values that the city view and the assessment use.
        let consolidated: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM plan_reports WHERE consolidated = 1")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert!(consolidated > 0);
        let (_, missing) = {
            let admin = app.add_user("admin", "admin", "").await;
            let r = get_with(&app, "/api/v1/plan/missing", &admin).await;
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        };
        assert!(!missing["missing"].as_array().unwrap().is_empty());
        let (_, cities) = app.get_json("/api/v1/plan/assessment?level=city").await;
        assert!(
            cities["areas"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["values"]["reported"].is_number()),
            "every city has a reported per-city value"
        );
        // Reproducible: the same seed writes the same values.
        let again = spawn_app(Backend::Sqlite).await;
        lifeservice::plan::demo::generate(&again.state.db, 7)
            .await
            .unwrap();
        let sum = |app: &TestApp| {
            let pool = app.state.db.pool().clone();
            async move {
                sqlx::query_scalar::<_, f64>("SELECT COALESCE(SUM(value), 0) FROM plan_reports")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(sum(&app).await, sum(&again).await);
        again.cleanup().await;
        app.cleanup().await;
    }
}

/// Posts `bytes` as `name` to a report's attachments through the API.
async fn attach(
    app: &TestApp,
    token: &str,
    report: i64,
    name: &str,
    bytes: &[u8],
) -> (u16, serde_json::Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
    );
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/plan/reports/{report}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (
        r.status().as_u16(),
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn units_attach_evidence_that_only_staff_can_read() {
    for backend in common::backends().await {
        let app = spawn_app(backend).await;
        let minzheng = unit_account(&app, "minzheng", "U16").await;
        let weijian = unit_account(&app, "weijian", "U12").await;
        let admin = app.add_user("admin", "admin", "").await;
        let entity = app.add_user("anxin", "entity", "91350200776049653A").await;
        let quarter = Cadence::Quarterly
            .last_due(lifeservice::time::today())
            .to_string();
        let (_, report) = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/plan/reports",
            &minzheng,
            serde_json::json!({"task": 16, "period": quarter, "narrative": "养老服务进展"}),
        )
        .await;
        let id = report["id"].as_i64().unwrap();
        let pdf = b"%PDF-1.4\n% synthetic evidence\n".to_vec();
        let (status, attached) = attach(&app, &minzheng, id, "晋民发〔2026〕5号.pdf", &pdf).await;
        assert_eq!(status, 200, "{attached}");
        assert_eq!(attached["size"].as_u64(), Some(pdf.len() as u64));
        assert_eq!(attached["sha256"].as_str().unwrap().len(), 64);
        // Refused: a renamed program, another unit's report, a report that does not exist.
        let (status, error) = attach(&app, &minzheng, id, "通知.pdf", b"MZ\x90\x00").await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some("file")),
            "{error}"
        );
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("不是.pdf文件")
        );
        let (status, error) = attach(&app, &minzheng, id, "run.exe", b"MZ").await;
        assert!(
            status == 400
                && error["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("不支持"),
            "{error}"
        );
        assert_eq!(attach(&app, &weijian, id, "a.pdf", &pdf).await.0, 403);
        let mut large = b"%PDF".to_vec();
        large.resize(11 * 1024 * 1024, b' ');
        let (status, error) = attach(&app, &minzheng, id, "大.pdf", &large).await;
        assert_eq!(status, 413, "{error}");
        assert_eq!(attach(&app, &minzheng, 999_999, "a.pdf", &pdf).await.0, 404);

        // Listed with the report; the file itself only for government staff.
        let (_, public) = app.get_json("/api/v1/plan/reports?task=16").await;
        assert_eq!(public[0]["attachment_count"], 1, "{public}");
        assert!(
            public[0]["attachments"].as_array().unwrap().is_empty(),
            "names are for staff"
        );
        let list: serde_json::Value = get_with(&app, "/api/v1/plan/reports?task=16", &admin)
            .await
            .json()
            .await
            .unwrap();
        let files = list[0]["attachments"].as_array().unwrap();
        assert_eq!(files.len(), 1, "{list}");
        let href = files[0]["href"].as_str().unwrap().to_string();
        assert_eq!(
            reqwest::get(app.url(&href))
                .await
                .unwrap()
                .status()
                .as_u16(),
            401
        );
        assert_eq!(get_with(&app, &href, &entity).await.status().as_u16(), 403);
        let file = get_with(&app, &href, &admin).await;
        assert_eq!(file.status().as_u16(), 200);
        let disposition = file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.contains("filename*=UTF-8''%E6%99%8B"),
            "{disposition}"
        );
        assert_eq!(file.bytes().await.unwrap().to_vec(), pdf);
        let audited: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'attach'")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert_eq!(audited, 1);

        // The task page's form, with the page's CSRF token.
        let (client, csrf) = session(&app, "minzheng").await;
        let task = app.text_as(&client, "/plan/tasks/16").await;
        assert!(
            task.contains("上传佐证材料") && task.contains(&href),
            "{task}"
        );
        let form = |csrf: &str| {
            reqwest::multipart::Form::new()
                .text("csrf", csrf.to_string())
                .text("report", id.to_string())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"\x89PNG\r\n\x1a\n".to_vec())
                        .file_name("现场照片.png"),
                )
        };
        let forged = client
            .post(app.url("/plan/attachments"))
            .multipart(form("forged"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 403);
        let sent = client
            .post(app.url("/plan/attachments"))
            .multipart(form(&csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status().as_u16(), 200);
        assert!(
            sent.text()
                .await
                .unwrap()
                .contains("已上传附件：现场照片.png")
        );
        let (_, public) = app.get_text("/plan/tasks/16").await;
        assert!(
            public.contains("2个（工作人员可查看）") && !public.contains(&href),
            "{public}"
        );
        app.cleanup().await;
    }
}
