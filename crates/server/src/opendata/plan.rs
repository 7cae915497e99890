//! Dataset `plan-indicators`: the action plan's quantitative indicators in
//! the plan's own order, with the value the platform computes and the latest
//! value the responsible units reported.

use super::catalogue::{Field, FieldType as T, field};
use super::{Cell, Record, Summary};
use crate::app::AppState;
use crate::error::AppResult;
use crate::plan::{LiveValue, reports};
use lifeservice_domain::plan::{Indicator, Plan};
use std::collections::HashMap;

pub const FIELDS: &[Field] = &[
    field(
        "indicator_id",
        "指标编号",
        T::Code,
        "T{任务序号}-{序号}，总体目标为 P-{序号}；记录按方案中的顺序排列",
    ),
    field(
        "task",
        "任务序号",
        T::Integer,
        "方案重点任务的序号（1至41）；总体目标为空",
    ),
    field("task_title", "重点任务", T::Text, "指标所属的重点任务"),
    field("name", "指标名称", T::Text, "指标计量的对象"),
    field(
        "unit",
        "单位",
        T::Text,
        "计量单位，按方案原文（家、个、%等）",
    ),
    field(
        "target_min",
        "目标下限",
        T::Number,
        "目标值或目标区间下限；百分比以百分数计（10表示10%）",
    ),
    field(
        "target_max",
        "目标上限",
        T::Number,
        "目标区间上限；“不低于”“以上”类目标为空",
    ),
    field(
        "scope",
        "适用范围",
        T::Text,
        "全省、每市、每县(市、区)或每乡镇",
    ),
    field(
        "kind",
        "指标类型",
        T::Text,
        "数量、比例、倍数、全覆盖或政策参数",
    ),
    field("deadline", "完成时限", T::Date, "方案规定的完成日期"),
    field(
        "responsible_units",
        "责任单位",
        T::Text,
        "方案列明的责任单位，牵头单位在前，以“；”分隔；总体目标为空",
    ),
    field(
        "computed_value",
        "平台计算值",
        T::Number,
        "本平台根据登记数据计算的当前值；不能由平台数据计算的为空",
    ),
    field(
        "computed_formula",
        "计算口径",
        T::Text,
        "平台计算值的计算方法",
    ),
    field(
        "reported_value",
        "最新填报值",
        T::Number,
        "责任单位最近一期填报值（多个单位填报时为合计）；尚无填报为空",
    ),
    field(
        "reported_period_end",
        "填报期末",
        T::Date,
        "最新填报值所属报告期的最后一天",
    ),
    field("source_phrase", "方案原文", T::Text, "指标所依据的方案原文"),
];

/// Indicators after the one with id `after`, in the plan's order.
pub async fn fetch(state: &AppState, after: Option<&str>, n: usize) -> AppResult<Vec<Record>> {
    let plan = Plan::shipped();
    let start = match after {
        Some(id) => {
            plan.indicators
                .iter()
                .position(|i| i.id.as_str() == id)
                .ok_or_else(super::cursor::invalid)?
                + 1
        }
        None => 0,
    };
    let wanted = &plan.indicators[start.min(plan.indicators.len())..];
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let live = crate::plan::live_values(state).await?;
    let reported = reports::series(&state.db).await?;
    Ok(wanted
        .iter()
        .take(n)
        .map(|i| {
            record(
                plan,
                i,
                live.get(i.id.as_str()),
                reported.get(i.id.as_str()),
            )
        })
        .collect())
}

fn record(
    plan: &Plan,
    i: &Indicator,
    live: Option<&LiveValue>,
    reported: Option<&Vec<(lifeservice_domain::plan::Period, f64)>>,
) -> Record {
    let task = i.task.and_then(|n| plan.task(n));
    let latest = reported
        .and_then(|series| series.iter().max_by_key(|(period, _)| period.end()))
        .map(|(period, value)| (period.end(), *value));
    Record {
        key: i.id.to_string(),
        cells: vec![
            Cell::code(i.id.to_string()),
            i.task.map_or(Cell::Null, |n| Cell::Int(n.into())),
            Cell::opt_code(task.map(|t| t.title.clone())),
            Cell::code(i.name.clone()),
            Cell::code(i.unit.clone()),
            Cell::opt_num(i.min),
            Cell::opt_num(i.max),
            Cell::code(i.scope.zh()),
            Cell::code(i.kind.zh()),
            Cell::code(i.deadline.to_string()),
            Cell::opt_code(task.map(|t| plan.unit_names(&t.responsible_units).join("；"))),
            Cell::opt_num(live.map(|v| v.value)),
            Cell::opt_code(live.map(|v| v.formula)),
            Cell::opt_num(latest.map(|(_, v)| v)),
            Cell::opt_code(latest.map(|(day, _)| day.to_string())),
            Cell::code(i.source_phrase.clone()),
        ],
        point: None,
    }
}

/// The indicators are the plan's; what changes are the reports and the
/// registry the computed values come from. Sources: the issuing office and
/// the units that have reported.
pub async fn summary(state: &AppState) -> AppResult<Summary> {
    let plan = Plan::shipped();
    let stamps = super::max_stamps(
        state,
        &[
            "SELECT MAX(reported_at) FROM plan_reports",
            "SELECT MAX(updated_at) FROM entities",
            "SELECT MAX(updated_at) FROM outlets",
        ],
    )
    .await?;
    let units: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT unit FROM plan_reports ORDER BY 1")
            .fetch_all(state.db.pool())
            .await?;
    let names: HashMap<&str, &str> = plan
        .units
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let mut sources = vec!["山西省人民政府办公厅（印发行动方案）".to_string()];
    sources.extend(units.iter().map(|u| {
        format!(
            "{}（进展填报）",
            names.get(u.as_str()).unwrap_or(&u.as_str())
        )
    }));
    Ok(Summary {
        records: plan.indicators.len() as u64,
        last_updated: super::latest(stamps.iter().map(String::as_str)),
        sources,
    })
}
