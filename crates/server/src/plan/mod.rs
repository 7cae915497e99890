//! The action plan in the platform: its tasks, responsible units and targets
//! (shipped as data in `lifeservice_domain::plan`), and the indicators the
//! platform computes from its own records rather than from reports.

mod api;
pub mod assessment;
pub mod attachments;
pub mod cadence;
pub mod consolidation;
pub mod demo;
mod desk;
pub mod reports;
pub mod search;
pub mod views;
pub mod workbook;

pub use api::PlanApi;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, render};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use cadence::Cadences;
use lifeservice_domain::plan::{Indicator, Plan, Task};
use maud::{Markup, html};
use serde::Serialize;
use std::collections::HashMap;

/// The plan's baseline, the last month of the year before it took effect
/// (its targets are growth over the stock at that month's end).
pub const BASELINE_MONTH: &str = "2021-12";

/// SQL condition on `entities`: in business at the baseline, counted as the
/// statistics count a stock: established by then (one without a date counts
/// from the start) and not yet exited (an exit without a date dates from the
/// registry's last update), by month. Those founded by then but already
/// closed are not part of it.
pub fn in_business_at_baseline() -> String {
    format!(
        "(established IS NULL OR substr(established, 1, 7) <= '{BASELINE_MONTH}') \
         AND (status = 'active' OR substr(COALESCE(closed_on, updated_at), 1, 7) > '{BASELINE_MONTH}')"
    )
}
/// Designations granted from this day count as new under the plan.
pub const PLAN_START: &str = "2022-01-01";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plan", get(plan_page))
        .route("/plan/tasks/{number}", get(task_page))
        .route(
            "/plan/tasks/{number}/cadence",
            axum::routing::post(cadence_form),
        )
        .route("/plan/units/{id}", get(views::unit_page))
        .route("/plan/cities/{code}", get(views::city_page))
        .route("/plan/desk", get(desk::desk_page))
        .route("/plan/desk/template", get(desk::template_download))
        .route("/plan/desk/upload", axum::routing::post(desk::upload))
        .route("/api/v1/plan/tasks", get(api::tasks_api))
        .route(
            "/api/v1/plan/tasks/{number}/cadence",
            axum::routing::put(api::cadence_api),
        )
        .route("/api/v1/plan/missing", get(desk::missing_api))
        .route("/plan/assessment", get(assessment_page))
        .route("/plan/reports", get(reports_page))
        .route(
            "/plan/attachments",
            axum::routing::post(attachment_form).layer(attachments::body_limit()),
        )
        .route("/plan/attachments/{id}", get(attachment_download))
        .route(
            "/api/v1/plan/reports/{id}/attachments",
            axum::routing::post(api::attach_api).layer(attachments::body_limit()),
        )
        .route(
            "/plan/tasks/{number}/reports",
            axum::routing::post(report_form),
        )
        .route(
            "/api/v1/plan/reports",
            get(api::reports_api).post(api::submit_report),
        )
        .route("/api/v1/plan/assessment", get(api::assessment_api))
        .route(
            "/api/v1/plan/tasks/{number}/consolidation",
            get(api::consolidation_api),
        )
}

