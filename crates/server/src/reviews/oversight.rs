//! The officers' side of the 好差评 desk: the rectification cases of a
//! department's service types or a division officer's area, filtered by
//! state (open, overdue, escalated, closed), and for departments the appeals
//! to decide and the held reviews to moderate, each with a reason. The lists
//! use the same scopes as the API (`service::Actor`); the forms, refusals
//! and CSRF checks are the desk's (`desk`).

use super::desk::{
    DoneQuery, PER_PAGE, Refused, appeal_facts, csrf_field, overdue_words, page, pager, parse_id,
    parse_page, refusal, status_words, submit, text_area, typed, words,
};
use super::pages::review_item;
use super::service::{self, Actor, AppealDecision, Moderation};
use super::store::{self, CaseFilter, CaseView, Scope};
use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, Lang};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use lifeservice_domain::ServiceType;
use maud::{Markup, html};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/review-cases", get(cases_page))
        .route("/admin/review-appeals", get(appeals_page))
        .route("/admin/review-appeals/{id}", post(decide_form))
        .route("/admin/review-moderation", get(moderation_page))
        .route("/admin/review-moderation/{id}", post(moderate_form))
}

// ---------------------------------------------------------------------------
// Officers: cases

#[derive(Deserialize, Default)]
struct CasesQuery {
    status: Option<String>,
    page: Option<String>,
}

fn filter_words(l: Lang, f: CaseFilter) -> &'static str {
    match f {
        CaseFilter::Open => l.t("未办结", "Open"),
        CaseFilter::Pending => l.t("待市场主体处理", "Awaiting the entity"),
        CaseFilter::Overdue => l.t("已逾期", "Overdue"),
        CaseFilter::Escalated => l.t("已升级督办", "Escalated"),
        CaseFilter::Closed => l.t("已办结", "Closed"),
        CaseFilter::All => l.t("全部", "All"),
    }
}

/// Whose cases the page lists, in words.
fn scope_words(l: Lang, actor: &Actor) -> String {
    match actor {
        Actor::Entity { .. } => l.t("本主体的网点", "Your outlets").to_string(),
        Actor::Officer(p) => match &p.role {
            crate::auth::Role::Department(codes) => {
                let names: Vec<&str> = codes
                    .iter()
                    .map(|c| {
                        ServiceType::parse(c)
                            .map(|t| l.t(t.zh(), t.en()))
                            .or_else(|| {
                                lifeservice_domain::MajorCategory::parse(c)
                                    .map(|m| l.t(m.zh(), m.en()))
                            })
                            .unwrap_or(c)
                    })
                    .collect();
                words(
                    l,
                    format!("本部门负责的服务类型：{}", names.join("、")),
                    format!("Service types of your department: {}", names.join(", ")),
                )
            }
            crate::auth::Role::Division(code) => {
                let name = crate::reference::Reference::shipped()
                    .name(code)
                    .to_string();
                words(
                    l,
                    format!("本账号负责的区划：{name}"),
                    format!("Your area: {name}"),
                )
            }
            _ => l.t("全省", "The whole province").to_string(),
        },
    }
}

async fn cases_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<CasesQuery>,
) -> Response {
    let l = ctx.lang;
    page(&state, &ctx, async |actor, _| {
        let filter = match q.status.as_deref().filter(|s| !s.is_empty()) {
            None => CaseFilter::Open,
            Some(s) => CaseFilter::parse(s).ok_or_else(|| {
                AppError::field("status", format!("未知的筛选条件“{s}”，应为 open、overdue、escalated、closed 或 all"))
            })?,
        };
        let page_no = parse_page(q.page.as_deref())?;
        let scope = actor
            .case_scope()
            .ok_or_else(|| AppError::Forbidden("本账号不负责差评整改工单".into()))?;
        let today = crate::time::today();
        store::escalate_overdue(&state.db, today).await?;
        let mut counts = Vec::new();
        for f in CaseFilter::PICKS {
            counts.push((f, store::count_cases(&state.db, &scope, f, today).await?));
        }
        let total = counts.iter().find(|(f, _)| *f == filter).map_or(0, |(_, n)| *n);
        let cases =
            store::cases(&state.db, &scope, filter, today, (page_no - 1) * PER_PAGE, PER_PAGE)
                .await?;
        let body = html! {
            h1 { (l.t("差评整改工单", "Rectification cases")) }
            p { (scope_words(l, actor)) }
            nav.filters aria-label=(l.t("按状态筛选", "Filter by status")) {
                ul { @for (f, n) in &counts {
                    li { a href=(format!("/admin/review-cases?status={}", f.code())) aria-current=[(*f == filter).then_some("page")] {
                        (filter_words(l, *f)) " (" (n) ")" } }
                } }
            }
            h2 { (filter_words(l, filter)) " (" (total) ")" }
            @if cases.is_empty() { p { (l.t("没有符合条件的工单。", "No cases.")) } }
            @else { (cases_table(l, &cases)) }
            (pager(l, &format!("/admin/review-cases?status={}&", filter.code()), page_no, total))
        };
        Ok((l.t("差评整改工单", "Rectification cases").to_string(), body))
    })
    .await
}

