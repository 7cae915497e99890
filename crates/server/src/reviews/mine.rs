//! 我的评价: a reviewer, signed in with the same phone and one-time code as
//! the rating form, sees their reviews, the entities' replies and the
//! progress of each rectification case, and rates a rectified case (回访),
//! which closes it.

use super::api::{MaybeReviewer, Reviewer};
use super::desk::{
    Outcome, Refused, any_refusal, case_facts, refusal, shown_on_form, text_area, typed,
};
use super::pages::{
    Carried, CodeForm, SignIn, SignInForm, described_by, field_error, review_item, send_code_then,
    sign_in_forms, sign_in_then,
};
use super::store::{self, CaseView};
use super::{ReviewConfig, service};
use crate::app::AppState;
use crate::auth::check_csrf;
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, Lang, render};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use lifeservice_domain::review::Rating;
use maud::{Markup, html};
use serde::Deserialize;
use std::net::SocketAddr;

const BASE: &str = "/reviews/mine";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(mine_page))
        .route("/reviews/mine/code", post(code_form))
        .route("/reviews/mine/sign-in", post(sign_in_form))
        .route("/reviews/mine/cases/{id}/follow-up", post(follow_up_form))
}

#[derive(Deserialize, Default)]
struct MineQuery {
    /// At the code step of the sign-in.
    sent: Option<String>,
    done: Option<String>,
}

async fn mine_page(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeReviewer(reviewer): MaybeReviewer,
    Query(q): Query<MineQuery>,
    headers: HeaderMap,
) -> Response {
    let l = ctx.lang;
    let carried = Carried::read(&headers);
    let result = async {
        match &reviewer {
            None => Ok(signed_out(l, &carried.sign_in(q.sent.is_some()))),
            Some(r) => mine_body(&state, l, r, Done::parse(q.done.as_deref()), None).await,
        }
    }
    .await;
    let mut response = render(&ctx, result);
    carried.shown(&mut response);
    response
}

fn title(l: Lang) -> String {
    l.t("我的评价与整改回访", "My reviews and follow-ups")
        .to_string()
}

fn signed_out(l: Lang, sign_in: &SignIn) -> (String, Markup) {
    let body = html! {
        h1 { (title(l)) }
        p { (l.t("用评价时的手机号登录，查看您的评价、商家的回复和差评的整改进展；整改完成后，请您评价整改结果（回访）。", "Sign in with the phone you reviewed with to see your reviews, the replies and how your complaints were rectified, and to rate each rectification.")) }
        @if let Some(e) = sign_in.general_error() { p.error role="alert" { (e) } }
        (sign_in_forms(l, BASE, sign_in, &[]))
    };
    (title(l), body)
}

/// What the reviewer's last 回访 did, said after the redirect.
#[derive(Clone, Copy)]
enum Done {
    Closed,
    Reopened,
}

impl Done {
    fn parse(s: Option<&str>) -> Option<Done> {
        match s? {
            "reopened" => Some(Done::Reopened),
            _ => Some(Done::Closed),
        }
    }
}

async fn mine_body(
    state: &AppState,
    l: Lang,
    reviewer: &Reviewer,
    done: Option<Done>,
    refused: Option<&Refused>,
) -> AppResult<(String, Markup)> {
    let today = crate::time::today();
    let reviews = store::reviewer_reviews(&state.db, reviewer.id, 100).await?;
    let ids: Vec<i64> = reviews.iter().map(|(r, _)| r.id).collect();
    let cases = store::cases_of_reviews(&state.db, &ids, today).await?;
    let config = state.reviews.config();
    let csrf = reviewer.csrf.as_deref().unwrap_or_default();
    let body = html! {
        h1 { (title(l)) }
        p { (l.t("您以化名 ", "Signed in as ")) strong { (reviewer.pseudonym) } (l.t(" 登录。", ".")) }
        @match done {
            Some(Done::Closed) => { p.ok role="status" { (l.t("感谢您的回访评价，整改工单已办结。", "Thank you: the case is closed with your rating.")) } }
            Some(Done::Reopened) => { p.ok role="status" { (l.t("您对整改结果不满意，工单已退回商家重新整改，请留意新的整改期限。", "The case has gone back to the business for another round of rectification; see its new deadline.")) } }
            None => {}
        }
        @if reviews.is_empty() { p { (l.t("您还没有评价过服务网点。", "You have not reviewed any outlet yet.")) } }
        @for (review, outlet) in &reviews {
            article.card aria-labelledby=(format!("r{}-h", review.id)) {
                h2 #(format!("r{}-h", review.id)) { a href=(format!("/outlets/{}", review.outlet_id)) { (outlet) } }
                ol.reviews { (review_item(l, review, true)) }
                @if review.status != "published" { p { strong { (l.t("状态：", "Status: ")) } (status_words(l, &review.status)) } }
                @if let Some(c) = cases.get(&review.id) { (case_block(l, &config, csrf, c, today, refused)) }
            }
        }
    };
    Ok((title(l), body))
}

