//! Every bad input to the admin API is a 4xx that names the field.

use super::{TOKEN, admin_app, agent_body, demo_agent_id, demo_user_id, get, patch, post};
use crate::helpers::Engine;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_a_4xx_that_names_the_field() {
    let app = admin_app(Engine::Sqlite).await;
    let user = demo_user_id(&app).await;
    let agent = demo_agent_id(&app).await;
    let good = agent_body(&user, "new-assistant");
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let credits = format!("/admin/v1/users/{user}/credits");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/admin/v1/agents",
            with("timezone", json!("Mars/Base")),
            "timezone",
        ),
        (
            "/admin/v1/agents",
            with("business_hours", json!({"mon": [["17:00", "09:00"]]})),
            "business_hours",
        ),
        (
            "/admin/v1/agents",
            with("business_hours", json!({"someday": []})),
            "business_hours",
        ),
        (
            "/admin/v1/agents",
            with("appointment_duration_minutes", json!(4)),
            "appointment_duration_minutes",
        ),
        (
            "/admin/v1/agents",
            with("appointment_duration_minutes", json!(481)),
            "appointment_duration_minutes",
        ),
        (
            "/admin/v1/agents",
            with("appointment_duration_minutes", json!("thirty")),
            "appointment_duration_minutes",
        ),
        (
            "/admin/v1/agents",
            with("calendar_provider", json!("google")),
            "calendar_provider",
        ),
        (
            "/admin/v1/agents",
            with("calendar_config", Value::Null),
            "calendar_config",
        ),
        (
            "/admin/v1/agents",
            with("calendar_config", json!({"url": "ftp://x.example/"})),
            "calendar_config.url",
        ),
        (
            "/admin/v1/agents",
            with("calendar_config", json!({"url": "not a url"})),
            "calendar_config.url",
        ),
        (
            "/admin/v1/agents",
            with("language", json!("english")),
            "language",
        ),
        (
            "/admin/v1/agents",
            with("user_id", json!(uuid::Uuid::nil())),
            "user_id",
        ),
        (
            "/admin/v1/agents",
            with("user_id", json!("not-a-uuid")),
            "user_id",
        ),
        ("/admin/v1/agents", with("voice", json!("Elliot")), "voice"),
        (
            "/admin/v1/agents",
            with("greeting", json!("   ")),
            "greeting",
        ),
        ("/admin/v1/agents", with("colour", json!("blue")), "colour"),
        (
            "/admin/v1/users",
            json!({"email": "not-an-email", "name": "X"}),
            "email",
        ),
        (
            "/admin/v1/users",
            json!({"email": "a@b.example", "name": "X", "locale": "english"}),
            "locale",
        ),
        (
            "/admin/v1/users",
            json!({"email": "a@b.example", "name": "X", "grace_credits_limit": -1}),
            "grace_credits_limit",
        ),
        ("/admin/v1/users", json!({"email": "a@b.example"}), "name"),
        (
            "/admin/v1/phone-numbers",
            json!({"vapi_phone_number_id": "p", "agent_id": agent, "number": "0301234567"}),
            "number",
        ),
        (
            "/admin/v1/phone-numbers",
            json!({"vapi_phone_number_id": "p", "agent_id": agent, "number": "+1234567"}),
            "number",
        ),
        (
            "/admin/v1/escalation-configs",
            json!({"agent_id": agent, "forwarding_numbers": ["+4930123456", "030"]}),
            "forwarding_numbers[1]",
        ),
        (
            "/admin/v1/escalation-configs",
            json!({"agent_id": agent, "transfer_mode": "carrier-pigeon"}),
            "transfer_mode",
        ),
        (
            "/admin/v1/escalation-configs",
            json!({"agent_id": agent, "operator_email": "ops"}),
            "operator_email",
        ),
        (
            "/admin/v1/escalation-configs",
            json!({"agent_id": agent, "timezone": "Europe/Nowhere"}),
            "timezone",
        ),
        (
            &credits,
            json!({"amount": 0, "idempotency_key": "k"}),
            "amount",
        ),
        (
            &credits,
            json!({"amount": 5, "idempotency_key": " "}),
            "idempotency_key",
        ),
        (&credits, json!({"amount": 5}), "idempotency_key"),
    ];
    for (path, body, field) in cases {
        let (status, answer) = post(&app, path, body.clone()).await;
        assert_eq!(status, 422, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(field),
            "{path}: {message:?} should name {field:?}"
        );
    }

    // PATCH validates the merged result the same way.
    let (status, answer) = patch(
        &app,
        &format!("/admin/v1/agents/{agent}"),
        json!({"timezone": "Mars/Base"}),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("timezone: ")
    );
    let (status, answer) = patch(
        &app,
        &format!("/admin/v1/agents/{agent}"),
        json!({"nope": 1}),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );

    // Query strings and paths.
    for (path, field) in [
        ("/admin/v1/calls?status=exploded", "status"),
        ("/admin/v1/calls?limit=0", "limit"),
        ("/admin/v1/calls?cursor=garbage", "cursor"),
        ("/admin/v1/calls?from=yesterday", "from"),
        ("/admin/v1/calls?agent_id=42", "agent_id"),
        ("/admin/v1/escalations?status=lost", "status"),
        ("/admin/v1/agents?active=maybe", "active"),
    ] {
        let (status, answer) = get(&app, path).await;
        assert_eq!(status, 422, "{path}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{answer}"
        );
    }
    let (status, answer) = get(&app, "/admin/v1/agents/not-a-uuid").await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`id`")
    );
    let (status, _) = get(&app, &format!("/admin/v1/agents/{}", uuid::Uuid::nil())).await;
    assert_eq!(status, 404);

    // Not JSON at all: 400 (syntax) or 415 (content type), in our format.
    let url = format!("{}/admin/v1/users", app.app.base_url());
    let resp = app
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{body}"
    );
    let resp = app
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .body("email=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    app.shutdown().await;
}