fn cases_table(l: Lang, cases: &[CaseView]) -> Markup {
    let reference = crate::reference::Reference::shipped();
    html! {
        table {
            thead { tr {
                th scope="col" { (l.t("工单", "Case")) } th scope="col" { (l.t("网点", "Outlet")) }
                th scope="col" { (l.t("服务类型", "Service")) } th scope="col" { (l.t("状态", "Status")) }
                th scope="col" { (l.t("联系期限", "Contact by")) } th scope="col" { (l.t("整改期限", "Rectify by")) }
            } }
            tbody { @for c in cases { tr {
                td { "#" (c.id) }
                td { a href=(format!("/admin/reviews/{}#case", c.review_id)) { (c.outlet_name) }
                    @if let Ok(county) = lifeservice_domain::DivisionCode::parse(&c.county_code) { br; span.muted { (reference.name(&county)) } } }
                td { (ServiceType::parse(&c.service_type).map_or(c.service_type.as_str(), |t| l.t(t.zh(), t.en()))) }
                td { (status_words(l, &c.status))
                    @if let Some(o) = &c.overdue { br; span.tag.bad { (overdue_words(l, o)) } }
                    @if let Some(e) = &c.escalated_on { br; span.tag.warn { (l.t("督办 ", "Escalated ")) (e) } } }
                td { (c.contact_due) } td { (c.rectify_due) }
            } } }
        }
    }
}

// ---------------------------------------------------------------------------
// Officers: appeals and moderation

/// The held reviews and appeals a department decides on, or why not.
fn decision_scope(actor: &Actor) -> AppResult<Scope> {
    actor
        .decision_scope()
        .ok_or_else(|| AppError::Forbidden("仅该服务类型的主管部门可以作出决定".into()))
}

async fn appeals_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> Response {
    let l = ctx.lang;
    page(&state, &ctx, async |actor, user| {
        appeals_body(&state, l, actor, user, q.done.is_some(), None).await
    })
    .await
}

async fn appeals_body(
    state: &AppState,
    l: Lang,
    actor: &Actor,
    user: &Principal,
    done: bool,
    refused: Option<&Refused>,
) -> AppResult<(String, Markup)> {
    let scope = decision_scope(actor)?;
    let appeals = store::pending_appeals(&state.db, &scope, 100).await?;
    let body = html! {
        h1 { (l.t("待决定的申诉", "Appeals to decide")) }
        p.muted { (l.t("市场主体认为评价属于恶意评价或错评误评时可以申诉。支持申诉将移除该评价（保留记录，不公开，不计入质量指数，整改工单随之撤销）；驳回则评价保持公开。决定须写明理由，记入操作日志。", "Entities appeal reviews they hold malicious or mistaken. Upholding removes the review (kept on record, hidden, not counted; its case is withdrawn); rejecting keeps it. Decisions need reasons and are audited.")) }
        @if done { p.ok role="status" { (l.t("已作出决定。", "Decision recorded.")) } }
        @if appeals.is_empty() { p { (l.t("没有待决定的申诉。", "No appeals to decide.")) } }
        @for (a, review, outlet) in &appeals {
            article.card aria-labelledby=(format!("appeal-{}-h", a.id)) {
                h2 #(format!("appeal-{}-h", a.id)) { (l.t("申诉", "Appeal")) " #" (a.id) "：" (outlet) }
                ol.reviews { (review_item(l, review, true)) }
                (appeal_facts(l, a))
                (decision_form(l, user, &format!("/admin/review-appeals/{}", a.id), &format!("appeal-{}", a.id),
                    [("uphold", l.t("支持申诉，移除评价", "Uphold: remove the review")), ("reject", l.t("驳回申诉", "Reject the appeal"))], refused))
            }
        }
    };
    Ok((l.t("待决定的申诉", "Appeals").to_string(), body))
}

