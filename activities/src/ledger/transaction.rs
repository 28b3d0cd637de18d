//! One movement's transaction: begin, lock the user's row, look the key up, insert the entry,
//! update the balance, log the events, commit (see the module docs of [`super`] for why in this
//! order).

use super::{LedgerError, Movement};
use callsaga_entity::{credit_ledger, event_log, users};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, Set, SqlErr,
};
use uuid::Uuid;

pub(super) enum Opened {
    /// The user's row is locked and the key is new.
    Locked(DatabaseTransaction, users::Model),
    /// The key is taken (the transaction was rolled back).
    Seen(credit_ledger::Model),
}

/// Begins the transaction, locks the user's row (the first statement) and looks the key up.
pub(super) async fn open(db: &DatabaseConnection, m: &Movement<'_>) -> Result<Opened, LedgerError> {
    // `BEGIN IMMEDIATE` on SQLite; see the module docs.
    let txn = callsaga_entity::begin_write(db)
        .await
        .map_err(LedgerError::from_db)?;
    let user = match lock_user(&txn, m.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            rollback(txn).await;
            return Err(LedgerError::UserNotFound(m.user_id));
        }
        Err(err) => {
            rollback(txn).await;
            return Err(LedgerError::from_db(err));
        }
    };
    match find_entry(&txn, m.key).await {
        Ok(None) => Ok(Opened::Locked(txn, user)),
        Ok(Some(entry)) => {
            rollback(txn).await;
            Ok(Opened::Seen(entry))
        }
        Err(err) => {
            rollback(txn).await;
            Err(LedgerError::from_db(err))
        }
    }
}

/// `UPDATE users SET credit_balance = credit_balance WHERE id = ? RETURNING *`: changes
/// nothing, but locks the row (PostgreSQL) and returns the state every later statement of the
/// transaction builds on.
async fn lock_user(
    txn: &DatabaseTransaction,
    user_id: Uuid,
) -> Result<Option<users::Model>, DbErr> {
    let stmt = Query::update()
        .table(users::Entity)
        .value(
            users::Column::CreditBalance,
            Expr::col(users::Column::CreditBalance),
        )
        .and_where(users::Column::Id.eq(user_id))
        .returning_all()
        .to_owned();
    txn.query_one(&stmt)
        .await?
        .map(|row| users::Model::from_query_result(&row, ""))
        .transpose()
}

async fn find_entry(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<credit_ledger::Model>, DbErr> {
    credit_ledger::Entity::find()
        .filter(credit_ledger::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
}

/// The user's new state, computed under the lock.
pub(super) struct Balance {
    pub(super) balance: i64,
    pub(super) grace_used: i64,
    pub(super) notified: bool,
}

pub(super) enum Written {
    Committed,
    /// A concurrent twin inserted the key first (the transaction was rolled back).
    Seen(credit_ledger::Model),
}

/// Inserts the entry (first, so a key or call conflict stops the transaction before anything
/// else is written), updates the user, logs the events and commits.
pub(super) async fn write(
    db: &DatabaseConnection,
    txn: DatabaseTransaction,
    m: &Movement<'_>,
    entry: credit_ledger::ActiveModel,
    update: Balance,
    events: Vec<event_log::ActiveModel>,
    now: DateTime<Utc>,
) -> Result<Written, LedgerError> {
    if let Err(err) = credit_ledger::Entity::insert(entry)
        .exec_without_returning(&txn)
        .await
    {
        rollback(txn).await;
        return match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                match find_entry(db, m.key).await.map_err(LedgerError::from_db)? {
                    Some(existing) => Ok(Written::Seen(existing)),
                    // The winner rolled back after all: try again.
                    None => Err(LedgerError::Unavailable(err)),
                }
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => match m.call_id {
                Some(call_id) => Err(LedgerError::CallNotFound(call_id)),
                None => Err(LedgerError::UserNotFound(m.user_id)),
            },
            _ => Err(LedgerError::from_db(err)),
        };
    }
    if let Err(err) = apply(&txn, m.user_id, update, events, now).await {
        rollback(txn).await;
        return Err(LedgerError::from_db(err));
    }
    txn.commit().await.map_err(LedgerError::from_db)?;
    Ok(Written::Committed)
}

async fn apply(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    update: Balance,
    events: Vec<event_log::ActiveModel>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(users::Column::CreditBalance, Expr::value(update.balance))
        .col_expr(
            users::Column::GraceCreditsUsed,
            Expr::value(update.grace_used),
        )
        .col_expr(
            users::Column::LowBalanceNotified,
            Expr::value(update.notified),
        )
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    for event in events {
        event_log::Entity::insert(event)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Rolls back explicitly so the connection goes back to the pool clean at once. A failed
/// rollback is not an error of the operation: nothing was committed, and the pool discards a
/// connection whose transaction it cannot end.
async fn rollback(txn: DatabaseTransaction) {
    if let Err(err) = txn.rollback().await {
        tracing::debug!(error = %err, "ledger rollback failed");
    }
}

pub(super) fn entry(
    m: &Movement<'_>,
    id: Uuid,
    amount: i64,
    balance_after: i64,
    grace_used: i64,
    note: Option<String>,
    now: DateTime<Utc>,
) -> credit_ledger::ActiveModel {
    credit_ledger::ActiveModel {
        id: Set(id),
        user_id: Set(m.user_id),
        kind: Set(m.kind.as_str().to_owned()),
        amount: Set(amount),
        balance_after: Set(balance_after),
        grace_used: Set(grace_used),
        call_id: Set(m.call_id),
        idempotency_key: Set(m.key.to_owned()),
        note: Set(note),
        created_at: Set(now),
    }
}

pub(super) fn event(
    m: &Movement<'_>,
    kind: &str,
    now: DateTime<Utc>,
    data: serde_json::Value,
) -> event_log::ActiveModel {
    event_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(Some(m.user_id)),
        call_id: Set(m.call_id),
        kind: Set(kind.to_owned()),
        data: Set(data),
        created_at: Set(now),
    }
}
