//! `appointments.email_failed_at` / `email_error`: the booking stands when its confirmation email
//! failed for good (a 550 for an address speech recognition mis-heard is common); the row says
//! so, for the admin API and the business owner's follow-up.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Appointments {
    Table,
    EmailFailedAt,
    EmailError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Appointments::Table)
                    // Written only through sea-orm/sqlx (see the initial migration's notes).
                    .add_column(timestamp_with_time_zone_null(Appointments::EmailFailedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Appointments::Table)
                    .add_column(text_null(Appointments::EmailError))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Appointments::EmailError, Appointments::EmailFailedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Appointments::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
