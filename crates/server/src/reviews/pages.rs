//! Review pages: the rating form (一次一评) with phone sign-in, the QR codes
//! that open it, the quality block of the outlet page and the 好差评 dashboard.

use super::api::{
    MaybeReviewer, ReviewBody, Reviewer, cache_headers, request_code, reviewer_cookie,
    submit_review, verify_code,
};
use super::store::{self, Quality, ReviewView};
use crate::app::AppState;
use crate::auth::set_cookie;
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, Lang, render};
use crate::registry::Outlet;
use crate::registry::views::OutletView;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use lifeservice_domain::review::{Rating, aspects_for};
use lifeservice_domain::{MajorCategory, ServiceType};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outlets/{id}/review", get(form_page).post(submit_form))
        .route("/outlets/{id}/review/code", axum::routing::post(code_form))
        .route(
            "/outlets/{id}/review/sign-in",
            axum::routing::post(sign_in_form),
        )
        .route("/outlets/{id}/qr.svg", get(qr_svg))
        .route("/outlets/{id}/qr.png", get(qr_png))
        .route("/quality", get(dashboard))
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

pub(super) fn stars(rating: i64) -> String {
    let r = rating.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(r), "☆".repeat(5 - r))
}

fn quality_facts(l: Lang, q: &Quality) -> Markup {
    html! {
        dl.facts {
            dt { (l.t("质量评分", "Quality score")) }
            dd { @match q.score { Some(s) => { strong { (format!("{s:.2}")) } " / 5" }, None => { (l.t("暂无评价", "No ratings yet")) } } }
            dt { (l.t("评价数", "Reviews")) } dd { (q.count) }
            dt { (l.t("差评率", "Bad reviews")) } dd { (pct(q.bad_share)) }
            dt { (l.t("差评整改率", "Rectified")) } dd { (pct(q.rectified_share)) " (" (q.cases) (l.t(" 件", " cases")) ")" }
            dt { (l.t("按期整改率", "On time")) } dd { (pct(q.on_time_share)) }
        }
        p.muted { (l.t("评分为贝叶斯平均：", "Bayesian average: ")) code { (q.formula) } br;
            (l.t("C 为先验权重，m 为同类服务平均分，Σr 为本网点评分之和，n 为评价数。", "C is the prior weight, m the service type's mean, Σr the sum of ratings and n their number.")) }
    }
}