fn status_words(l: Lang, status: &str) -> &'static str {
    match status {
        "held" => l.t("审核中，暂未公开", "Being checked, not yet public"),
        "removed" => l.t("已移除", "Removed"),
        _ => l.t("已发布", "Published"),
    }
}

/// A case's progress and, once rectified, the 回访 form.
fn case_block(
    l: Lang,
    config: &ReviewConfig,
    csrf: &str,
    c: &CaseView,
    today: NaiveDate,
    refused: Option<&Refused>,
) -> Markup {
    let form = format!("follow-up-{}", c.id);
    let open = c.status == "rectified";
    html! {
        h3 { (l.t("差评整改进展", "Rectification")) }
        @if !open { @if let Some(m) = any_refusal(refused, &form) { p.error role="alert" { (m) } } }
        (case_facts(l, config, c, today))
        @if open { (follow_up_form_markup(l, csrf, c.id, &form, refused)) }
    }
}

fn follow_up_form_markup(
    l: Lang,
    csrf: &str,
    case_id: i64,
    form: &str,
    refused: Option<&Refused>,
) -> Markup {
    let rating_id = format!("{form}-rating");
    let rating_error = refusal(refused, form, Some("rating"));
    html! {
        form method="post" action=(format!("/reviews/mine/cases/{case_id}/follow-up")) {
            input type="hidden" name="csrf" value=(csrf);
            @if let Some(m) = refusal(refused, form, None) { p.error role="alert" { (m) } }
            fieldset aria-describedby=[described_by(&rating_id, rating_error)] {
                legend { (l.t("您对整改结果满意吗？", "How satisfied are you with the rectification?")) }
                (field_error(&rating_id, rating_error))
                @for r in Rating::ALL {
                    label { input type="radio" name="rating" value=(r.value()) required; " " (l.t(r.zh(), r.en())) } " "
                }
            }
            (text_area(&format!("{form}-text"), "text", l.t("回访意见（可选）", "Comments (optional)"), typed(refused, form), refusal(refused, form, Some("text")), false))
            button type="submit" { (l.t("提交回访评价", "Submit")) }
        }
    }
}

async fn code_form(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Form(f): Form<CodeForm>,
) -> Response {
    send_code_then(&state, &addr.ip().to_string(), BASE, &f.phone, &[]).await
}

async fn sign_in_form(State(state): State<AppState>, Form(f): Form<SignInForm>) -> Response {
    sign_in_then(&state, BASE, &f.phone, &f.code, &[]).await
}

#[derive(Deserialize)]
struct FollowUpForm {
    csrf: Option<String>,
    rating: Option<String>,
    text: Option<String>,
}

async fn follow_up_form(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeReviewer(reviewer): MaybeReviewer,
    Path(id): Path<String>,
    Form(f): Form<FollowUpForm>,
) -> Response {
    let Some(reviewer) = reviewer else {
        return Redirect::to(BASE).into_response();
    };
    let l = ctx.lang;
    let text = f.text.as_deref().unwrap_or_default();
    let outcome = async {
        check_csrf(reviewer.csrf.as_deref(), f.csrf.as_deref())?;
        let id: i64 = id
            .parse()
            .map_err(|_| AppError::not_found(format!("整改工单“{id}”不存在")))?;
        // No choice made reads as 0, which the rule refuses beside the choices.
        let rating = f
            .rating
            .as_deref()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        match service::follow_up(
            &state.db,
            &state.reviews.config(),
            reviewer.id,
            id,
            rating,
            Some(text),
        )
        .await
        {
            Ok(case) if case.status == "closed" => Ok(Outcome::Next(format!("{BASE}?done=1"))),
            Ok(_) => Ok(Outcome::Next(format!("{BASE}?done=reopened"))),
            Err(e) if shown_on_form(&e) => {
                let refused =
                    Refused::new(format!("follow-up-{id}"), &e, &["rating", "text"], text);
                let page = mine_body(&state, l, &reviewer, None, Some(&refused)).await?;
                Ok(Outcome::Again(e.status(), page))
            }
            Err(e) => Err(e),
        }
    }
    .await;
    Outcome::respond(outcome, &ctx)
}
