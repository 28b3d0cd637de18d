//! The credit ledger on SQLite and PostgreSQL, through the production pool settings
//! (`callsaga_api::db::connect`: WAL and a 10 s busy timeout on SQLite): concurrent charges of
//! one user, one charge raced against itself, grace credits, the low-balance flag, refunds and
//! adjustments, and the errors. Every test ends with the balance invariant.

use crate::helpers::{Engine, engines, fresh_database_url};
use callsaga_activities::ledger::{
    self, Adjust, AdjustOutcome, ChargeCall, ChargeOutcome, EVENT_LOW_BALANCE_CROSSED,
    EVENT_LOW_BALANCE_RESET, EVENT_UNCOLLECTED, LedgerError, Refund, TopUp,
};
use callsaga_entity::{calls, credit_ledger, event_log, users};
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

/// A fresh, migrated database behind the pool the application uses.
async fn ledger_db(engine: Engine) -> DatabaseConnection {
    let url = fresh_database_url(engine).await;
    let settings = callsaga_api::Settings::from_overrides(serde_json::json!({
        "database_url": url,
    }))
    .expect("settings");
    callsaga_api::db::connect_and_migrate(&settings)
        .await
        .expect("database")
}

#[derive(Clone, Copy)]
struct NewUser {
    balance: i64,
    grace_limit: i64,
    threshold: i64,
}