/// A review's aspect scores, `服务态度 5 · 守时 4`.
fn aspect_line(l: Lang, aspects: &serde_json::Map<String, serde_json::Value>) -> String {
    aspects
        .iter()
        .filter_map(|(k, v)| {
            let aspect = lifeservice_domain::review::Aspect::parse(k)?;
            Some(format!("{} {v}", l.t(aspect.zh(), aspect.en())))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A review as listed: rating, aspects, text and, `with_reply`, the entity's reply.
pub(super) fn review_item(l: Lang, r: &ReviewView, with_reply: bool) -> Markup {
    html! {
        li.review {
            div { span role="img" aria-label=(format!("{}分", r.rating)) { (stars(r.rating)) } " " strong { (Rating::from_value(r.rating).map_or(r.rating_zh.as_str(), |x| l.t(x.zh(), x.en()))) }
                @if r.verified { " " span.tag { (l.t("凭证认证", "Verified")) } }
                " " span.muted { (r.reviewer) " · " (r.created_at.get(..10).unwrap_or("")) } }
            @if let Some(a) = r.aspects.as_object().filter(|a| !a.is_empty()) {
                div.meta { (aspect_line(l, a)) }
            }
            p { (r.text) }
            @if with_reply { @if let Some(reply) = &r.reply { blockquote { strong { (l.t("商家回复：", "Reply: ")) } (reply) } } }
        }
    }
}

/// The quality block of the outlet page (score, formula, latest reviews and
/// the rating link), from the page cache.
pub async fn outlet_block(state: &AppState, ctx: &Ctx, view: &OutletView) -> AppResult<Markup> {
    let l = ctx.lang;
    let o = &view.outlet;
    let types = state.pages.type_totals(&state.db).await?;
    let q = Quality::from_totals(
        view.totals,
        store::prior_of(&types, &o.service_type),
        state.reviews.config().prior_weight,
    );
    let reviews = &view.latest;
    Ok(html! {
        section #reviews {
            h2 { (l.t("服务质量（好差评）", "Service quality")) }
            @if o.status == "open" {
                div.layout2 {
                    div { (quality_facts(l, &q))
                        p { a.button href=(format!("/outlets/{}/review", o.id)) { (l.t("我要评价", "Rate this service")) } } }
                    div { p.muted { (l.t("扫码评价（可打印张贴于服务台）", "Scan to rate (print for the counter)")) }
                        img src=(format!("/outlets/{}/qr.svg", o.id)) width="160" height="160" alt=(l.t("评价二维码", "QR code to rate"));
                        p.muted { a href=(format!("/outlets/{}/qr.png", o.id)) { "PNG" } " · " a href=(format!("/outlets/{}/qr.svg", o.id)) { "SVG" } } }
                }
            } @else {
                (quality_facts(l, &q))
                (closed_notice(l))
            }
            h3 { (l.t("最新评价", "Latest reviews")) }
            @if reviews.is_empty() { p { (l.t("暂无评价。", "No reviews yet.")) } }
            ol.reviews { @for r in reviews { (review_item(l, r, true)) } }
        }
    })
}

#[derive(Deserialize, Default)]
struct FormQuery {
    /// At the code step of the sign-in.
    sent: Option<String>,
    done: Option<String>,
    channel: Option<String>,
    receipt: Option<String>,
    lang: Option<String>,
}

/// What a review form's page carries to the next: the phone being signed in
/// and the last error with its field. It travels in a short-lived cookie, not
/// the URL: a phone number in a query string ends up in browser history and
/// proxy logs, and an error read from the query string would let any link
/// show a made-up message on the platform's page.
#[derive(Serialize, Deserialize, Default)]
pub(super) struct Carried {
    phone: Option<String>,
    error: Option<String>,
    /// The field `error` is about, to show it beside that field.
    field: Option<String>,
}

const CARRIED_COOKIE: &str = "ls_review_form";

impl Carried {
    pub(super) fn read(headers: &HeaderMap) -> Carried {
        crate::auth::cookie_in(headers, CARRIED_COOKIE)
            .and_then(|value| serde_urlencoded::from_str(value).ok())
            .unwrap_or_default()
    }

    fn error(error: &AppError, phone: Option<&str>) -> Carried {
        Carried {
            phone: phone.map(str::to_string),
            error: Some(error.to_string()),
            field: error.field_name().map(str::to_string),
        }
    }

    pub(super) fn sign_in(&self, sent: bool) -> SignIn<'_> {
        SignIn {
            phone: self.phone.as_deref(),
            sent,
            error: self.error.as_deref(),
            field: self.field.as_deref(),
        }
    }

    /// Sets the cookie on `response` (ten minutes, the life of a code).
    fn set_on(&self, response: &mut Response) {
        let value = serde_urlencoded::to_string(self).unwrap_or_default();
        set_cookie(
            response,
            &format!("{CARRIED_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=600"),
        );
    }

    /// After a page has shown the error: keeps the phone, drops the error, so
    /// it shows once.
    pub(super) fn shown(self, response: &mut Response) {
        if self.error.is_some() {
            let phone = self.phone;
            Carried {
                phone,
                ..Default::default()
            }
            .set_on(response);
        }
    }

    /// Forgets everything (signed in, or the review is in).
    fn clear(response: &mut Response) {
        set_cookie(
            response,
            &format!("{CARRIED_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
}

/// Where a reviewer's phone sign-in stands between its two steps (send the
/// code, then enter it).
pub(super) struct SignIn<'a> {
    pub phone: Option<&'a str>,
    pub sent: bool,
    pub error: Option<&'a str>,
    pub field: Option<&'a str>,
}

impl SignIn<'_> {
    /// The error, if it belongs beside `field`.
    fn error_at(&self, field: &str) -> Option<&str> {
        self.error.filter(|_| self.field == Some(field))
    }

    /// The error, if it belongs to no field of the sign-in forms.
    pub fn general_error(&self) -> Option<&str> {
        self.error
            .filter(|_| !matches!(self.field, Some("phone" | "code")))
    }
}

/// A field's error message beside it: the control names it with
/// `aria-describedby` and `aria-invalid`.
pub(super) fn field_error(id: &str, message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { strong.field-error id=(format!("{id}-error")) role="alert" { (m) } br; } }
}

/// `aria-describedby` for a control whose field has an error.
pub(super) fn described_by(id: &str, message: Option<&str>) -> Option<String> {
    message.map(|_| format!("{id}-error"))
}

/// The two sign-in forms (mobile number, then the one-time code) posting to
/// `{base}/code` and `{base}/sign-in`, which return to `base`; `keep` are
/// hidden fields carried along (the rating form's channel).
pub(super) fn sign_in_forms(l: Lang, base: &str, s: &SignIn, keep: &[(&str, &str)]) -> Markup {
    let phone_error = s.error_at("phone");
    let code_error = s.error_at("code");
    html! {
        h2 { (l.t("手机号验证", "Verify your phone")) }
        p.muted { (l.t("评价以化名显示，手机号不会公开。", "Reviews show a pseudonym; your number is never shown.")) }
        form method="post" action=(format!("{base}/code")) {
            @for (k, v) in keep { input type="hidden" name=(k) value=(v); }
            label for="phone" { (l.t("手机号 ", "Mobile ")) }
            (field_error("phone", phone_error))
            input #phone type="tel" name="phone" required value=(s.phone.unwrap_or_default()) maxlength="20"
                aria-invalid=[phone_error.map(|_| "true")] aria-describedby=[described_by("phone", phone_error)];
            " " button type="submit" { (l.t("获取验证码", "Send code")) }
        }
        @if s.sent {
            form method="post" action=(format!("{base}/sign-in")) {
                input type="hidden" name="phone" value=(s.phone.unwrap_or_default());
                @for (k, v) in keep { input type="hidden" name=(k) value=(v); }
                label for="code" { (l.t("验证码 ", "Code ")) }
                (field_error("code", code_error))
                input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6"
                    aria-invalid=[code_error.map(|_| "true")] aria-describedby=[described_by("code", code_error)];
                " " button type="submit" { (l.t("登录", "Sign in")) }
            }
        }
    }
}

async fn outlet_of(state: &AppState, id: &str) -> AppResult<Outlet> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("服务网点不存在"))?;
    Ok(crate::registry::api::load_outlet(state, id).await?.public())
}

