//! One error type for every HTTP handler. 4xx bodies say what is wrong; 5xx bodies are generic
//! and the detail goes to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("too many requests from this source; slow down")]
    TooManyRequests,
    /// Load shedding: this kind of request is at its concurrency limit (503 + `Retry-After`).
    #[error("too many requests in progress; retry shortly")]
    Overloaded,
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        // A value the database refuses is this request's fault and stays so on every retry:
        // a 4xx with the reason (Vapi would retry a 503 forever). Anything else (unreachable,
        // pool exhausted, a lock timeout) is temporary; Vapi retries 503s.
        match permanent_db_error(&e) {
            Some(reason) => {
                tracing::warn!(error = %e, "request refused by the database");
                Self::BadRequest(format!("the request cannot be stored: {reason}"))
            }
            None => Self::Unavailable(anyhow::Error::new(e).context("database error")),
        }
    }
}

/// Why the database refused this request's data for good, or `None` when the error may pass
/// (connection, pool, lock or I/O trouble). PostgreSQL's SQLSTATE classes 22 (data exception,
/// e.g. a NUL byte in text) and 23 (integrity constraint violation); SQLite's constraint
/// failures.
pub(crate) fn permanent_db_error(e: &sea_orm::DbErr) -> Option<&'static str> {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let (DbErr::Exec(RuntimeErr::SqlxError(err)) | DbErr::Query(RuntimeErr::SqlxError(err))) = e
    else {
        return None;
    };
    let sqlx::Error::Database(db) = &**err else {
        return None;
    };
    match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => return Some("it conflicts with existing data"),
        sqlx::error::ErrorKind::ForeignKeyViolation => {
            return Some("it refers to something that does not exist");
        }
        sqlx::error::ErrorKind::NotNullViolation | sqlx::error::ErrorKind::CheckViolation => {
            return Some("a required value is missing or out of range");
        }
        _ => {}
    }
    let code = db.code().unwrap_or_default();
    if code.starts_with("22") {
        Some("it contains a value the database cannot store (for example a NUL character)")
    } else if code.starts_with("23") {
        Some("it violates a database constraint")
    } else {
        None
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TooManyRequests => "too_many_requests",
            Self::Overloaded => "overloaded",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Unavailable(e) => {
                tracing::error!(error = %format!("{e:#}"), "request failed: dependency unavailable")
            }
            Self::Internal(e) => tracing::error!(error = %format!("{e:#}"), "request failed"),
            _ => {}
        }
        let body = Json(json!({ "error": { "code": self.code(), "message": self.to_string() } }));
        if matches!(self, Self::Overloaded) {
            let retry_after = [(axum::http::header::RETRY_AFTER, "1")];
            return (self.status(), retry_after, body).into_response();
        }
        (self.status(), body).into_response()
    }
}
