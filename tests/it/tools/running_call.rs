//! Tool calls in a call the relay already started, and after the call ended.

use crate::helpers::{Engine, mail_dir, new_call_id};
use serde_json::json;

use super::{app, booked, booking_args, call_tool, future_weekday};

/// In a call the relay already started (status updates first, as Vapi sends them), a tool call
/// is a plain update on that workflow; after the call's workflow has completed, a late tool call
/// does not start a second run: a read-only one is answered from the database, a booking is
/// not made and the caller hears that the business will call back.
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
    let slots = late["result"].as_str().expect("slots from the database");
    assert!(slots.contains("free"), "{late}");
    let late = call_tool(
        &app,
        &call,
        "book_appointment",
        booking_args(day, "15:00", "Late"),
    )
    .await;
    assert!(
        late["error"].as_str().unwrap().contains("call you back"),
        "{late}"
    );
    assert_eq!(booked(&app).await.len(), 1);
    let runs = app
        .temporal
        .count_workflows(format!("WorkflowId = 'call-{call}'"), Default::default())
        .await
        .expect("count");
    assert_eq!(runs.count(), 1);
    app.shutdown().await;
}
