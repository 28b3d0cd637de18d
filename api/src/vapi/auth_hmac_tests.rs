//! HMAC mode tests.

use axum::http::HeaderValue;
use serde_json::json;

use super::super::signature::{HmacAlgorithm, Piece, parse_unix_secs, payload_pieces};
use super::AuthError;
use super::tests::{BODY, NOW, config, h, headers, hmac, kind};

#[test]
fn hmac_known_answers() {
    // RFC 4231 / RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
    let data = b"what do ya want for nothing?";
    let cases = [
        (
            "sha256",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            "sha512",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
        ("sha1", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
    ];
    for (algorithm, expected) in cases {
        let auth = config(
            json!({"mode": "hmac", "secret": "Jefe", "algorithm": algorithm,
            "payload_format": "{body}"}),
        );
        assert_eq!(
            auth.sign(data, NOW),
            [("x-signature".to_owned(), expected.to_owned())]
        );
        let upper = expected.to_ascii_uppercase();
        assert_eq!(
            kind(auth.verify(&h(&[("x-signature", &upper)]), data, NOW)),
            "ok",
            "{algorithm}"
        );
    }
}

#[test]
fn hmac_every_algorithm_and_encoding() {
    for algorithm in ["sha256", "sha512", "sha1"] {
        for encoding in ["hex", "base64"] {
            let auth = hmac(json!({"algorithm": algorithm, "encoding": encoding}));
            let signed = auth.sign(BODY, NOW);
            assert_eq!(signed.len(), 2);
            let what = format!("{algorithm}/{encoding}");
            assert_eq!(
                kind(auth.verify(&headers(&signed), BODY, NOW)),
                "ok",
                "{what}"
            );
            assert_eq!(
                kind(auth.verify(&headers(&signed), b"{}", NOW)),
                "invalid",
                "{what}"
            );
            assert_eq!(
                kind(auth.verify(&headers(&signed[..1]), BODY, NOW)),
                "missing",
                "{what}"
            );
            assert_eq!(
                kind(auth.verify(&headers(&signed[1..]), BODY, NOW)),
                "missing",
                "{what}"
            );
            assert_eq!(
                kind(auth.verify(&headers(&signed), BODY, NOW + 301)),
                "stale",
                "{what}"
            );
            let other_key =
                hmac(json!({"algorithm": algorithm, "encoding": encoding, "secret": "nope"}));
            assert_eq!(
                kind(other_key.verify(&headers(&signed), BODY, NOW)),
                "invalid",
                "{what}"
            );
            let other_alg = if algorithm == "sha1" {
                "sha256"
            } else {
                "sha1"
            };
            let mismatch = hmac(json!({"algorithm": other_alg, "encoding": encoding}));
            assert_eq!(
                kind(mismatch.verify(&headers(&signed), BODY, NOW)),
                "invalid",
                "{what}"
            );
        }
    }
}

#[test]
fn hmac_base64_variants_decode() {
    let auth = hmac(json!({"encoding": "base64", "payload_format": "{body}", "algorithm": "sha1"}));
    let sig = auth.sign(BODY, NOW).remove(0).1;
    let url_no_pad = sig
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    assert_eq!(
        kind(auth.verify(&h(&[("x-signature", &url_no_pad)]), BODY, NOW)),
        "ok"
    );
    assert_eq!(
        kind(auth.verify(&h(&[("x-signature", "!!!")]), BODY, NOW)),
        "malformed"
    );
    let hex = hmac(json!({"payload_format": "{body}"}));
    assert_eq!(
        kind(hex.verify(&h(&[("x-signature", "zz")]), BODY, NOW)),
        "malformed"
    );
    assert_eq!(
        kind(hex.verify(&h(&[("x-signature", "abcd")]), BODY, NOW)),
        "invalid"
    );
}

#[test]
fn hmac_timestamps_seconds_millis_and_tolerance() {
    let auth = hmac(json!({"tolerance_secs": 60}));
    let sign_at = |ts: &str| {
        let pieces = payload_pieces("{timestamp}.{body}").expect("format");
        let mac = HmacAlgorithm::Sha256.compute(b"s3cr3t", &pieces, ts, BODY);
        h(&[("x-signature", &hex::encode(mac)), ("x-timestamp", ts)])
    };
    assert_eq!(kind(auth.verify(&sign_at("1763716464"), BODY, NOW)), "ok");
    assert_eq!(
        kind(auth.verify(&sign_at("1763716464718"), BODY, NOW)),
        "ok"
    );
    assert_eq!(kind(auth.verify(&sign_at("1763716404"), BODY, NOW)), "ok");
    assert_eq!(
        kind(auth.verify(&sign_at("1763716403"), BODY, NOW)),
        "stale"
    );
    assert_eq!(
        kind(auth.verify(&sign_at("1763716524999"), BODY, NOW)),
        "ok"
    );
    assert_eq!(
        kind(auth.verify(&sign_at("1763716525000"), BODY, NOW)),
        "stale"
    );
    assert_eq!(kind(auth.verify(&sign_at("1763716464.5"), BODY, NOW)), "ok");
    assert_eq!(
        kind(auth.verify(&sign_at("yesterday"), BODY, NOW)),
        "malformed"
    );
    let e = auth
        .verify(&sign_at("1763716000"), BODY, NOW)
        .expect_err("stale");
    assert_eq!(
        e,
        AuthError::Stale {
            skew_secs: 464,
            tolerance_secs: 60
        }
    );
    // A timestamp header that was not signed cannot be swapped in.
    let mut swapped = sign_at("1763716464");
    swapped.insert("x-timestamp", HeaderValue::from_static("1763716465"));
    assert_eq!(kind(auth.verify(&swapped, BODY, NOW)), "invalid");
}

#[test]
fn hmac_prefix_and_formats() {
    let auth = hmac(json!({"signature_prefix": "sha256="}));
    let signed = auth.sign(BODY, NOW);
    assert!(signed[0].1.starts_with("sha256="));
    assert_eq!(kind(auth.verify(&headers(&signed), BODY, NOW)), "ok");
    let upper = vec![
        (
            signed[0].0.clone(),
            signed[0].1.replace("sha256=", "SHA256="),
        ),
        signed[1].clone(),
    ];
    assert_eq!(kind(auth.verify(&headers(&upper), BODY, NOW)), "ok");
    let bare = vec![
        (
            signed[0].0.clone(),
            signed[0].1["sha256=".len()..].to_owned(),
        ),
        signed[1].clone(),
    ];
    assert_eq!(kind(auth.verify(&headers(&bare), BODY, NOW)), "ok");
    let no_prefix = hmac(json!({}));
    assert_eq!(
        kind(no_prefix.verify(&headers(&signed), BODY, NOW)),
        "malformed"
    );

    let body_only = hmac(json!({"payload_format": "{body}"}));
    let signed = body_only.sign(BODY, NOW);
    assert_eq!(signed.len(), 1, "no timestamp header when it is not signed");
    assert_eq!(
        kind(body_only.verify(&headers(&signed), BODY, NOW + 100_000)),
        "ok"
    );

    let custom = hmac(
        json!({"payload_format": "v0:{timestamp}:{body}", "signature_header": "x-vapi-signature",
        "timestamp_header": "x-vapi-timestamp"}),
    );
    let signed = custom.sign(BODY, NOW);
    assert_eq!(signed[1].0, "x-vapi-timestamp");
    assert_eq!(kind(custom.verify(&headers(&signed), BODY, NOW)), "ok");
    assert_eq!(
        kind(hmac(json!({})).verify(&headers(&signed), BODY, NOW)),
        "missing"
    );

    let broken = hmac(json!({"payload_format": "{timestamp}"}));
    assert_eq!(kind(broken.verify(&headers(&signed), BODY, NOW)), "invalid");
    assert!(broken.sign(BODY, NOW).is_empty());
}

#[test]
fn payload_pieces_split() {
    assert_eq!(
        payload_pieces("v0:{timestamp}:{body}!"),
        Some(vec![
            Piece::Text("v0:"),
            Piece::Timestamp,
            Piece::Text(":"),
            Piece::Body,
            Piece::Text("!")
        ])
    );
    assert_eq!(payload_pieces("{body}"), Some(vec![Piece::Body]));
    assert_eq!(payload_pieces("{timestamp}"), None);
    assert_eq!(parse_unix_secs("1763716464718"), Some(1_763_716_464));
    assert_eq!(parse_unix_secs("1763716464"), Some(1_763_716_464));
    assert_eq!(parse_unix_secs("nan"), None);
}
