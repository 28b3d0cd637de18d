//! `inbox_call_state`: the relay's delivery state of a call whose events could not be
//! delivered. Calls that deliver fine have no row.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "inbox_call_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub vapi_call_id: String,
    /// `retrying` (backing off; its inbox rows are parked as `retry`) | `dead` (out of budget;
    /// its rows are `dead` until redriven).
    pub state: String,
    /// Failed delivery attempts (any cause); the backoff grows with them.
    pub attempts: i32,
    /// Failed attempts in which Temporal rejected this call's delivery itself (an invalid
    /// argument, not an outage): these count against `relay.dead_after_rejections`.
    pub rejections: i32,
    pub first_failed_at: DateTimeUtc,
    pub next_attempt_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub dead_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
