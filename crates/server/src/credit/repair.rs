//! Credit repair (信用修复, 令第36号 第三章): the entity applies once the
//! minimum disclosure period has passed, with proof that its obligations are
//! performed and a public credit pledge; the source department approves or
//! rejects with reasons. Approval ends publication and sharing at once.
//! Corrections and withdrawals by the source department live here too.

use super::store::{self, Existing};
use super::{CreditRecord, RecordState};
use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::storage::Db;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct RepairApplication {
    pub id: i64,
    pub record_id: i64,
    pub applicant: String,
    pub applied_at: String,
    pub proof: String,
    pub pledge: String,
    pub state: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
}

/// Loads a record by id with the stored state needed to change it.
async fn record(db: &Db, id: i64) -> AppResult<(CreditRecord, Existing)> {
    let mut conn = db.pool().acquire().await?;
    let row = sqlx::query(&format!("{} WHERE id = $1", store::RECORD_SELECT))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::not_found(format!("信用记录{id}不存在")))?;
    let record = store::record_from_row(&row)?;
    let existing = store::existing_by_id(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("信用记录{id}不存在")))?;
    Ok((record, existing))
}

/// Only the department that produced a record may change it; an
/// administrator may act for any.
fn require_source(principal: &Principal, record: &CreditRecord) -> AppResult<()> {
    if principal.is_admin() {
        return Ok(());
    }
    match &principal.agency {
        Some(agency) if agency.code.as_str() == record.source_code => Ok(()),
        _ => Err(AppError::Forbidden(format!(
            "无权限：该记录由{}（{}）报送，只有该部门可以处理",
            record.source_name, record.source_code
        ))),
    }
}

/// Withdraws a record (撤回), keeping every earlier version.
pub async fn withdraw(db: &Db, principal: &Principal, id: i64, reason: &str) -> AppResult<()> {
    let reason = required_text("reason", reason, "撤回原因")?;
    let (record, existing) = record(db, id).await?;
    require_source(principal, &record)?;
    if record.state != RecordState::Active {
        return Err(AppError::Conflict {
            field: None,
            message: format!("该记录当前状态为“{}”，不能撤回", record.state.zh()),
        });
    }
    change_state(
        db,
        principal,
        &record,
        &existing,
        RecordState::Withdrawn,
        "withdraw",
        reason,
    )
    .await
}

