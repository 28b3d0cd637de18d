//! Calendars against real servers: a local Radicale (CalDAV) started once per test binary
//! (`caldav.rs`), and the embedded calendar on SQLite and PostgreSQL (`embedded.rs`). Here: the
//! Radicale harness and what both share.

mod caldav;
mod embedded;

use crate::testservers::{spawn_supervised, temp_dir, testservers_python, wait_for_port};
use callsaga_activities::availability::parse_timezone;
use callsaga_activities::calendar::{BusyInterval, CalDavCalendar, CalDavPolicy, CalendarEvent};
use callsaga_api::devserver::free_port;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use std::path::Path;
use std::process::Child;
use std::time::Duration;
use tokio::sync::OnceCell;
use uuid::Uuid;

pub(crate) const USER: &str = "alice";
pub(crate) const PASSWORD: &str = "s3cret-pw";

struct Radicale {
    base: String,
}

fn start_radicale_process(port: u16, dir: &Path) -> Child {
    std::fs::write(dir.join("users"), format!("{USER}:{PASSWORD}\n")).expect("htpasswd");
    let config = format!(
        "[server]\nhosts = 127.0.0.1:{port}\n\n[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n\n[storage]\nfilesystem_folder = {storage}\n\n[logging]\nlevel = warning\n",
        users = dir.join("users").display(),
        storage = dir.join("collections").display(),
    );
    let config_path = dir.join("config");
    std::fs::write(&config_path, config).expect("radicale config");
    spawn_supervised(
        &testservers_python(),
        &[
            "-m",
            "radicale",
            "--config",
            config_path.to_str().expect("utf-8 path"),
        ],
        &[],
        &dir.join("radicale.log"),
    )
}

/// The shared Radicale of this test binary: `http://127.0.0.1:<port>`.
async fn radicale() -> &'static Radicale {
    static SERVER: OnceCell<Radicale> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            let port = free_port().expect("free port");
            let dir = temp_dir("radicale");
            let child = start_radicale_process(port, &dir);
            wait_for_port(port, Duration::from_secs(30), &dir.join("radicale.log")).await;
            // Lives as long as the test process; its supervisor stops it then.
            std::mem::forget(child);
            Radicale {
                base: format!("http://127.0.0.1:{port}"),
            }
        })
        .await
}

/// A new, empty calendar collection on `base`; returns its URL.
async fn mkcalendar(base: &str) -> String {
    let url = format!("{base}/{USER}/{}/", Uuid::new_v4().simple());
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(b"MKCALENDAR").expect("method"),
            &url,
        )
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .expect("MKCALENDAR");
    assert_eq!(response.status(), 201, "MKCALENDAR {url}");
    url
}

fn caldav(url: &str, tz: &str) -> CalDavCalendar {
    CalDavCalendar::from_json(
        &json!({ "url": url, "username": USER, "password": PASSWORD }),
        parse_timezone(tz).expect("zone"),
        reqwest::Client::new(),
        &CalDavPolicy::permissive(),
    )
    .expect("caldav config")
}

pub(crate) async fn fresh_caldav(tz: &str) -> (CalDavCalendar, String) {
    let url = mkcalendar(&radicale().await.base).await;
    (caldav(&url, tz), url)
}

/// Stores a raw iCalendar object (as another client would) at `<calendar>/<name>`.
async fn put_raw(calendar_url: &str, name: &str, ics: &str) {
    let response = reqwest::Client::new()
        .put(format!("{calendar_url}{name}"))
        .basic_auth(USER, Some(PASSWORD))
        .header("content-type", "text/calendar; charset=utf-8")
        .body(ics.replace('\n', "\r\n"))
        .send()
        .await
        .expect("PUT");
    assert!(
        response.status().is_success(),
        "PUT {name}: {}",
        response.status()
    );
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn event(uid: &str, start: &str, end: &str) -> CalendarEvent {
    CalendarEvent {
        uid: uid.to_owned(),
        start: utc(start),
        end: utc(end),
        summary: "Check-up: Müller, Anna".into(),
        description: "Booked by phone; caller +49 151 ***".into(),
        location: Some("Room 2".into()),
    }
}

fn spans(busy: &[BusyInterval]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    busy.iter().map(BusyInterval::range).collect()
}

const WIDE_FROM: &str = "2026-01-01T00:00:00Z";
const WIDE_TO: &str = "2027-01-01T00:00:00Z";

fn long_ago() -> DateTime<Utc> {
    utc("2000-01-01T00:00:00Z")
}
