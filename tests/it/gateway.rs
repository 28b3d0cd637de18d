//! The webhook door: bad input, authentication, limits, assistant-request (issue 3).

use crate::helpers::{Engine, TestApp, new_call_id, sample, sample_value, spawn_app_with};
use callsaga_api::vapi::WebhookAuth;
use serde_json::{Value, json};

async fn app_with(overrides: Value) -> TestApp {
    spawn_app_with(Engine::Sqlite, overrides).await
}

async fn post_raw(app: &TestApp, body: Vec<u8>, headers: &[(String, String)]) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/webhooks/vapi", app.app.base_url()))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_400_that_says_what_is_wrong() {
    let app = app_with(json!({})).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not json", b"{not json".to_vec(), "not valid JSON"),
        ("not an object", b"[1,2]".to_vec(), "object"),
        ("no message", br#"{"foo":1}"#.to_vec(), "`message`"),
        (
            "no type",
            br#"{"message":{"call":{"id":"x"}}}"#.to_vec(),
            "`message.type`",
        ),
        (
            "type not a string",
            br#"{"message":{"type":5}}"#.to_vec(),
            "string",
        ),
        (
            "status of wrong type",
            br#"{"message":{"type":"status-update","status":5,"call":{"id":"x"}}}"#.to_vec(),
            "message.status",
        ),
        (
            "missing call id",
            br#"{"message":{"type":"end-of-call-report"}}"#.to_vec(),
            "message.call.id",
        ),
    ];
    for (name, body, expected) in cases {
        let (status, body) = post_raw(&app, body, &[]).await;
        assert_eq!(status, 400, "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "{name}: {message:?} should mention {expected:?}"
        );
        assert_eq!(body["error"]["code"], "bad_request");
    }
    // Unknown types and unknown enum values are fine.
    let (status, _) = post_raw(
        &app,
        br#"{"message":{"type":"brand-new-type","call":{"id":"x"}}}"#.to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let mut v = sample_value("inbound-ended.json");
    v["message"]["endedReason"] = "some-reason-vapi-adds-next-year".into();
    v["message"]["call"]["id"] = new_call_id().into();
    let (status, _) = post_raw(&app, serde_json::to_vec(&v).unwrap(), &[]).await;
    assert_eq!(status, 200);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_reports_are_accepted_and_oversized_bodies_get_413() {
    let app = app_with(json!({ "webhook": { "body_limit_bytes": 12 * 1024 * 1024 } })).await;
    let call_id = new_call_id();
    let mut report = sample_value("customer-ended-call.json");
    report["message"]["call"]["id"] = call_id.clone().into();
    let long = "Caller: hello, I would like an appointment please. ".repeat(8 * 1024 * 1024 / 50);
    report["message"]["artifact"]["transcript"] = long.clone().into();
    let body = serde_json::to_vec(&report).unwrap();
    assert!(body.len() > 8 * 1024 * 1024);
    let (status, answer) = post_raw(&app, body, &[]).await;
    assert_eq!(status, 200, "{answer}");
    app.call_result(&call_id).await;
    assert_eq!(
        app.call_row(&call_id).await.transcript.map(|t| t.len()),
        Some(long.len())
    );

    let (status, answer) = post_raw(&app, vec![b' '; 13 * 1024 * 1024], &[]).await;
    assert_eq!(status, 413, "{answer}");
    app.shutdown().await;
}

fn auth(config: Value) -> WebhookAuth {
    serde_json::from_value(config).expect("auth config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth_mode_accepts_good_and_rejects_bad_and_stale() {
    let now = chrono::Utc::now().timestamp();
    let configs = [
        json!({ "mode": "bearer", "token": "tok-123" }),
        json!({ "mode": "bearer", "token": "tok-123", "header": "x-api-key", "prefix": "" }),
        json!({ "mode": "hmac", "secret": "hk-1" }),
        json!({ "mode": "hmac", "secret": "hk-1", "algorithm": "sha512", "encoding": "base64",
                "signature_prefix": "sha512=" }),
        json!({ "mode": "hmac", "secret": "hk-1", "algorithm": "sha1" }),
        json!({ "mode": "legacy_secret", "secret": "legacy-1" }),
    ];
    for config in configs {
        let app = app_with(json!({ "webhook": { "auth": config.clone() } })).await;
        let good = auth(config.clone());
        let body = sample("inbound-ringing.json", &new_call_id());

        let (status, _) = post_raw(&app, body.clone(), &good.sign(&body, now)).await;
        assert_eq!(status, 200, "good signature, {config}");

        let (status, answer) = post_raw(&app, body.clone(), &[]).await;
        assert_eq!(status, 401, "missing credentials, {config}");
        assert_eq!(
            answer["error"]["message"], "unauthorized",
            "no detail leaks"
        );

        let mut wrong = config.clone();
        for key in ["token", "secret"] {
            if wrong.get(key).is_some() {
                wrong[key] = "wrong".into();
            }
        }
        let (status, _) = post_raw(&app, body.clone(), &auth(wrong).sign(&body, now)).await;
        assert_eq!(status, 401, "wrong secret, {config}");

        if config["mode"] == "hmac" {
            // Signed over other bytes: the raw body is what is verified.
            let other = sample("inbound-ringing.json", &new_call_id());
            let (status, _) = post_raw(&app, body.clone(), &good.sign(&other, now)).await;
            assert_eq!(status, 401, "signature of other bytes, {config}");
            let (status, _) = post_raw(&app, body.clone(), &good.sign(&body, now - 301)).await;
            assert_eq!(status, 401, "stale timestamp, {config}");
            let (status, _) = post_raw(&app, body.clone(), &good.sign(&body, now - 250)).await;
            assert_eq!(status, 200, "inside the window, {config}");
        }
        let metrics = app.metrics().await;
        assert!(
            metrics.contains("callsaga_webhook_auth_failures_total"),
            "failures are counted"
        );
        assert!(!metrics.contains("tok-123") && !metrics.contains("hk-1"));
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_auth_refuses_to_start() {
    let settings = callsaga_api::Settings::from_overrides(json!({
        "database_url": crate::helpers::fresh_database_url(Engine::Sqlite).await,
        "listen": "127.0.0.1:0",
        "webhook": { "auth": { "mode": "bearer", "token": "" } },
    }))
    .unwrap();
    let err = callsaga_api::App::start(
        settings,
        callsaga_api::Components {
            api: true,
            worker: false,
            migrate: true,
        },
    )
    .await
    .err()
    .expect("empty token is rejected");
    assert!(err.to_string().contains("webhook.auth"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assistant_request_is_answered_from_the_database() {
    let app = app_with(json!({})).await;
    let started = std::time::Instant::now();
    let (status, answer) = post_raw(
        &app,
        sample("inbound-no-assistant-id.json", &new_call_id()),
        &[],
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    let assistant = &answer["assistant"];
    assert_eq!(
        assistant["firstMessage"],
        "Hello, Demo Dental Practice, how can I help you?"
    );
    let server_messages: Vec<&str> = assistant["serverMessages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        server_messages.contains(&"end-of-call-report"),
        "billing needs the report"
    );
    let tools: Vec<&str> = assistant["model"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    for t in [
        "check_availability",
        "book_appointment",
        "escalate_to_human",
        "check_operator_availability",
    ] {
        assert!(tools.contains(&t), "{t} in {tools:?}");
    }
    let prompt = assistant["model"]["messages"][0]["content"]
        .as_str()
        .unwrap();
    assert!(prompt.starts_with("Current date and time: "), "{prompt}");
    assert!(prompt.contains("(Europe/Berlin)"));
    assert!(elapsed.as_millis() < 1000, "answered in {elapsed:?}");

    // Without a calendar: escalation tools only.
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
    let agent = callsaga_entity::agents::Entity::find()
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: callsaga_entity::agents::ActiveModel = agent.into();
    active.calendar_provider = Set("none".into());
    active.language = Set("de".into());
    active.update(&app.app.state.db).await.unwrap();
    let (_, answer) = post_raw(
        &app,
        sample("inbound-no-assistant-id.json", &new_call_id()),
        &[],
    )
    .await;
    let tools = answer["assistant"]["model"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2, "{tools:?}");
    let prompt = answer["assistant"]["model"]["messages"][0]["content"]
        .as_str()
        .unwrap();
    assert!(
        prompt.starts_with("Aktuelles Datum und Uhrzeit: "),
        "{prompt}"
    );

    // Unknown agent: a speakable error, not a 404 that drops the call.
    let mut unknown = sample_value("inbound-no-assistant-id.json");
    unknown["message"]["phoneNumber"]["assistantId"] = "nobody".into();
    unknown["message"]["call"]["phoneNumberId"] = "nobody".into();
    let (status, answer) = post_raw(&app, serde_json::to_vec(&unknown).unwrap(), &[]).await;
    assert_eq!(status, 200);
    assert!(
        answer["error"].as_str().unwrap().contains("not set up"),
        "{answer}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noisy_source_gets_429() {
    let app =
        app_with(json!({ "webhook": { "rate_limit": { "per_second": 1.0, "burst": 3.0 } } })).await;
    let body = br#"{"message":{"type":"speech-update","status":"started","role":"user","call":{"id":"x"}}}"#;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(post_raw(&app, body.to_vec(), &[]).await.0);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    app.shutdown().await;
}
