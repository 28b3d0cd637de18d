//! The booking saga: plan (check the slot) → create the calendar event → record the
//! appointment → send the confirmation email. A permanent failure of a later step deletes the
//! calendar event (and the appointment row); a slot taken by a concurrent caller between plan
//! and record ends in alternatives for that day, not in a double booking.

use crate::CallWorkflow;
use crate::activities::{AppointmentActivities, ToolPlanningActivities};
use crate::saga::{Saga, failure_type};
use crate::tool_payloads::{
    CancelAppointmentInput, CreateEventInput, DeleteEventInput, RecordAppointmentInput,
    SendEmailInput, ToolCallAnswer, ToolInput,
};
use temporalio_sdk::WorkflowContext;

pub(crate) async fn run(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    let req = input.request.clone();
    let mut saga = Saga::new(ctx, "book_appointment");
    let planned = saga
        .step(ToolPlanningActivities::plan_booking, input.clone())
        .await;
    let plan = match crate::tools::go_or_answer(&req, planned) {
        Ok(plan) => plan,
        Err(answer) => return answer,
    };

    let delete_event = DeleteEventInput {
        agent_id: plan.agent_id.clone(),
        uid: plan.key.clone(),
        event_id: None,
    };
    saga.on_failure(AppointmentActivities::delete_event, delete_event);
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
            return crate::tools::failed(&req, &e);
        }
    };

    saga.on_failure(
        AppointmentActivities::cancel_appointment,
        CancelAppointmentInput {
            appointment_id: None,
            key: Some(plan.key.clone()),
            reason: Some("booking saga compensation".into()),
        },
    );
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
        return if failure_type(&e) == Some("SlotTaken") {
            ToolCallAnswer::result(&req, plan.slot_taken)
        } else {
            crate::tools::failed(&req, &e)
        };
    }

    if let Some(email) = plan.email.clone() {
        let sent = saga
            .step(
                AppointmentActivities::send_email,
                SendEmailInput {
                    idempotency_key: format!("{}:confirmation", plan.key),
                    email,
                },
            )
            .await;
        if let Err(e) = sent {
            saga.compensate(&e.to_string()).await;
            return crate::tools::failed(&req, &e);
        }
    }
    ToolCallAnswer::result(&req, plan.confirmation)
}
