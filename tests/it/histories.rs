//! The important branches of the call workflow, run end to end. With
//! `CALLSAGA_RECORD_HISTORIES=1` each run's history is written to tests/histories/, where
//! `replay::recorded_histories_replay_cleanly` replays it against every later change.

use crate::helpers::{
    Engine, TestApp, assert_call_id_set_at_start, new_call_id, patch_upserts, record_history,
    sample, sample_value, spawn_app_with,
};
use crate::tools::{call_tool, call_tool_from, future_weekday};
use callsaga_activities::faults::Fault;
use callsaga_entity::{escalation_configs, users};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

pub(crate) async fn end_with(app: &TestApp, call: &str, reason: &str) {
    let mut report = sample_value("customer-ended-call.json");
    report["message"]["call"]["id"] = call.into();
    report["message"]["endedReason"] = reason.into();
    app.post_webhook(&serde_json::to_vec(&report).unwrap())
        .await;
    app.call_result(call).await;
}

fn booking(day: chrono::NaiveDate, time: &str) -> Value {
    json!({ "date": day.to_string(), "startTime": time, "customerName": "History",
            "customerPhone": "+4915112345678", "customerEmail": "h@example.de" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_important_branch_runs_and_can_be_recorded() {
    let mail = crate::helpers::mail_dir();
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({
            "email": { "backend": "file", "dir": mail },
            "calls": { "report_timeout_secs": 1, "max_call_secs": 600, "late_report_window_secs": 1 },
        }),
    )
    .await;
    let day = future_weekday(5);

    // Booking success.
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    let a = call_tool(&app, &call, "book_appointment", booking(day, "09:00")).await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("booked"),
        "{a}"
    );
    end_with(&app, &call, "customer-ended-call").await;
    // Started by the relay's signal-with-start. The confirmation email went out after the
    // answer as a local activity in a task of its own (`confirmation-local-first-v1`);
    // `booking-email-after-answer.json` keeps the normal activity before it and
    // `booking-email-in-step.json` the path before that.
    assert_call_id_set_at_start(&app, &call).await;
    record_history(&app, &call, "booking-email-local-first.json").await;

    // A booking before any status update: its update-with-start starts the workflow. The
    // watchdog, all the booking patches and the time limit (`not_after_ms`) the booking
    // carries ride on the one `call-v5` patch: one marker and one TemporalChangeVersion upsert
    // in the call (`tool-call-first-v4.json` keeps two under `call-v4`, `tool-call-first.json`
    // the same under `call-v3`).
    let call = new_call_id();
    let a = call_tool(&app, &call, "book_appointment", booking(day, "12:00")).await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("booked"),
        "{a}"
    );
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    end_with(&app, &call, "customer-ended-call").await;
    assert_call_id_set_at_start(&app, &call).await;
    let current = callsaga_workflows::call::PATCH_CURRENT;
    assert_eq!(
        patch_upserts(&app, &call).await,
        vec![format!("[\"{current}\"]")]
    );
    record_history(&app, &call, "tool-call-first-v5.json").await;

    // The confirmation email fails for good after the answer (its local attempt): the booking
    // stands, the appointment is marked and the owner told (`booking-email-failed.json` keeps
    // the normal activity's failure, `booking-email-in-step-compensated.json` the compensation
    // of the path before).
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    app.app.faults.fail("email.send", Fault::Permanent, 1);
    let a = call_tool(&app, &call, "book_appointment", booking(day, "10:00")).await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("booked"),
        "{a}"
    );
    end_with(&app, &call, "customer-ended-call").await;
    let row = callsaga_entity::appointments::Entity::find()
        .filter(
            callsaga_entity::appointments::Column::IdempotencyKey
                .starts_with(format!("call-{call}:")),
        )
        .one(&app.app.state.db)
        .await
        .unwrap()
        .expect("the booking stands");
    assert_eq!(row.status, "booked");
    assert!(row.email_failed_at.is_some(), "marked email_failed");
    record_history(&app, &call, "booking-email-failed-local.json").await;

    // Reschedule.
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    // From a number of its own: the caller's appointments are those booked from it, and the
    // sample's number has booked the others on that day.
    let caller = Some("+4917099887766");
    call_tool_from(
        &app,
        &call,
        caller,
        "book_appointment",
        booking(day, "11:00"),
    )
    .await;
    let a = call_tool_from(
        &app,
        &call,
        caller,
        "reschedule_appointment",
        json!({ "newDate": day.to_string(), "newStartTime": "14:00" }),
    )
    .await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("moved"),
        "{a}"
    );
    end_with(&app, &call, "customer-ended-call").await;
    record_history(&app, &call, "reschedule.json").await;

    // Escalation: transfer that connects, and one that fails.
    let cfg = escalation_configs::Entity::find()
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: escalation_configs::ActiveModel = cfg.into();
    let all_day = json!([["00:00", "24:00"]]);
    active.business_hours = Set(Some(
        json!({ "mon": all_day, "tue": all_day, "wed": all_day,
        "thu": all_day, "fri": all_day, "sat": all_day, "sun": all_day }),
    ));
    active.update(&app.app.state.db).await.unwrap();
    for (reason, file) in [
        ("assistant-forwarded-call", "escalation-transfer.json"),
        (
            "call.in-progress.error-transfer-failed",
            "escalation-failed.json",
        ),
    ] {
        let call = new_call_id();
        app.post_webhook(&sample("inbound-in-progress.json", &call))
            .await;
        call_tool(
            &app,
            &call,
            "escalate_to_human",
            json!({ "reason": "complaint", "urgency": "high" }),
        )
        .await;
        end_with(&app, &call, reason).await;
        record_history(&app, &call, file).await;
    }

    // Billing with grace credits.
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(callsaga_api::seed::DEMO_USER_EMAIL))
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: users::ActiveModel = user.into();
    active.credit_balance = Set(5);
    active.update(&app.app.state.db).await.unwrap();
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    end_with(&app, &call, "customer-ended-call").await;
    assert_eq!(
        app.call_row(&call).await.billing_status.as_deref(),
        Some("billed")
    );
    record_history(&app, &call, "billing-grace.json").await;

    // Watchdog: ended, no report in time.
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    app.post_webhook(&sample("inbound-ended.json", &call)).await;
    let result = app.call_result(&call).await;
    assert!(result.report_missing);
    record_history(&app, &call, "watchdog-closed.json").await;

    // An event that fails for good is recorded and skipped, and the call goes on
    // (`call-end-always-v1`): here the in-progress update; the report still bills the call.
    let call = new_call_id();
    app.app.faults.fail("call.apply_event", Fault::Permanent, 1);
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    end_with(&app, &call, "customer-ended-call").await;
    assert_eq!(
        app.call_row(&call).await.billing_status.as_deref(),
        Some("billed")
    );
    record_history(&app, &call, "call-end-event-skipped.json").await;

    // The charge fails for good: the call is `billing_failed` and the workflow completes.
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    app.app.faults.fail("billing.charge", Fault::Permanent, 1);
    end_with(&app, &call, "customer-ended-call").await;
    assert_eq!(
        app.call_row(&call).await.billing_status.as_deref(),
        Some("billing_failed")
    );
    record_history(&app, &call, "call-end-billing-failed.json").await;
    app.shutdown().await;
}

