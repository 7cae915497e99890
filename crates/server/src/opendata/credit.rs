//! Dataset `credit-records`: the credit records that are public today, as
//! the provider pages show them. Whether a record is public, and how it is
//! masked, is decided by `credit::profile::view` with `Viewer::Public` — the
//! same call the provider page makes — never here.

use super::catalogue::{Field, FieldType as T, field};
use super::{Cell, Record, Summary};
use crate::app::AppState;
use crate::credit::profile::{self, ProfileRecord, Viewer};
use crate::credit::store;
use crate::error::AppResult;
use lifeservice_domain::credit::{Severity, SubjectCategory};
use std::collections::BTreeSet;

pub const FIELDS: &[Field] = &[
    field(
        "id",
        "记录编号",
        T::Integer,
        "平台内记录编号，记录按此排序（分页游标依据）",
    ),
    field(
        "kind",
        "记录类型",
        T::Text,
        "行政许可、行政处罚、抽查检查结果、名录名单或信用承诺",
    ),
    field(
        "decision_no",
        "文书号",
        T::Text,
        "行政许可决定文书号、行政处罚决定书文号、检查任务编号、列入决定书文号或承诺书编号",
    ),
    field(
        "subject_name",
        "行政相对人名称",
        T::Text,
        "记录所记的市场主体名称",
    ),
    field(
        "subject_category",
        "行政相对人类别",
        T::Text,
        "法人及非法人组织，或个体工商户",
    ),
    field(
        "credit_code",
        "统一社会信用代码",
        T::Code,
        "行政相对人的统一社会信用代码",
    ),
    field(
        "legal_rep",
        "法定代表人",
        T::Text,
        "法定代表人（负责人）；个体工商户经营者的姓名只保留姓，如“张*”",
    ),
    field(
        "decision_date",
        "决定日期",
        T::Date,
        "许可决定、处罚决定、检查、列入或承诺的日期",
    ),
    field(
        "content",
        "内容",
        T::Text,
        "许可内容、违法行为类型及处罚内容、检查事项及结果、列入原因或承诺内容",
    ),
    field("valid_from", "有效期自", T::Date, "行政许可有效期起始日"),
    field(
        "valid_until",
        "有效期至",
        T::Date,
        "行政许可有效期截止日（2099-12-31 表示长期）；名录名单为移出日期",
    ),
    field(
        "disclosure_until",
        "公示截止日期",
        T::Date,
        "行政处罚的最后公示日，次日起不再公开（按平台信用信息公示规则确定）",
    ),
    field(
        "severity",
        "失信程度",
        T::Text,
        "行政处罚的失信程度：轻微、一般、严重或特定严重",
    ),
    field(
        "authority",
        "决定机关",
        T::Text,
        "许可机关、处罚机关、检查实施机关、列入决定机关或承诺受理单位",
    ),
    field(
        "source_department",
        "数据来源单位",
        T::Text,
        "报送并负责该记录的部门",
    ),
    field(
        "source_department_code",
        "数据来源单位统一社会信用代码",
        T::Code,
        "数据来源单位的统一社会信用代码",
    ),
    field(
        "updated_at",
        "更新时间",
        T::DateTime,
        "记录在平台最后一次报送、更正或状态变更的时间",
    ),
];

/// Records read per query while skipping those that are not public.
const SCAN_BATCH: usize = 1000;

/// Up to `n` public records with an id after `after`. Records that are not
/// public are skipped, so a page may read more rows than it returns.
pub async fn fetch(state: &AppState, after: Option<&str>, n: usize) -> AppResult<Vec<Record>> {
    let mut after = super::id_key(after)?;
    let today = crate::time::today();
    let batch = n.clamp(1, SCAN_BATCH) as i64;
    let mut conn = state.db.pool().acquire().await?;
    let mut out = Vec::with_capacity(n);
    loop {
        let rows = store::entity_records_page(&mut conn, after, batch).await?;
        let done = (rows.len() as i64) < batch;
        for record in rows {
            after = record.id;
            if let Some(shown) = profile::view(record, Viewer::Public, today) {
                out.push(self::record(&shown));
                if out.len() == n {
                    return Ok(out);
                }
            }
        }
        if done {
            return Ok(out);
        }
    }
}

fn record(shown: &ProfileRecord) -> Record {
    let r = &shown.record;
    let get = |k: &str| r.fields.get(k).map(String::as_str);
    let category = SubjectCategory::parse(&r.subject_category).map(|c| c.zh());
    let cells = vec![
        Cell::Int(r.id),
        Cell::code(r.kind.zh()),
        Cell::opt_text(get("decision_no")),
        Cell::opt_text(get("subject_name")),
        Cell::opt_code(category),
        Cell::opt_code(r.credit_code.clone()),
        Cell::opt_text(get("legal_rep")),
        Cell::opt_code(r.decision_date.clone()),
        Cell::text(r.content_line()),
        Cell::opt_code(r.valid_from.clone()),
        Cell::opt_code(r.valid_until.clone()),
        Cell::opt_code(get("disclosure_until")),
        Cell::opt_code(
            r.severity
                .as_deref()
                .and_then(Severity::parse)
                .map(|s| s.zh()),
        ),
        Cell::opt_text(get("authority")),
        Cell::text(&r.source_name),
        Cell::code(r.source_code.clone()),
        Cell::code(r.updated_at.clone()),
    ];
    Record {
        key: r.id.to_string(),
        cells,
        point: None,
    }
}

/// Counting what is public means deciding it record by record (the same
/// `is_public` the view applies), so the summary reads every record once —
/// without its items — and is cached by the caller. The last update also
/// sees records that left the dataset (withdrawn, repaired, and expired
/// penalties, which the daily job stamps).
pub async fn summary(state: &AppState) -> AppResult<Summary> {
    let today = crate::time::today().to_string();
    let mut conn = state.db.pool().acquire().await?;
    let (mut records, mut sources, mut after) = (0u64, BTreeSet::new(), 0);
    loop {
        let batch = store::entity_record_states_page(&mut conn, after, SCAN_BATCH as i64).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for record in batch.iter().filter(|r| r.is_public(&today)) {
            records += 1;
            sources.insert(record.source_name.clone());
        }
        if batch.len() < SCAN_BATCH {
            break;
        }
    }
    drop(conn);
    let stamps = super::max_stamps(
        state,
        &["SELECT MAX(updated_at) FROM credit_records WHERE entity_id IS NOT NULL"],
    )
    .await?;
    Ok(Summary {
        records,
        last_updated: super::latest(stamps.iter().map(String::as_str)),
        sources: if sources.is_empty() {
            vec!["各报送部门（目前没有公示中的记录）".to_string()]
        } else {
            sources.into_iter().collect()
        },
    })
}
