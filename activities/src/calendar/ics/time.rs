//! `DTSTART`/`DTEND`/`DURATION` values and the times of a `VEVENT`, read with RFC 5545's rules
//! (see the parent module for why not the `icalendar` crate's).

use super::{Component, IcsError, Property, unescape_text};
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A `DTSTART`/`DTEND`/`RECURRENCE-ID` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IcsTime {
    Utc(DateTime<Utc>),
    /// Wall-clock time in a named zone, or floating (`tzid: None`: the reader's zone).
    Local {
        naive: NaiveDateTime,
        tzid: Option<String>,
    },
    /// An all-day date.
    Date(NaiveDate),
}

impl IcsTime {
    pub fn from_property(prop: &Property) -> Result<Self, IcsError> {
        let value = prop.value.trim();
        let bad = || {
            IcsError::Syntax(format!(
                "{}: {value:?} is not a date or date-time",
                prop.name
            ))
        };
        let is_date = prop
            .param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
            || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()));
        if is_date {
            return NaiveDate::parse_from_str(value, "%Y%m%d")
                .map(Self::Date)
                .map_err(|_| bad());
        }
        if let Some(utc) = value.strip_suffix(['Z', 'z']) {
            return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
                .map(|n| Self::Utc(n.and_utc()))
                .map_err(|_| bad());
        }
        let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        Ok(Self::Local {
            naive,
            tzid: prop.param("TZID").map(str::to_owned),
        })
    }

    /// The instant, reading floating times, dates and unknown zones in `default_tz`. A local
    /// time that occurs twice is the first occurrence; one in a daylight-saving gap is read with
    /// the offset before the gap (both as RFC 5545 says).
    pub fn resolve(&self, default_tz: Tz) -> DateTime<Utc> {
        match self {
            Self::Utc(t) => *t,
            Self::Local { naive, tzid } => {
                let tz = tzid.as_deref().and_then(resolve_tzid).unwrap_or(default_tz);
                local_to_utc(tz, *naive)
            }
            Self::Date(d) => local_to_utc(default_tz, d.and_time(NaiveTime::MIN)),
        }
    }

    pub fn is_date(&self) -> bool {
        matches!(self, Self::Date(_))
    }
}

fn local_to_utc(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: the offset in force before it. Gaps are shorter than three hours.
            let before = naive - Duration::hours(3);
            match tz.from_local_datetime(&before).earliest() {
                Some(t) => t.with_timezone(&Utc) + Duration::hours(3),
                None => naive.and_utc(),
            }
        }
    }
}

/// An IANA zone from a `TZID` parameter: the name itself, a prefixed name
/// (`/mozilla.org/20050126_1/Europe/Berlin`, `/citadel.org/…/Europe/Berlin`), or one of the
/// Windows zone names Outlook and Exchange write.
pub fn resolve_tzid(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = tzid.parse() {
        return Some(tz);
    }
    let parts: Vec<&str> = tzid.split('/').filter(|p| !p.is_empty()).collect();
    for n in [3, 2] {
        if parts.len() >= n
            && let Ok(tz) = parts[parts.len() - n..].join("/").parse()
        {
            return Some(tz);
        }
    }
    let iana = match tzid {
        "W. Europe Standard Time" => "Europe/Berlin",
        "Central Europe Standard Time" => "Europe/Budapest",
        "Central European Standard Time" => "Europe/Warsaw",
        "Romance Standard Time" => "Europe/Paris",
        "GMT Standard Time" => "Europe/London",
        "E. Europe Standard Time" => "Europe/Chisinau",
        "FLE Standard Time" => "Europe/Kiev",
        "Eastern Standard Time" => "America/New_York",
        "Central Standard Time" => "America/Chicago",
        "Mountain Standard Time" => "America/Denver",
        "Pacific Standard Time" => "America/Los_Angeles",
        "UTC" | "Coordinated Universal Time" | "GMT" => "UTC",
        _ => return None,
    };
    iana.parse().ok()
}

