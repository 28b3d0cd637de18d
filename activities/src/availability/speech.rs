//! Slots as one line the assistant can say, in the agent's language (English or German).

use super::slots::Slot;
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};

/// At most this many times are read out in one line.
pub const MAX_SPOKEN_SLOTS: usize = 5;

/// The language speakable text is produced in, from `agents.language` (`en`, `de`, `de-DE`, …).
/// Anything that is not German is English.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    En,
    De,
}

impl Language {
    /// `de`, `de-DE`, `de_AT`, `German`, `Deutsch` → German; everything else → English.
    pub fn from_tag(tag: &str) -> Self {
        let tag = tag.trim().to_ascii_lowercase();
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "de" | "deu" | "ger" | "german" | "deutsch" => Self::De,
            _ => Self::En,
        }
    }
}

/// Up to [`MAX_SPOKEN_SLOTS`] slots spread over the list (first and last included), in order.
pub fn pick_spread(slots: &[Slot], n: usize) -> Vec<&Slot> {
    let n = n.min(slots.len());
    if n == slots.len() {
        return slots.iter().collect();
    }
    if n == 1 {
        return slots.first().into_iter().collect();
    }
    let last = slots.len() - 1;
    let mut picked: Vec<&Slot> = (0..n)
        .map(|i| &slots[(i * last + (n - 1) / 2) / (n - 1)])
        .collect();
    picked.dedup_by(|a, b| a.slot_id == b.slot_id);
    picked
}

/// One line offering the free times of `date`, e.g. "I have 9:00, 9:30 and 11:00 AM free on
/// Tuesday, November 24." / "Am Dienstag, 24. November, habe ich 9:00, 9:30 und 11:00 Uhr
/// frei." More than [`MAX_SPOKEN_SLOTS`] slots are thinned out evenly ([`pick_spread`]); no
/// slots gives a "nothing free" line.
///
/// English uses the 12-hour clock with AM/PM said once when all times are in the same half of
/// the day, else after each time; German uses the 24-hour clock and "Uhr".
pub fn speak_slots(lang: Language, date: NaiveDate, slots: &[Slot]) -> String {
    let picked = pick_spread(slots, MAX_SPOKEN_SLOTS);
    let times: Vec<NaiveTime> = picked.iter().map(|s| s.local_start.time()).collect();
    let day = speak_date(lang, date);
    match (lang, times.is_empty()) {
        (Language::En, true) => format!("I'm sorry, I have nothing free on {day}."),
        (Language::En, false) => format!("I have {} free on {day}.", en_times(&times)),
        (Language::De, true) => format!("Am {day}, habe ich leider nichts mehr frei."),
        (Language::De, false) => format!("Am {day}, habe ich {} frei.", de_times(&times)),
    }
}

/// "Tuesday, November 24" / "Dienstag, 24. November".
pub fn speak_date(lang: Language, date: NaiveDate) -> String {
    let month0 = date.month0() as usize;
    match lang {
        Language::En => format!(
            "{}, {} {}",
            EN_DAYS[weekday_index(date.weekday())],
            EN_MONTHS[month0],
            date.day()
        ),
        Language::De => format!(
            "{}, {}. {}",
            DE_DAYS[weekday_index(date.weekday())],
            date.day(),
            DE_MONTHS[month0]
        ),
    }
}

/// "9:00 AM" / "14:30 Uhr".
pub fn speak_time(lang: Language, time: NaiveTime) -> String {
    match lang {
        Language::En => en_times(&[time]),
        Language::De => de_times(&[time]),
    }
}

fn weekday_index(w: Weekday) -> usize {
    w.num_days_from_monday() as usize
}

const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DE_DAYS: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DE_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

fn en_times(times: &[NaiveTime]) -> String {
    let pm = |t: &NaiveTime| t.hour() >= 12;
    let suffix = |t: &NaiveTime| if pm(t) { "PM" } else { "AM" };
    let clock = |t: &NaiveTime| {
        let h = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        format!("{h}:{:02}", t.minute())
    };
    let same_half = times.windows(2).all(|w| pm(&w[0]) == pm(&w[1]));
    let words: Vec<String> = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if !same_half || i + 1 == times.len() {
                format!("{} {}", clock(t), suffix(t))
            } else {
                clock(t)
            }
        })
        .collect();
    join(&words, "and")
}

