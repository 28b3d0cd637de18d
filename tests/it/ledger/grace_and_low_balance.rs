//! Grace credits cover and then cap a charge; the low-balance flag is set once per crossing.

use crate::helpers::engines;
use callsaga_activities::ledger::{
    self, ChargeCall, ChargeOutcome, EVENT_LOW_BALANCE_CROSSED, EVENT_LOW_BALANCE_RESET,
    EVENT_UNCOLLECTED,
};

use super::{
    NewUser, assert_books, charge, entries, events, insert_call, insert_user, ledger_db, top_up,
    user,
};

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
