//! The append-only audit log: who changed what, when, before and after.
//! The tables' triggers refuse UPDATE and DELETE on both backends.

use crate::error::AppResult;
use crate::storage::{Backend, Db, placeholders};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

pub async fn record(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), sqlx::Error> {
    record_all(
        conn,
        &[Record {
            actor: actor.to_string(),
            action,
            object_type,
            object_id: object_id.to_string(),
            before,
            after,
        }],
    )
    .await
}

/// One entry to append, for [`record_all`].
pub struct Record<'a> {
    pub actor: String,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Appends entries in as few statements as the database allows.
pub async fn record_all(
    conn: &mut AnyConnection,
    records: &[Record<'_>],
) -> Result<(), sqlx::Error> {
    let at = crate::time::now_text();
    let backend = Backend::of(conn);
    for chunk in records.chunks(500) {
        let sql = format!(
            "INSERT INTO audit_log (at, actor, action, object_type, object_id, before_json, after_json) VALUES {}",
            placeholders(backend, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(at.clone())
                .bind(r.actor.clone())
                .bind(r.action.to_string())
                .bind(r.object_type.to_string())
                .bind(r.object_id.clone())
                .bind(r.before.as_ref().map(|v| v.to_string()))
                .bind(r.after.as_ref().map(|v| v.to_string()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The newest entries first, before `before_id` when paging.
pub async fn recent(db: &Db, before_id: Option<i64>, limit: i64) -> AppResult<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, object_type, object_id, before_json, after_json FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(before_id.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                object_type: r.try_get("object_type")?,
                object_id: r.try_get("object_id")?,
                before: r.try_get("before_json")?,
                after: r.try_get("after_json")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// An audited action as the log page names it; an action not listed here
/// shows its stored name.
pub fn action_zh(action: &str) -> &str {
    match action {
        "create" => "新建",
        "update" => "修改",
        "upsert" => "新增或更新",
        "import" => "导入",
        "export" => "导出",
        "close" => "关闭",
        "correct" => "更正",
        "withdraw" => "撤回",
        "apply" => "申请",
        "attach" => "上传附件",
        "publish" => "发布",
        "generate" => "生成演示数据",
        "run" => "执行",
        "escalate" => "逾期升级",
        "send_code" => "发送验证码",
        "sign_in" => "登录",
        "reveal_reviewer" => "查看评价人",
        "reply" => "回复",
        "contact" => "联系评价人",
        "rectify" => "整改",
        "follow_up" => "回访",
        "follow_up_reopen" => "回访不满意，重新整改",
        "appeal" => "申诉",
        "decide_appeal" => "处理申诉",
        "moderate" => "审核",
        "issue_receipts" => "发放服务凭证",
        other => other,
    }
}

/// The kind of object an audited action was on, as the log page names it.
pub fn object_zh(object_type: &str) -> &str {
    match object_type {
        "entity" | "entities" => "市场主体",
        "outlet" | "outlets" => "服务网点",
        "user" => "账号",
        "api_token" => "接口令牌",
        "entity_token" => "主体回复令牌",
        "credit_record" => "信用记录",
        "credit_repair" => "信用修复",
        "review" => "评价",
        "review_case" => "差评整改",
        "reviewer" => "评价人",
        "reviewer_code" => "验证码",
        "plan_report" => "进展填报",
        "plan_cadence" => "填报周期",
        "stat_release" => "统计发布",
        "job" => "定时任务",
        other => other,
    }
}
