//! `users`: account owners, holding the prepaid credit balance.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub credit_balance: i64,
    pub grace_credits_used: i64,
    pub grace_credits_limit: i64,
    pub low_balance_threshold: i64,
    pub low_balance_notified: bool,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: String,
    pub locale: String,
    pub active: bool,
    /// Calls of this tenant admitted at once at most (`None`: no cap).
    pub max_concurrent_calls: Option<i32>,
    /// E.164 number a refused call is forwarded to instead of hearing the refusal.
    pub fallback_number: Option<String>,
    /// Balance plus remaining grace credits a call needs to be admitted (`None`: the
    /// `admission.min_credits` setting, by default the price of one billing unit).
    pub min_call_credits: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::agents::Entity")]
    Agents,
    #[sea_orm(has_many = "super::calls::Entity")]
    Calls,
    #[sea_orm(has_many = "super::credit_ledger::Entity")]
    CreditLedger,
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agents.def()
    }
}

impl Related<super::calls::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Calls.def()
    }
}

impl Related<super::credit_ledger::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreditLedger.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
