//! Write transactions that take SQLite's write lock up front.
//!
//! A deferred transaction (sea-orm's `begin()`) that reads and then writes holds a read
//! snapshot; when another connection commits in between, SQLite cannot upgrade it to a write
//! lock and fails the write at once with "database is locked" (`SQLITE_BUSY_SNAPSHOT` in WAL
//! mode), without waiting in the busy handler. `BEGIN IMMEDIATE` waits for the write lock before
//! the first read instead. PostgreSQL ignores the mode.

use sea_orm::{
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Begins a transaction that writes: `BEGIN IMMEDIATE` on SQLite, a plain `BEGIN` elsewhere.
pub async fn begin_write<C>(db: &C) -> Result<DatabaseTransaction, DbErr>
where
    C: TransactionTrait<Transaction = DatabaseTransaction>,
{
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
