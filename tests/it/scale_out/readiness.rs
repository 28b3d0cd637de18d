//! `/readyz` tells the truth: it fails when the database is gone, when Temporal has not
//! answered for longer than the threshold, or when this process's relay task died; `/healthz`
//! stays liveness only.

use super::postgres;
use crate::helpers::{Engine, fresh_database_url, spawn_app_with};
use callsaga_activities::faults::Fault;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn get(base: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("{base}{path}"))
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Polls `/readyz` until it is 503 with a problem containing `what`; returns the body.
async fn until_unready(base: &str, what: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = get(base, "/readyz").await;
        if status == 503
            && body["problems"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p.as_str().unwrap_or("").contains(what)))
        {
            return body;
        }
        assert!(
            started.elapsed() < within,
            "/readyz not unready for {what:?} within {within:?}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ready at first; the relay task panics (an injected fault) and `/readyz` says so while
/// `/healthz` stays 200; then the database is dropped and `/readyz` says that too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_when_the_relay_dies_or_the_database_is_gone() {
    if !postgres().await {
        return;
    }
    let url = fresh_database_url(Engine::Postgres).await;
    let app = spawn_app_with(Engine::Postgres, json!({ "database_url": url })).await;
    let base = app.app.base_url();
    assert_eq!(
        get(&base, "/readyz").await,
        (200, json!({ "status": "ready" }))
    );
    app.app.faults.fail("relay.pass", Fault::Permanent, 1);
    app.app.state.relay.notify();
    until_unready(&base, "relay task has stopped", Duration::from_secs(5)).await;
    assert_eq!(get(&base, "/healthz").await.0, 200);

    let name = url.rsplit('/').next().expect("database name").to_owned();
    let admin = sea_orm::Database::connect(url.replace(&name, "test"))
        .await
        .expect("admin connection");
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop database");
    until_unready(&base, "database unreachable", Duration::from_secs(10)).await;
    assert_eq!(get(&base, "/healthz").await.0, 200);
}

/// An API whose Temporal does not answer (nothing listens at its address) becomes unready
/// once the threshold has passed, with the reason; `/healthz` stays 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_once_temporal_has_been_unreachable_longer_than_the_threshold() {
    let port = callsaga_api::devserver::free_port().expect("port");
    let app = crate::helpers::start_api_only(json!({
        "listen": "127.0.0.1:0",
        "temporal": { "address": format!("http://127.0.0.1:{port}") },
        "readiness": { "temporal_probe_ms": 100, "temporal_unready_after_ms": 1000 },
    }))
    .await
    .expect("the API starts without Temporal");
    let base = app.base_url();
    let started = Instant::now();
    let body = until_unready(&base, "Temporal unreachable", Duration::from_secs(10)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "unready only after the threshold: {:?} {body}",
        started.elapsed()
    );
    assert_eq!(get(&base, "/healthz").await.0, 200);
    app.shutdown().await.expect("shutdown");
}
