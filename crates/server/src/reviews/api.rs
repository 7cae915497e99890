//! The reviews API under `/api/v1`: reviewer sign-in, submitting and listing
//! reviews, receipts, replies, cases, appeals, moderation, the audited
//! reviewer view and rankings.

use super::service::{self, Actor, AppealDecision, AppealKind, CaseStep, Moderation};
use super::sha256_hex;
use super::store::{self, CaseFilter, CaseView, Quality, ReviewView};
use super::writer::Draft;
use crate::app::AppState;
use crate::auth::MaybeUser;
use crate::error::{AppError, AppResult};
use crate::registry::api::ApiJson;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use lifeservice_domain::review::{
    self as rules, Rating, aspects_for, normalize_mobile, phone_key, pseudonym,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

pub const REVIEWER_COOKIE: &str = "ls_reviewer";
const REVIEWER_SESSION_DAYS: i64 = 30;
const CODE_MINUTES: i64 = 10;
const MAX_CODE_ATTEMPTS: i64 = 5;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reviewer/code", post(send_code))
        .route("/api/v1/reviewer/session", post(sign_in))
        .route(
            "/api/v1/outlets/{id}/reviews",
            get(list_reviews).post(create_review),
        )
        .route("/api/v1/outlets/{id}/quality", get(outlet_quality))
        .route("/api/v1/outlets/{id}/receipts", post(issue_receipts))
        .route("/api/v1/reviews/held", get(list_held))
        .route("/api/v1/reviews/{id}", get(get_review))
        .route("/api/v1/reviews/{id}/reply", post(reply))
        .route("/api/v1/reviews/{id}/appeal", post(appeal))
        .route("/api/v1/reviews/{id}/moderation", post(moderate))
        .route("/api/v1/reviews/{id}/reviewer", get(reveal_reviewer))
        .route("/api/v1/appeals/{id}/decision", post(decide_appeal))
        .route("/api/v1/review-cases", get(list_cases))
        .route("/api/v1/review-cases/{id}", get(get_case))
        .route("/api/v1/review-cases/{id}/contact", post(case_contact))
        .route("/api/v1/review-cases/{id}/rectify", post(case_rectify))
        .route("/api/v1/review-cases/{id}/follow-up", post(case_follow_up))
        .route(
            "/api/v1/entities/{code}/review-tokens",
            post(issue_entity_token),
        )
        .route("/api/v1/quality/rankings", get(rankings))
}

fn parse_id(s: &str, what: &str) -> AppResult<i64> {
    s.parse()
        .map_err(|_| AppError::field("id", format!("{what}编号“{s}”应为整数")))
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

// ---------------------------------------------------------------------------
// Identities

/// A signed-in reviewer (phone + one-time code).
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub id: i64,
    pub pseudonym: String,
    /// Present for cookie sessions: forms and API calls must echo it.
    pub csrf: Option<String>,
}

