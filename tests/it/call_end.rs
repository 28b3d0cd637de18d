//! A call workflow always finishes its end-of-call work (issue 22): a permanent failure at any
//! end-of-call step — applying an event, settling escalations, the charge, the low-balance
//! email — is recorded (event log, metric, admin API) and skipped; every workflow completes;
//! a failed charge is `billing_failed` until the retry bills it; a duration that contradicts the
//! call's timestamps or exceeds `max_call_secs` is billed from the timestamps and flagged. The
//! ledger invariant holds at the end of every test, on SQLite and PostgreSQL.

use crate::billing::invariant;
use crate::helpers::{
    Engine, TestApp, engines, mail_dir, new_call_id, sample, sample_value, spawn_app_with,
};
use callsaga_activities::event_log::{
    BILLING_FAILED, BILLING_RETRIED, DURATION_CORRECTED, EVENT_SKIPPED, STEP_FAILED,
};
use callsaga_activities::faults::Fault;
use callsaga_activities::ledger;
use callsaga_api::inbox::{self, NewEvent};
use callsaga_api::seed::{DEMO_CREDITS, DEMO_USER_EMAIL};
use callsaga_entity::{event_log, users};
use chrono::Utc;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const TOKEN: &str = "t0k";

/// The sample report: 110 s → 2 started minutes × 10 credits.
const SAMPLE_CHARGE: i64 = 20;

async fn app(engine: Engine, extra: Value) -> TestApp {
    let mut overrides = json!({
        "admin": { "token": TOKEN },
        "email": { "backend": "file", "dir": mail_dir() },
    });
    if let (Value::Object(o), Value::Object(e)) = (&mut overrides, extra) {
        o.extend(e);
    }
    spawn_app_with(engine, overrides).await
}

async fn admin(app: &TestApp, method: Method, path: &str) -> (u16, Value) {
    crate::helpers::admin_request(app, method, path, TOKEN).await
}

/// Ringing, in progress, the sample report; then the workflow's result (panics if it failed).
async fn full_call(app: &TestApp, call_id: &str) {
    for name in [
        "inbound-ringing.json",
        "inbound-in-progress.json",
        "customer-ended-call.json",
    ] {
        assert_eq!(app.post_webhook(&sample(name, call_id)).await.status(), 200);
    }
    app.call_result(call_id).await;
}

/// The `event_log` rows about the call (by `data.vapi_call_id` or the row's id), oldest first.
async fn log_of(app: &TestApp, call_id: &str, kind: &str) -> Vec<Value> {
    let row = app.call_row_opt(call_id).await;
    let mut rows = event_log::Entity::find()
        .filter(event_log::Column::Kind.eq(kind))
        .all(&app.app.state.db)
        .await
        .unwrap();
    rows.sort_by_key(|r| r.created_at);
    rows.into_iter()
        .filter(|r| {
            r.data["vapi_call_id"] == call_id
                || row.as_ref().is_some_and(|c| r.call_id == Some(c.id))
        })
        .map(|r| r.data)
        .collect()
}

/// The admin call detail: the row, its event log, the workflow's `state` query.
async fn detail(app: &TestApp, call_id: &str) -> Value {
    let (status, detail) = admin(app, Method::GET, &format!("/admin/v1/calls/{call_id}")).await;
    assert_eq!(status, 200, "{detail}");
    detail
}

