//! The 好差评 desk for signed-in accounts, and the entity's side of it. An
//! entity account sees its outlets' reviews with the bad ones first, replies
//! once in public, appeals, and records the steps of each rectification case
//! against its deadlines, shown in words. Officers open the same review page
//! without the forms; their lists are in `oversight`. Reads and writes go
//! through `service` and `store` with the scopes the API uses; every form
//! carries the session's CSRF token, and a refused write shows the page again
//! with the message beside its field.

use super::ReviewConfig;
use super::pages::{described_by, field_error, review_item};
use super::service::{self, Actor, AppealKind, CaseStep};
use super::store::{self, AppealView, CaseFilter, CaseView, ReviewView, Scope};
use crate::app::AppState;
use crate::auth::{Principal, verify_csrf};
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, Lang, render};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use lifeservice_domain::review::{Rating, WorkCalendar};
use maud::{Markup, html};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/reviews", get(entity_reviews))
        .route("/admin/reviews/{id}", get(review_page))
        .route("/admin/reviews/{id}/reply", post(reply_form))
        .route("/admin/reviews/{id}/appeal", post(appeal_form))
        .route("/admin/review-cases/{id}/contact", post(contact_form))
        .route("/admin/review-cases/{id}/rectify", post(rectify_form))
}

/// Entries of the administration home page for this account's role.
pub fn admin_links(l: Lang, user: &Principal) -> Markup {
    let officer = Actor::Officer(user.clone());
    html! {
        @if matches!(user.role, crate::auth::Role::Entity(_)) {
            li { a href="/admin/reviews" { (l.t("好差评：回复评价、差评整改", "Reviews: replies and rectification")) } }
        } @else {
            li { a href="/admin/review-cases" { (l.t("好差评：差评整改工单", "Reviews: rectification cases")) } }
        }
        @if officer.decision_scope().is_some() {
            li { a href="/admin/review-appeals" { (l.t("好差评：待决定的申诉", "Reviews: appeals to decide")) } }
            li { a href="/admin/review-moderation" { (l.t("好差评：待审核的评价", "Reviews: held for moderation")) } }
        }
    }
}

pub(super) const PER_PAGE: i64 = 30;

pub(super) fn parse_id(s: &str, what: &str) -> AppResult<i64> {
    s.parse()
        .map_err(|_| AppError::not_found(format!("{what}“{s}”不存在")))
}

pub(super) fn parse_page(page: Option<&str>) -> AppResult<i64> {
    match page {
        None | Some("") => Ok(1),
        Some(p) => p
            .parse()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| AppError::field("page", format!("页码“{p}”应为1至10000的整数"))),
    }
}

/// One text in the page's language, for texts with numbers in them.
pub(super) fn words(l: Lang, zh: String, en: String) -> String {
    if l == Lang::En { en } else { zh }
}

// ---------------------------------------------------------------------------
// Running pages and forms

/// Renders a page for the signed-in account's actor (anonymous visitors go
/// to the sign-in page).
pub(super) async fn page(
    state: &AppState,
    ctx: &Ctx,
    build: impl AsyncFnOnce(&Actor, &Principal) -> AppResult<(String, Markup)>,
) -> Response {
    let Some(user) = &ctx.user else {
        return Redirect::to("/login").into_response();
    };
    let result = async {
        let actor = Actor::of_principal(&state.db, user.clone()).await?;
        build(&actor, user).await
    }
    .await;
    render(ctx, result)
}

/// A write the service refused, to show on the page again: which form, the
/// field the message belongs beside (none: the form's top), what was typed.
pub(super) struct Refused {
    pub form: String,
    pub field: Option<String>,
    pub message: String,
    pub typed: String,
}

impl Refused {
    /// `fields` are the form's own: a message about any other goes on top.
    pub fn new(form: String, err: &AppError, fields: &[&str], typed: &str) -> Refused {
        Refused {
            form,
            field: err
                .field_name()
                .filter(|f| fields.contains(f))
                .map(str::to_string),
            message: err.to_string(),
            typed: typed.to_string(),
        }
    }
}

