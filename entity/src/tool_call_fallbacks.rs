//! `tool_call_fallbacks`: an effectful tool call that Temporal could not take in time, answered
//! "the business will call you back"; the row is that callback request.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tool_call_fallbacks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Vapi's `toolCallId`: a retried tool call finds its fallback here.
    #[sea_orm(unique)]
    pub tool_call_id: String,
    pub vapi_call_id: String,
    /// The tool's name (`book_appointment`, …).
    pub tool: String,
    pub agent_id: Option<Uuid>,
    /// The verified caller number (`call.customer.number`), never the model's arguments.
    pub customer_number: Option<String>,
    /// `temporal_unavailable` (an error at once) or `not_accepted_in_time`.
    pub reason: String,
    /// `callback_requested` (open enum).
    pub status: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
