//! Progress reports (进展填报): each responsible unit reports per quarter (or
//! month) on its tasks and their indicators, with a value, a narrative and
//! evidence. A second report for the same period amends the first and keeps
//! it; a unit that has not reported on the last full quarter is flagged.

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::storage::Db;
use lifeservice_domain::plan::{IndicatorId, Period, Plan, Task, UnitId};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub task: u8,
    /// An indicator of the task, or none for the task as a whole.
    pub indicator: Option<String>,
    pub period: String,
    pub value: Option<f64>,
    pub narrative: String,
    /// Document numbers, links or file names that prove the progress.
    #[serde(default)]
    pub evidence: String,
    /// Administrators report on behalf of a unit.
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: i64,
    pub task: i64,
    pub indicator: String,
    pub unit: String,
    pub unit_name: String,
    pub period: String,
    pub value: Option<f64>,
    pub narrative: String,
    pub evidence: String,
    pub reported_by: String,
    pub reported_at: String,
    pub version: i64,
}

/// A checked report, ready to store.
struct Checked<'a> {
    task: &'a Task,
    indicator: String,
    unit: UnitId,
    period: Period,
}

fn check<'a>(plan: &'a Plan, principal: &Principal, body: &ReportBody) -> AppResult<Checked<'a>> {
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
    let unit = match (&principal.plan_unit, &body.unit) {
        (Some(own), None) => UnitId::new(own.clone()),
        (Some(own), Some(other)) if own == other => UnitId::new(own.clone()),
        (_, Some(other)) if principal.is_admin() => UnitId::new(other.clone()),
        (Some(_), Some(other)) => {
            return Err(AppError::Forbidden(format!("本账号不能代“{other}”填报")));
        }
        (None, _) => {
            return Err(AppError::Forbidden(
                "本账号未关联方案责任单位，请联系管理员".into(),
            ));
        }
    };
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
        None => String::new(),
        Some(id) if task.indicators.contains(&IndicatorId::new(id)) => id.to_string(),
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
    let period = Period::parse(&body.period).map_err(|e| AppError::field("period", e))?;
    if !period.has_begun(crate::time::today()) {
        return Err(AppError::field(
            "period",
            format!("报告期{period}尚未开始，不能填报"),
        ));
    }
    match body.value {
        Some(v) if !v.is_finite() || v < 0.0 => {
            return Err(AppError::field(
                "value",
                format!("数值{v}无效：应为非负数，单位按指标填写"),
            ));
        }
        Some(_) if indicator.is_empty() => {
            return Err(AppError::field(
                "value",
                "数值须对应一个指标（indicator）；任务整体进展请只填写文字说明",
            ));
        }
        _ => {}
    }
    let narrative = body.narrative.trim();
    if narrative.is_empty() || narrative.chars().count() > 5000 {
        return Err(AppError::field("narrative", "请填写进展说明（最多5000字）"));
    }
    Ok(Checked {
        task,
        indicator,
        unit,
        period,
    })
}

fn ids(list: &[IndicatorId]) -> String {
    list.iter()
        .map(|i| i.as_str())
        .collect::<Vec<_>>()
        .join("、")
}

/// Stores a report, or amends the unit's report for the same period (the
/// earlier version is kept). Returns the stored report.
pub async fn submit(db: &Db, principal: &Principal, body: &ReportBody) -> AppResult<Report> {
    let plan = Plan::shipped();
    let checked = check(plan, principal, body)?;
    let now = crate::time::now_text();
    let period = checked.period.to_string();
    let mut tx = db.pool().begin().await?;
    let existing = sqlx::query(
        "SELECT id, value, narrative, evidence, reported_by, reported_at, version FROM plan_reports \
         WHERE task = $1 AND indicator = $2 AND unit = $3 AND period = $4",
    )
    .bind(checked.task.number as i64)
    .bind(checked.indicator.clone())
    .bind(checked.unit.as_str().to_string())
    .bind(period.clone())
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
                "INSERT INTO plan_reports (task, indicator, unit, period, value, narrative, evidence, reported_by, reported_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) RETURNING id",
            )
            .bind(checked.task.number as i64)
            .bind(checked.indicator.clone())
            .bind(checked.unit.as_str().to_string())
            .bind(period.clone())
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
        "period": period, "value": body.value, "narrative": body.narrative.trim()});
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
    let mut reports = list(db, Some(checked.task.number)).await?;
    reports.retain(|r| r.id == id);
    reports
        .pop()
        .ok_or_else(|| anyhow::anyhow!("report vanished").into())
}

/// Reports, newest period first; of one task when given.
pub async fn list(db: &Db, task: Option<u8>) -> AppResult<Vec<Report>> {
    let plan = Plan::shipped();
    let rows = sqlx::query(
        "SELECT id, task, indicator, unit, period, value, narrative, evidence, reported_by, reported_at, version FROM plan_reports \
         WHERE $1 < 0 OR task = $1 ORDER BY period DESC, task, unit, indicator",
    )
    .bind(task.map_or(-1, i64::from))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let unit: String = r.try_get("unit")?;
            Ok(Report {
                id: r.try_get("id")?,
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

/// (task, unit) pairs with no report for `period`: every named (not
/// collective) responsible unit owes one per task and quarter.
pub async fn missing(db: &Db, period: Period) -> AppResult<Vec<(u8, UnitId)>> {
    let plan = Plan::shipped();
    let reported: Vec<(i64, String)> =
        sqlx::query_as("SELECT DISTINCT task, unit FROM plan_reports WHERE period = $1")
            .bind(period.to_string())
            .fetch_all(db.pool())
            .await?;
    Ok(plan
        .tasks
        .iter()
        .flat_map(|t| t.responsible_units.iter().map(move |u| (t, u)))
        .filter(|(_, u)| plan.unit(u).is_some_and(|u| !u.collective))
        .filter(|(t, u)| {
            !reported
                .iter()
                .any(|(rt, ru)| *rt == t.number as i64 && ru == u.as_str())
        })
        .map(|(t, u)| (t.number, u.clone()))
        .collect())
}

/// Reported values per indicator: for each period, the sum over units, dated
/// at the period's end.
pub async fn series(
    db: &Db,
) -> AppResult<std::collections::HashMap<String, Vec<(chrono::NaiveDate, f64)>>> {
    let rows: Vec<(String, String, f64)> = sqlx::query_as(
        "SELECT indicator, period, SUM(value) FROM plan_reports WHERE indicator <> '' AND value IS NOT NULL \
         GROUP BY indicator, period ORDER BY indicator, period",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out: std::collections::HashMap<String, Vec<(chrono::NaiveDate, f64)>> =
        Default::default();
    for (indicator, period, value) in rows {
        if let Ok(period) = Period::parse(&period) {
            out.entry(indicator)
                .or_default()
                .push((period.end(), value));
        }
    }
    Ok(out)
}
