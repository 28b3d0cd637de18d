//! The bodies of the fuzz targets in `fuzz/` (`cargo +nightly fuzz run <target>`): each takes
//! arbitrary bytes and runs them through the functions the server runs on a request, asserting
//! what must hold whatever the input. The corpus the fuzzer found is committed in
//! `fuzz/corpus/<target>/` and replayed through these same functions by this module's tests,
//! so `cargo test` on stable catches a regression.
//!
//! | target | what the server does with the bytes |
//! | --- | --- |
//! | `webhook_parse` | [`vapi::parse_with`] the body within the default [`RequestLimits`] |
//! | `auth_bearer`, `auth_legacy_secret`, `auth_hmac` | [`WebhookAuth::verify`] headers and body |
//! | `tool_arguments` | a `toolCallList` entry's `function.arguments` read as the tools read it |

use crate::vapi::{self, RequestLimits, ToolCall, VapiMessage, WebhookAuth};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use callsaga_activities::availability::{
    Language, argument_text, parse_date, parse_duration_minutes, parse_time, parse_time_of_day,
};
use chrono::NaiveDate;
use serde_json::{Value, json};

/// A fuzz target: the server's code on arbitrary bytes, panicking when a property fails.
pub type Target = fn(&[u8]);

/// The targets, by name (the `fuzz/fuzz_targets/<name>.rs` files and corpus folders).
pub const TARGETS: [(&str, Target); 5] = [
    ("webhook_parse", webhook_parse),
    ("auth_bearer", auth_bearer),
    ("auth_legacy_secret", auth_legacy_secret),
    ("auth_hmac", auth_hmac),
    ("tool_arguments", tool_arguments),
];

/// A webhook body as the handler parses it.
pub fn webhook_parse(data: &[u8]) {
    let limits = RequestLimits::default();
    let Ok(envelope) = vapi::parse_with(data, &limits) else {
        return;
    };
    if let VapiMessage::ToolCalls(calls) = &envelope.message {
        assert!(calls.tool_call_list.len() <= limits.max_tool_calls);
        for (i, call) in calls.tool_call_list.iter().enumerate() {
            assert!(vapi::validate_tool_call_id(i, &call.id).is_ok());
        }
    }
    if let Some(id) = envelope.call_id() {
        // Becomes the workflow id of a known message type.
        if !matches!(envelope.message, VapiMessage::Unknown { .. }) {
            assert!(vapi::validate_call_id(id).is_ok());
        }
    }
    // What is stored must be what the relay can read again, within the limits.
    let stored = envelope.stored_body.as_deref().unwrap_or(data);
    let again = vapi::parse(stored).expect("a stored body parses again");
    assert_eq!(again.message_type(), envelope.message_type());
    assert_eq!(again.call_id(), envelope.call_id());
    if envelope.stored_body.is_some() {
        let bounded = vapi::parse_with(stored, &limits).expect("the stored body is within limits");
        assert_eq!(bounded.dropped_messages, 0);
    }
}

/// Header names the targets may send: the configured ones, plus a stranger.
const HEADER_NAMES: [&str; 5] = [
    "authorization",
    "x-vapi-secret",
    "x-signature",
    "x-timestamp",
    "x-other",
];

/// Decodes `[count, (name index, length, value bytes)*, body...]` into headers and a body, so
/// the fuzzer can reach every header (and repeat one) with little input.
fn headers_and_body(data: &[u8]) -> (HeaderMap, &[u8]) {
    let mut headers = HeaderMap::new();
    let Some((&count, mut rest)) = data.split_first() else {
        return (headers, data);
    };
    for _ in 0..count % 5 {
        let [name, len, tail @ ..] = rest else {
            break;
        };
        let len = usize::from(*len).min(tail.len());
        let (value, tail) = tail.split_at(len);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            let name = HEADER_NAMES[usize::from(*name) % HEADER_NAMES.len()];
            headers.append(HeaderName::from_static(name), value);
        }
        rest = tail;
    }
    (headers, rest)
}

/// A fixed "now" (2023-11-14): the fuzzer supplies the timestamps.
const NOW: i64 = 1_700_000_000;

