//! Sign-in and the administration pages: import uploads, import history,
//! accounts, API tokens and the audit log.

use super::{Principal, Role, SESSION_COOKIE, User, verify_csrf};
use crate::app::AppState;
use crate::credit::fields::{kind_from_plural, plural as credit_plural};
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, Lang, render};
use crate::registry::export;
use crate::registry::fields::RecordKind;
use crate::registry::import::{
    ImportOptions, ImportReport, Table, file_digest, import_table, record_run, template_csv,
};
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use lifeservice_domain::credit::RecordKind as CreditKind;
use lifeservice_domain::geo::Datum;
use maud::{Markup, html};
use serde::Deserialize;
use sqlx::Row;
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/admin", get(admin_home))
        .route("/admin/import", get(import_page).post(import_upload))
        .route("/admin/imports/{id}/rejects.csv", get(rejects_download))
        .route("/admin/templates/{kind}", get(template_download))
        .route("/admin/exports/{kind}", get(export_download))
        .route("/admin/users", get(users_page).post(create_user))
        .route("/admin/tokens", post(create_token))
        .route("/admin/audit", get(audit_page))
}

fn csrf_field(user: &Principal) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or("")); }
}

fn login_form(l: Lang, error: Option<&str>) -> Markup {
    html! {
        h1 { (l.t("工作人员登录", "Staff sign-in")) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action="/login" {
            p { label { (l.t("用户名", "Username")) br; input name="username" autocomplete="username" required; } }
            p { label { (l.t("密码", "Password")) br; input name="password" type="password" autocomplete="current-password" required; } }
            button type="submit" { (l.t("登录", "Sign in")) }
        }
    }
}

async fn login_page(ctx: Ctx) -> Response {
    render(&ctx, Ok(("登录".into(), login_form(ctx.lang, None))))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = addr.ip().to_string();
    if let Err(e) = super::check_limits(&state.db, &[(&state.login_limiter, &ip)]).await {
        return render(&ctx, Err(e));
    }
    match super::login(&state.db, form.username.trim(), &form.password).await {
        Ok((token, _)) => {
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                12 * 3600
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to("/admin")).into_response()
        }
        Err(e) => {
            let page = render(
                &ctx,
                Ok(("登录".into(), login_form(ctx.lang, Some(&e.to_string())))),
            );
            (e.status(), page).into_response()
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    User(user): User,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    verify_csrf(&user, form.csrf.as_deref())?;
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            kv.trim()
                .strip_prefix(&format!("{SESSION_COOKIE}="))
                .map(str::to_string)
        });
    if let Some(token) = token {
        super::logout(&state.db, &token).await?;
    }
    let expire = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok(([(header::SET_COOKIE, expire)], Redirect::to("/")).into_response())
}

/// Signed-in pages redirect anonymous visitors to the sign-in page.
fn signed_in(ctx: &Ctx) -> Result<&Principal, Redirect> {
    ctx.user.as_ref().ok_or_else(|| Redirect::to("/login"))
}

async fn admin_home(ctx: Ctx) -> Response {
    let user = match signed_in(&ctx) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let l = ctx.lang;
    let body = html! {
        h1 { (l.t("管理", "Administration")) }
        p { (user.display_name) "（" (user.role.zh()) @if !user.role.scope_text().is_empty() { "，范围：" (user.role.scope_text()) } "）" }
        ul {
            li { a href="/admin/import" { (l.t("导入市场主体、服务网点或信用记录（Excel/CSV）", "Import entities, outlets or credit records")) } }
            li { a href="/admin/credit" { (l.t("信用信息：修复申请、撤回", "Credit: repairs and withdrawals")) } }
            @if user.plan_unit.is_some() || user.is_admin() {
                li { a href="/plan/desk" { (l.t("行动方案进展填报（模板下载与上传）", "Action plan progress reports")) } }
            }
            (crate::reviews::desk::admin_links(l, user))
            @if !matches!(user.role, crate::auth::Role::Entity(_)) {
                li { a href="/stats/warnings" { (l.t("统计监测趋势预警：逆目标变化和落后地区", "Trend warnings: indicators against target, areas behind peers")) } }
            }
            @if user.is_admin() {
                li { a href="/admin/users" { (l.t("账号管理", "Accounts")) } }
                li { a href="/admin/audit" { (l.t("操作日志", "Audit log")) } }
            }
        }
        form method="post" action="/admin/tokens" {
            (csrf_field(user))
            label { (l.t("新建API令牌，用途：", "New API token, label: ")) input name="label" required maxlength="50"; }
            " " button type="submit" { (l.t("生成", "Create")) }
        }
        form method="post" action="/logout" { (csrf_field(user)) button type="submit" { (l.t("退出登录", "Sign out")) } }
    };
    render(&ctx, Ok(("管理".into(), body)))
}

