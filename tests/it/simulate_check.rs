//! The invariant checker of `callsaga simulate` / `callsaga check` on a real database: a clean
//! one passes; a doubled appointment, a balance moved without a ledger entry, a second usage
//! charge and a stuck inbox event each fail their line, naming what is wrong.

use crate::helpers::{engines, spawn_app};
use callsaga_entity::{agents, appointments, calls, credit_ledger, users, webhook_inbox};
use callsaga_simulate::invariants::db::{Scope, check, starting_balances};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use uuid::Uuid;

fn line<'a>(
    lines: &'a [callsaga_simulate::invariants::Line],
    prefix: &str,
) -> &'a callsaga_simulate::invariants::Line {
    lines
        .iter()
        .find(|l| l.name.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?}"))
}

fn appointment(
    agent: Uuid,
    call: Uuid,
    start: chrono::DateTime<Utc>,
    key: &str,
) -> appointments::ActiveModel {
    let now = Utc::now();
    appointments::ActiveModel {
        id: Set(Uuid::now_v7()),
        agent_id: Set(agent),
        call_id: Set(Some(call)),
        calendar_event_id: Set(Some(format!("evt-{key}"))),
        starts_at: Set(start),
        ends_at: Set(start + Duration::minutes(30)),
        timezone: Set("Europe/Berlin".into()),
        status: Set("booked".into()),
        customer_name: Set("Anna Koch".into()),
        customer_phone: Set(Some("+4915100000000".into())),
        caller_number: Set(Some("+4915100000000".into())),
        customer_email: Set(None),
        notes: Set(None),
        idempotency_key: Set(key.into()),
        created_at: Set(now),
        updated_at: Set(now),
        email_failed_at: Set(None),
        email_error: Set(None),
    }
}

#[tokio::test]
async fn the_checker_finds_doubled_appointments_ledger_mismatches_double_charges_and_stuck_events()
{
    for engine in engines().await {
        let app = spawn_app(engine).await;
        let db = &app.app.state.db;
        let agent = agents::Entity::find()
            .one(db)
            .await
            .expect("agent")
            .expect("demo agent");
        let user = users::Entity::find()
            .one(db)
            .await
            .expect("user")
            .expect("demo user");
        let now = Utc::now();
        let call = calls::ActiveModel {
            id: Set(Uuid::now_v7()),
            vapi_call_id: Set("sim-check-call".into()),
            agent_id: Set(Some(agent.id)),
            user_id: Set(Some(user.id)),
            status: Set("ended".into()),
            billing_status: Set(Some("billed".into())),
            charged_credits: Set(Some(10)),
            workflow_id: Set("call-sim-check-call".into()),
            report_missing: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("call");
        let start = (now + Duration::days(3))
            .date_naive()
            .and_hms_opt(9, 0, 0)
            .expect("time")
            .and_utc();
        appointment(agent.id, call.id, start, "k1")
            .insert(db)
            .await
            .expect("first");
        appointment(agent.id, call.id, start + Duration::hours(1), "k2")
            .insert(db)
            .await
            .expect("second");
        let charge = |key: &str, after: i64| credit_ledger::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user.id),
            kind: Set("usage".into()),
            amount: Set(-10),
            balance_after: Set(after),
            grace_used: Set(0),
            call_id: Set(Some(call.id)),
            idempotency_key: Set(key.into()),
            note: Set(None),
            created_at: Set(Utc::now()),
        };
        charge("call:sim-check-call:usage", user.credit_balance - 10)
            .insert(db)
            .await
            .expect("charge");
        let mut u = user.clone().into_active_model();
        u.credit_balance = Set(user.credit_balance - 10);
        u.update(db).await.expect("balance");
        let starting = starting_balances(db).await.expect("starting");
        assert_eq!(starting.get(&user.id), Some(&user.credit_balance));
        let scope = Scope {
            starting_balances: Some(starting.clone()),
            ..Default::default()
        };

        let clean = check(db, &scope).await.expect("check");
        assert!(
            clean.iter().all(|l| l.pass),
            "a consistent database passes: {clean:#?}"
        );
        assert_eq!(line(&clean, "no agent has overlapping").checked, 2);

        // A doubled appointment: the same slot booked again. The schema refuses it (a trigger on
        // SQLite, an exclusion constraint on PostgreSQL), so the test removes that guard to see
        // the checker find what the guard would have stopped.
        let unguard: &[&str] = match engine {
            crate::helpers::Engine::Sqlite => &[
                "DROP TRIGGER IF EXISTS appointments_no_overlap_insert",
                "DROP TRIGGER IF EXISTS appointments_no_overlap_update",
            ],
            crate::helpers::Engine::Postgres => {
                &["ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_no_overlap"]
            }
        };
        for sql in unguard {
            db.execute_unprepared(sql)
                .await
                .expect("drop the overlap guard");
        }
        appointment(agent.id, call.id, start + Duration::minutes(15), "k3")
            .insert(db)
            .await
            .expect("overlap");
        // A balance moved without its ledger entry.
        let mut u = users::Entity::find_by_id(user.id)
            .one(db)
            .await
            .expect("user")
            .expect("user")
            .into_active_model();
        u.credit_balance = Set(user.credit_balance - 25);
        u.update(db).await.expect("balance");
        // A second usage charge for the same call (a different key).
        charge("call:sim-check-call:usage-again", user.credit_balance - 20)
            .insert(db)
            .await
            .expect("charge 2");
        // An inbox event left pending.
        let inbox = webhook_inbox::ActiveModel {
            vapi_call_id: Set("sim-check-stuck".into()),
            message_type: Set("status-update".into()),
            body_sha256: Set(format!("{:064}", 7)),
            payload: Set("{}".into()),
            received_at: Set(now),
            status: Set("pending".into()),
            attempts: Set(0),
            ..Default::default()
        };
        webhook_inbox::Entity::insert(inbox)
            .exec_without_returning(db)
            .await
            .expect("inbox");

        let broken = check(db, &scope).await.expect("check");
        let overlap = line(&broken, "no agent has overlapping");
        assert!(
            !overlap.pass
                && overlap.violations[0]
                    .contains("call sim-check-call (workflow call-sim-check-call)"),
            "{overlap:?}"
        );
        let books = line(&broken, "balance = starting balance");
        assert!(
            !books.pass && books.violations[0].contains(&user.id.to_string()),
            "{books:?}"
        );
        let charges = line(&broken, "at most one usage charge");
        assert!(
            !charges.pass
                && charges
                    .violations
                    .iter()
                    .any(|v| v.contains("2 usage charges")),
            "{charges:?}"
        );
        let inbox = line(&broken, "the inbox has nothing pending");
        assert!(
            !inbox.pass && inbox.violations[0].contains("sim-check-stuck"),
            "{inbox:?}"
        );
        // `callsaga check` (no starting balances known) still sees the chain broken.
        let unscoped = check(db, &Scope::default()).await.expect("check");
        assert!(!line(&unscoped, "balance = starting balance").pass);
        // An expected poison call's dead events are not a failure, but they must be dead.
        let scope = Scope {
            expect_dead: ["sim-check-stuck".to_owned()].into(),
            ..scope
        };
        let poison = check(db, &scope).await.expect("check");
        assert!(
            !line(&poison, "poison calls end up dead").pass,
            "a pending event is not dead"
        );
        app.shutdown().await;
    }
}
