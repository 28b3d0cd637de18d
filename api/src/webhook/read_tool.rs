//! A read-only tool call (availability, next available, listings, operator availability):
//! the workflow's answer when it comes within `tools.read_fallback_ms`, else — or when Temporal
//! fails at once — the same answer computed from the database in this process. Reading twice
//! has no effect, so the workflow may still answer the update later; nobody waits for it.

use super::tool_calls::Outcome;
use super::{tool_fallback, tool_update};
use crate::state::AppState;
use crate::vapi::Envelope;
use callsaga_workflows::tool_payloads::{ToolCallAnswer, ToolCallRequest};
use std::time::{Duration, Instant};

pub(super) async fn answer(
    state: &AppState,
    envelope: &Envelope,
    vapi_call_id: &str,
    request: ToolCallRequest,
    deadline: Instant,
) -> (ToolCallAnswer, Outcome) {
    let budget = Duration::from_millis(state.settings.tools.read_fallback_ms);
    let fallback_at = (Instant::now() + budget).min(deadline);
    let from_workflow = tool_update::execute(state, vapi_call_id, request.clone());
    tokio::pin!(from_workflow);
    let workflow_failed = match tokio::time::timeout_at(fallback_at.into(), &mut from_workflow)
        .await
    {
        Ok(Ok(answer)) => return (answer, Outcome::Answered),
        Ok(Err(e)) => {
            tracing::warn!(call.id = %vapi_call_id, tool = %request.name, error = %format!("{e:#}"), "workflow cannot answer a read-only tool; answering from the database");
            true
        }
        Err(_) => false,
    };
    match tokio::time::timeout_at(
        deadline.into(),
        tool_fallback::read_only(state, vapi_call_id, &request),
    )
    .await
    {
        Ok(Ok(answer)) => return (answer, Outcome::Fallback),
        Ok(Err(e)) => {
            tracing::error!(call.id = %vapi_call_id, tool = %request.name, error = %format!("{e:#}"), "read-only tool answer from the database failed");
        }
        Err(_) => {}
    }
    if !workflow_failed
        && let Ok(Ok(answer)) = tokio::time::timeout_at(deadline.into(), from_workflow).await
    {
        return (answer, Outcome::Answered);
    }
    let german = tool_fallback::agent(state, envelope).await.german;
    (
        ToolCallAnswer::error(&request, tool_fallback::try_later(german)),
        Outcome::Failed,
    )
}
