//! One bad call never stalls the others (issue 22, class 1): a failing call's backlog is parked
//! out of the relay's way, a call out of delivery budget becomes dead, is listed and redriven,
//! call ids Temporal would reject are refused at the door, and coalescing never drops the newest
//! conversation-update.

use crate::helpers::{Engine, TestApp, engines, new_call_id, sample, sample_value, spawn_app_with};
use callsaga_activities::faults::Fault;
use callsaga_api::inbox::{self, NewEvent};
use callsaga_entity::webhook_inbox;
use callsaga_workflows::CallWorkflow;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "relay-admin-token";

async fn post_ok(app: &TestApp, body: &[u8]) {
    let resp = app.post_webhook(body).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

/// The statuses of a call's inbox rows, in id order.
async fn statuses(app: &TestApp, vapi_call_id: &str) -> Vec<String> {
    webhook_inbox::Entity::find()
        .filter(webhook_inbox::Column::VapiCallId.eq(vapi_call_id))
        .order_by_asc(webhook_inbox::Column::Id)
        .all(&app.app.state.db)
        .await
        .expect("inbox rows")
        .into_iter()
        .map(|r| r.status)
        .collect()
}

/// Polls `check` every 20 ms until it is true or `within` has passed; returns the time it took.
async fn within<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> (u16, Value) {
    crate::helpers::admin_request(app, method, path, TOKEN).await
}

/// A call whose deliveries Temporal rejects (a workflow id past Temporal's length limit, as a
/// row stored before the door checked ids would have) with 1,000 pending events, and a healthy
/// call: the healthy call's events are delivered within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_calls_backlog_does_not_delay_other_calls() {
    for engine in engines().await {
        let app = spawn_app_with(
            engine,
            json!({ "relay": { "dead_after_rejections": 1000 } }),
        )
        .await;
        let poison = "p".repeat(1500);
        let now = chrono::Utc::now();
        for i in 0..1000 {
            let body = json!({ "message": { "type": "status-update", "status": "ringing",
                "n": i, "call": { "id": poison } } })
            .to_string();
            inbox::accept(
                &app.app.state.db,
                NewEvent {
                    vapi_call_id: &poison,
                    message_type: "status-update",
                    body: body.as_bytes(),
                    received_at: now,
                    event_at: None,
                },
            )
            .await
            .expect("poison row stored");
        }
        app.app.state.relay.notify();
        // Let the relay meet the poison call first.
        tokio::time::sleep(Duration::from_millis(300)).await;

        let healthy = new_call_id();
        let posted = Instant::now();
        for name in ["inbound-ringing.json", "inbound-in-progress.json"] {
            post_ok(&app, &sample(name, &healthy)).await;
        }
        within(Duration::from_secs(5), "healthy call delivered", || async {
            let s = statuses(&app, &healthy).await;
            s.len() == 2 && s.iter().all(|s| s == inbox::DELIVERED)
        })
        .await;
        let took = posted.elapsed();
        eprintln!("{engine:?}: healthy call delivered {took:?} after its events were posted");
        assert!(
            took < Duration::from_secs(1),
            "{engine:?}: the healthy call waited {took:?} behind the failing one"
        );
        // The poison call is parked, not pending, and not dead (its budget is large here).
        let poison_statuses = statuses(&app, &poison).await;
        assert_eq!(poison_statuses.len(), 1000);
        assert!(
            poison_statuses.iter().all(|s| s == inbox::RETRY),
            "{engine:?}: {:?}",
            poison_statuses
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
        );
        app.shutdown().await;
    }
}

