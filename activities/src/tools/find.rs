//! Finding the caller's own appointments. A caller with a verified number finds only those
//! booked from it ([`Caller::owns`]); the appointment id, the name and the date only choose
//! among them. A caller whose number is withheld finds one appointment by its id *and* the exact
//! name it was booked under, and never a list. Someone else's appointment is not found, in the
//! same words as one that does not exist.

use super::caller::{Caller, same_name};
use super::context::AgentContext;
use crate::Activities;
use crate::failure::transient;
use callsaga_entity::appointments;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// Booked appointments of this agent from `from` on, booked from `caller`'s number (under
/// exactly `name`, when given). Empty for a withheld number.
pub(crate) async fn caller_appointments(
    deps: &Activities,
    ctx: &AgentContext,
    caller: &Caller,
    name: Option<&str>,
    from: DateTime<Utc>,
) -> Result<Vec<appointments::Model>, ActivityError> {
    if caller.number().is_none() {
        return Ok(Vec::new());
    }
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
        .filter(|a| caller.owns(a) && name.is_none_or(|n| same_name(&a.customer_name, n)))
        .collect())
}

/// The one appointment a reschedule or cancel is about.
pub(crate) enum Found {
    One(Box<appointments::Model>),
    None,
    Several(usize),
    /// The number is withheld and the id or the name is missing.
    NeedIdAndName,
}

/// What the caller said about the appointment they mean.
pub(crate) struct Wanted<'a> {
    pub(crate) appointment_id: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
    pub(crate) on_date: Option<NaiveDate>,
}

pub(crate) async fn the_appointment(
    deps: &Activities,
    ctx: &AgentContext,
    caller: &Caller,
    wanted: &Wanted<'_>,
    now: DateTime<Utc>,
) -> Result<Found, ActivityError> {
    let on_date = |a: &appointments::Model| {
        wanted
            .on_date
            .is_none_or(|d| a.starts_at.with_timezone(&ctx.tz).date_naive() == d)
    };
    let named =
        |a: &appointments::Model| wanted.name.is_none_or(|n| same_name(&a.customer_name, n));
    if *caller == Caller::Withheld {
        let (Some(id), Some(_)) = (wanted.appointment_id, wanted.name) else {
            return Ok(Found::NeedIdAndName);
        };
        let row = by_id(deps, ctx, id).await?;
        return Ok(one_if(row, |a| named(a) && on_date(a)));
    }
    // An id the model made up ("the one on Tuesday") is no id; the rest still chooses.
    if let Some(id) = wanted
        .appointment_id
        .filter(|s| Uuid::parse_str(s.trim()).is_ok())
    {
        let row = by_id(deps, ctx, id).await?;
        return Ok(one_if(row, |a| caller.owns(a) && named(a) && on_date(a)));
    }
    let mut rows = caller_appointments(deps, ctx, caller, wanted.name, now).await?;
    rows.retain(on_date);
    Ok(match rows.len() {
        0 => Found::None,
        1 => Found::One(Box::new(rows.remove(0))),
        n => Found::Several(n),
    })
}

fn one_if(row: Option<appointments::Model>, keep: impl Fn(&appointments::Model) -> bool) -> Found {
    match row {
        Some(a) if keep(&a) => Found::One(Box::new(a)),
        _ => Found::None,
    }
}

/// This agent's booked appointment with the id `raw`, if it is one.
async fn by_id(
    deps: &Activities,
    ctx: &AgentContext,
    raw: &str,
) -> Result<Option<appointments::Model>, ActivityError> {
    let Ok(id) = Uuid::parse_str(raw.trim()) else {
        return Ok(None);
    };
    appointments::Entity::find_by_id(id)
        .filter(appointments::Column::AgentId.eq(ctx.agent.id))
        .filter(appointments::Column::Status.eq("booked"))
        .one(&deps.db)
        .await
        .map_err(transient)
}
