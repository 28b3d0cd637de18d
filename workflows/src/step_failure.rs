//! A call workflow always finishes its end-of-call work: a step that fails for good (an inbox
//! event that no longer parses, escalations that cannot be settled, a charge the ledger refuses,
//! a low-balance email that cannot be sent) is recorded — an `event_log` row and a metric, by
//! `call_end.record_failure` — and skipped, instead of failing the whole workflow with `?`.
//!
//! Transient failures never get here: the local-activity retry policies retry them until they
//! pass, so an error that reaches the workflow is a permanent one (a non-retryable application
//! failure with a type).
//!
//! Behind [`PATCH_CALL_END_ALWAYS`], consulted only when such a failure happens: a run recorded
//! before it failed the workflow at that point, and replays the same way; a run without any
//! failure records no marker at all (no extra visibility write per call).

use crate::CallWorkflow;
use crate::activities::CallEndActivities;
use crate::payloads::RecordFailureInput;
use crate::saga::{compensation_options, failure_type};
use temporalio_sdk::{ActivityExecutionError, WorkflowContext};

/// Patch id of recording and skipping steps that failed for good.
pub const PATCH_CALL_END_ALWAYS: &str = "call-end-always-v1";

/// A step of the call whose permanent failure is recorded and skipped.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    ApplyEvent { inbox_id: i64 },
    CloseWithoutReport,
    SettleEscalations,
    Charge,
    LowBalanceEmail,
}

impl Step {
    /// The pinned activity name of the step (`event_log.data.step`).
    fn name(self) -> &'static str {
        match self {
            Self::ApplyEvent { .. } => "call.apply_event",
            Self::CloseWithoutReport => "call.close_without_report",
            Self::SettleEscalations => "escalation.settle",
            Self::Charge => "billing.charge",
            Self::LowBalanceEmail => "email.send",
        }
    }
}

/// Takes the permanent failure of `step`. Under [`PATCH_CALL_END_ALWAYS`] it is recorded and
/// `Ok` comes back: the caller skips the step and goes on. In a run recorded before the patch,
/// the error comes back, as the step's `?` returned it then.
pub(crate) async fn absorb(
    ctx: &WorkflowContext<CallWorkflow>,
    step: Step,
    err: ActivityExecutionError,
) -> Result<(), ActivityExecutionError> {
    // A cancelled step is the workflow being cancelled: not a failure to skip.
    if err.as_cancelled().is_some() || !crate::call::has_patch(ctx, PATCH_CALL_END_ALWAYS) {
        return Err(err);
    }
    let failure_type = failure_type(&err).unwrap_or("Unknown").to_owned();
    let message = err
        .failure()
        .map(|f| f.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| err.to_string());
    let label = format!("{}: {failure_type}", step.name());
    ctx.state_mut(|s| {
        s.failures.push(label.clone());
        if let Step::ApplyEvent { .. } = step {
            s.events_skipped += 1;
        }
    });
    ctx.set_current_details(format!(
        "`{}` failed for good ({failure_type}); recorded and skipped",
        step.name()
    ));
    let vapi_call_id = ctx
        .workflow_id()
        .strip_prefix("call-")
        .unwrap_or_default()
        .to_owned();
    let recorded = ctx
        .execute_local_activity(
            CallEndActivities::record_failure,
            RecordFailureInput {
                workflow_id: ctx.workflow_id().to_owned(),
                vapi_call_id,
                step: step.name().to_owned(),
                failure_type,
                message,
                inbox_id: match step {
                    Step::ApplyEvent { inbox_id } => Some(inbox_id),
                    _ => None,
                },
            },
            // Retried until the database takes it: the record is what makes the failure visible.
            compensation_options(),
        )
        .await;
    if let Err(e) = recorded {
        // Still visible in the `state` query and the Temporal UI; the call goes on regardless.
        ctx.state_mut(|s| {
            s.failures
                .push(format!("!call_end.record_failure: {label}"))
        });
        ctx.set_current_details(format!("recording `{label}` failed for good: {e}"));
    }
    Ok(())
}
