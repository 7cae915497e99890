//! The reporting desk (进展填报工作台): a unit's account sees the reports it
//! owes and flags the late ones, downloads its Excel template and uploads it
//! filled; the plan office (administrators and 省发展改革委) sees every unit's
//! late reports. `GET /api/v1/plan/missing` gives the same lists.

use super::cadence;
use super::consolidation::Consolidation;
use super::reports::{self, Due, is_plan_office};
use super::workbook::{self, UploadReport};
use crate::app::AppState;
use crate::auth::{Principal, User, verify_csrf};
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, render};
use crate::tabular::{XLSX_TYPE, download};
use axum::Json;
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lifeservice_domain::plan::{Period, Plan, Unit, UnitId};
use maud::{Markup, html};
use serde::Deserialize;

/// A unit by its code (U16) or its short or official name.
fn find_unit(text: &str) -> AppResult<&'static Unit> {
    let plan = Plan::shipped();
    plan.unit(&UnitId::new(text))
        .or_else(|| plan.unit_by_name(text))
        .ok_or_else(|| AppError::field("unit", format!("方案中没有责任单位“{text}”")))
}

/// The unit an account works for at the desk: its own, or, for an
/// administrator, the one it names.
fn desk_unit(principal: &Principal, requested: Option<&str>) -> AppResult<&'static Unit> {
    let requested = requested.map(str::trim).filter(|r| !r.is_empty());
    let own = principal
        .plan_unit
        .as_deref()
        .and_then(|id| Plan::shipped().unit(&UnitId::new(id)));
    match (requested, own) {
        (Some(text), _) => {
            let unit = find_unit(text)?;
            if principal.is_admin() || own.is_some_and(|o| o.id == unit.id) {
                Ok(unit)
            } else {
                Err(AppError::Forbidden(format!(
                    "本账号只能为本单位填报，不能代“{}”填报",
                    unit.name
                )))
            }
        }
        (None, Some(own)) => Ok(own),
        (None, None) if principal.is_admin() => {
            Err(AppError::field("unit", "管理员须指定责任单位（unit）"))
        }
        (None, None) => Err(AppError::Forbidden(
            "本账号未关联方案责任单位，请联系管理员".into(),
        )),
    }
}

/// The late reports an account may see: the plan office all (or one unit's,
/// when it names one), a unit its own.
fn visible_missing(
    principal: &Principal,
    all: Vec<Due>,
    requested: Option<&str>,
) -> AppResult<Vec<Due>> {
    let requested = requested.map(str::trim).filter(|r| !r.is_empty());
    let unit = match requested {
        None if is_plan_office(principal) => None,
        Some(text) if is_plan_office(principal) => Some(find_unit(text)?),
        _ => Some(desk_unit(principal, requested)?),
    };
    Ok(all
        .into_iter()
        .filter(|d| unit.is_none_or(|u| u.id == d.unit))
        .collect())
}

#[derive(Deserialize)]
pub(super) struct DeskQuery {
    unit: Option<String>,
    period: Option<String>,
}

/// Late reports as the desk shows them: the plan office sees every unit's (or the one it names), a unit its own.
#[utoipa::path(get, path = "/api/v1/plan/missing", tag = "plan", params(("unit" = Option<String>, Query, description = "责任单位代码或名称（牵头部门可查看任一单位）")), security(("bearer" = [])), responses((status = 200, description = "{as_of, missing: [{task, task_title, unit, unit_name, period, cadence, consolidation}]}"), (status = 403, description = "账号未关联责任单位，或查看其他单位")))]
pub(super) async fn missing_api(
    State(state): State<AppState>,
    User(user): User,
    Query(q): Query<DeskQuery>,
) -> AppResult<Json<serde_json::Value>> {
    let today = crate::time::today();
    let all = reports::missing(&state.db, &cadence::load(&state.db).await?, today).await?;
    let missing = visible_missing(&user, all, q.unit.as_deref())?;
    Ok(Json(
        serde_json::json!({"as_of": today.to_string(), "missing": missing}),
    ))
}

