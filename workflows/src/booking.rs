//! The booking saga: plan (check the slot) → create the calendar event → record the
//! appointment → send the confirmation email. A permanent failure of a later step deletes the
//! calendar event (and the appointment row); a slot taken by a concurrent caller between plan
//! and record ends in alternatives for that day, not in a double booking.
//!
//! Since [`PATCH_BOOKING_ONE_STEP`], planning and recording are one step when the agent's
//! calendar is the embedded one (its appointment row *is* the event, so "create the event" was
//! a no-op there): one local activity instead of three while the caller waits. An external
//! calendar (CalDAV) still runs event → record as separate steps with their compensations.
//! Histories recorded before the patch replay on the three-step path.
//!
//! Since [`PATCH_BOOKING_EMAIL_IN_STEP`], that one step sends the confirmation email too
//! (`booking.plan_record_and_confirm`): each local activity the caller waits for costs a trip
//! through the SDK's local-activity machinery and a workflow activation (~13 ms under load),
//! more than the email itself. Its compensation is the same (`appointments.cancel`, registered
//! before the step): a permanent email failure fails the step and cancels the row. Histories
//! recorded between the two patches replay with the email as its own step.
//!
//! Since [`PATCH_BOOKING_EMAIL_AFTER_ANSWER`], the email is no part of what the caller waits
//! for: once the caller has heard "booked", the booking stands. The step plans and records
//! (`booking.plan_and_record`; CalDAV: event → record), the update answers, and the
//! confirmation is queued for `after_answer.rs`, which sends it with retries and, when it fails
//! for good, marks the appointment `email_failed` and tells the business owner. Nothing is
//! compensated for an email any more. Histories recorded before replay their email steps.
//!
//! Workflows started since `call-v5` ([`crate::call::PATCH_CURRENT`]) take all these branches
//! without recording the patches (`has_patch`; `call-v4` stood for all three, `call-v3` for the
//! first two).

use crate::CallWorkflow;
use crate::activities::{AppointmentActivities, ToolPlanningActivities};
use crate::after_answer::QueuedEmail;
use crate::saga::{Saga, failure_type};
use crate::tool_payloads::{
    BookingPlan, CancelAppointmentInput, ConfirmationFailedInput, CreateEventInput,
    DeleteEventInput, RecordAppointmentInput, ToolCallAnswer, ToolCallRequest, ToolInput,
    booking_key,
};
use temporalio_sdk::WorkflowContext;

/// Plan and record in one step for the embedded calendar.
pub(crate) const PATCH_BOOKING_ONE_STEP: &str = "booking-one-step-v1";

/// The one step sends the confirmation email too.
pub(crate) const PATCH_BOOKING_EMAIL_IN_STEP: &str = "booking-one-step-email-v1";

/// The confirmation email is sent after the answer; a permanent failure keeps the booking.
pub(crate) const PATCH_BOOKING_EMAIL_AFTER_ANSWER: &str = "booking-email-after-answer-v1";

pub(crate) async fn run(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    if crate::call::has_patch(ctx, PATCH_BOOKING_ONE_STEP) {
        one_step(ctx, input).await
    } else {
        three_steps(ctx, input).await
    }
}

async fn one_step(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    let req = input.request.clone();
    let mut saga = Saga::new(ctx, "book_appointment");
    // The step may record the appointment (embedded calendar): its inverse first.
    saga.on_failure(
        AppointmentActivities::cancel_appointment,
        cancel_input(booking_key(&input.workflow_id, &req.tool_call_id)),
    );
    let after_answer = crate::call::has_patch(ctx, PATCH_BOOKING_EMAIL_AFTER_ANSWER);
    let email_in_step = !after_answer && crate::call::has_patch(ctx, PATCH_BOOKING_EMAIL_IN_STEP);
    let stepped = if email_in_step {
        saga.step(
            AppointmentActivities::plan_record_and_confirm_booking,
            input.clone(),
        )
        .await
    } else {
        saga.step(
            AppointmentActivities::plan_and_record_booking,
            input.clone(),
        )
        .await
    };
    let step = match stepped {
        Err(e) => {
            saga.compensate(&e.to_string()).await;
            return crate::tools::failed(&req, &e);
        }
        planned => match crate::tools::go_or_answer(&req, planned) {
            Ok(step) => step,
            Err(answer) => return answer,
        },
    };
    if !step.recorded
        && let Err(answer) = event_then_record(&mut saga, &input, &step.plan, false).await
    {
        return answer;
    }
    if after_answer {
        confirm_after_answer(ctx, &step.plan);
        return ToolCallAnswer::result(&req, step.plan.confirmation);
    }
    // The step that recorded the row has sent its email too.
    if email_in_step && step.recorded {
        return ToolCallAnswer::result(&req, step.plan.confirmation);
    }
    confirm(saga, &req, step.plan).await
}

