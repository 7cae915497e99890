//! Open data (公共数据共享开放) through the real server, on every backend:
//! the catalogue, every dataset in every format, keyset paging, credit
//! records only inside their disclosure window, and no personal number in
//! any export.

mod common;

use common::{TestApp, backends, spawn_app};
use lifeservice::credit::fields::columns;
use lifeservice::credit::import::{CreditImportOptions, import_credit};
use lifeservice::registry::import::{ImportOptions, Table, import_table};
use lifeservice_domain::CreditCode;
use lifeservice_domain::credit::RecordKind;
use serde_json::{Value, json};
use std::collections::HashSet;

const ENTERPRISE: &str = "91350200776049653A";
const DATASETS: [&str; 5] = [
    "outlets",
    "credit-records",
    "statistics",
    "circle-coverage",
    "plan-indicators",
];
const FORMATS: [(&str, &str); 4] = [
    ("csv", "text/csv; charset=utf-8"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("json", "application/json"),
    ("geojson", "application/geo+json"),
];

/// Real-looking personal numbers, planted in every field that can hold
/// them. The ID numbers carry valid GB 11643 check digits.
const ID_OWNER: &str = "140105199003071234";
const ID_REP: &str = "140105198506150028";
const ID_PERSON: &str = "140108197701010041";

fn individual_business() -> String {
    CreditCode::from_body("92140105MA0000001")
        .unwrap()
        .to_string()
}

fn agency() -> String {
    CreditCode::from_body("11140105MB0000021")
        .unwrap()
        .to_string()
}

fn days_ago(days: u64) -> String {
    (lifeservice::time::today() - chrono::Days::new(days))
        .format("%Y/%m/%d")
        .to_string()
}

/// A CSV in the 双公示 template layout: one line per row of `key → value` pairs.
fn credit_csv(kind: RecordKind, rows: &[Vec<(&str, String)>]) -> String {
    let cols = columns(kind);
    let mut out = cols.iter().map(|c| c.header).collect::<Vec<_>>().join(",");
    for row in rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| {
                row.iter()
                    .find(|(k, _)| *k == c.key)
                    .map(|(_, v)| format!("\"{v}\""))
                    .unwrap_or_default()
            })
            .collect();
        out.push('\n');
        out.push_str(&cells.join(","));
    }
    out
}

