//! Concurrent charges of one user all count; one charge raced against itself counts once.

use crate::helpers::engines;
use callsaga_activities::ledger::{self, ChargeOutcome};
use std::sync::Arc;
use tokio::sync::Barrier;

use super::{NewUser, assert_books, charge, entries, insert_call, insert_user, ledger_db, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_charges_of_one_user_all_count() {
    for engine in engines().await {
        let db = ledger_db(engine).await;
        let start = 100_000;
        let user_id = insert_user(&db, NewUser::with_balance(start)).await;
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
        let user_id = insert_user(&db, NewUser::with_balance(start)).await;
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
