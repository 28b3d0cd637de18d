//! `booking.plan_and_record`: the booking's plan and, when the agent's calendar is the embedded
//! one, the appointment row in the same step. There the row *is* the calendar event, and the
//! database's overlap constraint decides between two callers racing for one slot, so there is
//! nothing for separate "create the event" and "record" steps to do but cost the waiting
//! caller two more local activities. External calendars get the plan only; the saga creates
//! the event and records it as before.

use super::{effects, guarded, plan};
use crate::Activities;
use crate::calendar::EmbeddedCalendar;
use callsaga_workflows::tool_payloads::{BookingStep, Planned, RecordAppointmentInput, ToolInput};
use temporalio_sdk::activities::ActivityError;

/// Fault-plan names: the same as the separate steps', so tests force a failure at either part.
const PLAN: &str = "booking.plan";
const RECORD: &str = "appointments.record";

pub(crate) async fn plan_and_record(
    deps: &Activities,
    input: &ToolInput,
) -> Result<Planned<BookingStep>, ActivityError> {
    // The call's row id is only needed for the insert; its lookup overlaps the plan's reads.
    let (planned, call_id) = tokio::join!(
        guarded(&deps.faults, PLAN, plan::booking_on(deps, input)),
        effects::call_row_id(deps, &input.vapi_call_id),
    );
    let (planned, embedded) = planned?;
    let plan = match planned {
        Planned::Go(plan) => plan,
        Planned::Say { text, is_error } => return Ok(Planned::Say { text, is_error }),
    };
    if !embedded {
        return Ok(Planned::Go(BookingStep {
            plan,
            recorded: false,
        }));
    }
    let record = RecordAppointmentInput {
        vapi_call_id: input.vapi_call_id.clone(),
        event_id: EmbeddedCalendar::event_id(&plan.key),
        plan,
    };
    let insert = effects::insert_appointment(deps, &record, call_id?);
    match guarded(&deps.faults, RECORD, insert).await? {
        Some(_) => Ok(Planned::Go(BookingStep {
            plan: record.plan,
            recorded: true,
        })),
        // Taken between the plan's read and the insert: the other free times of that day.
        None => Ok(Planned::Say {
            text: record.plan.slot_taken,
            is_error: false,
        }),
    }
}
