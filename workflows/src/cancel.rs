//! Cancelling: plan (find the appointment) → mark the row cancelled → delete the calendar
//! event → email. Every step is idempotent; cancelling is final, so there is nothing to undo —
//! a failing later step is retried (the row already says cancelled, the slot is free).

use crate::CallWorkflow;
use crate::activities::{AppointmentActivities, ToolPlanningActivities};
use crate::saga::Saga;
use crate::tool_payloads::{
    CancelAppointmentInput, DeleteEventInput, SendEmailInput, ToolCallAnswer, ToolInput,
};
use temporalio_sdk::WorkflowContext;

pub(crate) async fn run(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    let req = input.request.clone();
    let saga = Saga::new(ctx, "cancel_appointment");
    let planned = saga
        .step(ToolPlanningActivities::plan_cancel, input.clone())
        .await;
    let plan = match crate::tools::go_or_answer(&req, planned) {
        Ok(plan) => plan,
        Err(answer) => return answer,
    };
    let cancelled = saga
        .step(
            AppointmentActivities::cancel_appointment,
            CancelAppointmentInput {
                appointment_id: Some(plan.appointment_id.clone()),
                key: None,
                reason: plan.reason.clone(),
            },
        )
        .await;
    if let Err(e) = cancelled {
        return crate::tools::failed(&req, &e);
    }
    if let Some(event_id) = plan.event_id.clone() {
        let deleted = saga
            .step(
                AppointmentActivities::delete_event,
                DeleteEventInput {
                    agent_id: plan.agent_id.clone(),
                    uid: String::new(),
                    event_id: Some(event_id),
                },
            )
            .await;
        if let Err(e) = deleted {
            return crate::tools::failed(&req, &e);
        }
    }
    if let Some(email) = plan.email.clone() {
        let key = format!("{}:{}:cancel", input.workflow_id, req.tool_call_id);
        let sent = saga
            .step(
                AppointmentActivities::send_email,
                SendEmailInput {
                    idempotency_key: key,
                    email,
                },
            )
            .await;
        if let Err(e) = sent {
            return crate::tools::failed(&req, &e);
        }
    }
    ToolCallAnswer::result(&req, plan.confirmation)
}
