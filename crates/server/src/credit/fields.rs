//! The 双公示 data items of each record kind, as the national templates
//! write their headers, and the parsing of one row into a [`CreditRow`].

use chrono::NaiveDate;
use lifeservice_domain::CreditCode;
use lifeservice_domain::credit::{
    DisclosureRules, LicenceCategory, ListKind, PenaltyTerms, RecordKind, Severity,
    SubjectCategory, ValidUntil, Window, parse_template_date,
};
use std::collections::BTreeMap;

/// How a column's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Text,
    /// A 统一社会信用代码 of an agency or a source unit.
    Code,
    Date,
    /// A date, where `2099/12/31` means 长期.
    DateOrIndefinite,
    /// An amount in 万元, not negative.
    Amount,
    SubjectCategory,
    LicenceCategory,
    PenaltyCategories,
    Severity,
    ListKind,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The snake_case key of the API and the JSON export.
    pub key: &'static str,
    /// The header as the national template writes it.
    pub header: &'static str,
    pub required: bool,
    pub ty: Ty,
}

const fn col(key: &'static str, header: &'static str, required: bool, ty: Ty) -> Column {
    Column {
        key,
        header,
        required,
        ty,
    }
}

/// The subject block shared by every kind.
const SUBJECT: [Column; 6] = [
    col("subject_name", "行政相对人名称", true, Ty::Text),
    col(
        "subject_category",
        "行政相对人类别",
        true,
        Ty::SubjectCategory,
    ),
    col("credit_code", "统一社会信用代码", false, Ty::Text),
    col("legal_rep", "法定代表人", false, Ty::Text),
    col("id_type", "证件类型", false, Ty::Text),
    col("id_number", "证件号码", false, Ty::Text),
];

const SOURCE: [Column; 3] = [
    col("source_name", "数据来源单位", true, Ty::Text),
    col(
        "source_code",
        "数据来源单位统一社会信用代码",
        false,
        Ty::Code,
    ),
    col("remarks", "备注", false, Ty::Text),
];

const LICENCE: [Column; 12] = [
    col("decision_title", "行政许可决定文书名称", true, Ty::Text),
    col("decision_no", "行政许可决定文书号", true, Ty::Text),
    col("licence_category", "许可类别", true, Ty::LicenceCategory),
    col("certificate_name", "许可证书名称", false, Ty::Text),
    col("licence_no", "许可编号", false, Ty::Text),
    col("content", "许可内容", true, Ty::Text),
    col("decision_date", "许可决定日期", true, Ty::Date),
    col("valid_from", "有效期自", true, Ty::Date),
    col("valid_until", "有效期至", true, Ty::DateOrIndefinite),
    col("authority", "许可机关", true, Ty::Text),
    col("authority_code", "许可机关统一社会信用代码", true, Ty::Code),
    col("current_status", "当前状态", false, Ty::Text),
];

const PENALTY: [Column; 15] = [
    col("decision_no", "行政处罚决定书文号", true, Ty::Text),
    col("violation_type", "违法行为类型", true, Ty::Text),
    col("facts", "违法事实", true, Ty::Text),
    col("basis", "处罚依据", true, Ty::Text),
    col(
        "penalty_categories",
        "处罚类别",
        true,
        Ty::PenaltyCategories,
    ),
    col("content", "处罚内容", true, Ty::Text),
    col("fine_wan_yuan", "罚款金额（万元）", false, Ty::Amount),
    col(
        "confiscated_wan_yuan",
        "没收违法所得、没收非法财物的金额（万元）",
        false,
        Ty::Amount,
    ),
    col(
        "suspended_licence",
        "暂扣或吊销证照名称及编号",
        false,
        Ty::Text,
    ),
    col("decision_date", "处罚决定日期", true, Ty::Date),
    col(
        "penalty_valid_until",
        "处罚有效期",
        false,
        Ty::DateOrIndefinite,
    ),
    col("disclosure_until", "公示截止期", false, Ty::Date),
    col("authority", "处罚机关", true, Ty::Text),
    col("authority_code", "处罚机关统一社会信用代码", true, Ty::Code),
    // Not a 双公示 item: the department's grading under 令第36号, when it gives one.
    col("severity", "失信程度", false, Ty::Severity),
];

