//! The booking's confirmation email after the answer (issue 22): once the caller has heard
//! "booked", the booking stands. The email goes out after the answer, transient failures are
//! retried, and a permanent one (a 550 from a real SMTP server) keeps the booking, marks the
//! appointment `email_failed`, tells the business owner once, and shows in the workflow state
//! and the admin API. The workflow does not complete before the email is done.

use super::{booked, booking_args, call_tool, future_weekday, text};
use crate::email::{received, smtp_sink};
use crate::helpers::{
    Engine, TestApp, engines, mail_dir, mails, mails_eventually, new_call_id, sample,
    spawn_app_with,
};
use crate::histories::end_with;
use callsaga_activities::email::message_id;
use callsaga_activities::faults::Fault;
use callsaga_entity::appointments;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "t0k";

async fn appointment(app: &TestApp, key_prefix: &str) -> appointments::Model {
    appointments::Entity::find()
        .filter(appointments::Column::IdempotencyKey.starts_with(key_prefix))
        .one(&app.app.state.db)
        .await
        .unwrap()
        .expect("the appointment")
}

/// An app on SQLite with the `file` email backend (and `overrides`), and a call in progress.
async fn call_in_progress(overrides: Value) -> (TestApp, std::path::PathBuf, String) {
    let mail = mail_dir();
    let mut settings = json!({ "email": { "backend": "file", "dir": mail } });
    if let (Some(to), Some(from)) = (settings.as_object_mut(), overrides.as_object()) {
        to.extend(from.clone());
    }
    let app = spawn_app_with(Engine::Sqlite, settings).await;
    let call = new_call_id();
    app.post_webhook(&sample("inbound-in-progress.json", &call))
        .await;
    (app, mail, call)
}

async fn call_detail(app: &TestApp, call: &str) -> Value {
    app.http
        .get(format!("{}/admin/v1/calls/{call}", app.app.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_refused_for_good_keeps_the_booking_and_tells_the_owner() {
    let sink = smtp_sink().await;
    for engine in engines().await {
        let app = spawn_app_with(
            engine,
            json!({ "email": sink.settings(), "admin": { "token": TOKEN } }),
        )
        .await;
        let call = new_call_id();
        app.post_webhook(&sample("inbound-in-progress.json", &call))
            .await;
        let mut args = booking_args(future_weekday(4), "10:00", "Misheard");
        args["customerEmail"] = format!("m{}@reject.test", uuid::Uuid::new_v4().simple()).into();
        let a = call_tool(&app, &call, "book_appointment", args).await;
        assert!(text(&a).contains("booked"), "{engine:?}: {a}");

        // The 550 comes after the answer: the appointment is marked, not cancelled, and the
        // owner hears of it, once.
        let key = format!("call-{call}:");
        let deadline = Instant::now() + Duration::from_secs(20);
        let (row, owner) = loop {
            let row = appointment(&app, &key).await;
            let notice = format!("{}:confirmation-failed", row.idempotency_key);
            let owner = received(&sink.inbox, &message_id(&notice));
            if row.email_failed_at.is_some() && !owner.is_empty() {
                break (row, owner);
            }
            assert!(
                Instant::now() < deadline,
                "{engine:?}: never marked or told"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let notice = format!("{}:confirmation-failed", row.idempotency_key);
        assert_eq!(row.status, "booked", "{engine:?}");
        let error = row.email_error.clone().unwrap_or_default();
        assert!(error.contains("550"), "{engine:?}: {error}");
        assert!(
            !error.contains("@reject.test") || error.contains("***"),
            "masked: {error}"
        );
        assert_eq!(booked(&app).await.len(), 1, "{engine:?}");
        assert_eq!(owner.len(), 1, "{engine:?}: {owner:?}");
        assert_eq!(
            owner[0]["rcpt_tos"],
            json!([callsaga_api::seed::DEMO_USER_EMAIL])
        );
        let body = owner[0]["body"].as_str().unwrap_or_default();
        assert!(
            body.contains("Misheard") && body.contains(&row.id.to_string()),
            "{body}"
        );

        // The admin API shows it on the call, with the workflow's record of it.
        // (The workflow records it once `booking.confirmation_failed` has reported back.)
        let deadline = Instant::now() + Duration::from_secs(20);
        let detail = loop {
            let detail = call_detail(&app, &call).await;
            if detail["workflow"]["emails_failed"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                break detail;
            }
            assert!(Instant::now() < deadline, "{engine:?}: {detail}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(detail["appointments"][0]["email_failed"], true, "{detail}");
        assert_eq!(detail["appointments"][0]["status"], "booked", "{detail}");
        let failed = &detail["workflow"]["emails_failed"];
        assert_eq!(failed.as_array().map(Vec::len), Some(1), "{detail}");
        assert_eq!(failed[0]["owner_notified"], true, "{detail}");
        assert_eq!(
            failed[0]["key"],
            format!("{}:confirmation", row.idempotency_key)
        );

        end_with(&app, &call, "customer-ended-call").await;
        assert_eq!(
            received(&sink.inbox, &message_id(&notice)).len(),
            1,
            "{engine:?}: still once"
        );
        app.shutdown().await;
    }
}

/// The caller does not wait for the email: with the email failing transiently for seconds the
/// answer is "booked" at once (not "confirming that now"), and the call's workflow completes
/// only after the email went out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_hears_booked_before_the_email_and_the_call_waits_for_it() {
    let (app, mail, call) = call_in_progress(json!({ "tools": { "deadline_ms": 1500 } })).await;
    // About 6 s of retries (0.2 + 0.4 + 0.8 + 1.6 + 3.2 s) before the email goes out.
    app.app.faults.fail("email.send", Fault::Transient, 5);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(future_weekday(4), "11:00", "Early"),
    )
    .await;
    assert!(text(&a).contains("is booked"), "{a}");
    assert!(mails(&mail).is_empty(), "the email is still being retried");
    // The call ends meanwhile; its workflow completes after the email, not before.
    end_with(&app, &call, "customer-ended-call").await;
    assert_eq!(mails(&mail).len(), 1, "sent before the workflow completed");
    assert_eq!(mails_eventually(&mail, 1).await.len(), 1);
    let row = appointment(&app, &format!("call-{call}:")).await;
    assert!(row.email_failed_at.is_none());
    app.shutdown().await;
}

/// Since `confirmation-local-first-v1` the confirmation is a local activity in a workflow task
/// of its own: not in the task that answered the booking (whose answer the server reports only
/// when that task completes), and no normal activity (nothing for the server to dispatch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_is_a_local_activity_in_a_task_that_answers_no_tool_call() {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let (app, mail, call) = call_in_progress(json!({})).await;
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(future_weekday(4), "12:00", "Local"),
    )
    .await;
    assert!(text(&a).contains("is booked"), "{a}");
    end_with(&app, &call, "customer-ended-call").await;
    assert_eq!(mails(&mail).len(), 1);

    let events = crate::helpers::history_events(&app, &call).await;
    // The task (its WorkflowTaskCompleted event id) that answered the booking, the one that
    // ran the email, and whether a timer fired in between.
    let (mut last_task, mut answered_in, mut email_in, mut timer_after_answer) = (0, 0, 0, false);
    for e in &events {
        match &e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(_)) => last_task = e.event_id,
            Some(Attributes::WorkflowExecutionUpdateCompletedEventAttributes(_)) => {
                answered_in = last_task;
            }
            Some(Attributes::TimerFiredEventAttributes(_)) if answered_in != 0 => {
                timer_after_answer = true;
            }
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                panic!("a normal activity was scheduled: {a:?}")
            }
            Some(Attributes::MarkerRecordedEventAttributes(m))
                if local_activity_type(m).as_deref() == Some("email.send") =>
            {
                email_in = m.workflow_task_completed_event_id;
            }
            _ => {}
        }
    }
    assert!(answered_in > 0 && email_in > 0, "{answered_in} {email_in}");
    assert!(
        email_in > answered_in,
        "the email ran in the task that answered (task {answered_in})"
    );
    assert!(timer_after_answer, "no task of its own (no timer fired)");
    app.shutdown().await;
}