async fn change_state(
    db: &Db,
    principal: &Principal,
    record: &CreditRecord,
    existing: &Existing,
    state: RecordState,
    action: &str,
    reason: &str,
) -> AppResult<()> {
    let now = crate::time::now_text();
    let mut tx = db.begin_write().await?;
    store::set_state(&mut tx, existing, state, &principal.actor(), reason, &now).await?;
    crate::audit::record(
        &mut tx,
        &principal.actor(),
        action,
        "credit_record",
        &record.id.to_string(),
        Some(serde_json::json!({"state": existing.state, "version": existing.version})),
        Some(serde_json::json!({"state": state.code(), "version": existing.version + 1, "reason": reason})),
    )
    .await?;
    if let Some(entity) = record.entity_id {
        super::profile::record_entity_changes(&mut tx, &[entity]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An entity applies to repair one of its penalties.
pub async fn apply(
    db: &Db,
    principal: &Principal,
    record_id: i64,
    proof: &str,
    pledge: &str,
) -> AppResult<i64> {
    let proof = required_text("proof", proof, "履行义务的证明")?;
    let pledge = required_text("pledge", pledge, "信用承诺")?;
    let (record, _) = record(db, record_id).await?;
    let owns = match &principal.role {
        Role::Entity(code) => record.credit_code.as_deref() == Some(code.as_str()),
        Role::Admin => true,
        _ => false,
    };
    if !owns {
        return Err(AppError::Forbidden(
            "只有该市场主体本身可以申请信用修复".into(),
        ));
    }
    if record.state != RecordState::Active {
        return Err(AppError::Conflict {
            field: None,
            message: format!("该记录当前状态为“{}”，无需修复", record.state.zh()),
        });
    }
    let today = crate::time::today().to_string();
    match record.repairable_from.as_deref() {
        None => {
            return Err(AppError::invalid(
                "该记录不可申请信用修复（特定严重失信信息或非行政处罚记录）",
            ));
        }
        Some(from) if from > today.as_str() => {
            return Err(AppError::invalid(format!(
                "最短公示期未满，{from}起方可申请信用修复（{}）",
                lifeservice_domain::credit::SOURCE_NDRC_36
            )));
        }
        Some(_) => {}
    }
    let mut tx = db.begin_write().await?;
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credit_repairs WHERE record_id = $1 AND state = 'pending'",
    )
    .bind(record_id)
    .fetch_one(&mut *tx)
    .await?;
    if pending > 0 {
        return Err(AppError::Conflict {
            field: None,
            message: "该记录已有待审核的修复申请".into(),
        });
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO credit_repairs (record_id, applicant, applied_at, proof, pledge, state) VALUES ($1, $2, $3, $4, $5, 'pending') RETURNING id",
    )
    .bind(record_id)
    .bind(principal.actor())
    .bind(crate::time::now_text())
    .bind(proof.to_string())
    .bind(pledge.to_string())
    .fetch_one(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        &principal.actor(),
        "apply",
        "credit_repair",
        &id.to_string(),
        None,
        Some(serde_json::json!({"record_id": record_id, "proof": proof, "pledge": pledge})),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The source department decides; a rejection must say why.
pub async fn decide(
    db: &Db,
    principal: &Principal,
    repair_id: i64,
    approve: bool,
    reason: &str,
) -> AppResult<()> {
    let reason = if approve {
        reason.trim()
    } else {
        required_text("reason", reason, "不予修复的理由")?
    };
    let application = by_id(db, repair_id).await?;
    if application.state != "pending" {
        return Err(AppError::Conflict {
            field: None,
            message: "该申请已经处理".into(),
        });
    }
    let (record, existing) = record(db, application.record_id).await?;
    require_source(principal, &record)?;
    let state = if approve { "approved" } else { "rejected" };
    let now = crate::time::now_text();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE credit_repairs SET state = $1, decided_at = $2, decided_by = $3, decision_reason = $4 WHERE id = $5 AND state = 'pending'",
    )
    .bind(state)
    .bind(now.clone())
    .bind(principal.actor())
    .bind(reason.to_string())
    .bind(repair_id)
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        &principal.actor(),
        state,
        "credit_repair",
        &repair_id.to_string(),
        Some(serde_json::json!({"state": "pending"})),
        Some(serde_json::json!({"state": state, "reason": reason})),
    )
    .await?;
    tx.commit().await?;
    if approve {
        change_state(
            db,
            principal,
            &record,
            &existing,
            RecordState::Repaired,
            "repair",
            "信用修复申请获批",
        )
        .await?;
    }
    Ok(())
}

const REPAIR_SELECT: &str = "SELECT id, record_id, applicant, applied_at, proof, pledge, state, decided_at, decided_by, decision_reason FROM credit_repairs";

fn from_row(r: &sqlx::any::AnyRow) -> Result<RepairApplication, sqlx::Error> {
    Ok(RepairApplication {
        id: r.try_get("id")?,
        record_id: r.try_get("record_id")?,
        applicant: r.try_get("applicant")?,
        applied_at: r.try_get("applied_at")?,
        proof: r.try_get("proof")?,
        pledge: r.try_get("pledge")?,
        state: r.try_get("state")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
        decision_reason: r.try_get("decision_reason")?,
    })
}

pub async fn by_id(db: &Db, id: i64) -> AppResult<RepairApplication> {
    let row = sqlx::query(&format!("{REPAIR_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::not_found(format!("修复申请{id}不存在")))?;
    Ok(from_row(&row)?)
}

/// Pending applications on records of the principal's agency (all for an admin).
pub async fn pending_for(
    db: &Db,
    principal: &Principal,
) -> AppResult<Vec<(RepairApplication, CreditRecord)>> {
    let agency = principal.agency.as_ref().map(|a| a.code.to_string());
    if agency.is_none() && !principal.is_admin() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT p.id, p.record_id, p.applicant, p.applied_at, p.proof, p.pledge, p.state, p.decided_at, p.decided_by, p.decision_reason \
         FROM credit_repairs p JOIN credit_records r ON r.id = p.record_id \
         WHERE p.state = 'pending' AND ($1 IS NULL OR r.source_code = $1) ORDER BY p.id",
    )
    .bind(agency)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for row in &rows {
        let application = from_row(row)?;
        let (record, _) = record(db, application.record_id).await?;
        out.push((application, record));
    }
    Ok(out)
}

fn required_text<'a>(field: &str, text: &'a str, what: &str) -> AppResult<&'a str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::field(field, format!("请填写{what}")));
    }
    if text.chars().count() > 2000 {
        return Err(AppError::field(field, format!("{what}过长（最多2000字）")));
    }
    Ok(text)
}