pub async fn reviewer_by_token(
    state: &AppState,
    token: &str,
    with_csrf: bool,
) -> AppResult<Option<Reviewer>> {
    let row = sqlx::query(
        "SELECT s.reviewer_id, s.csrf_token, s.expires_at, v.pseudonym FROM reviewer_sessions s JOIN reviewers v ON v.id = s.reviewer_id WHERE s.token_hash = $1",
    )
    .bind(sha256_hex(token))
    .fetch_optional(state.db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires: String = row.try_get("expires_at")?;
    if !chrono::DateTime::parse_from_rfc3339(&expires).is_ok_and(|e| e > crate::time::now()) {
        return Ok(None);
    }
    Ok(Some(Reviewer {
        id: row.try_get("reviewer_id")?,
        pseudonym: row.try_get("pseudonym")?,
        csrf: with_csrf.then(|| row.try_get("csrf_token")).transpose()?,
    }))
}

/// The reviewer of a request, if signed in (`Bearer rv_…` or the reviewer cookie).
pub struct MaybeReviewer(pub Option<Reviewer>);

impl FromRequestParts<AppState> for MaybeReviewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        if let Some(token) = bearer(parts).filter(|t| t.starts_with("rv_")) {
            return Ok(MaybeReviewer(reviewer_by_token(state, token, false).await?));
        }
        match crate::auth::cookie_value(parts, REVIEWER_COOKIE) {
            Some(token) => Ok(MaybeReviewer(reviewer_by_token(state, token, true).await?)),
            None => Ok(MaybeReviewer(None)),
        }
    }
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let MaybeReviewer(r) = MaybeReviewer::from_request_parts(parts, state).await?;
        let r = r.ok_or(AppError::Unauthenticated)?;
        if let Some(expected) = &r.csrf
            && parts.method != axum::http::Method::GET
            && parts.uri.path().starts_with("/api/")
        {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if sent != Some(expected.as_str()) {
                return Err(AppError::Forbidden(
                    "表单已失效（CSRF校验失败），请刷新页面后重试".into(),
                ));
            }
        }
        Ok(r)
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        if let Some(token) = bearer(parts).filter(|t| t.starts_with("ent_")) {
            let row =
                sqlx::query("SELECT entity_id, label FROM entity_tokens WHERE token_hash = $1")
                    .bind(sha256_hex(token))
                    .fetch_optional(state.db.pool())
                    .await?
                    .ok_or(AppError::Unauthenticated)?;
            return Ok(Actor::Entity {
                entity_id: row.try_get("entity_id")?,
                label: row.try_get("label")?,
            });
        }
        let crate::auth::User(p) = crate::auth::User::from_request_parts(parts, state).await?;
        Actor::of_principal(&state.db, p).await
    }
}

// ---------------------------------------------------------------------------
// Sign-in

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    pub phone: String,
}

