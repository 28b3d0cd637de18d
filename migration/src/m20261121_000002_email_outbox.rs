//! `email_outbox`: the idempotency record of sent emails (one row per idempotency key).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    #[sea_orm(iden = "email_outbox")]
    Table,
    Id,
    IdempotencyKey,
    Recipient,
    Subject,
    Status,
    LastError,
    SentAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(pk_uuid(EmailOutbox::Id))
                    .col(string_uniq(EmailOutbox::IdempotencyKey))
                    .col(string(EmailOutbox::Recipient))
                    .col(text(EmailOutbox::Subject))
                    .col(string(EmailOutbox::Status))
                    .col(text_null(EmailOutbox::LastError))
                    // Written only through sea-orm/sqlx (see the initial migration's notes).
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailOutbox::Table).to_owned())
            .await
    }
}