/// A closed outlet takes no new reviews (the API refuses them); its past ones stay shown.
fn closed_notice(l: Lang) -> Markup {
    html! { p.notice role="status" { (l.t("该服务网点已关闭，不再接受评价；以往的评价仍可查看。", "This outlet has closed and takes no new reviews; past reviews remain visible.")) } }
}

fn form(
    l: Lang,
    o: &Outlet,
    reviewer: Option<&Reviewer>,
    q: &FormQuery,
    sign_in: &SignIn,
) -> Markup {
    let major = ServiceType::parse(&o.service_type)
        .map(|t| t.major())
        .unwrap_or_else(|| MajorCategory::parse("12").expect("12"));
    let channel = if q.channel.as_deref() == Some("qr") {
        "qr"
    } else {
        "web"
    };
    html! {
        h1 { (l.t("评价：", "Rate: ")) (o.name) }
        p.muted { (o.service_type_zh) " · " (o.address) }
        @if let Some(e) = sign_in.general_error() { p.error role="alert" { (e) } }
        @if q.done.is_some() { p.notice role="status" { (l.t("感谢您的评价！", "Thank you for your review!")) " " a href=(format!("/outlets/{}#reviews", o.id)) { (l.t("查看评价", "See reviews")) }
            " · " a href="/reviews/mine" { (l.t("我的评价与整改进展", "My reviews and their follow-up")) } } }
        @match reviewer {
            _ if o.status != "open" => { (closed_notice(l)) }
            None => {
                (sign_in_forms(l, &format!("/outlets/{}/review", o.id), sign_in, &[("channel", channel)]))
            }
            Some(r) => {
                p { (l.t("您将以化名 ", "You review as ")) strong { (r.pseudonym) } (l.t(" 发表评价。", ".")) }
                form method="post" action=(format!("/outlets/{}/review", o.id)) {
                    input type="hidden" name="csrf" value=(r.csrf.clone().unwrap_or_default());
                    input type="hidden" name="channel" value=(channel);
                    fieldset { legend { (l.t("总体评价", "Overall")) }
                        @for rating in Rating::ALL {
                            label { input type="radio" name="rating" value=(rating.value()) required; " " (l.t(rating.zh(), rating.en())) } " "
                        }
                    }
                    fieldset { legend { (l.t("分项评分（可选）", "Aspects (optional)")) }
                        @for a in aspects_for(major) {
                            label { (l.t(a.zh(), a.en())) " " select name=(format!("aspect_{}", a.code())) {
                                option value="" { "—" } @for v in (1..=5).rev() { option value=(v) { (v) } } } } " "
                        }
                    }
                    label { (l.t("评价内容", "Your review")) br; textarea name="text" rows="4" cols="50" maxlength="500" required {} }
                    br;
                    label { (l.t("服务凭证（可选）", "Service receipt (optional)")) " " input type="text" name="receipt" maxlength="20" value=(q.receipt.clone().unwrap_or_default()); }
                    " "
                    label { (l.t("服务日期", "Service date")) " " input type="date" name="service_date"; }
                    br;
                    button type="submit" { (l.t("提交评价", "Submit")) }
                }
            }
        }
    }
}

