//! The application error: every handler returns it, and it is mapped to HTTP
//! in exactly one place. Messages are in Chinese (they reach end users);
//! internal causes are logged and never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("请先登录")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    #[error("请求过于频繁，请稍后再试")]
    RateLimited,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("服务器内部错误")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::Validation {
            field: None,
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    /// Stable machine-readable code, part of the API contract.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "invalid",
            AppError::NotFound(_) => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict { .. } => "conflict",
            AppError::RateLimited => "rate_limited",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn field_name(&self) -> Option<&str> {
        match self {
            AppError::Validation { field, .. } | AppError::Conflict { field, .. } => {
                field.as_deref()
            }
            _ => None,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return AppError::Conflict {
                    field: None,
                    message: "记录已存在（唯一性冲突）".into(),
                };
            }
            if db.is_foreign_key_violation() {
                return AppError::invalid("引用的记录不存在");
            }
        }
        AppError::Internal(err.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// The JSON body of every API error: `{"error":{"code","message","field"}}`.
pub fn error_body(err: &AppError) -> serde_json::Value {
    json!({"error": {"code": err.code(), "message": err.to_string(), "field": err.field_name()}})
}

/// The error for an answer the framework gives before any handler runs: a
/// path no route takes, a method the route does not take, a body too large,
/// or a path, query or form parameter that does not parse (`detail` is its
/// English text, from which the field or value is taken).
pub fn framework_error(status: StatusCode, method: &str, path: &str, detail: &str) -> AppError {
    let quoted = |prefix: &str| {
        let rest = &detail[detail.find(prefix)? + prefix.len()..];
        rest.split('`').next().map(str::to_string)
    };
    match status {
        StatusCode::NOT_FOUND => AppError::not_found(format!("页面或接口不存在：{path}")),
        StatusCode::METHOD_NOT_ALLOWED => AppError::invalid(format!("{path} 不接受 {method} 请求")),
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge("上传的内容过大".into()),
        _ => {
            if let Some(field) = quoted("missing field `") {
                AppError::field(&field, format!("缺少“{field}”"))
            } else if let Some(field) = quoted("duplicate field `") {
                AppError::field(&field, format!("“{field}”填写了不止一次"))
            } else if let Some(value) =
                quoted("Cannot parse `").or_else(|| quoted("unknown variant `"))
            {
                AppError::invalid(format!("“{value}”不是这里可以接受的值"))
            } else {
                AppError::invalid("请求的地址参数或表单内容格式不正确")
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "internal error");
        }
        (self.status(), axum::Json(error_body(&self))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_rejections_become_specific_chinese_errors() {
        let bad = StatusCode::UNPROCESSABLE_ENTITY;
        let e = framework_error(
            bad,
            "POST",
            "/login",
            "Failed to deserialize form body: missing field `password`",
        );
        assert_eq!(
            (e.field_name(), e.to_string().as_str()),
            (Some("password"), "缺少“password”")
        );
        let e = framework_error(
            StatusCode::BAD_REQUEST,
            "GET",
            "/x",
            "Invalid URL: Cannot parse `300` to a `u8`",
        );
        assert_eq!(e.to_string(), "“300”不是这里可以接受的值");
        let e = framework_error(
            bad,
            "POST",
            "/x",
            "Failed to deserialize form body: duplicate field `code`",
        );
        assert_eq!(e.field_name(), Some("code"));
        let e = framework_error(bad, "POST", "/x", "something else entirely");
        assert_eq!(e.code(), "invalid");
        let e = framework_error(StatusCode::NOT_FOUND, "GET", "/api/v1/search", "");
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("not_found", "页面或接口不存在：/api/v1/search")
        );
        let e = framework_error(StatusCode::METHOD_NOT_ALLOWED, "DELETE", "/login", "");
        assert_eq!(e.to_string(), "/login 不接受 DELETE 请求");
    }
}
