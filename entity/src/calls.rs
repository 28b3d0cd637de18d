//! `calls`: one row per Vapi call, projected from the call workflow.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

// No `Eq`: `vapi_cost` is an `f64`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub vapi_call_id: String,
    pub agent_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// `inbound` | `outbound` | `web`.
    pub direction: Option<String>,
    pub customer_number: Option<String>,
    /// `queued` | `ringing` | `in-progress` | `forwarding` | `ended`.
    pub status: String,
    pub started_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
    pub ended_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub transcript: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    pub recording_url: Option<String>,
    pub vapi_cost: Option<f64>,
    pub charged_credits: Option<i64>,
    /// `billed` | `not_billable` | `no_user` | `billing_failed` (the charge failed for good) |
    /// `refused` (refused at the door, `admission` set).
    pub billing_status: Option<String>,
    pub report_missing: bool,
    pub escalation_status: Option<String>,
    /// The admission decision at the door: `refused_credits` | `refused_busy` |
    /// `refused_inactive` (never billed); `None` for an admitted call.
    pub admission: Option<String>,
    pub workflow_id: String,
    pub last_event_at: Option<DateTimeUtc>,
    /// When the end-of-call report was applied; from then on it is authoritative for the
    /// call's times, duration and ended reason.
    pub report_received_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AgentId",
        to = "super::agents::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    Agent,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    User,
    #[sea_orm(has_many = "super::appointments::Entity")]
    Appointments,
    #[sea_orm(has_many = "super::credit_ledger::Entity")]
    CreditLedger,
    #[sea_orm(has_many = "super::escalation_logs::Entity")]
    EscalationLogs,
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agent.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::appointments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Appointments.def()
    }
}

impl Related<super::credit_ledger::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreditLedger.def()
    }
}

impl Related<super::escalation_logs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EscalationLogs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