/// Sends a one-time code (six digits, ten minutes) through the configured sender.
pub async fn request_code(state: &AppState, phone: &str, ip: &str) -> AppResult<()> {
    let mobile = normalize_mobile(phone).map_err(|e| AppError::field("phone", e))?;
    let key = state.reviews.key(&state.db).await?;
    let pk = phone_key(&key, &mobile);
    let limiters = state.reviews.limiters();
    crate::auth::check_limits(
        &state.db,
        &[(&limiters.code_phone, &pk), (&limiters.code_ip, ip)],
    )
    .await?;
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let expires = (crate::time::now() + chrono::Duration::minutes(CODE_MINUTES)).to_rfc3339();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("INSERT INTO reviewer_codes (phone_key, code_hash, expires_at, created_at) VALUES ($1, $2, $3, $4)")
        .bind(pk.clone())
        .bind(sha256_hex(&format!("{pk}:{code}")))
        .bind(expires)
        .bind(crate::time::now_text())
        .execute(&mut *tx)
        .await?;
    crate::audit::record(
        &mut tx,
        "reviewer",
        "send_code",
        "reviewer_code",
        &pk[..16],
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    state.reviews.sender().send(&mobile, &code)?;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/reviewer/code", request_body = CodeBody, tag = "reviews", responses((status = 200, description = "验证码已发送（内置发送器写入服务器日志）"), (status = 400, description = "手机号无效"), (status = 429, description = "过于频繁")))]
async fn send_code(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<CodeBody>,
) -> AppResult<Json<Value>> {
    request_code(&state, &body.phone, &addr.ip().to_string()).await?;
    Ok(Json(
        json!({"sent": true, "expires_in_s": CODE_MINUTES * 60}),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub phone: String,
    pub code: String,
}

/// Checks a code; returns `(token, csrf, reviewer)`.
pub async fn verify_code(
    state: &AppState,
    phone: &str,
    code: &str,
) -> AppResult<(String, String, Reviewer)> {
    let mobile = normalize_mobile(phone).map_err(|e| AppError::field("phone", e))?;
    let key = state.reviews.key(&state.db).await?;
    let pk = phone_key(&key, &mobile);
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query("SELECT id, code_hash, expires_at, attempts FROM reviewer_codes WHERE phone_key = $1 AND used = 0 ORDER BY id DESC LIMIT 1")
        .bind(pk.clone())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Err(AppError::field("code", "请先获取验证码"));
    };
    let code_id: i64 = row.try_get("id")?;
    let expires: String = row.try_get("expires_at")?;
    let attempts: i64 = row.try_get("attempts")?;
    if attempts >= MAX_CODE_ATTEMPTS
        || !chrono::DateTime::parse_from_rfc3339(&expires).is_ok_and(|e| e > crate::time::now())
    {
        return Err(AppError::field("code", "验证码已失效，请重新获取"));
    }
    let expected: String = row.try_get("code_hash")?;
    if sha256_hex(&format!("{pk}:{}", code.trim())) != expected {
        sqlx::query("UPDATE reviewer_codes SET attempts = attempts + 1 WHERE id = $1")
            .bind(code_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Err(AppError::field("code", "验证码错误"));
    }
    sqlx::query("UPDATE reviewer_codes SET used = 1 WHERE id = $1")
        .bind(code_id)
        .execute(&mut *tx)
        .await?;
    let name = pseudonym(&key, &pk);
    sqlx::query("INSERT INTO reviewers (phone_key, pseudonym, contact_sealed, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (phone_key) DO NOTHING")
        .bind(pk.clone())
        .bind(name.clone())
        .bind(super::seal_contact(&key, &mobile))
        .bind(crate::time::now_text())
        .execute(&mut *tx)
        .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM reviewers WHERE phone_key = $1")
        .bind(pk)
        .fetch_one(&mut *tx)
        .await?;
    let token = format!("rv_{}", crate::auth::new_token());
    let csrf = crate::auth::new_token();
    let expires = (crate::time::now() + chrono::Duration::days(REVIEWER_SESSION_DAYS)).to_rfc3339();
    sqlx::query("INSERT INTO reviewer_sessions (token_hash, reviewer_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(sha256_hex(&token))
        .bind(id)
        .bind(csrf.clone())
        .bind(expires)
        .execute(&mut *tx)
        .await?;
    crate::audit::record(
        &mut tx,
        &format!("reviewer:{id}"),
        "sign_in",
        "reviewer",
        &id.to_string(),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((
        token,
        csrf.clone(),
        Reviewer {
            id,
            pseudonym: name,
            csrf: Some(csrf),
        },
    ))
}

pub fn reviewer_cookie(token: &str) -> String {
    format!(
        "{REVIEWER_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        REVIEWER_SESSION_DAYS * 86400
    )
}

#[utoipa::path(post, path = "/api/v1/reviewer/session", request_body = SignInBody, tag = "reviews", responses((status = 200, description = "{token, csrf, reviewer}：token 用作 Authorization: Bearer rv_…"), (status = 400, description = "验证码错误或失效")))]
async fn sign_in(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignInBody>,
) -> AppResult<Response> {
    let (token, csrf, reviewer) = verify_code(&state, &body.phone, &body.code).await?;
    let mut response =
        Json(json!({"token": token, "csrf": csrf, "reviewer": reviewer.pseudonym})).into_response();
    crate::auth::set_cookie(&mut response, &reviewer_cookie(&token));
    Ok(response)
}

// ---------------------------------------------------------------------------
// Submitting

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    pub rating: i64,
    #[serde(default)]
    pub aspects: BTreeMap<String, i64>,
    pub text: String,
    /// A service receipt code (服务凭证): the review is marked verified.
    pub receipt: Option<String>,
    /// The service date (default today); one review per outlet per occasion.
    pub service_date: Option<String>,
    /// `api` (default), `web` or `qr`.
    pub channel: Option<String>,
}

/// Validates a review and hands it to the process's review writer, which
/// moderates and stores it, updates the index and opens a case for a
/// published bad review, in one transaction with the submissions waiting
/// beside it (group commit, see [`super::writer`]).
pub async fn submit_review(
    state: &AppState,
    reviewer: &Reviewer,
    outlet_id: i64,
    body: ReviewBody,
    ip: &str,
) -> AppResult<ReviewView> {
    // The request is validated before the write transaction, and no
    // connection is held across the rate-limit check, which takes one of its
    // own on PostgreSQL: concurrent submissions holding every pooled
    // connection would otherwise wait on each other.
    let outlet = store::outlet_ref(&mut *state.db.pool().acquire().await?, outlet_id).await?;
    if !outlet.open {
        return Err(outlet_closed());
    }
    let rating = Rating::from_value(body.rating).ok_or_else(|| {
        AppError::field(
            "rating",
            format!(
                "评价等级“{}”无效，应为1（非常不满意）至5（非常满意）",
                body.rating
            ),
        )
    })?;
    let text = rules::validate_text(&body.text).map_err(|e| AppError::field("text", e))?;
    let allowed = outlet.major().map(aspects_for).unwrap_or_default();
    for (k, v) in &body.aspects {
        let aspect = rules::Aspect::parse(k)
            .filter(|a| allowed.contains(a))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|a| a.code()).collect();
                AppError::field(
                    "aspects",
                    format!("该类服务不评价“{k}”，可评价：{}", names.join(", ")),
                )
            })?;
        if !(1..=5).contains(v) {
            return Err(AppError::field(
                "aspects",
                format!("“{}”的评分应为1至5", aspect.zh()),
            ));
        }
    }
    let aspects: BTreeMap<&str, i64> = body
        .aspects
        .iter()
        .filter_map(|(k, v)| rules::Aspect::parse(k).map(|a| (a.code(), *v)))
        .collect();
    let channel = match body.channel.as_deref() {
        None | Some("api") => "api",
        Some("web") => "web",
        Some("qr") => "qr",
        Some(other) => {
            return Err(AppError::field(
                "channel",
                format!("未知的渠道“{other}”，应为 api、web 或 qr"),
            ));
        }
    };
    let today = crate::time::today();
    let (occasion, receipt) = match body
        .receipt
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(code) => {
            let code = code.to_ascii_uppercase();
            let row =
                sqlx::query("SELECT outlet_id, review_id FROM review_receipts WHERE code = $1")
                    .bind(code.clone())
                    .fetch_optional(state.db.pool())
                    .await?
                    .ok_or_else(|| AppError::field("receipt", format!("服务凭证“{code}”无效")))?;
            if row.try_get::<i64, _>("outlet_id")? != outlet.id {
                return Err(AppError::field("receipt", "该服务凭证不属于此服务网点"));
            }
            if row.try_get::<Option<i64>, _>("review_id")?.is_some() {
                return Err(receipt_used());
            }
            (format!("receipt:{code}"), Some(code))
        }
        None => {
            let date = match body
                .service_date
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    AppError::field("service_date", format!("服务日期“{d}”应为 YYYY-MM-DD"))
                })?,
                None => today,
            };
            if date > today || (today - date).num_days() > 90 {
                return Err(AppError::field(
                    "service_date",
                    "服务日期应在近90天内且不晚于今天",
                ));
            }
            (format!("date:{date}"), None)
        }
    };

    let limiters = state.reviews.limiters();
    crate::auth::check_limits(
        &state.db,
        &[
            (&limiters.account, &reviewer.id.to_string()),
            (&limiters.ip, ip),
            (&limiters.outlet, &outlet.id.to_string()),
        ],
    )
    .await?;

    state
        .reviews
        .write(
            &state.db,
            Draft {
                outlet,
                reviewer_id: reviewer.id,
                pseudonym: reviewer.pseudonym.clone(),
                occasion,
                rating,
                aspects: serde_json::to_value(&aspects).unwrap_or_else(|_| json!({})),
                text,
                receipt,
                channel,
                ip: ip.to_string(),
            },
        )
        .await
}

