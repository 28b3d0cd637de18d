//! `inbox_call_state`: the relay's delivery state of a call whose events could not be delivered
//! (one row per such call). A failing call's inbox rows are parked (`retry`) while it backs off,
//! so the relay's pending scan never reads them, and become `dead` when the call exhausts its
//! delivery budget; a redrive deletes the row and puts the events back to `pending`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum InboxCallState {
    #[sea_orm(iden = "inbox_call_state")]
    Table,
    VapiCallId,
    State,
    Attempts,
    Rejections,
    FirstFailedAt,
    NextAttemptAt,
    LastError,
    DeadAt,
    UpdatedAt,
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
                    .table(InboxCallState::Table)
                    .col(string(InboxCallState::VapiCallId).primary_key())
                    // `retrying` | `dead`
                    .col(string(InboxCallState::State))
                    .col(integer(InboxCallState::Attempts))
                    .col(integer(InboxCallState::Rejections))
                    // Written only through sea-orm/sqlx (see the initial migration's notes).
                    .col(timestamp_with_time_zone(InboxCallState::FirstFailedAt))
                    .col(timestamp_with_time_zone(InboxCallState::NextAttemptAt))
                    .col(text_null(InboxCallState::LastError))
                    .col(timestamp_with_time_zone_null(InboxCallState::DeadAt))
                    .col(timestamp_with_time_zone(InboxCallState::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_inbox_call_state_state_next")
                    .table(InboxCallState::Table)
                    .col(InboxCallState::State)
                    .col(InboxCallState::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InboxCallState::Table).to_owned())
            .await
    }
}
