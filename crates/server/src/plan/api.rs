//! The plan's JSON API: tasks with their indicators, progress reports and the
//! lead unit's consolidation, reporting cadence, late reports and the
//! assessment, described in the OpenAPI document as [`PlanApi`].

use super::attachments::can_read;
use super::consolidation::Consolidation;
use super::{
    IndicatorView, TaskView, TasksQuery, cadence, indicator_view, no_match, observed, reports,
    run_assessment, selected_tasks, task_view,
};
use crate::app::AppState;
use crate::auth::{MaybeUser, User};
use crate::error::{AppError, AppResult};
use crate::registry::api::ApiJson;
use crate::tabular::{Table, XLSX_TYPE, csv_bytes, download, xlsx_bytes};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use lifeservice_domain::plan::{Period, Plan, UnitId};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        tasks_api,
        reports_api,
        submit_report,
        consolidation_api,
        cadence_api,
        super::desk::missing_api,
        assessment_api,
        attach_api
    ),
    components(schemas(
        reports::ReportBody,
        reports::Report,
        CadenceBody,
        super::attachments::Attachment
    ))
)]
pub struct PlanApi;

/// Every task (or those matching `q`, best first) with its responsible units (lead first) and indicators (target, current value with formula and source, status, outlook).
#[utoipa::path(get, path = "/api/v1/plan/tasks", tag = "plan", params(TasksQuery), responses((status = 200, description = "{title, plan_indicators, tasks: [{group, number, title, text, responsible_units, indicators: [{name, unit, min, max, scope, deadline, current, status}]}]}"), (status = 400, description = "查询无效")))]
pub(super) async fn tasks_api(
    State(state): State<AppState>,
    Query(params): Query<TasksQuery>,
) -> AppResult<Json<Value>> {
    let plan = Plan::shipped();
    let query = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let live = observed(&state).await?;
    let cadences = cadence::load(&state.db).await?;
    let tasks: Vec<TaskView> = selected_tasks(plan, query)?
        .into_iter()
        .map(|t| task_view(plan, t, &live, &cadences))
        .collect();
    let overall: Vec<IndicatorView> = plan
        .indicators_of(None)
        .map(|i| indicator_view(i, &live))
        .collect();
    let mut body = json!({"title": plan.title, "plan_indicators": overall, "tasks": tasks});
    if let Some(q) = query {
        body["query"] = q.into();
        if tasks.is_empty() {
            body["message"] = no_match(q).into();
        }
    }
    Ok(Json(body))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportsQuery {
    /// A task number.
    task: Option<u8>,
    /// A unit code (U16).
    unit: Option<String>,
    /// A report period (2026-Q3 or 2026-10).
    period: Option<String>,
}

/// Progress reports, newest period first, with their area and whether they are a lead unit's consolidated report.
#[utoipa::path(get, path = "/api/v1/plan/reports", tag = "plan", params(ReportsQuery), responses((status = 200, body = [reports::Report]), (status = 400, description = "报告期无效")))]
pub(super) async fn reports_api(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Query(q): Query<ReportsQuery>,
) -> AppResult<Json<Vec<reports::Report>>> {
    let period = q.period.as_deref().map(parse_period).transpose()?;
    let unit = q.unit.map(UnitId::new);
    let reader = user.as_ref().is_some_and(can_read);
    let list = reports::list(&state.db, q.task, unit.as_ref())
        .await?
        .into_iter()
        .filter(|r| period.is_none_or(|p| r.period == p.to_string()))
        .map(|r| r.for_reader(reader))
        .collect();
    Ok(Json(list))
}

fn parse_period(text: &str) -> AppResult<Period> {
    Period::parse(text).map_err(|e| AppError::field("period", e))
}

/// A unit's report on a task (or one of its indicators, per area where the indicator is assessed per area), or the lead unit's consolidated report; a second one for the same period amends it and keeps the earlier version.
#[utoipa::path(post, path = "/api/v1/plan/reports", tag = "plan", request_body = reports::ReportBody, security(("bearer" = [])), responses((status = 200, body = reports::Report), (status = 400, description = "任务、指标、地区、报告期、数值、单位或汇总无效（error.field 指明字段）"), (status = 401, description = "未登录"), (status = 403, description = "非该任务的责任单位")))]
pub(super) async fn submit_report(
    State(state): State<AppState>,
    User(user): User,
    ApiJson(body): ApiJson<reports::ReportBody>,
) -> AppResult<Json<reports::Report>> {
    Ok(Json(reports::submit(&state.db, &user, &body).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsolidationQuery {
    /// The period; the task's last ended period when absent.
    period: Option<String>,
}

/// What the lead unit consolidates: each named unit's reports for a period, their sums per indicator and area, and the consolidated reports filed.
#[utoipa::path(get, path = "/api/v1/plan/tasks/{number}/consolidation", tag = "plan", params(("number" = u8, Path), ConsolidationQuery), responses((status = 200, description = "{task, lead, period, units: [{unit, unit_name, reports}], sums: [{indicator, division_name, sum, units}], consolidated: [Report]}"), (status = 400, description = "任务只有一个责任单位，或报告期无效"), (status = 404, description = "任务不存在")))]
pub(super) async fn consolidation_api(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(number): Path<u8>,
    Query(q): Query<ConsolidationQuery>,
) -> AppResult<Json<Value>> {
    let plan = Plan::shipped();
    let task = plan.task(number).ok_or_else(|| {
        AppError::not_found(format!(
            "任务“{number}”不存在（方案共{}项任务）",
            plan.tasks.len()
        ))
    })?;
    let period = match q.period.as_deref() {
        Some(text) => parse_period(text)?,
        None => cadence::load(&state.db)
            .await?
            .of(number)
            .last_due(crate::time::today()),
    };
    let c = Consolidation::load(&state.db, plan, task, period)
        .await?
        .ok_or_else(|| {
            AppError::field(
                "number",
                format!("任务{number}没有需要牵头汇总的其他责任单位"),
            )
        })?;
    let reader = user.as_ref().is_some_and(can_read);
    let units: Vec<Value> = c
        .units
        .iter()
        .map(|(u, list)| {
            let list: Vec<reports::Report> =
                list.iter().cloned().map(|r| r.for_reader(reader)).collect();
            json!({"unit": u.id, "unit_name": u.name, "reports": list})
        })
        .collect();
    let sums: Vec<Value> = c
        .sums()
        .into_iter()
        .map(|(indicator, division, sum, n)| {
            json!({"indicator": indicator, "division_name": division, "sum": sum, "units": n})
        })
        .collect();
    Ok(Json(json!({
        "task": number,
        "lead": c.lead.id,
        "lead_name": c.lead.name,
        "period": c.period.to_string(),
        "units": units,
        "sums": sums,
        "consolidated": c.consolidated.iter().cloned().map(|r| r.for_reader(reader)).collect::<Vec<_>>(),
    })))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub(super) struct CadenceBody {
    /// `monthly` or `quarterly`.
    cadence: String,
}

/// Sets how often a task is reported on (administrators; audited).
#[utoipa::path(put, path = "/api/v1/plan/tasks/{number}/cadence", tag = "plan", params(("number" = u8, Path)), request_body = CadenceBody, security(("bearer" = [])), responses((status = 200, description = "{task, cadence, due_period}"), (status = 400, description = "频次无效"), (status = 403, description = "非管理员")))]
pub(super) async fn cadence_api(
    State(state): State<AppState>,
    User(user): User,
    Path(number): Path<u8>,
    ApiJson(body): ApiJson<CadenceBody>,
) -> AppResult<Json<Value>> {
    let cadence = cadence::parse(&body.cadence)?;
    cadence::set(&state.db, &user, number, cadence).await?;
    Ok(Json(
        json!({"task": number, "cadence": cadence, "due_period": cadence.last_due(crate::time::today()).to_string()}),
    ))
}

/// The city or county assessment (绩效考核): weighted scores with the formula, ranked; as JSON, CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/plan/assessment", tag = "plan", params(("level" = Option<String>, Query, description = "city 或 county（默认）"), ("weights" = Option<String>, Query, description = "如 entities:0.4,credit:0.1"), ("format" = Option<String>, Query, description = "json（默认）、csv 或 xlsx")), responses((status = 200, description = "{level, criteria, method, areas: [{rank, code, name, score, values}]}"), (status = 400, description = "level、weights 或 format 无效")))]
pub(super) async fn assessment_api(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let result = run_assessment(&state, &params).await?;
    let name = format!("assessment-{}-{}", result.level, crate::time::today());
    let table = || {
        let (headers, rows) = result.rows();
        Table { headers, rows }
    };
    match params.get("format").map_or("json", String::as_str) {
        "json" => Ok(Json(&result).into_response()),
        "csv" => Ok(download(
            csv_bytes(&table())?,
            "text/csv; charset=utf-8",
            &format!("{name}.csv"),
        )),
        "xlsx" => Ok(download(
            xlsx_bytes(&[("绩效考核", &table())])?,
            XLSX_TYPE,
            &format!("{name}.xlsx"),
        )),
        other => Err(AppError::field(
            "format",
            format!("未知的格式“{other}”，应为 json、csv 或 xlsx"),
        )),
    }
}

/// Attaches a file (pdf, ofd, jpg, png, doc, docx, xls, xlsx; at most 10 MB) as evidence to a report of the account's unit; audited with its SHA-256.
#[utoipa::path(post, path = "/api/v1/plan/reports/{id}/attachments", tag = "plan", params(("id" = i64, Path)), request_body(content_type = "multipart/form-data", description = "file: 附件"), security(("bearer" = [])), responses((status = 200, body = super::attachments::Attachment), (status = 400, description = "类型、内容或大小不符"), (status = 403, description = "非本单位的填报"), (status = 404, description = "填报不存在")))]
pub(super) async fn attach_api(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<i64>,
    multipart: axum::extract::Multipart,
) -> AppResult<Json<super::attachments::Attachment>> {
    let upload = super::attachments::read_upload(multipart).await?;
    Ok(Json(
        super::attachments::attach(&state.db, &user, id, &upload.file_name, &upload.bytes).await?,
    ))
}
