//! Weekly opening hours (`agents.business_hours`), validated once into [`BusinessHours`].

use chrono::Weekday;
use serde_json::Value;
use std::fmt;

/// Minutes since local midnight, `0..=1440` (1440 = `24:00`, the end of the day).
pub type Minute = u16;

const MINUTES_PER_DAY: Minute = 24 * 60;

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A weekly schedule: for each weekday, sorted, non-overlapping local intervals `[open, close)`.
///
/// Parsed from JSON like `{"mon": [["09:00","12:30"],["13:30","17:00"]], ..., "sun": []}`:
/// - keys are `mon`..`sun` (full English names like `monday` are accepted too, any case); a
///   missing day is closed;
/// - each interval is `[start, end]` with times `HH:MM` (24 h; `24:00` is allowed as an end);
/// - start must be before end, and intervals of one day must not overlap (touching is fine).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BusinessHours {
    days: [Vec<(Minute, Minute)>; 7],
}

/// Why a business-hours JSON value was rejected. The message names the offending day and entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessHoursError {
    #[error("business hours must be a JSON object keyed by weekday (mon..sun), got {0}")]
    NotAnObject(String),
    #[error(
        "business hours: unknown weekday key {0:?} (expected mon, tue, wed, thu, fri, sat, sun)"
    )]
    UnknownDay(String),
    #[error("business hours: {0} is given twice")]
    DuplicateDay(String),
    #[error("business hours: {day} must be a list of [\"HH:MM\", \"HH:MM\"] intervals, got {got}")]
    NotAList { day: String, got: String },
    #[error("business hours: {day}[{index}] must be a pair [\"HH:MM\", \"HH:MM\"], got {got}")]
    NotAPair {
        day: String,
        index: usize,
        got: String,
    },
    #[error("business hours: {day}[{index}]: {got} is not a time of day (HH:MM, 24 h)")]
    BadTime {
        day: String,
        index: usize,
        got: String,
    },
    #[error("business hours: {day}[{index}]: start {start} is not before end {end}")]
    EmptyInterval {
        day: String,
        index: usize,
        start: String,
        end: String,
    },
    #[error("business hours: {day}: intervals {first} and {second} overlap")]
    Overlap {
        day: String,
        first: String,
        second: String,
    },
}

impl BusinessHours {
    /// Validates the JSON stored in `agents.business_hours`.
    pub fn from_json(value: &Value) -> Result<Self, BusinessHoursError> {
        let Value::Object(map) = value else {
            return Err(BusinessHoursError::NotAnObject(short(value)));
        };
        let mut days: [Option<Vec<(Minute, Minute)>>; 7] = Default::default();
        for (key, intervals) in map {
            let index =
                day_index(key).ok_or_else(|| BusinessHoursError::UnknownDay(key.clone()))?;
            let day = DAY_KEYS[index];
            if days[index].is_some() {
                return Err(BusinessHoursError::DuplicateDay(day.to_owned()));
            }
            days[index] = Some(parse_day(day, intervals)?);
        }
        Ok(Self {
            days: days.map(Option::unwrap_or_default),
        })
    }

    /// Builds hours from `(weekday, [(open, close)])` pairs in code (e.g. tests). Same
    /// validation as [`BusinessHours::from_json`].
    pub fn from_intervals<'a>(
        spec: impl IntoIterator<Item = (Weekday, &'a [(&'a str, &'a str)])>,
    ) -> Result<Self, BusinessHoursError> {
        let mut map = serde_json::Map::new();
        for (weekday, intervals) in spec {
            let list = intervals
                .iter()
                .map(|(a, b)| Value::from(vec![*a, *b]))
                .collect::<Vec<_>>();
            map.insert(
                DAY_KEYS[weekday.num_days_from_monday() as usize].to_owned(),
                Value::Array(list),
            );
        }
        Self::from_json(&Value::Object(map))
    }

    /// The opening intervals of a weekday as minutes since local midnight, sorted.
    pub fn intervals(&self, weekday: Weekday) -> &[(Minute, Minute)] {
        &self.days[weekday.num_days_from_monday() as usize]
    }

    /// `true` when the business is closed every day.
    pub fn is_always_closed(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }
}

fn day_index(key: &str) -> Option<usize> {
    let key = key.trim().to_ascii_lowercase();
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAY_KEYS
        .iter()
        .position(|d| *d == key)
        .or_else(|| FULL.iter().position(|d| *d == key))
}

fn parse_day(day: &str, value: &Value) -> Result<Vec<(Minute, Minute)>, BusinessHoursError> {
    let list = match value {
        Value::Array(list) => list.as_slice(),
        Value::Null => &[],
        other => {
            return Err(BusinessHoursError::NotAList {
                day: day.to_owned(),
                got: short(other),
            });
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (index, pair) in list.iter().enumerate() {
        let not_a_pair = || BusinessHoursError::NotAPair {
            day: day.to_owned(),
            index,
            got: short(pair),
        };
        let [start, end] = pair.as_array().map(Vec::as_slice).ok_or_else(not_a_pair)? else {
            return Err(not_a_pair());
        };
        let time = |v: &Value, allow_24: bool| {
            v.as_str()
                .and_then(|s| parse_hhmm(s, allow_24))
                .ok_or_else(|| BusinessHoursError::BadTime {
                    day: day.to_owned(),
                    index,
                    got: short(v),
                })
        };
        let (start, end) = (time(start, false)?, time(end, true)?);
        if start >= end {
            return Err(BusinessHoursError::EmptyInterval {
                day: day.to_owned(),
                index,
                start: fmt_minute(start),
                end: fmt_minute(end),
            });
        }
        out.push((start, end));
    }
    out.sort_unstable();
    for pair in out.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(BusinessHoursError::Overlap {
                day: day.to_owned(),
                first: fmt_interval(pair[0]),
                second: fmt_interval(pair[1]),
            });
        }
    }
    Ok(out)
}

