//! Extractors that turn malformed input into [`AdminError`]s in our JSON format instead of
//! axum's plain-text rejections: a JSON body ([`AdminJson`]), a query string ([`AdminQuery`])
//! and a UUID path parameter ([`PathId`]).

use super::error::AdminError;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

/// Largest admin request body.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body (`application/json` or any `+json` type, e.g.
/// `application/merge-patch+json`). Not JSON → 400; JSON of the wrong shape (unknown or missing
/// field, wrong type) → 422 naming the field.
pub(crate) struct AdminJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AdminJson<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(AdminError::UnsupportedMediaType(
                "expected a JSON body with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    AdminError::Api(ApiError::PayloadTooLarge { limit: BODY_LIMIT })
                }
                _ => AdminError::bad_request(format!(
                    "could not read the request body: {}",
                    e.body_text()
                )),
            })?;
        from_slice(&bytes).map(Self)
    }
}

/// Parses a JSON document: syntax errors are 400, shape errors 422 with the field's path, and
/// a NUL character in any text 400 (PostgreSQL cannot store one and SQLite would; refusing it
/// here gives both the same answer).
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    if has_nul_text(bytes) {
        return Err(AdminError::bad_request(
            "request body has a NUL character (\\u0000) in a text value, which cannot be stored",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            AdminError::bad_request(format!("request body is not valid JSON: {inner}"))
        } else {
            invalid_at("", &path, &inner)
        }
    })?;
    de.end()
        .map_err(|e| AdminError::bad_request(format!("request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Whether a JSON document has a string with a NUL in it (only parsed when the escape appears).
fn has_nul_text(bytes: &[u8]) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(walk),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || walk(v)),
            _ => false,
        }
    }
    let lower = bytes.to_ascii_lowercase();
    lower.windows(6).any(|w| w == b"\\u0000")
        && serde_json::from_slice::<Value>(bytes).is_ok_and(|v| walk(&v))
}

/// Deserializes a JSON value (a merged PATCH document, a YAML seed entry); errors are 422 and
/// name the field, prefixed with `prefix` (e.g. `users[0].agents[1]`).
pub(crate) fn from_value<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, AdminError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        invalid_at(prefix, &path, e.inner())
    })
}

fn invalid_at(prefix: &str, path: &str, inner: &serde_json::Error) -> AdminError {
    let path = if path == "." { "" } else { path };
    let field = match (prefix.is_empty(), path.is_empty()) {
        (true, true) => "body".to_owned(),
        (true, false) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    };
    // serde_json appends " at line 1 column 5" only for documents it parsed itself.
    let message = inner.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) if inner.line() > 0 => message[..i].to_owned(),
        _ => message,
    };
    AdminError::invalid(field, message)
}

/// A query string; a value that does not parse is a 400 that names the parameter.
pub(crate) struct AdminQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AdminQuery<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(q)| Self(q))
            .map_err(|e| {
                AdminError::bad_request(format!("invalid query string: {}", e.body_text()))
            })
    }
}

/// The `{id}` path parameter, a UUID.
pub(crate) struct PathId(pub(crate) Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| AdminError::bad_request(e.body_text()))?;
        Uuid::parse_str(raw.trim()).map(Self).map_err(|_| {
            AdminError::bad_request(format!("path parameter `id` must be a UUID, got {raw:?}"))
        })
    }
}

/// Parses an optional query parameter; empty means absent. Failures are 422 naming `field`.
pub(crate) fn param<T>(
    field: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, AdminError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse(s)
            .map(Some)
            .map_err(|m| AdminError::invalid(field, m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the errors matter here")]
    struct Shape {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the errors matter here")]
    struct Inner {
        n: u32,
    }

    fn err(body: &str) -> (String, String) {
        match from_slice::<Shape>(body.as_bytes()).expect_err("rejected") {
            AdminError::Invalid { field, message } => {
                ("invalid".into(), format!("{field}: {message}"))
            }
            AdminError::Api(ApiError::BadRequest(m)) => ("bad_request".into(), m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shape_errors_name_the_field() {
        let (kind, m) = err(r#"{"name":"x","nope":1}"#);
        assert_eq!(kind, "invalid");
        assert!(m.contains("unknown field `nope`"), "{m}");
        let (_, m) = err(r#"{"name":"x","inner":{"n":"seven"}}"#);
        assert!(m.starts_with("inner.n: invalid type"), "{m}");
        assert!(!m.contains("line"), "{m}");
        let (_, m) = err(r#"{}"#);
        assert!(m.contains("missing field `name`"), "{m}");
        let (kind, m) = err(r#"{"name":"#);
        assert_eq!(kind, "bad_request", "{m}");
        let (kind, m) = err(r#"{"name":"x"} trailing"#);
        assert_eq!(kind, "bad_request", "{m}");
    }

    #[test]
    fn values_get_the_prefix() {
        let e = from_value::<Shape>(serde_json::json!({"name": 5}), "users[2]").unwrap_err();
        assert!(
            e.to_string().starts_with("users[2].name: invalid type"),
            "{e}"
        );
    }
}
