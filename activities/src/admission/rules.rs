//! The admission decision, apart from the database: is the tenant active, can it pay for one
//! more call, and is a line free under its cap.

use crate::ledger::available_credits;
use callsaga_entity::users;

/// Why a call was not taken. Stored in `calls.admission` and the `outcome` metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Balance plus remaining grace credits below the minimum a call needs.
    Credits,
    /// The tenant already has as many calls in progress as its cap allows.
    Busy,
    /// The account owner is deactivated.
    Inactive,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credits => "refused_credits",
            Self::Busy => "refused_busy",
            Self::Inactive => "refused_inactive",
        }
    }
}

/// The credits a call of `user` needs: the user's own minimum, else `default_min`.
pub fn min_credits(user: &users::Model, default_min: i64) -> i64 {
    user.min_call_credits.unwrap_or(default_min)
}

/// Whether `user` may take a call regardless of the lines in use: active, and with at least
/// the minimum in balance plus grace credits left.
pub fn account_refusal(user: &users::Model, default_min: i64) -> Option<Refusal> {
    if !user.active {
        return Some(Refusal::Inactive);
    }
    (available_credits(user) < min_credits(user, default_min)).then_some(Refusal::Credits)
}

/// Whether one more call fits under `cap` with `held` slots in use.
pub fn line_refusal(cap: Option<i32>, held: u64) -> Option<Refusal> {
    let cap = u64::try_from(cap?).unwrap_or(0);
    (held >= cap).then_some(Refusal::Busy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn user(balance: i64, grace_used: i64, grace_limit: i64) -> users::Model {
        users::Model {
            id: uuid::Uuid::nil(),
            email: "a@b.test".into(),
            name: "A".into(),
            credit_balance: balance,
            grace_credits_used: grace_used,
            grace_credits_limit: grace_limit,
            low_balance_threshold: 0,
            low_balance_notified: false,
            timezone: "UTC".into(),
            locale: "en".into(),
            active: true,
            max_concurrent_calls: None,
            fallback_number: None,
            min_call_credits: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn credits_count_the_grace_left() {
        assert_eq!(account_refusal(&user(10, 0, 0), 10), None);
        assert_eq!(account_refusal(&user(9, 0, 0), 10), Some(Refusal::Credits));
        // Grace left covers it.
        assert_eq!(account_refusal(&user(0, 0, 500), 10), None);
        assert_eq!(
            account_refusal(&user(-495, 495, 500), 10),
            Some(Refusal::Credits)
        );
        assert_eq!(
            account_refusal(&user(-500, 500, 500), 10),
            Some(Refusal::Credits)
        );
        // The user's own minimum wins over the default.
        let mut u = user(50, 0, 0);
        u.min_call_credits = Some(100);
        assert_eq!(account_refusal(&u, 10), Some(Refusal::Credits));
        u.min_call_credits = Some(0);
        u.credit_balance = 0;
        assert_eq!(account_refusal(&u, 10), None);
    }

    #[test]
    fn a_deactivated_user_is_refused_whatever_the_balance() {
        let mut u = user(1_000_000, 0, 0);
        u.active = false;
        assert_eq!(account_refusal(&u, 10), Some(Refusal::Inactive));
    }

    #[test]
    fn the_cap_counts_held_slots() {
        assert_eq!(line_refusal(None, 1_000), None);
        assert_eq!(line_refusal(Some(2), 1), None);
        assert_eq!(line_refusal(Some(2), 2), Some(Refusal::Busy));
        assert_eq!(line_refusal(Some(0), 0), Some(Refusal::Busy));
    }
}
