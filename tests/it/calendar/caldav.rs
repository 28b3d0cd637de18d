//! The CalDAV calendar against the local Radicale.

use callsaga_activities::availability::{self, BusinessHours, TimeOfDay, parse_timezone};
use callsaga_activities::calendar::{
    BusyInterval, CalDavCalendar, CalDavPolicy, Calendar, CalendarError, busy_ranges,
};
use callsaga_api::devserver::free_port;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::{Duration, Instant};

use super::{
    PASSWORD, USER, WIDE_FROM, WIDE_TO, caldav, date, event, fresh_caldav, long_ago, mkcalendar,
    put_raw, radicale, spans, start_radicale_process, utc,
};
use crate::testservers::{stop_supervised, temp_dir, wait_for_port};

#[tokio::test]
async fn caldav_create_busy_move_delete_round_trip() {
    let (cal, _) = fresh_caldav("Europe/Berlin").await;
    let ev = event(
        "call-1-book",
        "2026-11-24T08:00:00Z",
        "2026-11-24T08:30:00Z",
    );
    let id = cal.create_event(&ev).await.expect("create");
    assert_eq!(id, "call-1-book.ics");

    let busy = cal
        .busy(utc("2026-11-24T00:00:00Z"), utc("2026-11-25T00:00:00Z"))
        .await
        .expect("busy");
    assert_eq!(
        busy,
        [BusyInterval {
            start: ev.start,
            end: ev.end,
            event_uid: Some("call-1-book".into()),
        }]
    );
    // Outside the range: nothing; the range is half-open.
    assert!(
        cal.busy(utc("2026-11-24T08:30:00Z"), utc("2026-11-24T12:00:00Z"))
            .await
            .expect("busy")
            .is_empty()
    );

    cal.move_event(
        &id,
        utc("2026-11-25T13:00:00Z"),
        utc("2026-11-25T13:30:00Z"),
    )
    .await
    .expect("move");
    let busy = cal.busy(utc(WIDE_FROM), utc(WIDE_TO)).await.expect("busy");
    assert_eq!(
        spans(&busy),
        [(utc("2026-11-25T13:00:00Z"), utc("2026-11-25T13:30:00Z"))]
    );
    assert_eq!(busy[0].event_uid.as_deref(), Some("call-1-book"));
    // Moving onto an overlapping time of itself is fine (it does not block itself).
    cal.move_event(
        &id,
        utc("2026-11-25T13:15:00Z"),
        utc("2026-11-25T13:45:00Z"),
    )
    .await
    .expect("move over itself");

    cal.delete_event(&id).await.expect("delete");
    assert!(
        cal.busy(utc(WIDE_FROM), utc(WIDE_TO))
            .await
            .expect("busy")
            .is_empty()
    );
    // A second delete (a retry) is fine too.
    cal.delete_event(&id).await.expect("delete again");
}

