//! What the ledger's operations take ([`ChargeCall`], [`Refund`], [`TopUp`], [`Adjust`]) and
//! return ([`ChargeOutcome`], [`CreditOutcome`], [`AdjustOutcome`]).

use uuid::Uuid;

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
