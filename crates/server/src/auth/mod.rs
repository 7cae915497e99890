//! Accounts, roles and scopes, sessions with CSRF tokens, API tokens and
//! rate limits.
//!
//! Least privilege: an **admin** manages everything; a **department officer**
//! writes only outlets of the service types (or NBS major categories) in its
//! scope; a **division officer** writes only inside its division and below.

pub mod pages;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::storage::{Backend, Db};
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lifeservice_domain::{CreditCode, DivisionCode, ServiceType};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "ls_session";
const SESSION_HOURS: i64 = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    /// Scoped to service type codes (`0101`) or major categories (`03`).
    Department(Vec<String>),
    Division(DivisionCode),
    /// A market entity's own account (credit repair applications, replies).
    Entity(CreditCode),
}

impl Role {
    pub fn parse(role: &str, scope: &str) -> Result<Role, String> {
        match role {
            "admin" => Ok(Role::Admin),
            "department" => {
                let codes: Vec<String> = scope
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if codes.is_empty() {
                    return Err("部门账号须指定服务类型范围（如 0101,03）".into());
                }
                for c in &codes {
                    let valid = ServiceType::parse(c).is_some()
                        || lifeservice_domain::MajorCategory::parse(c).is_some();
                    if !valid {
                        return Err(format!("未知的服务类型或大类“{c}”"));
                    }
                }
                Ok(Role::Department(codes))
            }
            "division" => DivisionCode::parse(scope)
                .map(Role::Division)
                .map_err(|e| format!("区划账号须指定区划代码：{e}")),
            "entity" => CreditCode::parse(scope)
                .map(Role::Entity)
                .map_err(|e| format!("主体账号须指定统一社会信用代码：{e}")),
            other => Err(format!(
                "未知的角色“{other}”，应为 admin、department、division 或 entity"
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Department(_) => "department",
            Role::Division(_) => "division",
            Role::Entity(_) => "entity",
        }
    }

    pub fn scope_text(&self) -> String {
        match self {
            Role::Admin => String::new(),
            Role::Department(codes) => codes.join(","),
            Role::Division(code) => code.to_string(),
            Role::Entity(code) => code.to_string(),
        }
    }

    pub fn zh(&self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Department(_) => "部门工作人员",
            Role::Division(_) => "属地工作人员",
            Role::Entity(_) => "市场主体",
        }
    }
}

/// A government agency, by its 统一社会信用代码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub code: CreditCode,
    pub name: String,
}