/// The message of `form`'s refusal for `field` (`None`: the general one).
pub(super) fn refusal<'a>(
    refused: Option<&'a Refused>,
    form: &str,
    field: Option<&str>,
) -> Option<&'a str> {
    refused
        .filter(|r| r.form == form && r.field.as_deref() == field)
        .map(|r| r.message.as_str())
}

/// The message of `form`'s refusal whatever its field: for a form that is no
/// longer shown (its step was taken meanwhile, say in another tab).
pub(super) fn any_refusal<'a>(refused: Option<&'a Refused>, form: &str) -> Option<&'a str> {
    refused
        .filter(|r| r.form == form)
        .map(|r| r.message.as_str())
}

/// What was typed into `form` before it was refused.
pub(super) fn typed<'a>(refused: Option<&'a Refused>, form: &str) -> &'a str {
    refused
        .filter(|r| r.form == form)
        .map_or("", |r| r.typed.as_str())
}

/// Whether a refused write is shown beside its form; other errors (no
/// permission, gone, CSRF) get the error page.
pub(super) fn shown_on_form(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Validation { .. } | AppError::Conflict { .. } | AppError::RateLimited
    )
}

/// Where a form's write leads: the next page, or the form's page again with
/// the refusal, under the error's status.
pub(super) enum Outcome {
    Next(String),
    Again(StatusCode, (String, Markup)),
}

impl Outcome {
    /// The response: a redirect, the page again, or the error page.
    pub fn respond(outcome: AppResult<Outcome>, ctx: &Ctx) -> Response {
        match outcome {
            Ok(Outcome::Next(next)) => Redirect::to(&next).into_response(),
            Ok(Outcome::Again(status, page)) => (status, render(ctx, Ok(page))).into_response(),
            Err(e) => render(ctx, Err(e)),
        }
    }
}

/// Runs a signed-in write from a form: checks the CSRF token, then `write`
/// (which returns where to go next). A refusal the user can correct renders
/// `again` with it and the error's status; anything else is the error page.
pub(super) async fn submit(
    state: &AppState,
    ctx: &Ctx,
    csrf: Option<&str>,
    write: impl AsyncFnOnce(&Actor) -> AppResult<String>,
    again: impl AsyncFnOnce(&Actor, &Principal, AppError) -> AppResult<(String, Markup)>,
) -> Response {
    let Some(user) = &ctx.user else {
        return Redirect::to("/login").into_response();
    };
    let outcome = async {
        verify_csrf(user, csrf)?;
        let actor = Actor::of_principal(&state.db, user.clone()).await?;
        match write(&actor).await {
            Ok(next) => Ok(Outcome::Next(next)),
            Err(e) if shown_on_form(&e) => {
                let status = e.status();
                Ok(Outcome::Again(status, again(&actor, user, e).await?))
            }
            Err(e) => Err(e),
        }
    }
    .await;
    Outcome::respond(outcome, ctx)
}

pub(super) fn csrf_field(user: &Principal) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or("")); }
}

/// A labelled text area with its refusal beside it; `id` names the control.
pub(super) fn text_area(
    id: &str,
    name: &str,
    label: &str,
    value: &str,
    error: Option<&str>,
    required: bool,
) -> Markup {
    html! {
        p {
            label for=(id) { (label) } br;
            (field_error(id, error))
            textarea id=(id) name=(name) rows="3" cols="60" maxlength="500" required[required]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described_by(id, error)] { (value) }
        }
    }
}

// ---------------------------------------------------------------------------
// Cases in words

/// A case's status in words.
pub(super) fn status_words(l: Lang, status: &str) -> &'static str {
    match status {
        "open" => l.t("待联系评价人", "Awaiting contact"),
        "contacted" => l.t("已联系评价人，待整改", "Contacted, awaiting rectification"),
        "rectified" => l.t(
            "已整改，待评价人回访",
            "Rectified, awaiting the reviewer's follow-up",
        ),
        "closed" => l.t("已办结（评价人已回访）", "Closed (followed up)"),
        "withdrawn" => l.t("已撤销（评价已移除）", "Withdrawn (review removed)"),
        _ => l.t("未知状态", "Unknown status"),
    }
}

