//! Files attached to a progress report as evidence (佐证材料): the reporting
//! unit (or an administrator) attaches documents, scans or spreadsheets to
//! its report; government staff read them. Files live in the database, so
//! backups and `migrate-data` carry them; each attachment is audited with its
//! SHA-256, and an attachment is never replaced, only added.

use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::storage::Db;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Largest attachment accepted.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The request size the attachment routes accept: one file and the form's
/// few fields, so a larger upload is refused before it is read.
pub fn body_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(MAX_BYTES + 64 * 1024)
}

/// Attachments one report may carry.
const MAX_PER_REPORT: i64 = 20;

/// The kinds of file accepted, by extension, with their content type and how
/// their content begins (so a renamed executable is refused).
const KINDS: [(&str, &str, &[u8]); 9] = [
    ("pdf", "application/pdf", b"%PDF"),
    ("ofd", "application/ofd", b"PK\x03\x04"),
    ("jpg", "image/jpeg", b"\xFF\xD8\xFF"),
    ("jpeg", "image/jpeg", b"\xFF\xD8\xFF"),
    ("png", "image/png", b"\x89PNG"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
    ),
    ("xlsx", crate::tabular::XLSX_TYPE, b"PK\x03\x04"),
    ("doc", "application/msword", b"\xD0\xCF\x11\xE0"),
    ("xls", "application/vnd.ms-excel", b"\xD0\xCF\x11\xE0"),
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub report_id: i64,
    pub version: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
    /// Where staff download it.
    pub href: String,
}

/// The content type of an acceptable file, or why it is refused.
fn checked_kind(file_name: &str, bytes: &[u8]) -> AppResult<&'static str> {
    let accepted = || {
        KINDS
            .iter()
            .map(|(ext, _, _)| *ext)
            .collect::<Vec<_>>()
            .join("、")
    };
    if bytes.is_empty() {
        return Err(AppError::field("file", "附件为空文件"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(AppError::field(
            "file",
            format!("附件“{file_name}”超过{}MB", MAX_BYTES / 1024 / 1024),
        ));
    }
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let (_, content_type, magic) = KINDS.iter().find(|(e, _, _)| *e == ext).ok_or_else(|| {
        AppError::field(
            "file",
            format!("不支持的附件类型“{file_name}”：可上传 {}", accepted()),
        )
    })?;
    if !bytes.starts_with(magic) {
        return Err(AppError::field(
            "file",
            format!("“{file_name}”的内容不是.{ext}文件，请检查后重新上传"),
        ));
    }
    Ok(content_type)
}

/// Keeps the last path component and drops control and invisible format
/// characters (a right-to-left override can disguise `exe.pdf`), so the name
/// is safe to show and to send back in a download header.
fn clean_name(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let invisible = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !invisible(*c) && *c != '"')
        .take(120)
        .collect();
    if clean.trim().is_empty() {
        "附件".into()
    } else {
        clean
    }
}

/// Whether an account may read evidence: government staff, not entities.
pub fn can_read(principal: &Principal) -> bool {
    !matches!(principal.role, Role::Entity(_))
}