/// `GET /plan/desk/template?unit=&period=`: the unit's XLSX template.
pub(super) async fn template_download(
    State(state): State<AppState>,
    User(user): User,
    Query(q): Query<DeskQuery>,
) -> AppResult<Response> {
    let unit = desk_unit(&user, q.unit.as_deref())?;
    let period = match q.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(text) => Some(Period::parse(text).map_err(|e| AppError::field("period", e))?),
        None => None,
    };
    let cadences = cadence::load(&state.db).await?;
    let bytes = workbook::template(&state.db, &cadences, unit, period).await?;
    let name = format!(
        "plan-report-{}-{}.xlsx",
        unit.id,
        period.map_or_else(|| crate::time::today().to_string(), |p| p.to_string())
    );
    Ok(download(bytes, XLSX_TYPE, &name))
}

/// The desk's upload form: CSRF token, unit (administrators) and file.
struct DeskUpload {
    csrf: Option<String>,
    unit: Option<String>,
    file_name: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut multipart: Multipart) -> AppResult<DeskUpload> {
    let mut upload = DeskUpload {
        csrf: None,
        unit: None,
        file_name: String::new(),
        bytes: Vec::new(),
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::invalid(format!("上传内容无法解析：{e}")))?
    {
        match field.name().unwrap_or_default() {
            "file" => {
                upload.file_name = field.file_name().unwrap_or("upload.xlsx").to_string();
                upload.bytes = crate::tabular::file_bytes(field).await?;
            }
            "csrf" => {
                upload.csrf = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| AppError::invalid(e.to_string()))?,
                )
            }
            "unit" => {
                upload.unit = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| AppError::invalid(e.to_string()))?,
                )
            }
            _ => {}
        }
    }
    if upload.bytes.is_empty() {
        return Err(AppError::field(
            "file",
            "请选择要上传的填报模板（文件不能为空）",
        ));
    }
    Ok(upload)
}

