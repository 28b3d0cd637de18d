//! A permanent failure at each step of the booking and reschedule sagas takes the compensation
//! path; a slow saga still answers within the deadline.

use crate::helpers::{
    Engine, TestApp, mail_dir, mails, mails_eventually, new_call_id, spawn_app_with,
};
use callsaga_activities::faults::Fault;
use chrono::NaiveDate;
use serde_json::json;

use super::{app, booked, booking_args, call_tool, future_weekday, text};

/// A permanent failure at each step of the booking saga leaves nothing behind. (The
/// confirmation email is no step of it since `booking-email-after-answer-v1`: its failure
/// keeps the booking, see `confirmation.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_compensates_at_every_step() {
    let mail = mail_dir();
    let app = app(Engine::Sqlite, &mail).await;
    let day = future_weekday(2);
    // The embedded calendar plans and records in one step; a fault at either part of it.
    for (i, step) in ["booking.plan", "appointments.record"].iter().enumerate() {
        let call = new_call_id();
        app.app.faults.fail(step, Fault::Permanent, 1);
        let a = call_tool(
            &app,
            &call,
            "book_appointment",
            booking_args(day, &format!("{:02}:00", 9 + i), "Comp"),
        )
        .await;
        assert!(a["error"].is_string(), "{step}: {a}");
        assert!(
            booked(&app).await.is_empty(),
            "{step}: no booked row remains"
        );
    }
    // A step that succeeded but "timed out" is retried without a second effect.
    app.app
        .faults
        .fail("appointments.record", Fault::AfterEffect, 1);
    app.app.faults.fail("email.send", Fault::AfterEffect, 1);
    books(&app, day, "15:00", "Retry").await;
    assert_eq!(booked(&app).await.len(), 1);
    // The retried email found its outbox record: one message, not two.
    assert_eq!(mails_eventually(&mail, 1).await.len(), 1);
    app.app.faults.fail("email.send", Fault::AfterEffect, 1);
    books(&app, day, "15:30", "Lost").await;
    assert_eq!(booked(&app).await.len(), 2);
    assert_eq!(mails_eventually(&mail, 2).await.len(), 2);
    // Transient failures are retried by the policy and the booking goes through.
    app.app.faults.fail("email.send", Fault::Transient, 2);
    books(&app, day, "16:00", "Flaky").await;
    assert_eq!(booked(&app).await.len(), 3);
    assert_eq!(mails_eventually(&mail, 3).await.len(), 3);
    // Nothing more arrives: every email went once.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mails(&mail).len(), 3);
    app.shutdown().await;
}

/// Books `time` on `day` in a new call and asserts the caller hears it booked.
async fn books(app: &TestApp, day: NaiveDate, time: &str, name: &str) {
    let a = call_tool(
        app,
        &new_call_id(),
        "book_appointment",
        booking_args(day, time, name),
    )
    .await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("booked"),
        "{a}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reschedule_compensates_and_a_slow_saga_answers_in_time() {
    let mail = mail_dir();
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "email": { "backend": "file", "dir": mail }, "tools": { "deadline_ms": 1500 } }),
    )
    .await;
    let call = new_call_id();
    let day = future_weekday(3);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "09:00", "Move"),
    )
    .await;
    assert!(text(&a).contains("booked"), "{a}");
    let before = booked(&app).await[0].clone();
    // Its confirmation goes out after the answer; the faults below are for the reschedule.
    mails_eventually(&mail, 1).await;

    // The row update fails for good: the saga moves everything back.
    app.app
        .faults
        .fail("appointments.set_time", Fault::Permanent, 1);
    let a = call_tool(
        &app,
        &call,
        "reschedule_appointment",
        json!({ "newDate": day.to_string(), "newStartTime": "12:00" }),
    )
    .await;
    assert!(a["error"].is_string(), "{a}");
    assert_eq!(booked(&app).await[0].starts_at, before.starts_at);
    // The email fails for good after the move: row and event go back to the old time.
    app.app.faults.fail("email.send", Fault::Permanent, 1);
    let a = call_tool(
        &app,
        &call,
        "reschedule_appointment",
        json!({ "newDate": day.to_string(), "newStartTime": "12:00" }),
    )
    .await;
    assert!(a["error"].is_string(), "{a}");
    assert_eq!(booked(&app).await[0].starts_at, before.starts_at);

    // A slow step (transient failures with backoff) past the 1.5 s budget: the caller hears we
    // are confirming, the saga completes anyway.
    app.app.faults.fail("booking.plan", Fault::Transient, 5);
    let started = std::time::Instant::now();
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "13:00", "Slow"),
    )
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert!(text(&a).contains("confirming"), "{a}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while booked(&app).await.len() < 2 || mails(&mail).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "saga completes after the deadline"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.shutdown().await;
}
