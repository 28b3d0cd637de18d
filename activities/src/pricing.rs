//! What a call costs: its billable duration, whether it is billable at all, and the price in
//! credits. Pure functions — the ledger (`crate::ledger`) moves the credits.
//!
//! Rounding is always up: a started minute (or second) is paid in full, and a fraction of a
//! credit is rounded up to a whole one. A call is never charged less than its exact price, and at
//! most one credit (per second) or one minute's price (per started minute) more.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The highest price accepted, in credits per minute. Far below anything that could overflow
/// the arithmetic, far above any sensible price; a typo such as a missing decimal point is
/// rejected instead of charged.
pub const MAX_CREDITS_PER_MINUTE: i64 = 1_000_000;

/// How a call's duration is turned into credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingMode {
    /// Every started minute costs the full per-minute price (61 s = 2 minutes).
    PerStartedMinute,
    /// Every started second costs 1/60 of the per-minute price; the total is rounded up to a
    /// whole credit.
    PerSecond,
}

/// A validated price: the mode and a per-minute price between 0 and
/// [`MAX_CREDITS_PER_MINUTE`]. Deserializing validates too, so an invalid price in the settings
/// fails at start-up rather than at the first call.
///
/// ```json
/// { "mode": "per_started_minute", "credits_per_minute": 10 }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPricing")]
pub struct Pricing {
    mode: PricingMode,
    credits_per_minute: i64,
}

/// A price that [`Pricing::new`] refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("credits_per_minute must be at least 0, got {0}")]
    Negative(i64),
    #[error("credits_per_minute must be at most {MAX_CREDITS_PER_MINUTE}, got {0}")]
    TooHigh(i64),
}

impl Pricing {
    pub fn new(mode: PricingMode, credits_per_minute: i64) -> Result<Self, PricingError> {
        if credits_per_minute < 0 {
            return Err(PricingError::Negative(credits_per_minute));
        }
        if credits_per_minute > MAX_CREDITS_PER_MINUTE {
            return Err(PricingError::TooHigh(credits_per_minute));
        }
        Ok(Self {
            mode,
            credits_per_minute,
        })
    }

    pub fn mode(&self) -> PricingMode {
        self.mode
    }

    pub fn credits_per_minute(&self) -> i64 {
        self.credits_per_minute
    }

    /// The price of the smallest piece a call is billed in: a started minute
    /// ([`PricingMode::PerStartedMinute`]) or a started second ([`PricingMode::PerSecond`],
    /// rounded up to a whole credit). The admission's default minimum: a call that cannot pay
    /// for this much is not taken.
    pub fn unit_credits(&self) -> i64 {
        match self.mode {
            PricingMode::PerStartedMinute => charge_for(60_000, self),
            PricingMode::PerSecond => charge_for(1_000, self),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPricing {
    mode: PricingMode,
    credits_per_minute: i64,
}

impl TryFrom<RawPricing> for Pricing {
    type Error = PricingError;

    fn try_from(raw: RawPricing) -> Result<Self, Self::Error> {
        Self::new(raw.mode, raw.credits_per_minute)
    }
}

/// The duration to bill, in milliseconds, from the best source available:
///
/// 1. the end-of-call report's `durationMs` (authoritative when present);
/// 2. the call's `endedAt − startedAt` (from the report or the call object);
/// 3. the times of the `in-progress` and `ended` status updates (when the report is missing
///    and the watchdog bills the call).
///
/// A negative value at any step (clock skew, a bad payload) is skipped, not billed; `None`
/// when no source gives a duration.
pub fn billable_duration_ms(
    report_duration_ms: Option<i64>,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    status_started_at: Option<DateTime<Utc>>,
    status_ended_at: Option<DateTime<Utc>>,
) -> Option<i64> {
    fn span(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<i64> {
        Some((end? - start?).num_milliseconds()).filter(|ms| *ms >= 0)
    }
    report_duration_ms
        .filter(|ms| *ms >= 0)
        .or_else(|| span(started_at, ended_at))
        .or_else(|| span(status_started_at, status_ended_at))
}

/// How far a reported duration may differ from the call's own `endedAt − startedAt` before it
/// is not trusted (both come from Vapi; real reports agree to the millisecond).
pub const DURATION_TOLERANCE_MS: i64 = 5_000;

/// Why a reported duration was not billed as reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationFlag {
    /// It differs from the call's own timestamps by more than [`DURATION_TOLERANCE_MS`].
    ContradictsTimestamps,
    /// It (or the timestamps) exceeds the longest call (`calls.max_call_secs`).
    ExceedsMaxCall,
}

impl DurationFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContradictsTimestamps => "contradicts_timestamps",
            Self::ExceedsMaxCall => "exceeds_max_call",
        }
    }
}