/// `POST /plan/desk/upload`: stores the good rows, lists the bad ones.
pub(super) async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    multipart: Multipart,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/login").into_response();
    };
    let result = async {
        let upload = read_upload(multipart).await?;
        verify_csrf(&user, upload.csrf.as_deref())?;
        let unit = desk_unit(&user, upload.unit.as_deref())?;
        let report = workbook::upload(&state.db, &user, unit, &upload.bytes).await?;
        let body = html! {
            p.muted { a href="/plan" { "行动方案" } " › " a href="/plan/desk" { "进展填报工作台" } " › 上传结果" }
            h1 { "上传结果：" (upload.file_name) }
            p { "责任单位：" (unit.name) }
            (upload_result(&report))
            p { a href="/plan/desk" { "返回工作台" } " · " a href=(format!("/plan/units/{}", unit.id)) { "查看本单位任务与填报" } }
        };
        Ok(("上传结果".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

fn upload_result(report: &UploadReport) -> Markup {
    html! {
        p.ok role="status" { (report.summary_zh()) }
        @if !report.errors.is_empty() {
            h2 { "出错的行（未保存，其余各行已保存）" }
            table {
                thead { tr { th { "行号" } th { "列" } th { "原因" } } }
                tbody { @for e in &report.errors { tr { td { (e.row) } td { (e.column) } td { (e.reason) } } } }
            }
        }
    }
}

/// `GET /plan/desk`: the signed-in account's reporting desk.
pub(super) async fn desk_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/login").into_response();
    };
    let result = async {
        let office = is_plan_office(&user);
        let own = desk_unit(&user, None).ok();
        if own.is_none() && !office {
            return Err(AppError::Forbidden("本账号未关联方案责任单位，请联系管理员".into()));
        }
        let today = crate::time::today();
        let cadences = cadence::load(&state.db).await?;
        let all = reports::missing(&state.db, &cadences, today).await?;
        let mine: Vec<&Due> = all.iter().filter(|d| own.is_some_and(|u| u.id == d.unit)).collect();
        let plan = Plan::shipped();
        let mut leading = Vec::new();
        for task in plan.tasks.iter().filter(|t| {
            let lead = reports::consolidating_lead(plan, t);
            own.is_some_and(|u| lead.is_some_and(|l| l.id == u.id))
        }) {
            let due = cadences.of(task.number).last_due(today);
            leading.extend(Consolidation::load(&state.db, plan, task, due).await?);
        }
        let own_reports = match own {
            Some(u) => reports::list(&state.db, None, Some(&u.id)).await?,
            None => Vec::new(),
        };
        let body = html! {
            p.muted { a href="/plan" { "行动方案" } " › 进展填报工作台" }
            h1 { "进展填报工作台" @if let Some(u) = own { "：" (u.name) } }
            p { "各任务按其填报频次（按季度或按月）填报；到期的是各任务最近一个已结束的报告期（今天是" (today) "）。" }
            @if let Some(u) = own {
                h2 { "本单位到期未报（" (mine.len()) "项）" }
                @if mine.is_empty() { p.ok { "本单位已按期填报全部任务。" } } @else { (due_table(&mine, false)) }
                p { a href=(format!("/plan/units/{}", u.id)) { "本单位的任务、指标和填报记录" } }
                @if !leading.is_empty() { (leading_table(&leading)) }
            }
            (template_form(&user, own))
            (upload_form(&user, own))
            @if office {
                h2 { "全部责任单位到期未报（" (all.len()) "项）" }
                p.muted { "省发展改革委作为方案牵头部门，可查看各责任单位的逾期情况。" }
                @if all.is_empty() { p.ok { "各责任单位均已按期填报。" } } @else { (due_table(&all.iter().collect::<Vec<_>>(), true)) }
            }
            @if !own_reports.is_empty() {
                h2 { "本单位最近的填报" }
                (super::reports_table(&own_reports[..own_reports.len().min(100)], super::attachments::can_read(&user)))
            }
        };
        Ok(("进展填报工作台".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

/// The tasks the unit leads with others: who has reported for the due period
/// and whether it has consolidated.
fn leading_table(leading: &[Consolidation]) -> Markup {
    html! {
        h2 { "牵头汇总（" (leading.len()) "项任务）" }
        p { "本单位牵头的任务由各责任单位分别填报，本单位汇总上报后，汇总值即为任务的正式进展。" }
        table {
            thead { tr { th { "任务" } th { "报告期" } th { "已填报单位" } th { "汇总" } } }
            tbody { @for c in leading { tr {
                td { a href=(format!("/plan/tasks/{}#consolidation", c.task.number)) { (c.task.number) ". " (c.task.title) } }
                td { (c.period) }
                td { (c.reported().0) " / " (c.reported().1) }
                td { @if c.consolidated.is_empty() { span.tag.warn { "待汇总" } } @else { span.tag.ok { "已汇总" } } }
            } } }
        }
    }
}

/// Late reports; `with_unit` adds the unit column (the plan office's list).
pub(super) fn due_table(due: &[&Due], with_unit: bool) -> Markup {
    html! {
        table {
            thead { tr { @if with_unit { th { "责任单位" } } th { "任务" } th { "填报频次" } th { "报告期" } th { "状态" } } }
            tbody { @for d in due { tr {
                @if with_unit { td { a href=(format!("/plan/units/{}", d.unit)) { (d.unit_name) } } }
                td { a href=(format!("/plan/tasks/{}", d.task)) { (d.task) ". " (d.task_title) } }
                td { (d.cadence.zh()) }
                td { (d.period) }
                td { span.tag.bad { @if d.consolidation { "逾期未汇总" } @else { "逾期未报" } } }
            } } }
        }
    }
}

/// Administrators choose the unit; a unit's account works for its own.
fn unit_choice(user: &Principal, own: Option<&Unit>) -> Markup {
    html! {
        @if user.is_admin() {
            p { label { "责任单位 " select name="unit" required {
                @for u in Plan::shipped().units.iter().filter(|u| !u.collective) {
                    option value=(u.id) selected[own.is_some_and(|o| o.id == u.id)] { (u.name) }
                }
            } } }
        }
    }
}

fn template_form(user: &Principal, own: Option<&Unit>) -> Markup {
    html! {
        h2 { "下载填报模板（Excel）" }
        form method="get" action="/plan/desk/template" {
            (unit_choice(user, own))
            p { label { "报告期（可空：各任务最近一个已结束的报告期；如 2026-Q3 或 2026-10） " input name="period" maxlength="10"; } }
            button type="submit" { "下载模板" }
        }
    }
}

fn upload_form(user: &Principal, own: Option<&Unit>) -> Markup {
    html! {
        h2 { "上传填好的模板" }
        form method="post" action="/plan/desk/upload" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or(""));
            (unit_choice(user, own))
            p { label { "文件（平台生成的 .xlsx 模板）" br; input type="file" name="file" accept=".xlsx,.csv" required; } }
            button type="submit" { "上传并填报" }
        }
        p.muted { "每一行按网页填报的同样规则检查：出错的行列出行号、列和原因，其余各行照常保存；同一期间再次上传即为更正，保留历史版本。" }
    }
}
