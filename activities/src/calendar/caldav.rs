//! CalDAV (RFC 4791) over plain HTTP(S) with `reqwest`.
//!
//! - `busy`: `REPORT` calendar-query with a time-range filter, asking the server to expand
//!   recurring events into instances (`<C:expand>`); `VEVENT` times are read with [`super::ics`]
//!   (UTC, `TZID=` local, floating and all-day values). Cancelled and transparent events do not
//!   block time.
//! - `create_event`: `PUT <calendar>/<name>.ics` with `If-None-Match: *`; `412` means the
//!   resource exists, which is success when it holds our UID (a retry), else a permanent error.
//!   The event id is the resource name inside the collection (e.g. `call-…-book.ics`).
//! - `move_event`: `GET`, rewrite the times, `PUT` with `If-Match: <etag>` (a concurrent change
//!   is `Unavailable`, so a retry starts over from a fresh `GET`).
//! - `delete_event`: `DELETE`; `404`/`410` are success.
//!
//! Creating and moving first check the busy times and answer `SlotTaken` when another event
//! (not the one with the same UID) is in the way: CalDAV servers accept overlapping events, and
//! the owner may have put something in the calendar since the caller was offered the slot.
//!
//! Errors: connection failures, timeouts (default 5 s per request), `5xx`, `408` and `429` are
//! `Unavailable`; other `4xx` are `Permanent`. The password never appears in `Debug` output or
//! logs.

