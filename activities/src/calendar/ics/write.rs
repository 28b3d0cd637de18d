//! Writing: new events through the `icalendar` crate, moves by rewriting the time lines of the
//! object as the server holds it (see the parent module for why).

use super::super::CalendarEvent;
use super::{IcsError, parse_line, unfold};
use chrono::{DateTime, Utc};
use icalendar::{Component as _, EventLike as _};

/// One content line folded at 75 octets (never inside a UTF-8 character), with CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

/// `20261124T080000Z`.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A `VCALENDAR` with one `VEVENT` for `event` (times in UTC).
pub fn write_event(event: &CalendarEvent, dtstamp: DateTime<Utc>) -> String {
    let mut vevent = icalendar::Event::new();
    vevent
        .uid(&event.uid)
        .timestamp(dtstamp)
        .starts(event.start)
        .ends(event.end)
        .summary(&event.summary)
        .sequence(0)
        .status(icalendar::EventStatus::Confirmed)
        .add_property("TRANSP", "OPAQUE");
    if !event.description.is_empty() {
        vevent.description(&event.description);
    }
    if let Some(location) = event.location.as_deref().filter(|l| !l.is_empty()) {
        vevent.location(location);
    }
    let mut calendar = icalendar::Calendar::empty();
    calendar
        .append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//callsaga//calendar//EN"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .push(vevent.done());
    calendar.to_string()
}

/// The same iCalendar object with its (first-level) `VEVENT`s moved to `[start, end)`:
/// `DTSTART`/`DTEND` replaced in UTC, `DURATION` dropped, `SEQUENCE` incremented and `DTSTAMP`
/// renewed. Everything else (alarms, attendees, unknown properties) is kept.
pub fn reschedule(
    text: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    dtstamp: DateTime<Utc>,
) -> Result<String, IcsError> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut stack: Vec<String> = Vec::new();
    let mut sequence: i64 = -1;
    let mut moved = false;
    for line in unfold(text) {
        let prop = parse_line(&line);
        let in_event = stack.last().is_some_and(|c| c == "VEVENT");
        match prop.as_ref().map(|p| (p.name.as_str(), p)) {
            Some(("BEGIN", p)) => {
                stack.push(p.value.trim().to_ascii_uppercase());
                out.push_str(&fold(&line));
                if stack.last().is_some_and(|c| c == "VEVENT") {
                    out.push_str(&fold(&format!("DTSTART:{}", format_utc(start))));
                    out.push_str(&fold(&format!("DTEND:{}", format_utc(end))));
                    out.push_str(&fold(&format!("DTSTAMP:{}", format_utc(dtstamp))));
                    sequence = -1;
                    moved = true;
                }
                continue;
            }
            Some(("END", _)) => {
                if in_event {
                    out.push_str(&fold(&format!("SEQUENCE:{}", sequence + 1)));
                }
                stack.pop();
            }
            Some(("DTSTART" | "DTEND" | "DURATION" | "DTSTAMP", _)) if in_event => continue,
            Some(("SEQUENCE", p)) if in_event => {
                sequence = p.value.trim().parse().unwrap_or(0);
                continue;
            }
            _ => {}
        }
        out.push_str(&fold(&line));
    }
    if !moved {
        return Err(IcsError::Syntax("no VEVENT to move".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_times::{berlin, utc};
    use super::super::{event_times, unescape_text, vevents};
    use super::*;

    fn sample_event() -> CalendarEvent {
        CalendarEvent {
            uid: "call-1-book".into(),
            start: utc("2026-11-24T08:00:00Z"),
            end: utc("2026-11-24T08:30:00Z"),
            summary: "Check-up: Müller, Anna; new patient".into(),
            description: "Booked by phone.\nCaller: +49 151 ***".into(),
            location: Some("Praxis, Raum 2".into()),
        }
    }

    #[test]
    fn writes_a_valid_event_that_reads_back() {
        let text = write_event(&sample_event(), utc("2026-11-21T12:00:00Z"));
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(text.contains("DTSTART:20261124T080000Z\r\n"));
        assert!(text.contains("SUMMARY:Check-up: Müller\\, Anna\\; new patient\r\n"));
        assert!(text.lines().all(|l| l.trim_end_matches('\r').len() <= 75));
        for line in [
            "PRODID:-//callsaga//calendar//EN",
            "DTSTAMP:20261121T120000Z",
            "DTEND:20261124T083000Z",
            "LOCATION:Praxis\\, Raum 2",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "TRANSP:OPAQUE",
        ] {
            assert!(
                text.contains(&format!("\r\n{line}\r\n")),
                "{line} in {text}"
            );
        }
        let events = vevents(&text).unwrap();
        assert_eq!(events.len(), 1);
        let t = event_times(&events[0], berlin()).unwrap();
        assert_eq!(t.uid.as_deref(), Some("call-1-book"));
        assert_eq!(
            (t.start, t.end),
            (utc("2026-11-24T08:00:00Z"), utc("2026-11-24T08:30:00Z"))
        );
        assert_eq!(
            unescape_text(events[0].value("DESCRIPTION").unwrap()),
            "Booked by phone.\nCaller: +49 151 ***"
        );
    }

    /// One line a server wrote that we cannot read (here without a `:`) must not hide the
    /// event's busy time: the `icalendar` crate's parser refuses the whole object for it.
    #[test]
    fn folding_respects_utf8() {
        let line = format!("SUMMARY:{}", "ü".repeat(60));
        let folded = fold(&line);
        for physical in folded.split("\r\n") {
            assert!(physical.len() <= 75);
        }
        assert_eq!(unfold(&folded), [line]);
    }

    #[test]
    fn reschedule_moves_and_keeps_the_rest() {
        let original = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:abc\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261124T090000\r\nDURATION:PT30M\r\nSEQUENCE:3\r\nSUMMARY:Keep me\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let moved = reschedule(
            original,
            utc("2026-11-25T13:00:00Z"),
            utc("2026-11-25T13:30:00Z"),
            utc("2026-11-21T12:00:00Z"),
        )
        .unwrap();
        let events = vevents(&moved).unwrap();
        assert_eq!(events.len(), 1);
        let t = event_times(&events[0], berlin()).unwrap();
        assert_eq!(
            (t.start, t.end),
            (utc("2026-11-25T13:00:00Z"), utc("2026-11-25T13:30:00Z"))
        );
        assert_eq!(events[0].value("SEQUENCE"), Some("4"));
        assert_eq!(events[0].value("SUMMARY"), Some("Keep me"));
        assert_eq!(events[0].children[0].value("TRIGGER"), Some("-PT15M"));
        assert_eq!(
            events[0].children[0].properties.len(),
            2,
            "the alarm as it was: {moved}"
        );
        assert!(moved.contains("\r\nUID:abc\r\n") && moved.contains("\r\nVERSION:2.0\r\n"));
        assert_eq!(moved.matches("DTSTART").count(), 1);
        assert!(!moved.contains("DURATION"));
        assert!(
            reschedule(
                "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                utc("2026-11-25T13:00:00Z"),
                utc("2026-11-25T13:30:00Z"),
                utc("2026-11-21T12:00:00Z")
            )
            .is_err()
        );
    }
}
