//! The admin API's own bearer token (`admin.token`). Without a configured token the admin API
//! does not exist (404); a missing or wrong token is a 401 that says nothing more.

use super::error::AdminError;
use crate::error::ApiError;
use crate::settings::AdminSettings;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of the configured token. Comparing digests keeps the comparison constant-time
/// whatever the length of the presented token.
#[derive(Clone)]
pub(crate) struct AdminToken(Option<[u8; 32]>);

impl AdminToken {
    pub(crate) fn new(settings: &AdminSettings) -> Self {
        // An empty token must never authenticate anything: it disables the admin API.
        Self(
            settings
                .token
                .as_ref()
                .filter(|t| !t.is_empty())
                .map(|t| Sha256::digest(t.expose().as_bytes()).into()),
        )
    }
}

fn matches(expected: &[u8; 32], presented: Option<&str>) -> bool {
    presented.is_some_and(|p| {
        let digest: [u8; 32] = Sha256::digest(p.as_bytes()).into();
        digest.ct_eq(expected).into()
    })
}

/// `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Route layer of every admin route.
pub(crate) async fn require_admin(
    State(token): State<AdminToken>,
    req: Request,
    next: Next,
) -> Response {
    let Some(expected) = token.0 else {
        return AdminError::not_found("not found").into_response();
    };
    if !matches(&expected, bearer(&req)) {
        metrics::counter!("callsaga_admin_auth_failures_total").increment(1);
        tracing::warn!(path = %req.uri().path(), "admin API authentication failed");
        return ApiError::Unauthorized.into_response();
    }
    next.run(req).await
}