use super::destination::{CalDavPolicy, is_refusal};
use super::ics;
use super::{BusyInterval, Calendar, CalendarError, CalendarEvent, check_interval};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reqwest::header::{CONTENT_TYPE, ETAG, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;
use url::Url;

/// The default timeout of one CalDAV request.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// `agents.calendar_config` for `calendar_provider = caldav`.
#[derive(Clone, Deserialize)]
pub struct CalDavConfig {
    /// The calendar collection, e.g. `https://dav.example.com/alice/calendar/`. Credentials in
    /// the URL (`https://user:pass@…`) are moved to basic auth.
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Per-request timeout in milliseconds (default 5000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl fmt::Debug for CalDavConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CalDavConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// A CalDAV calendar collection.
#[derive(Clone)]
pub struct CalDavCalendar {
    base: Url,
    username: Option<String>,
    password: Option<String>,
    timeout: Duration,
    /// The zone of floating times and all-day events (the agent's).
    tz: Tz,
    http: reqwest::Client,
    /// Largest response body read (`calendar.caldav_max_response_bytes`).
    max_response_bytes: usize,
}

impl fmt::Debug for CalDavCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CalDavCalendar")
            .field("url", &self.base.as_str())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("tz", &self.tz)
            .finish_non_exhaustive()
    }
}

impl CalDavCalendar {
    /// Validates the configuration (an `http`/`https` URL that `policy` accepts; a trailing
    /// `/` is added). `http` should be [`CalDavPolicy::client`], which also checks what names
    /// resolve to.
    pub fn new(
        config: CalDavConfig,
        tz: Tz,
        http: reqwest::Client,
        policy: &CalDavPolicy,
    ) -> Result<Self, CalendarError> {
        let bad = |why: String| CalendarError::Permanent(format!("CalDAV config: {why}"));
        let mut base =
            Url::parse(config.url.trim()).map_err(|e| bad(format!("url is not a URL ({e})")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad(format!("url must be http(s), got {:?}", base.scheme())));
        }
        policy
            .check_url(&base)
            .map_err(|why| bad(format!("url {why}")))?;
        let mut username = config.username.filter(|u| !u.is_empty());
        let mut password = config.password;
        if !base.username().is_empty() {
            let decode = |s: &str| {
                percent_decode(s).ok_or_else(|| bad("url credentials are not UTF-8".into()))
            };
            username.get_or_insert(decode(base.username())?);
            if let Some(p) = base.password() {
                password.get_or_insert(decode(p)?);
            }
            // Cannot fail for http(s) URLs.
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        Ok(Self {
            base,
            username,
            password,
            timeout: config
                .timeout_ms
                .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
            tz,
            http,
            max_response_bytes: policy.caldav_max_response_bytes,
        })
    }

    /// From the JSON in `agents.calendar_config`.
    pub fn from_json(
        config: &serde_json::Value,
        tz: Tz,
        http: reqwest::Client,
        policy: &CalDavPolicy,
    ) -> Result<Self, CalendarError> {
        let config: CalDavConfig = serde_json::from_value(config.clone())
            .map_err(|e| CalendarError::Permanent(format!("CalDAV config: {e}")))?;
        Self::new(config, tz, http, policy)
    }

    /// The response body as text, refused once it grows past `max_response_bytes`.
    async fn read_body(
        &self,
        op: &str,
        mut response: reqwest::Response,
    ) -> Result<String, CalendarError> {
        let limit = self.max_response_bytes;
        let too_large = || {
            CalendarError::Permanent(format!(
                "CalDAV {op}: response larger than {limit} bytes (calendar.caldav_max_response_bytes)"
            ))
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| request_error(op, &e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// The calendar collection URL (without credentials).
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// The resource name for an event uid: `<uid>.ics` when the uid is URL-safe, else a hash.
    pub fn resource_name(uid: &str) -> String {
        let safe = !uid.is_empty()
            && uid.len() <= 200
            && uid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
            && !uid.starts_with('.');
        if safe {
            format!("{uid}.ics")
        } else {
            format!("{}.ics", &hex::encode(Sha256::digest(uid.as_bytes()))[..40])
        }
    }

    fn event_url(&self, event_id: &str) -> Result<Url, CalendarError> {
        let valid = !event_id.is_empty()
            && !event_id.contains('/')
            && event_id != "."
            && event_id != ".."
            && !event_id.chars().any(char::is_control);
        if !valid {
            return Err(CalendarError::NotFound(event_id.to_owned()));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CalendarError::Permanent("CalDAV url cannot be a base".into()))?
            .pop_if_empty()
            .push(event_id);
        Ok(url)
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let builder = self.http.request(method, url).timeout(self.timeout);
        match &self.username {
            Some(user) => builder.basic_auth(user, self.password.as_ref()),
            None => builder,
        }
    }

    async fn send(
        &self,
        op: &str,
        builder: RequestBuilder,
    ) -> Result<reqwest::Response, CalendarError> {
        builder.send().await.map_err(|e| request_error(op, &e))
    }

    /// The events near `[from, to)` (recurrences expanded by the server). The server is asked
    /// for a day more on each side and callers filter precisely: servers disagree on floating
    /// and `TZID=` times in time-range filters (RFC 4791 reads floating times in the calendar's
    /// zone; Radicale before 3.9 compared local times as UTC when expanding).
    async fn query(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ics::EventTimes>, CalendarError> {
        let pad = chrono::Duration::days(1);
        let (start, end) = (ics::format_utc(from - pad), ics::format_utc(to + pad));
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop>
    <D:getetag/>
    <C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data>
  </D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT">
        <C:time-range start="{start}" end="{end}"/>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
"#
        );
        let report =
            Method::from_bytes(b"REPORT").map_err(|e| CalendarError::Permanent(e.to_string()))?;
        let response = self
            .send(
                "REPORT",
                self.request(report, self.base.clone())
                    .header("Depth", "1")
                    .header(CONTENT_TYPE, "application/xml; charset=utf-8")
                    .body(body),
            )
            .await?;
        let status = response.status();
        if status != StatusCode::MULTI_STATUS && !status.is_success() {
            return Err(status_error("REPORT", status));
        }
        let text = self.read_body("REPORT", response).await?;
        let mut events = Vec::new();
        for data in xml_calendar_data(&text) {
            let vevents = match ics::vevents(&data) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(calendar.url = %self.base, error = %e, "skipping unreadable calendar object");
                    continue;
                }
            };
            for vevent in vevents {
                match ics::event_times(&vevent, self.tz) {
                    Ok(times) => {
                        if times.recurring {
                            tracing::warn!(
                                calendar.url = %self.base,
                                event.uid = times.uid.as_deref().unwrap_or_default(),
                                "server did not expand a recurring event; only its first occurrence counts"
                            );
                        }
                        events.push(times);
                    }
                    Err(e) => {
                        tracing::warn!(calendar.url = %self.base, error = %e, "skipping unreadable event");
                    }
                }
            }
        }
        Ok(events)
    }

    /// Whether an event other than `own_uid` blocks any of `[start, end)`.
    async fn taken(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        own_uid: Option<&str>,
    ) -> Result<bool, CalendarError> {
        let busy = self.busy(start, end).await?;
        Ok(busy
            .iter()
            .any(|b| own_uid.is_none() || b.event_uid.as_deref() != own_uid))
    }

    /// The resource's iCalendar text and ETag; `None` when it does not exist.
    async fn get(&self, url: Url) -> Result<Option<(String, Option<HeaderValue>)>, CalendarError> {
        let response = self.send("GET", self.request(Method::GET, url)).await?;
        let status = response.status();
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(status_error("GET", status));
        }
        let etag = response.headers().get(ETAG).cloned();
        let text = self.read_body("GET", response).await?;
        Ok(Some((text, etag)))
    }
}

#[async_trait]
impl Calendar for CalDavCalendar {
    async fn busy(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BusyInterval>, CalendarError> {
        if from >= to {
            return Ok(Vec::new());
        }
        let mut busy: Vec<BusyInterval> = self
            .query(from, to)
            .await?
            .into_iter()
            .filter(|e| e.blocks() && e.start < to && from < e.end)
            .map(|e| BusyInterval {
                start: e.start,
                end: e.end,
                event_uid: e.uid,
            })
            .collect();
        busy.sort_by_key(|b| (b.start, b.end));
        busy.dedup();
        Ok(busy)
    }

    async fn create_event(&self, event: &CalendarEvent) -> Result<String, CalendarError> {
        if event.uid.trim().is_empty() {
            return Err(CalendarError::Permanent("event uid is empty".into()));
        }
        check_interval(event.start, event.end)?;
        if self.taken(event.start, event.end, Some(&event.uid)).await? {
            return Err(CalendarError::SlotTaken);
        }
        let name = Self::resource_name(&event.uid);
        let url = self.event_url(&name)?;
        let body = ics::write_event(event, Utc::now());
        let response = self
            .send(
                "PUT",
                self.request(Method::PUT, url.clone())
                    .header(IF_NONE_MATCH, "*")
                    .header(CONTENT_TYPE, "text/calendar; charset=utf-8")
                    .body(body),
            )
            .await?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!(calendar.url = %self.base, event.id = %name, "calendar event created");
            return Ok(name);
        }
        if status != StatusCode::PRECONDITION_FAILED {
            return Err(status_error("PUT", status));
        }
        // It exists: ours from an earlier attempt, or a different event under the same name.
        let Some((text, _)) = self.get(url).await? else {
            // Deleted in between: let the retry create it.
            return Err(CalendarError::Unavailable(format!(
                "event {name} vanished while being created"
            )));
        };
        let ours = ics::vevents(&text).unwrap_or_default().iter().any(|e| {
            e.value("UID")
                .map(|u| ics::unescape_text(u.trim()))
                .as_deref()
                == Some(&event.uid)
        });
        if ours {
            tracing::debug!(calendar.url = %self.base, event.id = %name, "calendar event already created");
            Ok(name)
        } else {
            Err(CalendarError::Permanent(format!(
                "calendar resource {name} exists with a different UID"
            )))
        }
    }

    async fn move_event(
        &self,
        event_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(), CalendarError> {
        check_interval(start, end)?;
        let url = self.event_url(event_id)?;
        let Some((text, etag)) = self.get(url.clone()).await? else {
            return Err(CalendarError::NotFound(event_id.to_owned()));
        };
        let uid = ics::vevents(&text).ok().and_then(|events| {
            events
                .first()
                .and_then(|e| e.value("UID").map(|u| ics::unescape_text(u.trim())))
        });
        if self.taken(start, end, uid.as_deref()).await? {
            return Err(CalendarError::SlotTaken);
        }
        let body = ics::reschedule(&text, start, end, Utc::now())
            .map_err(|e| CalendarError::Permanent(format!("event {event_id}: {e}")))?;
        let mut put = self
            .request(Method::PUT, url)
            .header(CONTENT_TYPE, "text/calendar; charset=utf-8")
            .body(body);
        if let Some(etag) = etag {
            put = put.header(IF_MATCH, etag);
        }
        let response = self.send("PUT", put).await?;
        match response.status() {
            s if s.is_success() => {
                tracing::debug!(calendar.url = %self.base, event.id = %event_id, "calendar event moved");
                Ok(())
            }
            StatusCode::PRECONDITION_FAILED => Err(CalendarError::Unavailable(format!(
                "event {event_id} changed while being moved"
            ))),
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                Err(CalendarError::NotFound(event_id.to_owned()))
            }
            s => Err(status_error("PUT", s)),
        }
    }

    async fn delete_event(&self, event_id: &str) -> Result<(), CalendarError> {
        let url = match self.event_url(event_id) {
            Ok(url) => url,
            // Not a name this calendar could hold: nothing to delete.
            Err(CalendarError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let response = self
            .send("DELETE", self.request(Method::DELETE, url))
            .await?;
        match response.status() {
            s if s.is_success() => {
                tracing::debug!(calendar.url = %self.base, event.id = %event_id, "calendar event deleted");
                Ok(())
            }
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(()),
            s => Err(status_error("DELETE", s)),
        }
    }
}

/// Network errors, timeouts and unreadable bodies are transient; a request that cannot even be
/// built is not.
fn request_error(op: &str, err: &reqwest::Error) -> CalendarError {
    let mut message = format!("CalDAV {op}: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_builder() || is_refusal(err) {
        CalendarError::Permanent(message)
    } else {
        CalendarError::Unavailable(message)
    }
}

fn status_error(op: &str, status: StatusCode) -> CalendarError {
    let message = format!("CalDAV {op}: server answered {status}");
    if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        CalendarError::Unavailable(message)
    } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        CalendarError::Permanent(format!(
            "{message} (check the calendar username and password)"
        ))
    } else {
        CalendarError::Permanent(message)
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The text of every `calendar-data` element (any namespace prefix) in a multistatus body,
/// with XML entities and CDATA sections decoded.
fn xml_calendar_data(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else { break };
        let tag = &rest[..close];
        rest = &rest[close + 1..];
        if tag.starts_with(['/', '?', '!']) || tag.ends_with('/') {
            continue;
        }
        let name = tag
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or_default();
        let local = name.rsplit(':').next().unwrap_or(name);
        if local != "calendar-data" {
            continue;
        }
        let closing = format!("</{name}");
        let Some(end) = find_closing(rest, &closing) else {
            break;
        };
        out.push(xml_text(&rest[..end]));
        rest = &rest[end..];
    }
    out
}

/// The position of the closing tag, skipping CDATA sections (which may contain anything).
fn find_closing(s: &str, closing: &str) -> Option<usize> {
    let mut offset = 0;
    loop {
        let tail = &s[offset..];
        let cdata = tail.find("<![CDATA[");
        let close = tail.find(closing)?;
        match cdata {
            Some(c) if c < close => {
                let end = tail[c..].find("]]>")?;
                offset += c + end + 3;
            }
            _ => return Some(offset + close),
        }
    }
}

fn xml_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").unwrap_or(after.len());
            out.push_str(&after[..end]);
            rest = after.get(end + 3..).unwrap_or_default();
        } else if let Some(after) = rest.strip_prefix('&') {
            let end = after.find(';').filter(|&e| e <= 10);
            let decoded = end.and_then(|e| decode_entity(&after[..e]));
            match (end, decoded) {
                (Some(e), Some(c)) => {
                    out.push(c);
                    rest = &after[e + 1..];
                }
                _ => {
                    out.push('&');
                    rest = after;
                }
            }
        } else {
            let next = rest.find(['&', '<']).unwrap_or(rest.len()).max(1);
            let next = (1..=next)
                .rev()
                .find(|&i| rest.is_char_boundary(i))
                .unwrap_or(next);
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    out
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    name.strip_prefix('#')?.parse().ok()?
                };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(url: &str) -> Result<CalDavCalendar, CalendarError> {
        CalDavCalendar::from_json(
            &serde_json::json!({ "url": url, "username": "alice", "password": "s3cret" }),
            chrono_tz::Europe::Berlin,
            reqwest::Client::new(),
            &CalDavPolicy::permissive(),
        )
    }

    #[test]
    fn config_is_validated_and_normalised() {
        let cal = calendar("http://127.0.0.1:5232/alice/cal").unwrap();
        assert_eq!(cal.url().as_str(), "http://127.0.0.1:5232/alice/cal/");
        assert!(matches!(
            calendar("ftp://x/"),
            Err(CalendarError::Permanent(_))
        ));
        assert!(matches!(
            calendar("not a url"),
            Err(CalendarError::Permanent(_))
        ));
        let err = CalDavCalendar::from_json(
            &serde_json::json!({ "username": "x" }),
            chrono_tz::UTC,
            reqwest::Client::new(),
            &CalDavPolicy::permissive(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field `url`"), "{err}");
    }

    #[test]
    fn credentials_in_the_url_move_to_basic_auth() {
        let cal = CalDavCalendar::from_json(
            &serde_json::json!({ "url": "https://bob:p%40ss@dav.example.com/bob/cal/" }),
            chrono_tz::UTC,
            reqwest::Client::new(),
            &CalDavPolicy::permissive(),
        )
        .unwrap();
        assert_eq!(cal.url().as_str(), "https://dav.example.com/bob/cal/");
        assert_eq!(cal.username.as_deref(), Some("bob"));
        assert_eq!(cal.password.as_deref(), Some("p@ss"));
    }

    #[test]
    fn the_policy_is_applied_when_a_calendar_is_opened() {
        let open = |url: &str| {
            CalDavCalendar::from_json(
                &serde_json::json!({ "url": url }),
                chrono_tz::UTC,
                reqwest::Client::new(),
                &CalDavPolicy::default(),
            )
        };
        for url in ["http://dav.example.com/cal/", "https://127.0.0.1:5232/cal/"] {
            let err = open(url).unwrap_err();
            assert!(matches!(err, CalendarError::Permanent(_)), "{url}: {err:?}");
            assert!(err.to_string().contains("url must"), "{url}: {err}");
        }
        assert!(open("https://dav.example.com/cal/").is_ok());
    }

    #[test]
    fn password_never_in_debug() {
        let cal = calendar("http://127.0.0.1:5232/alice/cal/").unwrap();
        let debug = format!("{cal:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("[redacted]"),
            "{debug}"
        );
        let config: CalDavConfig =
            serde_json::from_value(serde_json::json!({"url": "http://x/", "password": "s3cret"}))
                .unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn resource_names_and_event_urls() {
        assert_eq!(
            CalDavCalendar::resource_name("call-1_book.2@x"),
            "call-1_book.2@x.ics"
        );
        let hashed = CalDavCalendar::resource_name("a/b c");
        assert_eq!(hashed.len(), 44);
        assert_ne!(hashed, CalDavCalendar::resource_name("a/b d"));
        assert!(CalDavCalendar::resource_name(".hidden").len() == 44);
        let cal = calendar("http://127.0.0.1:5232/alice/cal/").unwrap();
        assert_eq!(
            cal.event_url("x.ics").unwrap().as_str(),
            "http://127.0.0.1:5232/alice/cal/x.ics"
        );
        for bad in ["", "../x.ics", "a/b.ics", "..", "a\nb"] {
            assert!(
                matches!(cal.event_url(bad), Err(CalendarError::NotFound(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn status_classification() {
        for s in [500, 502, 503, 504, 408, 429] {
            assert!(
                status_error("X", StatusCode::from_u16(s).unwrap()).is_transient(),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 405, 409, 415] {
            assert!(
                !status_error("X", StatusCode::from_u16(s).unwrap()).is_transient(),
                "{s}"
            );
        }
    }

    #[test]
    fn extracts_calendar_data_with_any_prefix() {
        let xml = r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
 <!-- <cal:calendar-data>not this</cal:calendar-data> -->
 <d:response><d:propstat><d:prop>
  <cal:calendar-data>BEGIN:VCALENDAR&#13;
SUMMARY:a &amp; b &lt;c&gt; &#x263A;
END:VCALENDAR</cal:calendar-data>
 </d:prop></d:propstat></d:response>
 <d:response><d:propstat><d:prop><calendar-data xmlns="urn:ietf:params:xml:ns:caldav"><![CDATA[BEGIN:VCALENDAR
X:</calendar-data> & more
END:VCALENDAR]]></calendar-data><cal:calendar-data/></d:prop></d:propstat></d:response>
</d:multistatus>"#;
        let data = xml_calendar_data(xml);
        assert_eq!(data.len(), 2, "{data:?}");
        assert_eq!(
            data[0],
            "BEGIN:VCALENDAR\r\nSUMMARY:a & b <c> ☺\nEND:VCALENDAR"
        );
        assert_eq!(
            data[1],
            "BEGIN:VCALENDAR\nX:</calendar-data> & more\nEND:VCALENDAR"
        );
        assert!(xml_calendar_data("<multistatus/>").is_empty());
        assert_eq!(xml_text("ü &bogus; &"), "ü &bogus; &");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%2").as_deref(), Some("p@ss%2"));
        assert_eq!(percent_decode("%C3%BC").as_deref(), Some("ü"));
        assert_eq!(percent_decode("%FF"), None);
    }
}
