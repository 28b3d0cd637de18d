//! `inbox_call_claims`: which relay (API process) is delivering a call's events right now, and
//! until when its lease runs. Several API processes share one inbox on PostgreSQL: a relay
//! delivers a call's events only while it holds the call's claim, so a call's events go out in
//! order from one process at a time; a claim that is not renewed expires, and another relay
//! takes the call over. SQLite is single-process (a lock file) and does not use the table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum InboxCallClaims {
    #[sea_orm(iden = "inbox_call_claims")]
    Table,
    VapiCallId,
    Owner,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    /// No index beyond the key: the table holds only the calls of passes in flight (each pass
    /// releases its claims), so a scan by owner reads a handful of rows.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InboxCallClaims::Table)
                    .col(string(InboxCallClaims::VapiCallId).primary_key())
                    // `<pid>-<random>` of the relay holding the claim.
                    .col(string(InboxCallClaims::Owner))
                    // The database's clock, not the relays': processes on several hosts agree.
                    .col(timestamp_with_time_zone(InboxCallClaims::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InboxCallClaims::Table).to_owned())
            .await
    }
}
