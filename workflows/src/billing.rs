//! End of call: settle the escalations, then bill. Charging is one idempotent ledger entry keyed
//! by the call id (UNIQUE in the database), so a retry, a replay or a duplicate report never
//! charges twice; a later report after a watchdog close becomes an adjustment entry. The
//! low-balance email follows the charge that crossed the threshold, once.
//!
//! No compensation: nothing after the charge should undo it (a failed notification is retried,
//! and recorded, but a correct charge stays).

use crate::CallWorkflow;
use crate::activities::{AppointmentActivities, CallEndActivities};
use crate::payloads::{BillCallInput, BillOutcome, EscalationSummary, SettleEscalationsInput};
use crate::saga::Saga;
use crate::search_attributes::{BILLED, ESCALATION_STATUS};
use crate::tool_payloads::SendEmailInput;
use temporalio_sdk::{ActivityExecutionError, WorkflowContext};

pub(crate) async fn run(
    ctx: &WorkflowContext<CallWorkflow>,
    workflow_id: &str,
    vapi_call_id: &str,
) -> Result<BillOutcome, ActivityExecutionError> {
    let saga = Saga::durable(ctx, "end_of_call");
    let EscalationSummary { escalation_status } = saga
        .step(
            CallEndActivities::settle_escalations,
            SettleEscalationsInput {
                workflow_id: workflow_id.to_owned(),
                vapi_call_id: vapi_call_id.to_owned(),
            },
        )
        .await?;
    if let Some(status) = escalation_status {
        ctx.upsert_search_attributes([ESCALATION_STATUS.value_set(status)]);
    }
    let outcome = saga
        .step(
            CallEndActivities::charge_call,
            BillCallInput {
                workflow_id: workflow_id.to_owned(),
                vapi_call_id: vapi_call_id.to_owned(),
            },
        )
        .await?;
    ctx.upsert_search_attributes([BILLED.value_set(outcome.status == "billed")]);
    if let (Some(email), Some(entry)) =
        (outcome.low_balance_email.clone(), &outcome.ledger_entry_id)
    {
        let sent = saga
            .step(
                AppointmentActivities::send_email,
                SendEmailInput {
                    idempotency_key: format!("low-balance:{entry}"),
                    email,
                },
            )
            .await;
        if let Err(e) = sent {
            ctx.set_current_details(format!("low-balance email failed for good: {e}"));
        }
    }
    Ok(outcome)
}
