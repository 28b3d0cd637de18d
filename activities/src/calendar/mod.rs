//! The agent's calendar, behind one object-safe trait so the booking sagas do not care where
//! appointments live, and tests can swap a real local CalDAV server for the owner's.
//!
//! [`calendar_for`] picks the implementation from `agents.calendar_provider`:
//! - `embedded` (the default): the `appointments` table is the calendar ([`EmbeddedCalendar`]);
//! - `caldav`: any CalDAV server, configured by `agents.calendar_config`
//!   (`{"url": "https://host/user/calendar/", "username": "…", "password": "…"}`,
//!   [`CalDavCalendar`]);
//! - `none`: the agent takes no bookings; asking for its calendar is a permanent error.
//!
//! Errors are classified for Temporal ([`CalendarError::is_transient`]): a calendar that is
//! down or slow is retried; a taken slot, a missing event or a bad configuration is not.

mod caldav;
pub mod destination;
mod embedded;
pub mod ics;

pub use caldav::{CalDavCalendar, CalDavConfig};
pub use destination::CalDavPolicy;
pub use embedded::EmbeddedCalendar;

use crate::availability::parse_timezone;
use crate::failure::{permanent, transient};
use async_trait::async_trait;
use callsaga_entity::agents;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use temporalio_sdk::activities::ActivityError;

/// A time the calendar is busy, `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyInterval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The UID of the event that makes it busy, when known: lets a reschedule ignore the
    /// appointment being moved.
    pub event_uid: Option<String>,
}

impl BusyInterval {
    pub fn range(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.start, self.end)
    }
}

/// The busy intervals as the `(start, end)` pairs [`crate::availability::free_slots`] takes,
/// leaving out those of the event `except_uid` (the one being rescheduled).
pub fn busy_ranges(
    busy: &[BusyInterval],
    except_uid: Option<&str>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    busy.iter()
        .filter(|b| except_uid.is_none() || b.event_uid.as_deref() != except_uid)
        .map(BusyInterval::range)
        .collect()
}

/// An appointment as a calendar event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEvent {
    /// Stable and unique per booking (derive it from the workflow id and step): creating the
    /// same uid twice gives one event.
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
}

/// Why a calendar operation failed, classified for retries.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Transient: network error, timeout, 5xx, 429, database busy. Temporal retries.
    #[error("calendar unavailable: {0}")]
    Unavailable(String),
    /// The time is already taken in the calendar.
    #[error("the time is already taken in the calendar")]
    SlotTaken,
    /// The event does not exist (any more).
    #[error("calendar event {0} not found")]
    NotFound(String),
    /// Retrying cannot help: 4xx, bad configuration, invalid input.
    #[error("calendar error: {0}")]
    Permanent(String),
}

impl CalendarError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The activity error for Temporal: transient errors stay retryable; the others become
    /// non-retryable application failures named by [`CalendarError::type_name`]. Use this rather
    /// than `?`, whose blanket conversion would make every error retryable.
    pub fn into_activity_error(self) -> ActivityError {
        if self.is_transient() {
            transient(anyhow::Error::new(self))
        } else {
            permanent(self.type_name(), self.to_string())
        }
    }

    /// The application-failure type name a workflow matches on.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "CalendarUnavailable",
            Self::SlotTaken => "SlotTaken",
            Self::NotFound(_) => "CalendarEventNotFound",
            Self::Permanent(_) => "CalendarError",
        }
    }
}

/// A calendar the agent books into. Object safe: use as `Arc<dyn Calendar>`.
#[async_trait]
pub trait Calendar: Send + Sync {
    /// Busy intervals overlapping `[from, to)`, sorted by start.
    async fn busy(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BusyInterval>, CalendarError>;

    /// Creates an event and returns its id. Idempotent on `event.uid`: a retry with the same
    /// uid returns the same id and leaves one event. `SlotTaken` when another event is in the
    /// way (where the calendar can tell).
    async fn create_event(&self, event: &CalendarEvent) -> Result<String, CalendarError>;

    /// Moves an event to `[start, end)`. `NotFound` when it does not exist.
    async fn move_event(
        &self,
        event_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(), CalendarError>;

    /// Deletes an event. Idempotent: deleting a missing event is `Ok`.
    async fn delete_event(&self, event_id: &str) -> Result<(), CalendarError>;
}

/// The calendar of `agent`, from its `calendar_provider` and `calendar_config`. `http` is the
/// shared client (each request gets its own timeout), built by [`CalDavPolicy::client`].
pub fn calendar_for(
    agent: &agents::Model,
    db: DatabaseConnection,
    http: reqwest::Client,
    policy: &CalDavPolicy,
) -> Result<Arc<dyn Calendar>, CalendarError> {
    match agent.calendar_provider.trim() {
        "embedded" | "" => Ok(Arc::new(EmbeddedCalendar::new(db, agent.id))),
        "caldav" => {
            let config = agent.calendar_config.as_ref().ok_or_else(|| {
                CalendarError::Permanent(format!(
                    "agent {} uses CalDAV but has no calendar_config",
                    agent.id
                ))
            })?;
            let tz = parse_timezone(&agent.timezone)
                .map_err(|e| CalendarError::Permanent(format!("agent {}: {e}", agent.id)))?;
            Ok(Arc::new(CalDavCalendar::from_json(
                config, tz, http, policy,
            )?))
        }
        "none" => Err(CalendarError::Permanent(format!(
            "agent {} has no calendar (calendar_provider = none)",
            agent.id
        ))),
        other => Err(CalendarError::Permanent(format!(
            "agent {}: unknown calendar_provider {other:?} (expected embedded, caldav or none)",
            agent.id
        ))),
    }
}

/// Rejects an empty or reversed interval.
fn check_interval(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), CalendarError> {
    if start < end {
        Ok(())
    } else {
        Err(CalendarError::Permanent(format!(
            "event must end after it starts ({start} .. {end})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(CalendarError::Unavailable("x".into()).is_transient());
        for e in [
            CalendarError::SlotTaken,
            CalendarError::NotFound("e".into()),
            CalendarError::Permanent("p".into()),
        ] {
            assert!(!e.is_transient());
        }
        assert_eq!(CalendarError::SlotTaken.type_name(), "SlotTaken");
    }

    #[test]
    fn busy_ranges_can_skip_the_moving_event() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let busy = [
            BusyInterval {
                start: t("2026-11-24T08:00:00Z"),
                end: t("2026-11-24T08:30:00Z"),
                event_uid: Some("mine".into()),
            },
            BusyInterval {
                start: t("2026-11-24T09:00:00Z"),
                end: t("2026-11-24T09:30:00Z"),
                event_uid: None,
            },
        ];
        assert_eq!(busy_ranges(&busy, None).len(), 2);
        assert_eq!(
            busy_ranges(&busy, Some("mine")),
            [(t("2026-11-24T09:00:00Z"), t("2026-11-24T09:30:00Z"))]
        );
    }
}
