//! How often each task is reported on: [`Cadence::DEFAULT`] unless an
//! administrator has set another cadence for the task, stored in
//! `plan_cadences` and audited like every other write.

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::storage::Db;
use lifeservice_domain::plan::{Cadence, Plan};
use std::collections::HashMap;

/// The cadence of every task, as configured now.
#[derive(Debug, Clone, Default)]
pub struct Cadences(HashMap<u8, Cadence>);

impl Cadences {
    pub fn of(&self, task: u8) -> Cadence {
        self.0.get(&task).copied().unwrap_or(Cadence::DEFAULT)
    }
}

pub async fn load(db: &Db) -> AppResult<Cadences> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT task, cadence FROM plan_cadences")
        .fetch_all(db.pool())
        .await?;
    let mut map = HashMap::new();
    for (task, text) in rows {
        let cadence = Cadence::parse(&text)
            .ok_or_else(|| anyhow::anyhow!("stored cadence {text:?} of task {task} is invalid"))?;
        map.insert(u8::try_from(task).map_err(anyhow::Error::from)?, cadence);
    }
    Ok(Cadences(map))
}

/// Sets a task's cadence (administrators only); the audit entry keeps the
/// cadence it replaces.
pub async fn set(db: &Db, principal: &Principal, task: u8, cadence: Cadence) -> AppResult<()> {
    principal.require_admin()?;
    let plan = Plan::shipped();
    if plan.task(task).is_none() {
        return Err(AppError::not_found(format!(
            "任务“{task}”不存在（方案共{}项任务）",
            plan.tasks.len()
        )));
    }
    let before = load(db).await?.of(task);
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM plan_cadences WHERE task = $1")
        .bind(i64::from(task))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO plan_cadences (task, cadence, set_by, set_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(i64::from(task))
    .bind(cadence.as_str())
    .bind(principal.actor())
    .bind(crate::time::now_text())
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        &principal.actor(),
        "update",
        "plan_cadence",
        &task.to_string(),
        Some(serde_json::json!({"cadence": before.as_str()})),
        Some(serde_json::json!({"cadence": cadence.as_str()})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Reads a cadence from a form or request body, with the choices in the error.
pub fn parse(text: &str) -> AppResult<Cadence> {
    Cadence::parse(text).ok_or_else(|| {
        AppError::field(
            "cadence",
            format!("填报频次“{text}”无效：应为 monthly（按月）或 quarterly（按季度）"),
        )
    })
}
