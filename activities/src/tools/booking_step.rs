//! `booking.plan_and_record`: the booking's plan and, when the agent's calendar is the embedded
//! one, the appointment row in the same step. There the row *is* the calendar event, and the
//! database's overlap constraint decides between two callers racing for one slot, so there is
//! nothing for separate "create the event" and "record" steps to do but cost the waiting
//! caller two more local activities. External calendars get the plan only; the saga creates
//! the event and records it as before.
//!
//! `booking.plan_record_and_confirm` is the same step followed, once the row is recorded, by
//! the confirmation email (idempotent on `<booking key>:confirmation`, like the separate
//! `email.send` step it replaces). A retry of the step finds its own row (the plan does not
//! count it as busy, the insert returns it) and sends at most once.

use super::context::AgentContext;
use super::effects::Inserted;
use super::{effects, guarded, plan};
use crate::Activities;
use crate::calendar::EmbeddedCalendar;
use crate::call_record::ToolCallOrigin;
use crate::email::OutboxCheck;
use callsaga_workflows::tool_payloads::{BookingStep, Planned, RecordAppointmentInput, ToolInput};
use temporalio_sdk::activities::ActivityError;

/// Fault-plan names: the same as the separate steps', so tests force a failure at either part.
const PLAN: &str = "booking.plan";
const RECORD: &str = "appointments.record";
const EMAIL: &str = "email.send";

/// Whether the step sends the confirmation email after recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Confirm {
    /// The saga sends it as its own step (histories before `booking-one-step-email-v1`).
    Later,
    /// This step sends it.
    InStep,
}

/// The step, boxed (its future is large).
pub(crate) async fn run(
    deps: &Activities,
    input: ToolInput,
    confirm: Confirm,
) -> Result<Planned<BookingStep>, ActivityError> {
    Box::pin(plan_and_record(deps, &input, confirm)).await
}

async fn plan_and_record(
    deps: &Activities,
    input: &ToolInput,
    confirm: Confirm,
) -> Result<Planned<BookingStep>, ActivityError> {
    // The call's row id is only needed for the insert; its lookup overlaps the plan's reads.
    let (planned, call_id) = tokio::join!(
        guarded(&deps.faults, PLAN, plan::booking_on(deps, input)),
        crate::call_record::row_id(&deps.db, &input.vapi_call_id),
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
    // A booking before the relay delivered the call's first event creates the call's row, so
    // the appointment is linked to its call all the same.
    let call_id = match call_id? {
        Some(id) => id,
        None => {
            let ctx = AgentContext::for_tool(deps, input).await?;
            let origin = ToolCallOrigin {
                vapi_call_id: &input.vapi_call_id,
                workflow_id: &input.workflow_id,
                agent: &ctx.agent,
                customer_number: input.request.customer_number.as_deref(),
            };
            crate::call_record::ensure_row(&deps.db, &origin).await?
        }
    };
    let insert = effects::insert_appointment(deps, &record, call_id);
    match guarded(&deps.faults, RECORD, insert).await? {
        Some(inserted) => {
            if confirm == Confirm::InStep
                && let Some(email) = record.plan.confirmation_email()
            {
                // A row this attempt inserted means no earlier attempt got as far as the email.
                let check = match inserted {
                    Inserted::New(_) => OutboxCheck::KnownUnsent,
                    Inserted::Existing(_) => OutboxCheck::Lookup,
                };
                let send = effects::send_email(deps, &email, check);
                guarded(&deps.faults, EMAIL, send).await?;
            }
            Ok(Planned::Go(BookingStep {
                plan: record.plan,
                recorded: true,
            }))
        }
        // Taken between the plan's read and the insert: the other free times of that day.
        None => Ok(Planned::Say {
            text: record.plan.slot_taken,
            is_error: false,
        }),
    }
}
