//! The reschedule saga: plan (find the appointment, check the new slot) → move the calendar
//! event → update the row → email. On a permanent failure the event is moved back and the row
//! restored.

use crate::CallWorkflow;
use crate::activities::{AppointmentActivities, ToolPlanningActivities};
use crate::saga::{Saga, failure_type};
use crate::tool_payloads::{
    MoveEventInput, SendEmailInput, SetAppointmentTimeInput, ToolCallAnswer, ToolInput,
};
use temporalio_sdk::WorkflowContext;

pub(crate) async fn run(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    let req = input.request.clone();
    let mut saga = Saga::new(ctx, "reschedule_appointment");
    let planned = saga
        .step(ToolPlanningActivities::plan_reschedule, input.clone())
        .await;
    let plan = match crate::tools::go_or_answer(&req, planned) {
        Ok(plan) => plan,
        Err(answer) => return answer,
    };

    if let Some(event_id) = &plan.event_id {
        saga.on_failure(
            AppointmentActivities::move_event,
            MoveEventInput {
                agent_id: plan.agent_id.clone(),
                event_id: event_id.clone(),
                start: plan.old_start.clone(),
                end: plan.old_end.clone(),
            },
        );
        let moved = saga
            .step(
                AppointmentActivities::move_event,
                MoveEventInput {
                    agent_id: plan.agent_id.clone(),
                    event_id: event_id.clone(),
                    start: plan.new_start.clone(),
                    end: plan.new_end.clone(),
                },
            )
            .await;
        if let Err(e) = moved {
            saga.compensate(&e.to_string()).await;
            return crate::tools::failed(&req, &e);
        }
    }

    saga.on_failure(
        AppointmentActivities::set_appointment_time,
        SetAppointmentTimeInput {
            appointment_id: plan.appointment_id.clone(),
            start: plan.old_start.clone(),
            end: plan.old_end.clone(),
        },
    );
    let updated = saga
        .step(
            AppointmentActivities::set_appointment_time,
            SetAppointmentTimeInput {
                appointment_id: plan.appointment_id.clone(),
                start: plan.new_start.clone(),
                end: plan.new_end.clone(),
            },
        )
        .await;
    if let Err(e) = updated {
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
                    idempotency_key: format!(
                        "{}:{}:reschedule",
                        input.workflow_id, req.tool_call_id
                    ),
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
