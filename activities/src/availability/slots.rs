//! Free appointment slots of one day, and the next day that has some.

use super::hours::{BusinessHours, Minute};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How many days [`next_available`] looks ahead, the first day included.
pub const NEXT_AVAILABLE_DAYS: u32 = 14;

/// A part of the day, by the local start time of a slot: morning before 12:00, afternoon
/// 12:00–17:00, evening from 17:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeOfDay {
    Morning,
    Afternoon,
    Evening,
}

impl TimeOfDay {
    /// Whether a local start time falls in this part of the day.
    pub fn contains(self, local: NaiveTime) -> bool {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default();
        let five = NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default();
        match self {
            Self::Morning => local < noon,
            Self::Afternoon => noon <= local && local < five,
            Self::Evening => five <= local,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Morning => "morning",
            Self::Afternoon => "afternoon",
            Self::Evening => "evening",
        }
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bookable slot: `[start, end)` in UTC, its local wall-clock times in the agent's zone, and
/// a stable id the assistant can hand back in `book_appointment.slotId`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub local_start: NaiveDateTime,
    pub local_end: NaiveDateTime,
    /// `YYYYMMDDTHHMMZ-<minutes>` of the UTC start, e.g. `20261124T0800Z-30`; see
    /// [`parse_slot_id`].
    pub slot_id: String,
}

/// Free slots of one day (the day after [`NEXT_AVAILABLE_DAYS`] is not searched).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySlots {
    pub date: NaiveDate,
    pub slots: Vec<Slot>,
}

/// The slot id of a slot starting at `start` (UTC) lasting `duration_minutes`.
pub fn slot_id(start: DateTime<Utc>, duration_minutes: u32) -> String {
    format!("{}-{duration_minutes}", start.format("%Y%m%dT%H%MZ"))
}

/// The UTC start and the duration in minutes encoded in a slot id (`None` if it is not one).
pub fn parse_slot_id(id: &str) -> Option<(DateTime<Utc>, u32)> {
    let (stamp, minutes) = id.trim().split_once('-')?;
    let stamp = stamp.strip_suffix('Z')?;
    let start = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M").ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    (minutes > 0).then(|| (start.and_utc(), minutes))
}

/// The step between candidate start times: 30 minutes for appointments of 30 minutes or more,
/// 15 for shorter ones (down to 15), else the duration itself.
pub fn grid_minutes(duration_minutes: u32) -> u32 {
    match duration_minutes {
        30.. => 30,
        15..30 => 15,
        d => d,
    }
}

/// The free slots of `date` (a local date in `tz`).
///
/// Candidates start at each opening time of the day and then every [`grid_minutes`] of real
/// (elapsed) time; a candidate is kept when it ends by the closing time, overlaps no busy
/// interval (`[start, end)` half-open, so back-to-back is fine), starts at or after
/// `not_before`, and its local start lies in `time_of_day` (when given).
///
/// Daylight-saving changes: the opening and closing wall-clock times are resolved to instants
/// (a time that does not exist, in the spring gap, means the first instant after the gap; a
/// time that exists twice in the autumn means the earlier instant for an opening and the later
/// one for a closing), and the slots between them follow real time. So an interval over the
/// spring gap is an hour shorter and the slots' local times jump the gap, and one over the
/// autumn overlap is an hour longer.
pub fn free_slots(
    hours: &BusinessHours,
    tz: Tz,
    date: NaiveDate,
    duration_minutes: u32,
    busy: &[(DateTime<Utc>, DateTime<Utc>)],
    time_of_day: Option<TimeOfDay>,
    not_before: DateTime<Utc>,
) -> Vec<Slot> {
    if duration_minutes == 0 || duration_minutes > 24 * 60 {
        return Vec::new();
    }
    let duration = Duration::minutes(i64::from(duration_minutes));
    let step = Duration::minutes(i64::from(grid_minutes(duration_minutes)));
    let mut slots = Vec::new();
    for &(open, close) in hours.intervals(date.weekday()) {
        let (Some(open), Some(close)) = (
            local_instant(tz, date, open, Edge::Opening),
            local_instant(tz, date, close, Edge::Closing),
        ) else {
            continue;
        };
        let mut start = open;
        while start + duration <= close {
            let end = start + duration;
            let local_start = start.with_timezone(&tz).naive_local();
            let free = start >= not_before
                && time_of_day.is_none_or(|t| t.contains(local_start.time()))
                && !busy.iter().any(|&(b0, b1)| start < b1 && b0 < end);
            if free {
                slots.push(Slot {
                    start,
                    end,
                    local_start,
                    local_end: end.with_timezone(&tz).naive_local(),
                    slot_id: slot_id(start, duration_minutes),
                });
            }
            start += step;
        }
    }
    slots
}