/// `CaseView::overdue` in the page's language.
pub(super) fn overdue_words(l: Lang, overdue: &str) -> &str {
    match overdue {
        "逾期未联系" => l.t("逾期未联系", "Contact overdue"),
        "逾期未整改" => l.t("逾期未整改", "Rectification overdue"),
        other => other,
    }
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A step's deadline in words, so that nothing depends on colour: done on
/// time or late, due today, working days left, or working days overdue.
fn deadline_words(
    l: Lang,
    cal: &WorkCalendar,
    due: &str,
    done: Option<&str>,
    today: NaiveDate,
) -> String {
    let Some(due_day) = day(due) else {
        return due.to_string();
    };
    match done.and_then(day) {
        Some(d) if d <= due_day => words(
            l,
            format!("已于 {d} 完成（按期；期限 {due}）"),
            format!("Done on {d} (on time; due {due})"),
        ),
        Some(d) => {
            let late = cal.working_days_between(due_day, d);
            words(
                l,
                format!("已于 {d} 完成（逾期 {late} 个工作日；期限 {due}）"),
                format!("Done on {d} ({late} working days late; due {due})"),
            )
        }
        None if today > due_day => match cal.working_days_between(due_day, today) {
            0 => words(
                l,
                format!("已逾期（期限 {due}）"),
                format!("Overdue (due {due})"),
            ),
            late => words(
                l,
                format!("已逾期 {late} 个工作日（期限 {due}）"),
                format!("Overdue by {late} working days (due {due})"),
            ),
        },
        None if today == due_day => words(
            l,
            format!("今天到期（{due}）"),
            format!("Due today ({due})"),
        ),
        None => {
            let left = cal.working_days_between(today, due_day);
            words(
                l,
                format!("还剩 {left} 个工作日（期限 {due}）"),
                format!("{left} working days left (due {due})"),
            )
        }
    }
}

/// A case step's deadline, or why it no longer applies.
fn step_words(
    l: Lang,
    config: &ReviewConfig,
    c: &CaseView,
    due: &str,
    done: Option<&str>,
    today: NaiveDate,
) -> String {
    if c.status == "withdrawn" && done.is_none() {
        return l.t("工单已撤销，无需处理", "Case withdrawn").to_string();
    }
    deadline_words(l, &config.calendar, due, done, today)
}

/// The case's status, deadlines, steps and 回访, as facts.
pub(super) fn case_facts(l: Lang, config: &ReviewConfig, c: &CaseView, today: NaiveDate) -> Markup {
    let d = config.deadlines;
    html! {
        dl.facts {
            dt { (l.t("工单状态", "Status")) }
            dd {
                strong { (status_words(l, &c.status)) }
                @if let Some(o) = &c.overdue { " " span.tag.bad { (overdue_words(l, o)) } }
                @if let Some(e) = &c.escalated_on { " " span.tag.warn { (l.t("已升级督办：", "Escalated: ")) (e) } }
            }
            dt { (l.t("立案日期", "Opened")) } dd { (c.opened_on) }
            dt { (words(l, format!("联系评价人（{}个工作日内）", d.contact_days), format!("Contact the reviewer (within {} working days)", d.contact_days))) }
            dd {
                (step_words(l, config, c, &c.contact_due, c.contacted_on.as_deref(), today))
                @if let Some(n) = &c.contact_note { br; (l.t("联系情况：", "Note: ")) (n) }
            }
            dt { (words(l, format!("完成整改（{}个工作日内）", d.rectify_days), format!("Rectify (within {} working days)", d.rectify_days))) }
            dd {
                (step_words(l, config, c, &c.rectify_due, c.rectified_on.as_deref(), today))
                @if let Some(n) = &c.rectify_note { br; (l.t("整改情况：", "Rectification: ")) (n) }
            }
            dt { (l.t("评价人回访", "Reviewer's follow-up")) }
            dd {
                @match (&c.followed_on, c.follow_rating.and_then(Rating::from_value)) {
                    (Some(on), Some(r)) => {
                        (on) " " (l.t(r.zh(), r.en()))
                        @if let Some(n) = &c.follow_note { "：" (n) }
                    }
                    _ => { (l.t("整改完成后，由评价人评价整改结果", "The reviewer rates the rectification once it is done")) }
                }
                @if let (Some(on), Some(r)) = (&c.reopened_on, c.reopen_rating.and_then(Rating::from_value)) {
                    br; span.tag.warn { (l.t("首次回访不满意，退回重新整改", "First follow-up unsatisfied: sent back")) }
                    " " (on) " " (l.t(r.zh(), r.en()))
                    @if let Some(n) = &c.reopen_note { "：" (n) }
                }
                br; small.muted { (l.t("回访评价为不满意或非常不满意的，工单退回重新整改一次；再次不满意的，办结并升级主管部门督办。", "A follow-up rated unsatisfied sends the case back once; unsatisfied again, it is closed and escalated to the department.")) }
            }
            dt { (l.t("主管部门", "Department")) }
            dd { @if c.departments.is_empty() { "—" } @else { (c.departments) } }
        }
    }
}

// ---------------------------------------------------------------------------
// The entity's reviews

#[derive(Deserialize, Default)]
struct ListQuery {
    page: Option<String>,
}

async fn entity_name(state: &AppState, entity_id: i64) -> AppResult<String> {
    let mut conn = state.db.pool().acquire().await?;
    let found = crate::registry::store::entities_by_ids(&mut conn, &[entity_id]).await?;
    Ok(found.into_iter().next().map(|e| e.name).unwrap_or_default())
}

async fn entity_reviews(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Response {
    let l = ctx.lang;
    page(&state, &ctx, async |actor, _| {
        let Actor::Entity { entity_id, .. } = actor else {
            // Officers have no reviews of their own: they oversee cases.
            return Err(AppError::Forbidden(
                "本页供市场主体账号使用；工作人员请查看差评整改工单（/admin/review-cases）".into(),
            ));
        };
        let page_no = parse_page(q.page.as_deref())?;
        let today = crate::time::today();
        store::escalate_overdue(&state.db, today).await?;
        let scope = Scope {
            entity: Some(*entity_id),
            ..Scope::default()
        };
        let pending = store::count_cases(&state.db, &scope, CaseFilter::Pending, today).await?;
        let overdue = store::count_cases(&state.db, &scope, CaseFilter::Overdue, today).await?;
        let total = store::count_entity_reviews(&state.db, *entity_id).await?;
        let reviews =
            store::entity_reviews(&state.db, *entity_id, (page_no - 1) * PER_PAGE, PER_PAGE)
                .await?;
        let ids: Vec<i64> = reviews.iter().map(|(r, _)| r.id).collect();
        let cases = store::cases_of_reviews(&state.db, &ids, today).await?;
        let config = state.reviews.config();
        let name = entity_name(&state, *entity_id).await?;
        let body = html! {
            h1 { (name) (l.t("：评价与整改", ": reviews and rectification")) }
            p.summary role="note" {
                (words(l, format!("待处理的差评整改工单 {pending} 件，其中逾期 {overdue} 件。"), format!("{pending} rectification cases need a step, {overdue} of them overdue.")))
                " " a href="/admin/review-cases?status=open" { (l.t("按工单查看", "See the cases")) }
            }
            p.muted { (words(l,
                format!("差评（不满意、非常不满意）排在前面。每条评价可公开回复一次；差评须在{}个工作日内联系评价人、{}个工作日内完成整改，之后由评价人回访评价整改结果。", config.deadlines.contact_days, config.deadlines.rectify_days),
                format!("Bad reviews come first. Each review can be answered once in public; a bad review's reviewer is to be contacted within {} working days and the problem rectified within {}, then the reviewer rates the rectification.", config.deadlines.contact_days, config.deadlines.rectify_days))) }
            @if reviews.is_empty() { p { (l.t("本主体的网点还没有评价。", "No reviews of your outlets yet.")) } }
            ol.results {
                @for (r, outlet) in &reviews {
                    li { (review_summary(l, r, outlet, cases.get(&r.id))) }
                }
            }
            (pager(l, "/admin/reviews?", page_no, total))
        };
        Ok((l.t("评价与整改", "Reviews").to_string(), body))
    })
    .await
}

/// One review in the entity's list: what it says and what is left to do.
fn review_summary(l: Lang, r: &ReviewView, outlet: &str, case: Option<&CaseView>) -> Markup {
    html! {
        a href=(format!("/admin/reviews/{}", r.id)) { strong { (outlet) } " · " (l.t("评价", "Review")) " #" (r.id) }
        div.meta {
            span role="img" aria-label=(format!("{}分", r.rating)) { (super::pages::stars(r.rating)) } " " strong { (r.rating_zh) }
            " · " (r.created_at.get(..10).unwrap_or("")) " · " (r.reviewer) " "
            @if r.bad { span.tag.bad { (l.t("差评", "Bad review")) } " " }
            @if r.status == "removed" { span.tag { (l.t("已移除", "Removed")) } " " }
            @if r.reply.is_some() { span.tag.ok { (l.t("已回复", "Replied")) } } @else { span.tag { (l.t("未回复", "Not replied")) } }
        }
        p { (r.text) }
        @if let Some(c) = case {
            p { (l.t("整改工单：", "Case: ")) strong { (status_words(l, &c.status)) }
                @if let Some(o) = &c.overdue { " " span.tag.bad { (overdue_words(l, o)) } } }
        }
    }
}

/// Previous/next links of a list of `total` items, `PER_PAGE` a page;
/// `base` ends with `?` or `&`.
pub(super) fn pager(l: Lang, base: &str, page_no: i64, total: i64) -> Markup {
    let last = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    html! {
        @if last > 1 {
            nav.pager aria-label=(l.t("翻页", "Pages")) {
                p {
                    @if page_no > 1 { a href=(format!("{base}page={}", page_no - 1)) { (l.t("上一页", "Previous")) } " " }
                    (words(l, format!("第 {page_no} / {last} 页"), format!("Page {page_no} of {last}")))
                    @if page_no < last { " " a href=(format!("{base}page={}", page_no + 1)) { (l.t("下一页", "Next")) } }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// One review: reply, appeal and its case

#[derive(Deserialize, Default)]
pub(super) struct DoneQuery {
    pub done: Option<String>,
}

async fn review_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    page(&state, &ctx, async |actor, user| {
        let id = parse_id(&id, "评价")?;
        review_body(&state, ctx.lang, actor, user, id, q.done.as_deref(), None).await
    })
    .await
}

/// What a review page says after a write went through.
fn done_words(l: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "reply" => l.t("已公开回复。", "Your reply is published."),
        "appeal" => l.t(
            "申诉已提交，等待主管部门决定。",
            "The appeal is filed for the department to decide.",
        ),
        "contact" => l.t("已记录联系评价人。", "Contact recorded."),
        "rectify" => l.t(
            "已记录整改完成，等待评价人回访。",
            "Rectification recorded; the reviewer will rate it.",
        ),
        _ => return None,
    })
}

/// The review page: the review, its public reply, its appeal and its case,
/// with the entity's forms; officers in scope see it without forms.
async fn review_body(
    state: &AppState,
    l: Lang,
    actor: &Actor,
    user: &Principal,
    id: i64,
    done: Option<&str>,
    refused: Option<&Refused>,
) -> AppResult<(String, Markup)> {
    let today = crate::time::today();
    let mut conn = state.db.pool().acquire().await?;
    let review = store::review_by_id(&mut conn, id).await?;
    let outlet = store::outlet_ref(&mut conn, review.outlet_id).await?;
    actor.may_act_for(&outlet)?;
    let case = match review.case_id {
        Some(c) => Some(store::case_by_id(&mut conn, c, today).await?),
        None => None,
    };
    let appeal = store::appeal_of_review(&mut conn, id).await?;
    let departments = store::departments_for(&mut conn, &outlet.service_type).await?;
    drop(conn);
    // The forms are the entity's; officers in scope follow the case.
    let entity = matches!(actor, Actor::Entity { .. });
    let config = state.reviews.config();
    let body = html! {
        h1 { (l.t("评价", "Review")) " #" (id) "：" (outlet.name) }
        p { a href=(format!("/outlets/{}", outlet.id)) { (l.t("网点公开页面", "Public outlet page")) } " · "
            @if entity { a href="/admin/reviews" { (l.t("返回评价列表", "Back to the reviews")) } }
            @else { a href="/admin/review-cases" { (l.t("返回整改工单", "Back to the cases")) } } }
        @if let Some(message) = done.and_then(|d| done_words(l, d)) { p.ok role="status" { (message) } }
        section #review aria-labelledby="review-h" {
            h2 #review-h { (l.t("评价内容", "The review")) }
            ol.reviews { (review_item(l, &review, false)) }
            @if review.status != "published" {
                p { strong { (l.t("状态：", "Status: ")) } (review_status_words(l, &review.status))
                    @if let Some(reason) = &review.status_reason { "（" (reason) "）" } }
            }
        }
        (reply_section(l, user, &review, entity, refused))
        @if let Some(c) = &case { (case_section(l, &config, user, c, entity, today, refused)) }
        (appeal_section(l, user, &review, appeal.as_ref(), &departments, entity, refused))
    };
    Ok((format!("{} #{id}", l.t("评价", "Review")), body))
}

fn review_status_words(l: Lang, status: &str) -> &'static str {
    match status {
        "published" => l.t("已发布", "Published"),
        "held" => l.t("待审核（暂不公开）", "Held for moderation (not public)"),
        "removed" => l.t(
            "已移除（不公开，不计入质量指数）",
            "Removed (hidden, not counted)",
        ),
        _ => l.t("未知状态", "Unknown status"),
    }
}

fn reply_section(
    l: Lang,
    user: &Principal,
    review: &ReviewView,
    entity: bool,
    refused: Option<&Refused>,
) -> Markup {
    let can_reply = entity && review.reply.is_none() && review.status != "removed";
    let text_error = refusal(refused, "reply", Some("text"));
    html! {
        section #reply aria-labelledby="reply-h" {
            h2 #reply-h { (l.t("公开回复", "Public reply")) }
            @if !can_reply { @if let Some(m) = any_refusal(refused, "reply") { p.error role="alert" { (m) } } }
            @match &review.reply {
                Some(text) => {
                    blockquote { (text) }
                    p.muted { (l.t("回复时间：", "Replied: ")) (review.reply_at.as_deref().and_then(|t| t.get(..10)).unwrap_or("")) }
                }
                None if can_reply => {
                    form method="post" action=(format!("/admin/reviews/{}/reply", review.id)) {
                        (csrf_field(user))
                        @if let Some(m) = refusal(refused, "reply", None) { p.error role="alert" { (m) } }
                        (text_area("reply-text", "text", l.t("回复内容（将在网点页面公开，每条评价只能回复一次）", "Your reply (shown on the outlet page; one reply per review)"), typed(refused, "reply"), text_error, true))
                        button type="submit" { (l.t("公开回复", "Publish the reply")) }
                    }
                }
                None => { p { (l.t("商家尚未回复。", "No reply yet.")) } }
            }
        }
    }
}

fn case_section(
    l: Lang,
    config: &ReviewConfig,
    user: &Principal,
    c: &CaseView,
    entity: bool,
    today: NaiveDate,
    refused: Option<&Refused>,
) -> Markup {
    let can_contact = entity && c.status == "open";
    let can_rectify = entity && matches!(c.status.as_str(), "open" | "contacted");
    html! {
        section #case aria-labelledby="case-h" {
            h2 #case-h { (l.t("差评整改工单", "Rectification case")) " #" (c.id) }
            @if !can_contact { @if let Some(m) = any_refusal(refused, "contact") { p.error role="alert" { (m) } } }
            @if !can_rectify { @if let Some(m) = any_refusal(refused, "rectify") { p.error role="alert" { (m) } } }
            (case_facts(l, config, c, today))
            @if can_contact || can_rectify {
                p.muted { (l.t("评价人的手机号不向市场主体公开：可以通过公开回复与评价人沟通，或请主管部门协助联系。", "The reviewer's number is not shown to entities: answer through the public reply, or ask the department to help.")) }
            }
            @if can_contact {
                (step_form(user, c.id, CaseStep::Contact, l.t("联系评价人的情况（如：已通过回复致歉，约定上门处理）", "How you contacted the reviewer"), l.t("记录已联系评价人", "Record the contact"), refused))
            }
            @if can_rectify {
                (step_form(user, c.id, CaseStep::Rectify, l.t("整改措施和结果（如：已退还多收费用，公示价目表）", "What was rectified, and how"), l.t("记录整改完成", "Record the rectification"), refused))
            }
        }
    }
}

