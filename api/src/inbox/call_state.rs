//! Delivery state of the calls whose events could not be delivered (`inbox_call_state`).
//!
//! A failing call must cost the other calls nothing. So when a delivery fails, the call's inbox
//! rows leave `pending` (they become `retry`): the relay's scan of pending rows never reads
//! them, however many there are, and the call comes back only when its own backoff is due
//! ([`due`]). Attempts are counted per call; a call that keeps being rejected, or that has been
//! failing for longer than its age budget, becomes `dead` with all its rows, until an operator
//! redrives it ([`redrive`]) once the cause is fixed.

use super::{DEAD, PENDING, PendingEvent, RETRY};
use callsaga_entity::inbox_call_state::{ActiveModel, Column, Entity, Model};
use callsaga_entity::webhook_inbox;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// The call is backing off; its rows are `retry`.
pub const RETRYING: &str = "retrying";
/// The call ran out of budget; its rows are `dead` until redriven.
pub const DEAD_CALL: &str = "dead";

/// When a failing call is given up on (moved to `dead`).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Deliveries that Temporal rejected for this call itself.
    pub rejections: i32,
    /// Time since the call's first failed delivery, whatever the cause.
    pub age: Duration,
}

/// What a failed delivery did to its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Retrying {
        attempts: i32,
        next_attempt_at: DateTime<Utc>,
    },
    Dead {
        attempts: i32,
        events: u64,
    },
}

/// The delivery states of those of `calls` that have one (failing or dead).
pub async fn of_calls(
    db: &impl ConnectionTrait,
    calls: &[&str],
) -> Result<BTreeMap<String, Model>, DbErr> {
    if calls.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(Entity::find()
        .filter(Column::VapiCallId.is_in(calls.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.vapi_call_id.clone(), m))
        .collect())
}

/// Whether any call has a delivery state at all (the relay skips its state queries when none
/// does, which is the normal case).
pub async fn any(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(Entity::find().limit(1).count(db).await? > 0)
}

/// Retrying calls whose backoff is over, the longest-waiting first.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::State.eq(RETRYING))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await
}

/// The undelivered events of one retrying call (parked or newly arrived), in arrival order.
pub async fn events_of(
    db: &impl ConnectionTrait,
    vapi_call_id: &str,
    limit: u64,
) -> Result<Vec<PendingEvent>, DbErr> {
    super::select_events()
        .filter(webhook_inbox::Column::VapiCallId.eq(vapi_call_id))
        .filter(webhook_inbox::Column::Status.is_in([PENDING, RETRY]))
        .order_by_asc(webhook_inbox::Column::Id)
        .limit(limit)
        .into_model::<PendingEvent>()
        .all(db)
        .await
}

