//! An effectful tool call (book, reschedule, cancel, escalate). The caller hears "confirming
//! now" only when the tool call is durably on its way: Temporal has reported the update
//! accepted (it is in the workflow's history). One its handler has claimed (`tools.claim`) but
//! that is not accepted by the deadline still runs, yet a Temporal restart in that moment would
//! lose it: the caller hears that it cannot be confirmed now and the business will call back
//! about it (the claim joins the callback list). One not accepted within
//! `tools.accept_ms` (plus [`ACCEPT_GRACE`] for that report to arrive), or failing at once, is
//! answered "the business will call you back" once that callback request is recorded — unless
//! the workflow's claim came first, which the database decides (`tool_call_claims`, one row
//! per tool call id). The request carries `not_after_ms`, so a workflow that gets to it later
//! answers "expired" without its saga. A retried tool call (same id) after such a fallback gets
//! the same answer again.

use super::tool_calls::Outcome;
use super::tool_fallback::{self, Claimed, Reason};
use super::tool_update::{self, Accepted};
use crate::state::AppState;
use crate::vapi::Envelope;
use callsaga_entity::tool_call_claims::CALLBACK_REQUESTED;
use callsaga_workflows::tool_payloads::{ToolCallAnswer, ToolCallRequest};
use std::time::{Duration, Instant, SystemTime};
use temporalio_client::errors::WorkflowUpdateError;

/// Time allowed, after `not_after_ms`, for the acceptance of an update the workflow took in
/// time to reach this process; past it the API claims the tool call unless the workflow has.
pub const ACCEPT_GRACE: Duration = Duration::from_millis(500);

pub(super) async fn answer(
    state: &AppState,
    envelope: &Envelope,
    vapi_call_id: &str,
    mut request: ToolCallRequest,
    deadline: Instant,
) -> (ToolCallAnswer, Outcome) {
    let earlier = tokio::time::timeout_at(
        deadline.into(),
        tool_fallback::recorded(state, &request.tool_call_id),
    )
    .await;
    match earlier {
        Ok(Ok(Some(row))) if row.status == CALLBACK_REQUESTED => {
            let german = tool_fallback::agent(state, envelope).await.german;
            let callback = row.customer_number.is_some();
            return (
                tool_fallback::cannot_now(&request, german, callback),
                Outcome::CallbackAgain,
            );
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(call.id = %vapi_call_id, tool = %request.name, error = %e, "cannot check for an earlier fallback of this tool call");
        }
        Err(_) => {}
    }

    let accept = Duration::from_millis(state.settings.tools.accept_ms).min(
        deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(ACCEPT_GRACE),
    );
    request.not_after_ms = Some(wall_clock_ms() + i64::try_from(accept.as_millis()).unwrap_or(0));
    let give_up = Instant::now() + accept + ACCEPT_GRACE;
    let send = tool_update::start(state, vapi_call_id, request.clone());
    tokio::pin!(send);
    let reason = match tokio::time::timeout_at(give_up.into(), &mut send).await {
        Ok(Ok(accepted)) => {
            return outcome_by(state, envelope, vapi_call_id, &request, &accepted, deadline).await;
        }
        Ok(Err(e)) => {
            tracing::error!(call.id = %vapi_call_id, tool = %request.name, error = %format!("{e:#}"), "tool call failed to reach its workflow");
            Reason::TemporalError
        }
        Err(_) => Reason::NotAcceptedInTime,
    };
    let agent = tool_fallback::agent(state, envelope).await;
    match tool_fallback::request_callback(state, envelope, vapi_call_id, &request, reason, &agent)
        .await
    {
        Ok(Claimed::Callback { number }) => (
            tool_fallback::cannot_now(&request, agent.german, number),
            Outcome::Callback,
        ),
        // The workflow claimed it first: its saga runs; its answer if it comes in time.
        Ok(Claimed::Workflow) => {
            if reason == Reason::NotAcceptedInTime
                && let Ok(Ok(accepted)) = tokio::time::timeout_at(deadline.into(), send).await
            {
                return outcome_by(state, envelope, vapi_call_id, &request, &accepted, deadline)
                    .await;
            }
            // Claimed but not accepted: not in the history yet, so not "confirming".
            match tool_fallback::unconfirmed(state, envelope, vapi_call_id, &request).await {
                Ok(number) => (
                    tool_fallback::cannot_confirm(&request, agent.german, number),
                    Outcome::Callback,
                ),
                Err(e) => {
                    tracing::error!(call.id = %vapi_call_id, tool = %request.name, error = %e, "cannot record the callback request; promising nothing");
                    (
                        tool_fallback::cannot_confirm(&request, agent.german, false),
                        Outcome::Failed,
                    )
                }
            }
        }
        Err(e) => {
            tracing::error!(call.id = %vapi_call_id, tool = %request.name, error = %e, "cannot record the callback request; promising nothing");
            (
                ToolCallAnswer::error(&request, tool_fallback::try_later(agent.german)),
                Outcome::Failed,
            )
        }
    }
}

/// The answer of an accepted update by the deadline, else "confirming now".
async fn outcome_by(
    state: &AppState,
    envelope: &Envelope,
    vapi_call_id: &str,
    request: &ToolCallRequest,
    accepted: &Accepted,
    deadline: Instant,
) -> (ToolCallAnswer, Outcome) {
    match tokio::time::timeout_at(deadline.into(), tool_update::outcome(accepted)).await {
        Ok(Ok(answer)) => (answer, Outcome::Answered),
        Ok(Err(e)) if matches!(e.downcast_ref(), Some(WorkflowUpdateError::Failed(_))) => {
            tracing::error!(call.id = %vapi_call_id, tool = %request.name, error = %format!("{e:#}"), "tool call failed in its workflow");
            let german = tool_fallback::agent(state, envelope).await.german;
            (
                ToolCallAnswer::error(request, tool_fallback::try_later(german)),
                Outcome::Failed,
            )
        }
        Ok(Err(e)) => {
            tracing::warn!(call.id = %vapi_call_id, tool = %request.name, error = %format!("{e:#}"), "accepted tool call: its answer could not be read; it completes in the workflow");
            let german = tool_fallback::agent(state, envelope).await.german;
            (
                tool_fallback::confirming(request, german),
                Outcome::Deadline,
            )
        }
        Err(_) => {
            tracing::warn!(call.id = %vapi_call_id, tool = %request.name, "accepted tool call passed its deadline; it completes in the workflow");
            let german = tool_fallback::agent(state, envelope).await.german;
            (
                tool_fallback::confirming(request, german),
                Outcome::Deadline,
            )
        }
    }
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