/// The latest imports this account may see: an administrator all of them,
/// anyone else their own (file names and rejected rows are the uploader's).
async fn import_history(state: &AppState, user: &Principal) -> AppResult<Vec<sqlx::any::AnyRow>> {
    Ok(sqlx::query("SELECT id, at, actor, kind, file_name, rows_read, inserted, updated, unchanged, rejected FROM imports WHERE actor = $1 OR $2 ORDER BY id DESC LIMIT 20")
        .bind(user.actor())
        .bind(user.is_admin())
        .fetch_all(state.db.pool())
        .await?)
}

fn import_form(l: Lang, user: &Principal) -> Markup {
    html! {
        form method="post" action="/admin/import" enctype="multipart/form-data" {
            (csrf_field(user))
            p { label { (l.t("数据类型 ", "Kind ")) select name="kind" {
                option value="outlets" { (l.t("服务网点", "Outlets")) }
                option value="entities" { (l.t("市场主体", "Entities")) }
                @for kind in CreditKind::ALL {
                    option value=(credit_plural(*kind)) { (l.t("信用记录：", "Credit: ")) (kind.zh()) }
                }
            } } }
            p { label { input type="checkbox" name="register_unknown" value="true"; " " (l.t("信用记录的主体未登记时，登记为“未登记主体”（否则拒绝该行）", "Register unknown entities of credit records as unregistered (otherwise reject the row)")) } }
            p { label { (l.t("坐标系 ", "Coordinates ")) select name="crs" {
                option value="wgs84" { "WGS-84（GPS、天地图）" }
                option value="gcj02" { "GCJ-02（高德、腾讯地图）" }
            } } }
            p { label { (l.t("文件（.xlsx 或 .csv，不超过32MB）", "File (.xlsx or .csv, up to 32 MB)")) br; input type="file" name="file" accept=".xlsx,.xls,.csv" required; } }
            button type="submit" { (l.t("上传并导入", "Upload and import")) }
        }
        p { (l.t("模板：", "Templates: ")) a href="/admin/templates/outlets" { (l.t("服务网点", "outlets")) } " · " a href="/admin/templates/entities" { (l.t("市场主体", "entities")) }
            @for kind in CreditKind::ALL { " · " a href=(format!("/api/v1/credit/templates/{}", credit_plural(*kind))) { (kind.zh()) } } }
        @if !matches!(user.role, Role::Entity(_)) {
            p {
                (l.t("导出本账号负责的在册数据（导入模板的列，可在Excel中修改后原样导回）：", "Export the records this account keeps, in the template's columns, to edit and upload again: "))
                @for (kind, name) in [("outlets", l.t("服务网点", "outlets")), ("entities", l.t("市场主体", "entities"))] {
                    (name) " " a href=(format!("/admin/exports/{kind}")) { "Excel" } " / " a href=(format!("/admin/exports/{kind}?format=csv")) { "CSV" } " "
                }
            }
            p.muted { (l.t("导出文件含联系电话等个人信息，未做遮蔽，下载将记入操作日志，请妥善保管。", "The file holds unmasked personal data such as phone numbers; the download is logged.")) }
        }
    }
}

