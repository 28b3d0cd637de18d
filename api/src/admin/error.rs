//! [`AdminError`]: the admin API's errors, in the service's `{"error":{"code","message"}}` body
//! ([`ApiError`]), plus what only the admin API needs: 409 conflicts with a reason, 422
//! validation failures that name the field, 415 for a body that is not JSON.

use crate::error::ApiError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A value we do not accept (422); `field` is its JSON path, e.g. `calendar_config.url`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The change collides with existing data, e.g. a duplicate assistant id (409).
    #[error("{0}")]
    Conflict(String),
    /// The request body is not JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Everything the rest of the service answers too (400, 401, 404, 413, 503, 500).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl AdminError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::Api(ApiError::NotFound(message.into()))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::Api(ApiError::BadRequest(message.into()))
    }

    /// A failed write: a unique-constraint violation becomes a 409 with `reason` (each table
    /// has one natural key, so the reason is unambiguous), anything else a database error.
    pub(crate) fn from_write(err: DbErr, reason: impl FnOnce() -> String) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(reason()),
            _ => err.into(),
        }
    }
}

impl From<DbErr> for AdminError {
    fn from(e: DbErr) -> Self {
        Self::Api(e.into())
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `bad_request` (400), `unauthorized` (401), `not_found`
    /// (404), `conflict` (409), `payload_too_large` (413), `unsupported_media_type` (415),
    /// `invalid` (422), `too_many_requests` (429), `internal` (500), `overloaded` or
    /// `unavailable` (503).
    #[schema(example = "invalid")]
    pub code: String,
    /// What is wrong, for a human. Generic for 5xx answers.
    #[schema(example = "timezone: unknown IANA time zone \"Mars/Base\"")]
    pub message: String,
    /// For `invalid`: the offending field's path.
    #[schema(example = "timezone")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let (status, code, field) = match self {
            Self::Api(e) => return e.into_response(),
            Self::Invalid { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(field))
            }
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
            ),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message,
                field,
            },
        };
        (status, Json(body)).into_response()
    }
}