/// A value computed from the platform's own data, or else from the units'
/// reports, with how.
#[derive(Debug, Clone, Serialize)]
pub struct LiveValue {
    pub value: f64,
    pub formula: &'static str,
    pub source: &'static str,
    /// The report period of a reported value; absent for a computed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// How the province value of a reported indicator is formed.
const REPORTED_FORMULA_SUM: &str =
    "最近一个报告期的填报值：牵头单位已汇总的取汇总值，否则为各责任单位填报值之和";
/// The same for shares and multiples, which cannot be added up.
const REPORTED_FORMULA_MEAN: &str =
    "最近一个报告期的填报值：牵头单位已汇总的取汇总值，否则为各责任单位填报值的平均";
/// How the province value of an indicator assessed per area is formed from reports.
const REPORTED_AREA_FORMULA: &str = "按各地区最近一次填报值达到目标下限的地区数 ÷ 该级地区总数";
const REPORTED_SOURCE: &str = "责任单位进展填报";

/// Computes every indicator the platform can compute from its records.
pub async fn live_values(state: &AppState) -> AppResult<HashMap<&'static str, LiveValue>> {
    let pool = state.db.pool();
    let mut values = HashMap::new();
    let baseline: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM entities WHERE {}",
        in_business_at_baseline()
    ))
    .fetch_one(pool)
    .await?;
    let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entities WHERE status = 'active'")
        .fetch_one(pool)
        .await?;
    if baseline > 0 {
        values.insert(
            "P-1",
            LiveValue {
                value: active as f64 / baseline as f64,
                formula: "存续市场主体数 ÷ 2021年末存量（截至2021年末成立且未退出的市场主体数，与统计监测的期末存量同口径）",
                source: "平台市场主体登记库",
                period: None,
            },
        );
    }
    let counties_total = crate::reference::Reference::shipped().county_shapes().len() as f64;
    let with_elderly: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT county_code) FROM outlets WHERE service_type = '0301' AND status = 'open'",
    )
    .fetch_one(pool)
    .await?;
    values.insert(
        "T16-8",
        LiveValue {
            value: with_elderly as f64 / counties_total,
            formula: "至少有一所在营养老机构（服务类型0301）的县（市、区）数 ÷ 县级单位数（有边界的117个）",
            source: "平台服务网点登记库",
            period: None,
        },
    );
    for (id, grade) in [("T01-2", "AAAAA"), ("T01-3", "AAAA")] {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM designations WHERE kind = 'a_grade' AND grade = $1 AND granted_on >= $2")
            .bind(grade)
            .bind(PLAN_START)
            .fetch_one(pool)
            .await?;
        values.insert(
            id,
            LiveValue {
                value: n as f64,
                formula: if grade == "AAAAA" {
                    "2022年起认定的5A级旅游景区数"
                } else {
                    "2022年起认定的4A级旅游景区数"
                },
                source: "平台认定信息（省文化和旅游厅）",
                period: None,
            },
        );
    }
    Ok(values)
}

/// Attainment of a target by a current value: met when inside [min, max]
/// (or above min when there is no upper bound).
fn status(indicator: &Indicator, live: Option<&LiveValue>) -> &'static str {
    let Some(live) = live else { return "reported" };
    let (min, max) = (
        indicator.min.unwrap_or(f64::NEG_INFINITY),
        indicator.max.unwrap_or(f64::INFINITY),
    );
    // A per-area indicator's province value is the share of areas meeting it.
    let target = if indicator.scope.area_level().is_some() {
        1.0
    } else {
        min
    };
    if live.value >= target && live.value <= max.max(target) {
        "met"
    } else {
        "in_progress"
    }
}

fn status_zh(status: &str) -> &'static str {
    match status {
        "met" => "已达标",
        "in_progress" => "推进中",
        _ => "待填报",
    }
}

#[derive(Serialize)]
struct IndicatorView {
    id: String,
    name: String,
    unit: String,
    min: Option<f64>,
    max: Option<f64>,
    scope: String,
    kind: String,
    deadline: String,
    source_phrase: String,
    current: Option<LiveValue>,
    status: &'static str,
    /// Where the reported values are heading by the deadline.
    outlook: Option<OutlookView>,
}

#[derive(Serialize)]
struct TaskView {
    group: String,
    group_number: u8,
    number: u8,
    title: String,
    text: String,
    responsible_units: Vec<String>,
    /// Codes of `responsible_units`, in the same order.
    responsible_unit_ids: Vec<String>,
    milestone: bool,
    /// How often the responsible units report on the task.
    cadence: lifeservice_domain::plan::Cadence,
    /// The last ended period of that cadence: the one reports are due for.
    due_period: String,
    indicators: Vec<IndicatorView>,
}

/// What the platform knows of each indicator: values it computes, the series
/// of reported province values, and the latest reported value per area.
pub struct Observed {
    pub live: HashMap<&'static str, LiveValue>,
    pub series: HashMap<String, Vec<(lifeservice_domain::plan::Period, f64)>>,
    pub areas: HashMap<(String, String), (lifeservice_domain::plan::Period, f64)>,
}

pub async fn observed(state: &AppState) -> AppResult<Observed> {
    Ok(Observed {
        live: live_values(state).await?,
        series: reports::series(&state.db).await?,
        areas: reports::area_values(&state.db).await?,
    })
}

