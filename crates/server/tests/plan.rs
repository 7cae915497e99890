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