/// The activity type a local activity's marker records.
fn local_activity_type(
    m: &temporalio_common::protos::temporal::api::history::v1::MarkerRecordedEventAttributes,
) -> Option<String> {
    if m.marker_name != "core_local_activity" {
        return None;
    }
    let data = m.details.get("data")?.payloads.first()?;
    let v: Value = serde_json::from_slice(&data.data).ok()?;
    v["activity_type"].as_str().map(str::to_owned)
}

/// A slow mail server: the local attempt gives up after its bound (and stops), the normal
/// activity sends the email, once; a booking that reaches the workflow meanwhile is held no
/// longer than that bound, so it is confirmed, not turned into a callback request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_mail_server_holds_the_next_tool_call_no_longer_than_the_local_bound() {
    let (app, mail, call) = call_in_progress(json!({})).await;
    let slow = Duration::from_secs(4);
    app.app.faults.fail("email.send", Fault::Slow(slow), 1);
    let sent_at = Instant::now();
    let day = future_weekday(4);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "09:30", "Slow"),
    )
    .await;
    assert!(text(&a).contains("is booked"), "{a}");
    let b = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "13:30", "Next"),
    )
    .await;
    assert!(
        text(&b).contains("is booked"),
        "held past the accept window: {b}"
    );
    // Each confirmation once, also after the slow attempt would have finished.
    assert_eq!(mails_eventually(&mail, 2).await.len(), 2);
    tokio::time::sleep(
        (sent_at + slow + Duration::from_millis(500)).saturating_duration_since(Instant::now()),
    )
    .await;
    end_with(&app, &call, "customer-ended-call").await;
    let sent = mails(&mail);
    for name in ["Slow", "Next"] {
        assert_eq!(
            sent.iter().filter(|m| m.contains(name)).count(),
            1,
            "{name}: {sent:?}"
        );
    }
    app.shutdown().await;
}