fn step_form(
    user: &Principal,
    case_id: i64,
    step: CaseStep,
    label: &str,
    button: &str,
    refused: Option<&Refused>,
) -> Markup {
    let form = step.code();
    let id = format!("{form}-note");
    html! {
        form method="post" action=(format!("/admin/review-cases/{case_id}/{form}")) {
            (csrf_field(user))
            @if let Some(m) = refusal(refused, form, None) { p.error role="alert" { (m) } }
            (text_area(&id, "note", label, typed(refused, form), refusal(refused, form, Some("note")), true))
            button type="submit" { (button) }
        }
    }
}

fn appeal_section(
    l: Lang,
    user: &Principal,
    review: &ReviewView,
    appeal: Option<&AppealView>,
    departments: &str,
    entity: bool,
    refused: Option<&Refused>,
) -> Markup {
    let can_appeal = entity && appeal.is_none() && review.status != "removed";
    html! {
        section #appeal aria-labelledby="appeal-h" {
            h2 #appeal-h { (l.t("申诉", "Appeal")) }
            @if !can_appeal { @if let Some(m) = any_refusal(refused, "appeal") { p.error role="alert" { (m) } } }
            @match appeal {
                Some(a) => { (appeal_facts(l, a)) }
                None if can_appeal => {
                    p.muted { (words(l,
                        format!("认为该评价属于恶意评价或错评误评时可以申诉，由主管部门（{}）决定；每条评价只能申诉一次。", if departments.is_empty() { "—" } else { departments }),
                        format!("If the review is malicious or mistaken you may appeal once; the department ({}) decides.", if departments.is_empty() { "—" } else { departments }))) }
                    form method="post" action=(format!("/admin/reviews/{}/appeal", review.id)) {
                        (csrf_field(user))
                        @if let Some(m) = refusal(refused, "appeal", None) { p.error role="alert" { (m) } }
                        p {
                            label for="appeal-kind" { (l.t("申诉类型", "Kind")) } br;
                            (field_error("appeal-kind", refusal(refused, "appeal", Some("kind"))))
                            select #appeal-kind name="kind" {
                                @for k in AppealKind::ALL { option value=(k.code()) { (l.t(k.zh(), k.en())) } }
                            }
                        }
                        (text_area("appeal-reason", "reason", l.t("申诉理由和依据", "Reasons and evidence"), typed(refused, "appeal"), refusal(refused, "appeal", Some("reason")), true))
                        button type="submit" { (l.t("提交申诉", "File the appeal")) }
                    }
                }
                None => { p { (l.t("未申诉。", "No appeal.")) } }
            }
        }
    }
}

