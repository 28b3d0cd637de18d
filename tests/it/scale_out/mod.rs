//! Several API processes on one PostgreSQL (issue 24): relays sharing one inbox through per-call
//! claims, a dead relay's calls taken over within the lease, SQLite refusing a second API
//! process, migrations run once, and `/readyz` telling the truth.

mod migrate;
mod readiness;

use crate::helpers::{Engine, TestApp, engines, history_events, new_call_id, spawn_app_with};
use callsaga_api::inbox::claims::Claims;
use callsaga_api::inbox::{self, NewEvent};
use callsaga_api::relay::Relay;
use callsaga_api::temporal::LazyClient;
use callsaga_entity::webhook_inbox;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// Whether the PostgreSQL tests can run (they are skipped, or fail with CALLSAGA_REQUIRE_PG=1,
/// like the others).
async fn postgres() -> bool {
    let pg = engines().await.contains(&Engine::Postgres);
    if !pg {
        eprintln!("SKIPPED: PostgreSQL unreachable");
    }
    pg
}

/// Stores a status-update of `call` (distinct bodies: `n`) and returns its inbox id.
async fn store(db: &sea_orm::DatabaseConnection, call: &str, n: usize) -> i64 {
    let body = json!({ "message": { "type": "status-update", "status": "ringing", "n": n,
        "call": { "id": call } } })
    .to_string();
    inbox::accept(
        db,
        NewEvent {
            vapi_call_id: call,
            message_type: "status-update",
            body: body.as_bytes(),
            received_at: chrono::Utc::now(),
            event_at: None,
        },
    )
    .await
    .expect("stored");
    webhook_inbox::Entity::find()
        .filter(webhook_inbox::Column::VapiCallId.eq(call))
        .all(db)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| r.id)
        .max()
        .expect("the row")
}

/// Inbox rows still waiting for delivery.
async fn undelivered(app: &TestApp) -> u64 {
    webhook_inbox::Entity::find()
        .filter(webhook_inbox::Column::Status.ne(inbox::DELIVERED))
        .count(&app.app.state.db)
        .await
        .expect("count")
}

/// The inbox ids of every `events` signal the call's workflow received, in history order.
async fn signalled_ids(app: &TestApp, call: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for e in history_events(app, call).await {
        if let Some(Attributes::WorkflowExecutionSignaledEventAttributes(s)) = &e.attributes {
            for p in s.input.iter().flat_map(|i| i.payloads.iter()) {
                let events: Vec<serde_json::Value> =
                    serde_json::from_slice(&p.data).expect("events payload");
                ids.extend(
                    events
                        .iter()
                        .map(|e| e["inbox_id"].as_i64().expect("inbox id")),
                );
            }
        }
    }
    ids
}

/// A second relay over the app's inbox, as another API process would run.
fn second_relay(app: &TestApp) -> Relay {
    let s = &app.app.state.settings;
    Relay::new(
        app.app.state.db.clone(),
        LazyClient::new(s.temporal.clone()),
        s.relay.clone(),
        s.calls.clone(),
        Default::default(),
    )
}

/// Two relays over one inbox on PostgreSQL, both running while events keep arriving: every
/// event reaches its workflow exactly once (one signal carrying it in the whole history), in
/// id order per call, and both relays did part of the work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_over_one_inbox_deliver_every_event_once_and_in_order() {
    if !postgres().await {
        return;
    }
    let app = spawn_app_with(
        Engine::Postgres,
        json!({ "relay": { "poll_interval_ms": 20, "claim_lease_ms": 2000 } }),
    )
    .await;
    let other = second_relay(&app);
    let calls: Vec<String> = (0..12).map(|_| new_call_id()).collect();
    let mut expected: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut by_other = 0;
    for n in 0..10 {
        for call in &calls {
            let id = store(&app.app.state.db, call, n).await;
            expected.entry(call.clone()).or_default().push(id);
        }
        app.app.state.relay.notify();
        by_other += other.pass().await.expect("pass").delivered;
    }
    let started = Instant::now();
    while undelivered(&app).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "inbox not drained"
        );
        by_other += other.pass().await.expect("pass").delivered;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let total: usize = expected.values().map(Vec::len).sum();
    assert!(
        by_other > 0 && by_other < total,
        "both relays deliver: the second delivered {by_other} of {total}"
    );
    for (call, ids) in &expected {
        // A signal that reaches a workflow while one of its tasks runs is buffered by the server
        // and enters the history when that task completes: the last one may show a moment
        // after its delivery was settled.
        let waited = Instant::now();
        let mut seen = signalled_ids(&app, call).await;
        while seen.len() < ids.len() && waited.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            seen = signalled_ids(&app, call).await;
        }
        assert_eq!(
            &seen, ids,
            "call {call}: each event signalled once, in order"
        );
    }
    // A pass that started before the last rows were settled may hold (empty) claims for a
    // moment; every pass releases what it claimed.
    let released = Instant::now();
    loop {
        let claims = app
            .app
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT count(*) AS n FROM inbox_call_claims",
            ))
            .await
            .expect("claims")
            .expect("a row")
            .try_get::<i64>("", "n")
            .expect("n");
        if claims == 0 {
            break;
        }
        assert!(
            released.elapsed() < Duration::from_secs(2),
            "{claims} claims not released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(other.owner().is_some() && other.owner() != app.app.state.relay.owner());
    app.shutdown().await;
}

