//! Read-only tools: check_availability, find_next_available, list_appointments (and a polite
//! answer for tools we do not know).

use super::args::Args;
use super::context::AgentContext;
use crate::Activities;
use crate::availability::{
    NEXT_AVAILABLE_DAYS, free_slots, local_date, next_available, search_range, speak_date,
    speak_slots, speak_time,
};
use crate::calendar::busy_ranges;
use callsaga_workflows::tool_payloads::{Speech, ToolInput};
use chrono::{Duration, Utc};
use temporalio_sdk::activities::ActivityError;

fn said(text: String) -> Speech {
    Speech {
        text,
        is_error: false,
    }
}

fn clarify(text: String) -> Speech {
    Speech {
        text,
        is_error: true,
    }
}

pub(crate) async fn answer(deps: &Activities, input: &ToolInput) -> Result<Speech, ActivityError> {
    let ctx = AgentContext::for_tool(deps, input).await?;
    if let Some(why) = &input.request.arguments_error {
        tracing::info!(tool = %input.request.name, reason = %why, "unreadable tool arguments");
        return Ok(clarify(ctx.say(
            "Sorry, I didn't get that. Could you say it again?",
            "Entschuldigung, das habe ich nicht verstanden. Können Sie das noch einmal sagen?",
        )));
    }
    match input.request.name.as_str() {
        "check_availability" | "find_next_available" if !ctx.has_calendar() => Ok(clarify(ctx.say(
            "I can't look at the calendar for this practice. A colleague will call you back to find a time.",
            "Ich habe leider keinen Zugriff auf den Kalender. Ein Kollege ruft Sie zurück, um einen Termin zu finden.",
        ))),
        "check_availability" => availability(deps, &ctx, input, false).await,
        "find_next_available" => availability(deps, &ctx, input, true).await,
        "list_appointments" => list(deps, &ctx, input).await,
        "check_operator_availability" => operator_availability(deps, &ctx).await,
        other => {
            tracing::warn!(tool = %other, "unknown tool called");
            Ok(clarify(ctx.say(
                "Sorry, I can't do that here.",
                "Das kann ich hier leider nicht erledigen.",
            )))
        }
    }
}

/// Free slots on the asked day, or on the next day with free slots within 14 days.
pub(crate) async fn availability(
    deps: &Activities,
    ctx: &AgentContext,
    input: &ToolInput,
    next: bool,
) -> Result<Speech, ActivityError> {
    let now = Utc::now();
    let today = local_date(ctx.tz, now);
    let args = Args::new(&input.request.arguments, ctx, today);
    let parsed = (|| {
        let date = if next {
            args.opt_date("afterDate")?.unwrap_or(today)
        } else {
            args.date("date")?
        };
        Ok::<_, String>((date.max(today), args.time_of_day()?, args.duration()?))
    })();
    let (date, time_of_day, duration) = match parsed {
        Ok(p) => p,
        Err(text) => return Ok(clarify(text)),
    };
    Ok(said(
        slots_text(deps, ctx, date, time_of_day, duration, now, !next).await?,
    ))
}

/// "I have 9:00, 9:30 … free on Tuesday" for `date`, or the next free day within 14 days.
/// Usually the asked day has a free slot, and then only that day's busy times are read; the
/// fortnight's only when it has none (a busy calendar holds ten times the rows).
pub(crate) async fn slots_text(
    deps: &Activities,
    ctx: &AgentContext,
    date: chrono::NaiveDate,
    time_of_day: Option<crate::availability::TimeOfDay>,
    duration: u32,
    now: chrono::DateTime<Utc>,
    mention_full_day: bool,
) -> Result<String, ActivityError> {
    let day_busy = busy_over(deps, ctx, date, 1, None).await?;
    let slots = free_slots(
        &ctx.hours,
        ctx.tz,
        date,
        duration,
        &day_busy,
        time_of_day,
        now,
    );
    if !slots.is_empty() {
        return Ok(speak_slots(ctx.lang, date, &slots));
    }
    let busy = busy_from(deps, ctx, date, None).await?;
    Ok(speak_next_available(
        ctx,
        date,
        &busy,
        time_of_day,
        duration,
        now,
        mention_full_day,
    ))
}

/// The calendar's busy times from `date` over the 14 days the next-available search covers
/// (`except_uid`: an event to ignore, the one being moved).
pub(crate) async fn busy_from(
    deps: &Activities,
    ctx: &AgentContext,
    date: chrono::NaiveDate,
    except_uid: Option<&str>,
) -> Result<Vec<Busy>, ActivityError> {
    busy_over(deps, ctx, date, NEXT_AVAILABLE_DAYS, except_uid).await
}

/// The calendar's busy times over `days` local days from `date`, without `except_uid`.
pub(crate) async fn busy_over(
    deps: &Activities,
    ctx: &AgentContext,
    date: chrono::NaiveDate,
    days: u32,
    except_uid: Option<&str>,
) -> Result<Vec<Busy>, ActivityError> {
    let (from, to) = search_range(ctx.tz, date, days);
    let busy = ctx
        .calendar(deps)?
        .busy(from, to)
        .await
        .map_err(|e| e.into_activity_error())?;
    Ok(busy_ranges(&busy, except_uid))
}

