//! Tool calls while Temporal is stopped or frozen (issue 22): every answer is true and comes
//! within the deadline. Read-only tools answer real slots from the database; an effectful tool
//! is promised only when its workflow accepted it, else the caller hears that the business will
//! call back, and that request is recorded. After Temporal returns, every promised booking
//! exists once with one confirmation email, and nothing refused took effect.

use crate::helpers::{Engine, TestApp, engines, mail_dir, mails, new_call_id, spawn_app_with};
use crate::resilience::start_server;
use crate::tools::{call_tool, call_tool_id, future_weekday};
use callsaga_activities::faults::Fault;
use callsaga_api::devserver::free_port;
use callsaga_entity::{appointments, tool_call_claims};
use callsaga_workflows::CallWorkflow;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "outage-admin-token";
/// `tools.deadline_ms` (the default) and the slack a loaded test machine gets on top.
const DEADLINE: Duration = Duration::from_millis(5000 + 500);
/// A caller hears dead air after about a second: a read-only answer comes within 1.5 s.
const READ_BUDGET: Duration = Duration::from_millis(1500);
/// The verified caller number of the tool-call sample (`call.customer.number`).
const CALLER: &str = "+4915112345678";

fn temporal_db() -> std::path::PathBuf {
    std::env::temp_dir()
        .join("callsaga-tests")
        .join(format!("temporal-{}.db", uuid::Uuid::new_v4().simple()))
}

async fn outage_app(engine: Engine, port: u16, mail: &Path) -> TestApp {
    spawn_app_with(
        engine,
        json!({
            "temporal": { "address": format!("http://127.0.0.1:{port}") },
            "email": { "backend": "file", "dir": mail },
            "admin": { "token": TOKEN },
            "relay": { "max_backoff_ms": 500 },
        }),
    )
    .await
}

fn booking(day: chrono::NaiveDate, time: &str, name: &str) -> Value {
    json!({
        "date": day.to_string(), "startTime": time, "durationMinutes": 30,
        "customerName": name, "customerPhone": "+4915199999999",
        "customerEmail": email_of(name),
    })
}

fn email_of(name: &str) -> String {
    format!("{}@example.de", name.to_ascii_lowercase())
}

fn text(answer: &Value) -> &str {
    answer["result"]
        .as_str()
        .or(answer["error"].as_str())
        .unwrap_or_default()
}

fn is_callback(answer: &Value) -> bool {
    answer["error"]
        .as_str()
        .is_some_and(|t| t.contains("call you back"))
}

async fn appointments_of(app: &TestApp, name: &str) -> Vec<appointments::Model> {
    appointments::Entity::find()
        .filter(appointments::Column::CustomerName.eq(name))
        .filter(appointments::Column::Status.eq("booked"))
        .all(&app.app.state.db)
        .await
        .unwrap()
}

fn mails_to(dir: &Path, name: &str) -> usize {
    let address = email_of(name);
    mails(dir).iter().filter(|m| m.contains(&address)).count()
}

/// The emails to `name` once there is one (bounded: 30 s): a booking's confirmation goes out
/// in a workflow task after its answer.
async fn mails_to_eventually(dir: &Path, name: &str) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while mails_to(dir, name) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mails_to(dir, name)
}

async fn fallbacks_of(app: &TestApp, tool_call_id: &str) -> Vec<tool_call_claims::Model> {
    claims_of(app, tool_call_id, tool_call_claims::CALLBACK_REQUESTED).await
}

async fn claims_of(
    app: &TestApp,
    tool_call_id: &str,
    status: &str,
) -> Vec<tool_call_claims::Model> {
    tool_call_claims::Entity::find()
        .filter(tool_call_claims::Column::ToolCallId.eq(tool_call_id))
        .filter(tool_call_claims::Column::Status.eq(status))
        .all(&app.app.state.db)
        .await
        .unwrap()
}

