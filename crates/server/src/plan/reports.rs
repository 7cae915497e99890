//! Progress reports (进展填报): each responsible unit reports on its tasks and
//! their indicators once per period of the task's cadence (quarterly unless
//! set otherwise), with a value, a narrative and evidence. A second report for
//! the same period amends the first and keeps it; a unit that has not reported
//! on a task's last ended period is flagged.
//!
//! Values of an indicator assessed per area (每市, 每县, 每乡镇) are reported per
//! area, with the division they are for. When a task has several named units,
//! its lead unit (牵头单位, named first) consolidates the others' reports into
//! one consolidated report (汇总), which then stands for the task.

use super::cadence::{self, Cadences};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::reference::Reference;
use crate::storage::Db;
use lifeservice_domain::DivisionCode;
use lifeservice_domain::plan::{
    Cadence, Indicator, IndicatorId, IndicatorKind, Period, Plan, Task, Unit, UnitId, check_value,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;

/// The plan office (牵头部门), which sees every unit's late reports.
pub const PLAN_OFFICE: &str = "省发展改革委";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub task: u8,
    /// An indicator of the task, or none for the task as a whole.
    pub indicator: Option<String>,
    pub period: String,
    pub value: Option<f64>,
    /// The unit of measure the value is in; when given it must be the indicator's.
    pub value_unit: Option<String>,
    pub narrative: String,
    /// Document numbers, links or file names that prove the progress.
    #[serde(default)]
    pub evidence: String,
    /// Administrators report on behalf of a unit.
    pub unit: Option<String>,
    /// The area (city, county or township code) a value of an indicator
    /// assessed per area is for.
    pub division: Option<String>,
    /// The lead unit's consolidated report on the task (汇总).
    #[serde(default)]
    pub consolidated: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub id: i64,
    pub task: i64,
    pub indicator: String,
    pub unit: String,
    pub unit_name: String,
    /// The area of a per-area value; empty for the province.
    pub division: String,
    pub division_name: String,
    /// The lead unit's consolidated report (汇总), not its own part.
    pub consolidated: bool,
    pub period: String,
    pub value: Option<f64>,
    pub narrative: String,
    pub evidence: String,
    pub reported_by: String,
    pub reported_at: String,
    pub version: i64,
    /// Files attached as evidence; empty for the public, who get the count.
    pub attachments: Vec<super::attachments::Attachment>,
    pub attachment_count: usize,
}

impl Report {
    /// The report as the public may see it: how many files are attached, not
    /// their names (which can name people) or links.
    pub fn for_reader(mut self, reader: bool) -> Report {
        if !reader {
            self.attachment_count = self.attachments.len();
            self.attachments.clear();
        }
        self
    }
}

/// A checked report, ready to store.
struct Checked<'a> {
    task: &'a Task,
    indicator: String,
    unit: UnitId,
    division: Option<DivisionCode>,
    period: Period,
    consolidated: bool,
}

/// Whether the account is the plan office: an administrator or the 省发展改革委's account.
pub fn is_plan_office(principal: &Principal) -> bool {
    let office = Plan::shipped().unit_by_name(PLAN_OFFICE);
    principal.is_admin()
        || office.is_some_and(|o| principal.plan_unit.as_deref() == Some(o.id.as_str()))
}

/// The unit a report is for: the account's own, or any for an administrator.
fn reporting_unit(principal: &Principal, requested: Option<&str>) -> AppResult<UnitId> {
    match (&principal.plan_unit, requested) {
        (Some(own), None) => Ok(UnitId::new(own.clone())),
        (Some(own), Some(other)) if own == other => Ok(UnitId::new(own.clone())),
        (_, Some(other)) if principal.is_admin() => Ok(UnitId::new(other)),
        (Some(_), Some(other)) => Err(AppError::Forbidden(format!("本账号不能代“{other}”填报"))),
        (None, None) if principal.is_admin() => Err(AppError::field(
            "unit",
            "管理员代为填报时须指定责任单位（unit）",
        )),
        (None, _) => Err(AppError::Forbidden(
            "本账号未关联方案责任单位，请联系管理员".into(),
        )),
    }
}