/// The first day from `from` (inclusive) within [`NEXT_AVAILABLE_DAYS`] days that has free
/// slots, with all its free slots. `busy` should cover [`search_range`]`(tz, from,
/// NEXT_AVAILABLE_DAYS)`.
pub fn next_available(
    hours: &BusinessHours,
    tz: Tz,
    from: NaiveDate,
    duration_minutes: u32,
    busy: &[(DateTime<Utc>, DateTime<Utc>)],
    time_of_day: Option<TimeOfDay>,
    not_before: DateTime<Utc>,
) -> Option<DaySlots> {
    if hours.is_always_closed() {
        return None;
    }
    from.iter_days()
        .take(NEXT_AVAILABLE_DAYS as usize)
        .find_map(|date| {
            let slots = free_slots(
                hours,
                tz,
                date,
                duration_minutes,
                busy,
                time_of_day,
                not_before,
            );
            (!slots.is_empty()).then_some(DaySlots { date, slots })
        })
}

/// The instants `[start, end)` covering the local days `from ..= from + days - 1` in `tz`: the
/// range to ask a calendar for busy times before computing slots for those days.
pub fn search_range(tz: Tz, from: NaiveDate, days: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let last = from + Duration::days(i64::from(days.max(1)) - 1);
    let start = local_instant(tz, from, 0, Edge::Opening);
    let end = local_instant(tz, last, 24 * 60, Edge::Closing);
    // A zone whose midnight cannot be resolved at all does not exist in chrono-tz; fall back to
    // generous UTC bounds anyway.
    (
        start.unwrap_or_else(|| {
            (from - Duration::days(1))
                .and_time(NaiveTime::MIN)
                .and_utc()
        }),
        end.unwrap_or_else(|| {
            (last + Duration::days(2))
                .and_time(NaiveTime::MIN)
                .and_utc()
        }),
    )
}

