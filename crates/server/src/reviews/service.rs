//! The review workflow that the JSON API and the pages share: who acts for an
//! entity or decides as a department, which cases, held reviews and appeals
//! each account sees, and every write after a review is in (replies, appeals
//! and their decisions, moderation, case steps, 回访). Each write checks its
//! actor, changes the rows and the running totals, and appends to the audit
//! log in one transaction, whichever door it came through.

use super::ReviewConfig;
use super::store::{self, CaseView, Delta, OutletRef, ReviewFacts, ReviewView, Scope};
use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::storage::Db;
use lifeservice_domain::review::{self as rules, Rating};
use lifeservice_domain::{DivisionCode, ServiceType};
use serde_json::json;
use sqlx::Row;

/// Who acts for an entity: the entity itself (an entity token or an entity
/// account) or an officer.
#[derive(Debug, Clone)]
pub enum Actor {
    Entity { entity_id: i64, label: String },
    Officer(Principal),
}

/// Why an entity or an area's officer may not decide on a review or see who
/// wrote it: both belong to the department of the outlet's service type.
const DEPARTMENT_ONLY: &str = "仅该服务类型的主管部门可以办理（作出决定或查看评价人）";

impl Actor {
    /// The actor of a signed-in account: an entity account acts as the
    /// registered entity of its credit code, any other account as an officer.
    pub async fn of_principal(db: &Db, p: Principal) -> AppResult<Actor> {
        let Role::Entity(code) = &p.role else {
            return Ok(Actor::Officer(p));
        };
        let mut conn = db.pool().acquire().await?;
        let entity = crate::registry::store::entity_by_code(&mut conn, code.as_str())
            .await?
            .ok_or_else(|| {
                AppError::Forbidden(format!("本账号的市场主体（{code}）尚未登记，无法处理评价"))
            })?;
        Ok(Actor::Entity {
            entity_id: entity.id,
            label: p.username,
        })
    }

    /// The audit log's name for the actor.
    pub fn label(&self) -> String {
        match self {
            Actor::Entity { entity_id, label } => format!("entity:{entity_id}:{label}"),
            Actor::Officer(p) => p.actor(),
        }
    }

    /// May act for the outlet's entity: the entity itself, or an officer in scope.
    pub fn may_act_for(&self, outlet: &OutletRef) -> AppResult<()> {
        match self {
            Actor::Entity { entity_id, .. } if *entity_id == outlet.entity_id => Ok(()),
            Actor::Entity { .. } => Err(AppError::Forbidden("无权限：该网点不属于本主体".into())),
            Actor::Officer(p) => officer_in_scope(p, &outlet.service_type, &outlet.division_code),
        }
    }

    /// A department (or admin) deciding on the outlet's service type, or
    /// seeing who wrote one of its reviews.
    pub fn department_for(&self, service_type: &str) -> AppResult<&Principal> {
        let Actor::Officer(p) = self else {
            return Err(AppError::Forbidden(DEPARTMENT_ONLY.into()));
        };
        match &p.role {
            Role::Admin => Ok(p),
            Role::Department(_) => {
                let stype = ServiceType::parse(service_type)
                    .ok_or_else(|| anyhow::anyhow!("stored type invalid"))?;
                let any = DivisionCode::parse("14").map_err(|e| anyhow::anyhow!("{e}"))?;
                p.may_write_outlet(stype, &any)
                    .map_err(AppError::Forbidden)?;
                Ok(p)
            }
            Role::Division(_) | Role::Entity(_) => Err(AppError::Forbidden(DEPARTMENT_ONLY.into())),
        }
    }

    /// The cases this actor oversees or handles: its own for an entity, its
    /// service types for a department, its area for a division officer.
    /// `None`: no cases at all.
    pub fn case_scope(&self) -> Option<Scope> {
        match self {
            Actor::Entity { entity_id, .. } => Some(Scope {
                entity: Some(*entity_id),
                ..Scope::default()
            }),
            Actor::Officer(p) => match &p.role {
                Role::Admin => Some(Scope::default()),
                Role::Department(codes) => Some(Scope {
                    types: Some(codes.clone()),
                    ..Scope::default()
                }),
                Role::Division(code) => Some(Scope {
                    area: Some(code.to_string()),
                    ..Scope::default()
                }),
                // `of_principal` turns entity accounts into `Actor::Entity`.
                Role::Entity(_) => None,
            },
        }
    }

