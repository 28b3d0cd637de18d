//! The escalation saga (`escalate_to_human`): open the escalation log and decide (transfer now,
//! or a callback request) → email the operator when it is a callback. The log is marked FAILED
//! if a later step fails for good. How the escalation ends (transfer connected, failed, busy, …)
//! is settled from transfer-update and the end-of-call report by `escalation.settle`.

use crate::CallWorkflow;
use crate::activities::{AppointmentActivities, CallEndActivities};
use crate::saga::Saga;
use crate::tool_payloads::{
    MarkEscalationInput, Planned, SendEmailInput, ToolCallAnswer, ToolInput,
};
use temporalio_sdk::WorkflowContext;

pub(crate) async fn run(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    let req = input.request.clone();
    let key = format!("{}:{}", input.workflow_id, req.tool_call_id);
    let mut saga = Saga::new(ctx, "escalate_to_human");
    // Registered before the step: the log may exist even if the step's answer is lost.
    saga.on_failure(
        CallEndActivities::mark_escalation,
        MarkEscalationInput {
            log_id: key.clone(),
            status: "FAILED".into(),
            reason: Some("escalation could not be completed".into()),
        },
    );
    let decision = match saga
        .step(CallEndActivities::open_escalation, input.clone())
        .await
    {
        Ok(Planned::Go(d)) => d,
        Ok(Planned::Say { text, is_error }) => {
            return if is_error {
                ToolCallAnswer::error(&req, text)
            } else {
                ToolCallAnswer::result(&req, text)
            };
        }
        Err(e) => {
            saga.compensate(&e.to_string()).await;
            return crate::tools::failed(&req, &e);
        }
    };
    if let Some(email) = decision.callback_email.clone() {
        let sent = saga
            .step(
                AppointmentActivities::send_email,
                SendEmailInput {
                    idempotency_key: format!("{key}:callback"),
                    email,
                },
            )
            .await;
        if let Err(e) = sent {
            saga.compensate(&e.to_string()).await;
            return crate::tools::failed(&req, &e);
        }
    }
    ToolCallAnswer::result(&req, decision.say)
}
