//! 一刻钟便民生活圈 through the real server: the demo network, grades,
//! coverage, gaps and incremental updates as outlets open and close.

mod common;

use common::{Backend, spawn_app};
use serde_json::json;

#[tokio::test]
async fn circles_grade_communities_find_gaps_and_follow_outlet_changes() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, body) = app.get_json("/api/v1/circles/140105").await;
    assert_eq!(status, 404, "no network yet: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("import osm")
    );

    let network = app.state.circles.network_path().to_path_buf();
    let located = lifeservice::demo::generate_circles(&app.state.db, &network, 5)
        .await
        .unwrap();
    assert!(located > 100, "{located}");
    // The demo's outlets sit in the community their address and name give.
    let outlets: Vec<(String, String)> = sqlx::query_as(
        "SELECT division_code, address FROM outlets WHERE county_code IN ('140105', '140106')",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert!(outlets.len() > 100);
    let reference = lifeservice::reference::Reference::shipped();
    for (division, address) in &outlets {
        let town = lifeservice_domain::DivisionCode::parse(division)
            .unwrap()
            .ancestor(lifeservice_domain::Level::Town)
            .unwrap();
        assert!(
            address.contains(reference.name(&town)),
            "{division}: {address}"
        );
    }
    app.state.circles.rebuild(&app.state.db).await.unwrap();

    let (status, area) = app.get_json("/api/v1/circles/140105").await;
    assert_eq!(status, 200);
    let communities = area["communities"].as_array().unwrap();
    assert!(!communities.is_empty());
    assert_eq!(area["area"]["unlocated"], 0);
    let grades: Vec<&str> = communities
        .iter()
        .map(|c| c["grade"].as_str().unwrap())
        .collect();
    assert!(
        grades.iter().any(|g| *g != "unmet"),
        "some communities reach every basic format"
    );

    // The city's table of its counties: each county's population-weighted
    // coverage, as its own communities give it, and the city's as the
    // population-weighted mean of its counties'.
    let (_, city) = app.get_json("/api/v1/circles/1401").await;
    let children = city["children"].as_array().unwrap();
    let codes: Vec<&str> = children
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["140105", "140106"],
        "the demo network's two districts"
    );
    let (mut covered, mut population) = (0.0, 0.0);
    for child in children {
        let (_, county) = app
            .get_json(&format!(
                "/api/v1/circles/{}",
                child["code"].as_str().unwrap()
            ))
            .await;
        let communities = county["communities"].as_array().unwrap();
        let pop = |c: &serde_json::Value| c["population"].as_f64().unwrap();
        let total: f64 = communities.iter().map(pop).sum();
        let reached: f64 = communities
            .iter()
            .filter(|c| c["grade"] != "unmet")
            .map(pop)
            .sum();
        let share = child["covered_share"].as_f64().unwrap();
        assert!((share - reached / total).abs() < 1e-9, "{child}");
        assert_eq!(child["weighted_by"], "常住人口");
        assert_eq!(child["population"].as_f64(), Some(total));
        covered += reached;
        population += total;
    }
    let city_share = city["area"]["covered_share"].as_f64().unwrap();
    assert!((city_share - covered / population).abs() < 1e-9);
    let (_, towns) = app.get_json("/api/v1/circles/140105").await;
    assert!(
        towns["children"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["code"].as_str().unwrap().len() == 9)
    );
    let page = reqwest::get(app.url("/circles/1401"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("下级地区覆盖情况")
            && page.contains("最薄弱的基本保障类业态")
            && page.contains("/circles/140105\"")
    );
    let index = reqwest::get(app.url("/circles"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(index.contains("/circles/1401\""), "the province's cities");
    // A city without a walking network has nothing measured: 无数据, not 0 %.
    let (_, datong) = app.get_text("/circles/1402").await;
    assert!(
        datong.contains("暂无生活圈数据") && datong.contains("无数据") && !datong.contains("0.0%"),
        "{datong}"
    );
    assert!(!page.contains("暂无生活圈数据"), "太原 has one");
    // In English too: headings, grades and formats.
    let (_, english) = app.get_text("/circles/140105?lang=en").await;
    assert!(
        english.contains("15-minute coverage by format")
            && english.contains("Basic grade or better")
            && english.contains("Below basic")
            && !english.contains("各业态15分钟覆盖率"),
        "{english}"
    );

    // A community that lacks a basic format within 15 minutes gets one next door.
    let mut target = None;
    for c in communities {
        let code = c["code"].as_str().unwrap();
        let (_, view) = app
            .get_json(&format!("/api/v1/circles/communities/{code}"))
            .await;
        let missing = view["formats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["class"] == "基本保障类" && f["within_15min"] == 0)
            .cloned();
        if let (Some(f), true) = (missing, view["reachable"].as_bool().unwrap()) {
            target = Some((
                code.to_string(),
                view["lon"].as_f64().unwrap(),
                view["lat"].as_f64().unwrap(),
                f["code"].as_str().unwrap().to_string(),
            ));
            break;
        }
    }
    let (code, lon, lat, format) = target.expect("a community missing some basic format");

    let (_, gaps) = app
        .get_json(&format!("/api/v1/circles/140105/gaps?format={format}&k=3"))
        .await;
    let sites = gaps["sites"].as_array().unwrap_or_else(|| panic!("{gaps}"));
    assert!(!sites.is_empty() && sites.len() <= 3, "{gaps}");
    assert!(
        sites[0]["newly_covered_weight"].as_f64().unwrap()
            >= sites.last().unwrap()["newly_covered_weight"]
                .as_f64()
                .unwrap()
    );
    let (status, bad) = app
        .get_json("/api/v1/circles/140105/gaps?format=0904")
        .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (400, Some("format")),
        "hotels are not a circle format"
    );

    let token = app.add_user("admin", "admin", "").await;
    let client = reqwest::Client::new();
    client
        .post(app.url("/api/v1/entities"))
        .bearer_auth(&token)
        .json(&json!({"credit_code": "91350200776049653A", "name": "测试服务有限公司"}))
        .send()
        .await
        .unwrap();
    let created: serde_json::Value = client
        .post(app.url("/api/v1/outlets"))
        .bearer_auth(&token)
        .json(&json!({"credit_code": "91350200776049653A", "name": "新开网点", "service_type": format, "address": "测试地址1号", "lon": lon, "lat": lat}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reach = format_reach(&app, &code, &format).await;
    assert!(reach["within_5min"].as_u64().unwrap() >= 1, "{reach}");

    // Closing it takes it away again.
    let id = created["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"));
    client
        .delete(app.url(&format!("/api/v1/outlets/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let reach = format_reach(&app, &code, &format).await;
    assert_eq!(reach["within_15min"], 0, "{reach}");

    let page = reqwest::get(app.url(&format!("/circles/140105?format={format}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<svg") && page.contains("建议选址") && page.contains("等级评定规则"));
}

/// What a community reaches of one format, as the API reports it.
async fn format_reach(app: &common::TestApp, code: &str, format: &str) -> serde_json::Value {
    let (_, view) = app
        .get_json(&format!("/api/v1/circles/communities/{code}"))
        .await;
    view["formats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == format)
        .unwrap()
        .clone()
}
