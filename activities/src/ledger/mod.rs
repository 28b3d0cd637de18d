//! The prepaid-credit ledger: every movement of credits is one append-only `credit_ledger` entry
//! written in the same transaction as the `users` balance it changes.
//!
//! # Guarantees
//!
//! - **One transaction per operation.** The entry, the balance, the grace counter, the
//!   low-balance flag and any `event_log` rows commit together or not at all.
//! - **Idempotent.** Every operation carries an idempotency key (derived from the workflow id and
//!   step, e.g. `call:<vapi call id>:usage`). A repeated key changes nothing and returns the
//!   first outcome with `duplicate: true`. The UNIQUE index on `idempotency_key` is the final
//!   guard: a twin that loses the race on it also gets `duplicate: true`.
//! - **Serialized per user.** The first statement of every transaction is a no-op
//!   `UPDATE users … RETURNING *` of the user's row: PostgreSQL row-locks it, so concurrent
//!   movements of one user queue behind each other (under READ COMMITTED each then reads the
//!   committed state); SQLite starts the transaction with `BEGIN IMMEDIATE`, taking the write
//!   lock up front (waiting up to the pool's busy timeout) instead of reading first and failing
//!   with `SQLITE_BUSY` when upgrading a read lock to a write lock.
//! - **Nothing disappears.** An entry is never edited: refunds and corrections are new entries.
//!   A debit the balance and grace credits cannot cover is capped, and the uncollected rest is
//!   recorded in the entry's note and in an `event_log` row ([`EVENT_UNCOLLECTED`]).
//!
//! # Grace credits and the low-balance flag
//!
//! A debit takes from the positive balance first, then from the grace credits left
//! (`grace_credits_limit − grace_credits_used`); the balance never goes below
//! `−grace_credits_limit`. The part taken from grace is added to `users.grace_credits_used` and
//! recorded in the entry's `grace_used`. A credit (top-up, refund, positive adjustment) repays
//! grace first; its entry records the repaid part as a *negative* `grace_used`, so the sum of an
//! account's `grace_used` column is its `grace_credits_used`.
//!
//! A debit that moves the balance from `>= low_balance_threshold` to below it while
//! `low_balance_notified` is false sets the flag and reports `low_balance_crossed: true` (the
//! caller sends the email once per downward crossing); a credit that brings the balance back to
//! the threshold or above clears it.
//!
//! Entries are ordered by `created_at`, which is taken after the user's row is locked, so it
//! follows the order in which the movements were applied.

mod duplicate;
mod error;
mod rules;
mod transaction;
mod types;

pub use error::LedgerError;
pub use types::{
    Adjust, AdjustOutcome, ChargeCall, ChargeOutcome, CreditOutcome, EntryKind, Refund, TopUp,
};

use callsaga_entity::{credit_ledger, users};
use chrono::Utc;
use duplicate::{charge_duplicate, credit_duplicate};
use rules::Account;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::json;
use transaction::{Balance, Opened, Written, entry, event, open, write};
use uuid::Uuid;

/// The largest single movement accepted, in credits: far above any real call or top-up, far
/// from overflowing a balance.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// `event_log.kind` of a debit capped at the balance plus grace credits; `data` holds the
/// `requested`, `charged` and `uncollected` credits.
pub const EVENT_UNCOLLECTED: &str = "billing.uncollected";
/// `event_log.kind` of a debit that crossed the low-balance threshold downwards.
pub const EVENT_LOW_BALANCE_CROSSED: &str = "billing.low_balance_crossed";
/// `event_log.kind` of a credit that brought the balance back to the threshold.
pub const EVENT_LOW_BALANCE_RESET: &str = "billing.low_balance_reset";

/// How many credits a charge could take from `user` now: the balance plus the grace credits
/// left (see `rules::headroom`).
pub fn available_credits(user: &users::Model) -> i64 {
    rules::headroom(&Account::from(user))
}

/// Charges a call: one `usage` entry and the balance, in one transaction. See the module docs
/// for grace credits, capping and the low-balance flag.
pub async fn charge_call(
    db: &DatabaseConnection,
    req: ChargeCall,
) -> Result<ChargeOutcome, LedgerError> {
    validate(req.amount, &req.idempotency_key)?;
    let movement = Movement {
        kind: EntryKind::Usage,
        user_id: req.user_id,
        call_id: Some(req.call_id),
        key: &req.idempotency_key,
        note: req.note.as_deref(),
    };
    debit(db, &movement, req.amount).await
}

