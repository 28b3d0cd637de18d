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

mod error;
mod rules;

pub use error::LedgerError;

use callsaga_entity::{credit_ledger, event_log, users};
use chrono::{DateTime, Utc};
use rules::Account;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, Set, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde_json::json;
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

/// `credit_ledger.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A call's charge; the amount is negative (or zero when nothing could be collected).
    Usage,
    TopUp,
    Refund,
    /// A signed correction, e.g. when a late end-of-call report changes a call the watchdog
    /// billed.
    Adjustment,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::TopUp => "topup",
            Self::Refund => "refund",
            Self::Adjustment => "adjustment",
        }
    }
}

/// Charge a call: a `usage` entry of `-amount` (capped; see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeCall {
    pub user_id: Uuid,
    pub call_id: Uuid,
    /// Credits to charge, > 0.
    pub amount: i64,
    /// E.g. `call:<vapi call id>:usage`.
    pub idempotency_key: String,
    pub note: Option<String>,
}

/// Give credits back: a `refund` entry of `+amount`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub user_id: Uuid,
    pub call_id: Option<Uuid>,
    /// Credits to give back, > 0.
    pub amount: i64,
    pub idempotency_key: String,
    pub note: Option<String>,
}

/// Add bought credits: a `topup` entry of `+amount`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUp {
    pub user_id: Uuid,
    /// Credits bought, > 0.
    pub amount: i64,
    pub idempotency_key: String,
    pub note: Option<String>,
}

/// A signed correction: an `adjustment` entry. Negative amounts are debited like a charge
/// (capped, may cross the low-balance threshold), positive ones credited like a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjust {
    pub user_id: Uuid,
    pub call_id: Option<Uuid>,
    /// Signed, non-zero: negative takes credits, positive gives them.
    pub amount: i64,
    pub idempotency_key: String,
    pub note: Option<String>,
}

/// What a debit did (a charge, or a negative adjustment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChargeOutcome {
    pub entry_id: Uuid,
    /// The credits asked for: `charged + uncollected`.
    pub requested: i64,
    /// The credits taken (>= 0); the entry's amount is `-charged`.
    pub charged: i64,
    /// The credits that the balance and grace credits could not cover.
    pub uncollected: i64,
    /// The part of `charged` taken from grace credits.
    pub grace_used: i64,
    pub balance_after: i64,
    /// This debit crossed the low-balance threshold downwards: send the low-balance email.
    pub low_balance_crossed: bool,
    /// The key was seen before: this is the first outcome, and nothing changed now.
    pub duplicate: bool,
}

/// What a credit did (a top-up, a refund, or a positive adjustment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditOutcome {
    pub entry_id: Uuid,
    /// The credits added (> 0).
    pub amount: i64,
    /// The part of `amount` that repaid grace credits.
    pub grace_repaid: i64,
    pub balance_after: i64,
    /// The balance is back at or above the low-balance threshold and the flag was cleared.
    pub low_balance_reset: bool,
    /// The key was seen before: this is the first outcome, and nothing changed now.
    pub duplicate: bool,
}

/// What an adjustment did, by direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustOutcome {
    Debited(ChargeOutcome),
    Credited(CreditOutcome),
}

impl AdjustOutcome {
    pub fn entry_id(&self) -> Uuid {
        match self {
            Self::Debited(o) => o.entry_id,
            Self::Credited(o) => o.entry_id,
        }
    }

    pub fn balance_after(&self) -> i64 {
        match self {
            Self::Debited(o) => o.balance_after,
            Self::Credited(o) => o.balance_after,
        }
    }

    pub fn duplicate(&self) -> bool {
        match self {
            Self::Debited(o) => o.duplicate,
            Self::Credited(o) => o.duplicate,
        }
    }
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

// ---------------------------------------------------------------------------------------------
// The two shapes of a movement
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The transaction
// ---------------------------------------------------------------------------------------------

enum Opened {
    /// The user's row is locked and the key is new.
    Locked(DatabaseTransaction, users::Model),
    /// The key is taken (the transaction was rolled back).
    Seen(credit_ledger::Model),
}

/// Begins the transaction, locks the user's row (the first statement) and looks the key up.
async fn open(db: &DatabaseConnection, m: &Movement<'_>) -> Result<Opened, LedgerError> {
    let txn = db
        .begin_with_options(TransactionOptions {
            // Ignored by PostgreSQL; see the module docs.
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
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
struct Balance {
    balance: i64,
    grace_used: i64,
    notified: bool,
}

enum Written {
    Committed,
    /// A concurrent twin inserted the key first (the transaction was rolled back).
    Seen(credit_ledger::Model),
}

/// Inserts the entry (first, so a key or call conflict stops the transaction before anything
/// else is written), updates the user, logs the events and commits.
async fn write(
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

fn entry(
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

fn event(
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

// ---------------------------------------------------------------------------------------------
// Duplicates: the first outcome, rebuilt from what the first transaction wrote
// ---------------------------------------------------------------------------------------------

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

async fn charge_duplicate(
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

async fn credit_duplicate(
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