/// The duration to bill and, when the reported one was not trusted, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedDuration {
    pub billed_ms: Option<i64>,
    /// `endedAt − startedAt`, when both are known and in order.
    pub timestamps_ms: Option<i64>,
    pub flag: Option<DurationFlag>,
}

/// [`billable_duration_ms`] from the reported duration and the call's timestamps, checked: a
/// reported duration that contradicts the timestamps is replaced by them, and a duration longer
/// than `max_call_ms` is billed from the timestamps, capped at `max_call_ms`. Either is flagged.
pub fn checked_duration(
    reported_ms: Option<i64>,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    max_call_ms: i64,
) -> CheckedDuration {
    let timestamps_ms = started_at
        .zip(ended_at)
        .map(|(start, end)| (end - start).num_milliseconds())
        .filter(|ms| *ms >= 0);
    let duration = billable_duration_ms(reported_ms, started_at, ended_at, None, None);
    let contradicts = matches!(
        (reported_ms.filter(|ms| *ms >= 0), timestamps_ms),
        (Some(reported), Some(span)) if (reported - span).abs() > DURATION_TOLERANCE_MS
    );
    let (billed_ms, flag) = if contradicts {
        let span = timestamps_ms.unwrap_or(0);
        (
            Some(span.min(max_call_ms)),
            Some(DurationFlag::ContradictsTimestamps),
        )
    } else if duration.is_some_and(|ms| ms > max_call_ms) {
        let from_timestamps = timestamps_ms.unwrap_or(max_call_ms);
        (
            Some(from_timestamps.min(max_call_ms)),
            Some(DurationFlag::ExceedsMaxCall),
        )
    } else {
        (duration, None)
    };
    CheckedDuration {
        billed_ms,
        timestamps_ms,
        flag,
    }
}

/// The price of `duration_ms` in credits (0 for a zero or negative duration).
///
/// - [`PricingMode::PerStartedMinute`]: `ceil(ms / 60 000) × price`.
/// - [`PricingMode::PerSecond`]: `ceil(ceil(ms / 1 000) × price / 60)` — the started second is
///   paid, then the fraction of a credit is rounded up.
///
/// Saturates at `i64::MAX` instead of overflowing (unreachable with a validated price and any
/// real duration).
pub fn charge_for(duration_ms: i64, pricing: &Pricing) -> i64 {
    let Ok(ms) = u64::try_from(duration_ms) else {
        return 0;
    };
    // Validated to be within 0..=MAX_CREDITS_PER_MINUTE.
    let price = u128::from(pricing.credits_per_minute.unsigned_abs());
    let credits = match pricing.mode {
        PricingMode::PerStartedMinute => u128::from(ms.div_ceil(60_000)) * price,
        PricingMode::PerSecond => (u128::from(ms.div_ceil(1_000)) * price).div_ceil(60),
    };
    i64::try_from(credits).unwrap_or(i64::MAX)
}