pub(super) fn outlet_closed() -> AppError {
    AppError::invalid("该服务网点已关闭，不能再评价")
}

pub(super) fn one_per_occasion() -> AppError {
    AppError::Conflict {
        field: Some("occasion".into()),
        message: "您已评价过该网点的本次服务（一次一评）".into(),
    }
}

pub(super) fn receipt_used() -> AppError {
    AppError::Conflict {
        field: Some("receipt".into()),
        message: "该服务凭证已被使用，不能重复评价".into(),
    }
}

#[utoipa::path(post, path = "/api/v1/outlets/{id}/reviews", request_body = ReviewBody, tag = "reviews", security(("bearer" = [])), responses((status = 200, body = ReviewView), (status = 400, description = "等级、内容、分项、凭证或日期无效"), (status = 401, description = "未登录评价人"), (status = 404, description = "网点不存在"), (status = 409, description = "一次一评 / 凭证已使用"), (status = 429, description = "频率限制")))]
async fn create_review(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    reviewer: Reviewer,
    ApiJson(body): ApiJson<ReviewBody>,
) -> AppResult<Json<ReviewView>> {
    let id = parse_id(&id, "网点")?;
    Ok(Json(
        submit_review(&state, &reviewer, id, body, &addr.ip().to_string()).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page: Option<String>,
    per_page: Option<String>,
}

fn paging(q: &PageQuery) -> AppResult<(i64, i64)> {
    let page: i64 = match q.page.as_deref() {
        None => 1,
        Some(p) => p
            .parse()
            .map_err(|_| AppError::field("page", format!("页码“{p}”应为数字")))?,
    };
    let per: i64 = match q.per_page.as_deref() {
        None => 20,
        Some(p) => p
            .parse()
            .map_err(|_| AppError::field("per_page", format!("每页条数“{p}”应为数字")))?,
    };
    if !(1..=10_000).contains(&page) {
        return Err(AppError::field("page", "页码应在1至10000之间"));
    }
    if !(1..=100).contains(&per) {
        return Err(AppError::field("per_page", "每页条数应在1至100之间"));
    }
    Ok(((page - 1) * per, per))
}

/// The quality of one outlet.
pub async fn quality_for(
    state: &AppState,
    outlet_id: i64,
    service_type: &str,
) -> AppResult<Quality> {
    let config = state.reviews.config();
    let mut q =
        store::quality_of(&state.db, &config, &[(outlet_id, service_type.to_string())]).await?;
    q.remove(&outlet_id)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("quality missing")))
}

