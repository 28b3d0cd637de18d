//! `appointments`: bookings made by an agent.
//!
//! The database forbids two `booked` appointments of one agent whose
//! half-open intervals `[starts_at, ends_at)` overlap; a violation surfaces as
//! a database error containing [`crate::APPOINTMENTS_NO_OVERLAP`].

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "appointments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub agent_id: Uuid,
    pub call_id: Option<Uuid>,
    pub calendar_event_id: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// IANA time zone the appointment was booked in.
    pub timezone: String,
    /// `booked` | `cancelled`.
    pub status: String,
    pub customer_name: String,
    /// The contact number the caller gave (what the model passed as `customerPhone`): contact
    /// data, never a key to find the appointment.
    pub customer_phone: Option<String>,
    pub customer_email: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the confirmation email failed for good (the booking stands; the business owner was
    /// told). `None`: sent, on its way, or no address given.
    pub email_failed_at: Option<DateTimeUtc>,
    /// Why it failed (the SMTP reply, recipient masked).
    #[sea_orm(column_type = "Text", nullable)]
    pub email_error: Option<String>,
    /// The verified number of the call that booked it (`call.customer.number`, canonical form,
    /// see `activities/src/tools/caller.rs`); `None` for a withheld number. Only a call from
    /// this number finds the appointment by list, reschedule or cancel.
    pub caller_number: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AgentId",
        to = "super::agents::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Agent,
    #[sea_orm(
        belongs_to = "super::calls::Entity",
        from = "Column::CallId",
        to = "super::calls::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Call,
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agent.def()
    }
}

impl Related<super::calls::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Call.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
