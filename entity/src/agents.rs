//! `agents`: one Vapi assistant configured for a user's business.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[sea_orm(unique)]
    pub vapi_assistant_id: String,
    pub business_name: String,
    #[sea_orm(column_type = "Text")]
    pub greeting: String,
    #[sea_orm(column_type = "Text")]
    pub system_prompt: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub voice: Option<Json>,
    pub language: String,
    /// IANA time zone name.
    pub timezone: String,
    pub appointment_duration_minutes: i32,
    /// e.g. `{"mon":[["09:00","17:00"]], ...}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub business_hours: Json,
    /// `embedded` | `caldav` | `none`.
    pub calendar_provider: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub calendar_config: Option<Json>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    User,
    #[sea_orm(has_many = "super::phone_numbers::Entity")]
    PhoneNumbers,
    #[sea_orm(has_one = "super::escalation_configs::Entity")]
    EscalationConfig,
    #[sea_orm(has_many = "super::calls::Entity")]
    Calls,
    #[sea_orm(has_many = "super::appointments::Entity")]
    Appointments,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::phone_numbers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PhoneNumbers.def()
    }
}

impl Related<super::escalation_configs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EscalationConfig.def()
    }
}

impl Related<super::calls::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Calls.def()
    }
}

impl Related<super::appointments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Appointments.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
