//! Lenient parsing of tool-call arguments (dates, times, parts of the day, durations), with a
//! speakable clarification when something cannot be understood.
//!
//! The tool contract asks the assistant for `YYYY-MM-DD` and `HH:MM` (24 h), but language models
//! send obvious variants (`2026-11-24T00:00:00`, `24.11.2026`, `9am`, `2:30 pm`, `14 Uhr`); those
//! are accepted. Anything ambiguous (`03/04/2026`) is an error, so the caller asks instead of
//! guessing.

use super::slots::TimeOfDay;
use super::speech::Language;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

/// An argument as text: a non-blank string (trimmed) or a number; `None` otherwise. What every
/// tool reads before parsing a date, time, part of the day or duration.
pub fn argument_text(args: &serde_json::Value, key: &str) -> Option<String> {
    match args.get(key)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A tool argument that is missing or cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("missing argument {0}")]
    Missing(&'static str),
    #[error("{input:?} is not a date (expected YYYY-MM-DD)")]
    Date { input: String },
    #[error("{input:?} is an ambiguous date (day and month could be swapped)")]
    AmbiguousDate { input: String },
    #[error("{input:?} is not a time of day (expected HH:MM, 24 h)")]
    Time { input: String },
    #[error("{input:?} is not a part of the day (morning, afternoon, evening)")]
    TimeOfDay { input: String },
    #[error("{input:?} is not a duration in minutes (5 to 480)")]
    Duration { input: String },
}

impl ArgError {
    /// A short question or apology the assistant can say to the caller.
    pub fn clarification(&self, lang: Language) -> String {
        use Language::{De, En};
        match (self, lang) {
            (Self::Missing(field), _) => missing(field, lang).to_owned(),
            (Self::Date { .. }, En) => {
                "Sorry, I didn't catch the date. Which day would you like, for example Tuesday, November 24?".into()
            }
            (Self::Date { .. }, De) => {
                "Entschuldigung, das Datum habe ich nicht verstanden. An welchem Tag hätten Sie gern einen Termin, zum Beispiel Dienstag, den 24. November?".into()
            }
            (Self::AmbiguousDate { .. }, En) => {
                "Sorry, I'm not sure about the date. Could you tell me the day and the month, for example November 3?".into()
            }
            (Self::AmbiguousDate { .. }, De) => {
                "Entschuldigung, beim Datum bin ich mir nicht sicher. Können Sie mir Tag und Monat nennen, zum Beispiel den 3. November?".into()
            }
            (Self::Time { .. }, En) => {
                "Sorry, I didn't catch the time. What time would suit you, for example 9:30 in the morning?".into()
            }
            (Self::Time { .. }, De) => {
                "Entschuldigung, die Uhrzeit habe ich nicht verstanden. Um wie viel Uhr passt es Ihnen, zum Beispiel um 9:30 Uhr?".into()
            }
            (Self::TimeOfDay { .. }, En) => {
                "Would you prefer the morning, the afternoon or the evening?".into()
            }
            (Self::TimeOfDay { .. }, De) => {
                "Passt es Ihnen lieber vormittags, nachmittags oder abends?".into()
            }
            (Self::Duration { .. }, En) => {
                "Sorry, how long should the appointment be, in minutes?".into()
            }
            (Self::Duration { .. }, De) => {
                "Entschuldigung, wie lange soll der Termin dauern, in Minuten?".into()
            }
        }
    }
}

fn missing(field: &str, lang: Language) -> &'static str {
    let en = matches!(lang, Language::En);
    match field {
        "date" | "newDate" | "afterDate" | "fromDate" | "originalDate" => {
            if en {
                "Which day would you like?"
            } else {
                "An welchem Tag hätten Sie gern einen Termin?"
            }
        }
        "startTime" | "newStartTime" => {
            if en {
                "What time would suit you?"
            } else {
                "Um wie viel Uhr passt es Ihnen?"
            }
        }
        "customerName" => {
            if en {
                "May I have your name, please?"
            } else {
                "Darf ich bitte Ihren Namen haben?"
            }
        }
        "customerPhone" | "callbackNumber" => {
            if en {
                "Which phone number can we reach you at?"
            } else {
                "Unter welcher Telefonnummer können wir Sie erreichen?"
            }
        }
        _ => {
            if en {
                "Sorry, I need a little more information for that. Could you tell me a bit more?"
            } else {
                "Entschuldigung, dafür brauche ich noch ein paar Angaben. Können Sie mir etwas mehr sagen?"
            }
        }
    }
}