fn penalty(
    doc: &str,
    subject: &[(&'static str, String)],
    days: u64,
) -> Vec<(&'static str, String)> {
    let mut row = vec![
        ("decision_no", doc.to_string()),
        ("violation_type", "价格违法".into()),
        ("facts", format!("当事人手机13712345678，身份证{ID_OWNER}")),
        ("basis", "《价格法》第四十二条".into()),
        ("penalty_categories", "罚款".into()),
        ("content", "罚款二万元，经营者电话 139-1234-5678".into()),
        ("fine_wan_yuan", "2".into()),
        ("decision_date", days_ago(days)),
        ("authority", "太原市小店区商务局".into()),
        ("authority_code", agency()),
        ("source_name", "太原市小店区商务局".into()),
        ("source_code", agency()),
    ];
    row.extend(subject.iter().cloned());
    row
}

fn individual_subject() -> Vec<(&'static str, String)> {
    vec![
        ("subject_name", "太原市小店区王小明便利店".into()),
        ("subject_category", "个体工商户".into()),
        ("credit_code", individual_business()),
        ("legal_rep", "王小明".into()),
        ("id_type", "身份证".into()),
        ("id_number", ID_OWNER.into()),
    ]
}

fn enterprise_subject() -> Vec<(&'static str, String)> {
    vec![
        ("subject_name", "山西安心生活服务有限公司".into()),
        ("subject_category", "法人及非法人组织".into()),
        ("credit_code", ENTERPRISE.into()),
        ("legal_rep", format!("李四 {ID_REP}")),
        ("id_type", "身份证".into()),
        ("id_number", ID_REP.into()),
    ]
}

/// Outlets of an enterprise and of an individual business (with a designation),
/// the demo life circles, credit records inside and outside their window and
/// of a natural person, a plan report; then personal numbers planted where
/// imports would not put them.
async fn seed(app: &TestApp) {
    app.seed_outlets().await;
    let outlets = [
        "统一社会信用代码,主体名称,名称,服务类型,地址,所属社区,经度,纬度,联系电话,营业时间,认定称号,认定单位,认定日期",
        &format!(
            "{},太原市小店区王小明便利店,王小明便利店,便利店,太原市小店区坞城路8号,140105001003,112.581,37.771,13912345678,8:00-22:00,普惠性生活服务机构,省发展改革委,2024-06-30",
            individual_business()
        ),
    ]
    .join("\n");
    let options = ImportOptions {
        datum: Default::default(),
        actor: "test".into(),
        synthetic: false,
        principal: None,
    };
    let kind = lifeservice::registry::fields::RecordKind::Outlets;
    let report = import_table(&app.state.db, kind, Table::Csv(outlets), &options, None)
        .await
        .unwrap();
    assert_eq!(report.inserted, 1, "{report:?}");

    let network = app.state.circles.network_path().to_path_buf();
    lifeservice::demo::generate_circles(&app.state.db, &network, 5)
        .await
        .unwrap();

    let credit = CreditImportOptions {
        actor: "admin".into(),
        submitter: None,
        register_unknown: false,
        rules: Default::default(),
    };
    let mut natural_person = penalty("自然人罚-1", &[], 20);
    natural_person.extend([
        ("subject_name", "赵六".to_string()),
        ("subject_category", "自然人".into()),
        ("id_type", "身份证".into()),
        ("id_number", ID_PERSON.into()),
    ]);
    let penalties = credit_csv(
        RecordKind::Penalty,
        &[
            penalty("NEW-1", &individual_subject(), 30),
            penalty("NEW-2", &enterprise_subject(), 40),
            // A general penalty is public for one year from its decision.
            penalty("OLD-1", &individual_subject(), 800),
            natural_person,
        ],
    );
    let report = import_credit(
        &app.state.db,
        RecordKind::Penalty,
        Table::Csv(penalties),
        &credit,
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.inserted, 4, "{report:?}");

    let token = app.add_user("plan-admin", "admin", "").await;
    let response = app
        .client()
        .post(app.url("/api/v1/plan/reports"))
        .bearer_auth(token)
        .json(
            &json!({"task": 1, "indicator": "T01-2", "period": "2025-Q1", "value": 2,
            "narrative": "新增5A级景区2家，联系人13812345678", "unit": "U01"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    plant_personal_numbers(app).await;
    app.state.circles.rebuild(&app.state.db).await.unwrap();
    // What the server's refresher does a few seconds after the writes.
    lifeservice::stats::cube::refresh(&app.state.db)
        .await
        .unwrap();
}

async fn plant_personal_numbers(app: &TestApp) {
    let statements = [
        format!(
            "UPDATE entities SET legal_rep = '王小明（身份证{ID_OWNER}）', phone = '13912345678' WHERE credit_code = '{}'",
            individual_business()
        ),
        format!(
            "UPDATE entities SET legal_rep = '李四 {ID_REP}', phone = '+86 138-1234-5678' WHERE credit_code = '{ENTERPRISE}'"
        ),
        format!(
            "UPDATE outlets SET phone = '13612345678', hours = '8:00-22:00，店主手机139 1234 5678', \
             address = address || '（联系人{ID_OWNER}）', name = name || '8613512345678' \
             WHERE entity_id IN (SELECT id FROM entities WHERE credit_code IN ('{ENTERPRISE}', '{}'))",
            individual_business()
        ),
        "UPDATE designations SET granted_by = '省发展改革委（经办人13312345678）'".to_string(),
    ];
    for sql in statements {
        sqlx::query(&sql)
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
}

async fn seeded(backend: common::Backend) -> TestApp {
    let app = spawn_app(backend).await;
    seed(&app).await;
    app
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::get(app.url(path)).await.unwrap()
}

/// Every record of a dataset through the API, `limit` at a time; the cursors seen.
async fn walk(app: &TestApp, id: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut records = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/open-data/{id}?limit={limit}&cursor={c}"),
            None => format!("/api/v1/open-data/{id}?limit={limit}"),
        };
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        let batch = page["records"].as_array().unwrap();
        assert!(batch.len() <= limit);
        assert_eq!(page["count"], batch.len());
        records.extend(batch.iter().cloned());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(batch.len(), limit, "only the last page is short");
                cursor = Some(next.to_string());
            }
            None => return (records, pages),
        }
    }
}

/// The key that identifies a record of each dataset.
fn key(id: &str, r: &Value) -> String {
    match id {
        "outlets" | "credit-records" => r["id"].to_string(),
        "statistics" => format!("{}/{}/{}", r["county_code"], r["year"], r["major_category"]),
        "circle-coverage" => r["community_code"].to_string(),
        _ => r["indicator_id"].to_string(),
    }
}

fn header_names(entry: &Value) -> Vec<String> {
    entry["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

fn xlsx_rows(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn the_catalogue_lists_every_dataset_and_each_downloads_in_every_format() {
    for backend in backends().await {
        let app = seeded(backend).await;
        let (status, catalogue) = app.get_json("/api/v1/open-data").await;
        assert_eq!(status, 200);
        let entries = catalogue["datasets"].as_array().unwrap();
        let ids: Vec<&str> = entries.iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids, DATASETS);
        for d in entries {
            assert!(d["records"].as_u64().unwrap() > 0, "{d}");
            for f in d["fields"].as_array().unwrap() {
                for k in ["key", "name", "type", "description"] {
                    assert!(!f[k].as_str().unwrap().is_empty(), "{k} of {f}");
                }
            }
            assert!(!d["source"].as_array().unwrap().is_empty(), "{d}");
            assert!(!d["update_frequency"].as_str().unwrap().is_empty());
            assert_eq!(d["licence"]["id"], "CC-BY-4.0");
            let updated = d["last_updated"].as_str().unwrap_or_else(|| panic!("{d}"));
            assert!(updated.ends_with("+08:00"), "{updated}");
        }
        let credit = &entries[1];
        assert_eq!(credit["records"], 2, "only NEW-1 and NEW-2 are public");
        assert_eq!(credit["source"], json!(["太原市小店区商务局"]));
        assert!(
            entries[0]["formats"]
                .as_array()
                .unwrap()
                .contains(&json!("geojson"))
        );
        assert!(
            !credit["formats"]
                .as_array()
                .unwrap()
                .contains(&json!("geojson"))
        );

        let page = get(&app, "/open-data").await.text().await.unwrap();
        for d in entries {
            assert!(page.contains(d["name"].as_str().unwrap()));
            assert!(page.contains(&format!(
                "href=\"/open-data/{}.csv\"",
                d["id"].as_str().unwrap()
            )));
        }
        assert!(page.contains("CC BY 4.0") && page.contains("<th scope=\"col\">"));
        let home = get(&app, "/").await.text().await.unwrap();
        assert!(
            home.contains("href=\"/open-data\""),
            "the footer links the catalogue"
        );
        let outlets_page = get(&app, "/open-data/outlets").await;
        assert_eq!(outlets_page.status(), 200);
        let outlets_page = outlets_page.text().await.unwrap();
        assert!(
            outlets_page.contains("普惠性生活服务机构")
                && outlets_page.contains("/api/v1/open-data/outlets")
        );

        for d in entries {
            let id = d["id"].as_str().unwrap();
            let total = d["records"].as_u64().unwrap() as usize;
            let names = header_names(d);
            for (ext, content_type) in FORMATS {
                let response = get(&app, &format!("/open-data/{id}.{ext}")).await;
                if ext == "geojson" && !d["formats"].as_array().unwrap().contains(&json!("geojson"))
                {
                    assert_eq!(response.status(), 404, "{id}.{ext}");
                    continue;
                }
                assert_eq!(response.status(), 200, "{id}.{ext}");
                assert_eq!(
                    response.headers()["content-type"],
                    content_type,
                    "{id}.{ext}"
                );
                assert!(
                    response.headers()["content-disposition"]
                        .to_str()
                        .unwrap()
                        .contains(&format!("{id}-")),
                );
                let bytes = response.bytes().await.unwrap();
                match ext {
                    "csv" => {
                        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{id}: BOM");
                        let text = std::str::from_utf8(&bytes[3..]).unwrap();
                        let mut reader = csv::Reader::from_reader(text.as_bytes());
                        let header: Vec<String> = reader
                            .headers()
                            .unwrap()
                            .iter()
                            .map(str::to_string)
                            .collect();
                        assert_eq!(header, names, "{id}");
                        assert_eq!(reader.records().count(), total, "{id}.csv");
                    }
                    "xlsx" => {
                        let rows = xlsx_rows(&bytes, "数据");
                        assert_eq!(rows[0], names, "{id}");
                        assert_eq!(rows.len() - 1, total, "{id}.xlsx");
                        assert!(!xlsx_rows(&bytes, "说明").is_empty());
                    }
                    "json" => {
                        let doc: Value = serde_json::from_slice(&bytes).unwrap();
                        assert_eq!(doc["meta"]["dataset"], id);
                        assert_eq!(doc["meta"]["licence"]["id"], "CC-BY-4.0");
                        assert!(doc["meta"]["generated_at"].is_string());
                        assert_eq!(doc["meta"]["source"], d["source"]);
                        assert_eq!(doc["records"].as_array().unwrap().len(), total, "{id}.json");
                    }
                    _ => {
                        let doc: Value = serde_json::from_slice(&bytes).unwrap();
                        assert_eq!(doc["type"], "FeatureCollection");
                        let features = doc["features"].as_array().unwrap();
                        assert_eq!(features.len(), total, "{id}.geojson");
                        let point = &features[0]["geometry"];
                        assert_eq!(point["type"], "Point");
                        let lon = point["coordinates"][0].as_f64().unwrap();
                        assert!((110.0..115.0).contains(&lon), "{point}");
                    }
                }
            }
        }
        for bad in [
            "/open-data/people.csv",
            "/open-data/outlets.pdf",
            "/open-data/people",
        ] {
            assert_eq!(get(&app, bad).await.status(), 404, "{bad}");
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn cursors_walk_each_dataset_once_in_the_order_of_the_download() {
    for backend in backends().await {
        let app = seeded(backend).await;
        let (_, catalogue) = app.get_json("/api/v1/open-data").await;
        for d in catalogue["datasets"].as_array().unwrap() {
            let id = d["id"].as_str().unwrap();
            let total = d["records"].as_u64().unwrap() as usize;
            let limit = (total / 4 + 1).min(1000);
            let (records, pages) = walk(&app, id, limit).await;
            assert!(pages >= 2 || total <= limit, "{id}: {pages} pages");
            let keys: Vec<String> = records.iter().map(|r| key(id, r)).collect();
            let unique: HashSet<&String> = keys.iter().collect();
            assert_eq!(unique.len(), keys.len(), "{id}: no record twice");
            let download: Value = get(&app, &format!("/open-data/{id}.json"))
                .await
                .json()
                .await
                .unwrap();
            let expected: Vec<String> = download["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| key(id, r))
                .collect();
            assert_eq!(
                keys, expected,
                "{id}: the same records in the same order, none missing"
            );
            assert_eq!(keys.len(), total, "{id}");
        }

        // A page that ends exactly at the last record says so.
        let (_, all) = app
            .get_json("/api/v1/open-data/plan-indicators?limit=1000")
            .await;
        let n = all["count"].as_u64().unwrap();
        let (_, exact) = app
            .get_json(&format!("/api/v1/open-data/plan-indicators?limit={n}"))
            .await;
        assert_eq!(exact["next_cursor"], Value::Null);
        let reported = exact["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["indicator_id"] == "T01-2")
            .unwrap();
        assert_eq!(reported["reported_value"], 2.0);
        assert_eq!(reported["reported_period_end"], "2025-03-31");

        let (_, first) = app.get_json("/api/v1/open-data/outlets?limit=2").await;
        let outlets_cursor = first["next_cursor"].as_str().unwrap().to_string();
        for (path, field) in [
            ("/api/v1/open-data/outlets?limit=0", "limit"),
            ("/api/v1/open-data/outlets?limit=1001", "limit"),
            ("/api/v1/open-data/outlets?limit=abc", "limit"),
            ("/api/v1/open-data/outlets?cursor=not-a-cursor", "cursor"),
            (
                &format!("/api/v1/open-data/statistics?cursor={outlets_cursor}"),
                "cursor",
            ),
            ("/api/v1/open-data/outlets?page=2", "page"),
        ] {
            let (status, body) = app.get_json(path).await;
            assert_eq!(status, 400, "{path}: {body}");
            assert_eq!(body["error"]["code"], "invalid", "{path}");
            assert_eq!(body["error"]["field"], field, "{path}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{message}"
            );
        }
        let (status, body) = app.get_json("/api/v1/open-data/people").await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "not_found");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("outlets")
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn credit_records_are_public_view_only_and_no_export_carries_a_personal_number() {
    for backend in backends().await {
        let app = seeded(backend).await;

        // The seeds are there, and the scanner sees them: this test can fail.
        let raw: Vec<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT legal_rep, phone FROM entities WHERE legal_rep IS NOT NULL")
                .fetch_all(app.state.db.pool())
                .await
                .unwrap();
        let raw = format!("{raw:?}");
        let credit: Vec<String> = sqlx::query_scalar("SELECT items FROM credit_records")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
        let planted = personal_numbers(&format!("{raw} {}", credit.join(" ")));
        for number in [ID_OWNER, ID_REP, ID_PERSON, "13912345678", "13712345678"] {
            assert!(
                planted.iter().any(|p| p == number),
                "{number} not planted: {planted:?}"
            );
        }
        assert!(planted.iter().any(|p| p == "138-1234-5678"), "{planted:?}");

        // Credit: the window decides, persons are masked, ID numbers never leave.
        let (records, _) = walk(&app, "credit-records", 1000).await;
        let docs: Vec<&str> = records
            .iter()
            .map(|r| r["decision_no"].as_str().unwrap())
            .collect();
        assert_eq!(
            docs,
            ["NEW-1", "NEW-2"],
            "OLD-1 is past its window; 赵六 is no entity"
        );
        assert_eq!(
            records[0]["legal_rep"], "王**",
            "an individual business's owner"
        );
        assert_eq!(records[0]["subject_category"], "个体工商户");
        assert!(records[0]["disclosure_until"].is_string());
        assert!(records.iter().all(|r| r.get("id_number").is_none()));

        let mut exported = 0;
        for id in DATASETS {
            for (ext, _) in FORMATS {
                let response = get(&app, &format!("/open-data/{id}.{ext}")).await;
                if response.status() == 404 {
                    continue;
                }
                let bytes = response.bytes().await.unwrap();
                let text = match ext {
                    "xlsx" => all_cells(&bytes),
                    _ => String::from_utf8(bytes.to_vec()).unwrap(),
                };
                assert!(
                    !text.contains("OLD-1") && !text.contains("赵六"),
                    "{id}.{ext}"
                );
                let found = personal_numbers(&text);
                assert!(found.is_empty(), "{id}.{ext} carries {found:?}");
                exported += 1;
            }
            let (records, _) = walk(&app, id, 1000).await;
            let found = personal_numbers(&serde_json::to_string(&records).unwrap());
            assert!(found.is_empty(), "API {id} carries {found:?}");
        }
        assert_eq!(
            exported,
            5 * 3 + 2,
            "every dataset in every format it offers"
        );
        for page in [
            "/api/v1/open-data",
            "/open-data",
            "/open-data/credit-records",
            "/open-data/outlets",
        ] {
            let text = get(&app, page).await.text().await.unwrap();
            assert!(personal_numbers(&text).is_empty(), "{page}");
        }
        // Masked, not dropped: the outlet's phone is still there, recognisably.
        let outlets = get(&app, "/open-data/outlets.csv")
            .await
            .text()
            .await
            .unwrap();
        assert!(outlets.contains("136****5678") && outlets.contains("139 **** 5678"));
        app.cleanup().await;
    }
}

/// Every cell of every sheet, one per line, so that cells never run together.
fn all_cells(bytes: &[u8]) -> String {
    use calamine::{Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = String::new();
    for sheet in book.sheet_names() {
        for row in book.worksheet_range(&sheet).unwrap().rows() {
            for cell in row {
                out.push_str(&cell.to_string());
                out.push('\n');
            }
        }
    }
    out
}

/// Personal numbers in `text`, found independently of the code under test:
/// a mobile number `1[3-9]\d{9}` standing alone (not inside a longer digit
/// run), also after `86` or written 3-4-4 with `-` or a space, and 18-digit
/// resident IDs with a valid GB 11643 check digit.
fn personal_numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mobile = |s: &str| {
        let b = s.as_bytes();
        s.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !digit(i) {
            i += 1;
            continue;
        }
        let start = i;
        while digit(i) {
            i += 1;
        }
        let mut run: String = chars[start..i].iter().collect();
        if run.len() == 17 && matches!(chars.get(i), Some('X' | 'x')) {
            run.push('X');
        }
        if mobile(&run)
            || (run.len() == 13 && run.starts_with("86") && mobile(&run[2..]))
            || resident_id(&run)
        {
            found.push(run);
        }
    }
    for start in 0..chars.len().saturating_sub(12) {
        if start > 0 && digit(start - 1) || digit(start + 13) {
            continue;
        }
        let window: String = chars[start..start + 13].iter().collect();
        let separated = [3, 8]
            .iter()
            .all(|&p| matches!(chars[start + p], '-' | ' '));
        if separated && mobile(&window.replace(['-', ' '], "")) {
            found.push(window);
        }
    }
    found
}

fn resident_id(s: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = (0..17).map(|i| (b[i] - b'0') as u32 * WEIGHTS[i]).sum();
    b"10X98765432"[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

#[test]
fn the_scanner_finds_planted_numbers_and_passes_masked_ones() {
    let planted =
        format!("a,{ID_OWNER},b 13912345678 c +8613712345678 d 139-1234-5678 e 11010519491231002X");
    assert_eq!(
        personal_numbers(&planted).len(),
        5,
        "{:?}",
        personal_numbers(&planted)
    );
    for clean in [
        "139****5678",
        "139-****-5678",
        "140***********1234",
        "140105001001",
        "0351-7001234",
        "91350200776049653A",
        "2026-11-27T18:45:00+08:00",
        "140105199003071235", // wrong check digit
    ] {
        assert!(personal_numbers(clean).is_empty(), "{clean}");
    }
}