const INSPECTION: [Column; 7] = [
    col("decision_no", "检查任务编号", true, Ty::Text),
    col("inspection_type", "检查类型", true, Ty::Text),
    col("items", "检查事项", true, Ty::Text),
    col("decision_date", "检查日期", true, Ty::Date),
    col("result", "检查结果", true, Ty::Text),
    col("authority", "检查实施机关", true, Ty::Text),
    col(
        "authority_code",
        "检查实施机关统一社会信用代码",
        true,
        Ty::Code,
    ),
];

const LISTING: [Column; 8] = [
    col("list_kind", "名单类型", true, Ty::ListKind),
    col("decision_no", "列入决定书文号", true, Ty::Text),
    col("reason", "列入原因", true, Ty::Text),
    col("decision_date", "列入日期", true, Ty::Date),
    col("authority", "列入决定机关", true, Ty::Text),
    col(
        "authority_code",
        "列入决定机关统一社会信用代码",
        true,
        Ty::Code,
    ),
    col("removed_on", "移出日期", false, Ty::Date),
    col("removal_reason", "移出原因", false, Ty::Text),
];

const PLEDGE: [Column; 6] = [
    col("decision_no", "承诺书编号", true, Ty::Text),
    col("pledge_type", "承诺类型", true, Ty::Text),
    col("content", "承诺内容", true, Ty::Text),
    col("decision_date", "承诺日期", true, Ty::Date),
    col("authority", "承诺受理单位", true, Ty::Text),
    col(
        "authority_code",
        "承诺受理单位统一社会信用代码",
        true,
        Ty::Code,
    ),
];

/// The 处罚类别 of the national penalty template.
pub const PENALTY_CATEGORIES: &[&str] = &[
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "没收非法财物",
    "暂扣许可证件",
    "降低资质等级",
    "吊销许可证件",
    "限制开展生产经营活动",
    "责令停产停业",
    "责令关闭",
    "限制从业",
    "行政拘留",
    "其他",
];

/// The columns of a kind, in template order.
pub fn columns(kind: RecordKind) -> Vec<Column> {
    let own: &[Column] = match kind {
        RecordKind::Licence => &LICENCE,
        RecordKind::Penalty => &PENALTY,
        RecordKind::Inspection => &INSPECTION,
        RecordKind::Listing => &LISTING,
        RecordKind::Pledge => &PLEDGE,
    };
    SUBJECT.iter().chain(own).chain(&SOURCE).copied().collect()
}

/// Header comparison ignores spaces and the width of parentheses.
pub fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .collect()
}

/// The kind named on the command line or in a URL (`licences`, `penalties`…).
pub fn kind_from_plural(name: &str) -> Option<RecordKind> {
    Some(match name {
        "licences" | "licenses" | "licence" => RecordKind::Licence,
        "penalties" | "penalty" => RecordKind::Penalty,
        "inspections" | "inspection" => RecordKind::Inspection,
        "listings" | "listing" => RecordKind::Listing,
        "pledges" | "pledge" => RecordKind::Pledge,
        _ => return None,
    })
}

pub fn plural(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Licence => "licences",
        RecordKind::Penalty => "penalties",
        RecordKind::Inspection => "inspections",
        RecordKind::Listing => "listings",
        RecordKind::Pledge => "pledges",
    }
}

/// One problem on one row.
#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    pub header: &'static str,
    pub reason: String,
}

/// A validated record, ready to store.
#[derive(Debug, Clone)]
pub struct CreditRow {
    pub kind: RecordKind,
    pub doc_no: String,
    pub subject_name: String,
    pub credit_code: Option<CreditCode>,
    pub source_code: CreditCode,
    pub source_name: String,
    pub decision_date: NaiveDate,
    /// Licences: end of validity; listings: the day taken off the list.
    pub valid_until: Option<ValidUntil>,
    pub window: Option<Window>,
    /// Every item, normalised (dates ISO), in its stored form ([`items_json`]).
    pub items: String,
}