#[utoipa::path(get, path = "/api/v1/outlets/{id}/reviews", tag = "reviews", params(("page" = Option<usize>, Query), ("per_page" = Option<usize>, Query)), responses((status = 200, description = "{outlet_id, quality, items: [ReviewView]}"), (status = 404, description = "网点不存在")))]
async fn list_reviews(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id, "网点")?;
    let (offset, limit) = paging(&q)?;
    let outlet = store::outlet_ref(&mut *state.db.pool().acquire().await?, id).await?;
    let quality = quality_for(&state, id, &outlet.service_type).await?;
    let items = store::published_reviews(&state.db, id, offset, limit).await?;
    Ok(Json(
        json!({"outlet_id": id, "quality": quality, "items": items}),
    ))
}

#[utoipa::path(get, path = "/api/v1/outlets/{id}/quality", tag = "reviews", responses((status = 200, body = Quality)))]
async fn outlet_quality(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<Quality>> {
    let id = parse_id(&id, "网点")?;
    let outlet = store::outlet_ref(&mut *state.db.pool().acquire().await?, id).await?;
    Ok(Json(quality_for(&state, id, &outlet.service_type).await?))
}

// ---------------------------------------------------------------------------
// Receipts, replies

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReceiptBody {
    count: Option<i64>,
}

fn receipt_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    (0..10)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[utoipa::path(post, path = "/api/v1/outlets/{id}/receipts", request_body = ReceiptBody, tag = "reviews", security(("bearer" = [])), responses((status = 200, description = "{codes: [...]} 服务凭证")))]
async fn issue_receipts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    ApiJson(body): ApiJson<ReceiptBody>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id, "网点")?;
    let count = body.count.unwrap_or(1);
    if !(1..=500).contains(&count) {
        return Err(AppError::field("count", "一次可生成1至500个服务凭证"));
    }
    let mut tx = state.db.begin_write().await?;
    let outlet = store::outlet_ref(&mut tx, id).await?;
    actor.may_act_for(&outlet)?;
    let now = crate::time::now_text();
    let codes: Vec<String> = (0..count).map(|_| receipt_code()).collect();
    for code in &codes {
        sqlx::query("INSERT INTO review_receipts (code, outlet_id, issued_by, issued_at) VALUES ($1, $2, $3, $4)")
            .bind(code.clone())
            .bind(id)
            .bind(actor.label())
            .bind(now.clone())
            .execute(&mut *tx)
            .await?;
    }
    crate::audit::record(
        &mut tx,
        &actor.label(),
        "issue_receipts",
        "outlet",
        &id.to_string(),
        None,
        Some(json!({"count": count})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({"outlet_id": id, "codes": codes})))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TextBody {
    text: String,
}

