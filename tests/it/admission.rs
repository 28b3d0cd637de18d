//! Admission at the door (issue 25): no call without credits, a per-tenant concurrent-call
//! cap whose slots are released only when the call's end is applied, deactivated tenants
//! refused. Every test runs on SQLite and PostgreSQL.

use crate::helpers::{Engine, TestApp, engines, new_call_id, sample, spawn_app_with};
use callsaga_activities::admission::{Refusal, speech};
use callsaga_activities::availability::Language;
use callsaga_activities::ledger::{self, Adjust};
use callsaga_api::seed::{DEMO_CREDITS, DEMO_USER_EMAIL};
use callsaga_entity::{appointments, call_slots, credit_ledger, event_log, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter,
};
use serde_json::{Value, json};

const TOKEN: &str = "admission-admin-token";

async fn app_with(engine: Engine, extra: Value) -> TestApp {
    let mut overrides = json!({ "admin": { "token": TOKEN } });
    if let (Value::Object(o), Value::Object(e)) = (&mut overrides, extra) {
        o.extend(e);
    }
    spawn_app_with(engine, overrides).await
}

async fn demo_user(app: &TestApp) -> users::Model {
    users::Entity::find()
        .filter(users::Column::Email.eq(DEMO_USER_EMAIL))
        .one(&app.app.state.db)
        .await
        .unwrap()
        .unwrap()
}

/// Changes the demo user's row directly (what the admin API would set).
async fn set_user(app: &TestApp, change: impl FnOnce(&mut users::ActiveModel)) {
    let mut user = demo_user(app).await.into_active_model();
    change(&mut user);
    user.update(&app.app.state.db).await.unwrap();
}

