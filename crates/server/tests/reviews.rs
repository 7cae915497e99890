//! End-to-end tests of 好差评 through the real server, on every backend.

mod common;

use common::{Backend, TestApp, backends, csrf_of, outlets_csv, spawn_app};
use lifeservice::registry::fields::RecordKind;
use lifeservice::registry::import::{ImportOptions, Table, import_table};
use lifeservice::reviews::{MemorySender, ReviewConfig};
use serde_json::{Value, json};
use std::sync::Arc;

/// Imports the three sample outlets (两家家政 0101 and a 便利店 0701) and
/// plugs an in-memory code sender into the app. Returns the outlet ids.
async fn setup(app: &TestApp) -> (Arc<MemorySender>, Vec<i64>) {
    let table = Table::read(outlets_csv().as_bytes()).unwrap();
    let options = ImportOptions {
        datum: Default::default(),
        actor: "test".into(),
        synthetic: false,
        principal: None,
    };
    import_table(&app.state.db, RecordKind::Outlets, table, &options, None)
        .await
        .unwrap();
    app.state.refresh_index().await;
    let sender = Arc::new(MemorySender::default());
    app.state.reviews.set_sender(sender.clone());
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM outlets ORDER BY id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    (sender, ids)
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(app.url(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Signs a phone in through the code the pluggable sender received.
async fn sign_in(app: &TestApp, sender: &MemorySender, phone: &str) -> String {
    let (status, body) = post(app, "/api/v1/reviewer/code", None, json!({"phone": phone})).await;
    assert_eq!(status, 200, "{body}");
    let code = sender.last_code(phone).expect("code sent");
    let (status, body) = post(
        app,
        "/api/v1/reviewer/session",
        None,
        json!({"phone": phone, "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["reviewer"].as_str().unwrap().starts_with("居民·"));
    body["token"].as_str().unwrap().to_string()
}

/// An entity token of 山西安心 (the two 家政 outlets), minted by `staff`.
async fn anxin_token(app: &TestApp, staff: &str) -> String {
    let (s, t) = post(
        app,
        "/api/v1/entities/91350200776049653A/review-tokens",
        Some(staff),
        json!({"label": "店长"}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    t["token"].as_str().unwrap().to_string()
}

fn field(body: &Value) -> Option<&str> {
    body["error"]["field"].as_str()
}

#[tokio::test]
async fn reviews_cases_appeals_and_quality() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let (sender, ids) = setup(&app).await;
        let (o1, o2, shop) = (ids[0], ids[1], ids[2]);
        let admin = app.add_user("admin", "admin", "").await;
        let shangwu = app.add_user("shangwu", "department", "01,07").await;
        let minzheng = app.add_user("minzheng", "department", "03").await;

        // Sign-in: a bad number and a wrong code are refused by field.
        let (s, b) = post(
            &app,
            "/api/v1/reviewer/code",
            None,
            json!({"phone": "12345"}),
        )
        .await;
        assert_eq!((s, field(&b)), (400, Some("phone")), "{b}");
        post(
            &app,
            "/api/v1/reviewer/code",
            None,
            json!({"phone": "13812345678"}),
        )
        .await;
        let code = sender.last_code("13812345678").unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (s, b) = post(
            &app,
            "/api/v1/reviewer/session",
            None,
            json!({"phone": "13812345678", "code": wrong}),
        )
        .await;
        assert_eq!((s, field(&b)), (400, Some("code")), "{b}");
        let alice = sign_in(&app, &sender, "13812345678").await;
        let bob = sign_in(&app, &sender, "13912345678").await;
        let carol = sign_in(&app, &sender, "13712345678").await;

        // Only signed-in reviewers may post.
        let (s, _) = post(
            &app,
            &format!("/api/v1/outlets/{o1}/reviews"),
            None,
            json!({"rating": 5, "text": "很好"}),
        )
        .await;
        assert_eq!(s, 401);

        // Submit, with HTML in the text (kept as text, shown escaped).
        let xss = "<script>alert(1)</script>师傅准时上门，打扫得很干净";
        let (s, r1) = post(
            &app,
            &format!("/api/v1/outlets/{o1}/reviews"),
            Some(&alice),
            json!({"rating": 5, "aspects": {"attitude": 5, "punctuality": 4}, "text": xss}),
        )
        .await;
        assert_eq!(s, 200, "{backend:?} {r1}");
        assert_eq!(r1["status"], "published");
        assert_eq!(r1["text"], xss);
        assert!(!r1.to_string().contains("13812345678"));

        // One review per occasion.
        let (s, b) = post(
            &app,
            &format!("/api/v1/outlets/{o1}/reviews"),
            Some(&alice),
            json!({"rating": 4, "text": "第二次评价同一次服务"}),
        )
        .await;
        assert_eq!((s, field(&b)), (409, Some("occasion")), "{b}");

        // Bad input: specific errors, nothing stored.
        let long = "长".repeat(501);
        for (body, status, f) in [
            (json!({"rating": 0, "text": "还行吧"}), 400, Some("rating")),
            (json!({"rating": 6, "text": "还行吧"}), 400, Some("rating")),
            (json!({"rating": 3, "text": "   "}), 400, Some("text")),
            (json!({"rating": 3, "text": long}), 400, Some("text")),
            (
                json!({"rating": 3, "text": "还行吧", "aspects": {"food": 3}}),
                400,
                Some("aspects"),
            ),
            (
                json!({"rating": 3, "text": "还行吧", "aspects": {"attitude": 9}}),
                400,
                Some("aspects"),
            ),
            (
                json!({"rating": 3, "text": "还行吧", "service_date": "2020-01-01"}),
                400,
                Some("service_date"),
            ),
            (
                json!({"rating": 3, "text": "还行吧", "receipt": "NOPE"}),
                400,
                Some("receipt"),
            ),
            (json!({"rating": "五星", "text": "还行吧"}), 400, None),
        ] {
            let (s, b) = post(
                &app,
                &format!("/api/v1/outlets/{o1}/reviews"),
                Some(&bob),
                body.clone(),
            )
            .await;
            assert_eq!((s, field(&b)), (status, f), "{body}: {b}");
        }
        let (s, _) = post(
            &app,
            "/api/v1/outlets/99999/reviews",
            Some(&bob),
            json!({"rating": 3, "text": "还行吧"}),
        )
        .await;
        assert_eq!(s, 404);
        let (_, listed) = get(&app, &format!("/api/v1/outlets/{o1}/reviews"), None).await;
        assert_eq!(
            listed["items"].as_array().unwrap().len(),
            1,
            "nothing stored by bad input"
        );

        // The outlet page shows it escaped.
        let html = reqwest::get(app.url(&format!("/outlets/{o1}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("(C×m + Σr) ÷ (C + n)"));

        // Receipts: a verified review, and a replay refused.
        let (s, b) = post(
            &app,
            &format!("/api/v1/outlets/{o2}/receipts"),
            Some(&admin),
            json!({"count": 2}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let receipt = b["codes"][0].as_str().unwrap().to_string();
        let (s, r2) = post(
            &app,
            &format!("/api/v1/outlets/{o2}/reviews"),
            Some(&bob),
            json!({"rating": 5, "text": "保洁阿姨专业细致", "receipt": receipt}),
        )
        .await;
        assert_eq!(s, 200, "{r2}");
        assert_eq!(r2["verified"], true);
        let (s, b) = post(
            &app,
            &format!("/api/v1/outlets/{o2}/reviews"),
            Some(&carol),
            json!({"rating": 1, "text": "借用别人的凭证", "receipt": receipt}),
        )
        .await;
        assert_eq!((s, field(&b)), (409, Some("receipt")), "{b}");
        let (s, b) = post(
            &app,
            &format!("/api/v1/outlets/{o1}/reviews"),
            Some(&carol),
            json!({"rating": 1, "text": "用错网点的凭证", "receipt": b_code(&app, o2).await}),
        )
        .await;
        assert_eq!((s, field(&b)), (400, Some("receipt")), "{b}");

        // A bad review opens a case with deadlines from the calendar.
        let (s, bad) = post(
            &app,
            &format!("/api/v1/outlets/{o1}/reviews"),
            Some(&bob),
            json!({"rating": 1, "aspects": {"price": 1}, "text": "收费和说好的不一样，态度差"}),
        )
        .await;
        assert_eq!(s, 200, "{bad}");
        let case_id = bad["case_id"].as_i64().expect("case opened");
        let (s, case) = get(
            &app,
            &format!("/api/v1/review-cases/{case_id}"),
            Some(&shangwu),
        )
        .await;
        assert_eq!(s, 200, "{case}");
        let cfg = ReviewConfig::default();
        let today = lifeservice::time::today();
        let (contact_due, rectify_due) = cfg.deadlines.due(&cfg.calendar, today);
        assert_eq!(case["contact_due"], contact_due.to_string());
        assert_eq!(case["rectify_due"], rectify_due.to_string());
        assert_eq!(case["status"], "open");
        assert!(case["departments"].as_str().unwrap().contains("shangwu"));
        let (s, _) = get(
            &app,
            &format!("/api/v1/review-cases/{case_id}"),
            Some(&minzheng),
        )
        .await;
        assert_eq!(s, 403, "another department's case");

        // The entity replies once, through its own token.
        let entity = anxin_token(&app, &shangwu).await;
        let bad_id = bad["id"].as_i64().unwrap();
        let (s, b) = post(
            &app,
            &format!("/api/v1/reviews/{bad_id}/reply"),
            Some(&entity),
            json!({"text": "非常抱歉，已安排店长联系您"}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["reply"], "非常抱歉，已安排店长联系您");
        let (s, b) = post(
            &app,
            &format!("/api/v1/reviews/{bad_id}/reply"),
            Some(&entity),
            json!({"text": "再次回复"}),
        )
        .await;
        assert_eq!(s, 409, "{b}");

        // Quality in the outlet JSON: (5 + 1) over 2 reviews, half bad, none rectified yet.
        let (_, outlet) = get(&app, &format!("/api/v1/outlets/{o1}"), None).await;
        let q = &outlet["quality"];
        assert_eq!(q["count"], 2, "{outlet}");
        assert_eq!(q["bad_share"], 0.5);
        assert_eq!(q["rectified_share"], 0.0);
        assert!(q["score"].as_f64().is_some());

        // Contact, rectify, then the reviewer rates the rectification (回访).
        let (s, b) = post(
            &app,
            &format!("/api/v1/review-cases/{case_id}/follow-up"),
            Some(&bob),
            json!({"rating": 4}),
        )
        .await;
        assert_eq!(s, 409, "not rectified yet: {b}");
        let (s, b) = post(
            &app,
            &format!("/api/v1/review-cases/{case_id}/contact"),
            Some(&entity),
            json!({"note": "已电话联系顾客并致歉"}),
        )
        .await;
        assert_eq!((s, b["status"].as_str()), (200, Some("contacted")), "{b}");
        let (s, b) = post(
            &app,
            &format!("/api/v1/review-cases/{case_id}/rectify"),
            Some(&entity),
            json!({"note": "已退还多收费用，公示价目表"}),
        )
        .await;
        assert_eq!((s, b["status"].as_str()), (200, Some("rectified")), "{b}");
        let (s, _) = post(
            &app,
            &format!("/api/v1/review-cases/{case_id}/follow-up"),
            Some(&alice),
            json!({"rating": 5}),
        )
        .await;
        assert_eq!(s, 403, "only the reviewer");
        let (s, b) = post(
            &app,
            &format!("/api/v1/review-cases/{case_id}/follow-up"),
            Some(&bob),
            json!({"rating": 4, "text": "已退款"}),
        )
        .await;
        assert_eq!((s, b["status"].as_str()), (200, Some("closed")), "{b}");
        let (_, outlet) = get(&app, &format!("/api/v1/outlets/{o1}"), None).await;
        assert_eq!(outlet["quality"]["rectified_share"], 1.0);
        assert_eq!(outlet["quality"]["on_time_share"], 1.0);
        let (_, ranks) = get(&app, "/api/v1/quality/rankings?by=department", None).await;
        assert_eq!(ranks["indicator"]["value"], 1.0, "{ranks}");
        assert_eq!(ranks["items"][0]["key"], "shangwu");

        // Appeal: the entity appeals, the department decides with reasons; the review is hidden, not deleted.
        let (_, malicious) = post(
            &app,
            &format!("/api/v1/outlets/{o1}/reviews"),
            Some(&carol),
            json!({"rating": 1, "text": "竞争对手让我来打差评的"}),
        )
        .await;
        let m_id = malicious["id"].as_i64().unwrap();
        let (s, b) = post(
            &app,
            &format!("/api/v1/reviews/{m_id}/appeal"),
            Some(&entity),
            json!({"kind": "unfair", "reason": "恶意差评"}),
        )
        .await;
        assert_eq!((s, field(&b)), (400, Some("kind")), "{b}");
        let (s, appeal) = post(
            &app,
            &format!("/api/v1/reviews/{m_id}/appeal"),
            Some(&entity),
            json!({"kind": "malicious", "reason": "评价人自述受竞争对手指使"}),
        )
        .await;
        assert_eq!(s, 200, "{appeal}");
        let (s, _) = post(
            &app,
            &format!("/api/v1/reviews/{m_id}/appeal"),
            Some(&entity),
            json!({"kind": "malicious", "reason": "再次申诉"}),
        )
        .await;
        assert_eq!(s, 409);
        let appeal_id = appeal["id"].as_i64().unwrap();
        let (s, _) = post(
            &app,
            &format!("/api/v1/appeals/{appeal_id}/decision"),
            Some(&entity),
            json!({"decision": "uphold", "reason": "自己批准"}),
        )
        .await;
        assert_eq!(s, 403, "the entity cannot decide");
        let (s, _) = post(
            &app,
            &format!("/api/v1/appeals/{appeal_id}/decision"),
            Some(&minzheng),
            json!({"decision": "uphold", "reason": "不是本部门"}),
        )
        .await;
        assert_eq!(s, 403, "another department cannot decide");
        let (s, b) = post(
            &app,
            &format!("/api/v1/appeals/{appeal_id}/decision"),
            Some(&shangwu),
            json!({"decision": "uphold", "reason": "评价内容自认受人指使，属恶意评价"}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let (s, _) = get(&app, &format!("/api/v1/reviews/{m_id}"), None).await;
        assert_eq!(s, 404, "hidden from the public");
        let (s, hidden) = get(&app, &format!("/api/v1/reviews/{m_id}"), Some(&admin)).await;
        assert_eq!((s, hidden["status"].as_str()), (200, Some("removed")));
        assert!(
            hidden["status_reason"]
                .as_str()
                .unwrap()
                .contains("恶意评价")
        );
        let (_, outlet) = get(&app, &format!("/api/v1/outlets/{o1}"), None).await;
        assert_eq!(
            outlet["quality"]["count"], 2,
            "removed review left the index: {outlet}"
        );
        assert_eq!(outlet["quality"]["cases"], 1, "its case was withdrawn");

        // Near-duplicate text is held for moderation, then published by the department.
        let (_, dup) = post(
            &app,
            &format!("/api/v1/outlets/{o2}/reviews"),
            Some(&carol),
            json!({"rating": 5, "text": "保洁阿姨 专业细致！"}),
        )
        .await;
        assert_eq!(dup["status"], "held", "{dup}");
        let (_, listed) = get(&app, &format!("/api/v1/outlets/{o2}/reviews"), None).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        let (_, held) = get(&app, "/api/v1/reviews/held", Some(&shangwu)).await;
        assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
        let dup_id = dup["id"].as_i64().unwrap();
        let (s, b) = post(
            &app,
            &format!("/api/v1/reviews/{dup_id}/moderation"),
            Some(&shangwu),
            json!({"decision": "publish", "reason": "核实为真实消费"}),
        )
        .await;
        assert_eq!((s, b["status"].as_str()), (200, Some("published")), "{b}");

        // The audited officer view reveals the reviewer, with a reason, and logs it.
        let (s, b) = get(
            &app,
            &format!("/api/v1/reviews/{bad_id}/reviewer"),
            Some(&shangwu),
        )
        .await;
        assert_eq!((s, field(&b)), (400, Some("reason")));
        let (s, b) = get(
            &app,
            &format!("/api/v1/reviews/{bad_id}/reviewer?reason=回访核实身份"),
            Some(&entity),
        )
        .await;
        assert_eq!(s, 403, "entities never see who wrote a review");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("查看评价人"),
            "the refusal names what was refused: {b}"
        );
        let (s, b) = get(
            &app,
            &format!("/api/v1/reviews/{bad_id}/reviewer?reason=回访核实身份"),
            Some(&shangwu),
        )
        .await;
        assert_eq!((s, b["phone"].as_str()), (200, Some("13912345678")), "{b}");
        let reveals: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'reveal_reviewer' AND actor = 'shangwu'",
        )
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        assert_eq!(reveals, 1);
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviewers WHERE phone_key LIKE '%13912345678%' OR contact_sealed LIKE '%13912345678%'")
            .fetch_one(app.state.db.pool()).await.unwrap();
        assert_eq!(stored, 0, "the phone is never stored in clear");

        // Best rated first: o2 (5, 5) > o1 (5, 1) > the shop (no reviews).
        let (s, page) = get(&app, "/api/v1/outlets?sort=quality", None).await;
        assert_eq!(s, 200, "{page}");
        let order: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(order, vec![o2, o1, shop], "{page}");
        assert!(page["items"][2]["quality"]["score"].is_null());
        let (s, near) = get(
            &app,
            "/api/v1/outlets?sort=quality&near=37.775,112.585&radius_m=2000",
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(near["items"][0]["id"], o2);

        // Totals are running sums that match a recount.
        let (n, sum): (i64, i64) = sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(rating), 0) AS BIGINT) FROM reviews WHERE status = 'published' AND outlet_id = $1")
            .bind(o1).fetch_one(app.state.db.pool()).await.unwrap();
        let (tn, tsum): (i64, i64) = sqlx::query_as(
            "SELECT n, rating_sum FROM quality_totals WHERE scope = 'outlet' AND key = $1",
        )
        .bind(o1.to_string())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        assert_eq!((n, sum), (tn, tsum));

        // Every write is audited.
        let audited: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE object_type IN ('review', 'review_case')",
        )
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        assert!(audited >= 12, "{audited}");

        // QR codes and the dashboard.
        let svg = reqwest::get(app.url(&format!("/outlets/{o1}/qr.svg")))
            .await
            .unwrap();
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        assert!(svg.text().await.unwrap().contains("<svg"));
        let png = reqwest::get(app.url(&format!("/outlets/{o1}/qr.png")))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (_, spec) = get(&app, "/api/openapi.json", None).await;
        assert!(spec["paths"]["/api/v1/outlets/{id}/reviews"]["post"].is_object());
        assert!(spec["paths"]["/api/v1/outlets"]["get"].is_object());
        let dash = reqwest::get(app.url("/quality"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(dash.contains("实名差评回访整改率"));
        assert!(dash.contains("100.0%"), "follow-up rate shown");
        app.cleanup().await;
    }
}

/// A fresh receipt of `outlet`, issued by an admin.
async fn b_code(app: &TestApp, outlet: i64) -> String {
    let token = app
        .add_user(
            &format!("r{}", &lifeservice::auth::new_token()[..6]),
            "admin",
            "",
        )
        .await;
    let (_, b) = post(
        app,
        &format!("/api/v1/outlets/{outlet}/receipts"),
        Some(&token),
        json!({}),
    )
    .await;
    b["codes"][0].as_str().unwrap().to_string()
}

#[tokio::test]
async fn overdue_cases_escalate() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let (sender, ids) = setup(&app).await;
        let admin = app.add_user("admin", "admin", "").await;
        let bob = sign_in(&app, &sender, "13912345678").await;
        let (_, bad) = post(
            &app,
            &format!("/api/v1/outlets/{}/reviews", ids[0]),
            Some(&bob),
            json!({"rating": 2, "text": "迟到了一个小时"}),
        )
        .await;
        let case_id = bad["case_id"].as_i64().unwrap();
        sqlx::query("UPDATE review_cases SET opened_on = '2026-01-05', contact_due = '2026-01-06', rectify_due = '2026-01-26' WHERE id = $1")
            .bind(case_id).execute(app.state.db.pool()).await.unwrap();
        let (s, cases) = get(&app, "/api/v1/review-cases?open=1", Some(&admin)).await;
        assert_eq!(s, 200, "{cases}");
        assert_eq!(cases[0]["overdue"], "逾期未整改");
        assert_eq!(
            cases[0]["escalated_on"],
            lifeservice::time::today().to_string()
        );
        let escalations: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'escalate'")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert_eq!(escalations, 1);
        // Escalation happens once.
        get(&app, "/api/v1/review-cases", Some(&admin)).await;
        let again: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'escalate'")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert_eq!(again, 1);
        let dash = reqwest::get(app.url("/quality"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(dash.contains("逾期未整改"));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn unsatisfied_follow_up_sends_the_case_back_once() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let (sender, ids) = setup(&app).await;
        let admin = app.add_user("admin", "admin", "").await;
        let bob = sign_in(&app, &sender, "13912345678").await;
        let (_, bad) = post(
            &app,
            &format!("/api/v1/outlets/{}/reviews", ids[0]),
            Some(&bob),
            json!({"rating": 1, "text": "保洁没有做完就走了"}),
        )
        .await;
        let case = format!("/api/v1/review-cases/{}", bad["case_id"].as_i64().unwrap());
        let rectify = |note: &'static str| {
            let (app, admin, case) = (&app, admin.clone(), case.clone());
            async move {
                let (s, b) = post(
                    app,
                    &format!("{case}/rectify"),
                    Some(&admin),
                    json!({"note": note}),
                )
                .await;
                assert_eq!((s, b["status"].as_str()), (200, Some("rectified")), "{b}");
            }
        };
        let quality = || async {
            get(&app, &format!("/api/v1/outlets/{}", ids[0]), None)
                .await
                .1["quality"]
                .clone()
        };
        rectify("已安排重新保洁").await;
        assert_eq!(quality().await["rectified_share"], 1.0);

        // Unsatisfied: back to the entity with a fresh deadline, no longer rectified.
        let (s, b) = post(
            &app,
            &format!("{case}/follow-up"),
            Some(&bob),
            json!({"rating": 2, "text": "还是不干净"}),
        )
        .await;
        assert_eq!((s, b["status"].as_str()), (200, Some("contacted")), "{b}");
        let today = lifeservice::time::today().to_string();
        assert_eq!(b["reopened_on"], today.as_str());
        assert_eq!(b["reopen_rating"], 2);
        assert!(
            b["rectified_on"].is_null() && b["followed_on"].is_null(),
            "{b}"
        );
        assert!(b["rectify_due"].as_str().unwrap() > today.as_str());
        assert!(b["escalated_on"].is_null());
        let q = quality().await;
        assert_eq!(
            (q["rectified_share"].as_f64(), q["followed_share"].as_f64()),
            (Some(0.0), Some(0.0)),
            "{q}"
        );

        // Second round, unsatisfied again: closed and escalated to the department.
        rectify("更换保洁员重新上门").await;
        let (s, b) = post(
            &app,
            &format!("{case}/follow-up"),
            Some(&bob),
            json!({"rating": 1}),
        )
        .await;
        assert_eq!((s, b["status"].as_str()), (200, Some("closed")), "{b}");
        assert_eq!(b["escalated_on"], today.as_str());
        assert_eq!(b["reopen_rating"], 2, "the first follow-up is kept");
        let q = quality().await;
        assert_eq!(
            (q["rectified_share"].as_f64(), q["followed_share"].as_f64()),
            (Some(1.0), Some(1.0)),
            "{q}"
        );
        let (s, _) = post(
            &app,
            &format!("{case}/follow-up"),
            Some(&bob),
            json!({"rating": 5}),
        )
        .await;
        assert_eq!(s, 409, "closed for good");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn rate_limits_and_bursts() {
    let app = spawn_app(Backend::Sqlite).await;
    let (sender, ids) = setup(&app).await;
    app.state.reviews.set_config(ReviewConfig {
        per_account: 2,
        burst: lifeservice_domain::review::BurstRule {
            min_count: 2,
            ..Default::default()
        },
        ..ReviewConfig::default()
    });
    let alice = sign_in(&app, &sender, "13812345678").await;
    let texts = ["第一家服务不错", "第二家价格公道", "第三家环境整洁"];
    let mut statuses = Vec::new();
    for (id, text) in ids.iter().zip(texts) {
        let (s, b) = post(
            &app,
            &format!("/api/v1/outlets/{id}/reviews"),
            Some(&alice),
            json!({"rating": 4, "text": text}),
        )
        .await;
        statuses.push((s, b["status"].as_str().map(str::to_string)));
    }
    assert_eq!(statuses[2].0, 429, "per-account limit: {statuses:?}");
    // Burst: the third review at one outlet within the window exceeds min_count=2.
    let mut held = Vec::new();
    for (i, phone) in ["13700000001", "13700000002", "13700000003"]
        .iter()
        .enumerate()
    {
        let token = sign_in(&app, &sender, phone).await;
        let text = ["装修好看", "服务热情周到", "下次还来这里"][i];
        let (s, b) = post(
            &app,
            &format!("/api/v1/outlets/{}/reviews", ids[1]),
            Some(&token),
            json!({"rating": 5, "text": text}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        held.push(b["status"].as_str().unwrap().to_string());
    }
    assert_eq!(
        held,
        vec!["published", "held", "held"],
        "alice's review counts toward the burst"
    );
    let reason: String =
        sqlx::query_scalar("SELECT hold_reason FROM reviews WHERE status = 'held' LIMIT 1")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(reason.contains("突增"));
}

#[tokio::test]
async fn web_form_signs_in_and_submits_with_csrf() {
    let app = spawn_app(Backend::Sqlite).await;
    let (sender, ids) = setup(&app).await;
    let client = app.client();
    let id = ids[0];
    let form = client
        .get(app.url(&format!("/outlets/{id}/review?channel=qr")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("获取验证码"));
    let r = client
        .post(app.url(&format!("/outlets/{id}/review/code")))
        .form(&[("phone", "13812345678"), ("channel", "qr")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    // The phone goes to the next step in a cookie, never into the URL (and
    // from there into browser history and proxy logs).
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        !location.contains("13812345678") && location.contains("sent=1"),
        "{location}"
    );
    let step = page(&client, &app, &location).await.1;
    assert!(
        step.contains("value=\"13812345678\""),
        "the code form keeps the phone: {step}"
    );
    // A wrong code: its error shows beside the code field, once.
    let r = client
        .post(app.url(&format!("/outlets/{id}/review/sign-in")))
        .form(&[
            ("phone", "13812345678"),
            ("code", "000000"),
            ("channel", "qr"),
        ])
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        !location.contains("13812345678") && !location.contains("error"),
        "{location}"
    );
    let shown = page(&client, &app, &location).await.1;
    assert!(shown.contains("id=\"code-error\""), "{shown}");
    assert!(
        !page(&client, &app, &location)
            .await
            .1
            .contains("code-error")
    );
    // Nor can a link put a message of its own on the page.
    let forged = page(
        &client,
        &app,
        &format!("/outlets/{id}/review?error=请拨打13800000000领奖&field=x"),
    )
    .await
    .1;
    assert!(!forged.contains("领奖"), "{forged}");
    let code = sender.last_code("13812345678").unwrap();
    let r = client
        .post(app.url(&format!("/outlets/{id}/review/sign-in")))
        .form(&[
            ("phone", "13812345678"),
            ("code", code.as_str()),
            ("channel", "qr"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let form = client
        .get(app.url(&format!("/outlets/{id}/review?channel=qr")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("提交评价"), "{form}");
    let csrf = form
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // Without the CSRF token the form is refused.
    client
        .post(app.url(&format!("/outlets/{id}/review")))
        .form(&[("rating", "5"), ("text", "很好很好"), ("channel", "qr")])
        .send()
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
    let r = client
        .post(app.url(&format!("/outlets/{id}/review")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("rating", "5"),
            ("aspect_attitude", "5"),
            ("text", "扫码评价，很方便"),
            ("channel", "qr"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.headers()["location"].to_str().unwrap().contains("done=1"));
    let channel: String = sqlx::query_scalar("SELECT channel FROM reviews")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(channel, "qr");
}

/// The outlet page is kept in memory between views: a review and a reply
/// show on it as soon as the request that wrote them has answered.
#[tokio::test]
async fn the_outlet_page_shows_each_write_once_it_is_answered() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let (sender, ids) = setup(&app).await;
        let shangwu = app.add_user("shangwu", "department", "01,07").await;
        // An outlet that is not there, or an id that is not a number, is a
        // 404 that says so, every time (a miss is never kept).
        for _ in 0..2 {
            let (s, html) = app.get_text("/outlets/999999").await;
            assert_eq!(s, 404, "{backend:?}");
            assert!(html.contains("服务网点999999不存在"), "{html}");
        }
        let (s, html) = app.get_text("/outlets/abc").await;
        assert_eq!(s, 404);
        assert!(html.contains("服务网点不存在"), "{html}");

        let id = ids[0];
        let path = format!("/outlets/{id}");
        for _ in 0..2 {
            let (s, html) = app.get_text(&path).await;
            assert_eq!(s, 200);
            assert!(html.contains("暂无评价。"), "{backend:?}");
        }

        let alice = sign_in(&app, &sender, "13812345678").await;
        let text = "师傅准时上门，打扫得很干净，下次还找他们";
        let (s, r) = post(
            &app,
            &format!("/api/v1/outlets/{id}/reviews"),
            Some(&alice),
            json!({"rating": 4, "text": text, "aspects": {"attitude": 5, "punctuality": 4}}),
        )
        .await;
        assert_eq!((s, &r["status"]), (200, &json!("published")), "{r}");
        let html = app.get_text(&path).await.1;
        assert!(html.contains(text), "{backend:?}: the new review is listed");
        assert!(
            html.contains("服务态度 5 · 守时 4</div>"),
            "{backend:?}: {html}"
        );
        let english = app.get_text(&format!("{path}?lang=en")).await.1;
        assert!(
            english.contains("Attitude 5") && english.contains("<strong>Satisfied</strong>"),
            "{english}"
        );
        assert!(
            html.contains("<dt>评价数</dt><dd>1</dd>"),
            "{backend:?}: and counted"
        );
        let (_, listed) = get(&app, &format!("/api/v1/outlets/{id}/reviews"), None).await;
        let formula = listed["quality"]["formula"].as_str().unwrap();
        assert!(
            html.contains(formula),
            "{backend:?}: the score of the database's totals"
        );

        let entity = anxin_token(&app, &shangwu).await;
        let reply = "感谢您的肯定，我们会继续努力";
        let (s, b) = post(
            &app,
            &format!("/api/v1/reviews/{}/reply", r["id"]),
            Some(&entity),
            json!({"text": reply}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert!(
            app.get_text(&path).await.1.contains(reply),
            "{backend:?}: the reply is shown"
        );
        app.cleanup().await;
    }
}

/// Reviews are listed newest first by when they were written, whatever order
/// they were stored in (a copied or migrated history need not be by id).
#[tokio::test]
async fn reviews_are_listed_by_date() {
    let app = spawn_app(Backend::Sqlite).await;
    let (sender, ids) = setup(&app).await;
    let mut written = Vec::new();
    for phone in ["13812345678", "13912345678"] {
        let token = sign_in(&app, &sender, phone).await;
        let (s, r) = post(
            &app,
            &format!("/api/v1/outlets/{}/reviews", ids[0]),
            Some(&token),
            json!({"rating": 5, "text": "服务周到，值得推荐"}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        written.push(r["id"].as_i64().unwrap());
    }
    // (The second may be held as part of a burst: publish it, dated 2020.)
    sqlx::query("UPDATE reviews SET status = 'published', created_at = '2020-01-01T09:00:00+08:00' WHERE id = $1")
        .bind(written[1])
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (_, listed) = get(&app, &format!("/api/v1/outlets/{}/reviews", ids[0]), None).await;
    let order: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, written, "the one dated 2020 comes last");
}

/// A closed outlet offers no way to rate it (the API would refuse the
/// review): neither its page nor its rating form, and no QR code.
#[tokio::test]
async fn a_closed_outlet_offers_no_review_form() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, ids) = setup(&app).await;
    sqlx::query("UPDATE outlets SET status = 'closed' WHERE id = $1")
        .bind(ids[2])
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let notice = "该服务网点已关闭，不再接受评价";
    let (_, page) = app.get_text(&format!("/outlets/{}", ids[2])).await;
    assert!(
        page.contains(notice) && !page.contains("我要评价") && !page.contains("qr.svg"),
        "{page}"
    );
    let (_, form) = app.get_text(&format!("/outlets/{}/review", ids[2])).await;
    assert!(
        form.contains(notice) && !form.contains("获取验证码"),
        "{form}"
    );
    let (_, open) = app.get_text(&format!("/outlets/{}", ids[0])).await;
    assert!(open.contains("我要评价") && !open.contains(notice));
}

/// A phone or ID number written into a review or a reply is masked on the
/// outlet page and in the API, as in open data; the rest of the text stays.
#[tokio::test]
async fn personal_numbers_in_reviews_and_replies_are_masked() {
    use lifeservice_domain::privacy::mask_id_number;
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let (sender, ids) = setup(&app).await;
        let shangwu = app.add_user("shangwu", "department", "01,07").await;
        let path = format!("/outlets/{}", ids[0]);
        let alice = sign_in(&app, &sender, "13812345678").await;
        let text = "阿姨很细心，有事找她：13912345678，身份证140105199001011238";
        let (s, r) = post(
            &app,
            &format!("/api/v1/outlets/{}/reviews", ids[0]),
            Some(&alice),
            json!({"rating": 5, "text": text}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        let entity = anxin_token(&app, &shangwu).await;
        let (s, b) = post(
            &app,
            &format!("/api/v1/reviews/{}/reply", r["id"]),
            Some(&entity),
            json!({"text": "谢谢！预约请拨 139-8765-4321"}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let html = app.get_text(&path).await.1;
        let (_, api) = get(&app, &format!("/api/v1/outlets/{}/reviews", ids[0]), None).await;
        let api = api.to_string();
        for shown in [&html, &api, &r.to_string(), &b.to_string()] {
            for number in ["13912345678", "140105199001011238", "8765"] {
                assert!(!shown.contains(number), "{backend:?}: {number} in {shown}");
            }
        }
        for shown in [&html, &api] {
            assert!(
                shown.contains("阿姨很细心，有事找她：139****5678"),
                "{backend:?}"
            );
            assert!(shown.contains(&mask_id_number("140105199001011238")));
            assert!(
                shown.contains("预约请拨 139-****-4321"),
                "{backend:?}: {shown}"
            );
        }
        app.cleanup().await;
    }
}

/// The review feed (what page caches follow) keeps a day: the daily job
/// drops older entries and keeps fresh ones.
#[tokio::test]
async fn the_daily_job_drops_review_feed_entries_a_day_old() {
    use lifeservice::jobs::{Job, run_once};
    for backend in backends().await {
        let app = spawn_app(backend).await;
        setup(&app).await;
        let db = &app.state.db;
        let written =
            lifeservice::reviews::demo::generate(db, &app.state.reviews, 6, 3, false, None)
                .await
                .unwrap();
        assert_eq!(written, 6);
        let entries = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM review_changes")
                .fetch_one(db.pool())
                .await
                .unwrap()
        };
        let fresh = entries().await;
        assert!(fresh > 0, "{backend:?}: reviews are in the feed");
        let now = lifeservice::time::now();
        let ran = run_once(db, Job::PurgeReviewFeed, "today", now)
            .await
            .unwrap();
        assert_eq!(
            ran.as_deref(),
            Some("dropped 0 feed entries"),
            "{backend:?}"
        );
        assert_eq!(entries().await, fresh);
        let later = now + chrono::Duration::hours(25);
        let ran = run_once(db, Job::PurgeReviewFeed, "tomorrow", later)
            .await
            .unwrap();
        assert_eq!(
            ran,
            Some(format!("dropped {fresh} feed entries")),
            "{backend:?}"
        );
        assert_eq!(entries().await, 0);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn demo_reviews_seed_consistent_totals() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        lifeservice::demo::generate(&app.state.db, 300, 5, None)
            .await
            .unwrap();
        let written = lifeservice::reviews::demo::generate(
            &app.state.db,
            &app.state.reviews,
            3000,
            5,
            true,
            None,
        )
        .await
        .unwrap();
        assert_eq!(written, 3000);
        let pool = app.state.db.pool();
        // The seeded running totals equal a recount of the rows.
        let recount: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT CAST(outlet_id AS TEXT), COUNT(*), CAST(SUM(rating) AS BIGINT), CAST(SUM(CASE WHEN rating <= 2 THEN 1 ELSE 0 END) AS BIGINT) FROM reviews WHERE status = 'published' GROUP BY outlet_id ORDER BY 1",
        )
        .fetch_all(pool).await.unwrap();
        let totals: Vec<(String, i64, i64, i64)> = sqlx::query_as("SELECT key, n, rating_sum, bad FROM quality_totals WHERE scope = 'outlet' ORDER BY key")
            .fetch_all(pool).await.unwrap();
        assert_eq!(recount, totals, "{backend:?}");
        let cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_cases")
            .fetch_one(pool)
            .await
            .unwrap();
        let bad: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews WHERE rating <= 2")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(cases, bad);
        assert!(bad > 0 && bad < 3000);
        // New reviews go on after the seeded ids (PostgreSQL sequences were moved).
        let sender = Arc::new(MemorySender::default());
        app.state.reviews.set_sender(sender.clone());
        let token = sign_in(&app, &sender, "13812345678").await;
        let outlet: i64 = sqlx::query_scalar("SELECT outlet_id FROM reviews ORDER BY id LIMIT 1")
            .fetch_one(pool)
            .await
            .unwrap();
        let (s, b) = post(
            &app,
            &format!("/api/v1/outlets/{outlet}/reviews"),
            Some(&token),
            json!({"rating": 3, "text": "演示之后的一条新评价"}),
        )
        .await;
        assert_eq!(s, 200, "{backend:?} {b}");
        let (_, page) = get(&app, &format!("/api/v1/outlets/{outlet}/reviews"), None).await;
        assert_eq!(page["items"][0]["id"], b["id"]);
        app.cleanup().await;
    }
}

/// A page: status and HTML.
async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let r = client.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form: status, where it redirects to, and the HTML.
async fn submit(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let r = client.post(app.url(path)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

async fn reply_of(app: &TestApp, review: i64) -> Option<String> {
    sqlx::query_scalar("SELECT reply FROM reviews WHERE id = $1")
        .bind(review)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// The entity and officer pages: an entity account handles its own reviews
/// and cases only; officers see the cases of their service types or area;
/// every form needs the session's CSRF token; refusals come back in Chinese
/// beside the field (a second reply among them); the reviewer closes the case
/// with the 回访 on the web. Every write is audited.
#[tokio::test]
async fn web_desks_are_scoped_csrf_protected_and_close_the_loop() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let (sender, ids) = setup(&app).await;
        let o1 = ids[0];
        // Another entity, with an outlet of its own.
        let other_csv = "统一社会信用代码,主体名称,名称,服务类型,地址,所属社区,经度,纬度,联系电话\n\
            91140105MA0K123457,山西另一家服务有限公司,另一家家政,0101,太原市小店区坞城路100号,,112.586,37.776,";
        let options = ImportOptions {
            datum: Default::default(),
            actor: "test".into(),
            synthetic: false,
            principal: None,
        };
        let table = Table::read(other_csv.as_bytes()).unwrap();
        import_table(&app.state.db, RecordKind::Outlets, table, &options, None)
            .await
            .unwrap();
        let anxin_token = app.add_user("anxin", "entity", "91350200776049653A").await;
        let other_token = app.add_user("other", "entity", "91140105MA0K123457").await;
        app.add_user("shangwu", "department", "01,07").await;
        app.add_user("minzheng", "department", "03").await;
        app.add_user("xiaodian", "division", "140105").await;
        app.add_user("yingze", "division", "140106").await;

        let bob = sign_in(&app, &sender, "13912345678").await;
        let (s, bad) = post(
            &app,
            &format!("/api/v1/outlets/{o1}/reviews"),
            Some(&bob),
            json!({"rating": 1, "aspects": {"price": 1}, "text": "收费和说好的不一样，态度差"}),
        )
        .await;
        assert_eq!(s, 200, "{bad}");
        let review = bad["id"].as_i64().unwrap();
        let case = bad["case_id"].as_i64().unwrap();
        let review_path = format!("/admin/reviews/{review}");
        let reply_path = format!("{review_path}/reply");
        let contact_path = format!("/admin/review-cases/{case}/contact");
        let rectify_path = format!("/admin/review-cases/{case}/rectify");

        // The entity sees the bad review, its case and the deadlines in words.
        let anxin = app.staff("anxin").await;
        let (s, list) = page(&anxin, &app, "/admin/reviews").await;
        assert_eq!(s, 200, "{list}");
        assert!(list.contains("收费和说好的不一样") && list.contains("待联系评价人"));
        let (s, html) = page(&anxin, &app, &review_path).await;
        assert_eq!(s, 200, "{html}");
        assert!(html.contains("还剩") || html.contains("今天到期"), "{html}");
        let csrf = csrf_of(&html);

        // Another entity neither sees nor acts on it.
        let other = app.staff("other").await;
        let (_, list) = page(&other, &app, "/admin/reviews").await;
        assert!(!list.contains("收费和说好的不一样"), "{list}");
        let (s, _) = page(&other, &app, &review_path).await;
        assert_eq!(s, 403);
        let (_, home) = page(&other, &app, "/admin").await;
        let other_csrf = csrf_of(&home);
        for path in [&reply_path, &contact_path] {
            let (s, _, html) = submit(
                &other,
                &app,
                path,
                &[
                    ("csrf", &other_csrf),
                    ("text", "冒充回复"),
                    ("note", "冒充处理"),
                ],
            )
            .await;
            assert_eq!(s, 403, "{path}: {html}");
            assert!(html.contains("无权限"), "{html}");
        }
        let (_, cases) = page(&other, &app, "/admin/review-cases?status=all").await;
        assert!(!cases.contains(&format!("/admin/reviews/{review}#case")));
        // The same rule through the API, with the entity accounts' own tokens.
        let (s, _) = post(
            &app,
            &format!("/api/v1/reviews/{review}/appeal"),
            Some(&other_token),
            json!({"kind": "mistaken", "reason": "不是本店的顾客"}),
        )
        .await;
        assert_eq!(s, 403);
        let (s, b) = get(
            &app,
            &format!("/api/v1/review-cases/{case}"),
            Some(&anxin_token),
        )
        .await;
        assert_eq!((s, b["id"].as_i64()), (200, Some(case)), "{b}");

        // Officers: the department of 01 and the 小店区 officer see the case;
        // 民政 (03) and 迎泽区 do not; only departments decide appeals.
        for (user, sees) in [
            ("shangwu", true),
            ("xiaodian", true),
            ("minzheng", false),
            ("yingze", false),
        ] {
            let officer = app.staff(user).await;
            let (s, html) = page(&officer, &app, "/admin/review-cases").await;
            assert_eq!(s, 200, "{user}: {html}");
            let listed = html.contains(&format!("/admin/reviews/{review}#case"));
            assert_eq!(listed, sees, "{user} lists the case");
            let (s, _) = page(&officer, &app, &review_path).await;
            assert_eq!(s, if sees { 200 } else { 403 }, "{user} opens the review");
            let (s, _) = page(&officer, &app, "/admin/review-appeals").await;
            let decides = matches!(user, "shangwu" | "minzheng");
            assert_eq!(s, if decides { 200 } else { 403 }, "{user} appeals");
        }

        // CSRF: no token, or another session's, writes nothing.
        let (s, _, _) = submit(&anxin, &app, &reply_path, &[("text", "没有令牌的回复")]).await;
        assert_eq!(s, 403);
        let (s, _, _) = submit(
            &anxin,
            &app,
            &reply_path,
            &[("csrf", &other_csrf), ("text", "别人令牌的回复")],
        )
        .await;
        assert_eq!(s, 403);
        assert_eq!(reply_of(&app, review).await, None);

        // A refusal comes back beside its field, with what was typed.
        let (s, _, html) = submit(
            &anxin,
            &app,
            &reply_path,
            &[("csrf", &csrf), ("text", " 好")],
        )
        .await;
        assert_eq!(s, 400, "{html}");
        assert!(html.contains("id=\"reply-text-error\""), "{html}");
        assert!(html.contains("回复内容不能为空"), "{html}");
        assert!(html.contains("aria-describedby=\"reply-text-error\""));

        // The reply, public on the outlet page; a second one refused in Chinese.
        let (s, location, _) = submit(
            &anxin,
            &app,
            &reply_path,
            &[("csrf", &csrf), ("text", "非常抱歉，已安排店长联系您")],
        )
        .await;
        assert_eq!(
            (s, location.as_str()),
            (303, format!("{review_path}?done=reply#reply").as_str())
        );
        let public = reqwest::get(app.url(&format!("/outlets/{o1}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(public.contains("非常抱歉，已安排店长联系您"));
        let (s, _, html) = submit(
            &anxin,
            &app,
            &reply_path,
            &[("csrf", &csrf), ("text", "再次回复")],
        )
        .await;
        assert_eq!(s, 409, "{html}");
        assert!(html.contains("每条评价只能回复一次，已回复过"), "{html}");
        assert_eq!(
            reply_of(&app, review).await.as_deref(),
            Some("非常抱歉，已安排店长联系您")
        );

        // Contact and rectification, in order; an empty note is refused beside it.
        let (s, _, html) = submit(
            &anxin,
            &app,
            &contact_path,
            &[("csrf", &csrf), ("note", "")],
        )
        .await;
        assert_eq!(s, 400);
        assert!(
            html.contains("id=\"contact-note-error\"") && html.contains("处理说明不能为空"),
            "{html}"
        );
        for (path, note) in [
            (&contact_path, "已电话联系顾客并致歉"),
            (&rectify_path, "已退还多收费用，公示价目表"),
        ] {
            let (s, location, html) =
                submit(&anxin, &app, path, &[("csrf", &csrf), ("note", note)]).await;
            assert_eq!(s, 303, "{path}: {html}");
            assert!(location.starts_with(&review_path), "{location}");
        }
        let (_, html) = page(&anxin, &app, &review_path).await;
        assert!(
            html.contains("已整改，待评价人回访") && html.contains("按期"),
            "{html}"
        );
        let audited: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE actor LIKE 'entity:%:anxin' AND action IN ('reply', 'contact', 'rectify')",
        )
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        assert_eq!(audited, 3);

        // 回访 on the web: the reviewer signs in with a code and closes the case.
        let resident = app.client();
        let (_, html) = page(&resident, &app, "/reviews/mine").await;
        assert!(html.contains("获取验证码"), "{html}");
        let (s, location, _) = submit(
            &resident,
            &app,
            "/reviews/mine/code",
            &[("phone", "13912345678")],
        )
        .await;
        assert!(s == 303 && location.contains("sent=1"), "{location}");
        let code = sender.last_code("13912345678").unwrap();
        let (s, _, _) = submit(
            &resident,
            &app,
            "/reviews/mine/sign-in",
            &[("phone", "13912345678"), ("code", code.as_str())],
        )
        .await;
        assert_eq!(s, 303);
        let (_, html) = page(&resident, &app, "/reviews/mine").await;
        assert!(
            html.contains("非常抱歉，已安排店长联系您") && html.contains("提交回访评价"),
            "{html}"
        );
        let resident_csrf = csrf_of(&html);
        let follow_up = format!("/reviews/mine/cases/{case}/follow-up");
        let (s, _, _) = submit(&resident, &app, &follow_up, &[("rating", "4")]).await;
        assert_eq!(s, 403, "no CSRF token");
        let (s, _, html) = submit(&resident, &app, &follow_up, &[("csrf", &resident_csrf)]).await;
        assert_eq!(s, 400);
        assert!(
            html.contains(&format!("id=\"follow-up-{case}-rating-error\""))
                && html.contains("回访评价应为1至5"),
            "{html}"
        );
        // Someone else signed in cannot rate it.
        let stranger = app.client();
        submit(
            &stranger,
            &app,
            "/reviews/mine/code",
            &[("phone", "13712345678")],
        )
        .await;
        let code = sender.last_code("13712345678").unwrap();
        submit(
            &stranger,
            &app,
            "/reviews/mine/sign-in",
            &[("phone", "13712345678"), ("code", code.as_str())],
        )
        .await;
        // The rating form carries the signed-in reviewer's token.
        let (_, form) = page(&stranger, &app, &format!("/outlets/{o1}/review")).await;
        let (s, _, html) = submit(
            &stranger,
            &app,
            &follow_up,
            &[("csrf", &csrf_of(&form)), ("rating", "1")],
        )
        .await;
        assert_eq!(s, 403, "{html}");
        assert!(html.contains("只有评价人本人"), "{html}");
        let (s, location, _) = submit(
            &resident,
            &app,
            &follow_up,
            &[
                ("csrf", &resident_csrf),
                ("rating", "4"),
                ("text", "已退款，满意"),
            ],
        )
        .await;
        assert_eq!((s, location.as_str()), (303, "/reviews/mine?done=1"));

        // Closed, on the entity's page and the officer's closed list.
        let (_, html) = page(&anxin, &app, &review_path).await;
        assert!(
            html.contains("已办结（评价人已回访）") && html.contains("已退款，满意"),
            "{html}"
        );
        let shangwu = app.staff("shangwu").await;
        let (_, html) = page(&shangwu, &app, "/admin/review-cases?status=closed").await;
        assert!(
            html.contains(&format!("/admin/reviews/{review}#case")),
            "{html}"
        );
        let (s, _) = page(&shangwu, &app, "/admin/review-cases?status=nonsense").await;
        assert_eq!(s, 400);
        app.cleanup().await;
    }
}

/// Limits lifted so that concurrent submissions reach the write, with a
/// burst rule of more than `burst_min` reviews in the window.
fn racing_config(burst_min: u32) -> ReviewConfig {
    ReviewConfig {
        per_account: u32::MAX,
        per_ip: u32::MAX,
        per_outlet: u32::MAX,
        burst: lifeservice_domain::review::BurstRule {
            min_count: burst_min,
            ..Default::default()
        },
        ..ReviewConfig::default()
    }
}

/// An app with the sample outlets, limits lifted, no duplicate or burst
/// holds, and twelve signed-in reviewers (their tokens).
async fn racing_app(backend: Backend) -> (TestApp, Vec<i64>, Vec<String>) {
    let app = spawn_app(backend).await;
    let (sender, ids) = setup(&app).await;
    app.state.reviews.set_config(ReviewConfig {
        duplicate_window: 0,
        ..racing_config(u32::MAX)
    });
    let tokens = twelve_reviewers(&app, &sender).await;
    (app, ids, tokens)
}

async fn twelve_reviewers(app: &TestApp, sender: &MemorySender) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in 0..12 {
        tokens.push(sign_in(app, sender, &format!("1390000{i:04}")).await);
    }
    tokens
}

/// Submissions are validated before their write transaction and race each
/// other there: each reviewer sends the same occasion twice at once. One of each pair
/// lands, the other is refused by the one-per-occasion constraint, and the
/// running sums and cases match a recount.
#[tokio::test]
async fn concurrent_submissions_land_once_with_exact_totals() {
    for backend in backends().await {
        let (app, ids, tokens) = racing_app(backend).await;
        let outlet = ids[0];
        let path = format!("/api/v1/outlets/{outlet}/reviews");
        let posts = tokens.iter().enumerate().flat_map(|(r, token)| {
            let body = json!({"rating": r % 5 + 1, "text": format!("第{r}位居民的评价")});
            [(token, body.clone()), (token, body)]
        });
        let statuses = futures_util::future::join_all(
            posts.map(|(token, body)| post(&app, &path, Some(token), body)),
        )
        .await;
        let landed = statuses.iter().filter(|(s, _)| *s == 200).count();
        let refused: Vec<&Value> = statuses
            .iter()
            .filter(|(s, _)| *s != 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(landed, 12, "{backend:?}: {refused:?}");
        assert!(
            refused.iter().all(|b| field(b) == Some("occasion")),
            "{backend:?}: {refused:?}"
        );
        // Ratings 1..=5 over twelve reviewers: six are 1 or 2 (差评).
        let (_, body) = get(&app, &format!("/api/v1/outlets/{outlet}"), None).await;
        assert_eq!(body["quality"]["count"], 12, "{backend:?}: {body}");
        assert_eq!(body["quality"]["bad_share"], 0.5, "{backend:?}: {body}");
        let cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_cases")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(cases, 6, "{backend:?}");
        app.cleanup().await;
    }
}

/// Moderation sees submissions that race each other as if they came one
/// after another: of six reviews sent to an outlet at once, with a burst rule
/// of more than two, two are published and four held, and of near-identical
/// texts sent at once by different reviewers only one is published.
#[tokio::test]
async fn concurrent_submissions_are_moderated_in_turn() {
    for backend in backends().await {
        let app = spawn_app(backend).await;
        let (sender, ids) = setup(&app).await;
        app.state.reviews.set_config(racing_config(2));
        let tokens = twelve_reviewers(&app, &sender).await;
        let texts = [
            "服务热情周到",
            "价格公道实惠",
            "环境干净整洁",
            "师傅手艺很好",
            "下次还会再来",
            "排队时间太长",
        ];
        let burst = format!("/api/v1/outlets/{}/reviews", ids[0]);
        let same = format!("/api/v1/outlets/{}/reviews", ids[1]);
        let sent = tokens.iter().enumerate().map(|(i, token)| {
            let (path, text) = if i < 6 {
                (&burst, texts[i].to_string())
            } else {
                (
                    &same,
                    "这家店的服务非常好，员工态度热情，价格也很公道".to_string(),
                )
            };
            post(&app, path, Some(token), json!({"rating": 4, "text": text}))
        });
        let answers = futures_util::future::join_all(sent).await;
        let status = |range: std::ops::Range<usize>| {
            let mut published = 0;
            for (s, b) in &answers[range] {
                assert_eq!(*s, 200, "{backend:?}: {b}");
                published += usize::from(b["status"] == "published");
            }
            published
        };
        assert_eq!(status(0..6), 2, "{backend:?}: {answers:?}");
        assert_eq!(status(6..12), 1, "{backend:?}: {answers:?}");
        app.cleanup().await;
    }
}

/// One service receipt sent by several reviewers at once (each its own
/// occasion, so only the receipt ties them): one review lands, verified, and
/// every other is refused on the receipt, whether the racing submissions meet
/// in one batch or in successive ones.
#[tokio::test]
async fn a_receipt_sent_by_racing_reviewers_is_used_once() {
    for backend in backends().await {
        let (app, ids, tokens) = racing_app(backend).await;
        let receipt = b_code(&app, ids[0]).await;
        let path = format!("/api/v1/outlets/{}/reviews", ids[0]);
        let answers = futures_util::future::join_all(tokens.iter().enumerate().map(|(i, token)| {
            let body = json!({"rating": 5, "text": format!("第{i}位居民凭凭证评价"), "receipt": receipt});
            post(&app, &path, Some(token), body)
        }))
        .await;
        let landed: Vec<&Value> = answers
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(landed.len(), 1, "{backend:?}: {answers:?}");
        assert_eq!(landed[0]["verified"], true, "{backend:?}");
        for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*status, 409, "{backend:?}: {body}");
            assert_eq!(field(body), Some("receipt"), "{backend:?}: {body}");
        }
        app.cleanup().await;
    }
}

/// Submissions are written in batches (group commit); a batch that fails as a
/// whole is written again review by review. Here the database itself refuses
/// one review (a trigger stands in for any failing statement): that review
/// fails alone, and the reviews sent beside it land with exact totals.
#[tokio::test]
async fn a_review_the_database_refuses_fails_alone() {
    const POISON: &str = "这条评价会被数据库拒绝";
    for backend in backends().await {
        let (app, ids, tokens) = racing_app(backend).await;
        let trigger: &[&str] = match backend {
            Backend::Sqlite => &[
                "CREATE TRIGGER poison BEFORE INSERT ON reviews WHEN NEW.body = '这条评价会被数据库拒绝' \
                 BEGIN SELECT RAISE(ABORT, 'poisoned review'); END",
            ],
            Backend::Postgres => &[
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.body = '这条评价会被数据库拒绝' THEN RAISE EXCEPTION 'poisoned review'; END IF; \
                 RETURN NEW; END $$",
                "CREATE TRIGGER poison BEFORE INSERT ON reviews FOR EACH ROW EXECUTE FUNCTION poison()",
            ],
        };
        for sql in trigger {
            sqlx::query(sql).execute(app.state.db.pool()).await.unwrap();
        }
        let path = format!("/api/v1/outlets/{}/reviews", ids[0]);
        let answers =
            futures_util::future::join_all(tokens.iter().enumerate().map(|(i, token)| {
                let text = if i == 5 {
                    POISON.to_string()
                } else {
                    format!("第{i}位居民：服务很好")
                };
                post(
                    &app,
                    &path,
                    Some(token),
                    json!({"rating": 1 + i % 5, "text": text}),
                )
            }))
            .await;
        for (i, (status, body)) in answers.iter().enumerate() {
            assert_eq!(*status == 200, i != 5, "{backend:?} #{i}: {status} {body}");
        }
        let (_, body) = get(&app, &format!("/api/v1/outlets/{}", ids[0]), None).await;
        assert_eq!(body["quality"]["count"], 11, "{backend:?}: {body}");
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reviews")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(stored, 11, "{backend:?}");
        app.cleanup().await;
    }
}