async fn import_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let user = match signed_in(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return r.into_response(),
    };
    let result = async {
        let l = ctx.lang;
        let history = import_history(&state, &user).await?;
        let body = html! {
            h1 { (l.t("导入数据", "Import")) }
            (import_form(l, &user))
            h2 { (l.t("最近导入", "Recent imports")) }
            table {
                thead { tr { th { "时间" } th { "操作人" } th { "类型" } th { "文件" } th { "行数" } th { "新增" } th { "更新" } th { "未变" } th { "拒绝" } } }
                tbody { @for r in &history { tr {
                    td { (r.try_get::<String, _>("at").unwrap_or_default()) }
                    td { (r.try_get::<String, _>("actor").unwrap_or_default()) }
                    td { (r.try_get::<String, _>("kind").unwrap_or_default()) }
                    td { (r.try_get::<String, _>("file_name").unwrap_or_default()) }
                    @for col in ["rows_read", "inserted", "updated", "unchanged"] { td { (r.try_get::<i64, _>(col).unwrap_or_default()) } }
                    td {
                        @let rejected = r.try_get::<i64, _>("rejected").unwrap_or_default();
                        (rejected)
                        @if rejected > 0 { " " a href=(format!("/admin/imports/{}/rejects.csv", r.try_get::<i64, _>("id").unwrap_or_default())) { "下载" } }
                    }
                } } }
            }
        };
        Ok(("导入数据".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

/// What an upload holds: registry rows or credit records of one kind.
#[derive(Clone, Copy)]
enum UploadKind {
    Registry(RecordKind),
    Credit(CreditKind),
}

impl UploadKind {
    fn parse(value: &str) -> AppResult<UploadKind> {
        RecordKind::parse(value)
            .map(UploadKind::Registry)
            .or_else(|| kind_from_plural(value).map(UploadKind::Credit))
            .ok_or_else(|| AppError::field("kind", format!("未知的数据类型“{value}”")))
    }
}

/// The uploaded form: kind, crs, csrf and the file.
struct Upload {
    kind: UploadKind,
    register_unknown: bool,
    datum: Datum,
    csrf: Option<String>,
    file_name: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut multipart: Multipart) -> AppResult<Upload> {
    let mut upload = Upload {
        kind: UploadKind::Registry(RecordKind::Outlets),
        register_unknown: false,
        datum: Datum::Wgs84,
        csrf: None,
        file_name: String::new(),
        bytes: Vec::new(),
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::invalid(format!("上传内容无法解析：{e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                upload.file_name = field.file_name().unwrap_or("upload").to_string();
                upload.bytes = crate::tabular::file_bytes(field).await?;
            }
            other => {
                let value = field
                    .text()
                    .await
                    .map_err(|e| AppError::invalid(e.to_string()))?;
                match other {
                    "kind" => upload.kind = UploadKind::parse(&value)?,
                    "register_unknown" => upload.register_unknown = value == "true",
                    "crs" => {
                        upload.datum = if value == "gcj02" {
                            Datum::Gcj02
                        } else {
                            Datum::Wgs84
                        }
                    }
                    "csrf" => upload.csrf = Some(value),
                    _ => {}
                }
            }
        }
    }
    if upload.bytes.is_empty() {
        return Err(AppError::field(
            "file",
            "请选择要上传的文件（文件不能为空）",
        ));
    }
    Ok(upload)
}

fn report_view(l: Lang, report: &ImportReport, run_id: i64) -> Markup {
    html! {
        p.ok role="status" { (report.summary_zh()) }
        @if !report.ignored_columns.is_empty() { p.muted { (l.t("未识别的列（已忽略）：", "Ignored columns: ")) (report.ignored_columns.join("、")) } }
        @if !report.rejects.is_empty() {
            h2 { (l.t("被拒绝的行", "Rejected rows")) }
            p { a href=(format!("/admin/imports/{run_id}/rejects.csv")) { (l.t("下载拒绝明细（CSV）", "Download rejects (CSV)")) } }
            table {
                thead { tr { th { "行号" } th { "列" } th { "原因" } } }
                tbody { @for r in report.rejects.iter().take(500) { tr { td { (r.row) } td { (r.column) } td { (r.reason) } } } }
            }
        }
    }
}

async fn import_upload(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> Response {
    let user = match signed_in(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return r.into_response(),
    };
    let result = async {
        let l = ctx.lang;
        let upload = read_upload(multipart).await?;
        verify_csrf(&user, upload.csrf.as_deref())?;
        let (report, run_id) = match upload.kind {
            UploadKind::Registry(kind) => {
                let table = Table::read(&upload.bytes).map_err(|e| AppError::field("file", e.to_string()))?;
                let options = ImportOptions { datum: upload.datum, actor: user.actor(), synthetic: false, principal: Some(user.clone()) };
                let report = import_table(&state.db, kind, table, &options, None).await.map_err(|e| match e {
                    crate::registry::import::ImportError::Database(db) => AppError::from(db),
                    other => AppError::field("file", other.to_string()),
                })?;
                let run_id = record_run(&state.db, kind.as_str(), &upload.file_name, &file_digest(&upload.bytes), &report, &user.actor()).await?;
                state.refresh_index().await;
                (report, run_id)
            }
            UploadKind::Credit(kind) => {
                crate::credit::api::run_import(&state, &user, kind, &upload.file_name, &upload.bytes, upload.register_unknown).await?
            }
        };
        let body = html! {
            h1 { (l.t("导入结果", "Import result")) ": " (upload.file_name) }
            (report_view(l, &report, run_id))
            p { a href="/admin/import" { (l.t("继续导入", "Import another file")) } " · " a href="/search" { (l.t("在门户中查看", "See on the portal")) } }
        };
        Ok(("导入结果".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

async fn rejects_download(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let csv: Option<String> =
        sqlx::query_scalar("SELECT rejects_csv FROM imports WHERE id = $1 AND (actor = $2 OR $3)")
            .bind(id)
            .bind(user.actor())
            .bind(user.is_admin())
            .fetch_optional(state.db.pool())
            .await?;
    // Another account's import is as absent as a missing one.
    let csv = csv.ok_or_else(|| AppError::not_found("导入记录不存在"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rejects.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

async fn template_download(Path(kind): Path<String>) -> AppResult<Response> {
    let kind = RecordKind::parse(&kind).ok_or_else(|| AppError::not_found("模板不存在"))?;
    let disposition = format!("attachment; filename=\"{}-template.csv\"", kind.as_str());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        template_csv(kind),
    )
        .into_response())
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

/// The rows this account may write, in the import template's columns and
/// unmasked, to edit in Excel and upload again. The download is logged, as
/// it carries personal data.
async fn export_download(
    State(state): State<AppState>,
    User(user): User,
    Path(kind): Path<String>,
    Query(query): Query<ExportQuery>,
) -> AppResult<Response> {
    let kind = RecordKind::parse(&kind).ok_or_else(|| AppError::not_found("没有这类数据"))?;
    if matches!(user.role, Role::Entity(_)) {
        return Err(AppError::Forbidden("市场主体账号不能导出登记数据".into()));
    }
    let xlsx = match query.format.as_deref().unwrap_or("xlsx") {
        "xlsx" => true,
        "csv" => false,
        other => {
            return Err(AppError::field(
                "format",
                format!("不支持的格式“{other}”（可选 xlsx、csv）"),
            ));
        }
    };
    let table = export::importable_rows(&state.db, kind, Some(&user)).await?;
    let body = if xlsx {
        export::xlsx_bytes(&table).map_err(|e| AppError::field("format", e.to_string()))?
    } else {
        export::to_csv(&table)
    };
    let mut conn = state.db.pool().acquire().await?;
    let format = if xlsx { "xlsx" } else { "csv" };
    let after = serde_json::json!({ "rows": table.records.len(), "format": format });
    crate::audit::record(
        &mut conn,
        &user.actor(),
        "export",
        kind.as_str(),
        "for-import",
        None,
        Some(after),
    )
    .await?;
    let content_type = if xlsx {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "text/csv; charset=utf-8"
    };
    let file_name = format!(
        "{}-{}.{format}",
        kind.as_str(),
        crate::time::today().format("%Y%m%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A stored role as the account list shows it.
fn role_zh(role: &str) -> &str {
    match role {
        "admin" => "管理员",
        "department" => "部门工作人员",
        "division" => "属地工作人员",
        "entity" => "市场主体",
        other => other,
    }
}

async fn users_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let user = match signed_in(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return r.into_response(),
    };
    let result = async {
        user.require_admin()?;
        let rows = sqlx::query("SELECT username, display_name, role, scope, created_at FROM users ORDER BY id").fetch_all(state.db.pool()).await?;
        let body = html! {
            h1 { "账号管理" }
            table {
                thead { tr { th { "用户名" } th { "名称" } th { "角色" } th { "范围" } th { "创建时间" } } }
                tbody { @for r in &rows {
                    @let text = |c: &str| r.try_get::<String, _>(c).unwrap_or_default();
                    tr {
                        td { (text("username")) } td { (text("display_name")) }
                        td { (role_zh(&text("role"))) } td { (text("scope")) }
                        td { (crate::time::minute_text(&text("created_at"))) }
                    }
                } }
            }
            h2 { "新建账号" }
            form method="post" action="/admin/users" {
                (csrf_field(&user))
                p { label { "用户名 " input name="username" required; } }
                p { label { "名称（如：省民政厅）" input name="display_name" required; } }
                p { label { "初始密码（至少10位） " input name="password" type="password" required minlength="10"; } }
                p { label { "角色 " select name="role" {
                    option value="department" { "部门工作人员（按服务类型）" }
                    option value="division" { "属地工作人员（按区划）" }
                    option value="admin" { "管理员" }
                } } }
                p { label { "范围（部门：服务类型或大类代码，逗号分隔，如 03,0107；属地：区划代码，如 140105）" input name="scope"; } }
                button type="submit" { "创建" }
            }
        };
        Ok(("账号管理".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: Option<String>,
    username: String,
    display_name: String,
    password: String,
    role: String,
    scope: Option<String>,
}

async fn create_user(
    State(state): State<AppState>,
    ctx: Ctx,
    User(user): User,
    Form(form): Form<NewUserForm>,
) -> Response {
    let result = async {
        user.require_admin()?;
        verify_csrf(&user, form.csrf.as_deref())?;
        let role = Role::parse(&form.role, form.scope.as_deref().unwrap_or("")).map_err(|e| AppError::field("scope", e))?;
        super::add_user(&state.db, form.username.trim(), form.display_name.trim(), &form.password, &role).await?;
        Ok(("账号已创建".to_string(), html! { p.ok { "账号 " (form.username) " 已创建。" } p { a href="/admin/users" { "返回账号管理" } } }))
    }
    .await;
    render(&ctx, result)
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: Option<String>,
    label: String,
}

async fn create_token(
    State(state): State<AppState>,
    ctx: Ctx,
    User(user): User,
    Form(form): Form<TokenForm>,
) -> Response {
    let result = async {
        verify_csrf(&user, form.csrf.as_deref())?;
        let token = super::create_api_token(&state.db, user.user_id, form.label.trim()).await?;
        Ok((
            "API令牌".to_string(),
            html! {
                h1 { "API令牌已生成" }
                p { "请立即复制保存，此令牌只显示一次：" }
                pre { code { (token) } }
                p.muted { "调用写接口时在请求头中加入：Authorization: Bearer <令牌>" }
            },
        ))
    }
    .await;
    render(&ctx, result)
}

async fn audit_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let user = match signed_in(&ctx) {
        Ok(u) => u.clone(),
        Err(r) => return r.into_response(),
    };
    let result = async {
        user.require_admin()?;
        let entries = crate::audit::recent(&state.db, None, 200).await?;
        let body = html! {
            h1 { "操作日志" }
            p.muted { "日志只可追加，不可修改或删除。" }
            table {
                thead { tr { th { "时间" } th { "操作人" } th { "操作" } th { "对象" } th { "变更前" } th { "变更后" } } }
                tbody { @for e in &entries { tr {
                    td { (e.at.get(..19).unwrap_or(&e.at).replace('T', " ")) } td { (e.actor) }
                    td { (crate::audit::action_zh(&e.action)) } td { (crate::audit::object_zh(&e.object_type)) " " (e.object_id) }
                    td { small { (e.before.as_deref().unwrap_or("")) } } td { small { (e.after.as_deref().unwrap_or("")) } }
                } } }
            }
        };
        Ok(("操作日志".to_string(), body))
    }
    .await;
    render(&ctx, result)
}
