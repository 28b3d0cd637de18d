//! The arithmetic of a credit movement, apart from the database: how much a debit may take
//! (balance, then grace credits, then nothing), how a credit repays grace, and when the
//! low-balance flag flips.

use callsaga_entity::users;

/// The part of a `users` row a movement reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Account {
    pub(super) balance: i64,
    pub(super) grace_used: i64,
    pub(super) grace_limit: i64,
    pub(super) threshold: i64,
    pub(super) notified: bool,
}

impl From<&users::Model> for Account {
    fn from(user: &users::Model) -> Self {
        Self {
            balance: user.credit_balance,
            grace_used: user.grace_credits_used,
            grace_limit: user.grace_credits_limit,
            threshold: user.low_balance_threshold,
            notified: user.low_balance_notified,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Debit {
    /// Taken from the account: `from_grace` of it below zero.
    pub(super) charged: i64,
    pub(super) from_grace: i64,
    /// Requested but not covered by the balance and the remaining grace credits.
    pub(super) uncollected: i64,
    pub(super) balance_after: i64,
    pub(super) grace_used_after: i64,
    /// The balance went from `>= threshold` to `< threshold` and nobody was told yet.
    pub(super) low_balance_crossed: bool,
    pub(super) notified_after: bool,
}

/// Takes `amount` (> 0): first from the positive balance, then from the grace credits left
/// (`grace_limit − grace_used`), never below `−grace_limit`; the rest is uncollected.
///
/// Both caps are applied so that an account edited by hand (a negative balance with no grace
/// recorded) still never goes below `−grace_limit`.
pub(super) fn debit(account: &Account, amount: i64) -> Debit {
    let Account {
        balance,
        grace_used,
        threshold,
        notified,
        ..
    } = *account;
    let headroom = headroom(account);
    let charged = amount.min(headroom);
    let from_grace = charged.saturating_sub(balance.max(0)).max(0);
    let balance_after = balance.saturating_sub(charged);
    let low_balance_crossed = !notified && balance >= threshold && balance_after < threshold;
    Debit {
        charged,
        from_grace,
        uncollected: amount - charged,
        balance_after,
        grace_used_after: grace_used.saturating_add(from_grace),
        low_balance_crossed,
        notified_after: notified || low_balance_crossed,
    }
}

/// What a debit may take at most: the positive balance plus the grace credits left
/// (`grace_limit − grace_used`), never below `−grace_limit` (an account edited by hand).
/// The admission at the door (`crate::admission`) asks for this much before a call.
pub(super) fn headroom(account: &Account) -> i64 {
    let Account {
        balance,
        grace_used,
        grace_limit,
        ..
    } = *account;
    let grace_left = grace_limit.saturating_sub(grace_used).max(0);
    balance
        .max(0)
        .saturating_add(grace_left)
        .min(balance.saturating_add(grace_limit.max(0)))
        .max(0)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Credit {
    /// The part of the amount that paid back grace credits.
    pub(super) grace_repaid: i64,
    pub(super) balance_after: i64,
    pub(super) grace_used_after: i64,
    /// The balance is back at or above the threshold: the next downward crossing notifies again.
    pub(super) low_balance_reset: bool,
    pub(super) notified_after: bool,
}

/// Adds `amount` (> 0) to the balance; it repays the grace credits used first.
pub(super) fn credit(account: &Account, amount: i64) -> Credit {
    let grace_repaid = amount.min(account.grace_used.max(0));
    let balance_after = account.balance.saturating_add(amount);
    let low_balance_reset = account.notified && balance_after >= account.threshold;
    Credit {
        grace_repaid,
        balance_after,
        grace_used_after: account.grace_used - grace_repaid,
        low_balance_reset,
        notified_after: account.notified && !low_balance_reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(balance: i64, grace_used: i64, grace_limit: i64) -> Account {
        Account {
            balance,
            grace_used,
            grace_limit,
            threshold: 0,
            notified: false,
        }
    }

    #[test]
    fn debit_within_the_balance() {
        let d = debit(&account(100, 0, 50), 30);
        assert_eq!((d.charged, d.from_grace, d.uncollected), (30, 0, 0));
        assert_eq!((d.balance_after, d.grace_used_after), (70, 0));
    }

    #[test]
    fn debit_into_grace_then_capped() {
        let d = debit(&account(100, 0, 200), 250);
        assert_eq!((d.charged, d.from_grace, d.uncollected), (250, 150, 0));
        assert_eq!((d.balance_after, d.grace_used_after), (-150, 150));

        let d = debit(&account(-150, 150, 200), 100);
        assert_eq!((d.charged, d.from_grace, d.uncollected), (50, 50, 50));
        assert_eq!((d.balance_after, d.grace_used_after), (-200, 200));

        let d = debit(&account(-200, 200, 200), 10);
        assert_eq!((d.charged, d.from_grace, d.uncollected), (0, 0, 10));
        assert_eq!(d.balance_after, -200);
    }

    #[test]
    fn debit_without_grace_stops_at_zero() {
        let d = debit(&account(20, 0, 0), 30);
        assert_eq!((d.charged, d.uncollected, d.balance_after), (20, 10, 0));
    }

    #[test]
    fn hand_edited_negative_balance_never_goes_below_the_limit() {
        // Balance −180 with no grace recorded and a limit of 200: only 20 more may go.
        let d = debit(&account(-180, 0, 200), 100);
        assert_eq!((d.charged, d.uncollected, d.balance_after), (20, 80, -200));
        // Already below the limit (the limit was lowered): nothing more.
        let d = debit(&account(-300, 300, 200), 5);
        assert_eq!((d.charged, d.uncollected, d.balance_after), (0, 5, -300));
    }

    #[test]
    fn headroom_is_balance_plus_grace_left() {
        assert_eq!(headroom(&account(100, 0, 50)), 150);
        assert_eq!(headroom(&account(-150, 150, 200)), 50);
        assert_eq!(headroom(&account(-200, 200, 200)), 0);
        assert_eq!(headroom(&account(0, 0, 0)), 0);
        assert_eq!(headroom(&account(-180, 0, 200)), 20);
    }

    #[test]
    fn credit_repays_grace_first() {
        let c = credit(&account(-200, 200, 200), 150);
        assert_eq!(
            (c.grace_repaid, c.balance_after, c.grace_used_after),
            (150, -50, 50)
        );
        let c = credit(&account(-50, 50, 200), 300);
        assert_eq!(
            (c.grace_repaid, c.balance_after, c.grace_used_after),
            (50, 250, 0)
        );
        let c = credit(&account(10, 0, 200), 5);
        assert_eq!(
            (c.grace_repaid, c.balance_after, c.grace_used_after),
            (0, 15, 0)
        );
    }

    #[test]
    fn low_balance_flag_flips_once_per_downward_crossing() {
        let mut a = Account {
            balance: 600,
            grace_used: 0,
            grace_limit: 0,
            threshold: 500,
            notified: false,
        };
        let mut crossings = 0;
        for (amount, crossed) in [(50, false), (100, true), (100, false), (100, false)] {
            let d = debit(&a, amount);
            assert_eq!(
                d.low_balance_crossed, crossed,
                "{amount} from {}",
                a.balance
            );
            crossings += usize::from(d.low_balance_crossed);
            a.balance = d.balance_after;
            a.notified = d.notified_after;
        }
        assert_eq!((crossings, a.balance, a.notified), (1, 250, true));

        // A credit that stays below the threshold keeps the flag; reaching it resets.
        let c = credit(&a, 200);
        assert!(!c.low_balance_reset && c.notified_after);
        a.balance = c.balance_after;
        let c = credit(&a, 50);
        assert!(c.low_balance_reset && !c.notified_after);
        a.balance = c.balance_after;
        a.notified = c.notified_after;
        assert_eq!(a.balance, 500);

        // Exactly at the threshold is not below it; one credit under is.
        let d = debit(&a, 1);
        assert!(d.low_balance_crossed);
    }

    #[test]
    fn starting_below_the_threshold_is_not_a_crossing() {
        let a = Account {
            balance: 100,
            grace_used: 0,
            grace_limit: 0,
            threshold: 500,
            notified: false,
        };
        assert!(!debit(&a, 10).low_balance_crossed);
    }
}