impl Observed {
    /// The indicator's current value: computed where the platform can, else
    /// from the latest reports.
    fn current(&self, i: &Indicator) -> Option<LiveValue> {
        if let Some(live) = self.live.get(i.id.as_str()) {
            return Some(live.clone());
        }
        match i.scope.area_level() {
            None => {
                let (period, value) = self
                    .series
                    .get(i.id.as_str())?
                    .iter()
                    .max_by_key(|(period, _)| period.end())?;
                Some(LiveValue {
                    value: *value,
                    formula: match i.kind {
                        lifeservice_domain::plan::IndicatorKind::Count => REPORTED_FORMULA_SUM,
                        _ => REPORTED_FORMULA_MEAN,
                    },
                    source: REPORTED_SOURCE,
                    period: Some(period.to_string()),
                })
            }
            // The platform counts these itself, per area (views::AREA_MEASURES).
            Some(_) if views::is_measured(i.id.as_str()) => None,
            Some(level) => {
                let reported: Vec<&(lifeservice_domain::plan::Period, f64)> = self
                    .areas
                    .iter()
                    .filter(|((id, _), _)| id == i.id.as_str())
                    .map(|(_, v)| v)
                    .collect();
                let latest = reported.iter().map(|(p, _)| *p).max_by_key(|p| p.end())?;
                let met = reported
                    .iter()
                    .filter(|(_, v)| i.min.is_none_or(|min| *v >= min))
                    .count();
                let areas = crate::reference::Reference::shipped()
                    .all()
                    .filter(|d| d.level == level)
                    .count();
                Some(LiveValue {
                    value: met as f64 / areas.max(1) as f64,
                    formula: REPORTED_AREA_FORMULA,
                    source: REPORTED_SOURCE,
                    period: Some(latest.to_string()),
                })
            }
        }
    }
}

#[derive(Serialize)]
struct OutlookView {
    projected: f64,
    status: lifeservice_domain::plan::Outlook,
    status_zh: &'static str,
    method: &'static str,
}

/// Projects the reported series (and today's computed value) to the deadline.
fn outlook_of(i: &Indicator, observed: &Observed) -> Option<OutlookView> {
    use lifeservice_domain::plan::{OUTLOOK_METHOD, outlook, project};
    let min = i.min?;
    let mut series: Vec<(chrono::NaiveDate, f64)> = observed
        .series
        .get(i.id.as_str())
        .map_or_else(Vec::new, |s| s.iter().map(|(p, v)| (p.end(), *v)).collect());
    if let Some(live) = observed.live.get(i.id.as_str()) {
        series.push((crate::time::today(), live.value));
    }
    let deadline = chrono::NaiveDate::from_ymd_opt(
        i.deadline.year().into(),
        i.deadline.month().into(),
        i.deadline.day().into(),
    )?;
    let projected = project(&series, deadline)?;
    let status = outlook(projected, min);
    Some(OutlookView {
        projected: (projected * 100.0).round() / 100.0,
        status,
        status_zh: status.zh(),
        method: OUTLOOK_METHOD,
    })
}

fn indicator_view(i: &Indicator, observed: &Observed) -> IndicatorView {
    let current = observed.current(i);
    IndicatorView {
        id: i.id.to_string(),
        name: i.name.clone(),
        unit: i.unit.clone(),
        min: i.min,
        max: i.max,
        scope: i.scope.zh().to_string(),
        kind: i.kind.zh().to_string(),
        deadline: i.deadline.to_string(),
        source_phrase: i.source_phrase.clone(),
        status: status(i, current.as_ref()),
        outlook: outlook_of(i, observed),
        current,
    }
}

