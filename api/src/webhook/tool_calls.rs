//! `tool-calls`: each entry becomes a `tool_call` update on the call's workflow
//! (update-with-start, so a tool call before any status-update works), answered within a
//! deadline. When a saga cannot finish in time the caller hears that we are confirming it; the
//! update keeps running durably in the workflow and its effects (and email) still happen.

use crate::state::AppState;
use crate::vapi::{Envelope, ToolCall, ToolCalls};
use callsaga_workflows::CallWorkflow;
use callsaga_workflows::tool_payloads::{ToolCallAnswer, ToolCallRequest};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use temporalio_client::errors::WorkflowUpdateError;
use temporalio_client::{
    WorkflowExecuteUpdateOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowUpdateWithStartOptions,
};

pub(super) async fn answer(state: &AppState, envelope: &Envelope, calls: &ToolCalls) -> Value {
    let started = Instant::now();
    let deadline = started + Duration::from_millis(state.settings.tools.deadline_ms);
    let results = futures::future::join_all(
        calls
            .tool_call_list
            .iter()
            .map(|call| run_one(state, envelope, call, deadline)),
    )
    .await;
    metrics::histogram!("callsaga_tool_call_seconds").record(started.elapsed().as_secs_f64());
    json!({ "results": results.iter().map(vapi_result).collect::<Vec<_>>() })
}

/// Vapi's answer shape: `{"name", "toolCallId", "result" | "error"}`, one line of text.
fn vapi_result(answer: &ToolCallAnswer) -> Value {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut entry = json!({ "name": answer.name, "toolCallId": answer.tool_call_id });
    match (&answer.result, &answer.error) {
        (_, Some(error)) => entry["error"] = one_line(error).into(),
        (Some(result), None) => entry["result"] = one_line(result).into(),
        (None, None) => entry["result"] = "".into(),
    }
    entry
}

/// Whether the agent speaks German: only our own fallback answers need it (the workflow's
/// answers are already in the agent's language), so it is looked up only for those, and for
/// at most [`LANGUAGE_LOOKUP_BUDGET`] (a slow database must not hold a late answer back
/// further); English when it cannot be told.
async fn is_german(state: &AppState, envelope: &Envelope) -> bool {
    let lookup = callsaga_activities::tenant::find_agent(
        &state.db,
        envelope.assistant_id(),
        envelope.phone_number_id(),
    );
    tokio::time::timeout(LANGUAGE_LOOKUP_BUDGET, lookup)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .is_some_and(|a| a.language.to_ascii_lowercase().starts_with("de"))
}

const LANGUAGE_LOOKUP_BUDGET: Duration = Duration::from_millis(250);

async fn run_one(
    state: &AppState,
    envelope: &Envelope,
    call: &ToolCall,
    deadline: Instant,
) -> ToolCallAnswer {
    let request = ToolCallRequest {
        tool_call_id: call.id.clone(),
        name: call.name.clone(),
        arguments: Value::Object(call.arguments.clone()),
        arguments_error: call.arguments_error.clone(),
        customer_number: envelope.customer_number().map(str::to_owned),
        assistant_id: envelope.assistant_id().map(str::to_owned),
        phone_number_id: envelope.phone_number_id().map(str::to_owned),
    };
    let Some(call_id) = envelope.call_id() else {
        return ToolCallAnswer::error(&request, sorry(is_german(state, envelope).await));
    };
    match tokio::time::timeout_at(deadline.into(), update(state, call_id, request.clone())).await {
        Ok(Ok(answer)) => {
            for compensation in &answer.compensations {
                let (ok, label) = match compensation.strip_prefix('!') {
                    Some(label) => ("failed", label),
                    None => ("ok", compensation.as_str()),
                };
                let saga = label.split('/').next().unwrap_or("unknown").to_owned();
                metrics::counter!("callsaga_saga_compensations_total", "saga" => saga, "outcome" => ok).increment(1);
            }
            metrics::counter!("callsaga_tool_calls_total", "tool" => tool_label(&request.name), "outcome" => if answer.error.is_some() { "error" } else { "ok" }).increment(1);
            answer
        }
        Ok(Err(e)) => {
            metrics::counter!("callsaga_tool_calls_total", "tool" => tool_label(&request.name), "outcome" => "failed").increment(1);
            tracing::error!(call.id = %call_id, tool = %request.name, error = %format!("{e:#}"), "tool call failed");
            ToolCallAnswer::error(&request, sorry(is_german(state, envelope).await))
        }
        Err(_) => {
            metrics::counter!("callsaga_tool_calls_total", "tool" => tool_label(&request.name), "outcome" => "deadline").increment(1);
            tracing::warn!(call.id = %call_id, tool = %request.name, "tool call passed its deadline; it completes in the background");
            ToolCallAnswer::result(&request, confirming(is_german(state, envelope).await))
        }
    }
}

/// Sends the tool call to the call's workflow. A call in progress already has its workflow
/// (the relay started it with the first status update), and a plain update costs the server
/// less than update-with-start (about 2 ms per tool call at p50 in `bench-tools`). So when
/// this process knows the call ([`crate::live_calls`]) a plain update goes first; otherwise, or
/// when the server has no running workflow for it, update-with-start with the same update id,
/// so a tool call before any status update still works.
async fn update(
    state: &AppState,
    vapi_call_id: &str,
    request: ToolCallRequest,
) -> anyhow::Result<ToolCallAnswer> {
    let client = state.temporal.get().await?;
    let workflow_id = callsaga_workflows::call_workflow_id(vapi_call_id);
    if state.live_calls.knows(vapi_call_id) {
        let running = client
            .get_workflow_handle::<CallWorkflow>(workflow_id.clone())
            .execute_update(
                CallWorkflow::tool_call,
                request.clone(),
                WorkflowExecuteUpdateOptions::builder()
                    .update_id(request.tool_call_id.clone())
                    .build(),
            )
            .await;
        match running {
            Ok(answer) => return Ok(answer),
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
    let answer = client
        .execute_update_with_start_workflow(
            CallWorkflow::run,
            state.settings.call_input(vapi_call_id),
            CallWorkflow::tool_call,
            request,
            options,
        )
        .await?;
    state.live_calls.note(vapi_call_id);
    Ok(answer)
}

/// Bounded label values for metrics.
fn tool_label(name: &str) -> &'static str {
    match name {
        "check_availability" => "check_availability",
        "find_next_available" => "find_next_available",
        "book_appointment" => "book_appointment",
        "reschedule_appointment" => "reschedule_appointment",
        "cancel_appointment" => "cancel_appointment",
        "list_appointments" => "list_appointments",
        "escalate_to_human" => "escalate_to_human",
        "check_operator_availability" => "check_operator_availability",
        _ => "unknown",
    }
}

fn sorry(german: bool) -> &'static str {
    if german {
        "Das hat leider gerade nicht geklappt. Ein Kollege meldet sich bei Ihnen."
    } else {
        "I'm sorry, I couldn't do that right now. A colleague will get back to you."
    }
}

fn confirming(german: bool) -> &'static str {
    if german {
        "Ich bestätige das gerade noch, Sie erhalten die Bestätigung per E-Mail."
    } else {
        "I'm confirming that now; you'll get the confirmation by email."
    }
}
