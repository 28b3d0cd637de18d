//! The OpenAPI document covers every route; `seed --file` is idempotent and validated.

use super::{TOKEN, admin_app};
use crate::helpers::{Engine, engines};
use callsaga_entity::{credit_ledger, users};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route() {
    let app = admin_app(Engine::Sqlite).await;
    let doc: Value = serde_json::from_str(&super::openapi_json(&app).await).unwrap();
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