#[utoipa::path(post, path = "/api/v1/reviews/{id}/reply", request_body = TextBody, tag = "reviews", security(("bearer" = [])), responses((status = 200, body = ReviewView), (status = 409, description = "已回复过")))]
async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    ApiJson(body): ApiJson<TextBody>,
) -> AppResult<Json<ReviewView>> {
    let id = parse_id(&id, "评价")?;
    Ok(Json(
        service::reply(&state.db, &actor, id, &body.text).await?,
    ))
}

async fn get_review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MaybeUser(user): MaybeUser,
) -> AppResult<Json<ReviewView>> {
    let id = parse_id(&id, "评价")?;
    let mut view = store::review_by_id(&mut *state.db.pool().acquire().await?, id).await?;
    if view.status != "published" && user.is_none() {
        return Err(AppError::not_found(format!("评价{id}不存在")));
    }
    if user.is_none() {
        view.status_reason = None;
    }
    Ok(Json(view))
}

// ---------------------------------------------------------------------------
// Appeals and moderation

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AppealBody {
    /// `malicious` (恶意评价) or `mistaken` (错评误评).
    kind: String,
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/reviews/{id}/appeal", request_body = AppealBody, tag = "reviews", security(("bearer" = [])), responses((status = 200, description = "申诉已提交"), (status = 409, description = "已申诉过")))]
async fn appeal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    ApiJson(body): ApiJson<AppealBody>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id, "评价")?;
    let kind = AppealKind::parse(&body.kind)?;
    let appeal_id = service::appeal(&state.db, &actor, id, kind, &body.reason).await?;
    Ok(Json(
        json!({"id": appeal_id, "review_id": id, "kind": kind.code(), "status": "pending"}),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// Appeals: `uphold` (remove the review) or `reject`. Moderation: `publish` or `remove`.
    decision: String,
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/appeals/{id}/decision", request_body = DecisionBody, tag = "reviews", security(("bearer" = [])), responses((status = 200, description = "决定及理由"), (status = 403, description = "非该服务类型的主管部门")))]
async fn decide_appeal(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    ApiJson(body): ApiJson<DecisionBody>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id, "申诉")?;
    let decision = AppealDecision::parse(&body.decision)?;
    let review_id = service::decide_appeal(&state.db, &actor, id, decision, &body.reason).await?;
    Ok(Json(
        json!({"id": id, "review_id": review_id, "decision": decision.code(), "reason": body.reason.trim()}),
    ))
}

async fn moderate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    ApiJson(body): ApiJson<DecisionBody>,
) -> AppResult<Json<ReviewView>> {
    let id = parse_id(&id, "评价")?;
    let decision = Moderation::parse(&body.decision)?;
    let config = state.reviews.config();
    Ok(Json(
        service::moderate(&state.db, &config, &actor, id, decision, &body.reason).await?,
    ))
}

