//! Sends a tool call to its call's workflow as the `tool_call` update (update id = tool call
//! id) and returns once the workflow has *accepted* it: from then on the update is in the
//! workflow's history and completes however long Temporal takes.

use crate::state::AppState;
use callsaga_workflows::CallWorkflow;
use callsaga_workflows::tool_payloads::{ToolCallAnswer, ToolCallRequest};
use temporalio_client::errors::WorkflowUpdateError;
use temporalio_client::{
    Client, RpcOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowStartUpdateOptions, WorkflowUpdateHandle, WorkflowUpdateWithStartOptions,
};

/// An update the workflow has accepted.
pub(super) type Accepted = WorkflowUpdateHandle<Client, ToolCallAnswer>;

/// A call in progress already has its workflow (the relay started it with the first status
/// update), and a plain update costs the server less than update-with-start (about 2 ms per
/// tool call at p50 in `bench-tools`). So when this process knows the call
/// ([`crate::live_calls`]) a plain update goes first; otherwise, or when the server has no
/// running workflow for it, update-with-start with the same update id, so a tool call before
/// any status update still works.
pub(super) async fn start(
    state: &AppState,
    vapi_call_id: &str,
    request: ToolCallRequest,
) -> anyhow::Result<Accepted> {
    let client = state.temporal.get().await?;
    let workflow_id = callsaga_workflows::call_workflow_id(vapi_call_id);
    if state.live_calls.knows(vapi_call_id) {
        let running = client
            .get_workflow_handle::<CallWorkflow>(workflow_id.clone())
            .start_update(
                CallWorkflow::tool_call,
                request.clone(),
                WorkflowStartUpdateOptions::builder()
                    .update_id(request.tool_call_id.clone())
                    .build(),
            )
            .await;
        match running {
            Ok(accepted) => return Ok(accepted),
            // No such workflow yet (or it has completed: then the start below is rejected).
            Err(WorkflowUpdateError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let options = WorkflowUpdateWithStartOptions::new(
        state.temporal.task_queue(),
        workflow_id,
        WorkflowIdConflictPolicy::UseExisting,
    )
    .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
    .static_summary(callsaga_workflows::call_summary(vapi_call_id))
    .search_attributes(callsaga_workflows::search_attributes::start_search_attributes(vapi_call_id))
    .update_id(request.tool_call_id.clone())
    .build();
    let accepted = client
        .start_update_with_start_workflow(
            CallWorkflow::run,
            state.settings.call_input(vapi_call_id),
            CallWorkflow::tool_call,
            request,
            options,
        )
        .await?;
    state.live_calls.note(vapi_call_id);
    Ok(accepted)
}

/// The workflow's answer to an accepted update (at once when the server sent it with the
/// acceptance, else by polling).
pub(super) async fn outcome(accepted: &Accepted) -> anyhow::Result<ToolCallAnswer> {
    Ok(accepted.get_result(RpcOptions::default()).await?)
}

/// The whole round trip: send, wait for the answer.
pub(super) async fn execute(
    state: &AppState,
    vapi_call_id: &str,
    request: ToolCallRequest,
) -> anyhow::Result<ToolCallAnswer> {
    outcome(&start(state, vapi_call_id, request).await?).await
}
