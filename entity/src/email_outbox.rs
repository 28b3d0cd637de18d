//! `email_outbox`: one row per email idempotency key, so a retried send never mails twice.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Derived from the workflow id and step; the message's `Message-ID` is its SHA-256.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub recipient: String,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    /// `pending` (owed, written with the change that owes it; not sent yet) | `sent` |
    /// `failed` (a permanent failure; a later send with the key tries again).
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
