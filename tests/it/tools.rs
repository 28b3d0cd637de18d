//! Tool calls through the HTTP endpoint: every tool, every saga's compensation path (failure
//! forced at each step), duplicates, the deadline, and two callers racing for one slot (issue 4).

use crate::helpers::{
    Engine, TestApp, engines, mail_dir, mails, new_call_id, sample_value, spawn_app_with,
};
use callsaga_activities::faults::Fault;
use callsaga_entity::appointments;
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

/// A weekday at least two days ahead (the demo agent is open Mon–Fri 09:00–17:00, Berlin).
pub(crate) fn future_weekday(offset_weeks: i64) -> NaiveDate {
    let mut d = Utc::now().date_naive() + Duration::days(2 + 7 * offset_weeks);
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d += Duration::days(1);
    }
    d
}

pub(crate) fn tool_body(call_id: &str, tool_call_id: &str, name: &str, args: Value) -> Vec<u8> {
    let mut v = sample_value("book-appointment.json");
    v["message"]["call"]["id"] = call_id.into();
    v["message"]["toolCallList"] = json!([{
        "id": tool_call_id,
        "type": "function",
        "function": { "name": name, "arguments": args.to_string() },
    }]);
    v["message"]["toolWithToolCallList"] = json!([]);
    serde_json::to_vec(&v).unwrap()
}

/// Posts one tool call and returns its single result entry.
pub(crate) async fn call_tool(app: &TestApp, call_id: &str, name: &str, args: Value) -> Value {
    call_tool_id(
        app,
        call_id,
        &format!("tc_{}", uuid::Uuid::new_v4().simple()),
        name,
        args,
    )
    .await
}

pub(crate) async fn call_tool_id(
    app: &TestApp,
    call_id: &str,
    tool_call_id: &str,
    name: &str,
    args: Value,
) -> Value {
    let resp = app
        .post_webhook(&tool_body(call_id, tool_call_id, name, args))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let results = body["results"].as_array().expect("results array");
    assert_eq!(results.len(), 1, "{body}");
    assert_eq!(results[0]["toolCallId"], tool_call_id);
    assert_eq!(results[0]["name"], name);
    results[0].clone()
}

async fn app(engine: Engine, mail: &std::path::Path) -> TestApp {
    spawn_app_with(
        engine,
        json!({ "email": { "backend": "file", "dir": mail } }),
    )
    .await
}

fn booking_args(date: NaiveDate, time: &str, name: &str) -> Value {
    json!({
        "date": date.to_string(), "startTime": time, "durationMinutes": 30,
        "customerName": name, "customerPhone": "+4915112345678",
        "customerEmail": "j.groesser@example.de", "notes": "Erstberatung",
    })
}

async fn booked(app: &TestApp) -> Vec<appointments::Model> {
    appointments::Entity::find()
        .filter(appointments::Column::Status.eq("booked"))
        .all(&app.app.state.db)
        .await
        .unwrap()
}