/// Records a failed delivery of `vapi_call_id`'s events: parks them (or, out of budget, makes
/// the call and its events `dead`). `rejected`: Temporal refused this call's delivery itself,
/// as opposed to being unreachable.
pub async fn record_failure(
    db: &DatabaseConnection,
    vapi_call_id: &str,
    error: &str,
    rejected: bool,
    now: DateTime<Utc>,
    budget: Budget,
    backoff: impl Fn(i32) -> Duration,
) -> Result<Failure, DbErr> {
    let txn = callsaga_entity::begin_write(db).await?;
    let previous = Entity::find_by_id(vapi_call_id.to_owned())
        .one(&txn)
        .await?;
    let attempts = previous.as_ref().map_or(0, |p| p.attempts) + 1;
    let rejections = previous.as_ref().map_or(0, |p| p.rejections) + i32::from(rejected);
    let first_failed_at = previous.as_ref().map_or(now, |p| p.first_failed_at);
    let age = (now - first_failed_at).to_std().unwrap_or_default();
    let dead = rejections >= budget.rejections.max(1) || age >= budget.age;
    let next_attempt_at =
        now + chrono::Duration::from_std(backoff(attempts)).unwrap_or(chrono::Duration::zero());
    let row = ActiveModel {
        vapi_call_id: Set(vapi_call_id.to_owned()),
        state: Set(if dead { DEAD_CALL } else { RETRYING }.to_owned()),
        attempts: Set(attempts),
        rejections: Set(rejections),
        first_failed_at: Set(first_failed_at),
        next_attempt_at: Set(next_attempt_at),
        last_error: Set(Some(error.to_owned())),
        dead_at: Set(dead.then_some(now)),
        updated_at: Set(now),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::VapiCallId)
                .update_columns([
                    Column::State,
                    Column::Attempts,
                    Column::Rejections,
                    Column::NextAttemptAt,
                    Column::LastError,
                    Column::DeadAt,
                    Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let events = move_events(
        &txn,
        vapi_call_id,
        &[PENDING, RETRY],
        if dead { DEAD } else { RETRY },
    )
    .await?;
    txn.commit().await?;
    Ok(if dead {
        Failure::Dead { attempts, events }
    } else {
        Failure::Retrying {
            attempts,
            next_attempt_at,
        }
    })
}

/// A retrying call was delivered: it is healthy again, and whatever of its events is still
/// parked goes back to `pending` (to follow in id order).
pub async fn recovered(db: &DatabaseConnection, vapi_call_id: &str) -> Result<(), DbErr> {
    let txn = callsaga_entity::begin_write(db).await?;
    move_events(&txn, vapi_call_id, &[RETRY], PENDING).await?;
    Entity::delete_by_id(vapi_call_id.to_owned())
        .exec(&txn)
        .await?;
    txn.commit().await
}

/// Events that arrived for a call that is failing (or dead) join its parked (or dead) events
/// instead of being delivered ahead of them.
pub async fn park(db: &impl ConnectionTrait, ids: &[i64], status: &str) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    webhook_inbox::Entity::update_many()
        .col_expr(webhook_inbox::Column::Status, status.into())
        .filter(webhook_inbox::Column::Id.is_in(ids.iter().copied()))
        .filter(webhook_inbox::Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(())
}

async fn move_events(
    db: &impl ConnectionTrait,
    vapi_call_id: &str,
    from: &[&str],
    to: &str,
) -> Result<u64, DbErr> {
    Ok(webhook_inbox::Entity::update_many()
        .col_expr(webhook_inbox::Column::Status, Expr::value(to))
        .filter(webhook_inbox::Column::VapiCallId.eq(vapi_call_id))
        .filter(webhook_inbox::Column::Status.is_in(from.iter().copied()))
        .exec(db)
        .await?
        .rows_affected)
}

/// A dead call, as the admin API and `callsaga inbox dead` list it.
#[derive(Debug, Clone, FromQueryResult, serde::Serialize, utoipa::ToSchema)]
pub struct DeadCall {
    pub vapi_call_id: String,
    pub attempts: i32,
    pub rejections: i32,
    pub first_failed_at: DateTime<Utc>,
    pub dead_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Its events waiting in the inbox as `dead`.
    pub events: i64,
}

/// Every dead call with its number of dead events, the most recently dead first.
pub async fn dead_calls(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<DeadCall>, DbErr> {
    let calls = Entity::find()
        .filter(Column::State.eq(DEAD_CALL))
        .order_by_desc(Column::DeadAt)
        .order_by_asc(Column::VapiCallId)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(calls.len());
    for c in calls {
        let events = webhook_inbox::Entity::find()
            .filter(webhook_inbox::Column::VapiCallId.eq(c.vapi_call_id.as_str()))
            .filter(webhook_inbox::Column::Status.eq(DEAD))
            .count(db)
            .await?;
        out.push(DeadCall {
            vapi_call_id: c.vapi_call_id,
            attempts: c.attempts,
            rejections: c.rejections,
            first_failed_at: c.first_failed_at,
            dead_at: c.dead_at,
            last_error: c.last_error,
            events: i64::try_from(events).unwrap_or(i64::MAX),
        });
    }
    Ok(out)
}

/// Dead calls and dead events (the gauges).
pub async fn dead_counts(db: &impl ConnectionTrait) -> Result<(u64, u64), DbErr> {
    let calls = Entity::find()
        .filter(Column::State.eq(DEAD_CALL))
        .count(db)
        .await?;
    let events = webhook_inbox::Entity::find()
        .filter(webhook_inbox::Column::Status.eq(DEAD))
        .count(db)
        .await?;
    Ok((calls, events))
}

/// Gives a dead call a fresh budget: its events go back to `pending` (delivered in id order by
/// the next pass; the workflow applies each inbox id once). `None` when the call is not dead.
pub async fn redrive(db: &DatabaseConnection, vapi_call_id: &str) -> Result<Option<u64>, DbErr> {
    let txn = callsaga_entity::begin_write(db).await?;
    let deleted = Entity::delete_many()
        .filter(Column::VapiCallId.eq(vapi_call_id))
        .filter(Column::State.eq(DEAD_CALL))
        .exec(&txn)
        .await?
        .rows_affected;
    if deleted == 0 {
        return Ok(None);
    }
    let events = move_events(&txn, vapi_call_id, &[DEAD], PENDING).await?;
    txn.commit().await?;
    Ok(Some(events))
}
