//! `escalation_logs`: one row per escalation (human hand-off) attempt of a call.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "escalation_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub call_id: Uuid,
    /// Denormalised copy of the call's agent; not a foreign key.
    pub agent_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub urgency: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    /// `PENDING` | `TRANSFERRING` | `CALLBACK_REQUESTED` | `COMPLETED` | `FAILED`.
    pub status: String,
    pub transfer_number: Option<String>,
    pub transfer_mode: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub failure_reason: Option<String>,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::calls::Entity",
        from = "Column::CallId",
        to = "super::calls::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Call,
}

impl Related<super::calls::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Call.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