/// What [`slots_text`] says, from busy times already fetched (covering `date` and the 13 days
/// after it).
pub(crate) fn speak_next_available(
    ctx: &AgentContext,
    date: chrono::NaiveDate,
    busy: &[Busy],
    time_of_day: Option<crate::availability::TimeOfDay>,
    duration: u32,
    now: chrono::DateTime<Utc>,
    mention_full_day: bool,
) -> String {
    let found = next_available(&ctx.hours, ctx.tz, date, duration, busy, time_of_day, now);
    match found {
        Some(day) if day.date == date => speak_slots(ctx.lang, day.date, &day.slots),
        Some(day) => {
            let slots = speak_slots(ctx.lang, day.date, &day.slots);
            if mention_full_day {
                format!(
                    "{} {slots}",
                    ctx.say(
                        &format!("{} is fully booked.", speak_date(ctx.lang, date)),
                        &format!("Am {} ist leider alles belegt.", speak_date(ctx.lang, date)),
                    )
                )
            } else {
                slots
            }
        }
        None => ctx.say(
            "I'm sorry, there are no free appointments in the next two weeks. A colleague can call you back.",
            "Leider gibt es in den nächsten zwei Wochen keine freien Termine. Ein Kollege kann Sie zurückrufen.",
        ),
    }
}

/// A busy time range.
pub(crate) type Busy = (chrono::DateTime<Utc>, chrono::DateTime<Utc>);

async fn list(
    deps: &Activities,
    ctx: &AgentContext,
    input: &ToolInput,
) -> Result<Speech, ActivityError> {
    let now = Utc::now();
    let args = Args::new(&input.request.arguments, ctx, local_date(ctx.tz, now));
    let from = match args.opt_date("fromDate") {
        Ok(d) => d.map_or(now, |d| {
            search_range(ctx.tz, d, 1).0.max(now - Duration::hours(1))
        }),
        Err(text) => return Ok(clarify(text)),
    };
    // Only the call's verified number says whose appointments these are; `customerPhone` is
    // whatever the caller told the model.
    let caller = super::caller::Caller::of(&input.request);
    if caller.number().is_none() {
        return Ok(clarify(ctx.say(
            "Your number is withheld, so I can't look up appointments. Please call from the number you booked with.",
            "Ihre Nummer ist unterdrückt, daher kann ich keine Termine nachsehen. Bitte rufen Sie von der Nummer an, mit der Sie gebucht haben.",
        )));
    }
    let name = args.text("customerName");
    let rows = super::find::caller_appointments(deps, ctx, &caller, name.as_deref(), from).await?;
    if rows.is_empty() {
        return Ok(said(ctx.say(
            "I couldn't find any upcoming appointments booked from the number you're calling from.",
            "Ich habe keine anstehenden Termine gefunden, die von Ihrer Nummer aus gebucht wurden.",
        )));
    }
    let spoken: Vec<String> = rows
        .iter()
        .take(5)
        .map(|a| {
            let local = a.starts_at.with_timezone(&ctx.tz);
            format!(
                "{} {} {}",
                speak_date(ctx.lang, local.date_naive()),
                ctx.say("at", "um"),
                speak_time(ctx.lang, local.time())
            )
        })
        .collect();
    Ok(said(match ctx.lang {
        crate::availability::Language::De => {
            format!("Sie haben {} Termin(e): {}.", rows.len(), spoken.join("; "))
        }
        crate::availability::Language::En => {
            format!(
                "You have {} appointment(s): {}.",
                rows.len(),
                spoken.join("; ")
            )
        }
    }))
}

/// check_operator_availability: the same rules escalate_to_human uses.
async fn operator_availability(
    deps: &Activities,
    ctx: &AgentContext,
) -> Result<Speech, ActivityError> {
    use crate::call_end::escalation_rules::{CallbackWhy, Route};
    let (route, _) = crate::call_end::escalation::route_now(deps, ctx).await?;
    Ok(said(match route {
        Route::Transfer { .. } => ctx.say(
            "Yes, a colleague is available now. Shall I connect you?",
            "Ja, ein Kollege ist gerade erreichbar. Soll ich Sie verbinden?",
        ),
        Route::Callback {
            why: CallbackWhy::AfterHours,
        } => ctx.say(
            "Our team isn't available right now, but I can arrange a callback.",
            "Unser Team ist gerade nicht erreichbar, aber ich kann einen Rückruf veranlassen.",
        ),
        Route::Callback { .. } => ctx.say(
            "I can't connect you to a colleague directly, but I can arrange a callback.",
            "Ich kann Sie nicht direkt verbinden, aber ich kann einen Rückruf veranlassen.",
        ),
    }))
}
