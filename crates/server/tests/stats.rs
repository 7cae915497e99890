//! 统计监测 through the API and the page, on every backend.

mod common;

use common::{backends, spawn_app};

#[tokio::test]
async fn series_follow_the_records_dates_and_add_up() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        lifeservice::demo::generate(&app.state.db, 1500, 5, None)
            .await
            .unwrap();
        lifeservice::credit::demo::generate_credit(&app.state.db, 5, 3)
            .await
            .unwrap();

        let (status, s) = app
            .get_json("/api/v1/stats?indicator=entities&division=1401&period=year")
            .await;
        assert_eq!(status, 200, "{s}");
        let points = s["points"].as_array().unwrap();
        let periods: Vec<&str> = points
            .iter()
            .map(|p| p["period"].as_str().unwrap())
            .collect();
        assert!(
            periods.windows(2).all(|w| w[0] < w[1]),
            "chronological: {periods:?}"
        );
        let mut stock = 0;
        for p in points {
            stock += p["new"].as_i64().unwrap();
            assert_eq!(
                p["stock"].as_i64().unwrap(),
                stock,
                "stock is the running total"
            );
        }
        let expected: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entities WHERE division_code LIKE '1401%' AND established IS NOT NULL")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(stock, expected);

        let (_, quarters) = app
            .get_json("/api/v1/stats?indicator=entities&division=1401&period=quarter")
            .await;
        let total: i64 = quarters["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["new"].as_i64().unwrap())
            .sum();
        assert_eq!(total, expected, "quarters add up to the same total");

        let (_, penalties) = app
            .get_json("/api/v1/stats?indicator=penalties&period=year")
            .await;
        let decided: i64 = penalties["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["new"].as_i64().unwrap())
            .sum();
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM credit_records WHERE kind = 'penalty'")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert!(stored > 0);
        assert_eq!(decided, stored);

        let (_, by_category) = app.get_json("/api/v1/stats?division=14&category=03").await;
        let elderly: i64 = by_category["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["new"].as_i64().unwrap())
            .sum();
        assert!(elderly > 0 && elderly < stock * 11, "{elderly}");

        for (query, field) in [
            ("indicator=gdp", "indicator"),
            ("division=99", "division"),
            ("period=week", "period"),
            ("category=99", "category"),
            ("colour=red", ""),
        ] {
            let (status, body) = app.get_json(&format!("/api/v1/stats?{query}")).await;
            assert_eq!(status, 400, "{query}: {body}");
            if !field.is_empty() {
                assert_eq!(body["error"]["field"], field, "{query}");
            }
        }
        let csv = reqwest::get(app.url("/api/v1/stats?division=1401&format=csv"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.starts_with("\u{feff}报告期,新增,期末存量,比率"));
        let page = reqwest::get(app.url("/stats?indicator=penalties&division=1401"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("<svg") && page.contains("每千户处罚数"));
        app.cleanup().await;
    }
}