/// An RFC 5545 duration: `P1W`, `P2D`, `PT1H30M`, `P1DT2H`, `-PT15M`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix(['P', 'p'])?;
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in s.chars() {
        match c.to_ascii_uppercase() {
            '0'..='9' => number.push(c),
            'T' if number.is_empty() => in_time = true,
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                total += match (unit, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    (any && number.is_empty()).then_some(total * sign)
}

/// What a busy-time query needs from one `VEVENT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTimes {
    pub uid: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `TRANSP:TRANSPARENT`: shown in the calendar but does not block time.
    pub transparent: bool,
    /// `STATUS:CANCELLED`.
    pub cancelled: bool,
    /// Has an `RRULE`/`RDATE` (only the first occurrence is described here).
    pub recurring: bool,
}

impl EventTimes {
    /// Whether the event makes its time busy.
    pub fn blocks(&self) -> bool {
        !self.transparent && !self.cancelled && self.start < self.end
    }
}

/// Start and end of a `VEVENT`: `DTEND`, else `DTSTART + DURATION`, else one day for an
/// all-day event and nothing (zero length) for a timed one.
pub fn event_times(event: &Component, default_tz: Tz) -> Result<EventTimes, IcsError> {
    let dtstart = event
        .property("DTSTART")
        .ok_or_else(|| IcsError::Syntax("VEVENT without DTSTART".into()))?;
    let start_value = IcsTime::from_property(dtstart)?;
    let start = start_value.resolve(default_tz);
    let end = if let Some(dtend) = event.property("DTEND") {
        IcsTime::from_property(dtend)?.resolve(default_tz)
    } else if let Some(duration) = event.value("DURATION") {
        let d = parse_duration(duration)
            .ok_or_else(|| IcsError::Syntax(format!("DURATION {duration:?} is not a duration")))?;
        match &start_value {
            // A day is a calendar day here, not 24 hours.
            IcsTime::Date(date) if d.num_seconds() % 86_400 == 0 => {
                IcsTime::Date(*date + d).resolve(default_tz)
            }
            _ => start + d,
        }
    } else if let IcsTime::Date(date) = start_value {
        IcsTime::Date(date + Duration::days(1)).resolve(default_tz)
    } else {
        start
    };
    let is = |name: &str, value: &str| {
        event
            .value(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    Ok(EventTimes {
        uid: event.value("UID").map(|u| unescape_text(u.trim())),
        start,
        end,
        transparent: is("TRANSP", "TRANSPARENT"),
        cancelled: is("STATUS", "CANCELLED"),
        recurring: event.property("RRULE").is_some() || event.property("RDATE").is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_times::{berlin, utc};
    use super::super::vevents;
    use super::*;

    #[test]
    fn times_in_every_form() {
        let ev = |lines: &str| {
            let text = format!(
                "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n{lines}\nEND:VEVENT\nEND:VCALENDAR\n"
            );
            let events = vevents(&text).unwrap();
            event_times(&events[0], berlin()).unwrap()
        };
        let t = ev("DTSTART:20261124T080000Z\nDTEND:20261124T083000Z");
        assert_eq!(
            (t.start, t.end),
            (utc("2026-11-24T08:00:00Z"), utc("2026-11-24T08:30:00Z"))
        );
        let t = ev("DTSTART;TZID=America/New_York:20261124T090000\nDURATION:PT1H30M");
        assert_eq!(
            (t.start, t.end),
            (utc("2026-11-24T14:00:00Z"), utc("2026-11-24T15:30:00Z"))
        );
        let t = ev(
            "DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260329T030000\nDTEND;TZID=\"W. Europe Standard Time\":20260329T040000",
        );
        assert_eq!(
            (t.start, t.end),
            (utc("2026-03-29T01:00:00Z"), utc("2026-03-29T02:00:00Z"))
        );
        // Floating: the default zone.
        let t = ev("DTSTART:20261124T100000\nDTEND:20261124T110000");
        assert_eq!(t.start, utc("2026-11-24T09:00:00Z"));
        // All-day: local midnight to midnight, DST-aware.
        let t = ev("DTSTART;VALUE=DATE:20260329\nDTEND;VALUE=DATE:20260330");
        assert_eq!(
            (t.start, t.end),
            (utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z"))
        );
        let t = ev("DTSTART;VALUE=DATE:20261025");
        assert_eq!(
            (t.start, t.end),
            (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z"))
        );
        let t = ev("DTSTART;VALUE=DATE:20261124\nDURATION:P2D");
        assert_eq!(t.end, utc("2026-11-25T23:00:00Z"));
        // Unknown zone: the default one.
        let t = ev("DTSTART;TZID=Nowhere/Special:20261124T100000\nDTEND:20261124T090000Z");
        assert_eq!(t.start, utc("2026-11-24T09:00:00Z"));
        assert!(!t.blocks(), "ends when it starts");
        // DST edges: 02:30 on 2026-10-25 is the first one; 02:30 on 2026-03-29 does not exist.
        let t = ev(
            "DTSTART;TZID=Europe/Berlin:20261025T023000\nDTEND;TZID=Europe/Berlin:20261025T040000",
        );
        assert_eq!(
            (t.start, t.end),
            (utc("2026-10-25T00:30:00Z"), utc("2026-10-25T03:00:00Z"))
        );
        let t = ev(
            "DTSTART;TZID=Europe/Berlin:20260329T023000\nDTEND;TZID=Europe/Berlin:20260329T040000",
        );
        assert_eq!(
            (t.start, t.end),
            (utc("2026-03-29T01:30:00Z"), utc("2026-03-29T02:00:00Z"))
        );
        // Flags.
        let t = ev("DTSTART:20261124T080000Z\nDTEND:20261124T090000Z\nTRANSP:TRANSPARENT");
        assert!(t.transparent && !t.blocks());
        let t = ev(
            "DTSTART:20261124T080000Z\nDTEND:20261124T090000Z\nSTATUS:CANCELLED\nRRULE:FREQ=DAILY",
        );
        assert!(t.cancelled && t.recurring && !t.blocks());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT30M"), Some(Duration::minutes(30)));
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::hours(26)));
        assert_eq!(parse_duration("P1W"), Some(Duration::weeks(1)));
        assert_eq!(parse_duration("-PT15M"), Some(Duration::minutes(-15)));
        assert_eq!(parse_duration("PT1H30M15S"), Some(Duration::seconds(5415)));
        for bad in ["", "P", "PT", "30M", "P1H", "PT1D", "PT5"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
