//! Webhook authentication, verified over the raw body bytes before anything is parsed.

use axum::http::{HeaderMap, HeaderName};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use super::signature::{HmacAlgorithm, SigEncoding};
use super::signature::{Piece, parse_unix_secs, payload_pieces};
use crate::secret::Secret;

/// How Vapi authenticates its webhook calls. A config only needs `mode` and the secret; every
/// other field has the default Vapi uses.
///
/// ```toml
/// [vapi.auth]
/// mode = "hmac"          # none | bearer | hmac | legacy_secret
/// secret = "..."
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum WebhookAuth {
    /// No authentication (development only).
    None,
    /// `Authorization: Bearer <token>`; header name and prefix are configurable (`""` = no prefix).
    Bearer {
        /// The expected token.
        token: Secret,
        /// Header carrying the token.
        #[serde(default = "default_authorization")]
        header: String,
        /// Text before the token (compared ASCII case-insensitively).
        #[serde(default = "default_bearer_prefix")]
        prefix: String,
    },
    /// HMAC signature over `payload_format` with `{timestamp}` and `{body}` substituted.
    Hmac {
        /// The shared HMAC key.
        secret: Secret,
        /// `sha256` (default), `sha512` or `sha1`.
        #[serde(default)]
        algorithm: HmacAlgorithm,
        /// `hex` (default) or `base64`.
        #[serde(default)]
        encoding: SigEncoding,
        /// Header carrying the signature.
        #[serde(default = "default_signature_header")]
        signature_header: String,
        /// Header carrying the timestamp (seconds or milliseconds since the epoch).
        #[serde(default = "default_timestamp_header")]
        timestamp_header: String,
        /// What is signed: `{timestamp}.{body}` (default), `{body}`, or any text containing
        /// `{body}` once. Without `{timestamp}` no timestamp is required or checked (it would
        /// not be signed).
        #[serde(default = "default_payload_format")]
        payload_format: String,
        /// Optional text before the signature, e.g. `sha256=`; stripped when present.
        #[serde(default)]
        signature_prefix: String,
        /// Largest accepted distance between the timestamp and now.
        #[serde(default = "default_tolerance_secs")]
        tolerance_secs: u64,
    },
    /// A shared secret in `x-vapi-secret` (Vapi's legacy scheme).
    LegacySecret {
        /// The expected secret.
        secret: Secret,
        /// Header carrying it.
        #[serde(default = "default_legacy_header")]
        header: String,
    },
}

fn default_authorization() -> String {
    "authorization".to_owned()
}
fn default_bearer_prefix() -> String {
    "Bearer ".to_owned()
}
fn default_signature_header() -> String {
    "x-signature".to_owned()
}
fn default_timestamp_header() -> String {
    "x-timestamp".to_owned()
}
fn default_payload_format() -> String {
    "{timestamp}.{body}".to_owned()
}
fn default_tolerance_secs() -> u64 {
    300
}
fn default_legacy_header() -> String {
    "x-vapi-secret".to_owned()
}

/// What [`WebhookAuth::verify_headers`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderCheck {
    /// The headers alone authenticate the request (bearer, legacy secret, none).
    Authenticated,
    /// The headers are well formed; the signature over the body decides (HMAC).
    NeedsBody,
}

/// Why a webhook was not authenticated. `Display` names headers and reasons, never secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A required header is absent or empty.
    #[error("missing `{header}` header")]
    Missing {
        /// Header name.
        header: String,
    },
    /// The credentials do not match.
    #[error("invalid credentials in `{header}` header")]
    Invalid {
        /// Header name.
        header: String,
    },
    /// The signed timestamp is too far from now.
    #[error("stale timestamp: {skew_secs}s from now, tolerance is {tolerance_secs}s")]
    Stale {
        /// Distance between the timestamp and now.
        skew_secs: u64,
        /// Configured tolerance.
        tolerance_secs: u64,
    },
    /// A header is present but unreadable.
    #[error("malformed `{header}` header: {reason}")]
    Malformed {
        /// Header name.
        header: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl AuthError {
    /// A stable label for metrics: `missing`, `invalid`, `stale` or `malformed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing",
            Self::Invalid { .. } => "invalid",
            Self::Stale { .. } => "stale",
            Self::Malformed { .. } => "malformed",
        }
    }
}

