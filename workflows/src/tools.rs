//! Tool calls: one `tool_call` update per Vapi `toolCallList` entry, dispatched by name. Read-only
//! tools are one local activity; the others are sagas (one per file).

use crate::CallWorkflow;
use crate::activities::ToolPlanningActivities;
use crate::tool_payloads::{Planned, ToolCallAnswer, ToolCallRequest, ToolInput};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_sdk::{ActivityExecutionError, LocalActivityOptions, WorkflowContext};

/// What the caller hears when a step failed for good (the details are in the history).
const FAILED: &str =
    "I'm sorry, I couldn't complete that right now. A colleague will follow up with you.";

/// What the workflow answers to a tool call whose `not_after_ms` had passed when it got to it
/// (the API answered the caller honestly long before; this answer is only recorded).
const EXPIRED: &str = "I'm sorry, I couldn't do that in time. The business will call you back.";

/// Whether a tool has effects (a saga), rather than answering from what is stored.
pub fn has_effects(name: &str) -> bool {
    matches!(
        name,
        "book_appointment" | "reschedule_appointment" | "cancel_appointment" | "escalate_to_human"
    )
}

/// The answer to a tool call that came too late to take effect.
pub(crate) fn expired(req: &ToolCallRequest) -> ToolCallAnswer {
    ToolCallAnswer::error(req, EXPIRED)
}

pub(crate) async fn run(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    match input.request.name.as_str() {
        "book_appointment" => crate::booking::run(ctx, input).await,
        "reschedule_appointment" => crate::reschedule::run(ctx, input).await,
        "cancel_appointment" => crate::cancel::run(ctx, input).await,
        "escalate_to_human" => crate::escalation::run(ctx, input).await,
        _ => answer(ctx, input).await,
    }
}

/// Read-only tools (availability, listings, unknown names): one local activity.
async fn answer(ctx: &WorkflowContext<CallWorkflow>, input: ToolInput) -> ToolCallAnswer {
    let req = input.request.clone();
    let options = LocalActivityOptions::builder()
        .start_to_close_timeout(Duration::from_secs(5))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(100))
                .maximum_interval(Duration::from_secs(2))
                .maximum_attempts(5)
                .build(),
        )
        .build();
    match ctx
        .execute_local_activity(ToolPlanningActivities::answer, input, options)
        .await
    {
        Ok(speech) if speech.is_error => ToolCallAnswer::error(&req, speech.text),
        Ok(speech) => ToolCallAnswer::result(&req, speech.text),
        Err(e) => failed(&req, &e),
    }
}

pub(crate) fn failed(req: &ToolCallRequest, _err: &ActivityExecutionError) -> ToolCallAnswer {
    ToolCallAnswer::error(req, FAILED)
}

/// The planned value of a planning step, or the answer to give instead (what the plan says,
/// or the failure).
pub(crate) fn go_or_answer<T>(
    req: &ToolCallRequest,
    planned: Result<Planned<T>, ActivityExecutionError>,
) -> Result<T, ToolCallAnswer> {
    match planned {
        Ok(Planned::Go(plan)) => Ok(plan),
        Ok(Planned::Say {
            text,
            is_error: false,
        }) => Err(ToolCallAnswer::result(req, text)),
        Ok(Planned::Say {
            text,
            is_error: true,
        }) => Err(ToolCallAnswer::error(req, text)),
        Err(e) => Err(failed(req, &e)),
    }
}