fn check<'a>(
    plan: &'a Plan,
    cadence: Cadence,
    principal: &Principal,
    body: &ReportBody,
) -> AppResult<Checked<'a>> {
    let task = plan.task(body.task).ok_or_else(|| {
        AppError::field(
            "task",
            format!(
                "任务“{}”不存在（方案共{}项任务）",
                body.task,
                plan.tasks.len()
            ),
        )
    })?;
    let unit = reporting_unit(principal, body.unit.as_deref())?;
    if !task.responsible_units.contains(&unit) {
        let name = plan.unit(&unit).map_or(unit.as_str(), |u| u.name.as_str());
        return Err(AppError::Forbidden(format!(
            "{name}不是任务{}（{}）的责任单位：责任单位为{}",
            task.number,
            task.title,
            plan.unit_names(&task.responsible_units).join("、")
        )));
    }
    let indicator = match body
        .indicator
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        None => None,
        Some(id) if task.indicators.contains(&IndicatorId::new(id)) => plan.indicator(id),
        Some(id) => {
            return Err(AppError::field(
                "indicator",
                format!(
                    "指标“{id}”不属于任务{}（可选：{}）",
                    task.number,
                    ids(&task.indicators)
                ),
            ));
        }
    };
    let period = check_period(task, cadence, &body.period)?;
    match (body.value, indicator) {
        (Some(_), None) => {
            return Err(AppError::field(
                "value",
                "数值须对应一个指标（indicator）；任务整体进展请只填写文字说明",
            ));
        }
        (Some(v), Some(i)) => check_value(i, v).map_err(|e| AppError::field("value", e))?,
        (None, _) => {}
    }
    let value_unit = body.value_unit.as_deref().map(str::trim).unwrap_or("");
    if let Some(i) = indicator.filter(|i| !value_unit.is_empty() && value_unit != i.unit) {
        return Err(AppError::field(
            "value_unit",
            format!(
                "单位“{value_unit}”与指标{}（{}）的单位“{}”不符：请按“{}”填写数值",
                i.id, i.name, i.unit, i.unit
            ),
        ));
    }
    let division = check_area(indicator, body.division.as_deref(), body.value.is_some())?;
    if body.consolidated {
        check_consolidation(plan, task, &unit)?;
    }
    let narrative = body.narrative.trim();
    if narrative.is_empty() || narrative.chars().count() > 5000 {
        return Err(AppError::field("narrative", "请填写进展说明（最多5000字）"));
    }
    if body.evidence.trim().chars().count() > 500 {
        return Err(AppError::field("evidence", "佐证材料最多500字"));
    }
    Ok(Checked {
        task,
        indicator: indicator.map_or(String::new(), |i| i.id.to_string()),
        unit,
        division,
        period,
        consolidated: body.consolidated,
    })
}