/// The answer to an assistant-request for a new call `call_id` of the demo agent.
async fn ask(app: &TestApp, call_id: &str) -> Value {
    let response = app
        .post_webhook(&sample("inbound-no-assistant-id.json", call_id))
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn admitted(answer: &Value) -> bool {
    answer.get("assistant").is_some()
}

fn refusal_text(refusal: Refusal) -> Value {
    speech::refusal(refusal, Language::En).into()
}

async fn held_slots(app: &TestApp) -> u64 {
    call_slots::Entity::find()
        .filter(call_slots::Column::ReleasedAt.is_null())
        .count(&app.app.state.db)
        .await
        .unwrap()
}

/// Ends the call with its end-of-call report and waits for its workflow to complete (the
/// report is applied, the call billed).
async fn end_with_report(app: &TestApp, call_id: &str) {
    assert_eq!(
        app.post_webhook(&sample("customer-ended-call.json", call_id))
            .await
            .status(),
        200
    );
    app.call_result(call_id).await;
}

async fn refusals_logged(app: &TestApp) -> u64 {
    event_log::Entity::find()
        .filter(event_log::Column::Kind.eq(callsaga_activities::admission::ADMISSION_REFUSED))
        .count(&app.app.state.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credits_no_call_and_a_top_up_admits_again() {
    for engine in engines().await {
        let app = app_with(engine, json!({})).await;
        let user = demo_user(&app).await;
        // Spend the balance and every grace credit (10 000 + 500) through the ledger.
        ledger::adjust(
            &app.app.state.db,
            Adjust {
                user_id: user.id,
                call_id: None,
                amount: -(DEMO_CREDITS + user.grace_credits_limit),
                idempotency_key: "spend-all".into(),
                note: None,
            },
        )
        .await
        .unwrap();
        let spent = demo_user(&app).await;
        assert_eq!(
            (spent.credit_balance, spent.grace_credits_used),
            (-500, 500),
            "{engine:?}"
        );

        let refused = new_call_id();
        let answer = ask(&app, &refused).await;
        assert_eq!(answer["error"], refusal_text(Refusal::Credits), "{answer}");
        let row = app.call_row(&refused).await;
        assert_eq!(row.admission.as_deref(), Some("refused_credits"));
        assert_eq!(row.status, "refused");
        assert_eq!(refusals_logged(&app).await, 1);
        // Vapi still reports the refused call; it is recorded, never billed.
        end_with_report(&app, &refused).await;
        let row = app.call_row(&refused).await;
        assert_eq!(row.billing_status.as_deref(), Some("refused"), "{engine:?}");
        assert_eq!(row.charged_credits, Some(0));
        assert_eq!(
            ledger::usage_entries_for_call(&app.app.state.db, row.id)
                .await
                .unwrap(),
            0
        );
        assert_eq!(demo_user(&app).await.credit_balance, -500);

        // With a fallback number the refused call is forwarded there instead.
        set_user(&app, |u| {
            u.fallback_number = Set(Some("+4930123456789".into()))
        })
        .await;
        let answer = ask(&app, &new_call_id()).await;
        assert_eq!(answer["destination"]["type"], "number", "{answer}");
        assert_eq!(answer["destination"]["number"], "+4930123456789");
        assert!(answer.get("assistant").is_none());

        // A top-up (through the admin API) admits calls again.
        let (status, body) = admin(
            &app,
            reqwest::Method::POST,
            &format!("/admin/v1/users/{}/credits", user.id),
            json!({ "amount": 1_000, "idempotency_key": "top-up-1" }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let answer = ask(&app, &new_call_id()).await;
        assert!(admitted(&answer), "{engine:?}: {answer}");
        // A refused call whose assistant-request Vapi sends again (it never got the first
        // answer) and that is admitted now: the caller talks to the agent, so it is billed.
        let retried = new_call_id();
        set_user(&app, |u| u.min_call_credits = Set(Some(1_000_000))).await;
        assert!(!admitted(&ask(&app, &retried).await), "{engine:?}");
        set_user(&app, |u| u.min_call_credits = Set(None)).await;
        assert!(admitted(&ask(&app, &retried).await), "{engine:?}");
        assert_eq!(app.call_row(&retried).await.admission, None, "{engine:?}");
        end_with_report(&app, &retried).await;
        let row = app.call_row(&retried).await;
        assert_ne!(row.billing_status.as_deref(), Some("refused"), "{engine:?}");
        assert_eq!(
            ledger::usage_entries_for_call(&app.app.state.db, row.id)
                .await
                .unwrap(),
            1,
            "{engine:?}"
        );
        let metrics = app.metrics().await;
        assert!(
            metrics.contains("callsaga_admissions_total{outcome=\"refused_credits\"}"),
            "{metrics}"
        );
        ledger::balance_invariant(&app.app.state.db, user.id, DEMO_CREDITS)
            .await
            .unwrap();
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_of_two_admits_two_of_three_and_another_once_one_ends() {
    for engine in engines().await {
        let app = app_with(engine, json!({})).await;
        set_user(&app, |u| u.max_concurrent_calls = Set(Some(2))).await;
        let ids: Vec<String> = (0..3).map(|_| new_call_id()).collect();
        let answers = futures::future::join_all(ids.iter().map(|id| ask(&app, id))).await;
        let admitted_ids: Vec<&String> = ids
            .iter()
            .zip(&answers)
            .filter(|(_, a)| admitted(a))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(admitted_ids.len(), 2, "{engine:?}: {answers:?}");
        let busy = answers.iter().find(|a| !admitted(a)).unwrap();
        assert_eq!(busy["error"], refusal_text(Refusal::Busy));
        assert_eq!(held_slots(&app).await, 2);
        // A retried assistant-request of an admitted call is admitted again, on its own slot.
        assert!(admitted(&ask(&app, admitted_ids[0]).await));
        assert_eq!(held_slots(&app).await, 2);
        // Still two in progress: the caller trying again is still refused.
        assert!(!admitted(&ask(&app, &new_call_id()).await));

        // One call ends (its report applied): its slot is free, and the next call is taken.
        end_with_report(&app, admitted_ids[0]).await;
        assert_eq!(held_slots(&app).await, 1, "{engine:?}");
        let row = app.call_row(admitted_ids[0]).await;
        assert_eq!(row.billing_status.as_deref(), Some("billed"));
        assert_eq!(row.admission, None);
        let third = new_call_id();
        assert!(admitted(&ask(&app, &third).await), "{engine:?}");
        assert_eq!(held_slots(&app).await, 2);
        // The report again (a Vapi retry with other bytes) frees nothing more.
        let mut again: Value =
            serde_json::from_slice(&sample("customer-ended-call.json", admitted_ids[0])).unwrap();
        again["message"]["timestamp"] = 1_763_716_999_999_i64.into();
        app.post_webhook(&serde_json::to_vec(&again).unwrap()).await;
        app.app.state.relay.drain().await.unwrap();
        assert_eq!(held_slots(&app).await, 2);
        assert!(!admitted(&ask(&app, &new_call_id()).await));
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_simultaneous_requests_with_a_cap_of_ten_admit_exactly_ten() {
    for engine in engines().await {
        // A generous answer budget: this test counts admissions, not latency on a busy CI box.
        let app = app_with(engine, json!({ "webhook": { "answer_budget_ms": 6_000 } })).await;
        set_user(&app, |u| u.max_concurrent_calls = Set(Some(10))).await;
        let ids: Vec<String> = (0..50).map(|_| new_call_id()).collect();
        let answers = futures::future::join_all(ids.iter().map(|id| ask(&app, id))).await;
        let admitted_count = answers.iter().filter(|a| admitted(a)).count();
        assert_eq!(admitted_count, 10, "{engine:?}");
        let busy = answers
            .iter()
            .filter(|a| a["error"] == refusal_text(Refusal::Busy))
            .count();
        assert_eq!(
            busy, 40,
            "{engine:?}: every other call hears 'all lines busy'"
        );
        assert_eq!(held_slots(&app).await, 10);
        assert_eq!(refusals_logged(&app).await, 40);
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_report_frees_its_slot_when_the_watchdog_closes_it() {
    for engine in engines().await {
        // No end at all: the watchdog closes the call after `max_call_secs`.
        let app = app_with(
            engine,
            json!({ "calls": { "report_timeout_secs": 1, "max_call_secs": 3, "late_report_window_secs": 1 } }),
        )
        .await;
        set_user(&app, |u| u.max_concurrent_calls = Set(Some(1))).await;
        let silent = new_call_id();
        assert!(admitted(&ask(&app, &silent).await));
        app.post_webhook(&sample("inbound-in-progress.json", &silent))
            .await;
        assert!(
            !admitted(&ask(&app, &new_call_id()).await),
            "the one line is held"
        );
        let result = app.call_result(&silent).await;
        assert!(result.report_missing, "closed by the watchdog");
        assert_eq!(held_slots(&app).await, 0, "{engine:?}");
        assert!(admitted(&ask(&app, &new_call_id()).await), "{engine:?}");
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_assistant_request_counts_against_the_cap() {
    for engine in engines().await {
        let app = app_with(engine, json!({})).await;
        set_user(&app, |u| u.max_concurrent_calls = Set(Some(1))).await;
        // The assistant is set in Vapi: the call's first event is the door's first sight of it.
        let unannounced = new_call_id();
        app.post_webhook(&sample("inbound-in-progress.json", &unannounced))
            .await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while held_slots(&app).await == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{engine:?}: the first event takes a slot"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let answer = ask(&app, &new_call_id()).await;
        assert_eq!(answer["error"], refusal_text(Refusal::Busy), "{answer}");
        end_with_report(&app, &unannounced).await;
        assert_eq!(held_slots(&app).await, 0, "{engine:?}");
        let row = app.call_row(&unannounced).await;
        assert_eq!(row.billing_status.as_deref(), Some("billed"));
        assert!(admitted(&ask(&app, &new_call_id()).await), "{engine:?}");
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_users_calls_are_refused_tools_change_nothing_running_calls_are_billed() {
    for engine in engines().await {
        let app = app_with(engine, json!({ "tools": { "agent_cache_ms": 0 } })).await;
        // A call in progress before the deactivation.
        let running = new_call_id();
        assert!(admitted(&ask(&app, &running).await));
        app.post_webhook(&sample("inbound-in-progress.json", &running))
            .await;

        let user = demo_user(&app).await;
        let (status, body) = admin(
            &app,
            reqwest::Method::POST,
            &format!("/admin/v1/users/{}/deactivate", user.id),
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{body}");

        // Refused, and not forwarded even with a fallback number.
        set_user(&app, |u| {
            u.fallback_number = Set(Some("+4930123456789".into()))
        })
        .await;
        let refused = new_call_id();
        let answer = ask(&app, &refused).await;
        assert_eq!(answer["error"], refusal_text(Refusal::Inactive), "{answer}");
        assert_eq!(
            app.call_row(&refused).await.admission.as_deref(),
            Some("refused_inactive")
        );

        // A booking in the running call: a speakable error, no appointment.
        let response = app
            .post_webhook(&sample("book-appointment.json", &running))
            .await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer["results"][0]["error"],
            speech::tool_refused(Language::En),
            "{answer}"
        );
        assert!(answer["results"][0].get("result").is_none());
        assert_eq!(
            appointments::Entity::find()
                .count(&app.app.state.db)
                .await
                .unwrap(),
            0
        );

        // The running call still finishes and is billed.
        end_with_report(&app, &running).await;
        let row = app.call_row(&running).await;
        assert_eq!(row.billing_status.as_deref(), Some("billed"), "{engine:?}");
        assert!(row.charged_credits.unwrap_or(0) > 0);
        assert_eq!(
            credit_ledger::Entity::find()
                .filter(credit_ledger::Column::Kind.eq("usage"))
                .count(&app.app.state.db)
                .await
                .unwrap(),
            1
        );
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_settings_are_set_and_checked_by_the_admin_api() {
    let app = app_with(Engine::Sqlite, json!({})).await;
    let user = demo_user(&app).await;
    let path = format!("/admin/v1/users/{}", user.id);
    for (body, field) in [
        (
            json!({ "max_concurrent_calls": -1 }),
            "max_concurrent_calls",
        ),
        (
            json!({ "max_concurrent_calls": 10_001 }),
            "max_concurrent_calls",
        ),
        (json!({ "fallback_number": "0301234" }), "fallback_number"),
        (json!({ "min_call_credits": -5 }), "min_call_credits"),
    ] {
        let (status, answer) = admin(&app, reqwest::Method::PATCH, &path, body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, answer) = admin(
        &app,
        reqwest::Method::PATCH,
        &path,
        json!({ "max_concurrent_calls": 3, "fallback_number": "+4930123456789", "min_call_credits": 50 }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["max_concurrent_calls"], 3);
    assert_eq!(answer["fallback_number"], "+4930123456789");
    assert_eq!(answer["min_call_credits"], 50);
    // Null takes the cap away again.
    let (status, answer) = admin(
        &app,
        reqwest::Method::PATCH,
        &path,
        json!({ "max_concurrent_calls": null }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["max_concurrent_calls"], Value::Null);
    assert_eq!(answer["min_call_credits"], 50);
    app.shutdown().await;
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .request(method, format!("{}{path}", app.app.base_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("admin request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// PostgreSQL with `call_slots` locked (a slow database): the assistant-request gets the
/// speakable error within its budget, and the slot its admission took once the lock was gone
/// is given back at once (nobody heard "admitted"), so the one line is free for the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_past_the_budget_gives_its_slot_back() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if !engines().await.contains(&Engine::Postgres) {
        eprintln!("SKIPPED: PostgreSQL unreachable");
        return;
    }
    let url = crate::helpers::fresh_database_url(Engine::Postgres).await;
    let app = app_with(
        Engine::Postgres,
        json!({ "database_url": url, "webhook": { "answer_budget_ms": 500 } }),
    )
    .await;
    set_user(&app, |u| u.max_concurrent_calls = Set(Some(1))).await;
    let locker = sea_orm::Database::connect(&url).await.unwrap();
    let txn = locker.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE call_slots IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let late = new_call_id();
    let started = std::time::Instant::now();
    let answer = ask(&app, &late).await;
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("Sorry")),
        "{answer}"
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(1500));
    txn.rollback().await.unwrap();

    // The admission finishes behind the answer, takes the slot, and gives it back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let slot = call_slots::Entity::find_by_id(late.clone())
            .one(&app.app.state.db)
            .await
            .unwrap();
        if slot.as_ref().is_some_and(|s| s.released_at.is_some()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "slot given back: {slot:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(held_slots(&app).await, 0);
    assert!(admitted(&ask(&app, &new_call_id()).await));
    app.shutdown().await;
}
