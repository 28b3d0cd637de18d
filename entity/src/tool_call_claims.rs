//! `tool_call_claims`: who took an effectful tool call, one row per tool call id. The call's
//! workflow claims it before its saga runs (`workflow`); the API claims it when the workflow has
//! not taken it in time, and the caller hears that the business will call back
//! (`callback_requested`: the row is that callback request). Whoever inserts first owns it, so a
//! tool call is never both refused and done.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// `status` of a tool call its workflow took (its saga runs).
pub const TAKEN_BY_WORKFLOW: &str = "workflow";
/// `status` of a tool call the API refused: the business calls the caller back.
pub const CALLBACK_REQUESTED: &str = "callback_requested";
/// `status` of a tool call its workflow took whose acceptance Temporal had not reported by the
/// deadline: its saga runs, but it is not durable in the history until that workflow task
/// completes (a Temporal restart in that moment would lose it). The caller heard that it cannot
/// be confirmed now and that the business will call back about it.
pub const TAKEN_UNCONFIRMED: &str = "workflow_unconfirmed";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tool_call_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Vapi's `toolCallId`: a retried tool call finds its claim here.
    #[sea_orm(unique)]
    pub tool_call_id: String,
    pub vapi_call_id: String,
    /// The tool's name (`book_appointment`, …).
    pub tool: String,
    pub agent_id: Option<Uuid>,
    /// The verified caller number (`call.customer.number`), never the model's arguments; set on
    /// callback requests.
    pub customer_number: Option<String>,
    /// `in_time` (the workflow's claim), `temporal_error` or `not_accepted_in_time`.
    pub reason: String,
    /// [`TAKEN_BY_WORKFLOW`], [`TAKEN_UNCONFIRMED`] or [`CALLBACK_REQUESTED`].
    pub status: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