/// Ended reasons that mean the caller was never connected to the assistant: the call failed to
/// start, was not answered, was rejected by the carrier, or was cancelled before it rang
/// through. Matched exactly or, when ending in `.`, as a prefix.
const NEVER_CONNECTED: &[&str] = &[
    "call.start.",
    "call-start-error-",
    "call.ringing.",
    "assistant-request-",
    "assistant-not-valid",
    "assistant-not-found",
    "assistant-join-timed-out",
    "customer-busy",
    "customer-did-not-answer",
    "customer-did-not-give-microphone-permission",
    "scheduled-call-deleted",
    "call-deleted",
    "twilio-failed-to-connect-call",
    "twilio-reported-customer-misdialed",
    "vonage-failed-to-connect-call",
    "vonage-rejected",
    "sip-outbound-unallocated-number",
    "phone-call-provider-bypass-enabled-but-no-call-received",
];

/// Whether Vapi's `endedReason` says the call ended before the caller was connected.
pub fn ended_before_connect(ended_reason: &str) -> bool {
    NEVER_CONNECTED.iter().any(|pattern| {
        if pattern.ends_with('.') || pattern.ends_with('-') {
            ended_reason.starts_with(pattern)
        } else {
            ended_reason == *pattern
        }
    })
}

/// Whether a call is billed at all.
///
/// `status_reached_in_progress`: the call was seen `in-progress` or later (`forwarding`, or an
/// end-of-call report with a start time). A call that never got there — or whose ended reason
/// says it failed before connecting (not answered, busy, start-up error, rejected; see
/// [`ended_before_connect`]) — is not billable, even if its status later became `ended`. A call
/// with no duration, or a zero one, is not billable either. Everything else is: a call that
/// connected and then failed (a pipeline error mid-call, a failed transfer) used the service.
pub fn is_billable(
    status_reached_in_progress: bool,
    ended_reason: Option<&str>,
    duration_ms: Option<i64>,
) -> bool {
    status_reached_in_progress
        && !ended_reason.is_some_and(ended_before_connect)
        && duration_ms.is_some_and(|ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn per_minute(price: i64) -> Pricing {
        Pricing::new(PricingMode::PerStartedMinute, price).expect("valid")
    }

    fn per_second(price: i64) -> Pricing {
        Pricing::new(PricingMode::PerSecond, price).expect("valid")
    }

    #[test]
    fn one_billing_unit() {
        assert_eq!(per_minute(10).unit_credits(), 10);
        assert_eq!(per_second(10).unit_credits(), 1);
        assert_eq!(per_second(120).unit_credits(), 2);
        assert_eq!(per_minute(0).unit_credits(), 0);
    }

    fn at(seconds: i64) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(1_790_000_000 + seconds, 0).single()
    }

    #[test]
    fn per_started_minute_rounds_every_started_minute_up() {
        let p = per_minute(10);
        assert_eq!(charge_for(0, &p), 0);
        assert_eq!(charge_for(-5, &p), 0);
        assert_eq!(charge_for(1, &p), 10);
        assert_eq!(charge_for(59_999, &p), 10);
        assert_eq!(charge_for(60_000, &p), 10);
        assert_eq!(charge_for(60_001, &p), 20);
        assert_eq!(charge_for(61_000, &p), 20);
        assert_eq!(charge_for(600_000, &p), 100);
    }

    #[test]
    fn per_second_rounds_the_second_then_the_credit_up() {
        let p = per_second(10);
        assert_eq!(charge_for(0, &p), 0);
        // 1 ms → 1 s → 10/60 credit → 1.
        assert_eq!(charge_for(1, &p), 1);
        // 6 s → exactly 1 credit.
        assert_eq!(charge_for(6_000, &p), 1);
        // 6.001 s → 7 s → 70/60 → 2.
        assert_eq!(charge_for(6_001, &p), 2);
        assert_eq!(charge_for(60_000, &p), 10);
        // 61 s → 610/60 = 10.17 → 11.
        assert_eq!(charge_for(61_000, &p), 11);
        // A price divisible by 60 is exact per second.
        assert_eq!(charge_for(61_000, &per_second(60)), 61);
    }

    #[test]
    fn per_second_never_charges_less_than_the_exact_price() {
        for price in [1, 7, 10, 59, 60, 61, 120, 999] {
            let p = per_second(price);
            for ms in (0..400_000).step_by(977) {
                let exact_times_60 = (ms + 999) / 1_000 * price;
                let charged = charge_for(ms, &p);
                assert!(charged * 60 >= exact_times_60, "{price} {ms}");
                assert!((charged - 1) * 60 < exact_times_60.max(1), "{price} {ms}");
            }
        }
    }

    #[test]
    fn free_price_and_huge_durations() {
        assert_eq!(charge_for(3_600_000, &per_minute(0)), 0);
        assert_eq!(charge_for(3_600_000, &per_second(0)), 0);
        let max = per_minute(MAX_CREDITS_PER_MINUTE);
        assert_eq!(charge_for(i64::MAX, &max), i64::MAX, "saturates");
        let max = per_second(MAX_CREDITS_PER_MINUTE);
        assert!(charge_for(i64::MAX, &max) > 0);
    }

    #[test]
    fn pricing_is_validated_on_construction_and_deserialization() {
        assert_eq!(
            Pricing::new(PricingMode::PerSecond, -1),
            Err(PricingError::Negative(-1))
        );
        assert_eq!(
            Pricing::new(PricingMode::PerSecond, MAX_CREDITS_PER_MINUTE + 1),
            Err(PricingError::TooHigh(MAX_CREDITS_PER_MINUTE + 1))
        );
        let p: Pricing =
            serde_json::from_str(r#"{"mode":"per_started_minute","credits_per_minute":12}"#)
                .expect("valid");
        assert_eq!(p.mode(), PricingMode::PerStartedMinute);
        assert_eq!(p.credits_per_minute(), 12);
        let back: Pricing = serde_json::from_value(serde_json::to_value(p).expect("serializes"))
            .expect("round trips");
        assert_eq!(back, p);

        let negative =
            serde_json::from_str::<Pricing>(r#"{"mode":"per_second","credits_per_minute":-3}"#);
        assert!(negative.is_err());
        let unknown_mode =
            serde_json::from_str::<Pricing>(r#"{"mode":"per_hour","credits_per_minute":3}"#);
        assert!(unknown_mode.is_err());
        let typo = serde_json::from_str::<Pricing>(
            r#"{"mode":"per_second","credits_per_minute":3,"credit_per_minute":4}"#,
        );
        assert!(typo.is_err(), "unknown fields are rejected");
    }

    #[test]
    fn duration_prefers_the_report_then_call_times_then_status_times() {
        assert_eq!(
            billable_duration_ms(Some(42_000), at(0), at(100), at(1), at(50)),
            Some(42_000)
        );
        assert_eq!(
            billable_duration_ms(None, at(0), at(100), at(1), at(50)),
            Some(100_000)
        );
        assert_eq!(
            billable_duration_ms(None, None, at(100), at(1), at(50)),
            Some(49_000)
        );
        assert_eq!(billable_duration_ms(None, at(0), None, None, at(50)), None);
        assert_eq!(billable_duration_ms(None, None, None, None, None), None);
        // A zero-length report is still the report.
        assert_eq!(
            billable_duration_ms(Some(0), at(0), at(100), None, None),
            Some(0)
        );
    }

    #[test]
    fn negative_durations_fall_through() {
        assert_eq!(
            billable_duration_ms(Some(-1), at(0), at(10), None, None),
            Some(10_000)
        );
        assert_eq!(
            billable_duration_ms(None, at(10), at(0), at(0), at(3)),
            Some(3_000)
        );
        assert_eq!(
            billable_duration_ms(Some(-1), at(10), at(0), at(3), at(0)),
            None
        );
    }

    #[test]
    fn a_duration_that_contradicts_the_timestamps_is_billed_from_them() {
        let max = 4 * 3_600_000;
        // Agrees (within the tolerance): billed as reported.
        let ok = checked_duration(Some(110_000), at(0), at(112), max);
        assert_eq!((ok.billed_ms, ok.flag), (Some(110_000), None));
        // An absurd report against a 110 s call: the timestamps win.
        let absurd = checked_duration(Some(9_000_000_000), at(0), at(110), max);
        assert_eq!(
            (absurd.billed_ms, absurd.flag),
            (Some(110_000), Some(DurationFlag::ContradictsTimestamps))
        );
        // Shorter than the timestamps by more than the tolerance: the timestamps too.
        let short = checked_duration(Some(1_000), at(0), at(110), max);
        assert_eq!(
            (short.billed_ms, short.flag),
            (Some(110_000), Some(DurationFlag::ContradictsTimestamps))
        );
        // Contradicting and the timestamps over the limit: capped.
        let both = checked_duration(Some(1), at(0), at(5 * 3_600), max);
        assert_eq!(
            (both.billed_ms, both.flag),
            (Some(max), Some(DurationFlag::ContradictsTimestamps))
        );
    }

    #[test]
    fn a_duration_over_the_longest_call_is_capped_and_flagged() {
        let max = 3_600_000;
        // No timestamps to check against: capped at the longest call.
        let alone = checked_duration(Some(9_000_000_000), None, None, max);
        assert_eq!(
            (alone.billed_ms, alone.flag),
            (Some(max), Some(DurationFlag::ExceedsMaxCall))
        );
        // Report and timestamps agree, both too long.
        let long = checked_duration(Some(7_200_000), at(0), at(7_200), max);
        assert_eq!(
            (long.billed_ms, long.flag),
            (Some(max), Some(DurationFlag::ExceedsMaxCall))
        );
        // Only timestamps, too long.
        let span = checked_duration(None, at(0), at(7_200), max);
        assert_eq!(
            (span.billed_ms, span.flag),
            (Some(max), Some(DurationFlag::ExceedsMaxCall))
        );
        // Exactly the longest call is fine; nothing known stays nothing.
        assert_eq!(checked_duration(Some(max), None, None, max).flag, None);
        assert_eq!(
            checked_duration(None, None, None, max),
            CheckedDuration {
                billed_ms: None,
                timestamps_ms: None,
                flag: None
            }
        );
    }

    #[test]
    fn billability() {
        let ms = Some(30_000);
        assert!(is_billable(true, Some("customer-ended-call"), ms));
        assert!(is_billable(true, None, ms));
        assert!(is_billable(true, Some("assistant-forwarded-call"), ms));
        assert!(is_billable(true, Some("voicemail"), ms));
        assert!(is_billable(
            true,
            Some("pipeline-error-openai-llm-failed"),
            ms
        ));
        assert!(is_billable(
            true,
            Some("call.in-progress.error-transfer-failed"),
            ms
        ));
        // Never connected.
        assert!(!is_billable(false, Some("customer-ended-call"), ms));
        assert!(!is_billable(true, Some("customer-did-not-answer"), ms));
        assert!(!is_billable(true, Some("customer-busy"), ms));
        assert!(!is_billable(
            true,
            Some("call.start.error-get-assistant"),
            ms
        ));
        assert!(!is_billable(
            true,
            Some("call.ringing.sip-inbound-caller-hungup-before-call-connect"),
            ms
        ));
        assert!(!is_billable(true, Some("assistant-request-failed"), ms));
        assert!(!is_billable(
            true,
            Some("twilio-failed-to-connect-call"),
            ms
        ));
        // No duration.
        assert!(!is_billable(true, Some("customer-ended-call"), None));
        assert!(!is_billable(true, Some("customer-ended-call"), Some(0)));
    }

    #[test]
    fn every_known_reason_is_classified_without_panicking() {
        let all = include_str!("../../../shared/vapi/endedReason.txt");
        let never: Vec<&str> = all
            .lines()
            .filter(|l| !l.trim().is_empty() && ended_before_connect(l))
            .collect();
        // 20 `call.start.*`, 4 `call.ringing.*`, the start/assistant-request errors and the
        // listed carrier rejections: none of them is an in-call reason.
        assert!(never.iter().all(|r| !r.starts_with("call.in-progress.")));
        assert!(never.contains(&"call.start.error-subscription-insufficient-credits"));
        assert!(!never.contains(&"customer-ended-call"));
        assert!(!never.contains(&"silence-timed-out"));
    }
}