async fn list_held(
    State(state): State<AppState>,
    actor: Actor,
) -> AppResult<Json<Vec<ReviewView>>> {
    let Some(scope) = actor.decision_scope() else {
        return Ok(Json(Vec::new()));
    };
    let held = store::held_reviews(&state.db, &scope, 200).await?;
    Ok(Json(held.into_iter().map(|(v, _)| v).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevealQuery {
    reason: Option<String>,
}

/// The audited officer view: who wrote a review. Every look is logged with its reason.
#[utoipa::path(get, path = "/api/v1/reviews/{id}/reviewer", tag = "reviews", params(("reason" = String, Query, description = "查看理由（记入审计日志）")), security(("bearer" = [])), responses((status = 200, description = "评价人手机号（审计）")))]
async fn reveal_reviewer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    Query(q): Query<RevealQuery>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id, "评价")?;
    let reason = q.reason.unwrap_or_default();
    if reason.trim().chars().count() < 4 {
        return Err(AppError::field(
            "reason",
            "查看评价人身份须说明理由（至少4个字），该操作将被记录",
        ));
    }
    // Before the transaction: the first use of the key may store it, a write
    // of its own that would wait for this transaction's lock on SQLite.
    let key = state.reviews.key(&state.db).await?;
    let mut tx = state.db.begin_write().await?;
    let facts = store::review_facts(&mut tx, id).await?;
    let officer = actor.department_for(&facts.service_type)?.clone();
    let row = sqlx::query("SELECT pseudonym, contact_sealed FROM reviewers WHERE id = $1")
        .bind(facts.reviewer_id)
        .fetch_one(&mut *tx)
        .await?;
    let phone = super::open_contact(&key, &row.try_get::<String, _>("contact_sealed")?)
        .ok_or_else(|| anyhow::anyhow!("contact cannot be opened with the current key"))?;
    crate::audit::record(
        &mut tx,
        &officer.actor(),
        "reveal_reviewer",
        "review",
        &id.to_string(),
        None,
        Some(json!({"reason": reason.trim(), "reviewer_id": facts.reviewer_id})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({"review_id": id, "reviewer": row.try_get::<String, _>("pseudonym")?, "phone": phone, "audited": true}),
    ))
}

// ---------------------------------------------------------------------------
// Cases

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseQuery {
    open: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/review-cases", tag = "reviews", params(("open" = Option<bool>, Query)), security(("bearer" = [])), responses((status = 200, body = [CaseView])))]
async fn list_cases(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<CaseQuery>,
) -> AppResult<Json<Vec<CaseView>>> {
    let today = crate::time::today();
    store::escalate_overdue(&state.db, today).await?;
    let Some(scope) = actor.case_scope() else {
        return Ok(Json(Vec::new()));
    };
    let filter = match q.open.as_deref() {
        Some("1" | "true") => CaseFilter::Pending,
        _ => CaseFilter::All,
    };
    Ok(Json(
        store::cases(&state.db, &scope, filter, today, 0, 500).await?,
    ))
}

async fn get_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
) -> AppResult<Json<CaseView>> {
    let id = parse_id(&id, "工单")?;
    let c = store::case_by_id(
        &mut *state.db.pool().acquire().await?,
        id,
        crate::time::today(),
    )
    .await?;
    if !actor.may_see_case(&c) {
        return Err(AppError::Forbidden("无权限查看该整改工单".into()));
    }
    Ok(Json(c))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: String,
}

async fn case_contact(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    ApiJson(body): ApiJson<NoteBody>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(
        service::case_step(
            &state.db,
            &actor,
            parse_id(&id, "工单")?,
            CaseStep::Contact,
            &body.note,
        )
        .await?,
    ))
}

async fn case_rectify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    ApiJson(body): ApiJson<NoteBody>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(
        service::case_step(
            &state.db,
            &actor,
            parse_id(&id, "工单")?,
            CaseStep::Rectify,
            &body.note,
        )
        .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    pub rating: i64,
    pub text: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/review-cases/{id}/follow-up", request_body = FollowUpBody, tag = "reviews", security(("bearer" = [])), responses((status = 200, body = CaseView)))]
async fn case_follow_up(
    State(state): State<AppState>,
    Path(id): Path<String>,
    reviewer: Reviewer,
    ApiJson(body): ApiJson<FollowUpBody>,
) -> AppResult<Json<CaseView>> {
    let id = parse_id(&id, "工单")?;
    Ok(Json(
        service::follow_up(
            &state.db,
            &state.reviews.config(),
            reviewer.id,
            id,
            body.rating,
            body.text.as_deref(),
        )
        .await?,
    ))
}

// ---------------------------------------------------------------------------
// Entity tokens, rankings

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    label: String,
}

