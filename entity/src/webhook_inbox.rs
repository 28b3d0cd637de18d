//! `webhook_inbox`: durable inbox of accepted webhook events, relayed to
//! Temporal. `id` is an auto-increment `i64` and gives delivery order.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_inbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub vapi_call_id: String,
    pub message_type: String,
    /// Hex SHA-256 of the raw body; dedupes byte-identical redeliveries.
    #[sea_orm(unique)]
    pub body_sha256: String,
    /// Raw JSON body (may be several MB).
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub received_at: DateTimeUtc,
    /// `message.timestamp` as Vapi sent it (event time), when present.
    pub event_at: Option<DateTimeUtc>,
    /// `pending` | `delivered` | `coalesced` | `late` | `retry` (its call is backing off, see
    /// `inbox_call_state`) | `dead` (its call ran out of delivery budget; redrivable).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