/// Waits (bounded) until Temporal is back and a worker answers the call's workflow.
async fn wait_for_workflow(app: &TestApp, call: &str) {
    let handle = app
        .temporal
        .get_workflow_handle::<CallWorkflow>(callsaga_workflows::call_workflow_id(call));
    let until = Instant::now() + Duration::from_secs(60);
    while handle
        .query(CallWorkflow::state, (), Default::default())
        .await
        .is_err()
    {
        assert!(Instant::now() < until, "the workflow answers again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn timed_tool(
    app: &TestApp,
    call: &str,
    id: &str,
    name: &str,
    args: Value,
) -> (Value, Duration) {
    let started = Instant::now();
    let answer = call_tool_id(app, call, id, name, args).await;
    (answer, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_stopped_tools_answer_truthfully() {
    for engine in engines().await {
        stopped(engine).await;
    }
}

async fn stopped(engine: Engine) {
    let port = free_port().unwrap();
    let db_file = temporal_db();
    let server = start_server(port, &db_file).await;
    let mail = mail_dir();
    let app = outage_app(engine, port, &mail).await;
    let call = new_call_id();
    let day = future_weekday(1);

    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking(day, "09:00", "Before"),
    )
    .await;
    assert!(text(&a).contains("booked"), "{engine:?}: {a}");
    let slots_args = json!({ "date": day.to_string(), "timeOfDay": "morning" });
    let healthy = call_tool(&app, &call, "check_availability", slots_args.clone()).await;

    server.stop().await.unwrap();
    // Read-only: the same real slots, from the database, within about a second.
    let (a, took) = timed_tool(
        &app,
        &call,
        "tc_down_slots",
        "check_availability",
        slots_args.clone(),
    )
    .await;
    assert!(took < READ_BUDGET, "{engine:?}: availability took {took:?}");
    assert_eq!(a["result"], healthy["result"], "{engine:?}: {a}");

    // Effectful: an honest "we will call you back" within the deadline, recorded durably.
    let args = booking(day, "10:00", "During");
    let (a, took) = timed_tool(
        &app,
        &call,
        "tc_down_book",
        "book_appointment",
        args.clone(),
    )
    .await;
    assert!(took < DEADLINE, "{engine:?}: booking took {took:?}");
    assert!(is_callback(&a), "{engine:?}: {a}");
    let rows = fallbacks_of(&app, "tc_down_book").await;
    assert_eq!(rows.len(), 1, "{engine:?}");
    assert_eq!(rows[0].customer_number.as_deref(), Some(CALLER));
    assert_eq!(rows[0].tool, "book_appointment");
    assert_eq!(rows[0].vapi_call_id, call);
    assert!(rows[0].agent_id.is_some());
    let (a, _) = timed_tool(
        &app,
        &call,
        "tc_down_escalate",
        "escalate_to_human",
        json!({ "reason": "complaint" }),
    )
    .await;
    assert!(is_callback(&a), "{engine:?}: {a}");
    assert_eq!(fallbacks_of(&app, "tc_down_escalate").await.len(), 1);

    // The admin API lists them.
    let resp = app
        .http
        .get(format!(
            "{}/admin/v1/callback-requests?vapi_call_id={call}",
            app.app.base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    let listed: Vec<&str> = list["callback_requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["tool_call_id"].as_str())
        .collect();
    assert_eq!(listed, ["tc_down_escalate", "tc_down_book"], "{list}");

    let server = start_server(port, &db_file).await;
    wait_for_workflow(&app, &call).await;
    // Vapi retries the refused booking once Temporal is back: the same answer, never the saga.
    let (a, _) = timed_tool(&app, &call, "tc_down_book", "book_appointment", args).await;
    assert!(is_callback(&a), "{engine:?}: {a}");
    assert_eq!(fallbacks_of(&app, "tc_down_book").await.len(), 1);
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking(day, "11:00", "After"),
    )
    .await;
    assert!(text(&a).contains("booked"), "{engine:?}: {a}");
    assert!(
        appointments_of(&app, "During").await.is_empty(),
        "{engine:?}"
    );
    assert_eq!(mails_to(&mail, "During"), 0);
    for name in ["Before", "After"] {
        assert_eq!(
            appointments_of(&app, name).await.len(),
            1,
            "{engine:?}: {name}"
        );
        assert_eq!(
            mails_to_eventually(&mail, name).await,
            1,
            "{engine:?}: {name}"
        );
    }
    app.shutdown().await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_frozen_during_bookings_keeps_every_promise_once() {
    for engine in engines().await {
        frozen(engine).await;
    }
}

async fn frozen(engine: Engine) {
    let port = free_port().unwrap();
    let db_file = temporal_db();
    let server = start_server(port, &db_file).await;
    let mail = mail_dir();
    let app = std::sync::Arc::new(outage_app(engine, port, &mail).await);
    let call = new_call_id();
    let day = future_weekday(2);
    let other_day = future_weekday(3);

    // Answered before the freeze.
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking(day, "09:00", "Quick"),
    )
    .await;
    assert!(text(&a).contains("booked"), "{engine:?}: {a}");
    let slots_args = json!({ "date": other_day.to_string() });
    let healthy = call_tool(&app, &call, "check_availability", slots_args.clone()).await;

    // Taken by the workflow before the freeze and still running in it: their plan step takes 2 s.
    app.app
        .faults
        .fail("booking.plan", Fault::Slow(Duration::from_secs(2)), 2);
    let spawn = |id: &'static str, call: String, name: &'static str, args: Value| {
        let app = app.clone();
        tokio::spawn(async move {
            (
                id,
                name,
                timed_tool(&app, &call, id, "book_appointment", args).await,
            )
        })
    };
    let slow_call = new_call_id();
    let mut tasks = vec![
        spawn(
            "tc_slow_1",
            call.clone(),
            "Slow1",
            booking(day, "09:30", "Slow1"),
        ),
        // In a second call: a workflow takes a new update only once its current task is done.
        spawn(
            "tc_slow_2",
            slow_call.clone(),
            "Slow2",
            booking(day, "10:00", "Slow2"),
        ),
    ];
    // Their workflow has claimed both (its acceptance reaches the server only with the
    // workflow task, which the slow step holds open).
    let until = Instant::now() + Duration::from_secs(5);
    for id in ["tc_slow_1", "tc_slow_2"] {
        while claims_of(&app, id, tool_call_claims::TAKEN_BY_WORKFLOW)
            .await
            .is_empty()
        {
            assert!(
                Instant::now() < until,
                "{engine:?}: {id} claimed by its workflow"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    server.freeze().await.unwrap();

    // Sent during the freeze: a booking in this call, one starting a new call, and a read.
    let new_call = new_call_id();
    tasks.push(spawn(
        "tc_frozen_1",
        call.clone(),
        "Frozen1",
        booking(day, "10:30", "Frozen1"),
    ));
    tasks.push(spawn(
        "tc_frozen_2",
        new_call.clone(),
        "Frozen2",
        booking(day, "11:00", "Frozen2"),
    ));
    let (a, took) = timed_tool(
        &app,
        &call,
        "tc_frozen_slots",
        "check_availability",
        slots_args,
    )
    .await;
    assert!(took < READ_BUDGET, "{engine:?}: availability took {took:?}");
    assert_eq!(a["result"], healthy["result"], "{engine:?}: {a}");
    let mut promised = vec!["Quick"];
    let mut refused = Vec::new();
    for task in tasks {
        let (id, name, (answer, took)) = task.await.unwrap();
        assert!(took < DEADLINE, "{engine:?}: {id} took {took:?}");
        if id.starts_with("tc_slow") {
            // Taken by its workflow but not in its history (the server froze before the task
            // completed): no "confirming"; the business will call back about it, and it is on
            // the callback list as not confirmed.
            assert!(
                text(&answer).contains("can't confirm") && text(&answer).contains("call you back"),
                "{engine:?}: {id}: {answer}"
            );
            let claim = claims_of(&app, id, tool_call_claims::TAKEN_UNCONFIRMED).await;
            assert_eq!(claim.len(), 1, "{engine:?}: {id}");
            assert_eq!(
                claim[0].customer_number.as_deref(),
                Some(CALLER),
                "{engine:?}: {id}"
            );
            promised.push(name);
        } else {
            assert!(is_callback(&answer), "{engine:?}: {id}: {answer}");
            assert_eq!(fallbacks_of(&app, id).await.len(), 1, "{engine:?}: {id}");
            refused.push((id, name));
        }
    }
    server.thaw().await.unwrap();

    // After the thaw: the bookings their workflows took complete, each once with one email.
    let until = Instant::now() + Duration::from_secs(60);
    for name in ["Slow1", "Slow2"] {
        while appointments_of(&app, name).await.is_empty() || mails_to(&mail, name) == 0 {
            assert!(
                Instant::now() < until,
                "{engine:?}: {name} completes after the thaw"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    wait_for_workflow(&app, &call).await;
    let a = call_tool(
        &app,
        &call,
        "book_appointment",
        booking(day, "14:00", "After"),
    )
    .await;
    assert!(text(&a).contains("booked"), "{engine:?}: {a}");
    promised.push("After");
    for name in promised {
        assert_eq!(
            appointments_of(&app, name).await.len(),
            1,
            "{engine:?}: {name}"
        );
        assert_eq!(
            mails_to_eventually(&mail, name).await,
            1,
            "{engine:?}: {name}"
        );
    }
    // The refused ones never take effect, even where the server got to them after the thaw
    // (their workflows answer them "expired"), and a retry hears the same.
    for (id, name) in refused {
        let on = if name == "Frozen2" { &new_call } else { &call };
        let (a, _) = timed_tool(
            &app,
            on,
            id,
            "book_appointment",
            booking(day, "10:30", name),
        )
        .await;
        assert!(is_callback(&a), "{engine:?}: {id}: {a}");
        assert!(
            appointments_of(&app, name).await.is_empty(),
            "{engine:?}: {name}"
        );
        assert_eq!(mails_to(&mail, name), 0, "{engine:?}: {name}");
        assert_eq!(fallbacks_of(&app, id).await.len(), 1, "{engine:?}: {id}");
    }
    let app = std::sync::Arc::into_inner(app).expect("every task is done");
    app.shutdown().await;
    server.stop().await.unwrap();
}