pub(super) fn appeal_facts(l: Lang, a: &AppealView) -> Markup {
    let kind = AppealKind::parse(&a.kind).ok();
    html! {
        dl.facts {
            dt { (l.t("申诉类型", "Kind")) } dd { (kind.map_or(a.kind.as_str(), |k| l.t(k.zh(), k.en()))) }
            dt { (l.t("申诉理由", "Reasons")) } dd { (a.reason) }
            dt { (l.t("提交", "Filed")) } dd { (a.filed_at.get(..10).unwrap_or("")) " · " (a.filed_by) }
            dt { (l.t("决定", "Decision")) }
            dd {
                @match a.decision.as_deref() {
                    None => { (l.t("待主管部门决定", "Awaiting the department's decision")) }
                    Some("uphold") => { strong { (l.t("申诉成立，评价已移除", "Upheld: the review was removed")) } }
                    Some(_) => { strong { (l.t("申诉被驳回，评价保留", "Rejected: the review stays")) } }
                }
                @if let Some(r) = &a.decision_reason { "：" (r) }
            }
        }
    }
}

// The entity's writes

#[derive(Deserialize)]
struct TextForm {
    csrf: Option<String>,
    text: String,
}

async fn reply_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<TextForm>,
) -> Response {
    let l = ctx.lang;
    submit(
        &state,
        &ctx,
        f.csrf.as_deref(),
        async |actor| {
            let id = parse_id(&id, "评价")?;
            service::reply(&state.db, actor, id, &f.text).await?;
            Ok(format!("/admin/reviews/{id}?done=reply#reply"))
        },
        async |actor, user, e| {
            let refused = Refused::new("reply".into(), &e, &["text"], &f.text);
            let id = parse_id(&id, "评价")?;
            review_body(&state, l, actor, user, id, None, Some(&refused)).await
        },
    )
    .await
}