#[tokio::test]
async fn caldav_create_is_idempotent_on_uid() {
    let (cal, url) = fresh_caldav("Europe/Berlin").await;
    let ev = event(
        "call-2-book",
        "2026-11-24T09:00:00Z",
        "2026-11-24T09:30:00Z",
    );
    let first = cal.create_event(&ev).await.expect("create");
    let second = cal.create_event(&ev).await.expect("create again");
    assert_eq!(first, second);
    let busy = cal.busy(utc(WIDE_FROM), utc(WIDE_TO)).await.expect("busy");
    assert_eq!(busy.len(), 1, "{busy:?}");

    // A uid that is not URL-safe gets a hashed resource name, idempotently too.
    let odd = event(
        "call 3/book#1",
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:30:00Z",
    );
    let a = cal.create_event(&odd).await.expect("create odd uid");
    let b = cal.create_event(&odd).await.expect("create odd uid again");
    assert_eq!(a, b);
    assert!(a.ends_with(".ics") && !a.contains(' '));
    let busy = cal.busy(utc(WIDE_FROM), utc(WIDE_TO)).await.expect("busy");
    assert_eq!(busy.len(), 2, "{busy:?}");
    assert_eq!(busy[1].event_uid.as_deref(), Some("call 3/book#1"));

    // Somebody else's event under our resource name is not ours.
    put_raw(
        &url,
        "call-4-book.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//other//EN\nBEGIN:VEVENT\nUID:someone-else\nDTSTAMP:20261101T000000Z\nDTSTART:20261201T090000Z\nDTEND:20261201T100000Z\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .await;
    let clash = event(
        "call-4-book",
        "2026-11-24T11:00:00Z",
        "2026-11-24T11:30:00Z",
    );
    let err = cal
        .create_event(&clash)
        .await
        .expect_err("foreign resource");
    assert!(matches!(err, CalendarError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn caldav_missing_events() {
    let (cal, _) = fresh_caldav("Europe/Berlin").await;
    cal.delete_event("never-created.ics")
        .await
        .expect("deleting a missing event is ok");
    cal.delete_event("../escape").await.expect("not a name: ok");
    let err = cal
        .move_event(
            "never-created.ics",
            utc("2026-11-24T08:00:00Z"),
            utc("2026-11-24T08:30:00Z"),
        )
        .await
        .expect_err("moving a missing event");
    assert_eq!(err, CalendarError::NotFound("never-created.ics".into()));
    assert!(!err.is_transient());
    let err = cal
        .create_event(&event("x", "2026-11-24T08:30:00Z", "2026-11-24T08:00:00Z"))
        .await
        .expect_err("reversed interval");
    assert!(matches!(err, CalendarError::Permanent(_)));
}

#[tokio::test]
async fn caldav_slot_taken_by_another_event() {
    let (cal, url) = fresh_caldav("Europe/Berlin").await;
    // The owner's own appointment, written by another client in local time:
    // 2026-11-24 10:00-11:00 Berlin = 09:00-10:00 UTC.
    put_raw(
        &url,
        "dentist-lunch.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//other//EN\nBEGIN:VEVENT\nUID:owner-1\nDTSTAMP:20261101T000000Z\nDTSTART;TZID=Europe/Berlin:20261124T100000\nDTEND;TZID=Europe/Berlin:20261124T110000\nSUMMARY:Owner's appointment\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .await;
    let err = cal
        .create_event(&event(
            "call-5-book",
            "2026-11-24T09:30:00Z",
            "2026-11-24T10:00:00Z",
        ))
        .await
        .expect_err("overlaps");
    assert_eq!(err, CalendarError::SlotTaken);
    assert!(!err.is_transient());
    // Back to back is fine.
    let id = cal
        .create_event(&event(
            "call-5-book",
            "2026-11-24T10:00:00Z",
            "2026-11-24T10:30:00Z",
        ))
        .await
        .expect("adjacent");
    // Moving onto the owner's appointment is refused, and the event stays where it was.
    let err = cal
        .move_event(
            &id,
            utc("2026-11-24T09:15:00Z"),
            utc("2026-11-24T09:45:00Z"),
        )
        .await
        .expect_err("move onto a taken time");
    assert_eq!(err, CalendarError::SlotTaken);
    let busy = cal.busy(utc(WIDE_FROM), utc(WIDE_TO)).await.expect("busy");
    assert_eq!(
        spans(&busy),
        [
            (utc("2026-11-24T09:00:00Z"), utc("2026-11-24T10:00:00Z")),
            (utc("2026-11-24T10:00:00Z"), utc("2026-11-24T10:30:00Z")),
        ]
    );
}

#[tokio::test]
async fn caldav_reads_local_all_day_recurring_and_free_events() {
    let (cal, url) = fresh_caldav("Europe/Berlin").await;
    let vtimezone = "BEGIN:VTIMEZONE\nTZID:America/New_York\nBEGIN:STANDARD\nDTSTART:19701101T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:19700308T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nEND:DAYLIGHT\nEND:VTIMEZONE\n";
    let objects = [
        (
            "ny.ics",
            format!(
                "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n{vtimezone}BEGIN:VEVENT\nUID:ny\nDTSTAMP:20261101T000000Z\nDTSTART;TZID=America/New_York:20261102T090000\nDURATION:PT45M\nEND:VEVENT\nEND:VCALENDAR\n"
            ),
        ),
        (
            "holiday.ics",
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:holiday\nDTSTAMP:20261101T000000Z\nDTSTART;VALUE=DATE:20261103\nDTEND;VALUE=DATE:20261104\nSUMMARY:Closed\nEND:VEVENT\nEND:VCALENDAR\n".to_owned(),
        ),
        (
            "daily.ics",
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:daily\nDTSTAMP:20261101T000000Z\nDTSTART;TZID=Europe/Berlin:20261104T120000\nDTEND;TZID=Europe/Berlin:20261104T130000\nRRULE:FREQ=DAILY;COUNT=3\nSUMMARY:Lunch\nEND:VEVENT\nEND:VCALENDAR\n".to_owned(),
        ),
        (
            "free.ics",
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:free\nDTSTAMP:20261101T000000Z\nDTSTART:20261102T100000Z\nDTEND:20261102T110000Z\nTRANSP:TRANSPARENT\nEND:VEVENT\nEND:VCALENDAR\n".to_owned(),
        ),
        (
            "cancelled.ics",
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:cancelled\nDTSTAMP:20261101T000000Z\nDTSTART:20261102T120000Z\nDTEND:20261102T130000Z\nSTATUS:CANCELLED\nEND:VEVENT\nEND:VCALENDAR\n".to_owned(),
        ),
    ];
    for (name, ics) in &objects {
        put_raw(&url, name, ics).await;
    }
    let busy = cal
        .busy(utc("2026-11-01T00:00:00Z"), utc("2026-11-10T00:00:00Z"))
        .await
        .expect("busy");
    let got: Vec<(DateTime<Utc>, DateTime<Utc>, Option<&str>)> = busy
        .iter()
        .map(|b| (b.start, b.end, b.event_uid.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            // 09:00 EST (after the 2026-11-01 change) = 14:00 UTC, 45 minutes.
            (
                utc("2026-11-02T14:00:00Z"),
                utc("2026-11-02T14:45:00Z"),
                Some("ny")
            ),
            // All day in the calendar's (agent's) zone.
            (
                utc("2026-11-02T23:00:00Z"),
                utc("2026-11-03T23:00:00Z"),
                Some("holiday")
            ),
            // Expanded by the server: three occurrences.
            (
                utc("2026-11-04T11:00:00Z"),
                utc("2026-11-04T12:00:00Z"),
                Some("daily")
            ),
            (
                utc("2026-11-05T11:00:00Z"),
                utc("2026-11-05T12:00:00Z"),
                Some("daily")
            ),
            (
                utc("2026-11-06T11:00:00Z"),
                utc("2026-11-06T12:00:00Z"),
                Some("daily")
            ),
        ]
    );
    // A window that cuts through the recurrence sees only its occurrence.
    let busy = cal
        .busy(utc("2026-11-05T00:00:00Z"), utc("2026-11-05T23:00:00Z"))
        .await
        .expect("busy");
    assert_eq!(
        spans(&busy),
        [(utc("2026-11-05T11:00:00Z"), utc("2026-11-05T12:00:00Z"))]
    );
}

/// The slots of DST-change days, computed from busy times that come from CalDAV.
#[tokio::test]
async fn caldav_busy_times_give_dst_correct_slots() {
    let (cal, url) = fresh_caldav("Europe/Berlin").await;
    let berlin = parse_timezone("Europe/Berlin").expect("zone");
    let hours = BusinessHours::from_json(&json!({
        "sat": [["09:00", "12:00"]],
        "sun": [["01:00", "05:00"], ["09:00", "12:00"]],
    }))
    .expect("hours");

    // Spring forward, Sunday 2026-03-29 (02:00 CET -> 03:00 CEST). The owner is busy 10:00-11:00
    // local (written with TZID) and at 03:00-04:00 local, right after the gap (written in UTC).
    put_raw(
        &url,
        "spring.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:spring\nDTSTAMP:20260301T000000Z\nDTSTART;TZID=Europe/Berlin:20260329T100000\nDTEND;TZID=Europe/Berlin:20260329T110000\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .await;
    cal.create_event(&event(
        "night-1",
        "2026-03-29T01:00:00Z",
        "2026-03-29T02:00:00Z",
    ))
    .await
    .expect("create");
    let day = date("2026-03-29");
    let (from, to) = availability::search_range(berlin, day, 1);
    let busy = cal.busy(from, to).await.expect("busy");
    assert_eq!(busy.len(), 2, "{busy:?}");
    let slots = availability::free_slots(
        &hours,
        berlin,
        day,
        30,
        &busy_ranges(&busy, None),
        None,
        long_ago(),
    );
    let local: Vec<String> = slots
        .iter()
        .map(|s| s.local_start.format("%H:%M").to_string())
        .collect();
    assert_eq!(
        local,
        [
            "01:00", "01:30", "04:00", "04:30", // the gap, then the night event
            "09:00", "09:30", "11:00", "11:30", // 10:00-11:00 taken
        ]
    );
    // CEST already: 09:00 local is 07:00 UTC; the 01:30 slot ends at 03:00 CEST.
    assert_eq!(slots[4].start, utc("2026-03-29T07:00:00Z"));
    assert_eq!(slots[1].end, utc("2026-03-29T01:00:00Z"));
    // The day before is still CET.
    let saturday = availability::free_slots(
        &hours,
        berlin,
        date("2026-03-28"),
        30,
        &[],
        None,
        long_ago(),
    );
    assert_eq!(saturday[0].start, utc("2026-03-28T08:00:00Z"));

    // Fall back, Sunday 2026-10-25 (03:00 CEST -> 02:00 CET). Busy 09:00-10:00 CET = 08:00 UTC,
    // and the first 02:00-03:00 (CEST) hour of the night.
    cal.create_event(&event(
        "autumn-1",
        "2026-10-25T08:00:00Z",
        "2026-10-25T09:00:00Z",
    ))
    .await
    .expect("create");
    put_raw(
        &url,
        "autumn-night.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:autumn-night\nDTSTAMP:20261001T000000Z\nDTSTART;TZID=Europe/Berlin:20261025T020000\nDURATION:PT1H\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .await;
    let day = date("2026-10-25");
    let (from, to) = availability::search_range(berlin, day, 1);
    let busy = cal.busy(from, to).await.expect("busy");
    let slots = availability::free_slots(
        &hours,
        berlin,
        day,
        60,
        &busy_ranges(&busy, None),
        Some(TimeOfDay::Morning),
        long_ago(),
    );
    let got: Vec<(String, DateTime<Utc>)> = slots
        .iter()
        .map(|s| (s.local_start.format("%H:%M").to_string(), s.start))
        .collect();
    let want = [
        ("01:00", "2026-10-24T23:00:00Z"),
        // 01:30 CEST + 60 min would run into the busy 02:00 CEST hour; 02:00 and 02:30 CEST
        // are busy; the repeated 02:00 and 02:30 (CET) are free.
        ("02:00", "2026-10-25T01:00:00Z"),
        ("02:30", "2026-10-25T01:30:00Z"),
        ("03:00", "2026-10-25T02:00:00Z"),
        ("03:30", "2026-10-25T02:30:00Z"),
        ("04:00", "2026-10-25T03:00:00Z"),
        ("10:00", "2026-10-25T09:00:00Z"),
        ("10:30", "2026-10-25T09:30:00Z"),
        ("11:00", "2026-10-25T10:00:00Z"),
    ];
    assert_eq!(got, want.map(|(l, u)| (l.to_owned(), utc(u))), "{slots:#?}");

    // America/New_York, from a calendar read in that zone: Monday after the 2026-11-01 change.
    let (ny_cal, ny_url) = fresh_caldav("America/New_York").await;
    let ny = parse_timezone("America/New_York").expect("zone");
    put_raw(
        &ny_url,
        "floating.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:floating\nDTSTAMP:20261001T000000Z\nDTSTART:20261102T093000\nDTEND:20261102T103000\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .await;
    let weekdays = BusinessHours::from_json(&json!({"mon": [["09:00", "12:00"]]})).expect("hours");
    let day = date("2026-11-02");
    let (from, to) = availability::search_range(ny, day, 1);
    let busy = ny_cal.busy(from, to).await.expect("busy");
    assert_eq!(
        spans(&busy),
        [(utc("2026-11-02T14:30:00Z"), utc("2026-11-02T15:30:00Z"))]
    );
    let slots = availability::free_slots(
        &weekdays,
        ny,
        day,
        30,
        &busy_ranges(&busy, None),
        None,
        long_ago(),
    );
    let local: Vec<String> = slots
        .iter()
        .map(|s| s.local_start.format("%H:%M").to_string())
        .collect();
    assert_eq!(local, ["09:00", "10:30", "11:00", "11:30"]);
    assert_eq!(slots[0].start, utc("2026-11-02T14:00:00Z"));
    assert_eq!(
        availability::speak_slots(availability::Language::En, day, &slots),
        "I have 9:00, 10:30, 11:00 and 11:30 AM free on Monday, November 2."
    );
}

#[tokio::test]
async fn caldav_down_or_slow_is_unavailable() {
    // Nothing listening.
    let port = free_port().expect("port");
    let cal = caldav(&format!("http://127.0.0.1:{port}/{USER}/cal/"), "UTC");
    let ev = event("down-1", "2026-11-24T08:00:00Z", "2026-11-24T08:30:00Z");
    for result in [
        cal.busy(ev.start, ev.end).await.map(|_| ()),
        cal.create_event(&ev).await.map(|_| ()),
        cal.move_event("down-1.ics", ev.start, ev.end).await,
        cal.delete_event("down-1.ics").await,
    ] {
        let err = result.expect_err("server is down");
        assert!(
            matches!(err, CalendarError::Unavailable(_)) && err.is_transient(),
            "{err:?}"
        );
    }

    // A Radicale that was running and is stopped.
    let port = free_port().expect("port");
    let dir = temp_dir("radicale-stopped");
    let child = start_radicale_process(port, &dir);
    wait_for_port(port, Duration::from_secs(30), &dir.join("radicale.log")).await;
    let url = mkcalendar(&format!("http://127.0.0.1:{port}")).await;
    let cal = caldav(&url, "UTC");
    cal.create_event(&ev).await.expect("create while up");
    stop_supervised(child);
    let err = cal
        .busy(ev.start, ev.end)
        .await
        .expect_err("stopped server");
    assert!(err.is_transient(), "{err:?}");

    // Accepts connections but never answers: the request timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let slow = CalDavCalendar::from_json(
        &json!({ "url": format!("http://127.0.0.1:{port}/cal/"), "timeout_ms": 300 }),
        parse_timezone("UTC").expect("zone"),
        reqwest::Client::new(),
        &CalDavPolicy::permissive(),
    )
    .expect("config");
    let started = Instant::now();
    let err = slow.busy(ev.start, ev.end).await.expect_err("timeout");
    assert!(err.is_transient(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
}

#[tokio::test]
async fn caldav_wrong_password_is_permanent() {
    let url = mkcalendar(&radicale().await.base).await;
    let cal = CalDavCalendar::from_json(
        &json!({ "url": url, "username": USER, "password": "wrong" }),
        parse_timezone("UTC").expect("zone"),
        reqwest::Client::new(),
        &CalDavPolicy::permissive(),
    )
    .expect("config");
    let err = cal
        .busy(utc(WIDE_FROM), utc(WIDE_TO))
        .await
        .expect_err("unauthorized");
    assert!(matches!(err, CalendarError::Permanent(_)), "{err:?}");
    assert!(!err.to_string().contains("wrong"), "{err}");
    // The password is in neither Debug nor the error.
    assert!(!format!("{cal:?}").contains("wrong"));
}

/// With `calendar.caldav_allow_*` off, Radicale on 127.0.0.1 is refused when the calendar is
/// opened, and a name that resolves to loopback is refused at connect time (as a DNS answer
/// that changed after the URL was accepted would be), permanently.
#[tokio::test]
async fn caldav_refuses_private_destinations_with_the_flags_off() {
    let url = mkcalendar(&radicale().await.base).await;
    let config = json!({ "url": url, "username": USER, "password": PASSWORD });
    let zone = parse_timezone("UTC").expect("zone");
    let strict = CalDavPolicy::default();
    let http_only = CalDavPolicy {
        caldav_allow_http: true,
        ..CalDavPolicy::default()
    };
    for policy in [&strict, &http_only] {
        let err = CalDavCalendar::from_json(&config, zone, policy.client(), policy).unwrap_err();
        assert!(matches!(err, CalendarError::Permanent(_)), "{err:?}");
        assert!(err.to_string().contains("caldav_allow"), "{err}");
    }

    let by_name = url.replace("127.0.0.1", "localhost");
    let cal = CalDavCalendar::from_json(
        &json!({ "url": by_name, "username": USER, "password": PASSWORD }),
        zone,
        http_only.client(),
        &CalDavPolicy::permissive(),
    )
    .expect("the URL passes the permissive check");
    let err = cal
        .busy(utc(WIDE_FROM), utc(WIDE_TO))
        .await
        .expect_err("refused at connect time");
    assert!(matches!(err, CalendarError::Permanent(_)), "{err:?}");
    assert!(
        err.to_string().contains("resolves to a loopback address"),
        "{err}"
    );

    // The same calendar with the flags on works.
    let open = CalDavPolicy::permissive();
    let cal = CalDavCalendar::from_json(&config, zone, open.client(), &open).expect("allowed");
    cal.busy(utc(WIDE_FROM), utc(WIDE_TO)).await.expect("busy");
}

/// A CalDAV answer larger than `calendar.caldav_max_response_bytes` is an error, not read on.
#[tokio::test]
async fn caldav_responses_over_the_cap_are_refused() {
    let (cal, url) = fresh_caldav("UTC").await;
    cal.create_event(&event(
        "cap-1",
        "2026-11-24T08:00:00Z",
        "2026-11-24T08:30:00Z",
    ))
    .await
    .expect("create");
    let small = CalDavPolicy {
        caldav_max_response_bytes: 100,
        ..CalDavPolicy::permissive()
    };
    let capped = CalDavCalendar::from_json(
        &json!({ "url": url, "username": USER, "password": PASSWORD }),
        parse_timezone("UTC").expect("zone"),
        small.client(),
        &small,
    )
    .expect("config");
    let err = capped
        .busy(utc(WIDE_FROM), utc(WIDE_TO))
        .await
        .expect_err("too large");
    assert!(matches!(err, CalendarError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("larger than 100 bytes"), "{err}");
    assert_eq!(
        cal.busy(utc(WIDE_FROM), utc(WIDE_TO))
            .await
            .expect("busy")
            .len(),
        1
    );
}