/// Gives credits back for a call (or goodwill): a new `refund` entry, never an edit. The amount
/// is not checked against what the call was charged; the caller decides it.
pub async fn refund(db: &DatabaseConnection, req: Refund) -> Result<CreditOutcome, LedgerError> {
    validate(req.amount, &req.idempotency_key)?;
    let movement = Movement {
        kind: EntryKind::Refund,
        user_id: req.user_id,
        call_id: req.call_id,
        key: &req.idempotency_key,
        note: req.note.as_deref(),
    };
    credit(db, &movement, req.amount).await
}

/// Adds bought credits; they repay grace credits first.
pub async fn top_up(db: &DatabaseConnection, req: TopUp) -> Result<CreditOutcome, LedgerError> {
    validate(req.amount, &req.idempotency_key)?;
    let movement = Movement {
        kind: EntryKind::TopUp,
        user_id: req.user_id,
        call_id: None,
        key: &req.idempotency_key,
        note: req.note.as_deref(),
    };
    credit(db, &movement, req.amount).await
}

/// A signed correction entry, e.g. the difference between a watchdog-billed estimate and the
/// late end-of-call report: negative charges more, positive gives back.
pub async fn adjust(db: &DatabaseConnection, req: Adjust) -> Result<AdjustOutcome, LedgerError> {
    if req.amount == 0 {
        return Err(LedgerError::Invalid(
            "an adjustment must not be zero".into(),
        ));
    }
    validate(req.amount.saturating_abs(), &req.idempotency_key)?;
    let movement = Movement {
        kind: EntryKind::Adjustment,
        user_id: req.user_id,
        call_id: req.call_id,
        key: &req.idempotency_key,
        note: req.note.as_deref(),
    };
    if req.amount < 0 {
        debit(db, &movement, -req.amount)
            .await
            .map(AdjustOutcome::Debited)
    } else {
        credit(db, &movement, req.amount)
            .await
            .map(AdjustOutcome::Credited)
    }
}

/// How many `usage` entries a call has (the billing saga's "charged exactly once" check).
pub async fn usage_entries_for_call(
    db: &impl ConnectionTrait,
    call_id: Uuid,
) -> Result<u64, LedgerError> {
    credit_ledger::Entity::find()
        .filter(credit_ledger::Column::CallId.eq(call_id))
        .filter(credit_ledger::Column::Kind.eq(EntryKind::Usage.as_str()))
        .count(db)
        .await
        .map_err(LedgerError::from_db)
}

/// Checks a user's books: the balance equals `starting_balance` plus the sum of the user's
/// entries, and the entries, in the order they were applied, form a chain — each `balance_after`
/// is the previous one plus the entry's amount, starting from `starting_balance` and ending at
/// the balance. Also checks that each entry's sign fits its kind. Returns the first violation.
pub async fn balance_invariant(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    starting_balance: i64,
) -> Result<(), String> {
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await
        .map_err(|e| format!("failed to load user {user_id}: {e}"))?
        .ok_or_else(|| format!("user {user_id} not found"))?;
    let mut entries = credit_ledger::Entity::find()
        .filter(credit_ledger::Column::UserId.eq(user_id))
        .all(db)
        .await
        .map_err(|e| format!("failed to load the entries of user {user_id}: {e}"))?;
    entries.sort_by_key(|e| (e.created_at, e.id));

    let sum = entries
        .iter()
        .try_fold(0_i64, |sum, e| sum.checked_add(e.amount));
    let expected = sum.and_then(|sum| starting_balance.checked_add(sum));
    if expected != Some(user.credit_balance) {
        return Err(format!(
            "balance {} != starting balance {starting_balance} + sum of {} entries ({sum:?})",
            user.credit_balance,
            entries.len(),
        ));
    }
    let mut running = starting_balance;
    for (i, e) in entries.iter().enumerate() {
        let sign_ok = match e.kind.as_str() {
            "usage" => e.amount <= 0,
            "topup" | "refund" => e.amount > 0,
            "adjustment" => true,
            _ => false,
        };
        if !sign_ok {
            return Err(format!(
                "entry #{i} {} ({}): amount {} does not fit its kind",
                e.id, e.kind, e.amount
            ));
        }
        let after = running.checked_add(e.amount);
        if after != Some(e.balance_after) {
            return Err(format!(
                "entry #{i} {} ({}, {}): balance_after {} but {running} + {} = {after:?}",
                e.id, e.kind, e.idempotency_key, e.balance_after, e.amount
            ));
        }
        running = e.balance_after;
    }
    Ok(())
}

/// What every movement has besides its amount.
struct Movement<'a> {
    kind: EntryKind,
    user_id: Uuid,
    call_id: Option<Uuid>,
    key: &'a str,
    note: Option<&'a str>,
}