fn verify_and_round_trip(auth: &WebhookAuth, data: &[u8]) {
    let (headers, body) = headers_and_body(data);
    if auth.verify(&headers, body, NOW).is_ok() {
        // Success needs a credential header: no header means no access.
        assert!(!headers.is_empty());
    }
    // What `sign` produces for this body always verifies.
    let mut signed = HeaderMap::new();
    for (name, value) in auth.sign(body, NOW) {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("configured header name");
        let value = HeaderValue::from_str(&value).expect("signed header value");
        signed.append(name, value);
    }
    assert_eq!(auth.verify(&signed, body, NOW), Ok(()));
    let _ = auth.replay_window(&headers);
}

fn config(value: Value) -> WebhookAuth {
    serde_json::from_value(value).expect("fuzz auth config")
}

/// `Authorization: Bearer <token>`.
pub fn auth_bearer(data: &[u8]) {
    let auth = config(json!({"mode": "bearer", "token": "fuzz-token-0123456789"}));
    verify_and_round_trip(&auth, data);
}

/// `x-vapi-secret: <secret>`.
pub fn auth_legacy_secret(data: &[u8]) {
    let auth = config(json!({"mode": "legacy_secret", "secret": "fuzz-secret-0123456789"}));
    verify_and_round_trip(&auth, data);
}

/// HMAC; the first byte picks the algorithm, encoding, prefix and payload format.
pub fn auth_hmac(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let algorithm = ["sha256", "sha512", "sha1"][usize::from(pick % 3)];
    let encoding = ["hex", "base64"][usize::from(pick / 3 % 2)];
    let prefix = ["", "sha256="][usize::from(pick / 6 % 2)];
    let format =
        ["{timestamp}.{body}", "{body}", "v0:{timestamp}:{body}"][usize::from(pick / 12 % 3)];
    let auth = config(json!({
        "mode": "hmac", "secret": "fuzz-hmac-key", "algorithm": algorithm, "encoding": encoding,
        "signature_prefix": prefix, "payload_format": format, "tolerance_secs": 300,
    }));
    verify_and_round_trip(&auth, rest);
}

/// `function.arguments` (as a string, and as the JSON it may hold), read the way the tools
/// read them, and the text itself through each argument parser.
pub fn tool_arguments(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
    read_as_tools_do(&text, today);
    let mut forms = vec![Value::String(text.clone().into_owned())];
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        forms.push(value);
    }
    for arguments in forms {
        let raw = json!({
            "id": "call_1", "type": "function",
            "function": {"name": "book_appointment", "arguments": arguments},
        });
        let Ok(call) = serde_json::from_value::<ToolCall>(raw) else {
            continue;
        };
        if call.arguments_error.is_some() {
            assert!(call.arguments.is_empty());
        }
        let args = Value::Object(call.arguments);
        for key in args.as_object().into_iter().flat_map(|m| m.keys()) {
            if let Some(raw) = argument_text(&args, key) {
                assert_eq!(raw, raw.trim());
                read_as_tools_do(&raw, today);
            }
        }
    }
}

fn read_as_tools_do(raw: &str, today: NaiveDate) {
    let speak = |e: callsaga_activities::availability::ArgError| {
        for lang in [Language::En, Language::De] {
            assert!(!e.clarification(lang).is_empty());
        }
    };
    parse_date(raw, today).map(drop).unwrap_or_else(speak);
    parse_time(raw).map(drop).unwrap_or_else(speak);
    parse_time_of_day(raw).map(drop).unwrap_or_else(speak);
    match parse_duration_minutes(raw) {
        Ok(minutes) => assert!((5..=480).contains(&minutes), "{minutes}"),
        Err(e) => speak(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Every committed corpus file of every target, through the target's function.
    #[test]
    fn fuzz_corpus_replays_without_failures() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        for (name, target) in TARGETS {
            let dir = root.join(name);
            let mut files = 0;
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
                let path = entry.expect("corpus entry").path();
                let data = std::fs::read(&path).expect("corpus file");
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(outcome.is_ok(), "{name}: {path:?} fails");
                files += 1;
            }
            assert!(files > 0, "{name}: empty corpus in {dir:?}");
        }
    }
}
