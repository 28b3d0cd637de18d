//! Admission at the door (issue 25): per-user admission settings, the admission decision on the
//! `calls` row, and `call_slots`, one row per admitted call of a tenant with a concurrent-call
//! cap. A slot counts while it is neither released (the call's end was applied: the end-of-call
//! report, the `ended` status update or the watchdog's close) nor lapsed (`expires_at`, for a
//! call whose webhooks never came at all).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    MaxConcurrentCalls,
    FallbackNumber,
    MinCallCredits,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Admission,
}

#[derive(DeriveIden)]
enum CallSlots {
    #[sea_orm(iden = "call_slots")]
    Table,
    VapiCallId,
    UserId,
    AdmittedAt,
    ExpiresAt,
    ReleasedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [
            integer_null(Users::MaxConcurrentCalls),
            string_null(Users::FallbackNumber),
            big_integer_null(Users::MinCallCredits),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Calls::Table)
                    .add_column(string_null(Calls::Admission))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CallSlots::Table)
                    .col(string(CallSlots::VapiCallId).primary_key())
                    .col(uuid(CallSlots::UserId))
                    // Written only through sea-orm/sqlx (see the initial migration's notes).
                    .col(timestamp_with_time_zone(CallSlots::AdmittedAt))
                    .col(timestamp_with_time_zone(CallSlots::ExpiresAt))
                    .col(timestamp_with_time_zone_null(CallSlots::ReleasedAt))
                    .to_owned(),
            )
            .await?;
        // The admission counts a tenant's held slots.
        manager
            .create_index(
                Index::create()
                    .name("idx_call_slots_user_released")
                    .table(CallSlots::Table)
                    .col(CallSlots::UserId)
                    .col(CallSlots::ReleasedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CallSlots::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Calls::Table)
                    .drop_column(Calls::Admission)
                    .to_owned(),
            )
            .await?;
        for column in [
            Users::MinCallCredits,
            Users::FallbackNumber,
            Users::MaxConcurrentCalls,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