fn de_times(times: &[NaiveTime]) -> String {
    let words: Vec<String> = times
        .iter()
        .map(|t| format!("{}:{:02}", t.hour(), t.minute()))
        .collect();
    format!("{} Uhr", join(&words, "und"))
}

/// "a", "a and b", "a, b and c".
pub(crate) fn join(words: &[String], and: &str) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn slot(date: &str, hm: &str) -> Slot {
        let local: chrono::NaiveDateTime = format!("{date}T{hm}:00").parse().unwrap();
        let start: DateTime<Utc> = local.and_utc();
        Slot {
            start,
            end: start + chrono::Duration::minutes(30),
            local_start: local,
            local_end: local + chrono::Duration::minutes(30),
            slot_id: super::super::slots::slot_id(start, 30),
        }
    }

    fn day() -> NaiveDate {
        "2026-11-24".parse().unwrap()
    }

    #[test]
    fn language_tags() {
        assert_eq!(Language::from_tag("de"), Language::De);
        assert_eq!(Language::from_tag("de-DE"), Language::De);
        assert_eq!(Language::from_tag("DE_at"), Language::De);
        assert_eq!(Language::from_tag("en-US"), Language::En);
        assert_eq!(Language::from_tag("fr"), Language::En);
        assert_eq!(Language::from_tag(""), Language::En);
    }

    #[test]
    fn english_lines() {
        let morning = [
            slot("2026-11-24", "09:00"),
            slot("2026-11-24", "09:30"),
            slot("2026-11-24", "11:00"),
        ];
        assert_eq!(
            speak_slots(Language::En, day(), &morning),
            "I have 9:00, 9:30 and 11:00 AM free on Tuesday, November 24."
        );
        let mixed = [slot("2026-11-24", "11:30"), slot("2026-11-24", "14:00")];
        assert_eq!(
            speak_slots(Language::En, day(), &mixed),
            "I have 11:30 AM and 2:00 PM free on Tuesday, November 24."
        );
        assert_eq!(
            speak_slots(Language::En, day(), &[slot("2026-11-24", "12:15")]),
            "I have 12:15 PM free on Tuesday, November 24."
        );
        assert_eq!(
            speak_slots(Language::En, day(), &[]),
            "I'm sorry, I have nothing free on Tuesday, November 24."
        );
    }

    #[test]
    fn german_lines() {
        let slots = [
            slot("2026-11-24", "09:00"),
            slot("2026-11-24", "09:30"),
            slot("2026-11-24", "14:00"),
        ];
        assert_eq!(
            speak_slots(Language::De, day(), &slots),
            "Am Dienstag, 24. November, habe ich 9:00, 9:30 und 14:00 Uhr frei."
        );
        assert_eq!(
            speak_slots(Language::De, "2026-03-29".parse().unwrap(), &[]),
            "Am Sonntag, 29. März, habe ich leider nichts mehr frei."
        );
        assert_eq!(
            speak_time(Language::De, NaiveTime::from_hms_opt(8, 5, 0).unwrap()),
            "8:05 Uhr"
        );
        assert_eq!(
            speak_time(Language::En, NaiveTime::from_hms_opt(0, 30, 0).unwrap()),
            "12:30 AM"
        );
    }

    #[test]
    fn at_most_five_spread_over_the_day() {
        let slots: Vec<Slot> = (9..17)
            .flat_map(|h| [format!("{h:02}:00"), format!("{h:02}:30")])
            .map(|hm| slot("2026-11-24", &hm))
            .collect();
        assert_eq!(slots.len(), 16);
        let picked: Vec<String> = pick_spread(&slots, 5)
            .iter()
            .map(|s| s.local_start.format("%H:%M").to_string())
            .collect();
        assert_eq!(picked, ["09:00", "11:00", "13:00", "14:30", "16:30"]);
        assert_eq!(
            speak_slots(Language::En, day(), &slots),
            "I have 9:00 AM, 11:00 AM, 1:00 PM, 2:30 PM and 4:30 PM free on Tuesday, November 24."
        );
        assert_eq!(pick_spread(&slots, 1).len(), 1);
        assert_eq!(pick_spread(&slots[..3], 5).len(), 3);
        assert!(pick_spread(&[], 5).is_empty());
    }
}
