//! The sagas against a real CalDAV server (the local Radicale).

use crate::helpers::{Engine, mail_dir, new_call_id};
use callsaga_activities::faults::Fault;
use sea_orm::EntityTrait;
use serde_json::json;

use super::{app, booked, booking_args, call_tool, future_weekday, text};

/// The same sagas against a real CalDAV server (Radicale): the event is created, moved and
/// deleted there, and a failed booking leaves no event behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sagas_against_a_real_caldav_calendar() {
    use callsaga_activities::calendar::Calendar;
    use sea_orm::ActiveModelTrait;
    let mail = mail_dir();
    let app = app(Engine::Sqlite, &mail).await;
    let (calendar, url) = crate::calendar::fresh_caldav("Europe/Berlin").await;
    let agent = callsaga_entity::agents::Entity::find()
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: callsaga_entity::agents::ActiveModel = agent.into();
    active.calendar_provider = sea_orm::ActiveValue::Set("caldav".into());
    active.calendar_config = sea_orm::ActiveValue::Set(Some(json!({
        "url": url, "username": crate::calendar::USER, "password": crate::calendar::PASSWORD,
    })));
    active.update(&app.app.state.db).await.unwrap();
    let day = future_weekday(4);
    let (from, to) = (
        day.and_hms_opt(0, 0, 0).unwrap().and_utc(),
        day.and_hms_opt(23, 59, 0).unwrap().and_utc(),
    );
    let events = || async { calendar.busy(from, to).await.expect("busy") };

    let call = new_call_id();
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "10:00", "CalDAV"),
    )
    .await;
    assert!(text(&a).contains("is booked"), "{a}");
    assert_eq!(
        events().await.len(),
        1,
        "the event is in the CalDAV calendar"
    );

    // Compensation: the row cannot be recorded → the CalDAV event is deleted again.
    app.app
        .faults
        .fail("appointments.record", Fault::Permanent, 1);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "11:00", "Undo"),
    )
    .await;
    assert!(a["error"].is_string(), "{a}");
    assert_eq!(events().await.len(), 1, "the compensated event is gone");

    // The event cannot be created → nothing in the calendar, no row.
    app.app
        .faults
        .fail("calendar.create_event", Fault::Permanent, 1);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "12:00", "NoEvent"),
    )
    .await;
    assert!(a["error"].is_string(), "{a}");
    assert_eq!(events().await.len(), 1);
    assert_eq!(booked(&app).await.len(), 1);

    // Event and row both "succeeded but timed out": retried without a second event or row.
    app.app
        .faults
        .fail("calendar.create_event", Fault::AfterEffect, 1);
    app.app
        .faults
        .fail("appointments.record", Fault::AfterEffect, 1);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "13:00", "Twice"),
    )
    .await;
    assert!(text(&a).contains("is booked"), "{a}");
    assert_eq!(events().await.len(), 2);
    assert_eq!(booked(&app).await.len(), 2);
    let twice = booked(&app)
        .await
        .into_iter()
        .find(|r| r.customer_name == "Twice")
        .expect("the retried booking");
    let a = call_tool(
        &app,
        &call,
        "cancel_appointment",
        json!({ "appointmentId": twice.id.to_string() }),
    )
    .await;
    assert!(text(&a).contains("cancelled"), "{a}");
    assert_eq!(events().await.len(), 1);

    let a = call_tool(
        &app,
        &call,
        "reschedule_appointment",
        json!({ "newDate": day.to_string(), "newStartTime": "15:00" }),
    )
    .await;
    assert!(text(&a).contains("moved"), "{a}");
    let busy = events().await;
    assert_eq!(
        busy[0]
            .start
            .with_timezone(&chrono_tz::Europe::Berlin)
            .format("%H:%M")
            .to_string(),
        "15:00"
    );

    let a = call_tool(&app, &call, "cancel_appointment", json!({})).await;
    assert!(text(&a).contains("cancelled"), "{a}");
    assert!(
        events().await.is_empty(),
        "the event is deleted from CalDAV"
    );

    // A whole call with one CalDAV booking (plan, then event → record as separate steps, the
    // confirmation email after the answer, a local activity in a task of its own), ended and
    // billed: the history of that branch (`booking-caldav-after-answer.json` keeps the normal
    // activity from before `confirmation-local-first-v1`, `booking-caldav.json` the one from
    // before `booking-email-after-answer-v1`).
    let recorded = new_call_id();
    let a = call_tool(
        &app,
        &recorded,
        "book_appointment",
        booking_args(day, "11:00", "Recorded"),
    )
    .await;
    assert!(text(&a).contains("is booked"), "{a}");
    assert_eq!(events().await.len(), 1);
    crate::histories::end_with(&app, &recorded, "customer-ended-call").await;
    assert!(
        crate::helpers::mails(&mail)
            .iter()
            .any(|m| m.contains("Recorded")),
        "its confirmation was sent before the call's workflow completed"
    );
    crate::helpers::record_history(&app, &recorded, "booking-caldav-local-first.json").await;
    app.shutdown().await;
}