    /// The held reviews and appeals this actor decides on, as
    /// [`Actor::department_for`] allows: `None` for entities and division officers.
    pub fn decision_scope(&self) -> Option<Scope> {
        match self {
            Actor::Officer(p) => match &p.role {
                Role::Admin => Some(Scope::default()),
                Role::Department(codes) => Some(Scope {
                    types: Some(codes.clone()),
                    ..Scope::default()
                }),
                Role::Division(_) | Role::Entity(_) => None,
            },
            Actor::Entity { .. } => None,
        }
    }

    /// May see the case ([`Actor::case_scope`] admits it).
    pub fn may_see_case(&self, c: &CaseView) -> bool {
        self.case_scope()
            .is_some_and(|s| s.admits(c.entity_id, &c.service_type, &c.county_code))
    }
}

/// An officer whose scope covers an outlet of `service_type` in `division`.
pub fn officer_in_scope(p: &Principal, service_type: &str, division: &str) -> AppResult<()> {
    let stype =
        ServiceType::parse(service_type).ok_or_else(|| anyhow::anyhow!("stored type invalid"))?;
    let division = DivisionCode::parse(division).map_err(|e| anyhow::anyhow!("{e}"))?;
    p.may_write_outlet(stype, &division)
        .map_err(AppError::Forbidden)
}

// ---------------------------------------------------------------------------
// Replies and appeals

/// The entity's one public reply to a review.
pub async fn reply(db: &Db, actor: &Actor, review_id: i64, text: &str) -> AppResult<ReviewView> {
    let text = rules::validate_text(text)
        .map_err(|e| AppError::field("text", e.replace("评价", "回复")))?;
    let mut tx = db.begin_write().await?;
    let facts = store::review_facts(&mut tx, review_id).await?;
    let outlet = store::outlet_ref(&mut tx, facts.outlet_id).await?;
    actor.may_act_for(&outlet)?;
    if facts.status == "removed" {
        return Err(AppError::invalid("该评价已被移除，不能回复"));
    }
    let done = sqlx::query("UPDATE reviews SET reply = $1, reply_by = $2, reply_at = $3 WHERE id = $4 AND reply IS NULL")
        .bind(text.clone())
        .bind(actor.label())
        .bind(crate::time::now_text())
        .bind(review_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::Conflict {
            field: Some("text".into()),
            message: "每条评价只能回复一次，已回复过".into(),
        });
    }
    store::record_review_changes(&mut tx, &[facts.outlet_id]).await?;
    crate::audit::record(
        &mut tx,
        &actor.label(),
        "reply",
        "review",
        &review_id.to_string(),
        None,
        Some(json!({"reply": text})),
    )
    .await?;
    let view = store::review_by_id(&mut tx, review_id).await?;
    tx.commit().await?;
    Ok(view)
}

/// What an entity appeals a review as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealKind {
    /// 恶意评价
    Malicious,
    /// 错评误评
    Mistaken,
}

impl AppealKind {
    pub const ALL: [AppealKind; 2] = [AppealKind::Malicious, AppealKind::Mistaken];

    /// The API's code or the Chinese name.
    pub fn parse(s: &str) -> AppResult<AppealKind> {
        match s {
            "malicious" | "恶意评价" => Ok(AppealKind::Malicious),
            "mistaken" | "错评误评" => Ok(AppealKind::Mistaken),
            other => Err(AppError::field(
                "kind",
                format!("申诉类型“{other}”应为 malicious（恶意评价）或 mistaken（错评误评）"),
            )),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            AppealKind::Malicious => "malicious",
            AppealKind::Mistaken => "mistaken",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            AppealKind::Malicious => "恶意评价",
            AppealKind::Mistaken => "错评误评",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            AppealKind::Malicious => "Malicious review",
            AppealKind::Mistaken => "Review by mistake",
        }
    }
}

