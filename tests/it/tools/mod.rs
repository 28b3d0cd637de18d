//! Tool calls through the HTTP endpoint: every tool, every saga's compensation path (failure
//! forced at each step), duplicates, the deadline, and two callers racing for one slot (issue 4).

mod caldav;
mod call_link;
mod compensation;
mod confirmation;
mod race;
mod running_call;

use crate::helpers::{
    Engine, TestApp, mail_dir, mails_eventually, new_call_id, sample_value, spawn_app_with,
};
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
    serde_json::to_vec(&tool_value(call_id, tool_call_id, name, args)).unwrap()
}

fn tool_value(call_id: &str, tool_call_id: &str, name: &str, args: Value) -> Value {
    let mut v = sample_value("book-appointment.json");
    v["message"]["call"]["id"] = call_id.into();
    v["message"]["toolCallList"] = json!([{
        "id": tool_call_id,
        "type": "function",
        "function": { "name": name, "arguments": args.to_string() },
    }]);
    v["message"]["toolWithToolCallList"] = json!([]);
    v
}

/// [`tool_body`] from the caller number `number` (`call.customer.number`; `None`: withheld,
/// no number at all) instead of the sample's.
pub(crate) fn tool_body_from(
    call_id: &str,
    tool_call_id: &str,
    number: Option<&str>,
    name: &str,
    args: Value,
) -> Vec<u8> {
    let mut v = tool_value(call_id, tool_call_id, name, args);
    for customer in ["/message/customer", "/message/call/customer"] {
        let customer = v
            .pointer_mut(customer)
            .and_then(Value::as_object_mut)
            .expect("customer");
        match number {
            Some(n) => {
                customer.insert("number".into(), n.into());
            }
            None => {
                customer.remove("number");
            }
        }
    }
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
    post_tool(
        app,
        &tool_body(call_id, tool_call_id, name, args),
        tool_call_id,
        name,
    )
    .await
}

/// [`call_tool`] from the caller number `number` (`None`: withheld).
pub(crate) async fn call_tool_from(
    app: &TestApp,
    call_id: &str,
    number: Option<&str>,
    name: &str,
    args: Value,
) -> Value {
    let tool_call_id = format!("tc_{}", uuid::Uuid::new_v4().simple());
    let body = tool_body_from(call_id, &tool_call_id, number, name, args);
    post_tool(app, &body, &tool_call_id, name).await
}

async fn post_tool(app: &TestApp, body: &[u8], tool_call_id: &str, name: &str) -> Value {
    let resp = app.post_webhook(body).await;
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

pub(crate) fn text(answer: &Value) -> &str {
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
    let sent = mails_eventually(&mail, 1).await;
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
    assert_eq!(
        mails_eventually(&mail, 3).await.len(),
        3,
        "confirmation, moved, cancelled"
    );

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
    assert_eq!(mails_eventually(&mail, 1).await.len(), 1);
    app.shutdown().await;
}
