//! Finding a caller's appointments: by id, else by their phone number (the call's
//! `customer.number` or the one they gave), name and date.

use super::context::AgentContext;
use crate::Activities;
use crate::failure::transient;
use callsaga_entity::appointments;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// Digits only, so `+49 151 …` and `0049151…` style variants compare by their tail.
pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn same_phone(a: &str, b: &str) -> bool {
    let (a, b) = (digits(a), digits(b));
    let n = a.len().min(b.len()).min(9);
    n >= 6 && a[a.len() - n..] == b[b.len() - n..]
}

fn same_name(stored: &str, asked: &str) -> bool {
    let s = stored.to_lowercase();
    asked
        .to_lowercase()
        .split_whitespace()
        .all(|part| s.contains(part))
}

/// Booked appointments of this agent from `from` on that match the caller.
pub(crate) async fn caller_appointments(
    deps: &Activities,
    ctx: &AgentContext,
    phone: Option<&str>,
    name: Option<&str>,
    from: DateTime<Utc>,
) -> Result<Vec<appointments::Model>, ActivityError> {
    let rows = appointments::Entity::find()
        .filter(appointments::Column::AgentId.eq(ctx.agent.id))
        .filter(appointments::Column::Status.eq("booked"))
        .filter(appointments::Column::StartsAt.gte(from))
        .order_by_asc(appointments::Column::StartsAt)
        .all(&deps.db)
        .await
        .map_err(transient)?;
    Ok(rows
        .into_iter()
        .filter(|a| match (phone, a.customer_phone.as_deref()) {
            (Some(p), Some(stored)) if same_phone(p, stored) => true,
            _ => name.is_some_and(|n| same_name(&a.customer_name, n)),
        })
        .collect())
}

/// The one appointment a reschedule or cancel is about.
pub(crate) enum Found {
    One(Box<appointments::Model>),
    None,
    Several(usize),
}

pub(crate) async fn the_appointment(
    deps: &Activities,
    ctx: &AgentContext,
    appointment_id: Option<&str>,
    phone: Option<&str>,
    name: Option<&str>,
    on_date: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<Found, ActivityError> {
    if let Some(id) = appointment_id.and_then(|s| Uuid::parse_str(s.trim()).ok()) {
        let row = appointments::Entity::find_by_id(id)
            .filter(appointments::Column::AgentId.eq(ctx.agent.id))
            .filter(Condition::all().add(appointments::Column::Status.eq("booked")))
            .one(&deps.db)
            .await
            .map_err(transient)?;
        return Ok(row.map_or(Found::None, |r| Found::One(Box::new(r))));
    }
    let mut rows = caller_appointments(deps, ctx, phone, name, now).await?;
    if let Some(date) = on_date {
        rows.retain(|a| a.starts_at.with_timezone(&ctx.tz).date_naive() == date);
    }
    Ok(match rows.len() {
        0 => Found::None,
        1 => Found::One(Box::new(rows.remove(0))),
        n => Found::Several(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_compare_by_their_tail() {
        assert!(same_phone("+49 151 1234 5678", "015112345678"));
        assert!(!same_phone("+4915112345678", "+4915112345679"));
        assert!(!same_phone("123", "123"), "too short to be sure");
    }

    #[test]
    fn names_match_by_parts() {
        assert!(same_name("Jürgen Größer", "jürgen"));
        assert!(same_name("Jürgen Größer", "Größer Jürgen"));
        assert!(!same_name("Jürgen Größer", "Anna"));
    }
}
