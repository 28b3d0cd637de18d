//! The planning step of each appointment saga: read the arguments, find what they refer to,
//! check the slot against the calendar, and decide — with everything the later steps will say.
//! No effects, so no compensation.

use super::answer::{Busy, busy_from, busy_over, slots_text, speak_next_available};
use super::args::Args;
use super::caller::Caller;
use super::context::AgentContext;
use super::find::{Found, Wanted, the_appointment};
use crate::Activities;
use crate::availability::{
    Language, free_slots, local_date, parse_slot_id, speak_date, speak_time,
};
use callsaga_workflows::tool_payloads::{
    BookingPlan, CancelPlan, EmailDraft, Planned, ReschedulePlan, ToolInput, booking_key,
};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use temporalio_sdk::activities::ActivityError;

fn say<T>(text: String) -> Planned<T> {
    Planned::Say {
        text,
        is_error: false,
    }
}

fn clarify<T>(text: String) -> Planned<T> {
    Planned::Say {
        text,
        is_error: true,
    }
}

fn no_calendar<T>(ctx: &AgentContext) -> Planned<T> {
    clarify(ctx.say(
        "I can't manage appointments here. A colleague will call you back.",
        "Termine kann ich hier leider nicht verwalten. Ein Kollege ruft Sie zurück.",
    ))
}

/// "Tuesday, November 24 at 10:00" in the agent's language and time zone.
pub(super) fn when(ctx: &AgentContext, start: DateTime<Utc>) -> String {
    let local = start.with_timezone(&ctx.tz);
    format!(
        "{} {} {}",
        speak_date(ctx.lang, local.date_naive()),
        ctx.say("at", "um"),
        speak_time(ctx.lang, local.time())
    )
}

/// The requested slot as instants, if it is free and within opening hours.
enum SlotCheck {
    /// Free: its start and end, and that day's busy times (for the alternatives the saga may
    /// need to offer, see [`alternatives_if_taken`]).
    Free(DateTime<Utc>, DateTime<Utc>, Vec<Busy>),
    Unavailable(String),
}

