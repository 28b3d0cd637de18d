//! No event lost, history bounded: a Temporal outage in the middle of calls, and a long call's
//! conversation-updates (issue 3).

use crate::helpers::{Engine, TestApp, new_call_id, sample, sample_value, spawn_app_with};
use callsaga_api::devserver::{DevServer, DevServerOptions, default_temporal_bin, free_port};
use callsaga_workflows::CallWorkflow;
use serde_json::json;
use std::time::Duration;

async fn post_ok(app: &TestApp, body: Vec<u8>) {
    let resp = app.post_webhook(&body).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

pub(crate) async fn start_server(port: u16, db: &std::path::Path) -> DevServer {
    DevServer::start(DevServerOptions {
        temporal_bin: default_temporal_bin().expect("temporal CLI"),
        port,
        ui_port: None,
        db_file: Some(db.to_path_buf()),
        die_with_parent: true,
    })
    .await
    .expect("temporal server starts")
}

/// Temporal goes away mid-call for `CALLSAGA_OUTAGE_SECS` (default 5; the 60 s
/// measurement sets it to 60): every webhook is still acknowledged, and every call settles with
/// the right row once Temporal is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_outage_loses_no_event() {
    let outage = Duration::from_secs(
        std::env::var("CALLSAGA_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let port = free_port().unwrap();
    let db_file = std::env::temp_dir()
        .join("callsaga-tests")
        .join(format!("temporal-{}.db", uuid::Uuid::new_v4().simple()));
    let server = start_server(port, &db_file).await;
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({
            "temporal": { "address": format!("http://127.0.0.1:{port}") },
            "relay": { "max_backoff_ms": 500 },
        }),
    )
    .await;

    // Five calls started before the outage.
    let before: Vec<String> = (0..5).map(|_| new_call_id()).collect();
    for id in &before {
        post_ok(&app, sample("inbound-ringing.json", id)).await;
    }
    // The background relay and this drain share the work; together they leave nothing.
    app.app.state.relay.drain().await.unwrap();
    assert_eq!(
        callsaga_api::inbox::backlog(&app.app.state.db)
            .await
            .unwrap(),
        0
    );

    server.stop().await.unwrap();
    // During the outage: the rest of those calls, and five whole new calls.
    let during: Vec<String> = (0..5).map(|_| new_call_id()).collect();
    let started = std::time::Instant::now();
    for id in &before {
        post_ok(&app, sample("inbound-in-progress.json", id)).await;
        post_ok(&app, sample("customer-ended-call.json", id)).await;
    }
    for id in &during {
        for name in [
            "inbound-ringing.json",
            "inbound-in-progress.json",
            "customer-ended-call.json",
        ] {
            post_ok(&app, sample(name, id)).await;
        }
    }
    let ack_time = started.elapsed();
    assert!(
        ack_time < Duration::from_secs(5),
        "acks do not wait for Temporal ({ack_time:?})"
    );
    assert!(
        callsaga_api::inbox::backlog(&app.app.state.db)
            .await
            .unwrap()
            >= 25
    );
    tokio::time::sleep(outage.saturating_sub(started.elapsed())).await;

    let server = start_server(port, &db_file).await;
    for id in before.iter().chain(&during) {
        let result = app.call_result(id).await;
        assert!(result.report_applied, "{id}");
        let row = app.call_row(id).await;
        assert_eq!(row.status, "ended");
        assert_eq!(row.duration_ms, Some(110_000));
    }
    let _ = app.app.state.relay.drain().await;
    assert_eq!(
        callsaga_api::inbox::backlog(&app.app.state.db)
            .await
            .unwrap(),
        0
    );
    app.shutdown().await;
    server.stop().await.unwrap();
}

/// 30 minutes of conversation-updates (one every 1.5 s of event time) keep the workflow
/// history far below 2,000 events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_call_history_stays_bounded() {
    let app = spawn_app_with(Engine::Sqlite, json!({})).await;
    let call_id = new_call_id();
    post_ok(&app, sample("inbound-ringing.json", &call_id)).await;
    post_ok(&app, sample("inbound-in-progress.json", &call_id)).await;
    let mut update = sample_value("with-messages.json");
    update["message"]["call"]["id"] = call_id.clone().into();
    let start_ms = update["message"]["timestamp"].as_i64().unwrap();
    let updates = 1200;
    for i in 0..updates {
        update["message"]["timestamp"] = (start_ms + i * 1500).into();
        post_ok(&app, serde_json::to_vec(&update).unwrap()).await;
    }
    post_ok(&app, sample("customer-ended-call.json", &call_id)).await;
    app.call_result(&call_id).await;
    let description = app
        .temporal
        .get_workflow_handle::<CallWorkflow>(format!("call-{call_id}"))
        .describe(Default::default())
        .await
        .unwrap();
    let events = description.history_length();
    eprintln!("long call: {updates} conversation-updates -> {events} history events");
    assert!(events < 2000, "history has {events} events");
    assert!(
        events < 600,
        "coalescing should keep it near 60 forwarded updates, got {events}"
    );
    app.shutdown().await;
}
