//! The admin API through HTTP (issue 6): authentication (here), validation, tenant CRUD taking
//! effect on the next call, idempotent top-ups and the ledger, call detail with the live workflow
//! state, the OpenAPI document covering every route, and `seed --file`.

mod calls_and_credits;
mod openapi_and_seed;
mod openapi_contract;
mod tenants;
mod validation;

use crate::helpers::{Engine, TestApp, spawn_app, spawn_app_with};
use callsaga_api::seed::{DEMO_ASSISTANT_ID, DEMO_USER_EMAIL};
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "t0k";

async fn admin_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, json!({ "admin": { "token": TOKEN } })).await
}

/// Sends a request with the admin token; returns the status and the JSON body.
async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.app.base_url()))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `GET /openapi.json`, which needs no admin token.
async fn openapi_json(app: &TestApp) -> String {
    let resp = app
        .http
        .get(format!("{}/openapi.json", app.app.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "served without the admin token");
    resp.text().await.expect("body")
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    call(app, Method::GET, path, None).await
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    call(app, Method::POST, path, Some(body)).await
}

async fn patch(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    call(app, Method::PATCH, path, Some(body)).await
}

async fn demo_user_id(app: &TestApp) -> String {
    let (status, list) = get(app, &format!("/admin/v1/users?email={DEMO_USER_EMAIL}")).await;
    assert_eq!(status, 200, "{list}");
    list["users"][0]["id"]
        .as_str()
        .expect("demo user")
        .to_owned()
}

async fn demo_agent_id(app: &TestApp) -> String {
    let (status, list) = get(
        app,
        &format!("/admin/v1/agents?vapi_assistant_id={DEMO_ASSISTANT_ID}"),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    list["agents"][0]["id"]
        .as_str()
        .expect("demo agent")
        .to_owned()
}

fn agent_body(user_id: &str, assistant_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "name": "Night desk",
        "vapi_assistant_id": assistant_id,
        "business_name": "Night Dental",
        "greeting": "Night Dental, hello!",
        "system_prompt": "You are the night receptionist.",
        "voice": { "provider": "vapi", "voiceId": "Elliot" },
        "language": "de-DE",
        "timezone": "Europe/Berlin",
        "appointment_duration_minutes": 45,
        "business_hours": { "mon": [["09:00", "17:00"]], "sun": [] },
        "calendar_provider": "caldav",
        "calendar_config": { "url": "https://dav.example.com/cal/", "username": "u", "password": "s3cret" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_needs_its_token_and_is_absent_without_one() {
    let app = admin_app(Engine::Sqlite).await;
    let url = format!("{}/admin/v1/users", app.app.base_url());
    let cases: [(&str, Option<&str>); 5] = [
        ("no header", None),
        ("wrong token", Some("Bearer nope")),
        ("token as a prefix", Some("Bearer t0kk")),
        ("other scheme", Some("Basic dDBrOg==")),
        ("no scheme", Some(TOKEN)),
    ];
    for (name, header) in cases {
        let mut req = app.http.get(&url);
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{name}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "unauthorized", "message": "unauthorized"}})
        );
    }
    let resp = app
        .http
        .get(&url)
        .header("authorization", "bearer t0k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    app.shutdown().await;

    let app = spawn_app(Engine::Sqlite).await;
    let (status, body) = get(&app, "/admin/v1/users").await;
    assert_eq!(status, 404, "no admin.token: no admin API");
    assert_eq!(body["error"]["code"], "not_found");
    app.shutdown().await;
}
