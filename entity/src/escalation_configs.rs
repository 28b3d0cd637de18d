//! `escalation_configs`: per-agent settings for handing a call to a human.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "escalation_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub agent_id: Uuid,
    pub enabled: bool,
    /// JSON array of E.164 strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub forwarding_numbers: Json,
    /// `warm` | `blind`.
    pub transfer_mode: String,
    pub operator_email: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub business_hours: Option<Json>,
    pub timezone: Option<String>,
    pub share_summary: bool,
    pub share_transcript: bool,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub trigger_settings: Option<Json>,
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
        on_delete = "Cascade"
    )]
    Agent,
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
