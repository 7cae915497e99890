//! Synthetic progress reports for `serve --demo`, so that the plan's pages show
//! values, trends, consolidation and per-area progress. Reproducible from the
//! seed; every narrative says it is synthetic.

use super::cadence;
use super::reports::{self, ReportBody, consolidating_lead};
use crate::auth::{Principal, Role};
use crate::error::AppResult;
use crate::reference::Reference;
use crate::storage::Db;
use lifeservice_domain::plan::{Indicator, IndicatorKind, Period, Plan, Scope, Task};
use lifeservice_domain::{DivisionCode, Level};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Periods of reports per task, the latest last-ended one included.
const PERIODS: usize = 4;
const SYNTHETIC: &str = "（演示数据，合成）";

/// Writes the reports as the demo's administrator on each unit's behalf and
/// returns how many were written.
pub async fn generate(db: &Db, seed: u64) -> AppResult<usize> {
    let plan = Plan::shipped();
    let cadences = cadence::load(db).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x504c_414e);
    let admin = demo_admin();
    let mut written = 0;
    for task in &plan.tasks {
        let periods = last_periods(cadences.of(task.number));
        for (step, period) in periods.iter().enumerate() {
            // The latest period is still being reported: some units are late,
            // and the lead has not consolidated.
            let latest = step + 1 == periods.len();
            for body in task_reports(plan, task, *period, step, latest, &mut rng) {
                reports::submit(db, &admin, &body).await?;
                written += 1;
            }
        }
    }
    Ok(written)
}

fn demo_admin() -> Principal {
    Principal {
        user_id: 0,
        username: "demo".into(),
        display_name: "演示数据生成".into(),
        role: Role::Admin,
        agency: None,
        plan_unit: None,
        csrf: None,
    }
}

/// The task's last `PERIODS` ended periods, oldest first.
fn last_periods(cadence: lifeservice_domain::plan::Cadence) -> Vec<Period> {
    let mut periods = vec![cadence.last_due(crate::time::today())];
    while periods.len() < PERIODS {
        let before = cadence.last_due(periods[periods.len() - 1].start());
        periods.push(before);
    }
    periods.reverse();
    periods
}

/// The reports of one task for one period: each named unit's share of each
/// target indicator (per area where it is assessed per area), a narrative for
/// the task as a whole, and the lead's consolidation except in the latest period.
fn task_reports(
    plan: &Plan,
    task: &Task,
    period: Period,
    step: usize,
    latest: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<ReportBody> {
    let units: Vec<_> = task
        .responsible_units
        .iter()
        .filter_map(|u| plan.unit(u))
        .filter(|u| !u.collective)
        .collect();
    let lead = consolidating_lead(plan, task);
    let mut out = Vec::new();
    for unit in &units {
        if latest && rng.random_bool(0.4) {
            continue;
        }
        let report =
            |indicator: Option<&Indicator>, division: Option<&DivisionCode>, value| ReportBody {
                task: task.number,
                indicator: indicator.map(|i| i.id.to_string()),
                period: period.to_string(),
                value,
                value_unit: None,
                narrative: format!("{}{}进展{SYNTHETIC}", unit.name, period),
                evidence: String::new(),
                unit: Some(unit.id.to_string()),
                division: division.map(ToString::to_string),
                consolidated: false,
            };
        out.push(report(None, None, None));
        // Per-area values the platform counts itself are not reported.
        for i in plan
            .indicators_of(Some(task.number))
            .filter(|i| i.is_target() && !super::views::is_measured(i.id.as_str()))
        {
            match i.scope {
                Scope::Province => {
                    let value = share_of(i, step, units.len(), rng);
                    out.push(report(Some(i), None, Some(value)));
                }
                // One unit reports the per-area values (the lead or the only one).
                _ if unit.id != units[0].id => {}
                scope => {
                    for area in demo_areas(scope) {
                        let value = area_value(i, step, rng);
                        out.push(report(Some(i), Some(&area), Some(value)));
                    }
                }
            }
        }
    }
    if let Some(lead) = lead.filter(|_| !latest) {
        let sums = consolidated_values(&out);
        for (indicator, value) in sums {
            out.push(ReportBody {
                task: task.number,
                indicator,
                period: period.to_string(),
                value,
                value_unit: None,
                narrative: format!("{}汇总各责任单位{}进展{SYNTHETIC}", lead.name, period),
                evidence: String::new(),
                unit: Some(lead.id.to_string()),
                division: None,
                consolidated: true,
            });
        }
    }
    out
}

/// The lead's consolidated province values: the units' sums, and a report on
/// the task as a whole.
fn consolidated_values(own: &[ReportBody]) -> Vec<(Option<String>, Option<f64>)> {
    let mut sums: Vec<(Option<String>, Option<f64>)> = vec![(None, None)];
    for r in own
        .iter()
        .filter(|r| r.indicator.is_some() && r.division.is_none())
    {
        match sums.iter_mut().find(|(i, _)| *i == r.indicator) {
            Some((_, sum)) => *sum = Some(sum.unwrap_or(0.0) + r.value.unwrap_or(0.0)),
            None => sums.push((r.indicator.clone(), r.value)),
        }
    }
    sums
}

/// A unit's part of a province target after `step + 1` of the periods, on a
/// path that reaches roughly three quarters of the lower bound.
fn share_of(i: &Indicator, step: usize, units: usize, rng: &mut ChaCha8Rng) -> f64 {
    let target = i.min.unwrap_or(1.0);
    let progress = 0.75 * (step + 1) as f64 / PERIODS as f64 * rng.random_range(0.8..1.2);
    match i.kind {
        IndicatorKind::Share => (target * progress).min(100.0).round(),
        _ => (target * progress / units as f64).round().max(0.0),
    }
}

fn area_value(i: &Indicator, step: usize, rng: &mut ChaCha8Rng) -> f64 {
    let target = i.min.unwrap_or(1.0);
    let reached = rng.random_bool(((step + 1) as f64 / (PERIODS + 1) as f64).min(0.9));
    if reached {
        target
    } else {
        (target * rng.random_range(0.0..0.9)).floor()
    }
}

/// The areas the demo reports per-area values for: every city, and the
/// counties and first townships of 太原市.
fn demo_areas(scope: Scope) -> Vec<DivisionCode> {
    let reference = Reference::shipped();
    let taiyuan: Vec<DivisionCode> = reference.cities().first().map_or_else(Vec::new, |c| {
        reference
            .children(c)
            .iter()
            .filter(|d| d.level() == Level::County)
            .cloned()
            .collect()
    });
    match scope {
        Scope::PerCity => reference.cities().to_vec(),
        Scope::PerCounty => taiyuan,
        Scope::PerTownship => taiyuan
            .iter()
            .filter_map(|c| reference.children(c).first().cloned())
            .collect(),
        Scope::Province => Vec::new(),
    }
}