#[derive(Deserialize)]
struct AppealForm {
    csrf: Option<String>,
    kind: String,
    reason: String,
}

async fn appeal_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<AppealForm>,
) -> Response {
    let l = ctx.lang;
    submit(
        &state,
        &ctx,
        f.csrf.as_deref(),
        async |actor| {
            let id = parse_id(&id, "评价")?;
            let kind = AppealKind::parse(&f.kind)?;
            service::appeal(&state.db, actor, id, kind, &f.reason).await?;
            Ok(format!("/admin/reviews/{id}?done=appeal#appeal"))
        },
        async |actor, user, e| {
            let refused = Refused::new("appeal".into(), &e, &["kind", "reason"], &f.reason);
            let id = parse_id(&id, "评价")?;
            review_body(&state, l, actor, user, id, None, Some(&refused)).await
        },
    )
    .await
}

#[derive(Deserialize)]
struct NoteForm {
    csrf: Option<String>,
    note: String,
}

async fn contact_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    case_step_form(state, ctx, id, f, CaseStep::Contact).await
}

async fn rectify_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    case_step_form(state, ctx, id, f, CaseStep::Rectify).await
}

/// A case step from the review page; a refusal shows that page again.
async fn case_step_form(
    state: AppState,
    ctx: Ctx,
    id: String,
    f: NoteForm,
    step: CaseStep,
) -> Response {
    let l = ctx.lang;
    submit(
        &state,
        &ctx,
        f.csrf.as_deref(),
        async |actor| {
            let id = parse_id(&id, "整改工单")?;
            let case = service::case_step(&state.db, actor, id, step, &f.note).await?;
            Ok(format!(
                "/admin/reviews/{}?done={}#case",
                case.review_id,
                step.code()
            ))
        },
        async |actor, user, e| {
            let refused = Refused::new(step.code().into(), &e, &["note"], &f.note);
            let id = parse_id(&id, "整改工单")?;
            let mut conn = state.db.pool().acquire().await?;
            let case = store::case_by_id(&mut conn, id, crate::time::today()).await?;
            drop(conn);
            review_body(&state, l, actor, user, case.review_id, None, Some(&refused)).await
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(s: &str) -> NaiveDate {
        day(s).unwrap()
    }

    /// Deadlines read the same without colour, counted in working days of
    /// the shipped calendar (2026-12-18 is a Friday).
    #[test]
    fn deadlines_in_words() {
        let cal = WorkCalendar::shipped();
        let zh = |done: Option<&str>, today: &str| {
            deadline_words(Lang::Zh, &cal, "2026-12-18", done, on(today))
        };
        assert_eq!(zh(None, "2026-12-16"), "还剩 2 个工作日（期限 2026-12-18）");
        assert_eq!(zh(None, "2026-12-18"), "今天到期（2026-12-18）");
        assert_eq!(zh(None, "2026-12-19"), "已逾期（期限 2026-12-18）");
        assert_eq!(
            zh(None, "2026-12-22"),
            "已逾期 2 个工作日（期限 2026-12-18）"
        );
        assert_eq!(
            zh(Some("2026-12-17"), "2026-12-30"),
            "已于 2026-12-17 完成（按期；期限 2026-12-18）"
        );
        assert_eq!(
            zh(Some("2026-12-21"), "2026-12-30"),
            "已于 2026-12-21 完成（逾期 1 个工作日；期限 2026-12-18）"
        );
        assert_eq!(
            deadline_words(Lang::En, &cal, "2026-12-18", None, on("2026-12-16")),
            "2 working days left (due 2026-12-18)"
        );
    }
}
