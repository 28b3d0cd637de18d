//! `appointments.caller_number`: the number Vapi reported for the call that booked the
//! appointment (`call.customer.number`, verified), as opposed to `customer_phone`, the contact
//! number the caller *said*. Finding an existing appointment (list, reschedule, cancel) is
//! scoped by it: a caller acts only on the appointments booked from their own number.
//!
//! Rows booked before this column are backfilled from their call's row (`calls.customer_number`
//! is the same verified number). A row still without one (no linked call, or a withheld
//! number) is matched by its `customer_phone` only where that equals the caller's verified
//! number exactly (see `activities/src/tools/caller.rs`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Appointments {
    Table,
    CallerNumber,
}

/// Correlated subquery: the same text on SQLite and PostgreSQL.
const BACKFILL: &str = "UPDATE appointments SET caller_number = \
    (SELECT calls.customer_number FROM calls WHERE calls.id = appointments.call_id) \
    WHERE caller_number IS NULL AND call_id IS NOT NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Appointments::Table)
                    .add_column(string_null(Appointments::CallerNumber))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(BACKFILL)
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Appointments::Table)
                    .drop_column(Appointments::CallerNumber)
                    .to_owned(),
            )
            .await
    }
}
