//! A small, forgiving iCalendar (RFC 5545) reader and writer: just what busy times, creating and
//! moving events need.
//!
//! Reading unfolds lines (CRLF or LF, continuation lines start with a space or tab), splits
//! properties into name, parameters (quoted values allowed) and value, and nests components.
//! Date-times may be UTC (`…Z`), local with `TZID=` (IANA names, prefixed names like
//! `/mozilla.org/…/Europe/Berlin`, and the common Windows names), floating, or `VALUE=DATE`.
//! Recurrence rules are not expanded here; the CalDAV query asks the server to expand them.

use super::CalendarEvent;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// One content line: `NAME;PARAM=value:VALUE`, name and parameter names upper-cased, the value
/// as written (text escapes are not undone; see [`unescape_text`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl Property {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A `BEGIN:X` … `END:X` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    pub properties: Vec<Property>,
    pub children: Vec<Component>,
}

impl Component {
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.property(name).map(|p| p.value.as_str())
    }

    /// All nested components named `name`, depth first.
    pub fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Component>) {
        for child in &self.children {
            if child.name == name {
                out.push(child);
            }
            child.find_all(name, out);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    #[error("iCalendar: {0}")]
    Syntax(String),
}

/// Logical lines: physical lines joined where a line starts with a space or tab.
pub fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        if !raw.is_empty() {
            lines.push(raw.to_owned());
        }
    }
    lines
}

/// Splits one logical line into a [`Property`] (`None` if it has no `:`).
pub fn parse_line(line: &str) -> Option<Property> {
    // The name and parameters end at the first ':' outside double quotes.
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = split_unquoted(head, ';').into_iter();
    let name = parts.next()?.trim().to_ascii_uppercase();
    if name.is_empty() {
        return None;
    }
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_ascii_uppercase(), v.to_owned()))
        })
        .collect();
    Some(Property {
        name,
        params,
        value: value.to_owned(),
    })
}

fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Parses a whole iCalendar object into its top-level components (usually one `VCALENDAR`).
/// Unknown or malformed lines are skipped; unbalanced `BEGIN`/`END` is an error.
pub fn parse(text: &str) -> Result<Vec<Component>, IcsError> {
    let mut stack: Vec<Component> = Vec::new();
    let mut top = Vec::new();
    for line in unfold(text) {
        let Some(prop) = parse_line(&line) else {
            continue;
        };
        match prop.name.as_str() {
            "BEGIN" => stack.push(Component {
                name: prop.value.trim().to_ascii_uppercase(),
                ..Component::default()
            }),
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                let done = stack
                    .pop()
                    .filter(|c| c.name == name)
                    .ok_or_else(|| IcsError::Syntax(format!("unexpected END:{name}")))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => top.push(done),
                }
            }
            _ => {
                if let Some(current) = stack.last_mut() {
                    current.properties.push(prop);
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(IcsError::Syntax(format!(
            "BEGIN:{} is never closed",
            open.name
        )));
    }
    Ok(top)
}

/// Every `VEVENT` in an iCalendar object.
pub fn vevents(text: &str) -> Result<Vec<Component>, IcsError> {
    let mut out = Vec::new();
    for top in parse(text)? {
        if top.name == "VEVENT" {
            out.push(top.clone());
        }
        let mut found = Vec::new();
        top.find_all("VEVENT", &mut found);
        out.extend(found.into_iter().cloned());
    }
    Ok(out)
}

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

/// Undoes TEXT escapes (`\n`, `\,`, `\;`, `\\`).
pub fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Escapes TEXT values (`\`, `;`, `,`, newlines).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

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
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//callsaga//calendar//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", event.uid),
        format!("DTSTAMP:{}", format_utc(dtstamp)),
        format!("DTSTART:{}", format_utc(event.start)),
        format!("DTEND:{}", format_utc(event.end)),
        format!("SUMMARY:{}", escape_text(&event.summary)),
    ];
    if !event.description.is_empty() {
        lines.push(format!("DESCRIPTION:{}", escape_text(&event.description)));
    }
    if let Some(location) = event.location.as_deref().filter(|l| !l.is_empty()) {
        lines.push(format!("LOCATION:{}", escape_text(location)));
    }
    lines.extend(
        [
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
        .map(str::to_owned),
    );
    lines.iter().map(|l| fold(l)).collect()
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
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn unfolds_crlf_and_lf() {
        let text = "BEGIN:VEVENT\r\nSUMMARY:a long\r\n  summary\r\n\tcontinued\r\nEND:VEVENT\n";
        assert_eq!(
            unfold(text),
            [
                "BEGIN:VEVENT",
                "SUMMARY:a long summarycontinued",
                "END:VEVENT"
            ]
        );
    }

    #[test]
    fn parses_properties_with_quoted_params() {
        let p =
            parse_line(r#"ATTENDEE;CN="Doe: John";ROLE=REQ-PARTICIPANT:mailto:j@x.de"#).unwrap();
        assert_eq!(p.name, "ATTENDEE");
        assert_eq!(p.param("cn"), Some("Doe: John"));
        assert_eq!(p.param("ROLE"), Some("REQ-PARTICIPANT"));
        assert_eq!(p.value, "mailto:j@x.de");
        let p = parse_line("dtstart;tzid=Europe/Berlin:20261124T100000").unwrap();
        assert_eq!(p.name, "DTSTART");
        assert_eq!(p.param("TZID"), Some("Europe/Berlin"));
        assert!(parse_line("no colon here").is_none());
    }

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

    #[test]
    fn unbalanced_components_are_errors() {
        assert!(parse("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\n").is_err());
        assert!(parse("BEGIN:VCALENDAR\n").is_err());
        assert!(event_times(&Component::default(), berlin()).is_err());
    }

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