async fn form_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeReviewer(reviewer): MaybeReviewer,
    Path(id): Path<String>,
    Query(q): Query<FormQuery>,
    headers: HeaderMap,
) -> Response {
    let carried = Carried::read(&headers);
    let result = async {
        let o = outlet_of(&state, &id).await?;
        let _ = &q.lang;
        let sign_in = carried.sign_in(q.sent.is_some());
        Ok((
            format!("评价 {}", o.name),
            form(ctx.lang, &o, reviewer.as_ref(), &q, &sign_in),
        ))
    }
    .await;
    let mut response = render(&ctx, result);
    carried.shown(&mut response);
    response
}

fn back(id: &str, pairs: &[(&str, &str)]) -> Response {
    back_to(&format!("/outlets/{id}/review"), pairs)
}

/// Redirects (303) to `path` with `pairs` as its query string.
pub(super) fn back_to(path: &str, pairs: &[(&str, &str)]) -> Response {
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::portal::url_component(v)))
        .collect();
    if query.is_empty() {
        return Redirect::to(path).into_response();
    }
    Redirect::to(&format!("{path}?{}", query.join("&"))).into_response()
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    pub phone: String,
    channel: Option<String>,
}

/// Sends a code to the phone and returns to `base` at the code step (or
/// with the error beside the phone field); `keep` goes along in the query.
pub(super) async fn send_code_then(
    state: &AppState,
    ip: &str,
    base: &str,
    phone: &str,
    keep: &[(&str, &str)],
) -> Response {
    let mut pairs = keep.to_vec();
    let carried = match request_code(state, phone, ip).await {
        Ok(()) => {
            pairs.push(("sent", "1"));
            Carried {
                phone: Some(phone.to_string()),
                ..Default::default()
            }
        }
        Err(e) => Carried::error(&e, Some(phone)),
    };
    let mut response = back_to(base, &pairs);
    carried.set_on(&mut response);
    response
}

async fn code_form(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> Response {
    let channel = f.channel.unwrap_or_default();
    let base = format!("/outlets/{id}/review");
    let ip = addr.ip().to_string();
    send_code_then(&state, &ip, &base, &f.phone, &[("channel", &channel)]).await
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    pub phone: String,
    pub code: String,
    channel: Option<String>,
}

/// Checks the code and returns to `base` signed in (the reviewer cookie
/// set), or at the code step with the error beside its field.
pub(super) async fn sign_in_then(
    state: &AppState,
    base: &str,
    phone: &str,
    code: &str,
    keep: &[(&str, &str)],
) -> Response {
    match verify_code(state, phone, code).await {
        Ok((token, _, _)) => {
            let mut r = back_to(base, keep);
            set_cookie(&mut r, &reviewer_cookie(&token));
            Carried::clear(&mut r);
            r
        }
        Err(e) => {
            let mut pairs = vec![("sent", "1")];
            pairs.extend_from_slice(keep);
            let mut r = back_to(base, &pairs);
            Carried::error(&e, Some(phone)).set_on(&mut r);
            r
        }
    }
}

async fn sign_in_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<SignInForm>,
) -> Response {
    let channel = f.channel.unwrap_or_default();
    let base = format!("/outlets/{id}/review");
    sign_in_then(&state, &base, &f.phone, &f.code, &[("channel", &channel)]).await
}