/// The stored form of a record's items: a JSON array in the order of the
/// kind's template columns (as `values` are), `null` for an empty cell,
/// trailing nulls left out. Keys are not stored (they were half of every
/// record's bytes), so a kind's columns may only ever be appended to: see
/// `stored_items_follow_the_template_order_append_only`.
fn items_json(values: &[Option<String>]) -> String {
    let mut items: Vec<Option<&str>> = values.iter().map(Option::as_deref).collect();
    while items.last() == Some(&None) {
        items.pop();
    }
    serde_json::to_string(&items).expect("strings serialise")
}

/// Stored items as positional values (what a re-submission is compared with).
fn stored_values(text: &str) -> Vec<Option<String>> {
    let mut values: Vec<Option<String>> = serde_json::from_str(text).unwrap_or_default();
    while values.last() == Some(&None) {
        values.pop();
    }
    values
}

/// The stored items of a record of `kind` under their snake_case keys.
pub fn items_by_key(kind: RecordKind, text: &str) -> BTreeMap<String, String> {
    columns(kind)
        .iter()
        .zip(stored_values(text))
        .filter_map(|(c, v)| Some((c.key.to_string(), v?)))
        .collect()
}

/// Do two stored item lists say the same? Compared by value, since the
/// migration to this form wrote the JSON with other spacing than ours.
pub fn same_items(a: &str, b: &str) -> bool {
    stored_values(a) == stored_values(b)
}

/// What a row is checked against besides its own cells.
pub struct RowContext<'a> {
    pub today: NaiveDate,
    pub rules: &'a DisclosureRules,
    /// The department submitting: the source unit of every row.
    pub submitter: Option<&'a CreditCode>,
}

/// Parses one row: `cells` are aligned with `columns(kind)` (None = column absent).
pub fn parse_row(
    kind: RecordKind,
    cols: &[Column],
    cells: &[Option<&str>],
    ctx: &RowContext,
) -> Result<CreditRow, Vec<CellError>> {
    let mut errors = Vec::new();
    let values: Vec<Option<String>> = cols
        .iter()
        .zip(cells)
        .map(|(column, cell)| {
            let text = cell.map(str::trim).unwrap_or("");
            if text.is_empty() {
                if column.required {
                    errors.push(err(column, format!("“{}”为必填项", column.header)));
                }
                return None;
            }
            normalise(column, text, ctx.today)
                .map_err(|reason| errors.push(err(column, reason)))
                .ok()
        })
        .collect();
    let get = |key: &str| {
        cols.iter()
            .position(|c| c.key == key)
            .and_then(|i| values[i].as_deref())
    };
    let header = |key: &str| cols.iter().find(|c| c.key == key).map_or("", |c| c.header);

    let category = get("subject_category").and_then(SubjectCategory::parse);
    let credit_code = match (get("credit_code"), category) {
        (Some(code), _) => match CreditCode::parse(code) {
            Ok(code) => Some(code),
            Err(e) => {
                errors.push(CellError {
                    header: header("credit_code"),
                    reason: format!("统一社会信用代码“{code}”无效：{e}"),
                });
                None
            }
        },
        (None, Some(SubjectCategory::NaturalPerson)) => None,
        (None, _) => {
            errors.push(CellError {
                header: header("credit_code"),
                reason: "法人及非法人组织、个体工商户须填写统一社会信用代码".into(),
            });
            None
        }
    };
    if category == Some(SubjectCategory::NaturalPerson) && get("id_number").is_none() {
        errors.push(CellError {
            header: header("id_number"),
            reason: "自然人须填写证件号码".into(),
        });
    }

    let source_code = match (get("source_code"), ctx.submitter) {
        (Some(code), Some(submitter)) if code != submitter.as_str() => {
            errors.push(CellError {
                header: header("source_code"),
                reason: format!(
                    "数据来源单位“{code}”与提交部门（{submitter}）不一致：记录只能由产生它的部门提交"
                ),
            });
            None
        }
        (Some(code), _) => CreditCode::parse(code).ok(),
        (None, Some(submitter)) => Some(submitter.clone()),
        (None, None) => {
            errors.push(CellError {
                header: header("source_code"),
                reason: "须填写数据来源单位统一社会信用代码".into(),
            });
            None
        }
    };

    let date = |key: &str| get(key).and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
    let until = |key: &str| {
        get(key).and_then(|v| {
            if v == "长期" {
                Some(ValidUntil::Indefinite)
            } else {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()
                    .map(ValidUntil::from_date)
            }
        })
    };
    let valid_from = date("valid_from");
    let valid_until = match kind {
        RecordKind::Listing => date("removed_on").map(ValidUntil::On),
        _ => until("valid_until"),
    };
    let decision_date = date("decision_date");
    check_order(
        kind,
        decision_date,
        valid_from,
        valid_until,
        header,
        &mut errors,
    );

    let window = match (kind, decision_date) {
        (RecordKind::Penalty, Some(decision_date)) => Some(
            ctx.rules.window(&PenaltyTerms {
                decision_date,
                categories: get("penalty_categories").unwrap_or_default().to_string(),
                fine_wan_yuan: get("fine_wan_yuan").and_then(|f| f.parse().ok()),
                severity: get("severity").and_then(Severity::parse),
                market_regulation: get("authority")
                    .is_some_and(|a| a.contains("市场监督管理") || a.contains("市场监管")),
                stated_until: date("disclosure_until"),
            }),
        ),
        _ => None,
    };

    match (errors.is_empty(), category, source_code, decision_date) {
        (true, Some(_), Some(source_code), Some(decision_date)) => {
            let items = items_json(&values);
            Ok(CreditRow {
                kind,
                doc_no: get("decision_no").unwrap_or_default().to_string(),
                subject_name: get("subject_name").unwrap_or_default().to_string(),
                credit_code,
                source_name: get("source_name").unwrap_or_default().to_string(),
                source_code,
                decision_date,
                valid_until,
                window,
                items,
            })
        }
        _ => Err(errors),
    }
}

