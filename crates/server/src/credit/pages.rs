//! Credit on the portal: the profile section of the provider page, the
//! rules page, and the officers' and entities' credit desk (repairs,
//! withdrawals).

use super::api::{load_profile, viewer_of};
use super::fields::plural;
use super::profile::{self, CreditProfile, ProfileRecord};
use super::repair;
use crate::app::AppState;
use crate::auth::{Principal, Role, verify_csrf};
use crate::error::AppError;
use crate::portal::{Ctx, Lang, render};
use crate::registry::Entity;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use lifeservice_domain::credit::{DisclosureRules, LicenceState, RecordKind};
use maud::{Markup, html};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/credit", get(rules_page))
        .route("/admin/credit", get(desk))
        .route("/admin/credit/records/{id}/withdraw", post(withdraw))
        .route("/admin/credit/records/{id}/repair", post(apply))
        .route("/admin/credit/repairs/{id}", post(decide))
}

/// The credit section of the provider page.
pub async fn section(state: &AppState, ctx: &Ctx, entity: &Entity) -> Result<Markup, AppError> {
    let viewer = viewer_of(ctx.user.as_ref());
    let profile =
        profile::load(state, entity.id, &entity.credit_code, &entity.name, viewer).await?;
    Ok(profile_view(ctx.lang, &profile))
}

pub fn profile_view(l: Lang, p: &CreditProfile) -> Markup {
    html! {
        section #credit aria-labelledby="credit-h" {
            h2 #credit-h { (l.t("信用信息", "Credit record")) }
            p.summary role="note" { (p.summary) }
            (kind_table(l, RecordKind::Licence, &p.licences))
            (kind_table(l, RecordKind::Penalty, &p.penalties))
            (kind_table(l, RecordKind::Inspection, &p.inspections))
            (kind_table(l, RecordKind::Listing, &p.listings))
            (kind_table(l, RecordKind::Pledge, &p.pledges))
            p.muted { (l.t("信用信息由产生信息的部门报送并负责（谁产生、谁提供、谁负责）。行政处罚在公示期满后不再公开，", "Each record is published by the department that produced it. Penalties leave public view when their disclosure period ends; ")) a href="/credit" { (l.t("公示期限规则", "disclosure rules")) } "。" }
        }
    }
}

fn kind_title(l: Lang, kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Licence => l.t("行政许可", "Licences"),
        RecordKind::Penalty => l.t(
            "行政处罚（公示期内）",
            "Penalties (within disclosure period)",
        ),
        RecordKind::Inspection => l.t("抽查检查结果", "Inspections"),
        RecordKind::Listing => l.t("经营异常名录、严重违法失信名单", "Lists"),
        RecordKind::Pledge => l.t("信用承诺", "Credit pledges"),
    }
}

fn kind_table(l: Lang, kind: RecordKind, records: &[ProfileRecord]) -> Markup {
    html! {
        h3 { (kind_title(l, kind)) " (" (records.len()) ")" }
        @if records.is_empty() {
            p.none { (l.t("无记录", "No record")) }
        } @else {
            table.credit {
                thead { tr {
                    th { (l.t("文书号", "Document no.")) }
                    th { (l.t("日期", "Date")) }
                    th { (l.t("内容", "Content")) }
                    th { (l.t("状态", "Status")) }
                    th { (l.t("报送部门", "Source department")) }
                } }
                tbody { @for r in records { (record_row(l, kind, r)) } }
            }
        }
    }
}

fn record_row(l: Lang, kind: RecordKind, r: &ProfileRecord) -> Markup {
    let f = &r.record.fields;
    let get = |k: &str| f.get(k).map_or("", String::as_str);
    let content = r.record.content_line();
    html! {
        tr {
            td { (get("decision_no")) }
            td { (get("decision_date")) }
            td { (content) }
            td {
                @match (kind, r.licence_state) {
                    (RecordKind::Licence, Some(state)) => {
                        span class=(licence_class(state)) { (state.zh()) }
                        " " (l.t("有效期至", "valid until")) " " (get("valid_until"))
                    }
                    (RecordKind::Penalty, _) => {
                        @if let Some(until) = f.get("disclosure_until") { (l.t("公示至", "public until")) " " (until) }
                        @if let Some(severity) = &r.record.severity { " · " (severity_zh(severity)) }
                    }
                    (RecordKind::Listing, _) => {
                        @if let Some(out) = f.get("removed_on") { (l.t("已于", "removed on ")) (out) (l.t("移出", "")) } @else { (l.t("列入中", "listed")) }
                    }
                    _ => { (r.record.state.zh()) }
                }
                @if !r.public { " " strong { (l.t("（不公开：", "(not public: ")) (r.record.state.zh()) (l.t("）", ")")) } }
            }
            td { (r.record.source_name) }
        }
    }
}

