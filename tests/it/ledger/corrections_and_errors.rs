//! Refunds and adjustments are new entries; bad requests and reused keys are permanent
//! errors; the invariant check catches tampering.

use crate::helpers::engines;
use callsaga_activities::ledger::{self, Adjust, AdjustOutcome, ChargeCall, LedgerError, Refund};
use callsaga_entity::{credit_ledger, users};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

use super::{
    NewUser, assert_books, charge, entries, insert_call, insert_user, ledger_db, top_up, user,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_and_adjustments_are_new_entries() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 1_000;
        let user_id = insert_user(&db, NewUser::with_balance(start)).await;
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
        let new = NewUser::with_balance(start);
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
        let user_id = insert_user(&db, NewUser::with_balance(start)).await;
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
