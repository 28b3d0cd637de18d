//! Escalation paths through the HTTP endpoint (issue 5): transfer (warm, with the destination
//! answered to transfer-destination-request), callback after hours, transfer failed, operator
//! busy; every log ends terminal when the call ends.

use crate::helpers::{Engine, TestApp, mails, new_call_id, sample, sample_value, spawn_app_with};
use crate::tools::call_tool;
use callsaga_entity::{escalation_configs, escalation_logs, event_log};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

async fn app_with_hours(hours: Value) -> (TestApp, std::path::PathBuf) {
    let mail = crate::helpers::mail_dir();
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "email": { "backend": "file", "dir": mail } }),
    )
    .await;
    let cfg = escalation_configs::Entity::find()
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: escalation_configs::ActiveModel = cfg.into();
    active.business_hours = Set(Some(hours));
    active.update(&app.app.state.db).await.unwrap();
    (app, mail)
}

fn always() -> Value {
    let day = json!([["00:00", "24:00"]]);
    json!({ "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day })
}

fn never() -> Value {
    json!({ "mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": [] })
}

fn escalate_args() -> Value {
    json!({ "reason": "Beschwerde über Rechnung", "urgency": "high",
            "summary": "Anrufer ist verärgert über doppelte Abbuchung.", "callbackNumber": "+4915112345678" })
}

async fn logs(app: &TestApp) -> Vec<escalation_logs::Model> {
    escalation_logs::Entity::find()
        .all(&app.app.state.db)
        .await
        .unwrap()
}

/// Ends the call with a report whose endedReason is `reason`.
async fn end_call(app: &TestApp, call: &str, reason: &str) {
    let mut report = sample_value("customer-ended-call.json");
    report["message"]["call"]["id"] = call.into();
    report["message"]["endedReason"] = reason.into();
    assert_eq!(
        app.post_webhook(&serde_json::to_vec(&report).unwrap())
            .await
            .status(),
        200
    );
    app.call_result(call).await;
}

async fn transfer_destination(app: &TestApp, call: &str) -> Value {
    let mut req = sample_value("to-operator.json");
    req["message"]["type"] = "transfer-destination-request".into();
    req["message"]["call"]["id"] = call.into();
    app.post_webhook(&serde_json::to_vec(&req).unwrap())
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_transfer_is_answered_and_closes_completed() {
    let (app, _) = app_with_hours(always()).await;
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    let a = call_tool(&app, &call, "check_operator_availability", json!({})).await;
    assert!(
        a["result"].as_str().unwrap().contains("available now"),
        "{a}"
    );
    let a = call_tool(&app, &call, "escalate_to_human", escalate_args()).await;
    assert!(a["result"].as_str().unwrap().contains("connecting"), "{a}");
    let l = logs(&app).await;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].status, "TRANSFERRING");
    assert_eq!(l[0].transfer_mode.as_deref(), Some("warm"));

    let dest = transfer_destination(&app, &call).await;
    assert_eq!(dest["destination"]["number"], "+4930987654321", "{dest}");
    assert_eq!(
        dest["destination"]["transferPlan"]["mode"],
        "warm-transfer-say-message"
    );
    assert!(
        dest["destination"]["transferPlan"]["message"]
            .as_str()
            .unwrap()
            .contains("doppelte Abbuchung")
    );

    end_call(&app, &call, "assistant-forwarded-call").await;
    let l = logs(&app).await;
    assert_eq!(l[0].status, "COMPLETED");
    assert_eq!(
        app.call_row(&call).await.escalation_status.as_deref(),
        Some("completed")
    );
    let events = event_log::Entity::find()
        .all(&app.app.state.db)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.kind == "escalation.closed"));
    crate::billing::invariant(&app, callsaga_api::seed::DEMO_CREDITS).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_hours_becomes_a_callback_request_with_an_operator_email() {
    let (app, mail) = app_with_hours(never()).await;
    let call = new_call_id();
    let a = call_tool(&app, &call, "check_operator_availability", json!({})).await;
    assert!(
        a["result"].as_str().unwrap().contains("isn't available"),
        "{a}"
    );
    let a = call_tool(&app, &call, "escalate_to_human", escalate_args()).await;
    assert!(
        a["result"].as_str().unwrap().contains("call you back"),
        "{a}"
    );
    assert_eq!(logs(&app).await[0].status, "CALLBACK_REQUESTED");
    let sent = mails(&mail);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("operator@callsaga.local") && sent[0].contains("+4915112345678"));
    assert!(sent[0].contains("Beschwerde") && sent[0].contains("doppelte Abbuchung"));
    // No transfer was chosen: a speakable error.
    let dest = transfer_destination(&app, &call).await;
    assert!(dest["error"].is_string(), "{dest}");
    end_call(&app, &call, "customer-ended-call").await;
    assert_eq!(logs(&app).await[0].status, "CALLBACK_REQUESTED", "terminal");
    crate::billing::invariant(&app, callsaga_api::seed::DEMO_CREDITS).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_or_busy_transfers_fail_the_log_and_request_a_callback() {
    let (app, mail) = app_with_hours(always()).await;
    for reason in [
        "call.in-progress.error-transfer-failed",
        "call.forwarding.operator-busy",
        "customer-ended-call-during-transfer",
    ] {
        let call = new_call_id();
        app.post_webhook(&sample("inbound-in-progress.json", &call))
            .await;
        call_tool(&app, &call, "escalate_to_human", escalate_args()).await;
        end_call(&app, &call, reason).await;
        let row = app.call_row(&call).await;
        let log = logs(&app)
            .await
            .into_iter()
            .find(|l| l.call_id == row.id)
            .unwrap();
        assert_eq!(log.status, "FAILED", "{reason}");
        assert!(
            log.failure_reason.as_deref().unwrap_or_default().contains(
                if reason.starts_with("customer") {
                    "hung up"
                } else {
                    "transfer failed"
                }
            ),
            "{reason}: {:?}",
            log.failure_reason
        );
        assert_eq!(row.escalation_status.as_deref(), Some("failed"));
    }
    let callbacks = mails(&mail)
        .into_iter()
        .filter(|m| m.contains("The transfer failed"))
        .count();
    assert_eq!(
        callbacks, 3,
        "each failed transfer asks the operator to call back"
    );
    crate::billing::invariant(&app, callsaga_api::seed::DEMO_CREDITS).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_left_pending_is_closed_when_the_call_ends() {
    let (app, _) = app_with_hours(always()).await;
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    // The decision step fails for good: the log is marked FAILED by the compensation.
    app.app.faults.fail(
        "escalation.open",
        callsaga_activities::faults::Fault::AfterEffect,
        1,
    );
    let a = call_tool(&app, &call, "escalate_to_human", escalate_args()).await;
    assert!(a["result"].is_string() || a["error"].is_string());
    end_call(&app, &call, "customer-ended-call").await;
    for log in logs(&app).await {
        assert!(
            ["COMPLETED", "FAILED", "CALLBACK_REQUESTED"].contains(&log.status.as_str()),
            "{}",
            log.status
        );
    }
    crate::billing::invariant(&app, callsaga_api::seed::DEMO_CREDITS).await;
    app.shutdown().await;
}

/// Issue 22: the callback email after a failed transfer is owed from the moment the log says
/// FAILED. The operator's SMTP server answers 451 the first time: the settling step is retried
/// and the email still goes out, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_smtp_failure_while_settling_still_sends_one_callback_email() {
    let sink = crate::email::smtp_sink().await;
    for engine in crate::helpers::engines().await {
        let app = spawn_app_with(engine, json!({ "email": sink.settings() })).await;
        let operator = format!("ops-{}@flaky.test", uuid::Uuid::new_v4().simple());
        let cfg = escalation_configs::Entity::find()
            .one(&app.app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut active: escalation_configs::ActiveModel = cfg.into();
        active.business_hours = Set(Some(always()));
        active.operator_email = Set(Some(operator.clone()));
        active.update(&app.app.state.db).await.unwrap();

        let call = new_call_id();
        app.post_webhook(&sample("inbound-in-progress.json", &call))
            .await;
        let a = call_tool(&app, &call, "escalate_to_human", escalate_args()).await;
        assert!(a["result"].as_str().unwrap().contains("connecting"), "{a}");
        end_call(&app, &call, "call.in-progress.error-transfer-failed").await;

        let log = logs(&app).await.remove(0);
        assert_eq!(log.status, "FAILED", "{engine:?}");
        let key = format!("{}:callback-after-failed-transfer", log.idempotency_key);
        let got =
            crate::email::received(&sink.inbox, &callsaga_activities::email::message_id(&key));
        assert_eq!(got.len(), 1, "{engine:?}: {got:?}");
        assert_eq!(got[0]["rcpt_tos"], json!([operator]));
        let body = got[0]["body"].as_str().unwrap_or_default();
        assert!(
            body.contains("The transfer failed") && body.contains("+4915112345678"),
            "{body}"
        );
        let row = callsaga_entity::email_outbox::Entity::find()
            .filter(callsaga_entity::email_outbox::Column::IdempotencyKey.eq(key.as_str()))
            .one(&app.app.state.db)
            .await
            .unwrap()
            .expect("outbox row");
        assert_eq!(row.status, "sent", "{engine:?}");
        app.shutdown().await;
    }
}