/// Files the entity's one appeal against a review; returns the appeal's id.
pub async fn appeal(
    db: &Db,
    actor: &Actor,
    review_id: i64,
    kind: AppealKind,
    reason: &str,
) -> AppResult<i64> {
    let reason = rules::validate_text(reason)
        .map_err(|e| AppError::field("reason", e.replace("评价内容", "申诉理由")))?;
    let mut tx = db.begin_write().await?;
    let facts = store::review_facts(&mut tx, review_id).await?;
    let outlet = store::outlet_ref(&mut tx, facts.outlet_id).await?;
    actor.may_act_for(&outlet)?;
    if facts.status == "removed" {
        return Err(AppError::invalid("该评价已被移除"));
    }
    let appeal_id: i64 = sqlx::query_scalar("INSERT INTO review_appeals (review_id, kind, reason, filed_by, filed_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(review_id)
        .bind(kind.code())
        .bind(reason.clone())
        .bind(actor.label())
        .bind(crate::time::now_text())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => AppError::Conflict { field: Some("reason".into()), message: "该评价已申诉过".into() },
            other => other,
        })?;
    crate::audit::record(
        &mut tx,
        &actor.label(),
        "appeal",
        "review",
        &review_id.to_string(),
        None,
        Some(json!({"appeal_id": appeal_id, "kind": kind.code(), "reason": reason})),
    )
    .await?;
    tx.commit().await?;
    Ok(appeal_id)
}

/// A department's decision on an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealDecision {
    /// 支持申诉: the review is removed.
    Uphold,
    /// 驳回申诉: the review stays.
    Reject,
}

impl AppealDecision {
    pub fn parse(s: &str) -> AppResult<AppealDecision> {
        match s {
            "uphold" | "支持" => Ok(AppealDecision::Uphold),
            "reject" | "驳回" => Ok(AppealDecision::Reject),
            other => Err(AppError::field(
                "decision",
                format!("决定“{other}”应为 uphold（支持申诉，移除评价）或 reject（驳回）"),
            )),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            AppealDecision::Uphold => "uphold",
            AppealDecision::Reject => "reject",
        }
    }
}

