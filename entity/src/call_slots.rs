//! `call_slots`: one row per call admitted for a tenant with a concurrent-call cap. The slot
//! counts against the cap until it is released (the call's end was applied) or lapses
//! (`expires_at`: the call's webhooks never came, so nothing will ever release it).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "call_slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub vapi_call_id: String,
    pub user_id: Uuid,
    pub admitted_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub released_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
