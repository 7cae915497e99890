//! The action plan through the API and pages.

mod common;

use common::{Backend, spawn_app};

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
        let quarter =
            lifeservice_domain::plan::Period::last_full_quarter(lifeservice::time::today())
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
            page.contains(&format!("{quarter} 逾期未报")) && page.contains("省民政厅"),
            "other tasks of 民政厅 are late"
        );
        let missing = lifeservice::plan::reports::missing(
            &app.state.db,
            lifeservice_domain::plan::Period::parse(&quarter).unwrap(),
        )
        .await
        .unwrap();
        assert!(!missing.iter().any(|(t, u)| *t == 16 && u.as_str() == "U16"));
        assert!(
            missing.iter().any(|(_, u)| u.as_str() == "U16"),
            "民政厅's other tasks are still owed"
        );
        app.cleanup().await;
    }
}
