//! The lead unit's consolidation (牵头汇总): on a task with several named
//! responsible units, the lead unit sees each unit's reports for a period and
//! their sums per indicator and area, and files the consolidated report that
//! then stands for the task (see [`reports::reported_values`]).

use super::reports::{self, Report, consolidating_lead};
use crate::error::AppResult;
use crate::storage::Db;
use lifeservice_domain::plan::{Period, Plan, Task, Unit};
use maud::{Markup, html};

/// A task's reports for one period, as its lead unit consolidates them.
pub struct Consolidation<'a> {
    pub task: &'a Task,
    pub lead: &'a Unit,
    pub period: Period,
    /// Each named unit, lead first, with its own reports for the period.
    pub units: Vec<(&'a Unit, Vec<Report>)>,
    /// The lead's consolidated reports for the period.
    pub consolidated: Vec<Report>,
}

impl<'a> Consolidation<'a> {
    /// `None` when the task has no other named unit to consolidate.
    pub async fn load(
        db: &Db,
        plan: &'a Plan,
        task: &'a Task,
        period: Period,
    ) -> AppResult<Option<Consolidation<'a>>> {
        let Some(lead) = consolidating_lead(plan, task) else {
            return Ok(None);
        };
        let (consolidated, own): (Vec<Report>, Vec<Report>) =
            reports::list(db, Some(task.number), None)
                .await?
                .into_iter()
                .filter(|r| r.period == period.to_string())
                .partition(|r| r.consolidated);
        let units = task
            .responsible_units
            .iter()
            .filter_map(|id| plan.unit(id))
            .filter(|u| !u.collective)
            .map(|u| {
                let of_unit = own
                    .iter()
                    .filter(|r| r.unit == u.id.as_str())
                    .cloned()
                    .collect();
                (u, of_unit)
            })
            .collect();
        Ok(Some(Consolidation {
            task,
            lead,
            period,
            units,
            consolidated,
        }))
    }

    /// How many units have reported for the period, of how many; the lead's
    /// consolidated report counts as its own.
    pub fn reported(&self) -> (usize, usize) {
        let done = self
            .units
            .iter()
            .filter(|(u, r)| {
                !r.is_empty() || (u.id == self.lead.id && !self.consolidated.is_empty())
            })
            .count();
        (done, self.units.len())
    }

    /// The units' values summed per indicator and area (by name), in
    /// first-seen order: a starting point for the consolidated value, not a
    /// substitute for it.
    pub fn sums(&self) -> Vec<(String, String, f64, usize)> {
        let mut sums: Vec<(String, String, f64, usize)> = Vec::new();
        for r in self.units.iter().flat_map(|(_, list)| list) {
            let Some(value) = r.value else { continue };
            match sums
                .iter_mut()
                .find(|(i, d, _, _)| *i == r.indicator && *d == r.division_name)
            {
                Some((_, _, sum, n)) => {
                    *sum += value;
                    *n += 1;
                }
                None => sums.push((r.indicator.clone(), r.division_name.clone(), value, 1)),
            }
        }
        sums
    }
}

/// What everyone sees on the task page: who has reported and whether the lead
/// has consolidated.
pub fn status(c: &Consolidation) -> Markup {
    let (done, all) = c.reported();
    html! {
        p {
            "牵头汇总（" (c.period) "）：" (c.lead.name) "牵头，" (done) "/" (all) "个责任单位已填报，"
            @if c.consolidated.is_empty() { span.tag.warn { "尚未汇总" } } @else { span.tag.ok { "已汇总上报" } }
            "。汇总值是任务的正式进展；未汇总时暂以各单位填报值之和计。"
        }
    }
}

/// The lead unit's panel: each unit's reports, the sums, and the form that
/// files (or amends) the consolidated report.
pub fn panel(c: &Consolidation, csrf: &str, indicators: &[(String, String)]) -> Markup {
    html! {
        section id="consolidation" {
            h2 { "牵头汇总（本单位为牵头单位）" }
            (status(c))
            table {
                thead { tr { th { "责任单位" } th { "指标" } th { "地区" } th { "数值" } th { "进展说明" } } }
                tbody { @for (unit, list) in &c.units {
                    @if list.is_empty() { tr { td { (unit.name) } td colspan="4" { span.tag.bad { "未填报" } } } }
                    @for r in list { tr {
                        td { (unit.name) }
                        td { @if r.indicator.is_empty() { "任务整体" } @else { (r.indicator) } }
                        td { @if r.division.is_empty() { "全省" } @else { (r.division_name) } }
                        td { @if let Some(v) = r.value { (v) } @else { "—" } }
                        td { (r.narrative) }
                    } }
                } }
            }
            @let sums = c.sums();
            @if !sums.is_empty() {
                p { "各单位填报值之和（供汇总参考）："
                    @for (indicator, division, sum, n) in &sums {
                        (indicator) @if !division.is_empty() { "（" (division) "）" } " = " (sum) "（" (n) "个单位） "
                    }
                }
            }
            form method="post" action=(format!("/plan/tasks/{}/reports", c.task.number)) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="consolidated" value="1";
                input type="hidden" name="evidence" value="";
                input type="hidden" name="period" value=(c.period);
                p { label { "汇总的指标 " select name="indicator" {
                    option value="" { "任务整体进展" }
                    @for (id, name) in indicators { option value=(id) { (id) " " (name) } }
                } } }
                p { label { "地区（按市、县或乡镇考核的指标填写区划代码；全省指标留空） " input name="division" maxlength="12"; } }
                p { label { "汇总数值（按指标的单位；可空） " input name="value"; } }
                p { label { "汇总说明（综合各单位进展）" br; textarea name="narrative" rows="4" required maxlength="5000" {} } }
                button type="submit" { "汇总上报（" (c.period) "）" }
            }
            p.muted { small { "汇总上报后，本期该指标取汇总值，不再取各单位之和；同一报告期再次汇总即为更正，保留历史版本。" } }
        }
    }
}
