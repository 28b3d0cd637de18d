//! The admin API through HTTP (issue 6): authentication, validation, tenant CRUD taking effect
//! on the next call, idempotent top-ups and the ledger, call detail with the live workflow
//! state, the OpenAPI document covering every route, and `seed --file`.

use crate::helpers::{Engine, TestApp, engines, new_call_id, sample, spawn_app, spawn_app_with};
use callsaga_api::seed::{DEMO_ASSISTANT_ID, DEMO_PHONE_NUMBER_ID, DEMO_USER_EMAIL};
use callsaga_entity::{agents, calls, credit_ledger, users};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn natural_keys_are_unique_and_duplicates_are_409() {
    let app = admin_app(Engine::Sqlite).await;
    let user = demo_user_id(&app).await;
    let agent = demo_agent_id(&app).await;
    let conflicts = [
        (
            "/admin/v1/agents",
            agent_body(&user, DEMO_ASSISTANT_ID),
            "vapi_assistant_id",
        ),
        (
            "/admin/v1/users",
            json!({"email": DEMO_USER_EMAIL.to_uppercase(), "name": "Twin"}),
            "email",
        ),
        (
            "/admin/v1/phone-numbers",
            json!({"vapi_phone_number_id": DEMO_PHONE_NUMBER_ID, "agent_id": agent, "number": "+4930111222333"}),
            "vapi_phone_number_id",
        ),
        (
            "/admin/v1/escalation-configs",
            json!({"agent_id": agent}),
            "already has an escalation config",
        ),
    ];
    for (path, body, reason) in conflicts {
        let (status, answer) = post(&app, path, body).await;
        assert_eq!(status, 409, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "conflict");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{answer}"
        );
    }
    // Taking another agent's assistant id by update is a conflict too.
    let (status, other) = post(
        &app,
        "/admin/v1/agents",
        agent_body(&user, "second-assistant"),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    let (status, answer) = patch(
        &app,
        &format!("/admin/v1/agents/{}", other["id"].as_str().unwrap()),
        json!({"vapi_assistant_id": DEMO_ASSISTANT_ID}),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_configuration_round_trips() {
    for engine in engines().await {
        let app = admin_app(engine).await;
        let (status, user) = post(&app, "/admin/v1/users", json!({"email": " Owner@Night.Example ", "name": "Night Owner", "timezone": "Europe/Berlin"})).await;
        assert_eq!(status, 201, "{engine:?} {user}");
        assert_eq!(user["email"], "owner@night.example");
        assert_eq!(
            (user["credit_balance"].as_i64(), user["locale"].as_str()),
            (Some(0), Some("en"))
        );
        let user_id = user["id"].as_str().unwrap().to_owned();

        let (status, agent) = post(
            &app,
            "/admin/v1/agents",
            agent_body(&user_id, "night-assistant"),
        )
        .await;
        assert_eq!(status, 201, "{engine:?} {agent}");
        assert_eq!(
            agent["calendar_config"]["password"], "********",
            "secrets are never returned"
        );
        assert_eq!(agent["calendar_config"]["username"], "u");
        let agent_id = agent["id"].as_str().unwrap().to_owned();
        let (_, read) = get(&app, &format!("/admin/v1/agents/{agent_id}")).await;
        assert_eq!(read, agent);
        assert!(!read.to_string().contains("s3cret"));

        // Sending the masked config back keeps the stored password; null clears the voice.
        let (status, updated) = patch(
            &app,
            &format!("/admin/v1/agents/{agent_id}"),
            json!({
                "greeting": "Night Dental, good evening!",
                "calendar_config": read["calendar_config"].clone(),
                "voice": null,
            }),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["greeting"], "Night Dental, good evening!");
        assert_eq!(updated["voice"], Value::Null);
        assert_eq!(
            updated["appointment_duration_minutes"], 45,
            "untouched fields stay"
        );
        let row = agents::Entity::find_by_id(agent_id.parse::<uuid::Uuid>().unwrap())
            .one(&app.app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.calendar_config.unwrap()["password"], "s3cret");

        let (status, phone) = post(&app, "/admin/v1/phone-numbers", json!({"vapi_phone_number_id": "night-phone", "agent_id": agent_id, "number": "+4930999888777"})).await;
        assert_eq!(status, 201, "{phone}");
        let (status, esc) = post(&app, "/admin/v1/escalation-configs", json!({"agent_id": agent_id, "forwarding_numbers": ["+4930999888700"], "operator_email": "Ops@Night.Example"})).await;
        assert_eq!(status, 201, "{esc}");
        assert_eq!(
            (esc["enabled"].as_bool(), esc["transfer_mode"].as_str()),
            (Some(true), Some("warm"))
        );
        assert_eq!(esc["operator_email"], "ops@night.example");

        let (_, listed) = get(&app, &format!("/admin/v1/agents?user_id={user_id}")).await;
        assert_eq!(listed["agents"].as_array().unwrap().len(), 1, "{listed}");
        let (_, listed) = get(
            &app,
            &format!("/admin/v1/phone-numbers?agent_id={agent_id}"),
        )
        .await;
        assert_eq!(listed["phone_numbers"][0]["number"], "+4930999888777");
        let (_, listed) = get(
            &app,
            &format!("/admin/v1/escalation-configs?agent_id={agent_id}"),
        )
        .await;
        assert_eq!(listed["escalation_configs"][0]["id"], esc["id"]);

        // Deactivate each; lists filter on it; deactivating twice is fine.
        for (path, flag) in [
            (format!("/admin/v1/users/{user_id}"), "active"),
            (format!("/admin/v1/agents/{agent_id}"), "active"),
            (
                format!("/admin/v1/phone-numbers/{}", phone["id"].as_str().unwrap()),
                "active",
            ),
            (
                format!(
                    "/admin/v1/escalation-configs/{}",
                    esc["id"].as_str().unwrap()
                ),
                "enabled",
            ),
        ] {
            for _ in 0..2 {
                let (status, body) = post(&app, &format!("{path}/deactivate"), json!({})).await;
                assert_eq!(
                    (status, body[flag].as_bool()),
                    (200, Some(false)),
                    "{path}: {body}"
                );
            }
            let (_, body) = get(&app, &path).await;
            assert_eq!(body[flag], false);
        }
        let (_, inactive) = get(&app, "/admin/v1/agents?active=false").await;
        assert_eq!(inactive["agents"].as_array().unwrap().len(), 1);
        let (_, active) = get(&app, "/admin/v1/agents?active=true").await;
        assert_eq!(active["agents"][0]["vapi_assistant_id"], DEMO_ASSISTANT_ID);

        // Pagination: two users, one per page.
        let (_, first) = get(&app, "/admin/v1/users?limit=1").await;
        let cursor = first["next_cursor"]
            .as_str()
            .expect("a second page")
            .to_owned();
        let (_, second) = get(&app, &format!("/admin/v1/users?limit=1&cursor={cursor}")).await;
        assert_eq!(second["users"][0]["id"], user_id.as_str());
        assert_eq!(second["next_cursor"], Value::Null);
        app.shutdown().await;
    }
}

async fn assistant_request(app: &TestApp) -> Value {
    let resp = app
        .post_webhook(&sample("inbound-no-assistant-id.json", &new_call_id()))
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_changes_apply_to_the_next_call_without_a_restart() {
    let app = admin_app(Engine::Sqlite).await;
    let agent = demo_agent_id(&app).await;
    assert!(assistant_request(&app).await["assistant"].is_object());

    let (status, _) = post(
        &app,
        &format!("/admin/v1/agents/{agent}/deactivate"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let answer = assistant_request(&app).await;
    assert!(
        answer["error"].as_str().unwrap().contains("not set up"),
        "{answer}"
    );

    let (status, _) = patch(
        &app,
        &format!("/admin/v1/agents/{agent}"),
        json!({"active": true, "greeting": "Back again!"}),
    )
    .await;
    assert_eq!(status, 200);
    let answer = assistant_request(&app).await;
    assert_eq!(
        answer["assistant"]["firstMessage"], "Back again!",
        "{answer}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_ups_are_idempotent_and_the_ledger_keeps_a_running_balance() {
    for engine in engines().await {
        let app = admin_app(engine).await;
        let user = demo_user_id(&app).await;
        let credits = format!("/admin/v1/users/{user}/credits");
        let (s1, first) = post(
            &app,
            &credits,
            json!({"amount": 100, "idempotency_key": "pay-1", "note": "card"}),
        )
        .await;
        let (s2, again) = post(
            &app,
            &credits,
            json!({"amount": 100, "idempotency_key": "pay-1", "note": "card"}),
        )
        .await;
        assert_eq!((s1, s2), (200, 200), "{first} {again}");
        assert_eq!(first["entry_id"], again["entry_id"], "{engine:?}");
        assert_eq!(first["balance_after"], again["balance_after"]);
        assert_eq!(
            (first["duplicate"].as_bool(), again["duplicate"].as_bool()),
            (Some(false), Some(true))
        );
        let (status, answer) = post(
            &app,
            &credits,
            json!({"amount": 5, "idempotency_key": "pay-1"}),
        )
        .await;
        assert_eq!(status, 409, "same key, other amount: {answer}");
        let (status, _) = post(
            &app,
            &credits,
            json!({"amount": 50, "idempotency_key": "pay-2"}),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = post(
            &app,
            &format!("/admin/v1/users/{}/credits", uuid::Uuid::nil()),
            json!({"amount": 5, "idempotency_key": "k"}),
        )
        .await;
        assert_eq!(status, 404);

        let user_id: uuid::Uuid = user.parse().unwrap();
        let rows = credit_ledger::Entity::find()
            .filter(credit_ledger::Column::UserId.eq(user_id))
            .count(&app.app.state.db)
            .await
            .unwrap();
        assert_eq!(rows, 2, "{engine:?}: one entry per key");

        let (status, ledger) = get(&app, &format!("/admin/v1/users/{user}/ledger")).await;
        assert_eq!(status, 200, "{ledger}");
        let start = callsaga_api::seed::DEMO_CREDITS;
        let running: Vec<(i64, i64)> = ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["amount"].as_i64().unwrap(),
                    e["balance_after"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            running,
            vec![(100, start + 100), (50, start + 150)],
            "{engine:?}"
        );
        assert_eq!(ledger["balance"], start + 150);
        assert_eq!(ledger["entries"][0]["note"], "card");

        let (_, page) = get(&app, &format!("/admin/v1/users/{user}/ledger?limit=1")).await;
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        let (_, page2) = get(
            &app,
            &format!("/admin/v1/users/{user}/ledger?limit=1&cursor={cursor}"),
        )
        .await;
        assert_eq!(page2["entries"][0]["amount"], 50);
        assert_eq!(page2["next_cursor"], Value::Null);
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_detail_shows_the_row_and_the_live_workflow_state() {
    for engine in engines().await {
        let app = admin_app(engine).await;
        let (older, newer) = (new_call_id(), new_call_id());
        for call_id in [&older, &newer] {
            for name in [
                "inbound-ringing.json",
                "inbound-in-progress.json",
                "customer-ended-call.json",
            ] {
                let resp = app.post_webhook(&sample(name, call_id)).await;
                assert_eq!(resp.status(), 200, "{name}");
            }
            app.call_result(call_id).await;
        }

        let (status, detail) = get(&app, &format!("/admin/v1/calls/{newer}")).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["call"]["vapi_call_id"], newer.as_str());
        assert_eq!(detail["call"]["status"], "ended");
        assert!(detail["call"]["transcript"].is_string());
        let workflow = &detail["workflow"];
        assert_eq!(workflow["status"], "ended", "{engine:?}: {detail}");
        assert_eq!(workflow["report_applied"], true);
        assert_eq!(workflow["vapi_call_id"], newer.as_str());
        assert_eq!(
            detail["temporal_ui_url"],
            format!("http://localhost:8233/namespaces/default/workflows/call-{newer}")
        );

        // Newest first; filters; pagination.
        let agent = demo_agent_id(&app).await;
        let (_, list) = get(
            &app,
            &format!("/admin/v1/calls?status=ended&agent_id={agent}"),
        )
        .await;
        let ids: Vec<&str> = list["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["vapi_call_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![newer.as_str(), older.as_str()], "{engine:?}");
        assert!(
            list["calls"][0].get("transcript").is_none(),
            "lists stay small"
        );
        let (_, page) = get(&app, "/admin/v1/calls?limit=1").await;
        assert_eq!(page["calls"][0]["vapi_call_id"], newer.as_str());
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        let (_, page) = get(&app, &format!("/admin/v1/calls?limit=1&cursor={cursor}")).await;
        assert_eq!(page["calls"][0]["vapi_call_id"], older.as_str());
        assert_eq!(page["next_cursor"], Value::Null);
        let (_, none) = get(&app, "/admin/v1/calls?status=ringing").await;
        assert_eq!(none["calls"], json!([]));
        let (_, future) = get(&app, "/admin/v1/calls?from=2999-01-01T00:00:00Z").await;
        assert_eq!(future["calls"], json!([]));
        let (_, past) = get(&app, "/admin/v1/calls?to=2000-01-01T00:00:00Z").await;
        assert_eq!(past["calls"], json!([]));

        // A row whose workflow is gone: the row, `workflow: null` and why.
        let orphan = new_call_id();
        let mut row = app.call_row(&older).await;
        row.id = uuid::Uuid::now_v7();
        row.vapi_call_id = orphan.clone();
        row.workflow_id = format!("call-{orphan}");
        use sea_orm::{ActiveModelTrait, IntoActiveModel};
        calls::Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(&app.app.state.db)
            .await
            .unwrap();
        let (status, detail) = get(&app, &format!("/admin/v1/calls/{orphan}")).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["workflow"], Value::Null);
        assert!(
            detail["workflow_unavailable"]
                .as_str()
                .unwrap()
                .contains("not found"),
            "{detail}"
        );
        let (status, _) = get(&app, "/admin/v1/calls/no-such-call").await;
        assert_eq!(status, 404);
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route() {
    let app = admin_app(Engine::Sqlite).await;
    let resp = app
        .http
        .get(format!("{}/openapi.json", app.app.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "served without the admin token");
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeMap<String, BTreeSet<String>> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect();

    // axum has no route listing, but its Debug output names every path of the router.
    let router = format!("{:?}", callsaga_api::router(app.app.state.clone()));
    // Only the path router's part: the fallback router holds axum's own catch-all paths.
    let start = router
        .find("path_router")
        .expect("Router debug output names path_router");
    let end = router.find("fallback_router").unwrap_or(router.len());
    let routed: BTreeSet<String> = router[start..end]
        .split('"')
        .filter(|s| s.starts_with('/'))
        .map(str::to_owned)
        .collect();
    for expected in [
        "/webhooks/vapi",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/admin/v1/calls/{vapi_call_id}",
    ] {
        assert!(
            routed.contains(expected),
            "{expected} in the router's paths {routed:?}"
        );
    }
    for path in &routed {
        let methods = documented
            .get(path)
            .unwrap_or_else(|| panic!("{path} is routed but not documented"));
        // Each method is routed exactly when it is documented (axum answers 405 otherwise).
        let concrete = path
            .replace("{vapi_call_id}", "nope")
            .replace("{id}", &uuid::Uuid::nil().to_string());
        for method in METHODS {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = app
                .http
                .request(m, format!("{}{concrete}", app.app.base_url()))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            let routed_method = resp.status() != 405;
            assert_eq!(
                routed_method,
                methods.contains(*method),
                "{method} {path}: {}",
                resp.status()
            );
            assert!(
                resp.status().as_u16() < 500 || path == "/readyz",
                "{method} {path}: {}",
                resp.status()
            );
        }
    }
    assert_eq!(
        documented.keys().cloned().collect::<BTreeSet<_>>(),
        routed,
        "nothing documented that is not routed"
    );
    assert!(doc["components"]["securitySchemes"]["admin_token"].is_object());
    for schema in [
        "AgentInput",
        "AgentOut",
        "ErrorBody",
        "TopUpInput",
        "CallDetail",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    app.shutdown().await;
}

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

fn example_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tenants.example.yaml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_file_is_idempotent_and_validated() {
    for engine in engines().await {
        let app = admin_app(engine).await;
        let db = &app.app.state.db;
        let first = callsaga_api::seed::from_file(db, &example_file())
            .await
            .expect("example loads");
        // 2 users, 2 agents, 2 phone numbers, 2 escalation configs.
        assert_eq!(
            (
                first.created,
                first.updated,
                first.unchanged,
                first.credits_granted
            ),
            (8, 0, 0, 2),
            "{engine:?}"
        );
        let again = callsaga_api::seed::from_file(db, &example_file())
            .await
            .expect("again");
        assert_eq!(
            (
                again.created,
                again.updated,
                again.unchanged,
                again.credits_granted
            ),
            (0, 0, 8, 0),
            "{engine:?}"
        );
        assert_eq!(
            users::Entity::find().count(db).await.unwrap(),
            3,
            "demo + 2"
        );
        assert_eq!(credit_ledger::Entity::find().count(db).await.unwrap(), 2);
        let owner = users::Entity::find()
            .filter(users::Column::Email.eq("owner@praxis-sonnenschein.example"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(owner.credit_balance, 5000);

        // The seeded agent answers its calls.
        let mut request = crate::helpers::sample_value("inbound-no-assistant-id.json");
        request["message"]["phoneNumber"]["assistantId"] =
            "3f6c2a10-8d4b-4c7e-9a51-0e2b7d9c4f11".into();
        request["message"]["call"]["phoneNumberId"] = "7a1d4e2b-5c3f-4b6a-8e9d-2f1c0b3a4d5e".into();
        let answer: Value = app
            .post_webhook(&serde_json::to_vec(&request).unwrap())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer["assistant"]["firstMessage"],
            "Zahnarztpraxis Sonnenschein, guten Tag! Wie kann ich Ihnen helfen?"
        );

        // An edit updates what it names.
        let edited = std::fs::read_to_string(example_file()).unwrap().replace(
            "appointment_duration_minutes: 60",
            "appointment_duration_minutes: 90",
        );
        let r = callsaga_api::seed::from_yaml(db, &edited).await.unwrap();
        assert_eq!((r.created, r.updated, r.unchanged), (0, 1, 7));

        // An invalid file names the field and changes nothing.
        let bad = "users:\n  - email: new@x.example\n    name: New\n  - email: other@x.example\n    name: Other\n    timezone: Mars/Base\n";
        let err = callsaga_api::seed::from_yaml(db, bad)
            .await
            .expect_err("invalid");
        assert!(format!("{err:#}").contains("users[1].timezone"), "{err:#}");
        let err = callsaga_api::seed::from_yaml(
            db,
            "users:\n  - email: a@b.example\n    name: A\n    agents:\n      - colour: blue\n",
        )
        .await
        .expect_err("invalid");
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
        assert_eq!(
            users::Entity::find().count(db).await.unwrap(),
            3,
            "nothing written"
        );
        app.shutdown().await;
    }
}