fn logged_kinds(detail: &Value) -> Vec<String> {
    detail["log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn demo_user(app: &TestApp) -> users::Model {
    users::Entity::find()
        .filter(users::Column::Email.eq(DEMO_USER_EMAIL))
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn usage_entries(app: &TestApp, call_id: &str) -> u64 {
    let row = app.call_row(call_id).await;
    ledger::usage_entries_for_call(&app.app.state.db, row.id)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_at_each_end_of_call_step_is_recorded_and_every_call_completes() {
    for engine in engines().await {
        let app = app(engine, json!({})).await;
        let db = &app.app.state.db;

        // 1. The low-balance email fails for good: the charge stands, the failure is logged.
        //    (First, while the ledger is empty: the balance is set by hand.)
        let mut active: users::ActiveModel = demo_user(&app).await.into();
        active.credit_balance = Set(30);
        active.low_balance_threshold = Set(25);
        active.update(db).await.unwrap();
        let low = new_call_id();
        app.app.faults.fail("email.send", Fault::Permanent, 1);
        full_call(&app, &low).await;
        assert_eq!(demo_user(&app).await.credit_balance, 30 - SAMPLE_CHARGE);
        let failed = log_of(&app, &low, STEP_FAILED).await;
        assert_eq!(failed.len(), 1, "{failed:?} ({engine:?})");
        assert_eq!(failed[0]["step"], "email.send");
        assert_eq!(failed[0]["failure_type"], "InjectedFault");
        assert!(logged_kinds(&detail(&app, &low).await).contains(&STEP_FAILED.to_owned()));

        // 2. An inbox event that no longer parses (as after a parser change) is skipped; the
        //    events after it apply, and the call is billed.
        let unparsable = new_call_id();
        let body = json!({ "message": { "type": "status-update", "status": 17,
                                        "call": { "id": unparsable } } })
        .to_string();
        inbox::accept(
            db,
            NewEvent {
                vapi_call_id: &unparsable,
                message_type: "status-update",
                body: body.as_bytes(),
                received_at: Utc::now(),
                event_at: None,
            },
        )
        .await
        .unwrap();
        app.app.state.relay.drain().await.unwrap();
        full_call(&app, &unparsable).await;
        let skipped = log_of(&app, &unparsable, EVENT_SKIPPED).await;
        assert_eq!(skipped.len(), 1, "{skipped:?} ({engine:?})");
        assert_eq!(skipped[0]["failure_type"], "InboxEventUnparsable");
        assert!(skipped[0]["inbox_id"].as_i64().is_some(), "{skipped:?}");
        let row = app.call_row(&unparsable).await;
        assert_eq!(row.billing_status.as_deref(), Some("billed"));
        assert_eq!(row.charged_credits, Some(SAMPLE_CHARGE));
        let state = &detail(&app, &unparsable).await["workflow"];
        assert_eq!(state["events_skipped"], 1, "{state}");
        assert_eq!(state["events_applied"], 3, "{state}");

        // 3. The same with a permanent failure injected into the first event's application.
        let injected = new_call_id();
        app.app.faults.fail("call.apply_event", Fault::Permanent, 1);
        full_call(&app, &injected).await;
        let skipped = log_of(&app, &injected, EVENT_SKIPPED).await;
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0]["failure_type"], "InjectedFault");
        let state = &detail(&app, &injected).await["workflow"];
        assert_eq!(
            state["failures"],
            json!(["call.apply_event: InjectedFault"]),
            "{state}"
        );
        assert_eq!(usage_entries(&app, &injected).await, 1);

        // A transient failure is not skipped: it is retried until the event applies.
        let retried = new_call_id();
        app.app.faults.fail("call.apply_event", Fault::Transient, 2);
        full_call(&app, &retried).await;
        assert!(log_of(&app, &retried, EVENT_SKIPPED).await.is_empty());
        let state = &detail(&app, &retried).await["workflow"];
        assert_eq!(
            (&state["events_applied"], &state["events_skipped"]),
            (&json!(3), &json!(0)),
            "{state}"
        );

        // 4. Settling the escalations fails for good: billing still runs.
        let unsettled = new_call_id();
        app.app
            .faults
            .fail("escalation.settle", Fault::Permanent, 1);
        full_call(&app, &unsettled).await;
        assert_eq!(usage_entries(&app, &unsettled).await, 1);
        let detail_unsettled = detail(&app, &unsettled).await;
        assert!(
            logged_kinds(&detail_unsettled).contains(&STEP_FAILED.to_owned()),
            "{detail_unsettled}"
        );
        let failed = log_of(&app, &unsettled, STEP_FAILED).await;
        assert_eq!(failed[0]["step"], "escalation.settle", "{failed:?}");

        // 5. The charge fails for good: the call is billing_failed — listed, in its detail, in
        //    the workflow state — with nothing in the ledger, until the retry bills it once.
        let unbilled = new_call_id();
        app.app.faults.fail("billing.charge", Fault::Permanent, 1);
        full_call(&app, &unbilled).await;
        let row = app.call_row(&unbilled).await;
        assert_eq!(row.billing_status.as_deref(), Some("billing_failed"));
        assert_eq!(usage_entries(&app, &unbilled).await, 0);
        let (status, list) = admin(
            &app,
            Method::GET,
            "/admin/v1/calls?billing_status=billing_failed",
        )
        .await;
        assert_eq!(status, 200, "{list}");
        let listed: Vec<&str> = list["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["vapi_call_id"].as_str())
            .collect();
        assert_eq!(listed, vec![unbilled.as_str()], "only the failed charge");
        let detail_unbilled = detail(&app, &unbilled).await;
        assert!(logged_kinds(&detail_unbilled).contains(&BILLING_FAILED.to_owned()));
        assert_eq!(detail_unbilled["workflow"]["billing_failed"], true);
        assert_eq!(detail_unbilled["workflow"]["billed"], false);
        let failed = log_of(&app, &unbilled, BILLING_FAILED).await;
        assert_eq!(failed[0]["failure_type"], "InjectedFault", "{failed:?}");
        assert_billed_attribute_false(&app, &unbilled).await;

        let retry = format!("/admin/v1/calls/{unbilled}/billing/retry");
        let (status, retried) = admin(&app, Method::POST, &retry).await;
        assert_eq!(status, 200, "{retried}");
        assert_eq!(retried["billing_status"], "billed");
        assert_eq!(retried["charged"], SAMPLE_CHARGE);
        let row = app.call_row(&unbilled).await;
        assert_eq!(row.billing_status.as_deref(), Some("billed"));
        assert_eq!(row.charged_credits, Some(SAMPLE_CHARGE));
        assert_eq!(usage_entries(&app, &unbilled).await, 1);
        assert_eq!(log_of(&app, &unbilled, BILLING_RETRIED).await.len(), 1);
        // Billed now: nothing to retry; an unknown call is a 404.
        let (status, body) = admin(&app, Method::POST, &retry).await;
        assert_eq!(status, 409, "{body}");
        let (status, _) = admin(&app, Method::POST, "/admin/v1/calls/nope/billing/retry").await;
        assert_eq!(status, 404);
        let (status, _) = admin(&app, Method::GET, "/admin/v1/calls?billing_status=unpaid").await;
        assert_eq!(status, 422);

        // Every failure is counted.
        let metrics = app
            .http
            .get(format!("{}/metrics", app.app.base_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for name in [
            "callsaga_events_skipped_total",
            "callsaga_billing_failed_total",
            "callsaga_call_end_failures_total{step=\"escalation.settle\"}",
            "callsaga_call_end_failures_total{step=\"email.send\"}",
        ] {
            assert!(metrics.contains(name), "{name} in /metrics");
        }
        invariant(&app, 30).await;
        app.shutdown().await;
    }
}

/// Visibility finds the call by `Billed = false` (it is eventually consistent: poll briefly).
async fn assert_billed_attribute_false(app: &TestApp, call_id: &str) {
    crate::helpers::assert_visible(app, &format!("CallId = '{call_id}' AND Billed = false")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_the_timestamps_contradict_or_over_the_longest_call_is_billed_from_the_timestamps()
 {
    for engine in engines().await {
        let app = app(engine, json!({ "calls": { "max_call_secs": 3600 } })).await;

        // An absurd reported duration (about 104 days) on a call of 110 s.
        let absurd = new_call_id();
        let mut report = sample_value("customer-ended-call.json");
        report["message"]["call"]["id"] = absurd.clone().into();
        report["message"]["durationMs"] = 9_000_000_000_i64.into();
        report["message"]["durationSeconds"] = 9_000_000.into();
        report["message"]["durationMinutes"] = 150_000.into();
        app.post_webhook(&sample("inbound-in-progress.json", &absurd))
            .await;
        app.post_webhook(&serde_json::to_vec(&report).unwrap())
            .await;
        app.call_result(&absurd).await;
        let row = app.call_row(&absurd).await;
        assert_eq!(row.charged_credits, Some(SAMPLE_CHARGE), "{engine:?}");
        assert_eq!(
            row.duration_ms,
            Some(9_000_000_000),
            "the report is kept as sent"
        );
        let detail = detail(&app, &absurd).await;
        let flags: Vec<&Value> = detail["log"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == DURATION_CORRECTED)
            .collect();
        assert_eq!(flags.len(), 1, "{detail}");
        assert_eq!(flags[0]["data"]["reason"], "contradicts_timestamps");
        assert_eq!(flags[0]["data"]["billed_ms"], 110_000);
        assert_eq!(flags[0]["data"]["timestamps_ms"], 110_000);

        // Two hours by the report and by the timestamps, with calls capped at one hour.
        let long = new_call_id();
        let mut report = sample_value("customer-ended-call.json");
        let m = &mut report["message"];
        m["call"]["id"] = long.clone().into();
        m["startedAt"] = "2025-11-21T09:00:00.000Z".into();
        m["endedAt"] = "2025-11-21T11:00:00.000Z".into();
        m["durationMs"] = 7_200_000.into();
        m["durationSeconds"] = 7_200.into();
        m["durationMinutes"] = 120.into();
        app.post_webhook(&sample("inbound-in-progress.json", &long))
            .await;
        app.post_webhook(&serde_json::to_vec(&report).unwrap())
            .await;
        app.call_result(&long).await;
        assert_eq!(
            app.call_row(&long).await.charged_credits,
            Some(60 * 10),
            "60 started minutes"
        );
        let flags = log_of(&app, &long, DURATION_CORRECTED).await;
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!(flags[0]["reason"], "exceeds_max_call");
        assert_eq!(flags[0]["billed_ms"], 3_600_000);

        // A call whose report agrees with its timestamps is not flagged.
        let normal = new_call_id();
        full_call(&app, &normal).await;
        assert!(log_of(&app, &normal, DURATION_CORRECTED).await.is_empty());
        assert_eq!(
            demo_user(&app).await.credit_balance,
            DEMO_CREDITS - 2 * SAMPLE_CHARGE - 600
        );
        invariant(&app, DEMO_CREDITS).await;
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_charge_is_recorded_once_and_the_retry_bills_it_only_once_the_cause_is_fixed() {
    use callsaga_activities::call_end::billing_retry::{self, RetryError};
    use callsaga_activities::{CallEndActivitiesImpl, CallRecordActivitiesImpl};
    use callsaga_workflows::payloads::{ApplyEventInput, RecordFailureInput};
    use temporalio_sdk::testing::ActivityEnvironment;

    for engine in engines().await {
        let deps = crate::activity_env::deps(engine).await;
        let env = ActivityEnvironment::builder()
            .register_activities(CallRecordActivitiesImpl::new(deps.clone()))
            .register_activities(CallEndActivitiesImpl::new(deps.clone()))
            .build();
        let call = new_call_id();
        let workflow_id = format!("call-{call}");
        for name in ["inbound-in-progress.json", "customer-ended-call.json"] {
            let inbox_id = crate::activity_env::inbox(&deps, &call, name).await;
            let input = ApplyEventInput {
                workflow_id: workflow_id.clone(),
                vapi_call_id: call.clone(),
                inbox_id,
            };
            env.run(CallRecordActivitiesImpl::apply_event, input)
                .await
                .unwrap();
        }
        // The workflow's record of the failed charge, twice (a retry of the activity).
        let failure = RecordFailureInput {
            workflow_id: workflow_id.clone(),
            vapi_call_id: call.clone(),
            step: "billing.charge".into(),
            failure_type: "LedgerInvalidRequest".into(),
            message: "invalid ledger request: amount".into(),
            inbox_id: None,
        };
        for _ in 0..2 {
            env.run(CallEndActivitiesImpl::record_failure, failure.clone())
                .await
                .unwrap();
        }
        let rows = event_log::Entity::find()
            .filter(event_log::Column::Kind.eq(BILLING_FAILED))
            .all(&deps.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "recorded once ({engine:?})");
        assert_eq!(rows[0].data["failure_type"], "LedgerInvalidRequest");
        let row = callsaga_entity::calls::Entity::find()
            .filter(callsaga_entity::calls::Column::VapiCallId.eq(&call))
            .one(&deps.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.billing_status.as_deref(), Some("billing_failed"));
        assert_eq!(rows[0].call_id, Some(row.id));

        // The cause is not fixed yet: the retry says so and nothing changes.
        deps.faults.fail("billing.charge", Fault::Permanent, 1);
        match billing_retry::retry(&deps, &call).await {
            Err(RetryError::Failed { failure_type, .. }) => {
                assert_eq!(failure_type, "InjectedFault")
            }
            other => panic!("{other:?}"),
        }
        let usage = || ledger::usage_entries_for_call(&deps.db, row.id);
        assert_eq!(usage().await.unwrap(), 0);
        // Fixed: billed once, and then there is nothing left to retry.
        let retried = billing_retry::retry(&deps, &call).await.unwrap();
        assert_eq!(
            (retried.outcome.status.as_str(), retried.outcome.charged),
            ("billed", SAMPLE_CHARGE)
        );
        assert!(matches!(
            billing_retry::retry(&deps, &call).await,
            Err(RetryError::NotFailed(status)) if status == "billed"
        ));
        assert!(matches!(
            billing_retry::retry(&deps, "no-such-call").await,
            Err(RetryError::NotFound(_))
        ));
        assert_eq!(usage().await.unwrap(), 1);
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(DEMO_USER_EMAIL))
            .one(&deps.db)
            .await
            .unwrap()
            .unwrap();
        ledger::balance_invariant(&deps.db, user.id, DEMO_CREDITS)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_bills_a_call_whose_close_fails_for_good() {
    for engine in engines().await {
        let app = app(
            engine,
            json!({ "calls": { "report_timeout_secs": 1, "max_call_secs": 600, "late_report_window_secs": 1 } }),
        )
        .await;
        let call = new_call_id();
        app.app
            .faults
            .fail("call.close_without_report", Fault::Permanent, 1);
        app.post_webhook(&sample("inbound-in-progress.json", &call))
            .await;
        app.post_webhook(&sample("inbound-ended.json", &call)).await;
        app.call_result(&call).await;
        let failed = log_of(&app, &call, STEP_FAILED).await;
        assert_eq!(failed.len(), 1, "{failed:?} ({engine:?})");
        assert_eq!(failed[0]["step"], "call.close_without_report");
        let row = app.call_row(&call).await;
        assert_eq!(row.billing_status.as_deref(), Some("billed"), "{engine:?}");
        assert_eq!(usage_entries(&app, &call).await, 1);
        invariant(&app, DEMO_CREDITS).await;
        app.shutdown().await;
    }
}