/// Tool calls with a time limit (`not_after_ms`, patch `tool-call-not-after-v1`): one in time
/// (its acceptance made known by a 1 ms timer, then its saga), and one that reaches the
/// workflow after its limit, as when Temporal held it while the API answered the caller that
/// the business will call back: answered "expired", and its saga never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_past_its_time_limit_never_takes_effect() {
    use callsaga_workflows::CallWorkflow;
    use callsaga_workflows::tool_payloads::ToolCallRequest;
    let mail = crate::helpers::mail_dir();
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "email": { "backend": "file", "dir": mail } }),
    )
    .await;
    let day = future_weekday(6);
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    let a = call_tool(&app, &call, "book_appointment", booking(day, "15:00")).await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("booked"),
        "{a}"
    );

    let an_hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
    let late = ToolCallRequest {
        tool_call_id: "tc_late".into(),
        name: "book_appointment".into(),
        arguments: booking(day, "16:00"),
        arguments_error: None,
        customer_number: Some("+4915112345678".into()),
        assistant_id: Some(callsaga_api::seed::DEMO_ASSISTANT_ID.into()),
        phone_number_id: None,
        not_after_ms: Some(an_hour_ago),
    };
    let answer = app
        .temporal
        .get_workflow_handle::<CallWorkflow>(callsaga_workflows::call_workflow_id(&call))
        .execute_update(
            CallWorkflow::tool_call,
            late,
            temporalio_client::WorkflowExecuteUpdateOptions::builder()
                .update_id("tc_late".to_owned())
                .build(),
        )
        .await
        .expect("update");
    assert!(
        answer.error.is_some() && answer.result.is_none(),
        "{answer:?}"
    );
    let booked = callsaga_entity::appointments::Entity::find()
        .all(&app.app.state.db)
        .await
        .unwrap();
    assert_eq!(booked.len(), 1, "only the booking in time: {booked:?}");
    // The first booking's confirmation goes out in a task of its own (maybe after this answer).
    assert_eq!(crate::helpers::mails_eventually(&mail, 1).await.len(), 1);
    end_with(&app, &call, "customer-ended-call").await;
    record_history(&app, &call, "tool-call-not-after.json").await;
    app.shutdown().await;
}
