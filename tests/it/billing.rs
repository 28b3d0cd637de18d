//! End-of-call billing through the HTTP endpoint (issue 5): charged exactly once whatever
//! arrives twice, out of order, or fails after the commit; grace credits; the low-balance email
//! once per crossing; unbillable calls; the watchdog and its late-report correction. The ledger
//! invariant is checked at the end of every test.

use crate::helpers::{
    Engine, TestApp, engines, mails, new_call_id, sample, sample_value, spawn_app_with,
};
use callsaga_activities::faults::Fault;
use callsaga_activities::ledger;
use callsaga_api::seed::DEMO_CREDITS;
use callsaga_entity::{credit_ledger, users};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;

/// The sample report: 110 s → 2 started minutes × 10 credits.
const SAMPLE_CHARGE: i64 = 20;

async fn app_with(engine: Engine, extra: Value) -> (TestApp, std::path::PathBuf) {
    let mail = crate::helpers::mail_dir();
    let mut overrides = json!({ "email": { "backend": "file", "dir": mail } });
    if let (Value::Object(o), Value::Object(e)) = (&mut overrides, extra) {
        o.extend(e);
    }
    (spawn_app_with(engine, overrides).await, mail)
}

async fn demo_user(app: &TestApp) -> users::Model {
    users::Entity::find()
        .filter(users::Column::Email.eq(callsaga_api::seed::DEMO_USER_EMAIL))
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn entries(app: &TestApp) -> Vec<credit_ledger::Model> {
    credit_ledger::Entity::find()
        .all(&app.app.state.db)
        .await
        .unwrap()
}

pub(crate) async fn invariant(app: &TestApp, start: i64) {
    let user = demo_user(app).await;
    ledger::balance_invariant(&app.app.state.db, user.id, start)
        .await
        .unwrap_or_else(|e| panic!("ledger invariant broken: {e}"));
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_charged_once_whatever_arrives_twice_or_out_of_order() {
    for engine in engines().await {
        let (app, _) = app_with(engine, json!({})).await;
        let normal = new_call_id();
        full_call(&app, &normal).await;
        let row = app.call_row(&normal).await;
        assert_eq!(row.billing_status.as_deref(), Some("billed"));
        assert_eq!(row.charged_credits, Some(SAMPLE_CHARGE));
        assert_eq!(
            demo_user(&app).await.credit_balance,
            DEMO_CREDITS - SAMPLE_CHARGE
        );

        // Report first, then again with other bytes, then the status updates late.
        let twice = new_call_id();
        let mut report = sample_value("customer-ended-call.json");
        report["message"]["call"]["id"] = twice.clone().into();
        app.post_webhook(&serde_json::to_vec(&report).unwrap())
            .await;
        report["message"]["timestamp"] = 1_763_716_999_999_i64.into();
        app.post_webhook(&serde_json::to_vec(&report).unwrap())
            .await;
        app.post_webhook(&sample("inbound-in-progress.json", &twice))
            .await;
        app.call_result(&twice).await;
        app.app.state.relay.drain().await.unwrap();

        // A charge whose activity "succeeded but timed out" is retried without a second charge.
        app.app.faults.fail("billing.charge", Fault::AfterEffect, 1);
        let retried = new_call_id();
        full_call(&app, &retried).await;

        assert_eq!(
            entries(&app).await.len(),
            3,
            "one usage entry per call ({engine:?})"
        );
        for id in [&normal, &twice, &retried] {
            let call = app.call_row(id).await;
            assert_eq!(
                ledger::usage_entries_for_call(&app.app.state.db, call.id)
                    .await
                    .unwrap(),
                1
            );
        }
        assert_eq!(
            demo_user(&app).await.credit_balance,
            DEMO_CREDITS - 3 * SAMPLE_CHARGE
        );
        invariant(&app, DEMO_CREDITS).await;
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_calls_of_one_user_ending_together_leave_the_exact_balance() {
    for engine in engines().await {
        let (app, _) = app_with(engine, json!({})).await;
        let ids: Vec<String> = (0..50).map(|_| new_call_id()).collect();
        for name in ["inbound-ringing.json", "inbound-in-progress.json"] {
            futures::future::join_all(
                ids.iter()
                    .map(|id| app.post_webhook_owned(sample(name, id))),
            )
            .await;
        }
        // All fifty reports at the same moment.
        let statuses = futures::future::join_all(
            ids.iter()
                .map(|id| app.post_webhook_owned(sample("customer-ended-call.json", id))),
        )
        .await;
        assert!(statuses.iter().all(|s| *s == 200));
        for id in &ids {
            app.call_result(id).await;
        }
        assert_eq!(
            demo_user(&app).await.credit_balance,
            DEMO_CREDITS - 50 * SAMPLE_CHARGE,
            "{engine:?}"
        );
        assert_eq!(entries(&app).await.len(), 50);
        invariant(&app, DEMO_CREDITS).await;
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_credits_low_balance_email_and_unbillable_calls() {
    let (app, mail) = app_with(Engine::Sqlite, json!({})).await;
    let user = demo_user(&app).await;
    // 30 credits left, threshold 25, grace 50.
    let mut active: users::ActiveModel = user.clone().into();
    active.credit_balance = Set(30);
    active.low_balance_threshold = Set(25);
    active.grace_credits_limit = Set(50);
    active.update(&app.app.state.db).await.unwrap();
    let start = 30 + entries(&app).await.iter().map(|e| -e.amount).sum::<i64>();

    full_call(&app, &new_call_id()).await; // 30 → 10: crosses 25
    full_call(&app, &new_call_id()).await; // 10 → -10: 10 from grace, no second email
    let user = demo_user(&app).await;
    assert_eq!(user.credit_balance, -10);
    assert_eq!(user.grace_credits_used, 10);
    let low = mails(&mail)
        .into_iter()
        .filter(|m| m.contains("balance is low") || m.contains("credit balance"))
        .count();
    assert_eq!(low, 1, "one email per downward crossing");

    // Never connected: ringing, then a report with no start and a busy line.
    let busy = new_call_id();
    app.post_webhook(&sample("inbound-ringing.json", &busy))
        .await;
    let mut report = sample_value("customer-ended-call.json");
    let m = report["message"].as_object_mut().unwrap();
    for k in [
        "startedAt",
        "durationMs",
        "durationSeconds",
        "durationMinutes",
    ] {
        m.remove(k);
    }
    m["call"].as_object_mut().unwrap().remove("startedAt");
    m["endedReason"] = "customer-busy".into();
    m["call"]["id"] = busy.clone().into();
    app.post_webhook(&serde_json::to_vec(&report).unwrap())
        .await;
    app.call_result(&busy).await;
    let row = app.call_row(&busy).await;
    assert_eq!(row.billing_status.as_deref(), Some("not_billable"));
    assert_eq!(
        ledger::usage_entries_for_call(&app.app.state.db, row.id)
            .await
            .unwrap(),
        0
    );
    invariant(&app, start).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_bills_a_call_without_report_and_a_late_report_corrects_it() {
    let (app, _) = app_with(
        Engine::Sqlite,
        // The longest call (600 s) is above the 110 s report: billing caps durations at it.
        json!({ "calls": { "report_timeout_secs": 2, "max_call_secs": 600, "late_report_window_secs": 6 } }),
    )
    .await;
    let id = new_call_id();
    // The status updates' own times: in-progress at 09:14:02, ended at 09:14:50 → 1 minute.
    let mut progress = sample_value("inbound-in-progress.json");
    progress["message"]["call"]["id"] = id.clone().into();
    progress["message"]["call"]["startedAt"] = "2025-11-21T09:14:02.000Z".into();
    let mut ended = sample_value("inbound-ended.json");
    ended["message"]["call"]["id"] = id.clone().into();
    ended["message"]["call"]["startedAt"] = "2025-11-21T09:14:02.000Z".into();
    ended["message"]["call"]["endedAt"] = "2025-11-21T09:14:50.000Z".into();
    app.post_webhook(&serde_json::to_vec(&progress).unwrap())
        .await;
    app.post_webhook(&serde_json::to_vec(&ended).unwrap()).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let row = app.call_row_opt(&id).await;
        if let Some(row) = row.filter(|r| r.billing_status.is_some()) {
            assert!(row.report_missing);
            assert_eq!(
                row.charged_credits,
                Some(10),
                "1 started minute from the status times"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "watchdog closes the call"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The report arrives late (110 s → 20 credits): one adjustment, not a second charge.
    app.post_webhook(&sample("customer-ended-call.json", &id))
        .await;
    app.call_result(&id).await;
    let row = app.call_row(&id).await;
    assert_eq!(row.charged_credits, Some(SAMPLE_CHARGE));
    assert_eq!(row.duration_ms, Some(110_000));
    assert_eq!(
        ledger::usage_entries_for_call(&app.app.state.db, row.id)
            .await
            .unwrap(),
        1
    );
    let kinds: Vec<String> = entries(&app).await.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "adjustment").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        demo_user(&app).await.credit_balance,
        DEMO_CREDITS - SAMPLE_CHARGE
    );

    invariant(&app, DEMO_CREDITS).await;
    app.shutdown().await;

    // No end at all: closed after the maximum call duration.
    let (app, _) = app_with(
        Engine::Sqlite,
        json!({ "calls": { "report_timeout_secs": 2, "max_call_secs": 3, "late_report_window_secs": 6 } }),
    )
    .await;
    let silent = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &silent))
        .await;
    let result = app.call_result(&silent).await;
    assert!(result.report_missing);
    assert!(app.call_row(&silent).await.report_missing);
    invariant(&app, DEMO_CREDITS).await;
    app.shutdown().await;
}
