//! iCalendar (RFC 5545): just what busy times, creating and moving events need.
//!
//! New events are written by the `icalendar` crate ([`write_event`]). Reading and moving stay
//! ours, because the crate fails what they must do (the unit tests named):
//! - its parser refuses a whole object for one malformed line, and a CalDAV object we cannot
//!   read is skipped, so its busy time would vanish (`a_malformed_line_keeps_the_busy_time`);
//!   ours unfolds lines (CRLF or LF, continuation lines start with a space or tab), splits
//!   properties into name, parameters (quoted values allowed) and value, nests components, and
//!   skips a line it cannot read;
//! - its `try_into_utc` gives nothing for a `TZID` that is not a bare IANA name and for local
//!   times that occur twice or not at all (`times_in_every_form`). Ours reads UTC (`…Z`),
//!   local with `TZID=` (IANA names, prefixed names like `/mozilla.org/…/Europe/Berlin`, and
//!   the common Windows names), floating, and `VALUE=DATE` values, with RFC 5545's DST rules;
//! - moving through its model rewrites what it does not know: an alarm gains a random `UID` and
//!   a `DTSTAMP` (`reschedule_moves_and_keeps_the_rest`). Ours replaces the time lines only.
//!
//! Recurrence rules are not expanded here; the CalDAV query asks the server to expand them.

mod time;
mod write;

pub use time::{EventTimes, IcsTime, event_times, parse_duration, resolve_tzid};
pub use write::{fold, format_utc, reschedule, write_event};

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

/// What the tests of this module and its children write times with.
#[cfg(test)]
mod test_times {
    use chrono::{DateTime, Utc};
    use chrono_tz::Tz;

    pub(super) fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    pub(super) fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_times::{berlin, utc};
    use super::*;

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
    fn unbalanced_components_are_errors() {
        assert!(parse("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\n").is_err());
        assert!(parse("BEGIN:VCALENDAR\n").is_err());
        assert!(event_times(&Component::default(), berlin()).is_err());
    }

    #[test]
    fn a_malformed_line_keeps_the_busy_time() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:owner-1\r\nX-BROKEN-EXPORT\r\nDTSTART:20261124T080000Z\r\nDTEND:20261124T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let events = vevents(text).unwrap();
        assert_eq!(events.len(), 1);
        let t = event_times(&events[0], berlin()).unwrap();
        assert!(t.blocks());
        assert_eq!(
            (t.start, t.end),
            (utc("2026-11-24T08:00:00Z"), utc("2026-11-24T09:00:00Z"))
        );
    }
}