async fn submit_form(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    MaybeReviewer(reviewer): MaybeReviewer,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let result = async {
        let reviewer = reviewer
            .ok_or_else(|| AppError::Forbidden("请先用手机号和验证码登录后再评价".into()))?;
        crate::auth::check_csrf(reviewer.csrf.as_deref(), f.get("csrf").map(String::as_str))?;
        let outlet_id: i64 = id
            .parse()
            .map_err(|_| AppError::not_found("服务网点不存在"))?;
        let rating = f.get("rating").and_then(|r| r.parse().ok()).unwrap_or(0);
        let mut aspects = BTreeMap::new();
        for (k, v) in &f {
            if let Some(a) = k.strip_prefix("aspect_")
                && !v.is_empty()
            {
                aspects.insert(a.to_string(), v.parse().unwrap_or(0));
            }
        }
        let body = ReviewBody {
            rating,
            aspects,
            text: f.get("text").cloned().unwrap_or_default(),
            receipt: f.get("receipt").cloned(),
            service_date: f.get("service_date").cloned(),
            channel: Some(if f.get("channel").map(String::as_str) == Some("qr") {
                "qr".into()
            } else {
                "web".into()
            }),
        };
        submit_review(&state, &reviewer, outlet_id, body, &addr.ip().to_string()).await
    }
    .await;
    match result {
        Ok(_) => {
            let mut r = back(&id, &[("done", "1")]);
            Carried::clear(&mut r);
            r
        }
        Err(e) => {
            let mut r = back(&id, &[]);
            Carried::error(&e, None).set_on(&mut r);
            r
        }
    }
}

// ---------------------------------------------------------------------------
// QR codes

fn form_url(headers: &HeaderMap, id: i64) -> String {
    let base = std::env::var("LIFESERVICE_PUBLIC_URL")
        .ok()
        .unwrap_or_else(|| {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                })
                .unwrap_or("127.0.0.1:8080");
            format!("http://{host}")
        });
    format!(
        "{}/outlets/{id}/review?channel=qr",
        base.trim_end_matches('/')
    )
}

fn qr_code(url: &str) -> AppResult<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("qr: {e}")))
}

async fn qr_target(state: &AppState, id: &str, headers: &HeaderMap) -> AppResult<String> {
    let o = outlet_of(state, id).await?;
    Ok(form_url(headers, o.id))
}