async fn issue_entity_token(
    State(state): State<AppState>,
    Path(code): Path<String>,
    crate::auth::User(user): crate::auth::User,
    ApiJson(body): ApiJson<TokenBody>,
) -> AppResult<Json<Value>> {
    let label = body.label.trim().to_string();
    if label.is_empty() || label.chars().count() > 50 {
        return Err(AppError::field("label", "标签应为1至50个字"));
    }
    let code = lifeservice_domain::CreditCode::parse(&code)
        .map_err(|e| AppError::field("credit_code", e.to_string()))?;
    let mut tx = state.db.begin_write().await?;
    let entity = crate::registry::store::entity_by_code(&mut tx, code.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(format!("统一社会信用代码为{code}的市场主体未登记")))?;
    if !user.is_admin() {
        let ids = crate::registry::store::outlet_ids_of_entity(&mut tx, entity.id).await?;
        let mut allowed = false;
        for id in ids {
            let o = store::outlet_ref(&mut tx, id).await?;
            allowed |= service::officer_in_scope(&user, &o.service_type, &o.division_code).is_ok();
        }
        if !allowed {
            return Err(AppError::Forbidden(
                "无权限：该主体没有本账号负责的网点".into(),
            ));
        }
    }
    let token = format!("ent_{}", crate::auth::new_token());
    sqlx::query("INSERT INTO entity_tokens (token_hash, entity_id, label, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(sha256_hex(&token)).bind(entity.id).bind(label.clone()).bind(user.actor()).bind(crate::time::now_text())
        .execute(&mut *tx).await?;
    crate::audit::record(
        &mut tx,
        &user.actor(),
        "create",
        "entity_token",
        code.as_str(),
        None,
        Some(json!({"label": label})),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({"token": token, "entity_id": entity.id, "label": label}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RankQuery {
    by: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/quality/rankings", tag = "reviews", params(("by" = Option<String>, Query, description = "type | county | city | department")), responses((status = 200, description = "{by, items, indicator: 实名差评回访整改率}")))]
async fn rankings(
    State(state): State<AppState>,
    Query(q): Query<RankQuery>,
) -> AppResult<Json<Value>> {
    let by = q.by.unwrap_or_else(|| "type".into());
    let config = state.reviews.config();
    let rows = store::rankings(&state.db, &config, &by).await?;
    let all = store::province_totals(&state.db).await?;
    let followed_rate = (all.cases > 0).then(|| all.followed as f64 / all.cases as f64);
    Ok(Json(json!({
        "by": by,
        "items": rows,
        "indicator": {"name": "实名差评回访整改率", "value": followed_rate, "target": 1.0, "cases": all.cases, "followed": all.followed}
    })))
}

/// Headers that let a browser cache a QR image for a day.
pub fn cache_headers(content_type: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=86400"),
    );
    h
}

/// Quality for a batch of outlets (search results, sort=quality).
pub async fn quality_batch(
    state: &AppState,
    outlets: &[(i64, String)],
) -> AppResult<HashMap<i64, Quality>> {
    let config = state.reviews.config();
    store::quality_of(&state.db, &config, outlets).await
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        send_code,
        sign_in,
        create_review,
        list_reviews,
        outlet_quality,
        issue_receipts,
        reply,
        appeal,
        decide_appeal,
        reveal_reviewer,
        list_cases,
        case_follow_up,
        rankings
    ),
    components(schemas(
        ReviewView,
        Quality,
        CaseView,
        CodeBody,
        SignInBody,
        ReviewBody,
        TextBody,
        AppealBody,
        DecisionBody,
        FollowUpBody,
        ReceiptBody
    ))
)]
struct ReviewsDoc;

/// The reviews part of `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ReviewsDoc as utoipa::OpenApi>::openapi()
}
