//! 统计监测 through the API, the pages and the releases, on every backend.
//! The oracle for every cube figure is a plain SQL count over the records.

mod common;

use common::{TestApp, backends, spawn_app};
use lifeservice::stats::{cube, last_full_month, releases};
use serde_json::Value;

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

fn column(s: &Value, key: &str) -> usize {
    s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["key"] == key)
        .unwrap()
}

/// Sum of one column over all rows.
fn total(s: &Value, key: &str) -> f64 {
    let c = column(s, key);
    s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"][c].as_f64().unwrap_or(0.0))
        .sum()
}

fn last(s: &Value, key: &str) -> f64 {
    let c = column(s, key);
    s["rows"].as_array().unwrap().last().unwrap()["values"][c]
        .as_f64()
        .unwrap()
}

/// Registers an entity directly, as an old register would hold it, and
/// records the change as every writer does.
async fn insert_entity(app: &TestApp, body: &str, division: &str, established: &str) {
    let code = lifeservice_domain::CreditCode::from_body(body).unwrap();
    let mut tx = app.state.db.pool().begin().await.unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO entities (credit_code, name, kind, division_code, established, status, synthetic, created_at, updated_at) \
         VALUES ($1, '补录个体户', 'individual_business', $2, $3, 'active', 1, $3, $3) RETURNING id",
    )
    .bind(code.as_str().to_string())
    .bind(division.to_string())
    .bind(established.to_string())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    lifeservice::registry::store::record_changes(&mut tx, "entity", &[id])
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn seeded(backend: common::Backend) -> TestApp {
    let app = spawn_app(backend).await;
    lifeservice::demo::generate(&app.state.db, 1500, 5, None)
        .await
        .unwrap();
    lifeservice::credit::demo::generate_credit(&app.state.db, 5, 3)
        .await
        .unwrap();
    cube::refresh(&app.state.db).await.unwrap();
    app
}