fn severity_zh(code: &str) -> &'static str {
    lifeservice_domain::credit::Severity::parse(code).map_or("", |s| s.zh())
}

fn licence_class(state: LicenceState) -> &'static str {
    match state {
        LicenceState::Valid => "tag ok",
        LicenceState::Expiring => "tag warn",
        LicenceState::Expired | LicenceState::NotYetValid => "tag bad",
    }
}

async fn rules_page(ctx: Ctx) -> Response {
    let l = ctx.lang;
    let body = html! {
        h1 { (l.t("信用信息公示规则", "Credit disclosure rules")) }
        p { (l.t("行政许可、行政处罚、抽查检查结果、经营异常名录和严重违法失信名单、信用承诺，由产生信息的部门在本平台报送，记于市场主体名下，并在主体页面一站式查询。", "Licences, penalties, inspections, lists and pledges are submitted by the department that produced them and shown on each provider's page.")) }
        h2 { (l.t("行政处罚公示期限", "How long a penalty is public")) }
        ul { @for rule in DisclosureRules::default().describe() { li { (rule) } } }
        h2 { (l.t("信用修复", "Credit repair")) }
        p { (l.t("最短公示期届满后，市场主体纠正失信行为、履行相关义务并公开作出信用承诺，可向作出处罚的部门申请信用修复；修复后立即停止公示和共享。特定严重失信信息不可修复。", "After the minimum period, an entity that has performed its obligations and made a public pledge may apply to the source department; an approved repair ends publication at once.")) }
        h2 { (l.t("报送模板（双公示数据项）", "Templates (双公示 data items)")) }
        ul { @for kind in RecordKind::ALL {
            li { a href=(format!("/api/v1/credit/templates/{}", plural(*kind))) { (kind.zh()) } }
        } }
        p.muted { (l.t("日期写作 YYYY/MM/DD 或 YYYY-MM-DD；有效期“长期”写作 2099/12/31。个人证件号码只存储、不公开。", "Dates as YYYY/MM/DD; 长期 (indefinite) as 2099/12/31. Personal ID numbers are stored, never shown.")) }
    };
    render(&ctx, Ok(("信用信息公示规则".into(), body)))
}

fn csrf_field(user: &Principal) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or("")); }
}

/// Officers: pending repair applications of their agency, and withdrawal.
/// Entity accounts: their own records, with the repair form.
async fn desk(State(state): State<AppState>, ctx: Ctx) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/login").into_response();
    };
    let result = async {
        let l = ctx.lang;
        let body = match &user.role {
            Role::Entity(code) => {
                let profile =
                    load_profile(&state, code.as_str(), super::profile::Viewer::Public).await?;
                entity_desk(l, &user, &profile)
            }
            _ => officer_desk(l, &user, &repair::pending_for(&state.db, &user).await?),
        };
        Ok(("信用信息".to_string(), body))
    }
    .await;
    render(&ctx, result)
}

fn officer_desk(
    l: Lang,
    user: &Principal,
    pending: &[(repair::RepairApplication, super::CreditRecord)],
) -> Markup {
    html! {
        h1 { (l.t("信用信息报送与修复", "Credit desk")) }
        p { @match &user.agency {
            Some(a) => { (l.t("报送部门：", "Agency: ")) (a.name) "（" code { (a.code) } "）" },
            None => { (l.t("本账号未关联报送部门。", "This account has no agency.")) },
        } }
        p { a href="/admin/import" { (l.t("上传信用记录（行政许可、行政处罚、抽查检查等）", "Upload credit records")) } }
        h2 { (l.t("待审核的信用修复申请", "Pending repair applications")) " (" (pending.len()) ")" }
        @for (application, record) in pending {
            article.card {
                h3 { (record.doc_no) " · " (record.fields.get("subject_name").map_or("", String::as_str)) }
                p { (l.t("申请人：", "Applicant: ")) (application.applicant) " · " (application.applied_at) }
                p { strong { (l.t("履行义务证明：", "Proof: ")) } (application.proof) }
                p { strong { (l.t("信用承诺：", "Pledge: ")) } (application.pledge) }
                form method="post" action=(format!("/admin/credit/repairs/{}", application.id)) {
                    (csrf_field(user))
                    p { label { (l.t("理由（不予修复时必填）", "Reason (required to reject)")) br; textarea name="reason" rows="2" maxlength="2000" {} } }
                    button type="submit" name="approve" value="true" { (l.t("同意修复", "Approve")) }
                    " "
                    button type="submit" name="approve" value="false" { (l.t("不予修复", "Reject")) }
                }
            }
        }
        h2 { (l.t("撤回记录", "Withdraw a record")) }
        form method="post" action="/admin/credit/records/0/withdraw" id="withdraw" {
            (csrf_field(user))
            p { label { (l.t("记录编号", "Record id")) br; input name="id" inputmode="numeric" required; } }
            p { label { (l.t("撤回原因", "Reason")) br; textarea name="reason" rows="2" required maxlength="2000" {} } }
            button type="submit" { (l.t("撤回", "Withdraw")) }
        }
    }
}

