//! End of call: settle the escalations, then bill. Charging is one idempotent ledger entry keyed
//! by the call id (UNIQUE in the database), so a retry, a replay or a duplicate report never
//! charges twice; a later report after a watchdog close becomes an adjustment entry. The
//! low-balance email follows the charge that crossed the threshold, once.
//!
//! No compensation: nothing after the charge should undo it (a failed notification is retried,
//! and recorded, but a correct charge stays).
//!
//! Nothing here fails the workflow (under `call-end-always-v1`, see [`crate::step_failure`]):
//! escalations that cannot be settled are recorded and billing goes on; a charge that cannot be
//! made becomes the `billing_failed` outcome (recorded on the call row, `Billed=false`, retried
//! by `callsaga billing retry`); a low-balance email that cannot be sent is recorded.

use crate::CallWorkflow;
use crate::activities::{AppointmentActivities, CallEndActivities};
use crate::payloads::{BillCallInput, BillOutcome, EscalationSummary, SettleEscalationsInput};
use crate::saga::Saga;
use crate::search_attributes::{BILLED, ESCALATION_STATUS};
use crate::step_failure::{Step, absorb};
use crate::tool_payloads::SendEmailInput;
use temporalio_sdk::{ActivityExecutionError, WorkflowContext};

pub(crate) async fn run(
    ctx: &WorkflowContext<CallWorkflow>,
    workflow_id: &str,
    vapi_call_id: &str,
) -> Result<BillOutcome, ActivityExecutionError> {
    let saga = Saga::durable(ctx, "end_of_call");
    let settled = saga
        .step(
            CallEndActivities::settle_escalations,
            SettleEscalationsInput {
                workflow_id: workflow_id.to_owned(),
                vapi_call_id: vapi_call_id.to_owned(),
            },
        )
        .await;
    match settled {
        Ok(EscalationSummary {
            escalation_status: Some(status),
        }) => ctx.upsert_search_attributes([ESCALATION_STATUS.value_set(status)]),
        Ok(EscalationSummary {
            escalation_status: None,
        }) => {}
        Err(e) => absorb(ctx, Step::SettleEscalations, e).await?,
    }
    let charged = saga
        .step(
            CallEndActivities::charge_call,
            BillCallInput {
                workflow_id: workflow_id.to_owned(),
                vapi_call_id: vapi_call_id.to_owned(),
            },
        )
        .await;
    let outcome = match charged {
        Ok(outcome) => outcome,
        Err(e) => {
            absorb(ctx, Step::Charge, e).await?;
            ctx.upsert_search_attributes([BILLED.value_set(false)]);
            return Ok(BillOutcome {
                status: BillOutcome::BILLING_FAILED.into(),
                ..Default::default()
            });
        }
    };
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
            // Recorded under the patch; before it, the details above were all (never fatal).
            let _ = absorb(ctx, Step::LowBalanceEmail, e).await;
        }
    }
    Ok(outcome)
}