/// Today's date on the wall clock of `tz` at `now`.
pub fn local_date(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

#[derive(Clone, Copy)]
enum Edge {
    Opening,
    Closing,
}

/// The instant of `minute` (0..=1440) past local midnight of `date` in `tz`.
fn local_instant(tz: Tz, date: NaiveDate, minute: Minute, edge: Edge) -> Option<DateTime<Utc>> {
    let naive = date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minute));
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, later) => Some(
            match edge {
                Edge::Opening => earlier,
                Edge::Closing => later,
            }
            .with_timezone(&Utc),
        ),
        // In a gap: the first wall-clock minute after it is the instant the gap ends. Gaps are
        // at most a few hours (a day for a zone that skipped one, e.g. Pacific/Apia 2011).
        LocalResult::None => (1..=26 * 60).find_map(|m| {
            tz.from_local_datetime(&(naive + Duration::minutes(m)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn every_day(open: &str, close: &str) -> BusinessHours {
        let pair = [(open, close)];
        BusinessHours::from_intervals(
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ]
            .map(|w| (w, &pair[..])),
        )
        .unwrap()
    }

    fn weekdays_9_to_17() -> BusinessHours {
        let pair = [("09:00", "17:00")];
        BusinessHours::from_intervals(
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .map(|w| (w, &pair[..])),
        )
        .unwrap()
    }

    fn local_times(slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.local_start.format("%H:%M").to_string())
            .collect()
    }

    const LONG_AGO: &str = "2000-01-01T00:00:00Z";

    #[test]
    fn a_plain_day_in_winter_berlin() {
        let slots = free_slots(
            &weekdays_9_to_17(),
            tz("Europe/Berlin"),
            d("2026-11-24"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(slots.len(), 16);
        assert_eq!(slots[0].start, utc("2026-11-24T08:00:00Z"));
        assert_eq!(slots[0].end, utc("2026-11-24T08:30:00Z"));
        assert_eq!(slots[0].local_start, "2026-11-24T09:00:00".parse().unwrap());
        assert_eq!(slots[0].slot_id, "20261124T0800Z-30");
        assert_eq!(slots[15].end, utc("2026-11-24T16:00:00Z"));
        assert_eq!(slots[15].local_end, "2026-11-24T17:00:00".parse().unwrap());
    }

    #[test]
    fn closed_days_have_no_slots() {
        let hours = weekdays_9_to_17();
        let sat = free_slots(
            &hours,
            tz("UTC"),
            d("2026-11-28"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert!(sat.is_empty());
    }

    #[test]
    fn grid_and_durations() {
        assert_eq!(grid_minutes(60), 30);
        assert_eq!(grid_minutes(45), 30);
        assert_eq!(grid_minutes(20), 15);
        assert_eq!(grid_minutes(10), 10);
        let hours = every_day("09:00", "11:00");
        let sixty = free_slots(
            &hours,
            tz("UTC"),
            d("2026-11-24"),
            60,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(local_times(&sixty), ["09:00", "09:30", "10:00"]);
        let twenty = free_slots(
            &hours,
            tz("UTC"),
            d("2026-11-24"),
            20,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(twenty.len(), 7); // 9:00 .. 10:30, the last ends 10:50
        assert!(
            free_slots(
                &hours,
                tz("UTC"),
                d("2026-11-24"),
                0,
                &[],
                None,
                utc(LONG_AGO)
            )
            .is_empty()
        );
        let too_long = free_slots(
            &hours,
            tz("UTC"),
            d("2026-11-24"),
            150,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert!(too_long.is_empty());
    }

    #[test]
    fn busy_intervals_block_overlapping_slots_only() {
        let hours = every_day("09:00", "12:00");
        let busy = [
            // 9:30–10:00 exactly: blocks 9:30 only.
            (utc("2026-11-24T09:30:00Z"), utc("2026-11-24T10:00:00Z")),
            // 10:45–10:50: blocks 10:30.
            (utc("2026-11-24T10:45:00Z"), utc("2026-11-24T10:50:00Z")),
            // An event on another day changes nothing.
            (utc("2026-11-25T09:00:00Z"), utc("2026-11-25T12:00:00Z")),
        ];
        let slots = free_slots(
            &hours,
            tz("UTC"),
            d("2026-11-24"),
            30,
            &busy,
            None,
            utc(LONG_AGO),
        );
        assert_eq!(local_times(&slots), ["09:00", "10:00", "11:00", "11:30"]);
        for s in &slots {
            assert!(busy.iter().all(|&(b0, b1)| !(s.start < b1 && b0 < s.end)));
        }
    }

    #[test]
    fn no_slots_in_the_past() {
        let hours = every_day("09:00", "12:00");
        let now = utc("2026-11-24T10:10:00Z");
        let slots = free_slots(&hours, tz("UTC"), d("2026-11-24"), 30, &[], None, now);
        assert_eq!(local_times(&slots), ["10:30", "11:00", "11:30"]);
        let yesterday = free_slots(&hours, tz("UTC"), d("2026-11-23"), 30, &[], None, now);
        assert!(yesterday.is_empty());
    }

    #[test]
    fn time_of_day_filters_by_local_start() {
        let hours = every_day("08:00", "20:00");
        let berlin = tz("Europe/Berlin");
        let day = d("2026-11-24");
        let pick = |t| free_slots(&hours, berlin, day, 60, &[], Some(t), utc(LONG_AGO));
        let morning = pick(TimeOfDay::Morning);
        assert_eq!(local_times(&morning).first().unwrap(), "08:00");
        assert_eq!(local_times(&morning).last().unwrap(), "11:30");
        let afternoon = pick(TimeOfDay::Afternoon);
        assert_eq!(local_times(&afternoon).first().unwrap(), "12:00");
        assert_eq!(local_times(&afternoon).last().unwrap(), "16:30");
        let evening = pick(TimeOfDay::Evening);
        assert_eq!(
            local_times(&evening),
            ["17:00", "17:30", "18:00", "18:30", "19:00"]
        );
    }

    #[test]
    fn berlin_spring_forward_2026_03_29() {
        // 02:00 CET -> 03:00 CEST. Open 01:00-05:00 local is three real hours.
        let hours = every_day("01:00", "05:00");
        let slots = free_slots(
            &hours,
            tz("Europe/Berlin"),
            d("2026-03-29"),
            60,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(
            local_times(&slots),
            ["01:00", "01:30", "03:00", "03:30", "04:00"]
        );
        assert_eq!(slots[0].start, utc("2026-03-29T00:00:00Z"));
        // 01:30 CET + 60 min = 03:30 CEST: the slot spans the gap.
        assert_eq!(slots[1].local_end, "2026-03-29T03:30:00".parse().unwrap());
        assert_eq!(slots[2].start, utc("2026-03-29T01:00:00Z"));
        assert_eq!(slots[4].end, utc("2026-03-29T03:00:00Z"));
        for s in &slots {
            assert_eq!(s.end - s.start, Duration::minutes(60));
        }
        // Opening inside the gap (02:30) means opening at 03:00 CEST.
        let gap = every_day("02:30", "04:00");
        let slots = free_slots(
            &gap,
            tz("Europe/Berlin"),
            d("2026-03-29"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(local_times(&slots), ["03:00", "03:30"]);
        // Ordinary business hours the same day are in CEST (UTC+2).
        let day = free_slots(
            &weekdays_9_to_17(),
            tz("Europe/Berlin"),
            d("2026-03-30"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(day[0].start, utc("2026-03-30T07:00:00Z"));
        let sunday = every_day("09:00", "10:00");
        let slots = free_slots(
            &sunday,
            tz("Europe/Berlin"),
            d("2026-03-29"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(slots[0].start, utc("2026-03-29T07:00:00Z"));
        let saturday = free_slots(
            &sunday,
            tz("Europe/Berlin"),
            d("2026-03-28"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(saturday[0].start, utc("2026-03-28T08:00:00Z"));
    }

    #[test]
    fn berlin_fall_back_2026_10_25() {
        // 03:00 CEST -> 02:00 CET: 02:00-03:00 happens twice. Open 01:00-04:00 is four hours.
        let hours = every_day("01:00", "04:00");
        let slots = free_slots(
            &hours,
            tz("Europe/Berlin"),
            d("2026-10-25"),
            60,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(slots.len(), 7);
        assert_eq!(slots[0].start, utc("2026-10-24T23:00:00Z"));
        assert_eq!(slots.last().unwrap().end, utc("2026-10-25T03:00:00Z"));
        assert_eq!(
            local_times(&slots),
            [
                "01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00"
            ]
        );
        // All ids differ although two local times repeat.
        let mut ids: Vec<_> = slots.iter().map(|s| s.slot_id.clone()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 7);
        // Closing at the repeated 02:30 means the second 02:30.
        let ambiguous_close = every_day("01:00", "02:30");
        let slots = free_slots(
            &ambiguous_close,
            tz("Europe/Berlin"),
            d("2026-10-25"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(slots.last().unwrap().end, utc("2026-10-25T01:30:00Z"));
        // Office hours the day after are in CET (UTC+1).
        let monday = free_slots(
            &weekdays_9_to_17(),
            tz("Europe/Berlin"),
            d("2026-10-26"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(monday[0].start, utc("2026-10-26T08:00:00Z"));
        let friday = free_slots(
            &weekdays_9_to_17(),
            tz("Europe/Berlin"),
            d("2026-10-23"),
            30,
            &[],
            None,
            utc(LONG_AGO),
        );
        assert_eq!(friday[0].start, utc("2026-10-23T07:00:00Z"));
    }

    #[test]
    fn new_york_dst_changes() {
        let ny = tz("America/New_York");
        let hours = every_day("09:00", "17:00");
        // 2026-03-08 spring forward, 2026-11-01 fall back (at 02:00 local).
        let before = free_slots(&hours, ny, d("2026-03-07"), 30, &[], None, utc(LONG_AGO));
        assert_eq!(before[0].start, utc("2026-03-07T14:00:00Z"));
        let after = free_slots(&hours, ny, d("2026-03-08"), 30, &[], None, utc(LONG_AGO));
        assert_eq!(after[0].start, utc("2026-03-08T13:00:00Z"));
        assert_eq!(after.len(), 16);
        let nov = free_slots(&hours, ny, d("2026-11-01"), 30, &[], None, utc(LONG_AGO));
        assert_eq!(nov[0].start, utc("2026-11-01T14:00:00Z"));
        let early = every_day("00:00", "04:00");
        let spring = free_slots(&early, ny, d("2026-03-08"), 60, &[], None, utc(LONG_AGO));
        assert_eq!(spring.len(), 5); // three real hours
        let fall = free_slots(&early, ny, d("2026-11-01"), 60, &[], None, utc(LONG_AGO));
        assert_eq!(fall.len(), 9); // five real hours
        // A busy interval given in UTC blocks the right local slot.
        let busy = [(utc("2026-11-02T15:00:00Z"), utc("2026-11-02T15:30:00Z"))];
        let mon = free_slots(&hours, ny, d("2026-11-02"), 30, &busy, None, utc(LONG_AGO));
        assert!(!local_times(&mon).contains(&"10:00".to_owned()));
        assert!(local_times(&mon).contains(&"09:30".to_owned()));
    }

    #[test]
    fn next_available_scans_forward() {
        let hours = weekdays_9_to_17();
        let berlin = tz("Europe/Berlin");
        // Friday 2026-11-27 fully booked, weekend closed: next is Monday 11-30.
        let busy = [(utc("2026-11-27T08:00:00Z"), utc("2026-11-27T16:00:00Z"))];
        let next = next_available(
            &hours,
            berlin,
            d("2026-11-27"),
            30,
            &busy,
            None,
            utc(LONG_AGO),
        )
        .unwrap();
        assert_eq!(next.date, d("2026-11-30"));
        assert_eq!(next.slots[0].start, utc("2026-11-30T08:00:00Z"));
        // Late on a day: the rest of the day is gone, so the next day.
        let now = utc("2026-11-24T16:45:00Z");
        let next = next_available(&hours, berlin, d("2026-11-24"), 30, &[], None, now).unwrap();
        assert_eq!(next.date, d("2026-11-25"));
        // Evening never fits these hours.
        assert!(
            next_available(
                &hours,
                berlin,
                d("2026-11-24"),
                30,
                &[],
                Some(TimeOfDay::Evening),
                utc(LONG_AGO)
            )
            .is_none()
        );
        // Busy for 14 days: nothing.
        let (from, to) = search_range(berlin, d("2026-11-24"), NEXT_AVAILABLE_DAYS);
        assert!(
            next_available(
                &hours,
                berlin,
                d("2026-11-24"),
                30,
                &[(from, to)],
                None,
                utc(LONG_AGO)
            )
            .is_none()
        );
        // The 15th day is not searched.
        let (_, to13) = search_range(berlin, d("2026-11-24"), 13);
        let next = next_available(
            &hours,
            berlin,
            d("2026-11-24"),
            30,
            &[(from, to13)],
            None,
            utc(LONG_AGO),
        )
        .unwrap();
        assert_eq!(next.date, d("2026-12-07"));
        assert!(
            next_available(
                &BusinessHours::default(),
                berlin,
                d("2026-11-24"),
                30,
                &[],
                None,
                utc(LONG_AGO)
            )
            .is_none()
        );
    }

    #[test]
    fn search_range_covers_local_days() {
        let (from, to) = search_range(tz("Europe/Berlin"), d("2026-03-29"), 1);
        assert_eq!(from, utc("2026-03-28T23:00:00Z"));
        assert_eq!(to, utc("2026-03-29T22:00:00Z"));
        let (from, to) = search_range(tz("Europe/Berlin"), d("2026-10-25"), 2);
        assert_eq!(from, utc("2026-10-24T22:00:00Z"));
        assert_eq!(to, utc("2026-10-26T23:00:00Z"));
        assert_eq!(
            local_date(tz("Europe/Berlin"), utc("2026-11-24T23:30:00Z")),
            d("2026-11-25")
        );
    }

    #[test]
    fn slot_ids_round_trip() {
        let start = utc("2026-11-24T08:00:00Z");
        assert_eq!(parse_slot_id(&slot_id(start, 45)), Some((start, 45)));
        assert_eq!(parse_slot_id("20261124T0800Z-0"), None);
        assert_eq!(parse_slot_id("2026-11-24"), None);
        assert_eq!(parse_slot_id("tomorrow at nine"), None);
    }

    #[test]
    fn time_of_day_boundaries() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(TimeOfDay::Morning.contains(t(11, 59)));
        assert!(!TimeOfDay::Morning.contains(t(12, 0)));
        assert!(TimeOfDay::Afternoon.contains(t(12, 0)));
        assert!(TimeOfDay::Afternoon.contains(t(16, 59)));
        assert!(TimeOfDay::Evening.contains(t(17, 0)));
        assert_eq!(
            serde_json::to_string(&TimeOfDay::Evening).unwrap(),
            "\"evening\""
        );
    }
}
