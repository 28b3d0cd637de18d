//! A key seen before: the first outcome, rebuilt from what the first transaction wrote.

use super::{
    ChargeOutcome, CreditOutcome, EVENT_LOW_BALANCE_CROSSED, EVENT_LOW_BALANCE_RESET,
    EVENT_UNCOLLECTED, LedgerError, Movement,
};
use callsaga_entity::{credit_ledger, event_log};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

/// Whether `entry` is the one `m` would have written: same user, kind, call and direction.
/// Anything else is a key used twice for different things.
fn same_movement(m: &Movement<'_>, entry: &credit_ledger::Model, debit: bool) -> bool {
    entry.user_id == m.user_id
        && entry.kind == m.kind.as_str()
        && entry.call_id == m.call_id
        && if debit {
            entry.amount <= 0
        } else {
            entry.amount > 0
        }
}

pub(super) async fn charge_duplicate(
    db: &DatabaseConnection,
    m: &Movement<'_>,
    entry: &credit_ledger::Model,
) -> Result<ChargeOutcome, LedgerError> {
    if !same_movement(m, entry, true) {
        return Err(LedgerError::KeyConflict {
            key: m.key.to_owned(),
        });
    }
    let events = events_of(db, entry).await?;
    let uncollected = events
        .iter()
        .find(|e| e.kind == EVENT_UNCOLLECTED)
        .and_then(|e| e.data.get("uncollected")?.as_i64())
        .unwrap_or(0);
    let charged = -entry.amount;
    tracing::debug!(user.id = %m.user_id, key = m.key, "duplicate ledger debit");
    Ok(ChargeOutcome {
        entry_id: entry.id,
        requested: charged + uncollected,
        charged,
        uncollected,
        grace_used: entry.grace_used,
        balance_after: entry.balance_after,
        low_balance_crossed: events.iter().any(|e| e.kind == EVENT_LOW_BALANCE_CROSSED),
        duplicate: true,
    })
}

pub(super) async fn credit_duplicate(
    db: &DatabaseConnection,
    m: &Movement<'_>,
    entry: &credit_ledger::Model,
) -> Result<CreditOutcome, LedgerError> {
    if !same_movement(m, entry, false) {
        return Err(LedgerError::KeyConflict {
            key: m.key.to_owned(),
        });
    }
    let events = events_of(db, entry).await?;
    tracing::debug!(user.id = %m.user_id, key = m.key, "duplicate ledger credit");
    Ok(CreditOutcome {
        entry_id: entry.id,
        amount: entry.amount,
        grace_repaid: -entry.grace_used,
        balance_after: entry.balance_after,
        low_balance_reset: events.iter().any(|e| e.kind == EVENT_LOW_BALANCE_RESET),
        duplicate: true,
    })
}

/// The `event_log` rows written with `entry`. Few per user (one per crossing, reset or capped
/// charge), so filtering on the entry id in Rust keeps the query portable.
async fn events_of(
    db: &DatabaseConnection,
    entry: &credit_ledger::Model,
) -> Result<Vec<event_log::Model>, LedgerError> {
    let entry_id = entry.id.to_string();
    let events = event_log::Entity::find()
        .filter(event_log::Column::UserId.eq(entry.user_id))
        .filter(event_log::Column::Kind.is_in([
            EVENT_UNCOLLECTED,
            EVENT_LOW_BALANCE_CROSSED,
            EVENT_LOW_BALANCE_RESET,
        ]))
        .all(db)
        .await
        .map_err(LedgerError::from_db)?;
    Ok(events
        .into_iter()
        .filter(|e| e.data.get("entry_id").and_then(|v| v.as_str()) == Some(entry_id.as_str()))
        .collect())
}
