//! Secure by default (issue 23, part 2): no unauthenticated webhook and no short admin token
//! beyond loopback unless the operator opts out, and a replayed HMAC request is refused.

use crate::helpers::{Engine, TestApp, new_call_id, sample, spawn_app_with, start_api_only};
use callsaga_api::App;
use callsaga_api::vapi::WebhookAuth;
use serde_json::{Value, json};

/// The API alone on a public address, with `overrides`.
async fn start(overrides: Value) -> anyhow::Result<App> {
    let mut settings = json!({ "listen": "0.0.0.0:0" });
    for (k, v) in overrides.as_object().expect("object") {
        settings[k] = v.clone();
    }
    start_api_only(settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_listener_needs_webhook_auth_and_a_long_admin_token() {
    let refused = start(json!({}))
        .await
        .err()
        .expect("auth none on 0.0.0.0 is refused");
    assert!(refused.to_string().contains("webhook.auth"), "{refused}");

    let opted_out = start(json!({ "webhook": { "allow_unauthenticated_public": true } }))
        .await
        .expect("the explicit opt-out starts");
    opted_out.shutdown().await.unwrap();

    let bearer = json!({ "mode": "bearer", "token": "vapi-token-123" });
    let refused = start(json!({ "webhook": { "auth": bearer }, "admin": { "token": "short" } }))
        .await
        .err()
        .expect("a 5-byte admin token on 0.0.0.0 is refused");
    assert!(refused.to_string().contains("admin token"), "{refused}");

    let long = "k".repeat(32);
    let ok = start(json!({ "webhook": { "auth": bearer }, "admin": { "token": long } }))
        .await
        .expect("webhook auth and a 32-byte admin token start");
    ok.shutdown().await.unwrap();
}

async fn post(app: &TestApp, body: &[u8], headers: &[(String, String)]) -> u16 {
    let mut req = app
        .http
        .post(format!("{}/webhooks/vapi", app.app.base_url()))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req.send().await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_hmac_request_is_refused() {
    let config = json!({ "mode": "hmac", "secret": "hk-replay" });
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "webhook": { "auth": config.clone() } }),
    )
    .await;
    let auth: WebhookAuth = serde_json::from_value(config).unwrap();
    let now = chrono::Utc::now().timestamp();
    let body = sample("inbound-ringing.json", &new_call_id());
    let signed = auth.sign(&body, now);
    assert_eq!(post(&app, &body, &signed).await, 200);
    assert_eq!(
        post(&app, &body, &signed).await,
        401,
        "the same signature again"
    );
    // Vapi's own retry is signed anew: accepted (and stored once).
    assert_eq!(post(&app, &body, &auth.sign(&body, now - 1)).await, 200);
    // A request we refused may be sent again (its claim was released).
    let bad = br#"{"message":{"type":"status-update","status":5,"call":{"id":"x"}}}"#;
    let signed_bad = auth.sign(bad, now);
    assert_eq!(post(&app, bad, &signed_bad).await, 400);
    assert_eq!(
        post(&app, bad, &signed_bad).await,
        400,
        "not 401: it never succeeded"
    );
    assert!(app.metrics().await.contains("reason=\"replayed\""));
    app.shutdown().await;
}