/// A date argument. Accepts `YYYY-MM-DD`, a date-time starting with one
/// (`2026-11-24T00:00:00`, `2026-11-24 10:00`, `…Z`), `YYYY/MM/DD`, `DD.MM.YYYY`, `DD.MM.YY`,
/// `DD.MM.` or `DD.MM` (the next such date from `today`), `MM/DD/YYYY` or `DD/MM/YYYY` when unambiguous,
/// and `today`, `tomorrow`, `day after tomorrow`, `heute`, `morgen`, `übermorgen` relative to
/// `today` (the agent's local date).
pub fn parse_date(input: &str, today: NaiveDate) -> Result<NaiveDate, ArgError> {
    let s = input.trim();
    let err = || ArgError::Date {
        input: input.to_owned(),
    };
    if s.is_empty() {
        return Err(err());
    }
    let lower = s.to_lowercase();
    let relative = match lower.trim_end_matches('.') {
        "today" | "heute" => Some(0),
        "tomorrow" | "morgen" => Some(1),
        "day after tomorrow" | "the day after tomorrow" | "übermorgen" | "uebermorgen" => Some(2),
        _ => None,
    };
    if let Some(days) = relative {
        return Ok(today + Duration::days(days));
    }
    // ISO date, possibly the start of a date-time.
    if let Some(head) = s.get(..10)
        && let Ok(d) = NaiveDate::parse_from_str(head, "%Y-%m-%d")
    {
        let rest = &s[10..];
        if rest.is_empty() || rest.starts_with(['T', 't', ' ']) {
            return Ok(d);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y/%m/%d") {
        return Ok(d);
    }
    if s.contains('.') {
        let parts: Vec<&str> = s.trim_end_matches('.').split('.').map(str::trim).collect();
        return match parts.as_slice() {
            [d, m, y] => {
                let (d, m, y) = (number(d), number(m), number(y));
                let y = match y {
                    Some(y @ 0..=99) if y_is_short(s) => Some(2000 + y),
                    y => y,
                };
                ymd(y, m, d).ok_or_else(err)
            }
            [d, m] => {
                let (d, m) = (number(d), number(m));
                let this_year = ymd(Some(today.year() as u32), m, d).ok_or_else(err)?;
                if this_year >= today {
                    Ok(this_year)
                } else {
                    ymd(Some(today.year() as u32 + 1), m, d).ok_or_else(err)
                }
            }
            _ => Err(err()),
        };
    }
    let slash: Vec<&str> = s.split('/').map(str::trim).collect();
    if let [a, b, y] = slash.as_slice()
        && y.len() == 4
    {
        let (a, b, y) = (number(a), number(b), number(y));
        return match (a, b) {
            (Some(a), Some(b)) if a > 12 => ymd(y, Some(b), Some(a)).ok_or_else(err),
            (Some(a), Some(b)) if b > 12 || a == b => ymd(y, Some(a), Some(b)).ok_or_else(err),
            (Some(_), Some(_)) => Err(ArgError::AmbiguousDate {
                input: input.to_owned(),
            }),
            _ => Err(err()),
        };
    }
    Err(err())
}

fn y_is_short(s: &str) -> bool {
    s.trim_end_matches('.')
        .rsplit('.')
        .next()
        .is_some_and(|y| y.trim().len() == 2)
}

fn number(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn ymd(y: Option<u32>, m: Option<u32>, d: Option<u32>) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(y?).ok()?, m?, d?)
}

/// A time argument. Accepts `HH:MM`, `H:MM`, `HH:MM:SS`, `HH.MM`, `HHMM`, a bare hour (`9`,
/// `14`), 12-hour times (`9am`, `9 a.m.`, `2:30 pm`, `12 pm` = noon, `12 am` = midnight), German
/// `14 Uhr`, `14:30 Uhr`, `14 Uhr 30`, `14h`, and `noon`/`Mittag`; a date-time
/// (`2026-11-24T14:30:00`) gives its time.
pub fn parse_time(input: &str) -> Result<NaiveTime, ArgError> {
    let err = || ArgError::Time {
        input: input.to_owned(),
    };
    let mut s = input.trim().to_lowercase();
    if let Some((date, time)) = s.split_once('t')
        && date.len() == 10
        && NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
    {
        s = time.trim_end_matches('z').to_owned();
    }
    let s = s.trim();
    match s {
        "noon" | "midday" | "mittag" | "mittags" => return Ok(hm(12, 0)),
        _ => {}
    }
    // AM/PM.
    let mut meridiem = None;
    let mut rest = s;
    for (suffix, pm) in [
        ("a.m.", false),
        ("a.m", false),
        ("am", false),
        ("p.m.", true),
        ("p.m", true),
        ("pm", true),
    ] {
        if let Some(r) = s.strip_suffix(suffix) {
            meridiem = Some(pm);
            rest = r.trim_end();
            break;
        }
    }
    // German "Uhr", "14 Uhr 30", and "14h".
    let rest = rest.replace(" uhr ", ":");
    let rest = rest
        .trim_end_matches("o'clock")
        .trim_end_matches("uhr")
        .trim_end_matches('h')
        .trim();
    let (h, m, sec) = split_clock(rest).ok_or_else(err)?;
    if m >= 60 || sec >= 60 {
        return Err(err());
    }
    let h = match meridiem {
        None if h < 24 => h,
        Some(false) if (1..=12).contains(&h) => h % 12,
        Some(true) if (1..=12).contains(&h) => h % 12 + 12,
        _ => return Err(err()),
    };
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(err)
}