/// A relay that died holding a call's claim (the row a kill -9 in mid-delivery leaves): the
/// other calls go on at once, and the claimed call is delivered by the surviving relay once the
/// lease has run out, not before and within the lease plus a poll interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_relays_calls_are_taken_over_within_the_lease() {
    if !postgres().await {
        return;
    }
    let lease = Duration::from_millis(1500);
    let app = spawn_app_with(
        Engine::Postgres,
        json!({ "relay": { "poll_interval_ms": 100, "claim_lease_ms": 1500 } }),
    )
    .await;
    let (held, free) = (new_call_id(), new_call_id());
    let dead = Claims::new(lease);
    let claimed_at = Instant::now();
    let won = dead
        .claim(&app.app.state.db, &[held.as_str()])
        .await
        .expect("claim");
    assert!(won.contains(&held));
    let held_id = store(&app.app.state.db, &held, 0).await;
    let free_id = store(&app.app.state.db, &free, 0).await;
    app.app.state.relay.notify();
    let delivered = |id: i64| {
        let db = app.app.state.db.clone();
        async move {
            inbox::find(&db, id)
                .await
                .expect("row")
                .expect("exists")
                .status
                == inbox::DELIVERED
        }
    };
    while !delivered(free_id).await {
        assert!(
            claimed_at.elapsed() < Duration::from_secs(5),
            "free call not delivered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let free_after = claimed_at.elapsed();
    assert!(
        !delivered(held_id).await,
        "the held call waits for its lease"
    );
    while !delivered(held_id).await {
        assert!(
            claimed_at.elapsed() < lease + Duration::from_secs(3),
            "held call not taken over within the lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let taken_over = claimed_at.elapsed();
    eprintln!(
        "free call delivered after {free_after:?}, held call taken over after {taken_over:?}"
    );
    assert!(
        taken_over >= lease - Duration::from_millis(200),
        "taken over after {taken_over:?}, before the lease of {lease:?} ran out"
    );
    assert_eq!(signalled_ids(&app, &held).await, vec![held_id]);
    app.shutdown().await;
}

/// SQLite is single-process: a second API process on the same database file refuses to start
/// and says why; once the first has stopped, another starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_a_second_api_process() {
    let url = crate::helpers::fresh_database_url(Engine::Sqlite).await;
    let first = crate::helpers::start_api_only(json!({ "database_url": url }))
        .await
        .expect("first API starts");
    let second = crate::helpers::start_api_only(json!({ "database_url": url })).await;
    let error = format!("{:#}", second.err().expect("the second API is refused"));
    assert!(
        error.contains("SQLite supports one API process") && error.contains("PostgreSQL"),
        "{error}"
    );
    assert!(
        error.contains(&std::process::id().to_string()),
        "names the holder: {error}"
    );
    first.shutdown().await.expect("shutdown");
    let third = crate::helpers::start_api_only(json!({ "database_url": url }))
        .await
        .expect("starts once the first has stopped");
    third.shutdown().await.expect("shutdown");
}

/// Graceful hand-over: a stopping API process releases the claims it still holds, so another
/// relay takes its calls over at once rather than after the lease (10 s here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_api_releases_its_claims_for_the_others_at_once() {
    if !postgres().await {
        return;
    }
    let app = spawn_app_with(
        Engine::Postgres,
        json!({ "relay": { "claim_lease_ms": 10000 } }),
    )
    .await;
    let other = second_relay(&app);
    let db = app.app.state.db.clone();
    let owner = app
        .app
        .state
        .relay
        .owner()
        .expect("shared inbox")
        .to_owned();
    let call = new_call_id();
    // The claim a pass in flight at SIGTERM would hold.
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "INSERT INTO inbox_call_claims (vapi_call_id, owner, expires_at) \
         VALUES ($1, $2, now() + interval '10 seconds')",
        [call.clone().into(), owner.into()],
    ))
    .await
    .expect("claim");
    app.shutdown().await;
    store(&db, &call, 0).await;
    let started = Instant::now();
    let mut delivered = 0;
    while delivered == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the stopped process's claim was not released"
        );
        delivered += other.pass().await.expect("pass").delivered;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