/// What the caller hears if the free slot `taken` is taken by someone else before the booking
/// is recorded, from its day's busy times (`day_busy`) and any other time to leave out
/// (`also`). Usually the day keeps other free slots and those are the answer; only when `taken`
/// was its last one are the 14 days the next-available search covers read (`except_uid`: the
/// event being booked or moved).
async fn alternatives_if_taken(
    deps: &Activities,
    ctx: &AgentContext,
    taken: Busy,
    day_busy: Vec<Busy>,
    also: Option<Busy>,
    except_uid: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, ActivityError> {
    let date = local_date(ctx.tz, taken.0);
    let duration = u32::try_from((taken.1 - taken.0).num_minutes()).unwrap_or(0);
    let mut busy = day_busy;
    busy.extend(also);
    let without_it = [busy.as_slice(), &[taken]].concat();
    let day_keeps_a_slot =
        !free_slots(&ctx.hours, ctx.tz, date, duration, &without_it, None, now).is_empty();
    if !day_keeps_a_slot {
        busy = busy_from(deps, ctx, date, except_uid).await?;
        busy.extend(also);
    }
    Ok(alternatives_from(ctx, date, taken, &busy, duration, now))
}

/// [`alternatives_if_taken`] from busy times already fetched (covering `date`, and the 13 days
/// after it unless `date` keeps a free slot).
fn alternatives_from(
    ctx: &AgentContext,
    date: NaiveDate,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    busy: &[Busy],
    duration: u32,
    now: DateTime<Utc>,
) -> String {
    let mut busy = busy.to_vec();
    busy.push((start, end));
    speak_next_available(ctx, date, &busy, None, duration, now, true)
}

async fn check_slot(
    deps: &Activities,
    ctx: &AgentContext,
    date: NaiveDate,
    time: NaiveTime,
    duration: u32,
    except_uid: Option<&str>,
) -> Result<SlotCheck, ActivityError> {
    let now = Utc::now();
    let Some(start) = ctx.tz.from_local_datetime(&date.and_time(time)).earliest() else {
        return Ok(SlotCheck::Unavailable(ctx.say(
            "That time doesn't exist on that day because of the clock change.",
            "Diese Uhrzeit gibt es an dem Tag wegen der Zeitumstellung nicht.",
        )));
    };
    let start = start.with_timezone(&Utc);
    let busy = busy_over(deps, ctx, date, 1, except_uid).await?;
    let slots = free_slots(&ctx.hours, ctx.tz, date, duration, &busy, None, now);
    if let Some(slot) = slots.iter().find(|s| s.start == start) {
        return Ok(SlotCheck::Free(slot.start, slot.end, busy));
    }
    let intro = ctx.say(
        &format!("I'm sorry, {} is not available.", when(ctx, start)),
        &format!("{} ist leider nicht frei.", when(ctx, start)),
    );
    let others = slots_text(
        deps,
        ctx,
        date.max(local_date(ctx.tz, now)),
        None,
        duration,
        now,
        true,
    )
    .await?;
    Ok(SlotCheck::Unavailable(format!("{intro} {others}")))
}

fn plausible_email(s: &str) -> bool {
    let s = s.trim();
    s.len() <= 254
        && !s.contains(char::is_whitespace)
        && s.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

pub(crate) async fn booking(
    deps: &Activities,
    input: &ToolInput,
) -> Result<Planned<BookingPlan>, ActivityError> {
    Ok(booking_on(deps, input).await?.0)
}

/// The booking plan, and whether the agent's calendar is the embedded one (where recording
/// the appointment is creating the event).
pub(crate) async fn booking_on(
    deps: &Activities,
    input: &ToolInput,
) -> Result<(Planned<BookingPlan>, bool), ActivityError> {
    let ctx = AgentContext::for_tool(deps, input).await?;
    let embedded = ctx.agent.calendar_provider == "embedded";
    Ok((booking_for(deps, input, &ctx).await?, embedded))
}

async fn booking_for(
    deps: &Activities,
    input: &ToolInput,
    ctx: &AgentContext,
) -> Result<Planned<BookingPlan>, ActivityError> {
    if !ctx.has_calendar() {
        return Ok(no_calendar(ctx));
    }
    if input.request.arguments_error.is_some() {
        return Ok(clarify(ctx.say(
            "Sorry, I didn't get the details. Could you repeat the day and time?",
            "Entschuldigung, das habe ich nicht verstanden. Können Sie Tag und Uhrzeit wiederholen?",
        )));
    }
    let now = Utc::now();
    let args = Args::new(&input.request.arguments, ctx, local_date(ctx.tz, now));
    let parsed = (|| {
        let duration = args.duration()?;
        let (date, time, duration) = match args.text("slotId").and_then(|id| parse_slot_id(&id)) {
            Some((start, minutes)) => {
                let local = start.with_timezone(&ctx.tz);
                (local.date_naive(), local.time(), minutes)
            }
            None => (args.date("date")?, args.time("startTime")?, duration),
        };
        let name = args.text("customerName").ok_or_else(|| {
            ctx.say(
                "May I have your name for the appointment?",
                "Auf welchen Namen darf ich den Termin eintragen?",
            )
        })?;
        let phone = args
            .text("customerPhone")
            .or(input.request.customer_number.clone());
        let email = args.text("customerEmail");
        if let Some(e) = &email
            && !plausible_email(e)
        {
            return Err(ctx.say(
                "Sorry, that email address doesn't look right. Could you spell it for me?",
                "Die E-Mail-Adresse scheint nicht zu stimmen. Können Sie sie mir buchstabieren?",
            ));
        }
        Ok::<_, String>((date, time, duration, name, phone, email, args.text("notes")))
    })();
    let (date, time, duration, name, phone, email, notes) = match parsed {
        Ok(p) => p,
        Err(text) => return Ok(clarify(text)),
    };
    let key = booking_key(&input.workflow_id, &input.request.tool_call_id);
    // This booking's own event does not make its slot busy: a retry after recording it.
    let own = Some(key.as_str());
    let (start, end, busy) = match check_slot(deps, ctx, date, time, duration, own).await? {
        SlotCheck::Free(s, e, busy) => (s, e, busy),
        SlotCheck::Unavailable(text) => return Ok(say(text)),
    };
    let at = when(ctx, start);
    let business = ctx.agent.business_name.clone();
    let confirmation = ctx.say(
        &format!("Your appointment on {at} is booked, {name}."),
        &format!("Ihr Termin am {at} ist gebucht, {name}."),
    );
    let taken_others = alternatives_if_taken(deps, ctx, (start, end), busy, None, own, now).await?;
    let slot_taken = ctx.say(
        &format!("I'm sorry, {at} was just taken. {taken_others}"),
        &format!("Der Termin am {at} wurde leider gerade vergeben. {taken_others}"),
    );
    let email_draft = email.clone().map(|to| EmailDraft {
        to,
        subject: ctx.say(
            &format!("Your appointment at {business}"),
            &format!("Ihr Termin bei {business}"),
        ),
        text: ctx.say(
            &format!(
                "Hello {name},\n\nyour appointment at {business} on {at} ({}) is confirmed.\n",
                ctx.agent.timezone
            ),
            &format!(
                "Hallo {name},\n\nIhr Termin bei {business} am {at} ({}) ist bestätigt.\n",
                ctx.agent.timezone
            ),
        ),
    });
    Ok(Planned::Go(BookingPlan {
        agent_id: ctx.agent.id.to_string(),
        key,
        start: start.to_rfc3339(),
        end: end.to_rfc3339(),
        timezone: ctx.agent.timezone.clone(),
        customer_name: name.clone(),
        customer_phone: phone,
        caller_number: Caller::of(&input.request).number().map(str::to_owned),
        customer_email: email,
        notes,
        event_summary: format!("{name} ({business})"),
        event_description: format!(
            "Booked by phone through callsaga, call {}",
            input.vapi_call_id
        ),
        confirmation,
        slot_taken,
        email: email_draft,
    }))
}

pub(crate) async fn reschedule(
    deps: &Activities,
    input: &ToolInput,
) -> Result<Planned<ReschedulePlan>, ActivityError> {
    let ctx = AgentContext::for_tool(deps, input).await?;
    if !ctx.has_calendar() {
        return Ok(no_calendar(&ctx));
    }
    let now = Utc::now();
    let args = Args::new(&input.request.arguments, &ctx, local_date(ctx.tz, now));
    let parsed = (|| {
        Ok::<_, String>((
            args.date("newDate")?,
            args.time("newStartTime")?,
            args.opt_date("originalDate")?,
        ))
    })();
    let (date, time, original) = match parsed {
        Ok(p) => p,
        Err(text) => return Ok(clarify(text)),
    };
    let appointment = match find(deps, &ctx, input, &args, original, now).await? {
        Ok(a) => a,
        Err(text) => return Ok(say(text)),
    };
    let duration = u32::try_from((appointment.ends_at - appointment.starts_at).num_minutes())
        .unwrap_or_else(|_| ctx.duration_minutes());
    let own_uid = appointment.idempotency_key.clone();
    let (start, end, busy) =
        match check_slot(deps, &ctx, date, time, duration, Some(&own_uid)).await? {
            SlotCheck::Free(s, e, busy) => (s, e, busy),
            SlotCheck::Unavailable(text) => return Ok(say(text)),
        };
    let (old_at, new_at) = (when(&ctx, appointment.starts_at), when(&ctx, start));
    // If the new time is taken meanwhile, the appointment stays where it is: its own time is
    // not an alternative.
    let others = alternatives_if_taken(
        deps,
        &ctx,
        (start, end),
        busy,
        Some((appointment.starts_at, appointment.ends_at)),
        Some(&own_uid),
        now,
    )
    .await?;
    let email = appointment.customer_email.clone().map(|to| EmailDraft {
        to,
        subject: ctx.say("Your appointment was moved", "Ihr Termin wurde verschoben"),
        text: ctx.say(
            &format!(
                "Hello {},\n\nyour appointment on {old_at} was moved to {new_at}.\n",
                appointment.customer_name
            ),
            &format!(
                "Hallo {},\n\nIhr Termin am {old_at} wurde auf {new_at} verschoben.\n",
                appointment.customer_name
            ),
        ),
    });
    Ok(Planned::Go(ReschedulePlan {
        agent_id: ctx.agent.id.to_string(),
        appointment_id: appointment.id.to_string(),
        event_id: appointment.calendar_event_id.clone(),
        old_start: appointment.starts_at.to_rfc3339(),
        old_end: appointment.ends_at.to_rfc3339(),
        new_start: start.to_rfc3339(),
        new_end: end.to_rfc3339(),
        confirmation: ctx.say(
            &format!("Done: your appointment is moved from {old_at} to {new_at}."),
            &format!("Erledigt: Ihr Termin ist von {old_at} auf {new_at} verschoben."),
        ),
        slot_taken: ctx.say(
            &format!("I'm sorry, {new_at} was just taken. {others}"),
            &format!("{new_at} wurde leider gerade vergeben. {others}"),
        ),
        email,
    }))
}

pub(crate) async fn cancel(
    deps: &Activities,
    input: &ToolInput,
) -> Result<Planned<CancelPlan>, ActivityError> {
    let ctx = AgentContext::for_tool(deps, input).await?;
    if !ctx.has_calendar() {
        return Ok(no_calendar(&ctx));
    }
    let now = Utc::now();
    let args = Args::new(&input.request.arguments, &ctx, local_date(ctx.tz, now));
    let date = match args.opt_date("date") {
        Ok(d) => d,
        Err(text) => return Ok(clarify(text)),
    };
    let appointment = match find(deps, &ctx, input, &args, date, now).await? {
        Ok(a) => a,
        Err(text) => return Ok(say(text)),
    };
    let at = when(&ctx, appointment.starts_at);
    let email = appointment.customer_email.clone().map(|to| EmailDraft {
        to,
        subject: ctx.say(
            "Your appointment was cancelled",
            "Ihr Termin wurde abgesagt",
        ),
        text: ctx.say(
            &format!(
                "Hello {},\n\nyour appointment on {at} is cancelled.\n",
                appointment.customer_name
            ),
            &format!(
                "Hallo {},\n\nIhr Termin am {at} ist abgesagt.\n",
                appointment.customer_name
            ),
        ),
    });
    Ok(Planned::Go(CancelPlan {
        agent_id: ctx.agent.id.to_string(),
        appointment_id: appointment.id.to_string(),
        event_id: appointment.calendar_event_id.clone(),
        reason: args.text("reason"),
        confirmation: ctx.say(
            &format!("Your appointment on {at} is cancelled."),
            &format!("Ihr Termin am {at} ist abgesagt."),
        ),
        email,
    }))
}

/// The caller's own appointment they mean, or what to say when it is not clear. The
/// `customerPhone` argument plays no part: only the call's verified number does.
async fn find(
    deps: &Activities,
    ctx: &AgentContext,
    input: &ToolInput,
    args: &Args<'_>,
    on_date: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<Result<callsaga_entity::appointments::Model, String>, ActivityError> {
    let caller = Caller::of(&input.request);
    let (appointment_id, name) = (args.text("appointmentId"), args.text("customerName"));
    let wanted = Wanted {
        appointment_id: appointment_id.as_deref(),
        name: name.as_deref(),
        on_date,
    };
    let found = the_appointment(deps, ctx, &caller, &wanted, now).await?;
    Ok(match found {
        Found::One(a) => Ok(*a),
        Found::None if caller == Caller::Withheld => Err(ctx.say(
            "I couldn't find an appointment with that reference and name.",
            "Ich habe keinen Termin mit dieser Nummer und diesem Namen gefunden.",
        )),
        Found::None => Err(ctx.say(
            "I couldn't find an upcoming appointment booked from the number you're calling from. Could you check the name or the date?",
            "Ich habe keinen anstehenden Termin gefunden, der von Ihrer Nummer aus gebucht wurde. Stimmen Name und Datum?",
        )),
        Found::NeedIdAndName => Err(ctx.say(
            "Your number is withheld, so I need the appointment's reference and the name it was booked under.",
            "Ihre Nummer ist unterdrückt. Dann brauche ich die Terminnummer und den Namen, auf den der Termin gebucht wurde.",
        )),
        Found::Several(n) => Err(match ctx.lang {
            Language::De => format!("Ich habe {n} Termine für Sie gefunden. Um welches Datum geht es?"),
            Language::En => format!("I found {n} appointments for you. Which date is it about?"),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsaga_entity::agents;
    use uuid::Uuid;

    fn agent() -> AgentContext {
        let now = Utc::now();
        AgentContext::new(agents::Model {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            name: "Front desk".into(),
            vapi_assistant_id: "asst".into(),
            business_name: "Praxis".into(),
            greeting: String::new(),
            system_prompt: String::new(),
            voice: None,
            language: "en".into(),
            timezone: "Europe/Berlin".into(),
            appointment_duration_minutes: 30,
            business_hours: serde_json::json!({ "tue": [["09:00", "11:00"]] }),
            calendar_provider: "embedded".into(),
            calendar_config: None,
            active: true,
            created_at: now,
            updated_at: now,
        })
        .expect("valid agent")
    }

    fn at(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
        let ctx = agent();
        ctx.tz
            .from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_slot_that_was_taken_is_not_offered_as_an_alternative() {
        let ctx = agent();
        let tuesday = NaiveDate::from_ymd_opt(2030, 1, 8).unwrap();
        let now = at(tuesday, 0, 0) - chrono::Duration::days(1);
        let taken = (at(tuesday, 9, 30), at(tuesday, 10, 0));
        let busy_elsewhere = vec![(at(tuesday, 10, 30), at(tuesday, 11, 0))];

        let said = alternatives_from(&ctx, tuesday, taken, &busy_elsewhere, 30, now);
        let with_it = speak_next_available(&ctx, tuesday, &busy_elsewhere, None, 30, now, true);
        let only_nine_and_ten = speak_next_available(
            &ctx,
            tuesday,
            &[busy_elsewhere[0], taken],
            None,
            30,
            now,
            true,
        );
        assert_eq!(said, only_nine_and_ten);
        assert_ne!(said, with_it, "{with_it}");
    }

    #[test]
    fn when_the_taken_slot_was_the_last_one_the_next_free_day_is_offered() {
        let ctx = agent();
        let tuesday = NaiveDate::from_ymd_opt(2030, 1, 8).unwrap();
        let now = at(tuesday, 0, 0) - chrono::Duration::days(1);
        let busy = vec![(at(tuesday, 9, 0), at(tuesday, 10, 30))];
        let said = alternatives_from(
            &ctx,
            tuesday,
            (at(tuesday, 10, 30), at(tuesday, 11, 0)),
            &busy,
            30,
            now,
        );
        assert!(said.contains("fully booked"), "{said}");
        assert!(said.contains("January 15"), "{said}");
    }
}