/// The area of a report: required with a value of an indicator assessed per
/// area, at the indicator's level; refused for province totals.
fn check_area(
    indicator: Option<&Indicator>,
    requested: Option<&str>,
    has_value: bool,
) -> AppResult<Option<DivisionCode>> {
    let requested = requested.map(str::trim).filter(|d| !d.is_empty());
    let level = indicator.and_then(|i| i.scope.area_level());
    match (requested, indicator, level) {
        (None, Some(i), Some(level)) if has_value => Err(AppError::field(
            "division",
            format!(
                "指标{}（{}）按{}考核：数值须注明所属{}（区划代码）",
                i.id,
                i.name,
                i.scope.zh(),
                level.zh()
            ),
        )),
        (None, _, _) => Ok(None),
        (Some(text), None, _) => Err(AppError::field(
            "division",
            format!("任务整体进展不分地区填报，请去掉地区“{text}”"),
        )),
        (Some(text), Some(i), None) => Err(AppError::field(
            "division",
            format!(
                "指标{}（{}）是全省指标，不分地区填报，请去掉地区“{text}”",
                i.id, i.name
            ),
        )),
        (Some(text), Some(i), Some(level)) => {
            let code = DivisionCode::parse(text)
                .ok()
                .filter(|c| Reference::shipped().get(c).is_some())
                .ok_or_else(|| {
                    AppError::field("division", format!("“{text}”不是山西省的行政区划代码"))
                })?;
            if code.level() != level {
                return Err(AppError::field(
                    "division",
                    format!(
                        "指标{}（{}）按{}考核：地区应为{}，而“{}”（{}）是{}",
                        i.id,
                        i.name,
                        i.scope.zh(),
                        level.zh(),
                        code,
                        Reference::shipped().full_name(&code),
                        code.level().zh()
                    ),
                ));
            }
            Ok(Some(code))
        }
    }
}

/// The unit that consolidates a task's reports: its lead, when the lead is a
/// named body and the task has another named unit to consolidate.
pub fn consolidating_lead<'a>(plan: &'a Plan, task: &Task) -> Option<&'a Unit> {
    let mut named = task
        .responsible_units
        .iter()
        .filter_map(|u| plan.unit(u))
        .filter(|u| !u.collective);
    let lead = plan.unit(task.responsible_units.first()?)?;
    (!lead.collective && named.nth(1).is_some()).then_some(lead)
}