/// Queues the confirmation email (if the caller gave an address) to be sent after the answer.
fn confirm_after_answer(ctx: &WorkflowContext<CallWorkflow>, plan: &BookingPlan) {
    if let Some(email) = plan.confirmation_email() {
        crate::after_answer::queue(
            ctx,
            QueuedEmail {
                email,
                failed: ConfirmationFailedInput {
                    booking_key: plan.key.clone(),
                    agent_id: plan.agent_id.clone(),
                    error: String::new(),
                },
            },
        );
    }
}

/// The path of histories recorded before [`PATCH_BOOKING_ONE_STEP`].
async fn three_steps(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    let req = input.request.clone();
    let mut saga = Saga::new(ctx, "book_appointment");
    let planned = saga
        .step(ToolPlanningActivities::plan_booking, input.clone())
        .await;
    let plan = match crate::tools::go_or_answer(&req, planned) {
        Ok(plan) => plan,
        Err(answer) => return answer,
    };
    if let Err(answer) = event_then_record(&mut saga, &input, &plan, true).await {
        return answer;
    }
    confirm(saga, &req, plan).await
}

fn cancel_input(key: String) -> CancelAppointmentInput {
    CancelAppointmentInput {
        appointment_id: None,
        key: Some(key),
        reason: Some("booking saga compensation".into()),
    }
}

/// External calendar: create the event, then record the appointment (each with its inverse
/// registered first; `register_cancel` is false when the caller registered the row's already).
/// `Err` is the answer to give after compensating.
async fn event_then_record(
    saga: &mut Saga,
    input: &ToolInput,
    plan: &BookingPlan,
    register_cancel: bool,
) -> Result<(), ToolCallAnswer> {
    let req = &input.request;
    saga.on_failure(
        AppointmentActivities::delete_event,
        DeleteEventInput {
            agent_id: plan.agent_id.clone(),
            uid: plan.key.clone(),
            event_id: None,
        },
    );
    let created = saga
        .step(
            AppointmentActivities::create_event,
            CreateEventInput {
                agent_id: plan.agent_id.clone(),
                uid: plan.key.clone(),
                start: plan.start.clone(),
                end: plan.end.clone(),
                summary: plan.event_summary.clone(),
                description: plan.event_description.clone(),
            },
        )
        .await;
    let event_id = match created {
        Ok(id) => id,
        Err(e) => {
            saga.compensate(&e.to_string()).await;
            return Err(crate::tools::failed(req, &e));
        }
    };
    if register_cancel {
        saga.on_failure(
            AppointmentActivities::cancel_appointment,
            cancel_input(plan.key.clone()),
        );
    }
    let recorded = saga
        .step(
            AppointmentActivities::record_appointment,
            RecordAppointmentInput {
                vapi_call_id: input.vapi_call_id.clone(),
                plan: plan.clone(),
                event_id,
            },
        )
        .await;
    if let Err(e) = recorded {
        saga.compensate(&e.to_string()).await;
        return Err(if failure_type(&e) == Some("SlotTaken") {
            ToolCallAnswer::result(req, plan.slot_taken.clone())
        } else {
            crate::tools::failed(req, &e)
        });
    }
    Ok(())
}

/// Sends the confirmation email (if the caller gave an address), then confirms.
async fn confirm(mut saga: Saga, req: &ToolCallRequest, plan: BookingPlan) -> ToolCallAnswer {
    if let Some(email) = plan.confirmation_email() {
        let sent = saga.step(AppointmentActivities::send_email, email).await;
        if let Err(e) = sent {
            saga.compensate(&e.to_string()).await;
            return crate::tools::failed(req, &e);
        }
    }
    ToolCallAnswer::result(req, plan.confirmation)
}
