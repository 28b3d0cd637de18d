use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;

use super::*;

pub(super) const NOW: i64 = 1_763_716_464;
pub(super) const BODY: &[u8] = br#"{"message":{"type":"hang","call":{"id":"c1"}}}"#;

pub(super) fn config(v: serde_json::Value) -> WebhookAuth {
    serde_json::from_value(v).expect("config")
}

pub(super) fn headers(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    map
}

pub(super) fn h(pairs: &[(&str, &str)]) -> HeaderMap {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    headers(&owned)
}

pub(super) fn hmac(extra: serde_json::Value) -> WebhookAuth {
    let mut v = json!({"mode": "hmac", "secret": "s3cr3t"});
    v.as_object_mut()
        .expect("obj")
        .extend(extra.as_object().expect("obj").clone());
    config(v)
}

pub(super) fn kind(r: Result<(), AuthError>) -> &'static str {
    r.map_or_else(|e| e.kind(), |()| "ok")
}

#[test]
fn minimal_configs_get_defaults() {
    let WebhookAuth::Bearer { header, prefix, .. } =
        config(json!({"mode": "bearer", "token": "t"}))
    else {
        panic!("bearer")
    };
    assert_eq!(
        (header.as_str(), prefix.as_str()),
        ("authorization", "Bearer ")
    );
    let WebhookAuth::Hmac {
        algorithm,
        encoding,
        signature_header,
        timestamp_header,
        payload_format,
        signature_prefix,
        tolerance_secs,
        ..
    } = hmac(json!({}))
    else {
        panic!("hmac")
    };
    assert_eq!(
        (algorithm, encoding),
        (HmacAlgorithm::Sha256, SigEncoding::Hex)
    );
    assert_eq!(
        (signature_header.as_str(), timestamp_header.as_str()),
        ("x-signature", "x-timestamp")
    );
    assert_eq!(
        (payload_format.as_str(), signature_prefix.as_str()),
        ("{timestamp}.{body}", "")
    );
    assert_eq!(tolerance_secs, 300);
    let WebhookAuth::LegacySecret { header, .. } =
        config(json!({"mode": "legacy_secret", "secret": "x"}))
    else {
        panic!("legacy")
    };
    assert_eq!(header, "x-vapi-secret");
    assert_eq!(config(json!({"mode": "none"})).mode_name(), "none");
    assert_eq!(
        hmac(json!({"algorithm": "sha512", "encoding": "base64"})).mode_name(),
        "hmac"
    );
}

#[test]
fn bad_configs_are_rejected() {
    let typo = serde_json::from_value::<WebhookAuth>(
        json!({"mode": "hmac", "secret": "s", "tolerance": 5}),
    );
    assert!(typo.is_err());
    assert!(serde_json::from_value::<WebhookAuth>(json!({"mode": "bearer"})).is_err());
    assert!(serde_json::from_value::<WebhookAuth>(json!({"mode": "magic"})).is_err());
    assert!(
        config(json!({"mode": "bearer", "token": ""}))
            .validate()
            .is_err()
    );
    assert!(
        hmac(json!({"payload_format": "{timestamp}"}))
            .validate()
            .is_err()
    );
    assert!(
        hmac(json!({"payload_format": "{body}{body}"}))
            .validate()
            .is_err()
    );
    assert!(
        hmac(json!({"signature_header": "bad header"}))
            .validate()
            .is_err()
    );
    assert!(
        config(json!({"mode": "legacy_secret", "secret": ""}))
            .validate()
            .is_err()
    );
    assert!(hmac(json!({})).validate().is_ok());
    assert!(config(json!({"mode": "none"})).validate().is_ok());
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let auth = config(json!({"mode": "bearer", "token": "tok-123"}));
    assert!(!format!("{auth:?}").contains("tok-123"));
    let e = auth
        .verify(&h(&[("authorization", "Bearer nope")]), BODY, NOW)
        .expect_err("bad");
    assert!(!e.to_string().contains("tok-123") && !e.to_string().contains("nope"));
    assert!(!format!("{:?}", hmac(json!({}))).contains("s3cr3t"));
}