fn text(answer: &Value) -> &str {
    answer["result"]
        .as_str()
        .or(answer["error"].as_str())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_booking_listing_rescheduling_and_cancelling() {
    let mail = mail_dir();
    let app = app(Engine::Sqlite, &mail).await;
    let call = new_call_id();
    let day = future_weekday(0);

    // Before any status-update: update-with-start creates the workflow.
    let a = call_tool(
        &app,
        &call,
        "check_availability",
        json!({ "date": day.to_string(), "timeOfDay": "morning" }),
    )
    .await;
    let said = a["result"].as_str().expect("result");
    assert!(said.contains("9:00") && !said.contains("13:00"), "{said}");

    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "10:30", "Jürgen Größer"),
    )
    .await;
    assert!(a["result"].as_str().unwrap().contains("is booked"), "{a}");
    let rows = booked(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].customer_name, "Jürgen Größer");
    assert!(
        rows[0]
            .calendar_event_id
            .as_deref()
            .unwrap()
            .starts_with("embedded:")
    );
    let sent = mails(&mail);
    assert_eq!(sent.len(), 1, "confirmation email");
    assert!(sent[0].contains("j.groesser@example.de") && sent[0].contains("10:30"));

    // The slot is gone from availability now; asking for it again offers alternatives.
    let a = call_tool(
        &app,
        &call,
        "check_availability",
        json!({ "date": day.to_string(), "timeOfDay": "morning" }),
    )
    .await;
    assert!(!a["result"].as_str().unwrap().contains("10:30"), "{a}");
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "10:30", "Anna"),
    )
    .await;
    assert!(text(&a).contains("not available"), "{a}");
    assert_eq!(booked(&app).await.len(), 1);

    let a = call_tool(&app, &call, "list_appointments", json!({})).await;
    assert!(text(&a).contains("10:30"), "{a}");

    let a = call_tool(
        &app,
        &call,
        "reschedule_appointment",
        json!({ "newDate": day.to_string(), "newStartTime": "14:00" }),
    )
    .await;
    assert!(text(&a).contains("moved"), "{a}");
    let rows = booked(&app).await;
    assert_eq!(
        rows[0]
            .starts_at
            .with_timezone(&chrono_tz::Europe::Berlin)
            .format("%H:%M")
            .to_string(),
        "14:00"
    );

    let a = call_tool(
        &app,
        &call,
        "cancel_appointment",
        json!({ "date": day.to_string() }),
    )
    .await;
    assert!(text(&a).contains("cancelled"), "{a}");
    assert!(booked(&app).await.is_empty());
    assert_eq!(mails(&mail).len(), 3, "confirmation, moved, cancelled");

    // Unknown tool, unreadable arguments, unclear date: speakable errors, HTTP 200.
    let a = call_tool(&app, &call, "make_coffee", json!({})).await;
    assert!(a["error"].is_string(), "{a}");
    let a = call_tool(
        &app,
        &call,
        "check_availability",
        json!({ "date": "someday" }),
    )
    .await;
    assert!(a["error"].as_str().unwrap().contains("date"), "{a}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_next_available_skips_a_full_day() {
    let mail = mail_dir();
    let app = app(Engine::Sqlite, &mail).await;
    let call = new_call_id();
    let day = future_weekday(1);
    // Fill the whole day (09:00–17:00, 16 half-hour slots).
    for h in 9..17 {
        for m in ["00", "30"] {
            let a = call_tool(
                &app,
                &call,
                "book_appointment",
                booking_args(day, &format!("{h:02}:{m}"), "Filler"),
            )
            .await;
            assert!(
                a["result"].as_str().unwrap_or_default().contains("booked"),
                "{a}"
            );
        }
    }
    let a = call_tool(
        &app,
        &call,
        "check_availability",
        json!({ "date": day.to_string() }),
    )
    .await;
    let said = text(&a);
    assert!(said.contains("fully booked"), "{said}");
    let a = call_tool(
        &app,
        &call,
        "find_next_available",
        json!({ "afterDate": day.to_string() }),
    )
    .await;
    assert!(!text(&a).is_empty() && !text(&a).contains("no free"), "{a}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_tool_call_twice_has_one_effect_and_one_answer() {
    let mail = mail_dir();
    let app = app(Engine::Sqlite, &mail).await;
    let call = new_call_id();
    let day = future_weekday(0);
    let body = tool_body(
        &call,
        "tc_dup",
        "book_appointment",
        booking_args(day, "11:00", "Dup"),
    );
    let (a, b) = tokio::join!(app.post_webhook(&body), app.post_webhook(&body));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    let c: Value = app.post_webhook(&body).await.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(booked(&app).await.len(), 1);
    assert_eq!(mails(&mail).len(), 1);
    app.shutdown().await;
}

/// A permanent failure at each step of the booking saga leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_compensates_at_every_step() {
    let mail = mail_dir();
    let app = app(Engine::Sqlite, &mail).await;
    let day = future_weekday(2);
    // The embedded calendar plans and records in one step; a fault at either part of it.
    for (i, step) in ["booking.plan", "appointments.record", "email.send"]
        .iter()
        .enumerate()
    {
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
    let a = call_tool(
        &app,
        &new_call_id(),
        "book_appointment",
        booking_args(day, "15:00", "Retry"),
    )
    .await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("booked"),
        "{a}"
    );
    assert_eq!(booked(&app).await.len(), 1);
    // The retried step found its row and its sent email: one message, not two.
    assert_eq!(mails(&mail).len(), 1);
    // Transient failures are retried by the policy and the booking goes through.
    app.app.faults.fail("email.send", Fault::Transient, 2);
    let a = call_tool(
        &app,
        &new_call_id(),
        "book_appointment",
        booking_args(day, "16:00", "Flaky"),
    )
    .await;
    assert!(
        a["result"].as_str().unwrap_or_default().contains("booked"),
        "{a}"
    );
    assert_eq!(booked(&app).await.len(), 2);
    assert_eq!(mails(&mail).len(), 2);
    app.shutdown().await;
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

    // Slow email (transient failures with backoff) past the 1.5 s budget: the caller hears we
    // are confirming, the saga completes anyway.
    app.app.faults.fail("email.send", Fault::Transient, 4);
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

/// Two callers book the same slot at the same moment: exactly one wins, the other hears
/// alternatives. 100 rounds on every engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callers_racing_for_one_slot_book_it_once() {
    let rounds: usize = std::env::var("CALLSAGA_RACE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    for engine in engines().await {
        let mail = mail_dir();
        let app = app(engine, &mail).await;
        let mut wins_total = 0;
        for round in 0..rounds {
            // A distinct slot per round: 16 slots a day over future weekdays.
            let day = future_weekday(1 + (round / 16) as i64);
            let slot = round % 16;
            let time = format!(
                "{:02}:{}",
                9 + slot / 2,
                if slot % 2 == 0 { "00" } else { "30" }
            );
            let (call_a, call_b) = (new_call_id(), new_call_id());
            let (a, b) = tokio::join!(
                call_tool(
                    &app,
                    &call_a,
                    "book_appointment",
                    booking_args(day, &time, "Racer A")
                ),
                call_tool(
                    &app,
                    &call_b,
                    "book_appointment",
                    booking_args(day, &time, "Racer B")
                ),
            );
            let wins = [&a, &b]
                .iter()
                .filter(|x| text(x).contains("is booked"))
                .count();
            assert_eq!(wins, 1, "round {round} ({engine:?}): {a} / {b}");
            let loser = if text(&a).contains("is booked") {
                &b
            } else {
                &a
            };
            assert!(
                text(loser).contains("taken") || text(loser).contains("not available"),
                "the loser hears alternatives: {loser}"
            );
            // The earlier rounds booked the rest of the day: when the loser lost at the insert
            // (it planned while the slot was still free), the alternatives are the next day's.
            if text(loser).contains("just taken") {
                assert_eq!(
                    text(loser).contains("fully booked"),
                    slot == 15,
                    "round {round}: {loser}"
                );
            }
            wins_total += wins;
        }
        assert_eq!(booked(&app).await.len(), wins_total, "{engine:?}");
        eprintln!("race: {rounds} rounds on {engine:?}, one booking each");
        app.shutdown().await;
    }
}

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

    // A whole call with one CalDAV booking (plan, then event → record as separate steps),
    // ended and billed: the history of that branch.
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
    crate::helpers::record_history(&app, &recorded, "booking-caldav.json").await;
    app.shutdown().await;
}