/// `H`, `HH`, `H:MM`, `HH:MM[:SS[.fff]]`, `HH.MM`, `HHMM` → (h, m, s).
fn split_clock(s: &str) -> Option<(u32, u32, u32)> {
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = s.split([':', '.']).map(str::trim).collect();
    match parts.as_slice() {
        [h] if all_digits(h) && h.len() <= 2 => Some((h.parse().ok()?, 0, 0)),
        [hhmm] if all_digits(hhmm) && hhmm.len() == 4 => {
            Some((hhmm[..2].parse().ok()?, hhmm[2..].parse().ok()?, 0))
        }
        [h, m] if all_digits(h) && h.len() <= 2 && all_digits(m) && m.len() == 2 => {
            Some((h.parse().ok()?, m.parse().ok()?, 0))
        }
        [h, m, sec, rest @ ..]
            if all_digits(h)
                && h.len() <= 2
                && all_digits(m)
                && m.len() == 2
                && all_digits(sec)
                && sec.len() == 2
                && rest.len() <= 1
                && rest.iter().all(|f| all_digits(f)) =>
        {
            Some((h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?))
        }
        _ => None,
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
}

/// `morning` / `afternoon` / `evening`, any case, also German (`vormittags`, `morgens`,
/// `nachmittags`, `abends`).
pub fn parse_time_of_day(input: &str) -> Result<TimeOfDay, ArgError> {
    match input.trim().to_lowercase().as_str() {
        "morning" | "in the morning" | "am" | "vormittag" | "vormittags" | "morgens" | "früh" => {
            Ok(TimeOfDay::Morning)
        }
        "afternoon" | "in the afternoon" | "pm" | "nachmittag" | "nachmittags" | "mittags" => {
            Ok(TimeOfDay::Afternoon)
        }
        "evening" | "in the evening" | "night" | "abend" | "abends" => Ok(TimeOfDay::Evening),
        _ => Err(ArgError::TimeOfDay {
            input: input.to_owned(),
        }),
    }
}

/// A duration in minutes, 5 to 480: `30`, `30 min`, `30 minutes`, `45 Minuten`, `1h`,
/// `1.5 hours`, `2 Stunden`.
pub fn parse_duration_minutes(input: &str) -> Result<u32, ArgError> {
    let err = || ArgError::Duration {
        input: input.to_owned(),
    };
    let s = input.trim().to_lowercase();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.replace(',', ".").parse().map_err(|_| err())?;
    let factor = match unit.trim() {
        "" | "m" | "min" | "mins" | "minute" | "minutes" | "minuten" => 1.0,
        "h" | "hr" | "hrs" | "hour" | "hours" | "stunde" | "stunden" | "std" => 60.0,
        _ => return Err(err()),
    };
    let minutes = (number * factor).round();
    if (5.0..=480.0).contains(&minutes) {
        // In range, so the cast is exact.
        Ok(minutes as u32)
    } else {
        Err(err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates() {
        let today = d("2026-11-21");
        let ok = [
            ("2026-11-24", "2026-11-24"),
            (" 2026-11-24 ", "2026-11-24"),
            ("2026-11-24T00:00:00", "2026-11-24"),
            ("2026-11-24T10:00:00Z", "2026-11-24"),
            ("2026-11-24 10:00", "2026-11-24"),
            ("2026/11/24", "2026-11-24"),
            ("24.11.2026", "2026-11-24"),
            ("24.11.26", "2026-11-24"),
            ("3.2.2027", "2027-02-03"),
            ("24.11.", "2026-11-24"),
            ("24.11", "2026-11-24"),
            ("02.01.", "2027-01-02"),
            ("11/24/2026", "2026-11-24"),
            ("24/11/2026", "2026-11-24"),
            ("05/05/2026", "2026-05-05"),
            ("today", "2026-11-21"),
            ("Tomorrow", "2026-11-22"),
            ("morgen", "2026-11-22"),
            ("übermorgen", "2026-11-23"),
        ];
        for (input, want) in ok {
            assert_eq!(parse_date(input, today), Ok(d(want)), "{input}");
        }
        for bad in [
            "",
            "next week",
            "2026-13-01",
            "2026-02-30",
            "31.02.2026",
            "2026-11-24x",
            "24-11-2026",
            "14.30",
        ] {
            assert!(
                matches!(parse_date(bad, today), Err(ArgError::Date { .. })),
                "{bad}: {:?}",
                parse_date(bad, today)
            );
        }
        assert!(matches!(
            parse_date("03/04/2026", today),
            Err(ArgError::AmbiguousDate { .. })
        ));
    }

    #[test]
    fn times() {
        let ok = [
            ("09:00", (9, 0)),
            ("9:00", (9, 0)),
            ("09:00:00", (9, 0)),
            ("09:30:00.000", (9, 30)),
            ("9", (9, 0)),
            ("14", (14, 0)),
            ("0930", (9, 30)),
            ("14.30", (14, 30)),
            ("9am", (9, 0)),
            ("9 AM", (9, 0)),
            ("9 a.m.", (9, 0)),
            ("2:30 pm", (14, 30)),
            ("2:30PM", (14, 30)),
            ("12 pm", (12, 0)),
            ("12am", (0, 0)),
            ("12:15 a.m.", (0, 15)),
            ("14 Uhr", (14, 0)),
            ("14:30 Uhr", (14, 30)),
            ("14 Uhr 30", (14, 30)),
            ("9 uhr", (9, 0)),
            ("14h", (14, 0)),
            ("3 o'clock", (3, 0)),
            ("noon", (12, 0)),
            ("Mittag", (12, 0)),
            ("2026-11-24T14:30:00", (14, 30)),
            ("2026-11-24T14:30:00Z", (14, 30)),
            ("0:00", (0, 0)),
            ("23:59", (23, 59)),
        ];
        for (input, (h, m)) in ok {
            assert_eq!(parse_time(input), Ok(hm(h, m)), "{input}");
        }
        for bad in [
            "", "24:00", "25:00", "9:60", "13pm", "0am", "9:5", "nine", "9:00:61", "morning",
            "123", "12345", "9::00",
        ] {
            assert!(
                matches!(parse_time(bad), Err(ArgError::Time { .. })),
                "{bad}: {:?}",
                parse_time(bad)
            );
        }
    }

    #[test]
    fn parts_of_the_day_and_durations() {
        assert_eq!(parse_time_of_day("Morning"), Ok(TimeOfDay::Morning));
        assert_eq!(parse_time_of_day("nachmittags"), Ok(TimeOfDay::Afternoon));
        assert_eq!(parse_time_of_day(" evening "), Ok(TimeOfDay::Evening));
        assert!(parse_time_of_day("lunch").is_err());
        assert_eq!(parse_duration_minutes("30"), Ok(30));
        assert_eq!(parse_duration_minutes("45 min"), Ok(45));
        assert_eq!(parse_duration_minutes("45 Minuten"), Ok(45));
        assert_eq!(parse_duration_minutes("1h"), Ok(60));
        assert_eq!(parse_duration_minutes("1.5 hours"), Ok(90));
        assert_eq!(parse_duration_minutes("1,5 Stunden"), Ok(90));
        for bad in ["", "0", "1000", "half an hour", "30 parsecs"] {
            assert!(parse_duration_minutes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clarifications_are_speakable_in_both_languages() {
        let errors = [
            ArgError::Missing("date"),
            ArgError::Missing("startTime"),
            ArgError::Missing("customerName"),
            ArgError::Missing("customerPhone"),
            ArgError::Missing("somethingElse"),
            ArgError::Date { input: "x".into() },
            ArgError::AmbiguousDate { input: "x".into() },
            ArgError::Time { input: "x".into() },
            ArgError::TimeOfDay { input: "x".into() },
            ArgError::Duration { input: "x".into() },
        ];
        for e in &errors {
            let en = e.clarification(Language::En);
            let de = e.clarification(Language::De);
            assert!(en.ends_with('?') || en.ends_with('.'), "{en}");
            assert!(de.ends_with('?') || de.ends_with('.'), "{de}");
            assert_ne!(en, de);
            // Nothing technical is read out.
            for s in [&en, &de] {
                assert!(!s.contains("YYYY") && !s.contains('"'), "{s}");
            }
        }
        assert_eq!(
            ArgError::Time { input: "x".into() }.clarification(Language::En),
            "Sorry, I didn't catch the time. What time would suit you, for example 9:30 in the morning?"
        );
    }
}
