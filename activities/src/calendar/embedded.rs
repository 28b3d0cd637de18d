//! The embedded calendar: the `appointments` table is the calendar.
//!
//! This is the default and needs nothing configured. Busy times are the agent's `booked`
//! appointments. The appointment row the booking saga records *is* the event, so
//! [`Calendar::create_event`] only validates and returns `embedded:<uid>`; overlap is enforced
//! by the database (`appointments_no_overlap`), where the saga's insert fails. Moving and
//! deleting are likewise no-ops beyond validation: the saga updates or cancels the row.

use super::{BusyInterval, Calendar, CalendarError, CalendarEvent, check_interval};
use async_trait::async_trait;
use callsaga_entity::appointments;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

/// Event ids of the embedded calendar start with this.
pub(crate) const EVENT_ID_PREFIX: &str = "embedded:";

/// The `appointments` table of one agent, as a calendar.
#[derive(Clone, Debug)]
pub struct EmbeddedCalendar {
    db: DatabaseConnection,
    agent_id: Uuid,
}

impl EmbeddedCalendar {
    pub fn new(db: DatabaseConnection, agent_id: Uuid) -> Self {
        Self { db, agent_id }
    }

    /// The event id of an event created with `uid`.
    pub fn event_id(uid: &str) -> String {
        format!("{EVENT_ID_PREFIX}{uid}")
    }
}

#[async_trait]
impl Calendar for EmbeddedCalendar {
    /// The agent's booked appointments overlapping `[from, to)`. Each interval's `event_uid` is
    /// the uid of its `embedded:<uid>` event id, else the appointment's idempotency key.
    async fn busy(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BusyInterval>, CalendarError> {
        if from >= to {
            return Ok(Vec::new());
        }
        // Booked appointments of one agent never overlap (`appointments_no_overlap`), so of
        // those starting before `from` only the latest can reach into the range. Bounding the
        // scan below by its start keeps this query's cost to the range itself, however many
        // past appointments the agent has (an index range on `(agent_id, starts_at)`, not a
        // scan of every appointment before `to`). The bound is a scalar subquery of the same
        // statement: one round trip.
        let latest_before = appointments::Entity::find()
            .select_only()
            .column(appointments::Column::StartsAt)
            .filter(appointments::Column::AgentId.eq(self.agent_id))
            .filter(appointments::Column::Status.eq("booked"))
            .filter(appointments::Column::StartsAt.lt(from))
            .order_by_desc(appointments::Column::StartsAt)
            .limit(1)
            .into_query();
        let lowest_start = Func::coalesce([Expr::from(latest_before), Expr::val(from)]);
        // Only the four columns a busy time needs: a busy fortnight is a hundred rows or more,
        // and decoding whole appointments (names, phones, notes) was most of this query's time.
        let rows: Vec<(DateTime<Utc>, DateTime<Utc>, Option<String>, String)> =
            appointments::Entity::find()
                .select_only()
                .columns([
                    appointments::Column::StartsAt,
                    appointments::Column::EndsAt,
                    appointments::Column::CalendarEventId,
                    appointments::Column::IdempotencyKey,
                ])
                .filter(appointments::Column::AgentId.eq(self.agent_id))
                .filter(appointments::Column::Status.eq("booked"))
                .filter(
                    Expr::col((appointments::Entity, appointments::Column::StartsAt))
                        .gte(lowest_start),
                )
                .filter(appointments::Column::StartsAt.lt(to))
                .filter(appointments::Column::EndsAt.gt(from))
                .order_by_asc(appointments::Column::StartsAt)
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(|e| {
                    CalendarError::Unavailable(format!("appointments query failed: {e}"))
                })?;
        Ok(rows
            .into_iter()
            .map(|(start, end, event_id, key)| BusyInterval {
                start,
                end,
                event_uid: Some(
                    event_id
                        .as_deref()
                        .and_then(|id| id.strip_prefix(EVENT_ID_PREFIX))
                        .map_or(key, str::to_owned),
                ),
            })
            .collect())
    }

    async fn create_event(&self, event: &CalendarEvent) -> Result<String, CalendarError> {
        if event.uid.trim().is_empty() {
            return Err(CalendarError::Permanent("event uid is empty".into()));
        }
        check_interval(event.start, event.end)?;
        Ok(Self::event_id(&event.uid))
    }

    async fn move_event(
        &self,
        event_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(), CalendarError> {
        if !event_id.starts_with(EVENT_ID_PREFIX) {
            return Err(CalendarError::NotFound(event_id.to_owned()));
        }
        check_interval(start, end)
    }

    async fn delete_event(&self, _event_id: &str) -> Result<(), CalendarError> {
        Ok(())
    }
}