/// In a call the relay already started (status updates first, as Vapi sends them), a tool call
/// is a plain update on that workflow; after the call's workflow has completed, a late tool call
/// gets a speakable error and does not start a second run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_in_a_running_call_and_after_it_ended() {
    let mail = mail_dir();
    let app = app(Engine::Sqlite, &mail).await;
    let call = new_call_id();
    for name in ["inbound-ringing.json", "inbound-in-progress.json"] {
        let resp = app.post_webhook(&crate::helpers::sample(name, &call)).await;
        assert_eq!(resp.status(), 200);
    }
    let day = future_weekday(2);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "14:00", "Running"),
    )
    .await;
    assert!(a["result"].as_str().unwrap().contains("is booked"), "{a}");
    assert_eq!(booked(&app).await.len(), 1);

    let resp = app
        .post_webhook(&crate::helpers::sample("customer-ended-call.json", &call))
        .await;
    assert_eq!(resp.status(), 200);
    let ended = app.call_result(&call).await;
    assert_eq!(ended.status, "ended");

    let late = call_tool(
        &app,
        &call,
        "check_availability",
        json!({ "date": day.to_string() }),
    )
    .await;
    assert!(late["error"].is_string(), "{late}");
    let runs = app
        .temporal
        .count_workflows(format!("WorkflowId = 'call-{call}'"), Default::default())
        .await
        .expect("count");
    assert_eq!(runs.count(), 1);
    app.shutdown().await;
}
