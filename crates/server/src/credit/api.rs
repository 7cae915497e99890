//! The credit API: the one-stop profile, submission by departments,
//! corrections, withdrawals, repairs and the exchange export.

use super::fields::{columns, kind_from_plural, plural};
use super::import::{CreditImportOptions, import_credit, template_csv};
use super::profile::{self, CreditProfile, Viewer};
use super::{CreditRecord, repair, store};
use crate::app::AppState;
use crate::auth::{MaybeUser, Principal, Role, User};
use crate::error::{AppError, AppResult};
use crate::registry::api::ApiJson;
use crate::registry::import::{ImportReport, Table, file_digest, record_run};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lifeservice_domain::CreditCode;
use lifeservice_domain::credit::{DisclosureRules, RecordKind};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/entities/{code}/credit", get(get_profile))
        .route("/api/v1/credit/rules", get(rules))
        .route("/api/v1/credit/templates/{kind}", get(template))
        .route("/api/v1/credit/export", get(export))
        .route("/api/v1/credit/{kind}", post(submit))
        .route("/api/v1/credit/records/{id}/withdraw", post(withdraw))
        .route("/api/v1/credit/records/{id}/repairs", post(apply_repair))
        .route("/api/v1/credit/repairs/{id}/decision", post(decide_repair))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_profile,
    rules,
    template,
    submit,
    withdraw,
    apply_repair,
    decide_repair,
    export
))]
pub struct CreditApi;

/// Officers see every record with its provenance; everyone else the public view.
pub fn viewer_of(user: Option<&Principal>) -> Viewer {
    match user.map(|u| &u.role) {
        Some(Role::Admin | Role::Department(_) | Role::Division(_)) => Viewer::Officer,
        _ => Viewer::Public,
    }
}

pub async fn load_profile(
    state: &AppState,
    code: &str,
    viewer: Viewer,
) -> AppResult<CreditProfile> {
    let code = CreditCode::parse(code).map_err(|e| AppError::field("code", e.to_string()))?;
    let mut conn = state.db.pool().acquire().await?;
    let entity = crate::registry::store::entity_by_code(&mut conn, code.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(format!("统一社会信用代码“{code}”未登记")))?;
    drop(conn);
    profile::load(state, entity.id, &entity.credit_code, &entity.name, viewer).await
}

/// The one-stop credit profile: licences, penalties in their window, inspections, listings, pledges and a summary.
#[utoipa::path(get, path = "/api/v1/entities/{code}/credit", tag = "credit", responses((status = 200, body = Value), (status = 404, body = Value)))]
async fn get_profile(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(code): Path<String>,
) -> AppResult<Json<CreditProfile>> {
    Ok(Json(
        load_profile(&state, &code, viewer_of(user.as_ref())).await?,
    ))
}

/// The disclosure-window rules in force, with their sources.
#[utoipa::path(get, path = "/api/v1/credit/rules", tag = "credit", responses((status = 200, body = Value)))]
async fn rules() -> Json<Value> {
    Json(json!({"disclosure": DisclosureRules::default().describe()}))
}

fn parse_kind(kind: &str) -> AppResult<RecordKind> {
    kind_from_plural(kind.trim_end_matches(".csv")).ok_or_else(|| {
        AppError::not_found(format!(
            "未知的记录类型“{kind}”，应为 licences、penalties、inspections、listings 或 pledges"
        ))
    })
}

/// The 双公示 template (CSV header row) of a kind: licences, penalties, inspections, listings, pledges.
#[utoipa::path(get, path = "/api/v1/credit/templates/{kind}", tag = "credit", responses((status = 200, content_type = "text/csv", body = String)))]
async fn template(Path(kind): Path<String>) -> AppResult<Response> {
    let kind = parse_kind(&kind)?;
    Ok(csv_response(
        template_csv(kind),
        &format!("{}-template.csv", plural(kind)),
    ))
}