fn validate(amount: i64, key: &str) -> Result<(), LedgerError> {
    if amount <= 0 {
        return Err(LedgerError::Invalid(format!(
            "amount must be positive, got {amount}"
        )));
    }
    if amount > MAX_AMOUNT {
        return Err(LedgerError::Invalid(format!(
            "amount must be at most {MAX_AMOUNT}, got {amount}"
        )));
    }
    if key.trim().is_empty() {
        return Err(LedgerError::Invalid("idempotency key is empty".into()));
    }
    Ok(())
}

async fn debit(
    db: &DatabaseConnection,
    m: &Movement<'_>,
    amount: i64,
) -> Result<ChargeOutcome, LedgerError> {
    let (txn, user) = match open(db, m).await? {
        Opened::Locked(txn, user) => (txn, user),
        Opened::Seen(entry) => return charge_duplicate(db, m, &entry).await,
    };
    let d = rules::debit(&Account::from(&user), amount);
    let now = Utc::now();
    let entry_id = Uuid::now_v7();

    let mut note = m.note.map(str::to_owned);
    let mut events = Vec::new();
    if d.uncollected > 0 {
        let text = format!(
            "uncollected: {} of {amount} credits (balance and grace credits exhausted)",
            d.uncollected
        );
        note = Some(match note {
            Some(n) if !n.is_empty() => format!("{n}; {text}"),
            _ => text,
        });
        events.push(event(
            m,
            EVENT_UNCOLLECTED,
            now,
            json!({
                "entry_id": entry_id,
                "idempotency_key": m.key,
                "entry_kind": m.kind.as_str(),
                "requested": amount,
                "charged": d.charged,
                "uncollected": d.uncollected,
                "balance_after": d.balance_after,
                "grace_credits_limit": user.grace_credits_limit,
            }),
        ));
        tracing::warn!(
            user.id = %m.user_id,
            call.id = ?m.call_id,
            requested = amount,
            uncollected = d.uncollected,
            "charge capped at the balance plus grace credits"
        );
    }
    if d.low_balance_crossed {
        events.push(event(
            m,
            EVENT_LOW_BALANCE_CROSSED,
            now,
            json!({
                "entry_id": entry_id,
                "idempotency_key": m.key,
                "balance_before": user.credit_balance,
                "balance_after": d.balance_after,
                "threshold": user.low_balance_threshold,
            }),
        ));
    }

    let entry = entry(
        m,
        entry_id,
        -d.charged,
        d.balance_after,
        d.from_grace,
        note,
        now,
    );
    let update = Balance {
        balance: d.balance_after,
        grace_used: d.grace_used_after,
        notified: d.notified_after,
    };
    match write(db, txn, m, entry, update, events, now).await? {
        Written::Committed => Ok(ChargeOutcome {
            entry_id,
            requested: amount,
            charged: d.charged,
            uncollected: d.uncollected,
            grace_used: d.from_grace,
            balance_after: d.balance_after,
            low_balance_crossed: d.low_balance_crossed,
            duplicate: false,
        }),
        Written::Seen(entry) => charge_duplicate(db, m, &entry).await,
    }
}

async fn credit(
    db: &DatabaseConnection,
    m: &Movement<'_>,
    amount: i64,
) -> Result<CreditOutcome, LedgerError> {
    let (txn, user) = match open(db, m).await? {
        Opened::Locked(txn, user) => (txn, user),
        Opened::Seen(entry) => return credit_duplicate(db, m, &entry).await,
    };
    let c = rules::credit(&Account::from(&user), amount);
    let now = Utc::now();
    let entry_id = Uuid::now_v7();

    let mut events = Vec::new();
    if c.low_balance_reset {
        events.push(event(
            m,
            EVENT_LOW_BALANCE_RESET,
            now,
            json!({
                "entry_id": entry_id,
                "idempotency_key": m.key,
                "balance_before": user.credit_balance,
                "balance_after": c.balance_after,
                "threshold": user.low_balance_threshold,
            }),
        ));
    }
    let entry = entry(
        m,
        entry_id,
        amount,
        c.balance_after,
        -c.grace_repaid,
        m.note.map(str::to_owned),
        now,
    );
    let update = Balance {
        balance: c.balance_after,
        grace_used: c.grace_used_after,
        notified: c.notified_after,
    };
    match write(db, txn, m, entry, update, events, now).await? {
        Written::Committed => Ok(CreditOutcome {
            entry_id,
            amount,
            grace_repaid: c.grace_repaid,
            balance_after: c.balance_after,
            low_balance_reset: c.low_balance_reset,
            duplicate: false,
        }),
        Written::Seen(entry) => credit_duplicate(db, m, &entry).await,
    }
}
