//! Availability: which appointment slots are free, pure and time-zone correct.
//!
//! - [`BusinessHours`]: the weekly opening hours of `agents.business_hours`, validated.
//! - [`free_slots`] / [`next_available`]: free slots of a day from the hours, the busy intervals
//!   of the agent's calendar and the current time, correct across daylight-saving changes.
//! - [`speak_slots`]: up to five slots as one line in the agent's language.
//! - [`args`]: lenient parsing of tool-call arguments with speakable clarifications.
//!
//! Nothing here does I/O or reads the clock: callers pass `now` and the busy intervals (from
//! [`crate::calendar::Calendar::busy`] over [`search_range`]).

pub mod args;
mod hours;
mod slots;
mod speech;

pub use args::{
    ArgError, argument_text, parse_date, parse_duration_minutes, parse_time, parse_time_of_day,
};
pub use chrono_tz::Tz;
pub use hours::{BusinessHours, BusinessHoursError, Minute};
pub use slots::{
    DaySlots, NEXT_AVAILABLE_DAYS, Slot, TimeOfDay, free_slots, grid_minutes, local_date,
    next_available, parse_slot_id, search_range, slot_id,
};
pub use speech::{Language, MAX_SPOKEN_SLOTS, pick_spread, speak_date, speak_slots, speak_time};

/// An IANA time zone name (`agents.timezone`) that chrono-tz does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?} (expected an IANA name like Europe/Berlin)")]
pub struct UnknownTimeZone(pub String);

/// Parses an IANA time zone name such as `Europe/Berlin` or `America/New_York`.
pub fn parse_timezone(name: &str) -> Result<Tz, UnknownTimeZone> {
    name.trim()
        .parse()
        .map_err(|_| UnknownTimeZone(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones() {
        assert_eq!(parse_timezone("Europe/Berlin"), Ok(Tz::Europe__Berlin));
        assert_eq!(
            parse_timezone(" America/New_York "),
            Ok(Tz::America__New_York)
        );
        assert!(parse_timezone("Mars/Olympus").is_err());
    }
}
