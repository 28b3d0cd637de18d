//! Users, agents and their configuration: natural keys, round trips, changes taking effect
//! on the next call without a restart.

use super::{admin_app, agent_body, demo_agent_id, demo_user_id, get, patch, post};
use crate::helpers::{Engine, TestApp, engines, new_call_id, sample};
use callsaga_api::seed::{DEMO_ASSISTANT_ID, DEMO_PHONE_NUMBER_ID, DEMO_USER_EMAIL};
use callsaga_entity::agents;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

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
