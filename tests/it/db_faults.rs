//! What one request's bad data or a slow database does to its answer (issue 22, class 4): a value
//! the database refuses is a 4xx with a reason, never a 503 that Vapi retries forever; the
//! synchronous answers Vapi waits for (assistant-request, transfer-destination-request) come
//! within `webhook.answer_budget_ms` with a speakable error when the database is slow.

use crate::helpers::{
    Engine, engines, fresh_database_url, new_call_id, sample, sample_value, spawn_app_with,
};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "db-faults-admin-token";

/// A NUL character (valid JSON as `\u0000`) in a call id, and in a tenant's name through the
/// admin API: PostgreSQL cannot store NUL in text, which used to come back as a 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_database_refuses_get_a_4xx() {
    for engine in engines().await {
        let app = spawn_app_with(engine, json!({ "admin": { "token": TOKEN } })).await;
        let resp = app
            .post_webhook(&sample("inbound-ringing.json", "c\u{0}1"))
            .await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 400, "{engine:?}: {body}");

        let resp = app
            .http
            .post(format!("{}/admin/v1/users", app.app.base_url()))
            .bearer_auth(TOKEN)
            .json(&json!({ "email": "nul@example.com", "name": "Nu\u{0}l" }))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            (400..500).contains(&status),
            "{engine:?}: a NUL in a name is the request's fault, got {status}: {body}"
        );
        app.shutdown().await;
    }
}

/// PostgreSQL with the agents table locked by another transaction (a slow database, as a long
/// migration or a stuck lock would make it): assistant-request and transfer-destination-request
/// still answer, within their budget, with something speakable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_answers_keep_their_budget_when_the_database_is_slow() {
    if !engines().await.contains(&Engine::Postgres) {
        eprintln!("SKIPPED: PostgreSQL unreachable");
        return;
    }
    let url = fresh_database_url(Engine::Postgres).await;
    let app = spawn_app_with(
        Engine::Postgres,
        json!({ "database_url": url, "webhook": { "answer_budget_ms": 500 } }),
    )
    .await;
    let call = new_call_id();
    // The answer works while the database is fine.
    let resp = app
        .post_webhook(&serde_json::to_vec(&sample_value("inbound-no-assistant-id.json")).unwrap())
        .await;
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("assistant").is_some(), "{body}");

    let locker = sea_orm::Database::connect(&url).await.unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE agents, calls IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    for body in [
        serde_json::to_vec(&sample_value("inbound-no-assistant-id.json")).unwrap(),
        {
            let mut v = sample_value("inbound-ringing.json");
            v["message"]["type"] = "transfer-destination-request".into();
            v["message"]["call"]["id"] = call.clone().into();
            serde_json::to_vec(&v).unwrap()
        },
    ] {
        let started = Instant::now();
        let resp = app.post_webhook(&body).await;
        let took = started.elapsed();
        assert_eq!(resp.status(), 200);
        let answer: Value = resp.json().await.unwrap();
        assert!(
            answer["error"]
                .as_str()
                .is_some_and(|e| e.contains("sorry") || e.contains("Sorry")),
            "{answer}"
        );
        assert!(
            took < Duration::from_millis(1500),
            "answered after {took:?} (budget 500 ms)"
        );
    }
    txn.rollback().await.unwrap();
    app.shutdown().await;
}

/// SQLite commits are synced (`synchronous=FULL`, 2) on every pooled connection, so an
/// acknowledged event survives power loss; `normal` (1) only when asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acks_are_durable_across_power_loss() {
    use sea_orm::{DbBackend, Statement};
    for (overrides, expected) in [
        (json!({}), 2),
        (json!({ "sqlite_synchronous": "normal" }), 1),
    ] {
        let app = spawn_app_with(Engine::Sqlite, overrides).await;
        for _ in 0..8 {
            let row = app
                .app
                .state
                .db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA synchronous",
                ))
                .await
                .unwrap()
                .expect("a row");
            let level: i32 = row.try_get_by_index(0).unwrap();
            assert_eq!(level, expected);
        }
        app.shutdown().await;
    }
}