#[tokio::test]
async fn the_cube_agrees_with_counting_the_records() {
    for backend in backends().await {
        let app = seeded(backend).await;
        let until = last_full_month();
        let end = format!("{until}-31");

        let (status, s) = app
            .get_json("/api/v1/stats?indicator=entities&division=1401&period=year")
            .await;
        assert_eq!(status, 200, "{s}");
        let periods: Vec<&str> = s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["period"].as_str().unwrap())
            .collect();
        assert!(periods.windows(2).all(|w| w[0] < w[1]), "{periods:?}");
        let founded = count(&app, &format!("SELECT COUNT(*) FROM entities WHERE division_code LIKE '1401%' AND established <= '{end}'")).await;
        assert_eq!(total(&s, "new") as i64, founded);
        let closed = count(&app, &format!("SELECT COUNT(*) FROM entities WHERE division_code LIKE '1401%' AND status <> 'active' AND closed_on <= '{end}'")).await;
        assert!(closed > 0, "the demo has closures");
        assert_eq!(total(&s, "closed") as i64, closed);
        assert_eq!(
            last(&s, "stock") as i64,
            founded - closed,
            "stock = new − closed"
        );
        let baseline = count(&app, "SELECT COUNT(*) FROM entities WHERE division_code LIKE '1401%' AND established <= '2021-12-31' AND (closed_on IS NULL OR closed_on > '2021-12-31')").await;
        let growth = last(&s, "vs_baseline");
        let expected = ((founded - closed) as f64 / baseline as f64 - 1.0) * 100.0;
        assert!((growth - expected).abs() < 0.01, "{growth} vs {expected}");

        let (_, quarters) = app
            .get_json("/api/v1/stats?indicator=entities&division=1401&period=quarter")
            .await;
        assert_eq!(total(&quarters, "new") as i64, founded, "quarters add up");

        let (_, p) = app.get_json("/api/v1/stats?indicator=penalties").await;
        let decided = count(&app, &format!("SELECT COUNT(*) FROM credit_records r JOIN entities e ON e.id = r.entity_id WHERE r.kind = 'penalty' AND r.state <> 'withdrawn' AND r.decision_date <= '{end}'")).await;
        assert!(decided > 0);
        assert_eq!(total(&p, "penalties") as i64, decided);

        let (_, elderly) = app
            .get_json("/api/v1/stats?indicator=outlets&category=03")
            .await;
        let outlets = count(&app, &format!("SELECT COUNT(*) FROM outlets WHERE service_type LIKE '03%' AND COALESCE(opened_on, substr(created_at, 1, 10)) <= '{end}'")).await;
        assert!(outlets > 0);
        assert_eq!(total(&elderly, "new") as i64, outlets);
        let (_, one_type) = app
            .get_json("/api/v1/stats?indicator=outlets&category=0301")
            .await;
        assert!(total(&one_type, "new") <= total(&elderly, "new"));

        // Major categories partition the classified entities.
        let mut by_major = 0.0;
        for m in 1..=12 {
            let (_, s) = app
                .get_json(&format!("/api/v1/stats?category={m:02}"))
                .await;
            by_major += total(&s, "new");
        }
        let classified = count(&app, &format!("SELECT COUNT(*) FROM entities e WHERE EXISTS (SELECT 1 FROM outlets o WHERE o.entity_id = e.id) AND established <= '{end}'")).await;
        assert_eq!(by_major as i64, classified);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn retired_division_codes_count_under_their_successor() {
    for backend in backends().await {
        let app = seeded(backend).await;
        let (_, before) = app.get_json("/api/v1/stats?division=140213").await;
        let (_, city_before) = app.get_json("/api/v1/stats?division=1402").await;
        // An entity registered under 大同市城区 (140202), retired in 2018.
        insert_entity(&app, "92140202MA0000001", "140202", "2015-06-01").await;
        let stale = cube::freshness(&app.state.db).await.unwrap();
        assert!(stale.iter().any(|f| f.source == "registry" && f.stale));
        cube::refresh(&app.state.db).await.unwrap();
        assert!(
            cube::freshness(&app.state.db)
                .await
                .unwrap()
                .iter()
                .all(|f| !f.stale)
        );

        let (_, after) = app.get_json("/api/v1/stats?division=140213").await;
        assert_eq!(total(&after, "new"), total(&before, "new") + 1.0);
        let (_, city_after) = app.get_json("/api/v1/stats?division=1402").await;
        assert_eq!(total(&city_after, "new"), total(&city_before, "new") + 1.0);

        let (status, old) = app.get_json("/api/v1/stats?division=140202").await;
        assert_eq!(status, 200);
        assert_eq!(old["division"], "140213", "answered for the successor");
        let notes = old["division_notes"].to_string();
        assert!(
            notes.contains("大同市城区") && notes.contains("平城区"),
            "{notes}"
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn rectification_counts_follow_ups_and_escalations() {
    for backend in backends().await {
        let app = seeded(backend).await;
        lifeservice::reviews::demo::generate(
            &app.state.db,
            &app.state.reviews,
            800,
            5,
            false,
            None,
        )
        .await
        .unwrap();
        cube::refresh(&app.state.db).await.unwrap();
        let end = format!("{}-31", last_full_month());
        let cases = |filter: &str| {
            format!(
                "SELECT COUNT(*) FROM review_cases WHERE status <> 'withdrawn' AND opened_on <= '{end}' {filter}"
            )
        };
        let (status, s) = app.get_json("/api/v1/stats?indicator=rectification").await;
        assert_eq!(status, 200, "{s}");
        let opened = count(&app, &cases("")).await;
        let followed = count(&app, &cases("AND followed_on IS NOT NULL")).await;
        assert!(opened > 0 && followed > 0, "the demo has cases followed up");
        assert_eq!(total(&s, "cases") as i64, opened);
        assert_eq!(total(&s, "followed") as i64, followed);
        assert_eq!(
            total(&s, "escalated") as i64,
            count(&app, &cases("AND escalated_on IS NOT NULL")).await
        );

        // Escalation stamps cases without touching the quality totals; the
        // cube still sees it and rebuilds. Three overdue cases are made as
        // yet unescalated, and the day's escalation run finds them.
        sqlx::query(
            "UPDATE review_cases SET escalated_on = NULL WHERE id IN \
             (SELECT id FROM review_cases WHERE escalated_on IS NOT NULL ORDER BY id LIMIT 3)",
        )
        .execute(app.state.db.pool())
        .await
        .unwrap();
        cube::refresh(&app.state.db).await.unwrap();
        let today = lifeservice::time::today();
        let escalated = lifeservice::reviews::store::escalate_overdue(&app.state.db, today)
            .await
            .unwrap();
        assert_eq!(escalated, 3, "the overdue cases are escalated again");
        let stale = cube::freshness(&app.state.db).await.unwrap();
        assert!(stale.iter().any(|f| f.source == "reviews" && f.stale));
        cube::refresh(&app.state.db).await.unwrap();
        let (_, after) = app.get_json("/api/v1/stats?indicator=rectification").await;
        assert_eq!(
            total(&after, "escalated") as i64,
            count(&app, &cases("AND escalated_on IS NOT NULL")).await
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn plan_office_sees_every_indicators_warnings_in_its_scope() {
    for backend in backends().await {
        let app = seeded(backend).await;
        // A third of the entities were founded half a year ago, so counties'
        // growth over the year spreads; 小店区 loses every entity in the last
        // full month and falls far behind the others.
        let month = last_full_month();
        let half_year_ago = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .unwrap()
            - chrono::Days::new(180);
        for sql in [
            format!("UPDATE entities SET established = '{half_year_ago}' WHERE id % 3 = 0"),
            format!(
                "UPDATE entities SET status = 'deregistered', closed_on = '{month}-15' WHERE division_code LIKE '140105%'"
            ),
        ] {
            sqlx::query(&sql)
                .execute(app.state.db.pool())
                .await
                .unwrap();
        }
        // Written behind the change feed's back: forget what the cube was built from.
        for sql in [
            "DELETE FROM stat_sources",
            "DELETE FROM job_runs WHERE job = 'stats_cube'",
        ] {
            sqlx::query(sql).execute(app.state.db.pool()).await.unwrap();
        }
        cube::refresh(&app.state.db).await.unwrap();

        let admin = app.add_user("office", "admin", "").await;
        let get = |token: Option<String>, query: &'static str| {
            let request = app
                .client()
                .get(app.url(&format!("/api/v1/stats/warnings{query}")));
            async move {
                let request = match token {
                    Some(t) => request.bearer_auth(t),
                    None => request,
                };
                let r = request.send().await.unwrap();
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        let (status, body) = get(Some(admin.clone()), "").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["division"], "14");
        let warnings = body["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().any(|w| w["indicator"] == "entities"
                && w["kind"] == "behind_peers"
                && w["division"].as_str().unwrap().contains("小店区")),
            "{body}"
        );
        assert!(
            warnings
                .iter()
                .all(|w| w["href"].as_str().unwrap().starts_with("/stats?"))
        );

        assert_eq!(get(None, "").await.0, 401);
        let code = lifeservice_domain::CreditCode::from_body("91140105MA0000000")
            .unwrap()
            .to_string();
        let shop = app.add_user("shop", "entity", &code).await;
        assert_eq!(get(Some(shop), "").await.0, 403);
        // A county officer watches its city, and nothing outside it.
        let county = app.add_user("county", "division", "140105").await;
        let (status, own) = get(Some(county.clone()), "").await;
        assert_eq!((status, own["division"].as_str()), (200, Some("1401")));
        assert_eq!(get(Some(county), "?division=1402").await.0, 403);
        let (status, bad) = get(Some(admin), "?until=2025-13").await;
        assert_eq!(
            (status, bad["error"]["field"].as_str()),
            (400, Some("until"))
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let app = spawn_app(common::Backend::Sqlite).await;
    for (query, field) in [
        ("indicator=gdp", "indicator"),
        ("division=99", "division"),
        ("division=140105001", "division"),
        ("period=week", "period"),
        ("category=99", "category"),
        ("until=2025-13", "until"),
        ("until=2999-01", "until"),
        ("format=pdf", "format"),
    ] {
        let (status, body) = app.get_json(&format!("/api/v1/stats?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let this_month = lifeservice::time::today().format("%Y-%m").to_string();
    let (status, body) = app
        .get_json(&format!("/api/v1/stats?until={this_month}"))
        .await;
    assert_eq!(status, 200, "the month under way is counted so far: {body}");
    let (status, _) = app.get_json("/api/v1/stats?colour=red").await;
    assert_eq!(status, 400, "unknown parameters are refused");
    app.cleanup().await;
}

#[tokio::test]
async fn dashboard_exports_and_maps() {
    let app = seeded(common::Backend::Sqlite).await;
    let csv = reqwest::get(app.url("/api/v1/stats?division=1401&format=csv"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("\u{feff}报告期,新增（户）,退出（户）"),
        "{csv}"
    );
    let xlsx = reqwest::get(app.url("/api/v1/stats?division=1401&format=xlsx"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip");

    for indicator in [
        "entities",
        "outlets",
        "penalties",
        "designations",
        "satisfaction",
        "rectification",
    ] {
        let page = reqwest::get(app.url(&format!(
            "/stats?indicator={indicator}&division=1401&period=quarter"
        )))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        assert!(
            page.contains("svg.chart") || page.contains("class=\"chart\""),
            "{indicator}: a chart"
        );
        assert!(page.contains("class=\"map\""), "{indicator}: a map");
        assert!(page.contains("口径与来源"));
        assert!(!page.contains("趋势预警"), "warnings are for staff only");
        // The list links say what they open: the search's open outlets, or
        // the reviews, never a "名单" an entity count would not match.
        let opens = if indicator.starts_with("satisfaction") || indicator == "rectification" {
            "的好差评"
        } else {
            "的在营服务网点"
        };
        assert!(
            page.contains(&format!("查看本地区{opens}")) && !page.contains("名单"),
            "{indicator}"
        );
    }
    let (_, areas) = app.get_json("/api/v1/stats/areas?division=1401").await;
    let areas = areas["areas"].as_array().unwrap();
    assert_eq!(areas.len(), 10, "太原's counties with boundaries");
    // Province-wide, the counties several cities share a name with say their city.
    let (_, province) = app.get_json("/api/v1/stats/areas?division=14").await;
    let mut names: Vec<&str> = province["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"阳泉市城区") && names.contains(&"晋城市城区"),
        "{names:?}"
    );
    let all = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all, "every county named once");
    let stock: f64 = areas.iter().map(|a| a["value"].as_f64().unwrap()).sum();
    let (_, city) = app.get_json("/api/v1/stats?division=1401").await;
    assert_eq!(stock, last(&city, "stock"), "the map adds up to the city");
    app.cleanup().await;
}

#[tokio::test]
async fn releases_are_archived_and_corrected_by_new_versions() {
    for backend in backends().await {
        let app = seeded(backend).await;
        let month = last_full_month();
        let published = releases::publish_due(&app.state).await.unwrap();
        assert_eq!(
            published.len(),
            2,
            "a monthly and a quarterly release: {published:?}"
        );
        assert!(
            releases::publish_due(&app.state).await.unwrap().is_empty(),
            "once"
        );

        let (_, list) = app.get_json("/api/v1/releases").await;
        assert_eq!(list.as_array().unwrap().len(), 2);
        let page = reqwest::get(app.url(&format!("/releases/monthly/{month}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("主要指标") && page.contains("第1版") && page.contains("五、说明"));

        let err = releases::publish(
            &app.state,
            releases::Kind::Monthly,
            &month,
            "tester",
            "复核",
            false,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("无需发布更正版"), "{err}");

        // A late registration in the month: the correction names the change.
        insert_entity(&app, "92140105MA0000002", "140105", &format!("{month}-15")).await;
        let err = releases::publish(
            &app.state,
            releases::Kind::Monthly,
            &month,
            "tester",
            " ",
            false,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("更正原因"), "{err}");
        let v = releases::publish(
            &app.state,
            releases::Kind::Monthly,
            &month,
            "tester",
            "补录漏报主体",
            false,
        )
        .await
        .unwrap();
        assert_eq!(v, Some(2));
        let v2 = releases::get_release(&app.state.db, releases::Kind::Monthly, &month, Some(2))
            .await
            .unwrap();
        assert!(
            v2.change_note.contains("补录漏报主体") && v2.change_note.contains("市场主体：新增"),
            "{}",
            v2.change_note
        );
        let v1 = releases::get_release(&app.state.db, releases::Kind::Monthly, &month, Some(1))
            .await
            .unwrap();
        let new = |r: &releases::Release| r.data.as_ref().unwrap().figures[0].value.unwrap();
        assert_eq!(new(&v2), new(&v1) + 1.0, "v1 keeps what it said");
        let old_page = reqwest::get(app.url(&format!("/releases/monthly/{month}/v1")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(old_page.contains("已被第2版更正"));
        let xlsx = reqwest::get(app.url(&format!("/releases/monthly/{month}/v2.xlsx")))
            .await
            .unwrap();
        assert_eq!(xlsx.status(), 200);
        assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

        let future = releases::publish(
            &app.state,
            releases::Kind::Monthly,
            "2999-01",
            "tester",
            "",
            false,
        )
        .await
        .unwrap_err();
        assert!(future.to_string().contains("尚未结束"), "{future}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn only_staff_publish_releases() {
    let app = spawn_app(common::Backend::Sqlite).await;
    let anonymous = app
        .client()
        .post(app.url("/releases"))
        .form(&[("csrf", "x"), ("kind", "monthly"), ("period", "2025-01")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    app.add_user("counter", "division", "140105").await;
    let client = app.staff("counter").await;
    let refused = client
        .post(app.url("/releases"))
        .form(&[("csrf", "x"), ("kind", "monthly"), ("period", "2025-01")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    app.cleanup().await;
}