/// Takes a published review out of the index and withdraws its case.
async fn unpublish(conn: &mut sqlx::AnyConnection, facts: &ReviewFacts) -> AppResult<()> {
    store::bump(
        conn,
        facts.outlet_id,
        &facts.service_type,
        &facts.county_code,
        Delta::review(facts.rating, -1),
    )
    .await?;
    let case = sqlx::query("SELECT id, status, rectified_on, rectify_due, followed_on FROM review_cases WHERE review_id = $1")
        .bind(facts.id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(c) = case {
        let status: String = c.try_get("status")?;
        if status != "withdrawn" {
            let rectified: Option<String> = c.try_get("rectified_on")?;
            let due: String = c.try_get("rectify_due")?;
            let followed: Option<String> = c.try_get("followed_on")?;
            let delta = Delta {
                cases: -1,
                rectified: -i64::from(rectified.is_some()),
                on_time: -i64::from(rectified.as_ref().is_some_and(|r| *r <= due)),
                followed: -i64::from(followed.is_some()),
                ..Delta::default()
            };
            store::bump(
                conn,
                facts.outlet_id,
                &facts.service_type,
                &facts.county_code,
                delta,
            )
            .await?;
            sqlx::query("UPDATE review_cases SET status = 'withdrawn' WHERE id = $1")
                .bind(c.try_get::<i64, _>("id")?)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Decides an appeal with a reason; upholding it removes the review (hidden,
/// never deleted) and withdraws its case. Returns the review's id.
pub async fn decide_appeal(
    db: &Db,
    actor: &Actor,
    appeal_id: i64,
    decision: AppealDecision,
    reason: &str,
) -> AppResult<i64> {
    let reason = rules::validate_text(reason)
        .map_err(|e| AppError::field("reason", e.replace("评价内容", "决定理由")))?;
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT review_id, decision FROM review_appeals WHERE id = $1")
        .bind(appeal_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::not_found(format!("申诉{appeal_id}不存在")))?;
    let review_id: i64 = row.try_get("review_id")?;
    let facts = store::review_facts(&mut tx, review_id).await?;
    let officer = actor.department_for(&facts.service_type)?;
    if row.try_get::<Option<String>, _>("decision")?.is_some() {
        return Err(AppError::Conflict {
            field: None,
            message: "该申诉已作出决定".into(),
        });
    }
    sqlx::query("UPDATE review_appeals SET decision = $1, decision_reason = $2, decided_by = $3, decided_at = $4 WHERE id = $5")
        .bind(decision.code())
        .bind(reason.clone())
        .bind(officer.actor())
        .bind(crate::time::now_text())
        .bind(appeal_id)
        .execute(&mut *tx)
        .await?;
    if decision == AppealDecision::Uphold && facts.status != "removed" {
        if facts.status == "published" {
            unpublish(&mut tx, &facts).await?;
        }
        sqlx::query("UPDATE reviews SET status = 'removed', removed_reason = $1 WHERE id = $2")
            .bind(format!("申诉成立：{reason}"))
            .bind(review_id)
            .execute(&mut *tx)
            .await?;
    }
    crate::audit::record(
        &mut tx,
        &officer.actor(),
        "decide_appeal",
        "review",
        &review_id.to_string(),
        Some(json!({"status": facts.status})),
        Some(json!({"appeal_id": appeal_id, "decision": decision.code(), "reason": reason})),
    )
    .await?;
    tx.commit().await?;
    Ok(review_id)
}

// ---------------------------------------------------------------------------
// Moderation

/// A moderator's decision on a held review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    Publish,
    Remove,
}

impl Moderation {
    pub fn parse(s: &str) -> AppResult<Moderation> {
        match s {
            "publish" | "发布" => Ok(Moderation::Publish),
            "remove" | "移除" => Ok(Moderation::Remove),
            other => Err(AppError::field(
                "decision",
                format!("审核决定“{other}”应为 publish 或 remove"),
            )),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Moderation::Publish => "publish",
            Moderation::Remove => "remove",
        }
    }
}

/// Publishes a held review (counting it, and opening a case if it is bad) or
/// removes it, with a reason.
pub async fn moderate(
    db: &Db,
    config: &ReviewConfig,
    actor: &Actor,
    review_id: i64,
    decision: Moderation,
    reason: &str,
) -> AppResult<ReviewView> {
    let reason = rules::validate_text(reason)
        .map_err(|e| AppError::field("reason", e.replace("评价内容", "审核理由")))?;
    let mut tx = db.begin_write().await?;
    let facts = store::review_facts(&mut tx, review_id).await?;
    let officer = actor.department_for(&facts.service_type)?.clone();
    if facts.status != "held" {
        return Err(AppError::Conflict {
            field: None,
            message: "该评价不在待审核状态".into(),
        });
    }
    match decision {
        Moderation::Publish => {
            let outlet = store::outlet_ref(&mut tx, facts.outlet_id).await?;
            sqlx::query("UPDATE reviews SET status = 'published' WHERE id = $1")
                .bind(review_id)
                .execute(&mut *tx)
                .await?;
            store::publish(
                &mut tx,
                config,
                &facts,
                outlet.entity_id,
                crate::time::today(),
            )
            .await?;
        }
        Moderation::Remove => {
            sqlx::query("UPDATE reviews SET status = 'removed', removed_reason = $1 WHERE id = $2")
                .bind(format!("审核未通过：{reason}"))
                .bind(review_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    crate::audit::record(
        &mut tx,
        &officer.actor(),
        "moderate",
        "review",
        &review_id.to_string(),
        Some(json!({"status": "held"})),
        Some(json!({"decision": decision.code(), "reason": reason})),
    )
    .await?;
    let view = store::review_by_id(&mut tx, review_id).await?;
    tx.commit().await?;
    Ok(view)
}

// ---------------------------------------------------------------------------
// Case steps and 回访

/// The entity's steps on a rectification case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStep {
    /// Contacted the reviewer (due within 1 working day).
    Contact,
    /// Rectified (due within 15 working days); implies the contact.
    Rectify,
}

impl CaseStep {
    /// The audit log's action.
    pub fn code(self) -> &'static str {
        match self {
            CaseStep::Contact => "contact",
            CaseStep::Rectify => "rectify",
        }
    }
}

/// Records a step of a case with its note; rectifying counts the case as
/// rectified, and on time when done by its deadline.
pub async fn case_step(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    step: CaseStep,
    note: &str,
) -> AppResult<CaseView> {
    let note = rules::validate_text(note)
        .map_err(|e| AppError::field("note", e.replace("评价内容", "处理说明")))?;
    let today = crate::time::today();
    let mut tx = db.begin_write().await?;
    let case = store::case_by_id(&mut tx, case_id, today).await?;
    let outlet = store::outlet_ref(&mut tx, case.outlet_id).await?;
    actor.may_act_for(&outlet)?;
    let day = today.to_string();
    match (step, case.status.as_str()) {
        (CaseStep::Contact, "open") => {
            sqlx::query("UPDATE review_cases SET status = 'contacted', contacted_on = $1, contact_note = $2 WHERE id = $3")
                .bind(day.clone()).bind(note.clone()).bind(case_id).execute(&mut *tx).await?;
        }
        (CaseStep::Rectify, "open" | "contacted") => {
            sqlx::query("UPDATE review_cases SET status = 'rectified', contacted_on = COALESCE(contacted_on, $1), rectified_on = $1, rectify_note = $2 WHERE id = $3")
                .bind(day.clone()).bind(note.clone()).bind(case_id).execute(&mut *tx).await?;
            let on_time = day <= case.rectify_due;
            store::bump(
                &mut tx,
                case.outlet_id,
                &case.service_type,
                &case.county_code,
                Delta {
                    rectified: 1,
                    on_time: i64::from(on_time),
                    ..Delta::default()
                },
            )
            .await?;
        }
        (_, status) => {
            return Err(AppError::Conflict {
                field: Some("note".into()),
                message: format!("工单当前状态为“{status}”，不能进行此步骤"),
            });
        }
    }
    crate::audit::record(
        &mut tx,
        &actor.label(),
        step.code(),
        "review_case",
        &case_id.to_string(),
        Some(json!({"status": case.status})),
        Some(json!({"note": note, "on": day})),
    )
    .await?;
    let after = store::case_by_id(&mut tx, case_id, today).await?;
    tx.commit().await?;
    Ok(after)
}

/// 回访: the reviewer rates the rectification of their own bad review. A good
/// rating closes the case. The first 不满意 or 非常不满意 sends it back to the
/// entity for one more round, with a fresh rectify deadline from today: the
/// rectification is no longer counted as done. A second bad rating closes
/// the case as unresolved and escalates it to the department, since another
/// round would let a dispute run for ever.
pub async fn follow_up(
    db: &Db,
    config: &ReviewConfig,
    reviewer_id: i64,
    case_id: i64,
    rating: i64,
    text: Option<&str>,
) -> AppResult<CaseView> {
    let rating =
        Rating::from_value(rating).ok_or_else(|| AppError::field("rating", "回访评价应为1至5"))?;
    let note = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(rules::validate_text(t).map_err(|e| AppError::field("text", e))?),
        None => None,
    };
    let today = crate::time::today();
    let mut tx = db.begin_write().await?;
    let case = store::case_by_id(&mut tx, case_id, today).await?;
    let facts = store::review_facts(&mut tx, case.review_id).await?;
    if facts.reviewer_id != reviewer_id {
        return Err(AppError::Forbidden("只有评价人本人可以评价整改结果".into()));
    }
    if case.status != "rectified" {
        return Err(AppError::Conflict {
            field: Some("rating".into()),
            message: "整改尚未完成或已回访，不能评价整改结果".into(),
        });
    }
    let day = today.to_string();
    let reopen = rating.is_bad() && case.reopened_on.is_none();
    let delta = if reopen {
        let (_, rectify_due) = config.deadlines.due(&config.calendar, today);
        sqlx::query("UPDATE review_cases SET status = 'contacted', rectified_on = NULL, rectify_due = $1, reopened_on = $2, reopen_rating = $3, reopen_note = $4 WHERE id = $5")
            .bind(rectify_due.to_string()).bind(day.clone()).bind(i64::from(rating.value())).bind(note.clone()).bind(case_id).execute(&mut *tx).await?;
        let was_on_time = case
            .rectified_on
            .as_deref()
            .is_some_and(|r| r <= case.rectify_due.as_str());
        Delta {
            rectified: -1,
            on_time: -i64::from(was_on_time),
            ..Delta::default()
        }
    } else {
        // Still bad after the second round: the department takes it up.
        let escalate = if rating.is_bad() {
            ", escalated_on = COALESCE(escalated_on, $1)"
        } else {
            ""
        };
        sqlx::query(&format!("UPDATE review_cases SET status = 'closed', followed_on = $1, follow_rating = $2, follow_note = $3{escalate} WHERE id = $4"))
            .bind(day.clone()).bind(i64::from(rating.value())).bind(note.clone()).bind(case_id).execute(&mut *tx).await?;
        Delta {
            followed: 1,
            ..Delta::default()
        }
    };
    store::bump(
        &mut tx,
        case.outlet_id,
        &case.service_type,
        &case.county_code,
        delta,
    )
    .await?;
    crate::audit::record(
        &mut tx,
        &format!("reviewer:{reviewer_id}"),
        if reopen {
            "follow_up_reopen"
        } else {
            "follow_up"
        },
        "review_case",
        &case_id.to_string(),
        Some(json!({"status": "rectified"})),
        Some(json!({"rating": rating.value(), "note": note})),
    )
    .await?;
    let after = store::case_by_id(&mut tx, case_id, today).await?;
    tx.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer(role: &str, scope: &str) -> Actor {
        Actor::Officer(Principal {
            user_id: 1,
            username: "o".into(),
            display_name: "o".into(),
            role: Role::parse(role, scope).unwrap(),
            agency: None,
            plan_unit: None,
            csrf: None,
        })
    }

    /// The SQL scopes say what the per-record rules say, for every kind of account.
    #[test]
    fn case_scopes_agree_with_the_outlet_rules() {
        let actors = [
            officer("admin", ""),
            officer("department", "03,0107"),
            officer("department", "01,07"),
            officer("division", "140105"),
            officer("division", "1401"),
            officer("division", "140105001"),
        ];
        for actor in &actors {
            let Actor::Officer(p) = actor else {
                unreachable!()
            };
            let scope = actor.case_scope().expect("officers oversee cases");
            for stype in ["0101", "0107", "0301", "0701", "1201"] {
                for county in ["140105", "140106", "140202"] {
                    assert_eq!(
                        scope.admits(7, stype, county),
                        officer_in_scope(p, stype, county).is_ok(),
                        "{:?} {stype} {county}",
                        p.role
                    );
                }
                if let Some(decide) = actor.decision_scope() {
                    assert_eq!(
                        decide.admits(7, stype, "140105"),
                        actor.department_for(stype).is_ok(),
                        "{:?} decides {stype}",
                        p.role
                    );
                }
            }
        }
        let entity = Actor::Entity {
            entity_id: 7,
            label: "店长".into(),
        };
        let scope = entity.case_scope().unwrap();
        assert!(scope.admits(7, "0101", "140105"));
        assert!(!scope.admits(8, "0101", "140105"));
        assert_eq!(entity.decision_scope(), None);
        assert_eq!(officer("division", "140105").decision_scope(), None);
        assert_eq!(officer("entity", "91350200776049653A").case_scope(), None);
    }
}