fn entity_desk(l: Lang, user: &Principal, profile: &CreditProfile) -> Markup {
    html! {
        h1 { (profile.name) " · " (l.t("信用修复", "Credit repair")) }
        p.summary { (profile.summary) }
        @for r in &profile.penalties {
            article.card {
                h3 { (r.record.fields.get("decision_no").map_or("", String::as_str)) }
                p { (r.record.fields.get("content").map_or("", String::as_str)) }
                @match &r.record.repairable_from {
                    None => { p { (l.t("该记录不可申请信用修复。", "Not repairable.")) } },
                    Some(from) => {
                        p { (l.t("可申请修复日期：", "Repairable from: ")) (from) }
                        form method="post" action=(format!("/admin/credit/records/{}/repair", r.record.id)) {
                            (csrf_field(user))
                            p { label { (l.t("履行义务的证明（如罚款缴纳凭证号、整改情况）", "Proof of performed obligations")) br; textarea name="proof" rows="3" required maxlength="2000" {} } }
                            p { label { (l.t("信用承诺（将公开）", "Public credit pledge")) br; textarea name="pledge" rows="3" required maxlength="2000" {} } }
                            button type="submit" { (l.t("提交修复申请", "Apply for repair")) }
                        }
                    },
                }
            }
        }
        @if profile.penalties.is_empty() { p { (l.t("公示期内无行政处罚，无需修复。", "No penalty in its disclosure period.")) } }
    }
}

#[derive(Deserialize)]
struct WithdrawForm {
    csrf: String,
    id: Option<i64>,
    reason: String,
}

async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<WithdrawForm>,
) -> Response {
    let id = form.id.unwrap_or(id);
    act(&ctx, &form.csrf, async |user| {
        repair::withdraw(&state.db, user, id, &form.reason).await?;
        state.refresh_index().await;
        Ok(format!("记录{id}已撤回"))
    })
    .await
}

#[derive(Deserialize)]
struct RepairForm {
    csrf: String,
    proof: String,
    pledge: String,
}

async fn apply(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<RepairForm>,
) -> Response {
    act(&ctx, &form.csrf, async |user| {
        let repair_id = repair::apply(&state.db, user, id, &form.proof, &form.pledge).await?;
        Ok(format!(
            "修复申请已提交（编号{repair_id}），请等待报送部门审核"
        ))
    })
    .await
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    approve: bool,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    act(&ctx, &form.csrf, async |user| {
        repair::decide(&state.db, user, id, form.approve, &form.reason).await?;
        state.refresh_index().await;
        Ok(if form.approve {
            "已同意修复，该记录停止公示".to_string()
        } else {
            "已不予修复".to_string()
        })
    })
    .await
}

/// Runs a signed-in form action and shows its outcome with a way back.
async fn act(
    ctx: &Ctx,
    csrf: &str,
    action: impl AsyncFnOnce(&Principal) -> Result<String, AppError>,
) -> Response {
    let Some(user) = &ctx.user else {
        return Redirect::to("/login").into_response();
    };
    let result = async {
        verify_csrf(user, Some(csrf))?;
        let message = action(user).await?;
        let body = html! {
            p.ok role="status" { (message) }
            p { a href="/admin/credit" { (ctx.lang.t("返回", "Back")) } }
        };
        Ok(("信用信息".to_string(), body))
    }
    .await;
    render(ctx, result)
}