fn check_order(
    kind: RecordKind,
    decision: Option<NaiveDate>,
    from: Option<NaiveDate>,
    until: Option<ValidUntil>,
    header: impl Fn(&str) -> &'static str,
    errors: &mut Vec<CellError>,
) {
    match (kind, from, decision, until) {
        (RecordKind::Licence, Some(from), _, Some(ValidUntil::On(end))) if end < from => {
            errors.push(CellError {
                header: header("valid_until"),
                reason: format!("有效期至（{end}）早于有效期自（{from}）"),
            });
        }
        (RecordKind::Listing, _, Some(listed), Some(ValidUntil::On(out))) if out < listed => {
            errors.push(CellError {
                header: header("removed_on"),
                reason: format!("移出日期（{out}）早于列入日期（{listed}）"),
            });
        }
        _ => {}
    }
}

fn err(column: &Column, reason: String) -> CellError {
    CellError {
        header: column.header,
        reason,
    }
}

/// Checks one cell and returns its stored form.
fn normalise(column: &Column, text: &str, today: NaiveDate) -> Result<String, String> {
    let name = column.header;
    match column.ty {
        Ty::Text if text.chars().count() > 2000 => Err(format!("“{name}”过长（最多2000字）")),
        Ty::Text => Ok(text.to_string()),
        Ty::Code => CreditCode::parse(text)
            .map(|c| c.to_string())
            .map_err(|e| format!("“{name}”“{text}”不是有效的统一社会信用代码：{e}")),
        Ty::Date => {
            let date = parse_template_date(text).ok_or_else(|| {
                format!("“{name}”“{text}”不是有效日期（应为YYYY/MM/DD或YYYY-MM-DD）")
            })?;
            if column.key == "decision_date" && date > today {
                return Err(format!("“{name}”（{date}）晚于今天（{today}）"));
            }
            Ok(date.to_string())
        }
        Ty::DateOrIndefinite if text == "长期" => Ok("长期".into()),
        Ty::DateOrIndefinite => parse_template_date(text)
            .map(|d| match ValidUntil::from_date(d) {
                ValidUntil::Indefinite => "长期".to_string(),
                ValidUntil::On(d) => d.to_string(),
            })
            .ok_or_else(|| {
                format!("“{name}”“{text}”不是有效日期（应为YYYY/MM/DD，长期写2099/12/31）")
            }),
        Ty::Amount => match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(text.to_string()),
            Ok(_) => Err(format!("“{name}”不能为负数：{text}")),
            Err(_) => Err(format!("“{name}”“{text}”应为数字（单位：万元）")),
        },
        Ty::SubjectCategory => enumerated(
            SubjectCategory::parse(text).map(|c| c.zh()),
            name,
            text,
            &SubjectCategory::choices(),
        ),
        Ty::LicenceCategory => enumerated(
            LicenceCategory::parse(text).map(|c| c.zh()),
            name,
            text,
            &LicenceCategory::choices(),
        ),
        Ty::Severity => enumerated(
            Severity::parse(text).map(|c| c.zh()),
            name,
            text,
            &Severity::choices(),
        ),
        Ty::ListKind => enumerated(
            ListKind::parse(text).map(|c| c.zh()),
            name,
            text,
            &ListKind::choices(),
        ),
        Ty::PenaltyCategories => {
            let parts: Vec<&str> = text
                .split(['；', ';', '、', ',', '，'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            match parts.iter().find(|p| !PENALTY_CATEGORIES.contains(p)) {
                Some(unknown) => Err(format!(
                    "未知的处罚类别“{unknown}”，可选：{}",
                    PENALTY_CATEGORIES.join("、")
                )),
                None => Ok(parts.join(";")),
            }
        }
    }
}

fn enumerated(
    found: Option<&str>,
    name: &str,
    text: &str,
    choices: &str,
) -> Result<String, String> {
    found
        .map(str::to_string)
        .ok_or_else(|| format!("未知的“{name}”“{text}”，可选：{choices}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENCY: &str = "11140000012345678X";

    fn agency() -> CreditCode {
        CreditCode::parse(&valid_code("11140000MB0000000")).unwrap()
    }

    /// Completes 17 characters with the GB 32100 check character.
    fn valid_code(first17: &str) -> String {
        CreditCode::from_body(first17).unwrap().to_string()
    }

    fn licence_cells(overrides: &[(&str, &str)]) -> (Vec<Column>, Vec<String>) {
        let cols = columns(RecordKind::Licence);
        let subject = valid_code("91140105MA0000001");
        let agency = agency().to_string();
        let base: Vec<(&str, String)> = vec![
            ("subject_name", "太原市小店区好帮手家政服务有限公司".into()),
            ("subject_category", "法人及非法人组织".into()),
            ("credit_code", subject),
            ("legal_rep", "张三".into()),
            ("decision_title", "食品经营许可决定书".into()),
            ("decision_no", "晋食许〔2025〕001号".into()),
            ("licence_category", "普通".into()),
            ("content", "预包装食品销售".into()),
            ("decision_date", "2025/03/01".into()),
            ("valid_from", "2025/03/01".into()),
            ("valid_until", "2030/02/28".into()),
            ("authority", "太原市小店区市场监督管理局".into()),
            ("authority_code", agency.clone()),
            ("source_name", "太原市小店区市场监督管理局".into()),
            ("source_code", agency),
        ];
        let cells = cols
            .iter()
            .map(|c| {
                overrides
                    .iter()
                    .find(|(k, _)| *k == c.key)
                    .map(|(_, v)| v.to_string())
                    .or_else(|| {
                        base.iter()
                            .find(|(k, _)| *k == c.key)
                            .map(|(_, v)| v.clone())
                    })
                    .unwrap_or_default()
            })
            .collect();
        (cols, cells)
    }

    fn parse(overrides: &[(&str, &str)]) -> Result<CreditRow, Vec<CellError>> {
        let (cols, cells) = licence_cells(overrides);
        let cells: Vec<Option<&str>> = cells.iter().map(|c| Some(c.as_str())).collect();
        let rules = DisclosureRules::default();
        let submitter = agency();
        let ctx = RowContext {
            today: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            rules: &rules,
            submitter: Some(&submitter),
        };
        parse_row(RecordKind::Licence, &cols, &cells, &ctx)
    }

    fn reasons(overrides: &[(&str, &str)]) -> Vec<String> {
        parse(overrides)
            .unwrap_err()
            .into_iter()
            .map(|e| format!("{}: {}", e.header, e.reason))
            .collect()
    }

    #[test]
    fn a_good_licence_parses_with_normalised_dates() {
        let row = parse(&[("valid_until", "2099/12/31")]).unwrap();
        assert_eq!(row.doc_no, "晋食许〔2025〕001号");
        let stored = items_by_key(RecordKind::Licence, &row.items);
        assert_eq!(stored["decision_date"], "2025-03-01");
        assert_eq!(row.valid_until, Some(ValidUntil::Indefinite));
        assert_eq!(stored["valid_until"], "长期");
        assert_eq!(stored["licence_category"], "普通");
        assert_eq!(stored.len(), 15, "the 15 cells filled in, and no others");
        assert!(
            !row.items.ends_with("null]"),
            "trailing empty cells are left out"
        );
    }

    #[test]
    fn each_bad_cell_gets_its_own_reason() {
        assert!(
            reasons(&[("valid_until", "2025/02/01")])[0]
                .starts_with("有效期至: 有效期至（2025-02-01）早于")
        );
        assert!(reasons(&[("decision_date", "2027/01/01")])[0].contains("晚于今天"));
        assert!(reasons(&[("licence_category", "特别")])[0].contains("可选：普通、特许"));
        assert!(
            reasons(&[("authority_code", "12345")])[0].starts_with("许可机关统一社会信用代码: ")
        );
        assert!(reasons(&[("credit_code", "")])[0].contains("须填写统一社会信用代码"));
        assert!(reasons(&[("source_code", AGENCY)])[0].contains("不是有效的统一社会信用代码"));
        let other = valid_code("11140000MB0000009");
        assert!(reasons(&[("source_code", &other)])[0].contains("与提交部门"));
        assert_eq!(reasons(&[("content", ""), ("decision_no", "")]).len(), 2);
    }

    #[test]
    fn penalties_get_their_window_and_amounts_are_checked() {
        let cols = columns(RecordKind::Penalty);
        let rules = DisclosureRules::default();
        let submitter = agency();
        let ctx = RowContext {
            today: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            rules: &rules,
            submitter: Some(&submitter),
        };
        let mut values: Vec<String> = cols
            .iter()
            .map(|c| match c.key {
                "subject_name" => "某家政公司".into(),
                "subject_category" => "法人及非法人组织".into(),
                "credit_code" => valid_code("91140105MA0000001"),
                "decision_no" => "并小市监罚〔2025〕12号".into(),
                "violation_type" => "价格违法".into(),
                "facts" => "未明码标价".into(),
                "basis" => "《价格法》第四十二条".into(),
                "penalty_categories" => "警告；罚款".into(),
                "content" => "罚款五千元".into(),
                "fine_wan_yuan" => "0.5".into(),
                "decision_date" => "2025/05/20".into(),
                "authority" => "太原市小店区市场监督管理局".into(),
                "authority_code" | "source_code" => submitter.to_string(),
                "source_name" => "太原市小店区市场监督管理局".into(),
                _ => String::new(),
            })
            .collect();
        let run = |values: &[String]| {
            let cells: Vec<Option<&str>> = values.iter().map(|c| Some(c.as_str())).collect();
            parse_row(RecordKind::Penalty, &cols, &cells, &ctx)
        };
        let row = run(&values).unwrap();
        let stored = items_by_key(RecordKind::Penalty, &row.items);
        assert_eq!(stored["penalty_categories"], "警告;罚款");
        let window = row.window.unwrap();
        assert_eq!(window.publish_until, NaiveDate::from_ymd_opt(2025, 8, 19));
        assert!(window.rule.contains("第十三条"));

        let fine = cols.iter().position(|c| c.key == "fine_wan_yuan").unwrap();
        values[fine] = "-1".into();
        assert!(run(&values).unwrap_err()[0].reason.contains("不能为负数"));
        values[fine] = "0.5".into();
        let categories = cols
            .iter()
            .position(|c| c.key == "penalty_categories")
            .unwrap();
        values[categories] = "罚款;打板子".into();
        assert!(
            run(&values).unwrap_err()[0]
                .reason
                .contains("未知的处罚类别“打板子”")
        );
    }

    #[test]
    fn headers_match_in_either_parenthesis_width() {
        assert_eq!(
            normalise_header("罚款金额（万元）"),
            normalise_header("罚款金额(万元) ")
        );
        let headers: Vec<_> = columns(RecordKind::Penalty)
            .iter()
            .map(|c| c.header)
            .collect();
        assert!(headers.contains(&"没收违法所得、没收非法财物的金额（万元）"));
        assert_eq!(columns(RecordKind::Licence).len(), 6 + 12 + 3);
    }

    /// Stored items are positional: these are the orders records were
    /// stored in. Appending a column is fine; changing this list is not.
    #[test]
    fn stored_items_follow_the_template_order_append_only() {
        let stored: [(RecordKind, &str); 5] = [
            (
                RecordKind::Licence,
                "decision_title decision_no licence_category certificate_name licence_no content decision_date valid_from valid_until authority authority_code current_status",
            ),
            (
                RecordKind::Penalty,
                "decision_no violation_type facts basis penalty_categories content fine_wan_yuan confiscated_wan_yuan suspended_licence decision_date penalty_valid_until disclosure_until authority authority_code severity",
            ),
            (
                RecordKind::Inspection,
                "decision_no inspection_type items decision_date result authority authority_code",
            ),
            (
                RecordKind::Listing,
                "list_kind decision_no reason decision_date authority authority_code removed_on removal_reason",
            ),
            (
                RecordKind::Pledge,
                "decision_no pledge_type content decision_date authority authority_code",
            ),
        ];
        for (kind, own) in stored {
            let expected: Vec<&str> =
                "subject_name subject_category credit_code legal_rep id_type id_number"
                    .split(' ')
                    .chain(own.split(' '))
                    .chain("source_name source_code remarks".split(' '))
                    .collect();
            let keys: Vec<&str> = columns(kind).iter().map(|c| c.key).collect();
            assert_eq!(&keys[..expected.len()], &expected[..], "{kind:?}");
        }
    }

    /// The migration that rewrote keyed items as arrays must list each
    /// kind's keys in the template order, on both backends.
    #[test]
    fn the_items_migration_lists_each_kind_in_template_order() {
        let migrations = [
            (
                include_str!("../../migrations/sqlite/0015_credit_items.sql"),
                "'$.",
                "'",
            ),
            (
                include_str!("../../migrations/postgres/0015_credit_items.sql"),
                "->> '",
                "'",
            ),
        ];
        for (sql, before, after) in migrations {
            let branches: Vec<&str> = sql.split("WHEN '").skip(1).collect();
            assert_eq!(branches.len(), 10, "five kinds, records and versions");
            for branch in branches {
                let (kind, body) = branch.split_once('\'').unwrap();
                let body = body.split("END").next().unwrap();
                let keys: Vec<&str> = body
                    .split(before)
                    .skip(1)
                    .map(|s| s.split(after).next().unwrap())
                    .collect();
                let kind = RecordKind::parse(kind).unwrap();
                let expected: Vec<&str> = columns(kind).iter().map(|c| c.key).collect();
                assert_eq!(keys, expected, "{kind:?}");
            }
        }
    }

    #[test]
    fn stored_items_compare_by_value_and_read_back_by_key() {
        assert!(same_items(r#"["a",null,"b"]"#, r#"["a", null, "b", null]"#));
        assert!(!same_items(r#"["a",null,"b"]"#, r#"["a","b"]"#));
        let by_key = items_by_key(
            RecordKind::Pledge,
            r#"["某公司",null,"91140105MA0000001X"]"#,
        );
        assert_eq!(by_key.len(), 2);
        assert_eq!(by_key["credit_code"], "91140105MA0000001X");
    }
}
