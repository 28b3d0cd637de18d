//! The durable webhook inbox: an accepted event is committed here before Vapi gets its 2xx, and
//! the relay forwards it to the call's workflow from here — so an event survives a crash, a
//! deploy or a Temporal outage, and a byte-identical re-delivery is stored once.

use callsaga_entity::webhook_inbox::{self, ActiveModel, Column, Entity};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};

pub mod call_state;
pub mod claims;
mod group_commit;
pub use group_commit::InboxWriter;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
/// Superseded by a later conversation-update of the same call (each carries the whole history).
pub const COALESCED: &str = "coalesced";
/// Arrived after the call's workflow had completed; recorded, not applied.
pub const LATE: &str = "late";
/// Parked while its call backs off after a failed delivery (see [`call_state`]).
pub const RETRY: &str = "retry";
/// Its call ran out of delivery budget; waits for a redrive (see [`call_state`]).
pub const DEAD: &str = "dead";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    New,
    Duplicate,
}

/// An event to store.
pub struct NewEvent<'a> {
    pub vapi_call_id: &'a str,
    pub message_type: &'a str,
    /// The raw body, exactly as received (it was authenticated and parsed already).
    pub body: &'a [u8],
    pub received_at: DateTime<Utc>,
    /// `message.timestamp`: when Vapi says the event happened.
    pub event_at: Option<DateTime<Utc>>,
}

/// Stores one event. Idempotent on the body's SHA-256. (The webhook handler goes through
/// [`InboxWriter`], which commits concurrent events together.)
pub async fn accept(db: &impl ConnectionTrait, event: NewEvent<'_>) -> Result<Accepted, DbErr> {
    insert(db, row(event)).await
}

/// The inbox row of a new event.
fn row(event: NewEvent<'_>) -> ActiveModel {
    ActiveModel {
        vapi_call_id: Set(event.vapi_call_id.to_owned()),
        message_type: Set(event.message_type.to_owned()),
        body_sha256: Set(hex::encode(Sha256::digest(event.body))),
        payload: Set(String::from_utf8_lossy(event.body).into_owned()),
        received_at: Set(event.received_at),
        event_at: Set(event.event_at),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(None),
        delivered_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    }
}

async fn insert(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Accepted, DbErr> {
    let inserted = Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::BodySha256)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(if inserted == 0 {
        Accepted::Duplicate
    } else {
        Accepted::New
    })
}

/// An inbox row without its (possibly large) payload.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PendingEvent {
    pub id: i64,
    pub vapi_call_id: String,
    pub message_type: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub event_at: Option<DateTime<Utc>>,
}

/// The oldest pending events, in arrival order. Events of calls that are backing off are not
/// `pending` (they are parked as `retry`), so however large a failing call's backlog, it takes
/// no room here.
pub async fn pending(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<PendingEvent>, DbErr> {
    select_events()
        .filter(Column::Status.eq(PENDING))
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_model::<PendingEvent>()
        .all(db)
        .await
}

/// The pending events of `calls`, in arrival order (a relay reads its claimed calls' events
/// with this on a shared inbox).
pub async fn pending_of(
    db: &impl ConnectionTrait,
    calls: &[String],
    limit: u64,
) -> Result<Vec<PendingEvent>, DbErr> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    select_events()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::VapiCallId.is_in(calls.iter().map(String::as_str)))
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_model::<PendingEvent>()
        .all(db)
        .await
}

/// The columns of [`PendingEvent`].
fn select_events() -> sea_orm::Select<Entity> {
    Entity::find().select_only().columns([
        Column::Id,
        Column::VapiCallId,
        Column::MessageType,
        Column::Attempts,
        Column::NextAttemptAt,
        Column::ReceivedAt,
        Column::EventAt,
    ])
}

/// Number of events not yet relayed and not dead (the relay backlog).
pub async fn backlog(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    Entity::find()
        .filter(Column::Status.is_in([PENDING, RETRY]))
        .count(db)
        .await
}

/// Moves events out of `pending` into a final status.
pub async fn settle(
    db: &impl ConnectionTrait,
    ids: &[i64],
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::Status, status.into())
        .col_expr(Column::DeliveredAt, Some(now).into())
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(())
}

/// [`settle`] for several statuses in one transaction (nothing is written when all are empty);
/// `retry` and `dead` park events of failing calls instead ([`call_state::park`]).
pub async fn settle_all(
    db: &DatabaseConnection,
    groups: &[(&str, &[i64])],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if groups.iter().all(|(_, ids)| ids.is_empty()) {
        return Ok(());
    }
    let txn = callsaga_entity::begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        // Losing this write in a server crash only re-delivers the events, which the workflow
        // drops by inbox id: no need to wait for the WAL flush (and add to the fsync queue the
        // webhook acks wait in).
        txn.execute_unprepared("SET LOCAL synchronous_commit = off")
            .await?;
    }
    for (status, ids) in groups {
        if [RETRY, DEAD].contains(status) {
            call_state::park(&txn, ids, status).await?;
        } else {
            settle(&txn, ids, status, now).await?;
        }
    }
    txn.commit().await
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<webhook_inbox::Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}