fn check_consolidation(plan: &Plan, task: &Task, unit: &UnitId) -> AppResult<()> {
    match consolidating_lead(plan, task) {
        None => Err(AppError::field(
            "consolidated",
            format!(
                "任务{}没有需要汇总的其他责任单位：本单位的填报即为任务进展，请不要选择“牵头汇总”",
                task.number
            ),
        )),
        Some(lead) if lead.id != *unit => Err(AppError::field(
            "consolidated",
            format!(
                "任务{}由{}牵头，只有牵头单位可以汇总上报；本单位请按“本单位”填报",
                task.number, lead.name
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// A period in the task's cadence that has begun.
fn check_period(task: &Task, cadence: Cadence, text: &str) -> AppResult<Period> {
    let period = Period::parse(text).map_err(|e| AppError::field("period", e))?;
    if period.cadence() != cadence {
        return Err(AppError::field(
            "period",
            format!(
                "任务{}{}填报：报告期应写作{}这样的{}，而不是“{}”",
                task.number,
                cadence.zh(),
                cadence.example(),
                period_kind(cadence),
                text.trim()
            ),
        ));
    }
    if !period.has_begun(crate::time::today()) {
        return Err(AppError::field(
            "period",
            format!("报告期{period}尚未开始，不能填报"),
        ));
    }
    Ok(period)
}

fn period_kind(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Monthly => "月份",
        Cadence::Quarterly => "季度",
    }
}

fn ids(list: &[IndicatorId]) -> String {
    list.iter()
        .map(|i| i.as_str())
        .collect::<Vec<_>>()
        .join("、")
}

/// Stores a report, or amends the unit's report for the same period (the
/// earlier version is kept). Returns the stored report.
///
/// The statements that bind the nullable value are not kept prepared: sqlx
/// 0.8's Any driver binds a NULL `f64` as a PostgreSQL `float4`, and a
/// statement first prepared with it refuses a later `float8` value
/// ("incorrect binary data format in bind parameter").
pub async fn submit(db: &Db, principal: &Principal, body: &ReportBody) -> AppResult<Report> {
    let plan = Plan::shipped();
    let cadence = cadence::load(db).await?.of(body.task);
    let checked = check(plan, cadence, principal, body)?;
    let now = crate::time::now_text();
    let period = checked.period.to_string();
    let division = checked
        .division
        .as_ref()
        .map_or(String::new(), ToString::to_string);
    let mut tx = db.begin_write().await?;
    let existing = sqlx::query(
        "SELECT id, value, narrative, evidence, reported_by, reported_at, version FROM plan_reports \
         WHERE task = $1 AND indicator = $2 AND unit = $3 AND period = $4 AND division = $5 AND consolidated = $6",
    )
    .bind(checked.task.number as i64)
    .bind(checked.indicator.clone())
    .bind(checked.unit.as_str().to_string())
    .bind(period.clone())
    .bind(division.clone())
    .bind(i64::from(checked.consolidated))
    .fetch_optional(&mut *tx)
    .await?;
    let (id, action) = match existing {
        Some(old) => {
            let id: i64 = old.try_get("id")?;
            let version: i64 = old.try_get("version")?;
            sqlx::query(
                "INSERT INTO plan_report_versions (report_id, version, value, narrative, evidence, reported_by, reported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .persistent(false)
            .bind(id)
            .bind(version)
            .bind(old.try_get::<Option<f64>, _>("value")?)
            .bind(old.try_get::<String, _>("narrative")?)
            .bind(old.try_get::<String, _>("evidence")?)
            .bind(old.try_get::<String, _>("reported_by")?)
            .bind(old.try_get::<String, _>("reported_at")?)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE plan_reports SET value = $1, narrative = $2, evidence = $3, reported_by = $4, reported_at = $5, version = $6 WHERE id = $7",
            )
            .persistent(false)
            .bind(body.value)
            .bind(body.narrative.trim().to_string())
            .bind(body.evidence.trim().to_string())
            .bind(principal.actor())
            .bind(now.clone())
            .bind(version + 1)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (id, "amend")
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO plan_reports (task, indicator, unit, period, division, consolidated, value, narrative, evidence, reported_by, reported_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1) RETURNING id",
            )
            .persistent(false)
            .bind(checked.task.number as i64)
            .bind(checked.indicator.clone())
            .bind(checked.unit.as_str().to_string())
            .bind(period.clone())
            .bind(division.clone())
            .bind(i64::from(checked.consolidated))
            .bind(body.value)
            .bind(body.narrative.trim().to_string())
            .bind(body.evidence.trim().to_string())
            .bind(principal.actor())
            .bind(now.clone())
            .fetch_one(&mut *tx)
            .await?;
            (id, "create")
        }
    };
    let after = serde_json::json!({"task": checked.task.number, "indicator": checked.indicator, "unit": checked.unit.as_str(),
        "period": period, "division": division, "consolidated": checked.consolidated, "value": body.value, "narrative": body.narrative.trim()});
    crate::audit::record(
        &mut tx,
        &principal.actor(),
        action,
        "plan_report",
        &id.to_string(),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    let mut reports = list(db, Some(checked.task.number), Some(&checked.unit)).await?;
    reports.retain(|r| r.id == id);
    reports
        .pop()
        .ok_or_else(|| anyhow::anyhow!("report vanished").into())
}

/// Reports, newest period first; of one task and of one unit when given.
pub async fn list(db: &Db, task: Option<u8>, unit: Option<&UnitId>) -> AppResult<Vec<Report>> {
    let (plan, reference) = (Plan::shipped(), Reference::shipped());
    let rows = sqlx::query(
        "SELECT id, task, indicator, unit, division, consolidated, period, value, narrative, evidence, reported_by, reported_at, version FROM plan_reports \
         WHERE ($1 < 0 OR task = $1) AND ($2 = '' OR unit = $2) ORDER BY period DESC, task, consolidated DESC, unit, indicator, division",
    )
    .bind(task.map_or(-1, i64::from))
    .bind(unit.map_or(String::new(), |u| u.as_str().to_string()))
    .fetch_all(db.pool())
    .await?;
    let mut attached = super::attachments::by_report(db, task, unit.map(UnitId::as_str)).await?;
    rows.iter()
        .map(|r| {
            let unit: String = r.try_get("unit")?;
            let id: i64 = r.try_get("id")?;
            let division: String = r.try_get("division")?;
            Ok(Report {
                id,
                attachment_count: attached.get(&id).map_or(0, Vec::len),
                attachments: attached.remove(&id).unwrap_or_default(),
                division_name: DivisionCode::parse(&division)
                    .map_or(String::new(), |d| reference.full_name(&d)),
                division,
                consolidated: r.try_get::<i64, _>("consolidated")? != 0,
                task: r.try_get("task")?,
                indicator: r.try_get("indicator")?,
                unit_name: plan
                    .unit(&UnitId::new(unit.clone()))
                    .map_or(unit.clone(), |u| u.name.clone()),
                unit,
                period: r.try_get("period")?,
                value: r.try_get("value")?,
                narrative: r.try_get("narrative")?,
                evidence: r.try_get("evidence")?,
                reported_by: r.try_get("reported_by")?,
                reported_at: r.try_get("reported_at")?,
                version: r.try_get("version")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// A report a unit owes and has not made: on `task`, for `period`, the last
/// ended period of the task's cadence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    pub task: u8,
    pub task_title: String,
    pub unit: UnitId,
    pub unit_name: String,
    #[serde(serialize_with = "as_text")]
    pub period: Period,
    pub cadence: Cadence,
    /// What is owed is the lead unit's consolidated report (汇总).
    pub consolidation: bool,
}

fn as_text<S: serde::Serializer>(period: &Period, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(period)
}

/// Every named (not collective) responsible unit owes one report per task and
/// period of the task's cadence, and a consolidating lead owes its
/// consolidated report; these are the ones missing for the last period that
/// has ended on `today`, in task order.
pub async fn missing(
    db: &Db,
    cadences: &Cadences,
    today: chrono::NaiveDate,
) -> AppResult<Vec<Due>> {
    let plan = Plan::shipped();
    let (month, quarter) = (
        Cadence::Monthly.last_due(today),
        Cadence::Quarterly.last_due(today),
    );
    let reported: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT DISTINCT task, unit, period, consolidated FROM plan_reports WHERE period = $1 OR period = $2",
    )
    .bind(month.to_string())
    .bind(quarter.to_string())
    .fetch_all(db.pool())
    .await?;
    let mut due = Vec::new();
    for task in &plan.tasks {
        let cadence = cadences.of(task.number);
        let period = cadence.last_due(today);
        let lead = consolidating_lead(plan, task);
        for unit in task.responsible_units.iter().filter_map(|u| plan.unit(u)) {
            let consolidation = lead.is_some_and(|l| l.id == unit.id);
            let done = reported.iter().any(|(t, u, p, c)| {
                *t == i64::from(task.number)
                    && u == unit.id.as_str()
                    && *p == period.to_string()
                    && (!consolidation || *c != 0)
            });
            if !unit.collective && !done {
                due.push(Due {
                    task: task.number,
                    task_title: task.title.clone(),
                    unit: unit.id.clone(),
                    unit_name: unit.name.clone(),
                    period,
                    cadence,
                    consolidation,
                });
            }
        }
    }
    Ok(due)
}

/// What a unit's report is on: a task, one of its indicators (empty for the
/// task as a whole), an area (empty for the province), and whether it is the
/// lead unit's consolidated report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportKey {
    pub task: u8,
    pub indicator: String,
    pub division: String,
    pub consolidated: bool,
}

/// A unit's reported values, to prefill its template with.
pub struct UnitValues(Vec<(ReportKey, Period, f64)>);

impl UnitValues {
    pub async fn load(db: &Db, unit: &UnitId) -> AppResult<UnitValues> {
        let rows: Vec<(i64, String, String, i64, String, f64)> = sqlx::query_as(
            "SELECT task, indicator, division, consolidated, period, value FROM plan_reports WHERE unit = $1 AND value IS NOT NULL",
        )
        .bind(unit.as_str().to_string())
        .fetch_all(db.pool())
        .await?;
        Ok(UnitValues(
            rows.into_iter()
                .filter_map(|(task, indicator, division, consolidated, period, value)| {
                    let key = ReportKey {
                        task: u8::try_from(task).ok()?,
                        indicator,
                        division,
                        consolidated: consolidated != 0,
                    };
                    Some((key, Period::parse(&period).ok()?, value))
                })
                .collect(),
        ))
    }

    /// The latest value of a report for a period ending no later than `until`.
    pub fn latest(&self, key: &ReportKey, until: chrono::NaiveDate) -> Option<f64> {
        self.0
            .iter()
            .filter(|(k, p, _)| k == key && p.end() <= until)
            .max_by_key(|(_, p, _)| p.end())
            .map(|(_, _, v)| *v)
    }
}

/// The reported value of an indicator for each area and period: the lead
/// unit's consolidated value where there is one, else the units' own reports
/// combined by [`combine`]. The province's values have the empty area.
pub async fn reported_values(db: &Db) -> AppResult<Vec<ReportedValue>> {
    let plan = Plan::shipped();
    let rows: Vec<(String, String, String, i64, f64, i64)> = sqlx::query_as(
        "SELECT indicator, division, period, consolidated, SUM(value), COUNT(*) FROM plan_reports \
         WHERE indicator <> '' AND value IS NOT NULL \
         GROUP BY indicator, division, period, consolidated ORDER BY indicator, division, period, consolidated DESC",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<ReportedValue> = Vec::new();
    for (indicator, division, period, consolidated, sum, count) in rows {
        let Ok(period) = Period::parse(&period) else {
            continue;
        };
        let value = match plan.indicator(&indicator) {
            Some(i) if consolidated == 0 => combine(i, sum, count),
            _ => sum,
        };
        // Consolidated rows sort first within (indicator, division, period).
        if out.last().is_some_and(|last| {
            (last.indicator.as_str(), last.division.as_str(), last.period)
                == (indicator.as_str(), division.as_str(), period)
        }) {
            continue;
        }
        out.push(ReportedValue {
            indicator,
            division,
            period,
            value,
            consolidated: consolidated != 0,
        });
    }
    Ok(out)
}

/// The units' own values of one indicator, area and period as one figure:
/// counts add up (each unit reports its part); a share, multiple or
/// presence cannot be added, so the units' values are averaged until the
/// lead consolidates.
pub fn combine(indicator: &Indicator, sum: f64, count: i64) -> f64 {
    match indicator.kind {
        IndicatorKind::Count => sum,
        _ => sum / count.max(1) as f64,
    }
}

/// One figure of [`reported_values`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedValue {
    pub indicator: String,
    /// Empty for the province.
    pub division: String,
    pub period: Period,
    pub value: f64,
    pub consolidated: bool,
}

/// Reported province values per indicator, by period.
pub async fn series(db: &Db) -> AppResult<HashMap<String, Vec<(Period, f64)>>> {
    let mut out: HashMap<String, Vec<(Period, f64)>> = Default::default();
    for v in reported_values(db)
        .await?
        .into_iter()
        .filter(|v| v.division.is_empty())
    {
        out.entry(v.indicator)
            .or_default()
            .push((v.period, v.value));
    }
    Ok(out)
}

/// The latest reported value of each per-area indicator in each area:
/// (indicator, division) → (period, value).
pub async fn area_values(db: &Db) -> AppResult<HashMap<(String, String), (Period, f64)>> {
    let mut out: HashMap<(String, String), (Period, f64)> = HashMap::new();
    for v in reported_values(db)
        .await?
        .into_iter()
        .filter(|v| !v.division.is_empty())
    {
        let latest = out
            .entry((v.indicator, v.division))
            .or_insert((v.period, v.value));
        if v.period.end() >= latest.0.end() {
            *latest = (v.period, v.value);
        }
    }
    Ok(out)
}
