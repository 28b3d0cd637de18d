//! An effectful tool call (book, reschedule, cancel, escalate). The caller hears "confirming
//! now" only when the tool call is durably on its way: the workflow has accepted the update
//! (it is in the history). An update not accepted within `tools.accept_ms` (plus
//! [`ACCEPT_GRACE`] for that report to arrive), or failing at once, is answered "the business
//! will call you back" after that callback request is recorded; the request carries
//! `not_after_ms`, so the workflow answers it "expired" without its saga should Temporal get to
//! it later. A retried tool call (same id) after such a fallback gets the same answer again.

use super::tool_calls::Outcome;
use super::tool_fallback::{self, Reason};
use super::tool_update;
use crate::state::AppState;
use crate::vapi::Envelope;
use callsaga_workflows::tool_payloads::{ToolCallAnswer, ToolCallRequest};
use std::time::{Duration, Instant, SystemTime};
use temporalio_client::errors::WorkflowUpdateError;

/// Time allowed, after `not_after_ms`, for the acceptance of an update the workflow took in
/// time to reach this process (the workflow task completes, the server answers). A workflow
/// task that starts in time but whose acceptance arrives later still than this (the server
/// stops right in between) is the one case where a caller told "we will call you back" may
/// also get the booking.
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
        Ok(Ok(Some(row))) => {
            let german = tool_fallback::agent(state, envelope).await.german;
            let callback = row.customer_number.is_some();
            return (
                tool_fallback::cannot_now(&request, german, callback),
                Outcome::CallbackAgain,
            );
        }
        Ok(Ok(None)) => {}
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
    let reason = match tokio::time::timeout_at(
        give_up.into(),
        tool_update::start(state, vapi_call_id, request.clone()),
    )
    .await
    {
        Ok(Ok(accepted)) => {
            return match tokio::time::timeout_at(deadline.into(), tool_update::outcome(&accepted))
                .await
            {
                Ok(Ok(answer)) => (answer, Outcome::Answered),
                Ok(Err(e)) if matches!(e.downcast_ref(), Some(WorkflowUpdateError::Failed(_))) => {
                    tracing::error!(call.id = %vapi_call_id, tool = %request.name, error = %format!("{e:#}"), "tool call failed in its workflow");
                    let german = tool_fallback::agent(state, envelope).await.german;
                    (
                        ToolCallAnswer::error(&request, tool_fallback::try_later(german)),
                        Outcome::Failed,
                    )
                }
                Ok(Err(e)) => {
                    tracing::warn!(call.id = %vapi_call_id, tool = %request.name, error = %format!("{e:#}"), "accepted tool call: its answer could not be read; it completes in the workflow");
                    let german = tool_fallback::agent(state, envelope).await.german;
                    (
                        tool_fallback::confirming(&request, german),
                        Outcome::Deadline,
                    )
                }
                Err(_) => {
                    tracing::warn!(call.id = %vapi_call_id, tool = %request.name, "accepted tool call passed its deadline; it completes in the workflow");
                    let german = tool_fallback::agent(state, envelope).await.german;
                    (
                        tool_fallback::confirming(&request, german),
                        Outcome::Deadline,
                    )
                }
            };
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
        Ok(callback) => (
            tool_fallback::cannot_now(&request, agent.german, callback),
            Outcome::Callback,
        ),
        Err(e) => {
            tracing::error!(call.id = %vapi_call_id, tool = %request.name, error = %e, "cannot record the callback request; promising nothing");
            (
                ToolCallAnswer::error(&request, tool_fallback::try_later(agent.german)),
                Outcome::Failed,
            )
        }
    }
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