/// A call whose deliveries keep being rejected becomes dead after its budget: listed with the
/// reason in the admin API, counted in `/metrics`, later events join it; redriven once the cause
/// is gone, its events are delivered in order, once each, and the call settles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_call_is_listed_and_redriven_in_order_once() {
    for engine in engines().await {
        let app = spawn_app_with(
            engine,
            json!({ "admin": { "token": TOKEN },
                    "relay": { "dead_after_rejections": 3, "max_backoff_ms": 100 } }),
        )
        .await;
        let call = new_call_id();
        let key = format!("relay.deliver:{call}");
        // Rejected until the cause is fixed below (a fixed count could be used up by a pass
        // whose failure record itself failed on a loaded machine, and the call never die).
        app.app.faults.fail(&key, Fault::Permanent, 1_000);
        for name in ["inbound-ringing.json", "inbound-in-progress.json"] {
            post_ok(&app, &sample(name, &call)).await;
        }
        within(Duration::from_secs(10), "call dead", || async {
            statuses(&app, &call).await == [inbox::DEAD, inbox::DEAD]
        })
        .await;
        // An event arriving for a dead call joins it instead of overtaking it.
        post_ok(&app, &sample("customer-ended-call.json", &call)).await;
        within(
            Duration::from_secs(5),
            "late event joins the dead ones",
            || async {
                let s = statuses(&app, &call).await;
                s.len() == 3 && s.iter().all(|s| s == inbox::DEAD)
            },
        )
        .await;

        let (status, body) = admin(&app, reqwest::Method::GET, "/admin/v1/inbox/dead").await;
        assert_eq!(status, 200, "{body}");
        let dead = &body["calls"][0];
        assert_eq!(dead["vapi_call_id"], call.as_str(), "{body}");
        assert_eq!(dead["events"], 3, "{body}");
        assert_eq!(dead["rejections"], 3, "{body}");
        assert!(
            dead["last_error"]
                .as_str()
                .unwrap_or("")
                .contains("rejection"),
            "{body}"
        );
        let metrics = app.metrics().await;
        assert!(
            metrics.contains("callsaga_inbox_dead_lettered_total"),
            "no dead-letter counter in /metrics"
        );
        // No workflow was started for it.
        let handle = app
            .temporal
            .get_workflow_handle::<CallWorkflow>(callsaga_workflows::call_workflow_id(&call));
        assert!(handle.describe(Default::default()).await.is_err());

        // The cause is gone: redrive.
        app.app.faults.clear();
        let path = format!("/admin/v1/inbox/dead/{call}/redrive");
        let (status, body) = admin(&app, reqwest::Method::POST, &path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["events"], 3, "{body}");
        let (status, _) = admin(&app, reqwest::Method::POST, &path).await;
        assert_eq!(status, 404, "a second redrive finds nothing dead");

        let result = app.call_result(&call).await;
        assert!(result.report_applied);
        assert_eq!(app.call_row(&call).await.status, "ended");
        assert!(
            statuses(&app, &call)
                .await
                .iter()
                .all(|s| s == inbox::DELIVERED)
        );
        // In order, once: the inbox ids the workflow received, in its signals.
        let ids: Vec<i64> = webhook_inbox::Entity::find()
            .filter(webhook_inbox::Column::VapiCallId.eq(call.as_str()))
            .order_by_asc(webhook_inbox::Column::Id)
            .all(&app.app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(signalled_inbox_ids(&app, &call).await, ids, "{engine:?}");
        let (_, body) = admin(&app, reqwest::Method::GET, "/admin/v1/inbox/dead").await;
        assert_eq!(body["calls"], json!([]), "{body}");
        app.shutdown().await;
    }
}

/// The inbox ids of every `events` signal in the call's history, in history order.
async fn signalled_inbox_ids(app: &TestApp, call: &str) -> Vec<i64> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    crate::helpers::history_events(app, call)
        .await
        .into_iter()
        .filter_map(|e| match e.attributes {
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(s))
                if s.signal_name == "events" =>
            {
                s.input
            }
            _ => None,
        })
        .flat_map(|payloads| payloads.payloads)
        .flat_map(|p| {
            let events: Vec<Value> = serde_json::from_slice(&p.data).expect("events payload");
            events
                .into_iter()
                .map(|e| e["inbox_id"].as_i64().expect("inbox_id"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Call ids Temporal would reject later are refused at the door with a reason, and nothing is
/// stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_ids_that_cannot_be_workflow_ids_get_a_400() {
    let app = spawn_app_with(Engine::Sqlite, json!({})).await;
    for (bad, file) in [
        ("x".repeat(1500), "inbound-ringing.json"),
        ("a/b".to_owned(), "customer-ended-call.json"),
        ("tab\tcall".to_owned(), "book-appointment.json"),
    ] {
        let resp = app.post_webhook(&sample(file, &bad)).await;
        assert_eq!(resp.status(), 400, "{file}");
        let body: Value = resp.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("not a valid call id"), "{body}");
    }
    assert_eq!(inbox::backlog(&app.app.state.db).await.unwrap(), 0);
    app.shutdown().await;
}

/// A conversation-update whose delivery failed is forwarded on the retry (it used to be
/// remembered as forwarded before the delivery, and the retry coalesced it away), and a call
/// that ended is forgotten by the coalescing memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalescing_keeps_the_newest_update_and_forgets_ended_calls() {
    let app = spawn_app_with(Engine::Sqlite, json!({})).await;
    let call = new_call_id();
    app.app
        .faults
        .fail(&format!("relay.deliver:{call}"), Fault::Transient, 1);
    post_ok(&app, &sample("inbound-ringing.json", &call)).await;
    let mut update = sample_value("with-messages.json");
    update["message"]["call"]["id"] = call.clone().into();
    post_ok(&app, &serde_json::to_vec(&update).unwrap()).await;
    within(
        Duration::from_secs(10),
        "delivered after the retry",
        || async { statuses(&app, &call).await == [inbox::DELIVERED, inbox::DELIVERED] },
    )
    .await;
    assert_eq!(app.app.state.relay.remembered_calls(), 1);
    post_ok(&app, &sample("customer-ended-call.json", &call)).await;
    app.call_result(&call).await;
    within(Duration::from_secs(5), "ended call forgotten", || async {
        app.app.state.relay.remembered_calls() == 0
    })
    .await;
    app.shutdown().await;
}
