//! HMAC signature primitives for [`super::WebhookAuth`]: algorithms, encodings, the signed
//! payload template and timestamp parsing.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Sha256, Sha512};

/// HMAC hash function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    #[default]
    #[serde(alias = "sha-256", alias = "SHA256", alias = "hmac-sha256")]
    Sha256,
    /// HMAC-SHA512.
    #[serde(alias = "sha-512", alias = "SHA512", alias = "hmac-sha512")]
    Sha512,
    /// HMAC-SHA1.
    #[serde(alias = "sha-1", alias = "SHA1", alias = "hmac-sha1")]
    Sha1,
}

/// Signature text encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigEncoding {
    /// Hexadecimal (either case).
    #[default]
    Hex,
    /// Base64 (standard or URL-safe, padded or not).
    Base64,
}

impl SigEncoding {
    pub(crate) fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Self::Hex => hex::decode(text).ok(),
            Self::Base64 => [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok()),
        }
    }

    pub(crate) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
        }
    }
}

/// A piece of the signed payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Timestamp,
    Body,
}

/// Splits a payload format into pieces; `None` unless it contains `{body}` exactly once.
pub(crate) fn payload_pieces(format: &str) -> Option<Vec<Piece<'_>>> {
    const TS: &str = "{timestamp}";
    const BODY: &str = "{body}";
    let mut pieces = Vec::new();
    let mut rest = format;
    loop {
        let next = [(rest.find(TS), TS), (rest.find(BODY), BODY)]
            .into_iter()
            .filter_map(|(at, token)| Some((at?, token)))
            .min_by_key(|(at, _)| *at);
        let Some((at, token)) = next else {
            if !rest.is_empty() {
                pieces.push(Piece::Text(rest));
            }
            break;
        };
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        pieces.push(if token == TS {
            Piece::Timestamp
        } else {
            Piece::Body
        });
        rest = &rest[at + token.len()..];
    }
    let bodies = pieces.iter().filter(|p| **p == Piece::Body).count();
    (bodies == 1).then_some(pieces)
}

fn keyed_mac<M: Mac + KeyInit>(
    key: &[u8],
    pieces: &[Piece<'_>],
    ts: &str,
    body: &[u8],
) -> Option<M> {
    let mut mac = <M as KeyInit>::new_from_slice(key).ok()?;
    for piece in pieces {
        match piece {
            Piece::Text(text) => mac.update(text.as_bytes()),
            Piece::Timestamp => mac.update(ts.as_bytes()),
            Piece::Body => mac.update(body),
        }
    }
    Some(mac)
}

impl HmacAlgorithm {
    /// Constant-time check of `signature` (decoded bytes) over the payload.
    pub(crate) fn verify(
        self,
        key: &[u8],
        pieces: &[Piece<'_>],
        ts: &str,
        body: &[u8],
        signature: &[u8],
    ) -> bool {
        match self {
            Self::Sha256 => keyed_mac::<Hmac<Sha256>>(key, pieces, ts, body)
                .is_some_and(|mac| mac.verify_slice(signature).is_ok()),
            Self::Sha512 => keyed_mac::<Hmac<Sha512>>(key, pieces, ts, body)
                .is_some_and(|mac| mac.verify_slice(signature).is_ok()),
            Self::Sha1 => keyed_mac::<Hmac<sha1::Sha1>>(key, pieces, ts, body)
                .is_some_and(|mac| mac.verify_slice(signature).is_ok()),
        }
    }

    pub(crate) fn compute(
        self,
        key: &[u8],
        pieces: &[Piece<'_>],
        ts: &str,
        body: &[u8],
    ) -> Vec<u8> {
        let bytes = match self {
            Self::Sha256 => keyed_mac::<Hmac<Sha256>>(key, pieces, ts, body)
                .map(|mac| mac.finalize().into_bytes().to_vec()),
            Self::Sha512 => keyed_mac::<Hmac<Sha512>>(key, pieces, ts, body)
                .map(|mac| mac.finalize().into_bytes().to_vec()),
            Self::Sha1 => keyed_mac::<Hmac<sha1::Sha1>>(key, pieces, ts, body)
                .map(|mac| mac.finalize().into_bytes().to_vec()),
        };
        bytes.unwrap_or_default()
    }
}

/// A unix timestamp in seconds from seconds or milliseconds (above 1e12), integer or decimal.
pub(crate) fn parse_unix_secs(text: &str) -> Option<i64> {
    const MS_THRESHOLD: f64 = 1e12;
    if let Ok(v) = text.parse::<i64>() {
        return Some(if v.unsigned_abs() > 1_000_000_000_000 {
            v / 1000
        } else {
            v
        });
    }
    let v = text.parse::<f64>().ok().filter(|v| v.is_finite())?;
    let secs = if v.abs() > MS_THRESHOLD { v / 1e3 } else { v };
    (secs.abs() < 9.0e18).then(|| secs.floor() as i64)
}