/// The signed-in account of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The agency a department account acts for: the source unit of the
    /// credit records it submits (谁产生、谁提供、谁负责).
    pub agency: Option<Agency>,
    /// The plan unit (`U01`…) this account reports progress for.
    pub plan_unit: Option<String>,
    /// Present for browser sessions; forms must echo it.
    pub csrf: Option<String>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self) -> AppResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("仅管理员可以进行此操作".into()))
        }
    }

    /// May this account write an outlet of `service_type` in `division`?
    pub fn may_write_outlet(
        &self,
        service_type: ServiceType,
        division: &DivisionCode,
    ) -> Result<(), String> {
        match &self.role {
            Role::Admin => Ok(()),
            Role::Department(codes) => {
                if codes
                    .iter()
                    .any(|c| c == service_type.code() || *c == service_type.major().code())
                {
                    Ok(())
                } else {
                    Err(format!("无权限：本账号不负责“{}”类服务", service_type.zh()))
                }
            }
            Role::Division(scope) => {
                if scope.contains(division) {
                    Ok(())
                } else {
                    Err(format!("无权限：该网点不在本账号负责的区划（{scope}）内"))
                }
            }
            Role::Entity(_) => Err("无权限：市场主体账号不能修改登记信息".into()),
        }
    }

    /// Entities: admins and department officers anywhere, division officers in their division.
    pub fn may_write_entity(&self, division: &DivisionCode) -> Result<(), String> {
        match &self.role {
            Role::Admin | Role::Department(_) => Ok(()),
            Role::Division(scope) if scope.contains(division) => Ok(()),
            Role::Division(scope) => {
                Err(format!("无权限：该主体不在本账号负责的区划（{scope}）内"))
            }
            Role::Entity(_) => Err("无权限：市场主体账号不能修改登记信息".into()),
        }
    }

    /// Audit actor label: `username`.
    pub fn actor(&self) -> String {
        self.username.clone()
    }
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A random URL-safe token of 32 bytes, hex encoded.
pub fn new_token() -> String {
    random_bytes::<32>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

pub async fn add_user(
    db: &Db,
    username: &str,
    display_name: &str,
    password: &str,
    role: &Role,
) -> AppResult<i64> {
    if username.trim().is_empty() || username.chars().any(char::is_whitespace) {
        return Err(AppError::field("username", "用户名不能为空且不能含空格"));
    }
    if password.chars().count() < 10 {
        return Err(AppError::field("password", "密码至少10位"));
    }
    let hash = hash_password(password)?;
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, role, scope, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(username.to_string())
    .bind(display_name.to_string())
    .bind(hash)
    .bind(role.as_str())
    .bind(role.scope_text())
    .bind(crate::time::now_text())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict { .. } => AppError::Conflict { field: Some("username".into()), message: format!("用户名“{username}”已存在") },
        other => other,
    })?;
    let after = serde_json::json!({"username": username, "role": role.as_str(), "scope": role.scope_text()});
    crate::audit::record(
        &mut tx,
        "system",
        "create",
        "user",
        &id.to_string(),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn principal_by_user(
    db: &Db,
    user_id: i64,
    csrf: Option<String>,
) -> AppResult<Option<Principal>> {
    let row =
        sqlx::query("SELECT id, username, display_name, role, scope, agency_code, agency_name, plan_unit FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    let Some(row) = row else { return Ok(None) };
    let role = Role::parse(
        &row.try_get::<String, _>("role")?,
        &row.try_get::<String, _>("scope")?,
    )
    .map_err(|e| anyhow::anyhow!("stored role invalid: {e}"))?;
    Ok(Some(Principal {
        user_id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role,
        agency: agency_of(&row)?,
        plan_unit: row.try_get("plan_unit")?,
        csrf,
    }))
}

fn agency_of(row: &sqlx::any::AnyRow) -> AppResult<Option<Agency>> {
    let code: Option<String> = row.try_get("agency_code")?;
    let name: Option<String> = row.try_get("agency_name")?;
    Ok(
        match (code.and_then(|c| CreditCode::parse(&c).ok()), name) {
            (Some(code), Some(name)) => Some(Agency { code, name }),
            _ => None,
        },
    )
}

/// Links an account to the agency it acts for.
pub async fn set_agency(db: &Db, user_id: i64, agency: &Agency) -> AppResult<()> {
    let code = agency.code.to_string();
    let after = serde_json::json!({"agency_code": code, "agency_name": agency.name});
    update_user(
        db,
        user_id,
        &[("agency_code", &code), ("agency_name", &agency.name)],
        after,
    )
    .await
}

/// Links an account to the plan unit it reports for (a `U..` code of the shipped plan, or its name).
pub async fn set_plan_unit(db: &Db, user_id: i64, unit: &str) -> AppResult<()> {
    let plan = lifeservice_domain::plan::Plan::shipped();
    let unit = plan
        .unit(&lifeservice_domain::plan::UnitId::new(unit))
        .or_else(|| plan.unit_by_name(unit))
        .ok_or_else(|| AppError::field("plan_unit", format!("方案中没有责任单位“{unit}”")))?;
    let after = serde_json::json!({"plan_unit": unit.id.as_str(), "name": unit.name});
    update_user(db, user_id, &[("plan_unit", unit.id.as_str())], after).await
}

/// Sets columns of an account (names are ours, never user input), audited.
async fn update_user(
    db: &Db,
    user_id: i64,
    columns: &[(&str, &str)],
    after: serde_json::Value,
) -> AppResult<()> {
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE users SET {} WHERE id = ${}",
        sets.join(", "),
        columns.len() + 1
    );
    let mut tx = db.begin_write().await?;
    let mut query = sqlx::query(&sql);
    for (_, value) in columns {
        query = query.bind(value.to_string());
    }
    query.bind(user_id).execute(&mut *tx).await?;
    let id = user_id.to_string();
    crate::audit::record(&mut tx, "system", "update", "user", &id, None, Some(after)).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks a password; returns a new session token and the principal.
pub async fn login(db: &Db, username: &str, password: &str) -> AppResult<(String, Principal)> {
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE username = $1")
        .bind(username.to_string())
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row.filter(|r| {
        verify_password(
            password,
            &r.try_get::<String, _>("password_hash").unwrap_or_default(),
        )
    }) else {
        return Err(AppError::field("password", "用户名或密码错误"));
    };
    let user_id: i64 = row.try_get("id")?;
    let token = new_token();
    let csrf = new_token();
    let expires = (crate::time::now() + chrono::Duration::hours(SESSION_HOURS)).to_rfc3339();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(csrf.clone())
        .bind(expires)
        .execute(db.pool())
        .await?;
    let principal = principal_by_user(db, user_id, Some(csrf))
        .await?
        .ok_or_else(|| anyhow::anyhow!("user vanished"))?;
    Ok((token, principal))
}

pub async fn logout(db: &Db, token: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(db.pool())
        .await?;
    Ok(())
}

async fn session_principal(db: &Db, token: &str) -> AppResult<Option<Principal>> {
    let row =
        sqlx::query("SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_optional(db.pool())
            .await?;
    let Some(row) = row else { return Ok(None) };
    let expires: String = row.try_get("expires_at")?;
    let valid =
        chrono::DateTime::parse_from_rfc3339(&expires).is_ok_and(|e| e > crate::time::now());
    if !valid {
        return Ok(None);
    }
    principal_by_user(
        db,
        row.try_get("user_id")?,
        Some(row.try_get("csrf_token")?),
    )
    .await
}

/// Creates an API token for a user; the token is shown once and stored hashed.
pub async fn create_api_token(db: &Db, user_id: i64, label: &str) -> AppResult<String> {
    let token = format!("ls_{}", new_token());
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(label.to_string())
    .bind(crate::time::now_text())
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        "system",
        "create",
        "api_token",
        &user_id.to_string(),
        None,
        Some(serde_json::json!({"label": label})),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

async fn token_principal(db: &Db, token: &str) -> AppResult<Option<Principal>> {
    let user_id: Option<i64> =
        sqlx::query_scalar("SELECT user_id FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_optional(db.pool())
            .await?;
    match user_id {
        Some(id) => principal_by_user(db, id, None).await,
        None => Ok(None),
    }
}

pub fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_in(&parts.headers, name)
}

/// Adds a `Set-Cookie` header to `response`.
pub fn set_cookie(response: &mut axum::response::Response, cookie: &str) {
    if let Ok(value) = axum::http::HeaderValue::from_str(cookie) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
}

pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The principal if the request carries a valid bearer token or session.
pub struct MaybeUser(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(AppError::Unauthenticated)?;
            return match token_principal(&state.db, token.trim()).await? {
                Some(p) => Ok(MaybeUser(Some(p))),
                None => Err(AppError::Unauthenticated),
            };
        }
        match cookie_value(parts, SESSION_COOKIE) {
            Some(token) => Ok(MaybeUser(session_principal(&state.db, token).await?)),
            None => Ok(MaybeUser(None)),
        }
    }
}

/// A signed-in principal, or 401.
pub struct User(pub Principal);

impl FromRequestParts<AppState> for User {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        let principal = user.ok_or(AppError::Unauthenticated)?;
        // A browser session writing through the JSON API must prove the request is its own.
        if principal.csrf.is_some()
            && parts.method != axum::http::Method::GET
            && parts.uri.path().starts_with("/api/")
        {
            let header = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            verify_csrf(&principal, header)?;
        }
        Ok(User(principal))
    }
}

/// Checks the CSRF token a form or header sent against the session's.
pub fn verify_csrf(principal: &Principal, sent: Option<&str>) -> AppResult<()> {
    check_csrf(principal.csrf.as_deref(), sent)
}

/// Checks a sent CSRF token against the one a session expects (staff or
/// reviewer); a bearer token has none, since no browser sends it by itself.
pub fn check_csrf(expected: Option<&str>, sent: Option<&str>) -> AppResult<()> {
    match (expected, sent) {
        (None, _) => Ok(()),
        (Some(expected), Some(sent)) if constant_time_eq(expected.as_bytes(), sent.as_bytes()) => {
            Ok(())
        }
        _ => Err(AppError::Forbidden(
            "表单已失效（CSRF校验失败），请刷新页面后重试".into(),
        )),
    }
}

/// Refuses a write (any method but GET, HEAD, OPTIONS) that a browser sends
/// from another site's page, before any handler runs. Session-bound CSRF
/// tokens cannot cover a form posted before there is a session, such as the
/// sign-in form, where a forged post would sign the victim into the
/// attacker's account. Requests without the browser's headers (API clients
/// with tokens, curl) go on to their own checks.
pub async fn refuse_cross_site_writes(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !request.method().is_safe() && is_cross_site(request.headers()) {
        return AppError::Forbidden("来自其他网站的提交已被拒绝，请在本站页面上操作".into())
            .into_response();
    }
    next.run(request).await
}

/// Whether a request comes from another site: what the browser says in
/// `Sec-Fetch-Site` (every current browser sends it), else whether its
/// `Origin` names another host than the one it was sent to (behind a proxy,
/// `X-Forwarded-Host`, else `Host`).
fn is_cross_site(headers: &axum::http::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    origin_host.is_none() || origin_host != header("x-forwarded-host").or(header("host"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fixed-window limit, at most `limit` hits per key and window, named so
/// that its keys do not collide with other limits' in `rate_hits`.
pub struct RateLimiter {
    name: &'static str,
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(name: &'static str, limit: u32, window: Duration) -> Self {
        RateLimiter {
            name,
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a hit on `key` in this process's memory.
    pub fn check(&self, key: &str) -> AppResult<()> {
        let mut hits = self.hits.lock().expect("rate limiter lock");
        let now = Instant::now();
        if hits.len() > 100_000 {
            hits.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = hits.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.limit {
            Err(AppError::RateLimited)
        } else {
            Ok(())
        }
    }
}

/// Counts a hit on every `(limit, key)` and fails if any is over its limit.
/// Servers sharing a PostgreSQL database count in `rate_hits`, one statement
/// for all the limits, so a limit holds for the site however many processes
/// answer; the embedded database serves one process, which counts in memory.
pub async fn check_limits(db: &Db, checks: &[(&RateLimiter, &str)]) -> AppResult<()> {
    if db.backend() != Backend::Postgres {
        return checks.iter().try_for_each(|(limit, key)| limit.check(key));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let values: Vec<String> = (0..checks.len())
        .map(|i| format!("(${}, ${}, 1)", 2 * i + 1, 2 * i + 2))
        .collect();
    let sql = format!(
        "INSERT INTO rate_hits (bucket, window_start, hits) VALUES {} \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_hits.hits + 1 RETURNING bucket, hits",
        values.join(", ")
    );
    // Bucket → limit: the keys are bound and the returned counts looked up.
    let buckets: Vec<(String, &RateLimiter)> = checks
        .iter()
        .map(|(limit, key)| (format!("{}:{key}", limit.name), *limit))
        .collect();
    let mut query = sqlx::query(&sql);
    for (bucket, limit) in &buckets {
        let window = limit.window.as_secs().max(1);
        query = query.bind(bucket.clone()).bind((now - now % window) as i64);
    }
    for row in query.fetch_all(db.pool()).await? {
        let bucket: String = row.try_get("bucket")?;
        let hits: i64 = row.try_get("hits")?;
        let over = buckets
            .iter()
            .any(|(b, limit)| *b == bucket && hits > i64::from(limit.limit));
        if over {
            return Err(AppError::RateLimited);
        }
    }
    Ok(())
}

/// Drops counts of windows that ended more than a day before `now_secs`.
pub async fn purge_rate_hits(conn: &mut sqlx::AnyConnection, now_secs: i64) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM rate_hits WHERE window_start < $1")
        .bind(now_secs - 86_400 * 2)
        .execute(conn)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_writes_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = axum::http::HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, axum::http::HeaderValue::from_static(v));
            }
            map
        };
        let host = ("host", "shfw.example.gov.cn");
        for same in [
            vec![("sec-fetch-site", "same-origin")],
            vec![("sec-fetch-site", "none")],
            vec![host],
            vec![host, ("origin", "https://shfw.example.gov.cn")],
            vec![
                ("host", "lifeservice"),
                ("x-forwarded-host", "shfw.example.gov.cn"),
                ("origin", "https://shfw.example.gov.cn"),
            ],
        ] {
            assert!(!is_cross_site(&headers(&same)), "{same:?}");
        }
        for cross in [
            vec![("sec-fetch-site", "cross-site"), host],
            vec![("sec-fetch-site", "same-site"), host],
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "null")],
            vec![("origin", "https://evil.example")],
        ] {
            assert!(is_cross_site(&headers(&cross)), "{cross:?}");
        }
    }

    #[test]
    fn scopes() {
        let dept = Principal {
            user_id: 1,
            username: "mz".into(),
            display_name: "民政厅".into(),
            agency: None,
            plan_unit: None,
            role: Role::parse("department", "03,0107").unwrap(),
            csrf: None,
        };
        let county = DivisionCode::parse("140105").unwrap();
        assert!(
            dept.may_write_outlet(ServiceType::parse("养老机构").unwrap(), &county)
                .is_ok()
        );
        assert!(
            dept.may_write_outlet(ServiceType::parse("托育机构").unwrap(), &county)
                .is_ok()
        );
        assert!(
            dept.may_write_outlet(ServiceType::parse("便利店").unwrap(), &county)
                .is_err()
        );
        let division = Principal {
            agency: None,
            plan_unit: None,
            role: Role::parse("division", "140105").unwrap(),
            ..dept
        };
        assert!(
            division
                .may_write_outlet(
                    ServiceType::parse("便利店").unwrap(),
                    &DivisionCode::parse("140105001001").unwrap()
                )
                .is_ok()
        );
        assert!(
            division
                .may_write_outlet(
                    ServiceType::parse("便利店").unwrap(),
                    &DivisionCode::parse("140106").unwrap()
                )
                .is_err()
        );
        assert!(Role::parse("department", "99").is_err());
        assert!(Role::parse("root", "").is_err());
    }

    #[test]
    fn passwords_and_csrf() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong", &hash));
        let p = Principal {
            user_id: 1,
            username: "a".into(),
            display_name: "a".into(),
            agency: None,
            plan_unit: None,
            role: Role::Admin,
            csrf: Some("abc".into()),
        };
        assert!(verify_csrf(&p, Some("abc")).is_ok());
        assert!(verify_csrf(&p, Some("abd")).is_err());
        assert!(verify_csrf(&p, None).is_err());
    }

    #[test]
    fn rate_limiter_blocks_after_limit() {
        let limiter = RateLimiter::new("test", 2, Duration::from_secs(60));
        assert!(limiter.check("ip").is_ok());
        assert!(limiter.check("ip").is_ok());
        assert!(matches!(limiter.check("ip"), Err(AppError::RateLimited)));
        assert!(limiter.check("other").is_ok());
    }
}