fn task_view(plan: &Plan, task: &Task, observed: &Observed, cadences: &Cadences) -> TaskView {
    let cadence = cadences.of(task.number);
    TaskView {
        group: plan
            .group(task.group)
            .map(|g| g.title.clone())
            .unwrap_or_default(),
        group_number: task.group,
        number: task.number,
        title: task.title.clone(),
        text: task.text.clone(),
        responsible_units: plan
            .unit_names(&task.responsible_units)
            .into_iter()
            .map(str::to_string)
            .collect(),
        responsible_unit_ids: task
            .responsible_units
            .iter()
            .map(ToString::to_string)
            .collect(),
        milestone: task.milestone,
        cadence,
        due_period: cadence.last_due(crate::time::today()).to_string(),
        indicators: plan
            .indicators_of(Some(task.number))
            .map(|i| indicator_view(i, observed))
            .collect(),
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct TasksQuery {
    q: Option<String>,
}

/// The tasks a query matches, best first; every task in order without one.
fn selected_tasks(plan: &'static Plan, query: Option<&str>) -> AppResult<Vec<&'static Task>> {
    match query {
        Some(q) => Ok(search::search(q)?
            .into_iter()
            .filter_map(|n| plan.task(n))
            .collect()),
        None => Ok(plan.tasks.iter().collect()),
    }
}

/// What a search that found nothing says, on the page and in the API.
fn no_match(query: &str) -> String {
    format!(
        "没有与“{query}”相关的任务。可按任务名称、内容、任务组或责任单位（如 养老、文化和旅游厅）搜索。"
    )
}

#[derive(serde::Deserialize)]
struct CadenceForm {
    csrf: String,
    cadence: String,
}

/// The task page's cadence form (administrators).
async fn cadence_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(number): Path<u8>,
    axum::Form(form): axum::Form<CadenceForm>,
) -> Response {
    let result = async {
        let user = ctx.user.as_ref().ok_or(AppError::Unauthenticated)?;
        crate::auth::verify_csrf(user, Some(&form.csrf))?;
        let cadence = cadence::parse(&form.cadence)?;
        cadence::set(&state.db, user, number, cadence).await?;
        let body = html! {
            p.ok role="status" { "任务" (number) "已改为" (cadence.zh()) "填报，当前到期的报告期为" (cadence.last_due(crate::time::today())) "。" }
            p { a href=(format!("/plan/tasks/{number}")) { "返回任务" } }
        };
        Ok(("填报频次".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

async fn run_assessment(
    state: &AppState,
    params: &HashMap<String, String>,
) -> AppResult<assessment::Assessment> {
    let level = assessment::parse_level(params.get("level").map(String::as_str))?;
    let criteria = assessment::weights(params.get("weights").map(String::as_str))?;
    assessment::assess(state, level, criteria).await
}

async fn assessment_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let a = run_assessment(&state, &params).await?;
        let scores: HashMap<&str, f64> = a.areas.iter().map(|s| (s.code.as_str(), s.score)).collect();
        let digits = if a.level == "city" { 4 } else { 6 };
        let map = crate::portal::map::choropleth(
            &lifeservice_domain::DivisionCode::parse("14").map_err(|e| anyhow::anyhow!("{e}"))?,
            |county| scores.get(&county.as_str()[..digits.min(county.as_str().len())]).map_or(0, |s| s.round() as i64),
            "得分",
            true,
        );
        let query = |level: &str| format!("level={level}{}", params.get("weights").map_or(String::new(), |w| format!("&weights={w}")));
        let body = html! {
            p.muted { a href="/plan" { "行动方案" } " › 绩效考核" }
            h1 { "生活性服务业发展绩效考核（" (if a.level == "city" { "设区市" } else { "县（市、区）" }) "）" }
            p { a href="/plan/assessment?level=city" { "按市" } " · " a href="/plan/assessment?level=county" { "按县（市、区）" }
                " · " a href=(format!("/api/v1/plan/assessment?{}&format=xlsx", query(a.level))) { "导出Excel" }
                " · " a href=(format!("/api/v1/plan/assessment?{}&format=csv", query(a.level))) { "导出CSV" } }
            h2 { "计分方法" }
            p { (a.method) }
            table {
                thead { tr { th { "分项" } th { "依据" } th { "权重" } th { "计算公式" } } }
                tbody { @for c in &a.criteria { tr { td { (c.name) } td { (c.basis) } td { (c.weight) } td { (c.formula) } } } }
            }
            p.muted { "权重可通过参数调整，如 ?weights=entities:0.4,credit:0.1。分项值由平台数据实时计算；演示数据为合成数据。" }
            (map)
            h2 { "排名" }
            table {
                thead { tr { th { "排名" } th { "地区" } th { "得分" } @for c in &a.criteria { th { (c.name) } } } }
                tbody { @for s in &a.areas { tr {
                    td { (s.rank) } td { a href=(format!("/divisions/{}", s.code)) { (s.name) } } td { (format!("{:.1}", s.score)) }
                    @for c in &a.criteria { td { @match s.values.get(c.id) { Some(v) => { (format!("{:.0}%", v * 100.0)) }, None => { "无数据" } } } }
                } } }
            }
        };
        Ok(("绩效考核".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

#[derive(serde::Deserialize)]
struct ReportForm {
    csrf: String,
    indicator: String,
    period: String,
    value: String,
    narrative: String,
    evidence: String,
    /// The area of a per-area value (a city, county or township code).
    #[serde(default)]
    division: String,
    /// Set by the lead unit's consolidation form.
    #[serde(default)]
    consolidated: Option<String>,
}

async fn report_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(number): Path<u8>,
    axum::Form(form): axum::Form<ReportForm>,
) -> Response {
    let result = async {
        let user = ctx.user.as_ref().ok_or(AppError::Unauthenticated)?;
        crate::auth::verify_csrf(user, Some(&form.csrf))?;
        // The form's value may carry a unit (12家), which must be the indicator's.
        let unit = Plan::shipped().indicator(form.indicator.trim()).map_or("", |i| i.unit.as_str());
        let value = match form.value.trim() {
            "" => None,
            v => Some(lifeservice_domain::plan::parse_value(v, unit).map_err(|e| AppError::field("value", e))?),
        };
        let body = reports::ReportBody {
            task: number,
            indicator: Some(form.indicator.clone()),
            period: form.period.clone(),
            value,
            value_unit: None,
            narrative: form.narrative.clone(),
            evidence: form.evidence.clone(),
            unit: None,
            division: Some(form.division.clone()),
            consolidated: form.consolidated.as_deref() == Some("1"),
        };
        let report = reports::submit(&state.db, user, &body).await?;
        let body = html! {
            p.ok role="status" {
                @if report.consolidated { "已汇总上报：" } @else { "已填报：" }
                (report.unit_name) " " (report.period) @if !report.division_name.is_empty() { " " (report.division_name) }
                "（第" (report.version) "版）"
            }
            p { a href=(format!("/plan/tasks/{number}")) { "返回任务" } }
        };
        Ok(("进展填报".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

/// `POST /plan/attachments` (multipart: csrf, report, file) from the task page.
async fn attachment_form(
    State(state): State<AppState>,
    ctx: Ctx,
    multipart: axum::extract::Multipart,
) -> Response {
    let result = async {
        let user = ctx.user.as_ref().ok_or(AppError::Unauthenticated)?;
        let upload = attachments::read_upload(multipart).await?;
        crate::auth::verify_csrf(user, upload.csrf.as_deref())?;
        let report = upload
            .report
            .ok_or_else(|| AppError::field("report", "请选择要附到的填报"))?;
        let a = attachments::attach(&state.db, user, report, &upload.file_name, &upload.bytes).await?;
        let task: i64 = sqlx::query_scalar("SELECT task FROM plan_reports WHERE id = $1")
            .bind(report)
            .fetch_one(state.db.pool())
            .await?;
        let body = html! {
            p.ok role="status" { "已上传附件：" (a.file_name) "（" (a.size) "字节，SHA-256 " code { (a.sha256.get(..16).unwrap_or("")) } "…）" }
            p { a href=(format!("/plan/tasks/{task}")) { "返回任务" } }
        };
        Ok(("上传佐证材料".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

/// `GET /plan/attachments/{id}`: the file, for government staff.
async fn attachment_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (name, content_type, bytes) =
        attachments::content(&state.db, ctx.user.as_ref(), id).await?;
    Ok(attachments::download(name, content_type, bytes))
}

/// Reports as a table; `reader` (government staff) gets the attachments' links.
fn reports_table(list: &[reports::Report], reader: bool) -> Markup {
    html! {
        table {
            thead { tr { th { "报告期" } th { "任务" } th { "责任单位" } th { "指标" } th { "地区" } th { "数值" } th { "进展说明" } th { "佐证" } th { "附件" } th { "填报" } } }
            tbody { @for r in list { tr {
                td { (r.period) } td { a href=(format!("/plan/tasks/{}", r.task)) { (r.task) } }
                td { (r.unit_name) @if r.consolidated { " " span.tag.ok { "牵头汇总" } } }
                td { @if r.indicator.is_empty() { "任务整体" } @else { (r.indicator) } }
                td { @if r.division.is_empty() { "全省" } @else { (r.division_name) } }
                td { @if let Some(v) = r.value { (v) } @else { "—" } }
                td { (r.narrative) } td { (r.evidence) }
                td { @if reader { @for a in &r.attachments { a href=(a.href) { (a.file_name) } " " } }
                     @else if !r.attachments.is_empty() { (r.attachments.len()) "个（工作人员可查看）" } }
                td { (r.reported_by) " " (r.reported_at.get(..10).unwrap_or("")) @if r.version > 1 { " （第" (r.version) "版）" } }
            } } }
        }
    }
}

/// 填报情况: who has not reported on the last full quarter, and the latest reports.
async fn reports_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let result = async {
        let today = crate::time::today();
        let missing = reports::missing(&state.db, &cadence::load(&state.db).await?, today).await?;
        let mut by_unit: Vec<(&lifeservice_domain::plan::UnitId, &str, Vec<&reports::Due>)> = Vec::new();
        for due in &missing {
            match by_unit.iter_mut().find(|(id, _, _)| **id == due.unit) {
                Some((_, _, list)) => list.push(due),
                None => by_unit.push((&due.unit, &due.unit_name, vec![due])),
            }
        }
        let list = reports::list(&state.db, None, None).await?;
        let body = html! {
            p.muted { a href="/plan" { "行动方案" } " › 进展填报" }
            h1 { "进展填报情况" }
            p { "各责任单位按任务的填报频次（默认按季度，部分任务按月）填报所负责任务的进展（数值、文字说明和佐证材料）；同一报告期再次填报即为更正，保留历史版本。" }
            @if ctx.user.is_some() { p { a.button href="/plan/desk" { "进展填报工作台（模板下载与上传）" } } }
            h2 { "到期未报（" (missing.len()) "项，截至" (today) "）" }
            @if by_unit.is_empty() { p { "全部按时填报。" } } @else {
                table {
                    thead { tr { th { "责任单位" } th { "未报任务（报告期）" } } }
                    tbody { @for (id, name, tasks) in &by_unit { tr {
                        td { strong { "逾期 " } a href=(format!("/plan/units/{id}")) { (name) } }
                        td { @for d in tasks { a href=(format!("/plan/tasks/{}", d.task)) { (d.task) } "（" (d.period) "） " } }
                    } } }
                }
            }
            h2 { "最近的填报" }
            (reports_table(&list[..list.len().min(200)], ctx.user.as_ref().is_some_and(attachments::can_read)))
        };
        Ok(("进展填报".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

/// Uploads a file as evidence to one of the account's unit's reports on the task.
fn attach_form(user: &crate::auth::Principal, list: &[reports::Report]) -> Markup {
    let own: Vec<&reports::Report> = list
        .iter()
        .filter(|r| user.plan_unit.as_deref() == Some(r.unit.as_str()))
        .collect();
    html! {
        @if !own.is_empty() {
            h3 { "上传佐证材料（附件）" }
            form method="post" action="/plan/attachments" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or(""));
                p { label { "附到本单位的填报 " select name="report" required {
                    @for r in &own { option value=(r.id) {
                        (r.period) " " @if r.indicator.is_empty() { "任务整体" } @else { (r.indicator) }
                        @if !r.division_name.is_empty() { " " (r.division_name) } @if r.consolidated { "（牵头汇总）" }
                    } }
                } } }
                p { label { "文件（pdf、ofd、jpg、png、doc、docx、xls、xlsx，最大10MB） " input type="file" name="file" required; } }
                button type="submit" { "上传附件" }
            }
        }
    }
}

fn indicator_table(indicators: &[IndicatorView]) -> Markup {
    html! {
        table {
            thead { tr { th { "指标" } th { "目标" } th { "范围" } th { "期限" } th { "当前值" } th { "状态" } th { "趋势研判" } } }
            tbody { @for i in indicators { tr {
                td { (i.name) br; small.muted { "原文：" (i.source_phrase) } }
                td { (bounds(i.min, i.max)) " " (i.unit) }
                td { (i.scope) }
                td { (i.deadline) }
                td { @if let Some(c) = &i.current { (format!("{:.2}", c.value)) br; small.muted { (c.formula) "（" (c.source) "）" } } @else { "—" } }
                td { (status_zh(i.status)) }
                td { @if let Some(o) = &i.outlook { (o.status_zh) br; small.muted { "外推到期限：" (o.projected) } } @else { "—" } }
            } } }
        }
        p.muted { small { (lifeservice_domain::plan::OUTLOOK_METHOD) } }
    }
}

fn bounds(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) if a == b => format!("{a}"),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        (Some(a), None) => format!("≥{a}"),
        (None, Some(b)) => format!("≤{b}"),
        (None, None) => "—".into(),
    }
}

/// The responsible units, lead first, each linking to its view.
fn unit_links(plan: &Plan, ids: &[lifeservice_domain::plan::UnitId]) -> Markup {
    html! {
        @for (n, unit) in ids.iter().filter_map(|id| plan.unit(id)).enumerate() {
            @if n > 0 { "、" }
            a href=(format!("/plan/units/{}", unit.id)) { (unit.name) }
        }
    }
}

fn search_form(query: Option<&str>) -> Markup {
    html! {
        form method="get" action="/plan" role="search" {
            label { "搜索任务（名称、内容、任务组或责任单位） " input type="search" name="q" value=(query.unwrap_or("")) maxlength="100"; }
            " " button type="submit" { "搜索" }
        }
    }
}

/// The tasks a search found, best first.
fn search_results(plan: &Plan, query: &str, tasks: &[&Task]) -> Markup {
    html! {
        @if tasks.is_empty() {
            p role="status" { (no_match(query)) }
        } @else {
            h2 role="status" { "“" (query) "”：找到" (tasks.len()) "项任务" }
            ol { @for task in tasks { li value=(task.number) {
                a href=(format!("/plan/tasks/{}", task.number)) { (task.title) }
                " " small.muted { (plan.group(task.group).map_or("", |g| g.title.as_str())) "；" } small { (unit_links(plan, &task.responsible_units)) }
            } } }
        }
        p { a href="/plan" { "查看全部任务" } }
    }
}

async fn plan_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(params): Query<TasksQuery>,
) -> Response {
    let result = async {
        let plan = Plan::shipped();
        let query = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = query {
            let tasks = selected_tasks(plan, Some(q))?;
            let body = html! {
                p.muted { a href="/plan" { "行动方案" } " › 搜索" }
                h1 { "搜索行动方案任务" }
                (search_form(Some(q)))
                (search_results(plan, q, &tasks))
            };
            return Ok((format!("搜索：{q}"), body));
        }
        let live = observed(&state).await?;
        let areas = views::AreaValues::load(&state).await?;
        let overall: Vec<IndicatorView> = plan.indicators_of(None).map(|i| indicator_view(i, &live)).collect();
        let body = html! {
            h1 { (plan.title) }
            p { a.button href="/plan/assessment" { "绩效考核（市、县得分与排名）" } " " a.button href="/plan/reports" { "进展填报情况" }
                @if ctx.user.is_some() { " " a.button href="/plan/desk" { "进展填报工作台" } } }
            (search_form(None))
            p.muted { "任务、责任单位和量化目标取自方案原文（已清理原文中的错误字符）；“当前值”由平台数据计算，公式见各指标。" }
            h2 { "总体目标" }
            (indicator_table(&overall))
            @for group in &plan.groups {
                h2 { (group.number) ". " (group.title) }
                ol {
                    @for task in plan.tasks_in(group.number) {
                        li value=(task.number) {
                            a href=(format!("/plan/tasks/{}", task.number)) { (task.title) }
                            " " small { (unit_links(plan, &task.responsible_units)) }
                            @if !task.milestone { " " span.tag { "量化目标" } }
                        }
                    }
                }
                @if let Some(p) = &group.paragraph { p { (p.text) } }
            }
            h2 { "分地区进展" }
            (views::province_map(&ctx, &areas))
            h2 { "责任单位" }
            p { @for unit in &plan.units { a href=(format!("/plan/units/{}", unit.id)) { (unit.name) } " " } }
        };
        Ok(("行动方案".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

/// The administrators' form that sets a task's cadence.
fn cadence_control(
    user: &crate::auth::Principal,
    task: u8,
    current: lifeservice_domain::plan::Cadence,
) -> Markup {
    html! {
        form method="post" action=(format!("/plan/tasks/{task}/cadence")) {
            input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or(""));
            label { "修改填报频次 " select name="cadence" {
                @for c in lifeservice_domain::plan::Cadence::ALL { option value=(c.as_str()) selected[c == current] { (c.zh()) } }
            } }
            " " button type="submit" { "保存" }
        }
    }
}

async fn task_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
) -> Response {
    let result = async {
        let plan = Plan::shipped();
        let task = number
            .parse::<u8>()
            .ok()
            .and_then(|n| plan.task(n))
            .ok_or_else(|| AppError::not_found(format!("任务“{number}”不存在（方案共{}项任务）", plan.tasks.len())))?;
        let cadences = cadence::load(&state.db).await?;
        let view = task_view(plan, task, &observed(&state).await?, &cadences);
        let task_reports = reports::list(&state.db, Some(task.number), None).await?;
        let due = cadences.of(task.number).last_due(crate::time::today());
        let consolidation = consolidation::Consolidation::load(&state.db, plan, task, due).await?;
        let own_unit = ctx.user.as_ref().and_then(|u| u.plan_unit.as_deref());
        let leads = consolidation.as_ref().is_some_and(|c| own_unit == Some(c.lead.id.as_str()));
        let choices: Vec<(String, String)> = view.indicators.iter().map(|i| (i.id.clone(), format!("{}（{}）", i.name, i.unit))).collect();
        let per_area = plan.indicators_of(Some(task.number)).any(|i| i.scope != lifeservice_domain::plan::Scope::Province);
        let reference = crate::reference::Reference::shipped();
        let body = html! {
            p.muted { a href="/plan" { "行动方案" } " › " (view.group) }
            h1 { (view.number) ". " (view.title) }
            p { (view.text) }
            p { strong { "责任单位：" } (unit_links(plan, &task.responsible_units)) " " small.muted { "（第一个为牵头单位）" } }
            @if view.indicators.is_empty() { p { "本任务为定性任务，按里程碑跟踪。" } } @else { (indicator_table(&view.indicators)) }
            @if per_area {
                p { "分地区进展：" @for city in reference.cities() { a href=(format!("/plan/cities/{city}")) { (reference.name(city)) } " " } }
            }
            h2 { "进展填报" }
            p { "填报频次：" strong { (view.cadence.zh()) } "；当前到期的报告期：" (view.due_period) }
            @if let Some(user) = ctx.user.as_ref().filter(|u| u.is_admin()) { (cadence_control(user, task.number, view.cadence)) }
            @if let Some(c) = &consolidation { @if !leads { (consolidation::status(c)) } }
            @if task_reports.is_empty() { p { "尚无填报。" } } @else { (reports_table(&task_reports, ctx.user.as_ref().is_some_and(attachments::can_read))) }
            @if let Some(user) = ctx.user.as_ref().filter(|u| u.plan_unit.as_ref().is_some_and(|p| task.responsible_units.iter().any(|r| r.as_str() == p))) {
                form method="post" action=(format!("/plan/tasks/{}/reports", task.number)) {
                    input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or(""));
                    p { label { "指标 " select name="indicator" {
                        option value="" { "任务整体进展" }
                        @for i in &view.indicators { option value=(i.id) { (i.id) " " (i.name) "（" (i.unit) "）" } }
                    } } }
                    p { label { "报告期（" (view.cadence.zh()) "，如 " (view.cadence.example()) "） " input name="period" required value=(view.due_period); } }
                    @if per_area { p { label { "地区（按市、县或乡镇考核的指标填写区划代码，如 140105；全省指标留空） " input name="division" maxlength="12"; } } }
                    p { label { "数值（按指标的单位，如 12 或 12家；可空） " input name="value"; } }
                    p { label { "进展说明" br; textarea name="narrative" rows="3" required maxlength="5000" {} } }
                    p { label { "佐证材料（文号、链接或文件名）" br; input name="evidence" maxlength="500"; } }
                    button type="submit" { "提交填报" }
                }
                (attach_form(user, &task_reports))
                @if let Some(c) = consolidation.as_ref().filter(|_| leads) { (consolidation::panel(c, user.csrf.as_deref().unwrap_or(""), &choices)) }
            }
        };
        Ok((view.title.clone(), body))
    }
    .await;
    render(&ctx, result)
}
