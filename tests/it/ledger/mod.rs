//! The credit ledger on SQLite and PostgreSQL, through the production pool settings
//! (`callsaga_api::db::connect`: WAL and a 10 s busy timeout on SQLite): concurrent charges of
//! one user, one charge raced against itself, grace credits, the low-balance flag, refunds and
//! adjustments, and the errors. Every test ends with the balance invariant.

mod concurrency;
mod corrections_and_errors;
mod grace_and_low_balance;

use crate::helpers::{Engine, fresh_database_url};
use callsaga_activities::ledger::{self, ChargeCall, TopUp};
use callsaga_entity::{calls, credit_ledger, event_log, users};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
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

impl NewUser {
    /// A user with `balance` credits, no grace credits and no low-balance threshold.
    fn with_balance(balance: i64) -> Self {
        Self {
            balance,
            grace_limit: 0,
            threshold: 0,
        }
    }
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
        max_concurrent_calls: Set(None),
        fallback_number: Set(None),
        min_call_credits: Set(None),
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