fn csv_response(body: String, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The department a principal submits for; see [`CreditImportOptions::submitter`].
pub fn submitter_of(principal: &Principal) -> AppResult<Option<CreditCode>> {
    match (&principal.role, &principal.agency) {
        (Role::Entity(_), _) => Err(AppError::Forbidden("市场主体账号不能报送信用记录".into())),
        (_, Some(agency)) => Ok(Some(agency.code.clone())),
        (Role::Admin, None) => Ok(None),
        (_, None) => Err(AppError::Forbidden(
            "本账号未关联报送部门（统一社会信用代码），请联系管理员".into(),
        )),
    }
}

/// Imports a CSV or XLSX body in the template layout and reports each bad row.
pub async fn run_import(
    state: &AppState,
    principal: &Principal,
    kind: RecordKind,
    file_name: &str,
    bytes: &[u8],
    register_unknown: bool,
) -> AppResult<(ImportReport, i64)> {
    let options = CreditImportOptions {
        actor: principal.actor(),
        submitter: submitter_of(principal)?,
        register_unknown,
        rules: DisclosureRules::default(),
    };
    let table = Table::read(bytes).map_err(|e| AppError::field("file", e.to_string()))?;
    let report = import_credit(&state.db, kind, table, &options, None)
        .await
        .map_err(|e| match e {
            crate::registry::import::ImportError::Database(db) => AppError::from(db),
            other => AppError::field("file", other.to_string()),
        })?;
    let run_id = record_run(
        &state.db,
        plural(kind),
        file_name,
        &file_digest(bytes),
        &report,
        &principal.actor(),
    )
    .await?;
    state.refresh_index().await;
    Ok((report, run_id))
}

#[derive(Deserialize)]
struct SubmitParams {
    #[serde(default)]
    register_unknown: bool,
}

/// Submits a CSV or XLSX body of one kind as the signed-in department; returns the per-row report.
#[utoipa::path(post, path = "/api/v1/credit/{kind}", tag = "credit", params(("register_unknown" = Option<bool>, Query, description = "未登记主体登记为占位主体")), request_body(content = String, content_type = "text/csv"), responses((status = 200, body = Value), (status = 401, body = Value), (status = 403, body = Value)))]
async fn submit(
    State(state): State<AppState>,
    User(user): User,
    Path(kind): Path<String>,
    Query(params): Query<SubmitParams>,
    body: Bytes,
) -> AppResult<Json<ImportReport>> {
    let kind = parse_kind(&kind)?;
    if body.is_empty() {
        return Err(AppError::field(
            "file",
            "请求体为空：请提交CSV或XLSX文件内容",
        ));
    }
    let (report, _) =
        run_import(&state, &user, kind, "api", &body, params.register_unknown).await?;
    Ok(Json(report))
}

#[derive(Deserialize)]
pub struct ReasonBody {
    pub reason: String,
}

/// Withdraws a record (source department only); `{"reason"}`.
#[utoipa::path(post, path = "/api/v1/credit/records/{id}/withdraw", tag = "credit", request_body = Value, responses((status = 200, body = Value), (status = 403, body = Value)))]
async fn withdraw(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> AppResult<Json<Value>> {
    repair::withdraw(&state.db, &user, id, &body.reason).await?;
    state.refresh_index().await;
    Ok(Json(json!({"id": id, "state": "withdrawn"})))
}

#[derive(Deserialize)]
pub struct RepairBody {
    pub proof: String,
    pub pledge: String,
}

/// Applies for credit repair of a penalty (the entity's own account); `{"proof", "pledge"}`.
#[utoipa::path(post, path = "/api/v1/credit/records/{id}/repairs", tag = "credit", request_body = Value, responses((status = 200, body = Value), (status = 400, body = Value)))]
async fn apply_repair(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RepairBody>,
) -> AppResult<Json<repair::RepairApplication>> {
    let repair_id = repair::apply(&state.db, &user, id, &body.proof, &body.pledge).await?;
    Ok(Json(repair::by_id(&state.db, repair_id).await?))
}

#[derive(Deserialize)]
pub struct DecisionBody {
    pub approve: bool,
    #[serde(default)]
    pub reason: String,
}

/// Decides a repair application (source department only); `{"approve", "reason"}`.
#[utoipa::path(post, path = "/api/v1/credit/repairs/{id}/decision", tag = "credit", request_body = Value, responses((status = 200, body = Value), (status = 403, body = Value)))]
async fn decide_repair(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> AppResult<Json<repair::RepairApplication>> {
    repair::decide(&state.db, &user, id, body.approve, &body.reason).await?;
    state.refresh_index().await;
    Ok(Json(repair::by_id(&state.db, id).await?))
}

/// The exchange export for the provincial credit information sharing
/// platform: the public records of a kind in the 双公示 layout, or with
/// `since`, every record changed since then, each marked 公示 or 停止公示.
/// The exchange export in the 双公示 layout; with `since`, every record changed since then, marked 公示/停止公示.
#[utoipa::path(get, path = "/api/v1/credit/export", tag = "credit", params(("kind" = String, Query), ("format" = Option<String>, Query, description = "csv, xlsx or json"), ("since" = Option<String>, Query)), responses((status = 200, body = Value)))]
async fn export(
    State(state): State<AppState>,
    User(_user): User,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let kind = parse_kind(params.get("kind").map_or("", String::as_str))?;
    let since = params.get("since").map(|s| s.trim().to_string());
    let format = params.get("format").map_or("csv", String::as_str);
    let records = exported_records(&state, kind, since.as_deref()).await?;
    let table = export_table(kind, &records, since.is_some());
    let name = format!("{}-{}", plural(kind), crate::time::today());
    match format {
        "csv" => Ok(csv_response(table.to_csv(), &format!("{name}.csv"))),
        "json" => Ok(Json(table.to_json()).into_response()),
        "xlsx" => {
            let bytes = table.to_xlsx()?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.xlsx\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        other => Err(AppError::field(
            "format",
            format!("未知的格式“{other}”，应为 csv、xlsx 或 json"),
        )),
    }
}

async fn exported_records(
    state: &AppState,
    kind: RecordKind,
    since: Option<&str>,
) -> AppResult<Vec<CreditRecord>> {
    if let Some(since) = since
        && crate::time::parse_date(since).is_none()
        && chrono::DateTime::parse_from_rfc3339(since).is_err()
    {
        return Err(AppError::field(
            "since",
            format!("“{since}”不是有效的时间（应为 2026-11-01 或 RFC 3339 时间）"),
        ));
    }
    let rows = sqlx::query(&format!(
        "{} WHERE kind = $1 AND updated_at >= $2 ORDER BY id",
        store::RECORD_SELECT
    ))
    .bind(kind.code())
    .bind(since.unwrap_or("").to_string())
    .fetch_all(state.db.pool())
    .await?;
    let today = crate::time::today().to_string();
    rows.iter()
        .map(store::record_from_row)
        .filter(|r| since.is_some() || r.as_ref().is_ok_and(|r| r.is_public(&today)))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

/// Rows in the template's column order, masked as every export is.
pub struct ExportTable {
    pub headers: Vec<&'static str>,
    pub keys: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// The extra column of an incremental export.
const STATUS_HEADER: &str = "公示状态";

fn export_table(kind: RecordKind, records: &[CreditRecord], with_status: bool) -> ExportTable {
    let cols = columns(kind);
    let mut headers: Vec<&'static str> = cols.iter().map(|c| c.header).collect();
    let mut keys: Vec<&'static str> = cols.iter().map(|c| c.key).collect();
    if with_status {
        headers.push(STATUS_HEADER);
        keys.push("disclosure_status");
    }
    let today = crate::time::today().to_string();
    let rows = records
        .iter()
        .map(|r| {
            let public = r.is_public(&today);
            let masked = r.clone().public();
            let mut row: Vec<String> = cols
                .iter()
                .map(|c| {
                    let value = masked.fields.get(c.key).cloned().unwrap_or_default();
                    export_value(c.ty, value)
                })
                .collect();
            if with_status {
                row.push(if public { "公示" } else { "停止公示" }.to_string());
            }
            row
        })
        .collect();
    ExportTable {
        headers,
        keys,
        rows,
    }
}

/// Dates go out as the templates write them: `YYYY/MM/DD`, 长期 as `2099/12/31`.
fn export_value(ty: super::fields::Ty, value: String) -> String {
    use super::fields::Ty;
    match ty {
        Ty::Date | Ty::DateOrIndefinite if value == "长期" => "2099/12/31".to_string(),
        Ty::Date | Ty::DateOrIndefinite => value.replace('-', "/"),
        _ => value,
    }
}

impl ExportTable {
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.headers).expect("in-memory write");
        for row in &self.rows {
            writer.write_record(row).expect("in-memory write");
        }
        let bytes = writer.into_inner().expect("in-memory write");
        format!("\u{feff}{}", String::from_utf8(bytes).expect("utf-8 cells"))
    }

    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    Value::Object(
                        self.keys
                            .iter()
                            .zip(row)
                            .filter(|(_, v)| !v.is_empty())
                            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    pub fn to_xlsx(&self) -> anyhow::Result<Vec<u8>> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in self.headers.iter().enumerate() {
            sheet.write_string(0, c as u16, *h)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                sheet.write_string(r as u32 + 1, c as u16, v)?;
            }
        }
        Ok(book.save_to_buffer()?)
    }
}