/// Strict `HH:MM` (one-digit hours accepted); `24:00` only when `allow_24`.
fn parse_hhmm(s: &str, allow_24: bool) -> Option<Minute> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: Minute = h.parse().ok()?;
    let m: Minute = m.parse().ok()?;
    if allow_24 && h == 24 && m == 0 {
        return Some(MINUTES_PER_DAY);
    }
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn fmt_minute(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn fmt_interval((a, b): (Minute, Minute)) -> String {
    format!("{}-{}", fmt_minute(a), fmt_minute(b))
}

/// A JSON value shortened for an error message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(40).collect();
        format!("{cut}…")
    } else {
        s
    }
}

impl fmt::Display for BusinessHours {
    /// `mon 09:00-17:00; tue 09:00-12:00, 13:00-17:00; ...` (closed days left out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (key, intervals) in DAY_KEYS.iter().zip(&self.days) {
            if intervals.is_empty() {
                continue;
            }
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            let list: Vec<String> = intervals.iter().copied().map(fmt_interval).collect();
            write!(f, "{key} {}", list.join(", "))?;
        }
        if first {
            f.write_str("closed")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_stored_shape() {
        let hours = BusinessHours::from_json(&json!({
            "mon": [["09:00", "17:00"]],
            "tue": [["13:30", "17:00"], ["08:00", "12:00"]],
            "wed": [], "thu": [["9:00", "24:00"]], "fri": [["09:00", "17:00"]],
            "sat": [], "sun": null
        }))
        .unwrap();
        assert_eq!(hours.intervals(Weekday::Mon), &[(540, 1020)]);
        assert_eq!(hours.intervals(Weekday::Tue), &[(480, 720), (810, 1020)]);
        assert!(hours.intervals(Weekday::Wed).is_empty());
        assert_eq!(hours.intervals(Weekday::Thu), &[(540, 1440)]);
        assert!(hours.intervals(Weekday::Sun).is_empty());
        assert_eq!(
            hours.to_string(),
            "mon 09:00-17:00; tue 08:00-12:00, 13:30-17:00; thu 09:00-24:00; fri 09:00-17:00"
        );
    }

    #[test]
    fn missing_days_are_closed_and_full_names_work() {
        let hours = BusinessHours::from_json(&json!({"Monday": [["09:00", "10:00"]]})).unwrap();
        assert_eq!(hours.intervals(Weekday::Mon), &[(540, 600)]);
        assert!(hours.intervals(Weekday::Fri).is_empty());
        assert!(
            BusinessHours::from_json(&json!({}))
                .unwrap()
                .is_always_closed()
        );
    }

    #[test]
    fn rejects_bad_input_with_a_clear_message() {
        let cases = [
            (json!([]), "must be a JSON object"),
            (json!({"mo": []}), "unknown weekday key \"mo\""),
            (json!({"mon": [], "monday": []}), "mon is given twice"),
            (json!({"mon": "09:00-17:00"}), "mon must be a list"),
            (json!({"mon": [["09:00"]]}), "mon[0] must be a pair"),
            (
                json!({"mon": [["9", "17:00"]]}),
                "mon[0]: \"9\" is not a time",
            ),
            (
                json!({"mon": [["24:00", "24:00"]]}),
                "mon[0]: \"24:00\" is not a time",
            ),
            (
                json!({"mon": [["09:00", "17:60"]]}),
                "\"17:60\" is not a time",
            ),
            (
                json!({"tue": [["17:00", "09:00"]]}),
                "tue[0]: start 17:00 is not before end 09:00",
            ),
            (
                json!({"tue": [["09:00", "09:00"]]}),
                "start 09:00 is not before end 09:00",
            ),
            (
                json!({"fri": [["09:00", "12:00"], ["11:00", "13:00"]]}),
                "fri: intervals 09:00-12:00 and 11:00-13:00 overlap",
            ),
        ];
        for (input, expected) in cases {
            let err = BusinessHours::from_json(&input).unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
        }
        // Touching intervals are fine.
        BusinessHours::from_json(&json!({"mon": [["09:00", "12:00"], ["12:00", "13:00"]]}))
            .unwrap();
    }

    #[test]
    fn from_intervals_validates_too() {
        let hours =
            BusinessHours::from_intervals([(Weekday::Sat, &[("10:00", "14:00")][..])]).unwrap();
        assert_eq!(hours.intervals(Weekday::Sat), &[(600, 840)]);
        assert!(
            BusinessHours::from_intervals([(Weekday::Sat, &[("14:00", "10:00")][..])]).is_err()
        );
    }
}