async fn insert_user(db: &DatabaseConnection, u: NewUser) -> Uuid {
    let id = Uuid::new_v4();
    let now = Utc::now();
    users::Entity::insert(users::ActiveModel {
        id: Set(id),
        email: Set(format!("{}@example.test", id.simple())),
        name: Set("Ledger Test".into()),
        credit_balance: Set(u.balance),
        grace_credits_used: Set(0),
        grace_credits_limit: Set(u.grace_limit),
        low_balance_threshold: Set(u.threshold),
        low_balance_notified: Set(false),
        timezone: Set("Europe/Berlin".into()),
        locale: Set("de-DE".into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .expect("insert user");
    id
}

async fn insert_call(db: &DatabaseConnection, user_id: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    let vapi_call_id = Uuid::new_v4().to_string();
    let now = Utc::now();
    calls::Entity::insert(calls::ActiveModel {
        id: Set(id),
        workflow_id: Set(format!("call-{vapi_call_id}")),
        vapi_call_id: Set(vapi_call_id),
        user_id: Set(Some(user_id)),
        status: Set("ended".into()),
        report_missing: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .expect("insert call");
    id
}

async fn user(db: &DatabaseConnection, id: Uuid) -> users::Model {
    users::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("query user")
        .expect("user exists")
}

async fn entries(db: &DatabaseConnection, user_id: Uuid) -> Vec<credit_ledger::Model> {
    let mut rows = credit_ledger::Entity::find()
        .filter(credit_ledger::Column::UserId.eq(user_id))
        .all(db)
        .await
        .expect("query entries");
    rows.sort_by_key(|e| (e.created_at, e.id));
    rows
}

async fn events(db: &DatabaseConnection, user_id: Uuid, kind: &str) -> Vec<event_log::Model> {
    event_log::Entity::find()
        .filter(event_log::Column::UserId.eq(user_id))
        .filter(event_log::Column::Kind.eq(kind))
        .all(db)
        .await
        .expect("query events")
}

async fn assert_books(db: &DatabaseConnection, user_id: Uuid, starting: i64, engine: Engine) {
    if let Err(violation) = ledger::balance_invariant(db, user_id, starting).await {
        panic!("{engine:?}: balance invariant: {violation}");
    }
}

fn charge(user_id: Uuid, call_id: Uuid, amount: i64) -> ChargeCall {
    ChargeCall {
        user_id,
        call_id,
        amount,
        idempotency_key: format!("call:{call_id}:usage"),
        note: None,
    }
}

fn top_up(user_id: Uuid, amount: i64, key: &str) -> TopUp {
    TopUp {
        user_id,
        amount,
        idempotency_key: key.to_owned(),
        note: Some("test top-up".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_charges_of_one_user_all_count() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 100_000;
        let user_id = insert_user(
            &db,
            NewUser {
                balance: start,
                grace_limit: 0,
                threshold: 0,
            },
        )
        .await;
        let mut call_ids = Vec::new();
        for _ in 0..50 {
            call_ids.push(insert_call(&db, user_id).await);
        }

        // Distinct amounts (1..=50), so a lost update cannot hide behind an equal one.
        let barrier = Arc::new(Barrier::new(call_ids.len()));
        let tasks: Vec<_> = call_ids
            .iter()
            .zip(1_i64..)
            .map(|(&call_id, amount)| {
                let db = db.clone();
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    ledger::charge_call(&db, charge(user_id, call_id, amount)).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            let outcome = task
                .await
                .expect("task")
                .unwrap_or_else(|e| panic!("{engine:?}: concurrent charge failed: {e} ({e:?})"));
            outcomes.push(outcome);
        }

        let total: i64 = (1..=50).sum();
        assert_eq!(total, 1275);
        assert!(outcomes.iter().all(|o| !o.duplicate && o.uncollected == 0));
        assert_eq!(outcomes.iter().map(|o| o.charged).sum::<i64>(), total);
        let mut afters: Vec<i64> = outcomes.iter().map(|o| o.balance_after).collect();
        afters.sort_unstable();
        afters.dedup();
        assert_eq!(
            afters.len(),
            50,
            "{engine:?}: every charge saw its own balance"
        );
        assert_eq!(afters[0], start - total, "{engine:?}: the last charge");

        assert_eq!(
            user(&db, user_id).await.credit_balance,
            start - total,
            "{engine:?}"
        );
        assert_eq!(entries(&db, user_id).await.len(), 50, "{engine:?}");
        for &call_id in &call_ids {
            assert_eq!(
                ledger::usage_entries_for_call(&db, call_id)
                    .await
                    .expect("count"),
                1,
                "{engine:?}"
            );
        }
        assert_books(&db, user_id, start, engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_charge_ten_times_at_once_is_charged_once() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 1_000;
        let user_id = insert_user(
            &db,
            NewUser {
                balance: start,
                grace_limit: 0,
                threshold: 0,
            },
        )
        .await;
        let call_id = insert_call(&db, user_id).await;

        let barrier = Arc::new(Barrier::new(10));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let db = db.clone();
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    ledger::charge_call(&db, charge(user_id, call_id, 42)).await
                })
            })
            .collect();
        let mut outcomes: Vec<ChargeOutcome> = Vec::new();
        for task in tasks {
            outcomes.push(
                task.await
                    .expect("task")
                    .unwrap_or_else(|e| panic!("{engine:?}: twin failed: {e} ({e:?})")),
            );
        }
        let first: Vec<_> = outcomes.iter().filter(|o| !o.duplicate).collect();
        assert_eq!(first.len(), 1, "{engine:?}: exactly one twin charges");
        let first = *first[0];
        for o in &outcomes {
            assert_eq!(
                ChargeOutcome {
                    duplicate: false,
                    ..*o
                },
                first,
                "{engine:?}: every twin gets the first outcome"
            );
        }
        assert_eq!((first.charged, first.balance_after), (42, start - 42));

        // A later retry, even with a different amount, changes nothing.
        let retry = ledger::charge_call(&db, charge(user_id, call_id, 99))
            .await
            .expect("retry");
        assert!(retry.duplicate);
        assert_eq!((retry.entry_id, retry.requested), (first.entry_id, 42));

        assert_eq!(
            ledger::usage_entries_for_call(&db, call_id)
                .await
                .expect("count"),
            1
        );
        assert_eq!(entries(&db, user_id).await.len(), 1, "{engine:?}");
        assert_eq!(user(&db, user_id).await.credit_balance, start - 42);
        assert_books(&db, user_id, start, engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grace_credits_cover_a_charge_then_cap_the_next_and_record_the_rest() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 100;
        let user_id = insert_user(
            &db,
            NewUser {
                balance: start,
                grace_limit: 200,
                threshold: -1_000,
            },
        )
        .await;
        let (a, b, c) = (
            insert_call(&db, user_id).await,
            insert_call(&db, user_id).await,
            insert_call(&db, user_id).await,
        );

        // 100 from the balance, 150 from grace.
        let first = ledger::charge_call(&db, charge(user_id, a, 250))
            .await
            .expect("first charge");
        assert_eq!(
            (first.charged, first.grace_used, first.uncollected),
            (250, 150, 0),
            "{engine:?}"
        );
        assert_eq!(first.balance_after, -150);
        let u = user(&db, user_id).await;
        assert_eq!((u.credit_balance, u.grace_credits_used), (-150, 150));

        // 50 grace credits left: 50 charged, 50 uncollected.
        let second = ledger::charge_call(
            &db,
            ChargeCall {
                note: Some("call B".into()),
                ..charge(user_id, b, 100)
            },
        )
        .await
        .expect("second charge");
        assert_eq!(
            (
                second.requested,
                second.charged,
                second.grace_used,
                second.uncollected
            ),
            (100, 50, 50, 50),
            "{engine:?}"
        );
        assert_eq!(second.balance_after, -200);
        let u = user(&db, user_id).await;
        assert_eq!((u.credit_balance, u.grace_credits_used), (-200, 200));

        let rows = entries(&db, user_id).await;
        let note = rows[1].note.as_deref().unwrap_or_default();
        assert!(
            note.starts_with("call B; ") && note.contains("uncollected: 50 of 100"),
            "{engine:?}: {note}"
        );
        let logged = events(&db, user_id, EVENT_UNCOLLECTED).await;
        assert_eq!(logged.len(), 1, "{engine:?}");
        assert_eq!(logged[0].call_id, Some(b));
        assert_eq!(logged[0].data["uncollected"], 50);
        assert_eq!(logged[0].data["requested"], 100);
        assert_eq!(logged[0].data["entry_id"], rows[1].id.to_string());

        // The retry gets the first outcome back, uncollected part included.
        let retry = ledger::charge_call(&db, charge(user_id, b, 100))
            .await
            .expect("retry");
        assert_eq!(
            retry,
            ChargeOutcome {
                duplicate: true,
                ..second
            }
        );

        // Nothing left: the call is still recorded (a zero entry), all of it uncollected.
        let third = ledger::charge_call(&db, charge(user_id, c, 30))
            .await
            .expect("third charge");
        assert_eq!((third.charged, third.uncollected), (0, 30), "{engine:?}");
        assert_eq!(third.balance_after, -200);
        assert_eq!(
            ledger::usage_entries_for_call(&db, c).await.expect("count"),
            1
        );
        assert_eq!(events(&db, user_id, EVENT_UNCOLLECTED).await.len(), 2);

        // A top-up repays grace first.
        let topped = ledger::top_up(&db, top_up(user_id, 300, "topup:grace-test"))
            .await
            .expect("top-up");
        assert_eq!(
            (topped.grace_repaid, topped.balance_after),
            (200, 100),
            "{engine:?}"
        );
        let u = user(&db, user_id).await;
        assert_eq!((u.credit_balance, u.grace_credits_used), (100, 0));

        let rows = entries(&db, user_id).await;
        let graces: Vec<i64> = rows.iter().map(|e| e.grace_used).collect();
        assert_eq!(graces, [150, 50, 0, -200], "{engine:?}");
        assert_books(&db, user_id, start, engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_low_balance_flag_is_set_once_per_downward_crossing() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 1_000;
        let user_id = insert_user(
            &db,
            NewUser {
                balance: start,
                grace_limit: 0,
                threshold: 500,
            },
        )
        .await;

        let mut crossing_call = None;
        // 1000 → 700 → 400 (crossed) → 300 → 200: one crossing.
        for (amount, crossed) in [(300, false), (300, true), (100, false), (100, false)] {
            let call_id = insert_call(&db, user_id).await;
            let o = ledger::charge_call(&db, charge(user_id, call_id, amount))
                .await
                .expect("charge");
            assert_eq!(
                o.low_balance_crossed, crossed,
                "{engine:?}: {amount} → {}",
                o.balance_after
            );
            if crossed {
                crossing_call = Some((call_id, o));
            }
        }
        assert!(user(&db, user_id).await.low_balance_notified);
        assert_eq!(
            events(&db, user_id, EVENT_LOW_BALANCE_CROSSED).await.len(),
            1
        );

        // A retry of the crossing charge still says so: the email step keys on it.
        let (call_id, crossing) = crossing_call.expect("one crossing");
        let retry = ledger::charge_call(&db, charge(user_id, call_id, 300))
            .await
            .expect("retry");
        assert!(retry.duplicate && retry.low_balance_crossed);
        assert_eq!(retry.entry_id, crossing.entry_id);

        // 200 → 400: still below, the flag stays; 400 → 600: reset.
        let below = ledger::top_up(&db, top_up(user_id, 200, "topup:1"))
            .await
            .expect("top-up");
        assert!(!below.low_balance_reset, "{engine:?}");
        assert!(user(&db, user_id).await.low_balance_notified);
        let back = ledger::top_up(&db, top_up(user_id, 200, "topup:2"))
            .await
            .expect("top-up");
        assert!(back.low_balance_reset, "{engine:?}");
        assert_eq!(back.balance_after, 600);
        assert!(!user(&db, user_id).await.low_balance_notified);
        assert_eq!(events(&db, user_id, EVENT_LOW_BALANCE_RESET).await.len(), 1);

        // 600 → 550 → 450 (crossed again).
        for (amount, crossed) in [(50, false), (100, true), (100, false)] {
            let call_id = insert_call(&db, user_id).await;
            let o = ledger::charge_call(&db, charge(user_id, call_id, amount))
                .await
                .expect("charge");
            assert_eq!(o.low_balance_crossed, crossed, "{engine:?}: {amount}");
        }
        assert!(user(&db, user_id).await.low_balance_notified);
        assert_eq!(
            events(&db, user_id, EVENT_LOW_BALANCE_CROSSED).await.len(),
            2
        );
        assert_books(&db, user_id, start, engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_and_adjustments_are_new_entries() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 1_000;
        let user_id = insert_user(
            &db,
            NewUser {
                balance: start,
                grace_limit: 0,
                threshold: 0,
            },
        )
        .await;
        let (a, b) = (
            insert_call(&db, user_id).await,
            insert_call(&db, user_id).await,
        );

        // Call A: the watchdog billed an estimate of 120; the late report says 100.
        let estimate = ledger::charge_call(&db, charge(user_id, a, 120))
            .await
            .expect("charge A");
        let correction = ledger::adjust(
            &db,
            Adjust {
                user_id,
                call_id: Some(a),
                amount: 20,
                idempotency_key: format!("call:{a}:adjust:report"),
                note: Some("late report: 100 credits".into()),
            },
        )
        .await
        .expect("adjust A");
        let AdjustOutcome::Credited(credited) = correction else {
            panic!("{engine:?}: a positive adjustment credits: {correction:?}");
        };
        assert_eq!((credited.amount, credited.balance_after), (20, 900));

        // Call B: billed 60, the report says 90.
        ledger::charge_call(&db, charge(user_id, b, 60))
            .await
            .expect("charge B");
        let more = ledger::adjust(
            &db,
            Adjust {
                user_id,
                call_id: Some(b),
                amount: -30,
                idempotency_key: format!("call:{b}:adjust:report"),
                note: None,
            },
        )
        .await
        .expect("adjust B");
        let AdjustOutcome::Debited(debited) = more else {
            panic!("{engine:?}: a negative adjustment debits: {more:?}");
        };
        assert_eq!((debited.charged, debited.balance_after), (30, 810));
        assert_eq!(more.balance_after(), 810);

        // Refund call A in full.
        let refund = Refund {
            user_id,
            call_id: Some(a),
            amount: 100,
            idempotency_key: format!("call:{a}:refund"),
            note: Some("customer complaint".into()),
        };
        let refunded = ledger::refund(&db, refund.clone()).await.expect("refund");
        assert_eq!(refunded.balance_after, 910, "{engine:?}");
        let again = ledger::refund(&db, refund).await.expect("refund retry");
        assert_eq!(
            again,
            ledger::CreditOutcome {
                duplicate: true,
                ..refunded
            }
        );
        let adjust_retry = ledger::adjust(
            &db,
            Adjust {
                user_id,
                call_id: Some(b),
                amount: -30,
                idempotency_key: format!("call:{b}:adjust:report"),
                note: None,
            },
        )
        .await
        .expect("adjust retry");
        assert!(adjust_retry.duplicate());
        assert_eq!(adjust_retry.entry_id(), more.entry_id());

        // Nothing was edited: the original usage entry is as written.
        let rows = entries(&db, user_id).await;
        let summary: Vec<(&str, i64, i64)> = rows
            .iter()
            .map(|e| (e.kind.as_str(), e.amount, e.balance_after))
            .collect();
        assert_eq!(
            summary,
            [
                ("usage", -120, 880),
                ("adjustment", 20, 900),
                ("usage", -60, 840),
                ("adjustment", -30, 810),
                ("refund", 100, 910),
            ],
            "{engine:?}"
        );
        assert_eq!(rows[0].id, estimate.entry_id);
        assert_eq!(rows[4].call_id, Some(a));
        for call_id in [a, b] {
            assert_eq!(
                ledger::usage_entries_for_call(&db, call_id)
                    .await
                    .expect("count"),
                1
            );
        }
        assert_eq!(user(&db, user_id).await.credit_balance, 910);
        assert_books(&db, user_id, start, engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_and_reused_keys_are_permanent_errors() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 500;
        let new = NewUser {
            balance: start,
            grace_limit: 0,
            threshold: 0,
        };
        let (alice, bob) = (insert_user(&db, new).await, insert_user(&db, new).await);
        let call = insert_call(&db, alice).await;

        for amount in [0, -5, ledger::MAX_AMOUNT + 1] {
            let err = ledger::charge_call(&db, charge(alice, call, amount))
                .await
                .expect_err("invalid amount");
            assert!(
                matches!(err, LedgerError::Invalid(_)),
                "{engine:?}: {err:?}"
            );
        }
        let err = ledger::top_up(&db, top_up(alice, 10, "  "))
            .await
            .expect_err("empty key");
        assert!(matches!(err, LedgerError::Invalid(_)), "{err:?}");
        let err = ledger::adjust(
            &db,
            Adjust {
                user_id: alice,
                call_id: None,
                amount: 0,
                idempotency_key: "adjust:zero".into(),
                note: None,
            },
        )
        .await
        .expect_err("zero adjustment");
        assert!(matches!(err, LedgerError::Invalid(_)), "{err:?}");

        let nobody = Uuid::new_v4();
        let err = ledger::charge_call(&db, charge(nobody, call, 10))
            .await
            .expect_err("unknown user");
        assert!(
            matches!(err, LedgerError::UserNotFound(id) if id == nobody),
            "{engine:?}: {err:?}"
        );
        let no_call = Uuid::new_v4();
        let err = ledger::charge_call(&db, charge(alice, no_call, 10))
            .await
            .expect_err("unknown call");
        assert!(
            matches!(err, LedgerError::CallNotFound(id) if id == no_call),
            "{engine:?}: {err:?}"
        );

        // A key used by a top-up cannot be reused by a charge.
        ledger::top_up(&db, top_up(alice, 10, "shared:topup"))
            .await
            .expect("top-up");
        let err = ledger::charge_call(
            &db,
            ChargeCall {
                idempotency_key: "shared:topup".into(),
                ..charge(alice, call, 10)
            },
        )
        .await
        .expect_err("key reused for another kind");
        assert!(matches!(err, LedgerError::KeyConflict { .. }), "{err:?}");

        // Two users racing for one key: one wins, its twins are duplicates, the other user's
        // attempts are conflicts — whether they lose at the lookup or at the unique index.
        let barrier = Arc::new(Barrier::new(8));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let db = db.clone();
                let barrier = Arc::clone(&barrier);
                let user_id = if i % 2 == 0 { alice } else { bob };
                tokio::spawn(async move {
                    barrier.wait().await;
                    let result = ledger::top_up(&db, top_up(user_id, 7, "shared:race")).await;
                    (user_id, result)
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("task"));
        }
        let winners: Vec<Uuid> = results
            .iter()
            .filter(|(_, r)| matches!(r, Ok(o) if !o.duplicate))
            .map(|(u, _)| *u)
            .collect();
        assert_eq!(winners.len(), 1, "{engine:?}: {results:?}");
        for (user_id, result) in &results {
            match result {
                Ok(_) => assert_eq!(*user_id, winners[0], "{engine:?}"),
                Err(LedgerError::KeyConflict { .. }) => {
                    assert_ne!(*user_id, winners[0], "{engine:?}");
                }
                Err(err) => panic!("{engine:?}: unexpected {err} ({err:?})"),
            }
        }

        for err in [
            LedgerError::Invalid(String::new()),
            LedgerError::UserNotFound(nobody),
            LedgerError::CallNotFound(no_call),
            LedgerError::KeyConflict { key: "k".into() },
        ] {
            assert!(!err.is_transient());
        }
        let (alice_extra, bob_extra) = if winners[0] == alice { (7, 0) } else { (0, 7) };
        assert_eq!(
            user(&db, alice).await.credit_balance,
            start + 10 + alice_extra
        );
        assert_eq!(user(&db, bob).await.credit_balance, start + bob_extra);
        assert_eq!(
            credit_ledger::Entity::find()
                .count(&db)
                .await
                .expect("count"),
            2,
            "{engine:?}: only the two top-ups were written"
        );
        assert_books(&db, alice, start, engine).await;
        assert_books(&db, bob, start, engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invariant_check_catches_tampering() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 300;
        let user_id = insert_user(
            &db,
            NewUser {
                balance: start,
                grace_limit: 0,
                threshold: 0,
            },
        )
        .await;
        for amount in [10, 20] {
            let call_id = insert_call(&db, user_id).await;
            ledger::charge_call(&db, charge(user_id, call_id, amount))
                .await
                .expect("charge");
        }
        assert_books(&db, user_id, start, engine).await;
        assert!(
            ledger::balance_invariant(&db, user_id, start + 1)
                .await
                .is_err()
        );

        // A balance changed behind the ledger's back.
        users::Entity::update_many()
            .col_expr(
                users::Column::CreditBalance,
                Expr::col(users::Column::CreditBalance).sub(1),
            )
            .filter(users::Column::Id.eq(user_id))
            .exec(&db)
            .await
            .expect("tamper");
        let err = ledger::balance_invariant(&db, user_id, start)
            .await
            .expect_err("tampered balance");
        assert!(err.contains("sum of 2 entries"), "{engine:?}: {err}");

        // Balance repaired, but an entry's balance_after broken: the chain catches it.
        users::Entity::update_many()
            .col_expr(
                users::Column::CreditBalance,
                Expr::col(users::Column::CreditBalance).add(1),
            )
            .filter(users::Column::Id.eq(user_id))
            .exec(&db)
            .await
            .expect("repair");
        let first = entries(&db, user_id).await[0].id;
        credit_ledger::Entity::update_many()
            .col_expr(credit_ledger::Column::BalanceAfter, Expr::value(1_i64))
            .filter(credit_ledger::Column::Id.eq(first))
            .exec(&db)
            .await
            .expect("tamper entry");
        let err = ledger::balance_invariant(&db, user_id, start)
            .await
            .expect_err("broken chain");
        assert!(err.contains("balance_after 1"), "{engine:?}: {err}");
    }
}