async fn qr_svg(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match qr_target(&state, &id, &headers)
        .await
        .and_then(|u| qr_code(&u))
    {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .build();
            (cache_headers("image/svg+xml"), svg).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// A QR code as an 8-bit greyscale PNG, `scale` pixels per module with a
/// four-module quiet zone.
pub fn qr_png_bytes(code: &qrcode::QrCode, scale: usize) -> anyhow::Result<Vec<u8>> {
    let width = code.width();
    let quiet = 4;
    let side = (width + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for y in 0..width {
        for x in 0..width {
            if colors[y * width + x] == qrcode::Color::Dark {
                for dy in 0..scale {
                    let row = ((y + quiet) * scale + dy) * side;
                    let start = row + (x + quiet) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

async fn qr_png(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = qr_target(&state, &id, &headers)
        .await
        .and_then(|u| qr_code(&u))
        .and_then(|c| qr_png_bytes(&c, 8).map_err(AppError::Internal));
    match result {
        Ok(bytes) => (cache_headers("image/png"), bytes).into_response(),
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------------------
// Dashboard

fn ranking_table(l: Lang, rows: &[store::RankRow], first: &'static str) -> Markup {
    html! {
        table {
            thead { tr { th { "#" } th { (first) } th { (l.t("评分", "Score")) } th { (l.t("评价数", "Reviews")) } th { (l.t("差评率", "Bad")) }
                th { (l.t("整改率", "Rectified")) } th { (l.t("按期率", "On time")) } th { (l.t("回访整改率", "Followed up")) } } }
            tbody { @for (i, r) in rows.iter().enumerate() { tr {
                td { (i + 1) } td { (r.name) }
                td { (r.quality.score.map(|s| format!("{s:.2}")).unwrap_or_else(|| "—".into())) }
                td { (r.quality.count) } td { (pct(r.quality.bad_share)) } td { (pct(r.quality.rectified_share)) }
                td { (pct(r.quality.on_time_share)) } td { (pct(r.quality.followed_share)) }
            } } }
        }
    }
}

async fn dashboard(State(state): State<AppState>, ctx: Ctx) -> Response {
    let result = async {
        let l = ctx.lang;
        let config = state.reviews.config();
        let today = crate::time::today();
        store::escalate_overdue(&state.db, today).await?;
        let all = store::province_totals(&state.db).await?;
        let by_type = store::rankings(&state.db, &config, "type").await?;
        let by_city = store::rankings(&state.db, &config, "city").await?;
        let by_county = store::rankings(&state.db, &config, "county").await?;
        let by_department = store::rankings(&state.db, &config, "department").await?;
        let all_cases = store::Scope::default();
        let overdue = store::cases(&state.db, &all_cases, store::CaseFilter::Overdue, today, 0, 50).await?;
        let overdue_count = store::count_cases(&state.db, &all_cases, store::CaseFilter::Overdue, today).await?;
        let followed = (all.cases > 0).then(|| all.followed as f64 / all.cases as f64);
        let body = html! {
            h1 { (l.t("好差评", "Service quality reviews")) }
            p.muted { (l.t("依据全国政务服务“好差评”制度：五级评价，差评必整改，整改必回访。", "Modelled on the national good/bad rating system: every bad review is rectified and followed up.")) }
            dl.facts {
                dt { (l.t("评价总数", "Reviews")) } dd { (all.n) }
                dt { (l.t("全省平均分", "Mean rating")) } dd { (if all.n > 0 { format!("{:.2}", all.rating_sum as f64 / all.n as f64) } else { "—".into() }) }
                dt { (l.t("差评率", "Bad reviews")) } dd { (pct((all.n > 0).then(|| all.bad as f64 / all.n as f64))) }
                dt { (l.t("差评整改工单", "Cases")) } dd { (all.cases) }
                dt { (l.t("实名差评回访整改率（目标100%）", "Real-name bad-review follow-up rate (target 100%)")) }
                dd { strong { (pct(followed)) } }
                dt { (l.t("逾期工单（已升级督办）", "Overdue cases (escalated)")) } dd { (overdue_count) }
            }
            @if !overdue.is_empty() {
                h2 { (l.t("逾期督办", "Overdue")) }
                table {
                    thead { tr { th { (l.t("工单", "Case")) } th { (l.t("网点", "Outlet")) } th { (l.t("主管部门", "Department")) } th { (l.t("联系期限", "Contact by")) } th { (l.t("整改期限", "Rectify by")) } th { (l.t("状态", "Status")) } } }
                    tbody { @for c in &overdue { tr {
                        td { (c.id) } td { a href=(format!("/outlets/{}", c.outlet_id)) { (c.outlet_name) } } td { (c.departments) }
                        td { (c.contact_due) } td { (c.rectify_due) } td { (c.overdue.clone().unwrap_or_default()) }
                    } } }
                }
            }
            h2 { (l.t("按服务类型", "By service type")) } (ranking_table(l, &by_type, l.t("服务类型", "Type")))
            h2 { (l.t("按主管部门", "By department")) } (ranking_table(l, &by_department, l.t("部门", "Department")))
            h2 { (l.t("按城市", "By city")) } (ranking_table(l, &by_city, l.t("城市", "City")))
            h2 { (l.t("按县（市、区）", "By county")) } (ranking_table(l, &by_county[..by_county.len().min(30)], l.t("县区", "County")))
            p.muted { (l.t("排名评分为贝叶斯平均（先验为全省平均分，权重 C = ", "Scores are Bayesian averages towards the province mean, C = ")) (config.prior_weight) "）。" }
        };
        Ok((l.t("好差评", "Service quality").to_string(), body))
    }
    .await;
    render(&ctx, result)
}