/// The single, non-empty value of `name`.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, AuthError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(malformed(name, "sent more than once"));
    }
    let value = first
        .ok_or_else(|| missing(name))?
        .to_str()
        .map_err(|_| malformed(name, "not visible ASCII"))?
        .trim();
    if value.is_empty() {
        return Err(missing(name));
    }
    Ok(value)
}

fn missing(header: &str) -> AuthError {
    AuthError::Missing {
        header: header.to_owned(),
    }
}
fn invalid(header: &str) -> AuthError {
    AuthError::Invalid {
        header: header.to_owned(),
    }
}
fn malformed(header: &str, reason: &'static str) -> AuthError {
    AuthError::Malformed {
        header: header.to_owned(),
        reason,
    }
}

/// `value` without `prefix` (ASCII case-insensitive), or `None` if it does not start with it.
fn strip_prefix_ci<'v>(value: &'v str, prefix: &str) -> Option<&'v str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

/// Constant-time equality that also hides the expected length; an empty expectation never matches.
fn secret_matches(presented: &str, expected: &Secret) -> bool {
    if expected.is_empty() {
        return false;
    }
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.expose().as_bytes());
    a.as_slice().ct_eq(b.as_slice()).into()
}

impl WebhookAuth {
    /// The mode name as configured (`none`, `bearer`, `hmac`, `legacy_secret`).
    pub fn mode_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer { .. } => "bearer",
            Self::Hmac { .. } => "hmac",
            Self::LegacySecret { .. } => "legacy_secret",
        }
    }

    /// Checks the configuration once at start-up: non-empty secret, valid header names, a
    /// payload format with `{body}` exactly once. A config failing this never authenticates.
    pub fn validate(&self) -> Result<(), String> {
        let header_ok = |name: &str| {
            HeaderName::from_bytes(name.as_bytes())
                .map(drop)
                .map_err(|_| format!("`{name}` is not a valid header name"))
        };
        match self {
            Self::None => Ok(()),
            Self::Bearer { token, header, .. } => {
                if token.is_empty() {
                    return Err("bearer token is empty".to_owned());
                }
                header_ok(header)
            }
            Self::Hmac {
                secret,
                signature_header,
                timestamp_header,
                payload_format,
                ..
            } => {
                if secret.is_empty() {
                    return Err("hmac secret is empty".to_owned());
                }
                header_ok(signature_header)?;
                header_ok(timestamp_header)?;
                payload_pieces(payload_format)
                    .map(drop)
                    .ok_or_else(|| "payload_format must contain `{body}` exactly once".to_owned())
            }
            Self::LegacySecret { secret, header } => {
                if secret.is_empty() {
                    return Err("legacy secret is empty".to_owned());
                }
                header_ok(header)
            }
        }
    }

    /// Verifies a webhook request from its headers and raw body. `now_unix_secs` is the current
    /// time (`chrono::Utc::now().timestamp()`).
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix_secs: i64,
    ) -> Result<(), AuthError> {
        match self.verify_headers(headers)? {
            HeaderCheck::Authenticated => Ok(()),
            HeaderCheck::NeedsBody => self.verify_body(headers, body, now_unix_secs),
        }
    }

    /// What can be checked before the body is read: all of bearer and the legacy secret; for
    /// HMAC that the signature (and, when signed, timestamp) headers are there and readable.
    /// A request failing here is refused without reading its body.
    pub fn verify_headers(&self, headers: &HeaderMap) -> Result<HeaderCheck, AuthError> {
        match self {
            Self::None => Ok(HeaderCheck::Authenticated),
            Self::Bearer {
                token,
                header,
                prefix,
            } => {
                let value = single_header(headers, header)?;
                if !prefix.trim().is_empty() && value.eq_ignore_ascii_case(prefix.trim()) {
                    return Err(missing(header));
                }
                let presented = strip_prefix_ci(value, prefix)
                    .ok_or_else(|| malformed(header, "does not start with the expected prefix"))?
                    .trim();
                if presented.is_empty() {
                    return Err(missing(header));
                }
                secret_matches(presented, token)
                    .then_some(HeaderCheck::Authenticated)
                    .ok_or_else(|| invalid(header))
            }
            Self::LegacySecret { secret, header } => {
                let value = single_header(headers, header)?;
                secret_matches(value, secret)
                    .then_some(HeaderCheck::Authenticated)
                    .ok_or_else(|| invalid(header))
            }
            Self::Hmac { .. } => self.hmac_headers(headers).map(|_| HeaderCheck::NeedsBody),
        }
    }

    /// The HMAC signature (decoded) and timestamp text (empty when not signed).
    fn hmac_headers<'h>(&self, headers: &'h HeaderMap) -> Result<(Vec<u8>, &'h str), AuthError> {
        let Self::Hmac {
            encoding,
            signature_header,
            timestamp_header,
            payload_format,
            signature_prefix,
            ..
        } = self
        else {
            return Ok((Vec::new(), ""));
        };
        // A broken config fails closed (see `validate`).
        let pieces = payload_pieces(payload_format).ok_or_else(|| invalid(signature_header))?;
        let raw_signature = single_header(headers, signature_header)?;
        let ts = if pieces.contains(&Piece::Timestamp) {
            single_header(headers, timestamp_header)?
        } else {
            ""
        };
        let text = strip_prefix_ci(raw_signature, signature_prefix)
            .unwrap_or(raw_signature)
            .trim();
        let signature = encoding
            .decode(text)
            .ok_or_else(|| malformed(signature_header, "signature is not validly encoded"))?;
        Ok((signature, ts))
    }

    /// The part of [`WebhookAuth::verify`] that needs the body (HMAC); `Ok` for the other
    /// schemes, which [`WebhookAuth::verify_headers`] decides alone.
    pub fn verify_body(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_unix_secs: i64,
    ) -> Result<(), AuthError> {
        let Self::Hmac {
            secret,
            algorithm,
            signature_header,
            timestamp_header,
            payload_format,
            tolerance_secs,
            ..
        } = self
        else {
            return Ok(());
        };
        let pieces = payload_pieces(payload_format).ok_or_else(|| invalid(signature_header))?;
        let (signature, ts) = self.hmac_headers(headers)?;
        if secret.is_empty()
            || !algorithm.verify(secret.expose().as_bytes(), &pieces, ts, body, &signature)
        {
            return Err(invalid(signature_header));
        }
        if pieces.contains(&Piece::Timestamp) {
            let at = parse_unix_secs(ts)
                .ok_or_else(|| malformed(timestamp_header, "not a unix timestamp"))?;
            let skew_secs = now_unix_secs.abs_diff(at);
            if skew_secs > *tolerance_secs {
                return Err(AuthError::Stale {
                    skew_secs,
                    tolerance_secs: *tolerance_secs,
                });
            }
        }
        Ok(())
    }

    /// For HMAC: the presented signature and how long it must not be accepted again (the
    /// timestamp tolerance). `None` for the other schemes (their credential is not per request).
    pub fn replay_window<'h>(&self, headers: &'h HeaderMap) -> Option<(&'h [u8], u64)> {
        let Self::Hmac {
            signature_header,
            tolerance_secs,
            ..
        } = self
        else {
            return None;
        };
        let value = headers.get(signature_header.as_str())?;
        Some((value.as_bytes(), (*tolerance_secs).max(1)))
    }

    /// Headers that make a request with `body` pass [`WebhookAuth::verify`] at `now_unix_secs`
    /// (timestamp in seconds): for tests, fixtures and replaying samples against a dev server.
    pub fn sign(&self, body: &[u8], now_unix_secs: i64) -> Vec<(String, String)> {
        match self {
            Self::None => Vec::new(),
            Self::Bearer {
                token,
                header,
                prefix,
            } => {
                vec![(header.clone(), format!("{prefix}{}", token.expose()))]
            }
            Self::LegacySecret { secret, header } => {
                vec![(header.clone(), secret.expose().to_owned())]
            }
            Self::Hmac {
                secret,
                algorithm,
                encoding,
                signature_header,
                timestamp_header,
                payload_format,
                signature_prefix,
                ..
            } => {
                let Some(pieces) = payload_pieces(payload_format) else {
                    return Vec::new();
                };
                let ts = now_unix_secs.to_string();
                let mac = algorithm.compute(secret.expose().as_bytes(), &pieces, &ts, body);
                let mut headers = vec![(
                    signature_header.clone(),
                    format!("{signature_prefix}{}", encoding.encode(&mac)),
                )];
                if pieces.contains(&Piece::Timestamp) {
                    headers.push((timestamp_header.clone(), ts));
                }
                headers
            }
        }
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "auth_hmac_tests.rs"]
mod hmac_tests;