/// Attaches a file to a report of the principal's unit (administrators: any).
pub async fn attach(
    db: &Db,
    principal: &Principal,
    report_id: i64,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<Attachment> {
    let file_name = clean_name(file_name);
    let mut tx = db.begin_write().await?;
    // On PostgreSQL the report row is locked so that concurrent uploads
    // cannot pass the per-report limit together (SQLite has one writer).
    let lock = match db.backend() {
        crate::storage::Backend::Postgres => " FOR UPDATE",
        crate::storage::Backend::Sqlite => "",
    };
    let row: Option<(String, i64)> = sqlx::query_as(&format!(
        "SELECT unit, version FROM plan_reports WHERE id = $1{lock}"
    ))
    .bind(report_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (unit, version) =
        row.ok_or_else(|| AppError::not_found(format!("填报记录{report_id}不存在")))?;
    if !principal.is_admin() && principal.plan_unit.as_deref() != Some(unit.as_str()) {
        return Err(AppError::Forbidden("只能为本单位的填报上传佐证材料".into()));
    }
    let content_type = checked_kind(&file_name, bytes)?;
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM plan_report_attachments WHERE report_id = $1")
            .bind(report_id)
            .fetch_one(&mut *tx)
            .await?;
    if count >= MAX_PER_REPORT {
        return Err(AppError::field(
            "file",
            format!("每条填报最多{MAX_PER_REPORT}个附件"),
        ));
    }
    let sha256 = format!("{:x}", Sha256::digest(bytes));
    let now = crate::time::now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO plan_report_attachments (report_id, version, file_name, content_type, size, sha256, content, uploaded_by, uploaded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(report_id)
    .bind(version)
    .bind(file_name.clone())
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(sha256.clone())
    .bind(bytes.to_vec())
    .bind(principal.actor())
    .bind(now.clone())
    .fetch_one(&mut *tx)
    .await?;
    let after = serde_json::json!({"report_id": report_id, "file_name": file_name, "size": bytes.len(), "sha256": sha256});
    crate::audit::record(
        &mut tx,
        &principal.actor(),
        "attach",
        "plan_report",
        &report_id.to_string(),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(Attachment {
        id,
        report_id,
        version,
        file_name,
        content_type: content_type.to_string(),
        size: bytes.len() as i64,
        sha256,
        uploaded_by: principal.actor(),
        uploaded_at: now,
        href: href(id),
    })
}

fn href(id: i64) -> String {
    format!("/plan/attachments/{id}")
}

/// The attachments of the reports of a task and of a unit (each when given),
/// by report id (metadata only).
pub async fn by_report(
    db: &Db,
    task: Option<u8>,
    unit: Option<&str>,
) -> AppResult<std::collections::HashMap<i64, Vec<Attachment>>> {
    let rows = sqlx::query(
        "SELECT a.id, a.report_id, a.version, a.file_name, a.content_type, a.size, a.sha256, a.uploaded_by, a.uploaded_at \
         FROM plan_report_attachments a JOIN plan_reports r ON r.id = a.report_id \
         WHERE ($1 < 0 OR r.task = $1) AND ($2 = '' OR r.unit = $2) ORDER BY a.id",
    )
    .bind(task.map_or(-1, i64::from))
    .bind(unit.unwrap_or("").to_string())
    .fetch_all(db.pool())
    .await?;
    let mut out: std::collections::HashMap<i64, Vec<Attachment>> = Default::default();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let attachment = Attachment {
            id,
            report_id: row.try_get("report_id")?,
            version: row.try_get("version")?,
            file_name: row.try_get("file_name")?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size")?,
            sha256: row.try_get("sha256")?,
            uploaded_by: row.try_get("uploaded_by")?,
            uploaded_at: row.try_get("uploaded_at")?,
            href: href(id),
        };
        out.entry(attachment.report_id)
            .or_default()
            .push(attachment);
    }
    Ok(out)
}

/// An attachment's name, content type and bytes, for staff.
pub async fn content(
    db: &Db,
    principal: Option<&Principal>,
    id: i64,
) -> AppResult<(String, String, Vec<u8>)> {
    match principal {
        None => return Err(AppError::Unauthenticated),
        Some(p) if !can_read(p) => {
            return Err(AppError::Forbidden("佐证材料仅向政府工作人员提供".into()));
        }
        Some(_) => {}
    }
    sqlx::query_as(
        "SELECT file_name, content_type, content FROM plan_report_attachments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| AppError::not_found(format!("附件{id}不存在")))
}

/// A multipart upload of one attachment: the form's CSRF token and report
/// (the API names the report in its path), and the file.
pub struct Upload {
    pub csrf: Option<String>,
    pub report: Option<i64>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

pub async fn read_upload(mut multipart: axum::extract::Multipart) -> AppResult<Upload> {
    let mut upload = Upload {
        csrf: None,
        report: None,
        file_name: String::new(),
        bytes: Vec::new(),
    };
    let invalid = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid(format!("上传内容无法解析：{e}"))
    };
    while let Some(field) = multipart.next_field().await.map_err(invalid)? {
        match field.name().unwrap_or_default() {
            "file" => {
                upload.file_name = field.file_name().unwrap_or("附件").to_string();
                upload.bytes = field.bytes().await.map(|b| b.to_vec()).map_err(|_| {
                    AppError::PayloadTooLarge(format!("附件最大{}MB", MAX_BYTES / 1024 / 1024))
                })?;
            }
            "csrf" => upload.csrf = Some(field.text().await.map_err(invalid)?),
            "report" => {
                let text = field.text().await.map_err(invalid)?;
                let id = text
                    .trim()
                    .parse()
                    .map_err(|_| AppError::field("report", format!("填报编号“{text}”无效")))?;
                upload.report = Some(id);
            }
            _ => {}
        }
    }
    if upload.file_name.is_empty() {
        return Err(AppError::field("file", "请选择要上传的文件"));
    }
    Ok(upload)
}

/// The file as a download; the name in RFC 5987 form, since it is Chinese.
pub fn download(name: String, content_type: String, bytes: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let disposition =
        format!("attachment; filename=\"evidence.{ext}\"; filename*=UTF-8''{encoded}");
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_checked_by_extension_and_content() {
        assert_eq!(
            checked_kind("通知.PDF", b"%PDF-1.7").unwrap(),
            "application/pdf"
        );
        assert!(checked_kind("照片.jpg", b"\xFF\xD8\xFF\xE0").is_ok());
        let renamed = checked_kind("通知.pdf", b"MZ\x90\x00")
            .unwrap_err()
            .to_string();
        assert!(renamed.contains("不是.pdf文件"), "{renamed}");
        let unknown = checked_kind("run.exe", b"MZ").unwrap_err().to_string();
        assert!(
            unknown.contains("不支持") && unknown.contains("pdf"),
            "{unknown}"
        );
        assert!(checked_kind("空.pdf", b"").is_err());
        assert!(checked_kind("大.pdf", &vec![b'%'; MAX_BYTES + 1]).is_err());
    }

    #[test]
    fn names_keep_the_last_component_without_control_characters() {
        assert_eq!(clean_name("C:\\材料\\通知.pdf"), "通知.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\"b\n.pdf"), "ab.pdf");
        assert_eq!(clean_name("  "), "附件");
        assert_eq!(clean_name("通知\u{202E}fdp.exe"), "通知fdp.exe");
    }
}