/// A reason and two decision buttons; `form` names the form for its refusal.
fn decision_form(
    l: Lang,
    user: &Principal,
    action: &str,
    form: &str,
    choices: [(&str, &str); 2],
    refused: Option<&Refused>,
) -> Markup {
    let id = format!("{form}-reason");
    html! {
        form method="post" action=(action) {
            (csrf_field(user))
            @if let Some(m) = refusal(refused, form, None) { p.error role="alert" { (m) } }
            (text_area(&id, "reason", l.t("理由（将告知市场主体并记入操作日志）", "Reason (shown to the entity, audited)"), typed(refused, form), refusal(refused, form, Some("reason")), true))
            @for (value, label) in choices { button type="submit" name="decision" value=(value) { (label) } " " }
        }
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: Option<String>,
    decision: String,
    reason: String,
}

async fn decide_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let l = ctx.lang;
    submit(
        &state,
        &ctx,
        f.csrf.as_deref(),
        async |actor| {
            let id = parse_id(&id, "申诉")?;
            let decision = AppealDecision::parse(&f.decision)?;
            service::decide_appeal(&state.db, actor, id, decision, &f.reason).await?;
            Ok("/admin/review-appeals?done=1".to_string())
        },
        async |actor, user, e| {
            let refused = Refused::new(format!("appeal-{id}"), &e, &["reason"], &f.reason);
            appeals_body(&state, l, actor, user, false, Some(&refused)).await
        },
    )
    .await
}

async fn moderation_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> Response {
    let l = ctx.lang;
    page(&state, &ctx, async |actor, user| {
        moderation_body(&state, l, actor, user, q.done.is_some(), None).await
    })
    .await
}

async fn moderation_body(
    state: &AppState,
    l: Lang,
    actor: &Actor,
    user: &Principal,
    done: bool,
    refused: Option<&Refused>,
) -> AppResult<(String, Markup)> {
    let scope = decision_scope(actor)?;
    let held = store::held_reviews(&state.db, &scope, 100).await?;
    let body = html! {
        h1 { (l.t("待审核的评价", "Reviews held for moderation")) }
        p.muted { (l.t("与近期评价高度相似的内容、或网点评价量突增时，新评价暂不公开，由主管部门审核：发布后计入质量指数（差评随即立案整改），移除则不公开。", "Near-duplicates and bursts of reviews wait for a department: publishing counts the review (opening a case if it is bad); removing hides it.")) }
        @if done { p.ok role="status" { (l.t("已审核。", "Done.")) } }
        @if held.is_empty() { p { (l.t("没有待审核的评价。", "No reviews held.")) } }
        @for (review, outlet) in &held {
            article.card aria-labelledby=(format!("held-{}-h", review.id)) {
                h2 #(format!("held-{}-h", review.id)) { (l.t("评价", "Review")) " #" (review.id) "：" (outlet) }
                ol.reviews { (review_item(l, review, true)) }
                p { strong { (l.t("暂缓公开的原因：", "Held because: ")) } (review.status_reason.as_deref().unwrap_or("—")) }
                (decision_form(l, user, &format!("/admin/review-moderation/{}", review.id), &format!("held-{}", review.id),
                    [("publish", l.t("发布", "Publish")), ("remove", l.t("移除", "Remove"))], refused))
            }
        }
    };
    Ok((l.t("待审核的评价", "Moderation").to_string(), body))
}

async fn moderate_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let l = ctx.lang;
    submit(
        &state,
        &ctx,
        f.csrf.as_deref(),
        async |actor| {
            let id = parse_id(&id, "评价")?;
            let decision = Moderation::parse(&f.decision)?;
            let config = state.reviews.config();
            service::moderate(&state.db, &config, actor, id, decision, &f.reason).await?;
            Ok("/admin/review-moderation?done=1".to_string())
        },
        async |actor, user, e| {
            let refused = Refused::new(format!("held-{id}"), &e, &["reason"], &f.reason);
            moderation_body(&state, l, actor, user, false, Some(&refused)).await
        },
    )
    .await
}
