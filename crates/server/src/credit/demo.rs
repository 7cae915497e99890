//! Synthetic credit records for the demo and the benchmarks, written through
//! the real import path. Agencies and records are labelled 演示.

use crate::registry::import::Table;
use crate::storage::Db;
use lifeservice_domain::CreditCode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Demo agencies: synthetic 统一社会信用代码 (机关, 山西省级), names labelled 演示.
pub fn demo_agencies() -> [(&'static str, crate::auth::Agency); 3] {
    let agency = |body: &str, name: &str| crate::auth::Agency {
        code: CreditCode::from_body(body).expect("valid demo agency code"),
        name: name.to_string(),
    };
    [
        (
            "shangwu",
            agency("11140000MB0000101", "山西省商务厅（演示）"),
        ),
        (
            "minzheng",
            agency("11140000MB0000102", "山西省民政厅（演示）"),
        ),
        (
            "shichang",
            agency("11140000MB0000103", "山西省市场监督管理局（演示）"),
        ),
    ]
}

/// An entity as credit records name it: credit code, name, kind code and
/// legal representative (法定代表人, a 双公示 item; masked in public views
/// where it names a person).
pub type CreditSubject = (String, String, String, Option<String>);

pub async fn credit_subjects(db: &Db) -> anyhow::Result<Vec<CreditSubject>> {
    Ok(
        sqlx::query_as("SELECT credit_code, name, kind, legal_rep FROM entities ORDER BY id")
            .fetch_all(db.pool())
            .await?,
    )
}

/// The word a 文书号 uses for its kind of decision, as in 晋市监罚〔2023〕12号.
fn doc_word(kind: lifeservice_domain::credit::RecordKind) -> &'static str {
    use lifeservice_domain::credit::RecordKind;
    match kind {
        RecordKind::Licence => "许",
        RecordKind::Penalty => "罚",
        RecordKind::Inspection => "检",
        RecordKind::Listing => "名",
        RecordKind::Pledge => "诺",
    }
}

/// Writes `count` synthetic records of `kind` by `agency` in the template
/// layout, cycling over `subjects` from `first`; 文书号 are unique per
/// (agency, kind, number).
pub fn write_credit_csv<W: std::io::Write>(
    out: W,
    kind: lifeservice_domain::credit::RecordKind,
    subjects: &[CreditSubject],
    agency: &crate::auth::Agency,
    (first, count, stride): (usize, usize, usize),
    seed: u64,
) -> anyhow::Result<()> {
    use lifeservice_domain::credit::RecordKind;
    let cols = crate::credit::fields::columns(kind);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC4ED17);
    let today = crate::time::today();
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(cols.iter().map(|c| c.header))?;
    let agency_code = agency.code.to_string();
    for i in 0..count {
        let n = first + i * stride;
        let (code, name, entity_kind, legal_rep) = &subjects[n % subjects.len()];
        let date = (today - chrono::Days::new(rng.random_range(10..1500_u64)))
            .format("%Y/%m/%d")
            .to_string();
        let fine = format!("{:.1}", rng.random_range(0.1..5.0_f64));
        let until = if n % 3 == 0 {
            "2099/12/31".to_string()
        } else {
            (today + chrono::Days::new(n as u64 % 900))
                .format("%Y/%m/%d")
                .to_string()
        };
        let doc = format!(
            "晋演示{}{}〔{}〕{n}号",
            &agency_code[10..17],
            doc_word(kind),
            &date[..4]
        );
        let person = entity_kind == "individual_business";
        writer.write_record(cols.iter().map(|c| match c.key {
            "subject_name" => name.as_str(),
            "subject_category" if person => "个体工商户",
            "subject_category" => "法人及非法人组织",
            "credit_code" => code.as_str(),
            "legal_rep" => legal_rep.as_deref().unwrap_or(""),
            "decision_no" => &doc,
            "decision_title" => "行政许可决定书",
            "licence_category" => "普通",
            "content" if kind == RecordKind::Licence => "经营许可（演示）",
            "content" => "罚款（演示）",
            "decision_date" | "valid_from" => &date,
            "valid_until" => &until,
            "violation_type" => "未按规定明码标价（演示）",
            "facts" => "合成数据，非真实处罚",
            "basis" => "《价格法》第四十二条",
            "penalty_categories" if n % 4 == 0 => "警告;罚款",
            "penalty_categories" => "罚款",
            "fine_wan_yuan" => &fine,
            "inspection_type" => "不定向抽查",
            "items" => "经营资质、价格公示（演示）",
            "result" if n % 5 == 0 => "发现问题已责令整改",
            "result" => "未发现问题",
            "authority" | "source_name" => &agency.name,
            "authority_code" | "source_code" => &agency_code,
            _ => "",
        }))?;
    }
    writer.flush()?;
    Ok(())
}

/// Synthetic credit records for every `stride`-th entity, written through the
/// real import path (template CSV → validation → store), one file per agency
/// and kind. Returns the number of records stored.
pub async fn generate_credit(db: &Db, seed: u64, stride: usize) -> anyhow::Result<usize> {
    use crate::credit::import::{CreditImportOptions, import_credit};
    use lifeservice_domain::credit::RecordKind;
    let subjects = credit_subjects(db).await?;
    let mut stored = 0;
    for (index, (_, agency)) in demo_agencies().iter().enumerate() {
        for kind in [
            RecordKind::Licence,
            RecordKind::Penalty,
            RecordKind::Inspection,
        ] {
            let mut bytes = Vec::new();
            let count = subjects.len().saturating_sub(index) / stride;
            write_credit_csv(
                &mut bytes,
                kind,
                &subjects,
                agency,
                (index, count, stride),
                seed,
            )?;
            let options = CreditImportOptions {
                actor: "demo".into(),
                submitter: Some(agency.code.clone()),
                register_unknown: false,
                rules: Default::default(),
            };
            let table = Table::Csv(String::from_utf8(bytes)?);
            stored += import_credit(db, kind, table, &options, None)
                .await?
                .inserted;
        }
    }
    Ok(stored)
}