#[test]
fn none_accepts_everything() {
    assert_eq!(
        kind(config(json!({"mode": "none"})).verify(&HeaderMap::new(), BODY, NOW)),
        "ok"
    );
}

#[test]
fn bearer_modes() {
    let auth = config(json!({"mode": "bearer", "token": "tok-123"}));
    let ok = |v: &str| kind(auth.verify(&h(&[("authorization", v)]), BODY, NOW));
    assert_eq!(ok("Bearer tok-123"), "ok");
    assert_eq!(ok("bearer   tok-123 "), "ok");
    assert_eq!(ok("Bearer tok-124"), "invalid");
    assert_eq!(ok("Bearer tok-12"), "invalid");
    assert_eq!(ok("Bearer "), "missing");
    assert_eq!(ok("Basic dG9rLTEyMw=="), "malformed");
    assert_eq!(ok("tok-123"), "malformed");
    assert_eq!(kind(auth.verify(&HeaderMap::new(), BODY, NOW)), "missing");
    let twice = h(&[
        ("authorization", "Bearer tok-123"),
        ("authorization", "Bearer x"),
    ]);
    assert_eq!(kind(auth.verify(&twice, BODY, NOW)), "malformed");
    assert_eq!(
        kind(auth.verify(&headers(&auth.sign(BODY, NOW)), BODY, NOW)),
        "ok"
    );

    let custom =
        config(json!({"mode": "bearer", "token": "abc", "header": "x-api-key", "prefix": ""}));
    assert_eq!(
        kind(custom.verify(&h(&[("x-api-key", "abc")]), BODY, NOW)),
        "ok"
    );
    assert_eq!(
        kind(custom.verify(&h(&[("x-api-key", "Bearer abc")]), BODY, NOW)),
        "invalid"
    );
    assert_eq!(
        kind(custom.verify(&h(&[("authorization", "Bearer abc")]), BODY, NOW)),
        "missing"
    );

    let empty = config(json!({"mode": "bearer", "token": "", "prefix": ""}));
    assert_eq!(
        kind(empty.verify(&h(&[("authorization", "x")]), BODY, NOW)),
        "invalid"
    );
}

#[test]
fn legacy_secret_modes() {
    let auth = config(json!({"mode": "legacy_secret", "secret": "shh"}));
    assert_eq!(
        kind(auth.verify(&h(&[("x-vapi-secret", "shh")]), BODY, NOW)),
        "ok"
    );
    assert_eq!(
        kind(auth.verify(&h(&[("X-Vapi-Secret", "shh")]), BODY, NOW)),
        "ok"
    );
    assert_eq!(
        kind(auth.verify(&h(&[("x-vapi-secret", "shhh")]), BODY, NOW)),
        "invalid"
    );
    assert_eq!(
        kind(auth.verify(&h(&[("x-vapi-secret", "")]), BODY, NOW)),
        "missing"
    );
    assert_eq!(kind(auth.verify(&HeaderMap::new(), BODY, NOW)), "missing");
    assert_eq!(
        kind(auth.verify(&headers(&auth.sign(BODY, NOW)), BODY, NOW)),
        "ok"
    );
    let custom =
        config(json!({"mode": "legacy_secret", "secret": "shh", "header": "x-hook-secret"}));
    assert_eq!(
        kind(custom.verify(&h(&[("x-hook-secret", "shh")]), BODY, NOW)),
        "ok"
    );
}

#[test]
fn error_kinds_and_messages() {
    let cases = [
        (
            AuthError::Missing {
                header: "x-signature".into(),
            },
            "missing",
            "missing `x-signature` header",
        ),
        (
            AuthError::Invalid {
                header: "authorization".into(),
            },
            "invalid",
            "invalid credentials in `authorization` header",
        ),
        (
            AuthError::Stale {
                skew_secs: 400,
                tolerance_secs: 300,
            },
            "stale",
            "stale timestamp: 400s from now, tolerance is 300s",
        ),
        (
            AuthError::Malformed {
                header: "x-timestamp".into(),
                reason: "not a unix timestamp",
            },
            "malformed",
            "malformed `x-timestamp` header: not a unix timestamp",
        ),
    ];
    for (e, k, text) in cases {
        assert_eq!((e.kind(), e.to_string().as_str()), (k, text));
    }
}
