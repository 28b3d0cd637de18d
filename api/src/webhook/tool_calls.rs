//! `tool-calls`: each entry becomes a `tool_call` update on the call's workflow (update id =
//! tool call id), answered within `tools.deadline_ms`. Read-only tools fall back to an answer
//! from the database when the workflow is late ([`super::read_tool`]); effectful tools are
//! promised only once the workflow has accepted them, else the caller hears that the business
//! will call back ([`super::effect_tool`]). Nothing said is untrue when Temporal is slow or down.

use super::{effect_tool, read_tool, tool_fallback};
use crate::state::AppState;
use crate::vapi::{Envelope, ToolCall, ToolCalls};
use callsaga_workflows::tool_payloads::{ToolCallAnswer, ToolCallRequest};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(super) async fn answer(state: &AppState, envelope: &Envelope, calls: &ToolCalls) -> Value {
    let started = Instant::now();
    if let Some(text) = super::admission::tool_refusal(state, envelope).await {
        let refused = calls.tool_call_list.iter().map(|call| {
            vapi_result(&ToolCallAnswer {
                tool_call_id: call.id.clone(),
                name: call.name.clone(),
                result: None,
                error: Some(text.to_owned()),
                ..Default::default()
            })
        });
        return json!({ "results": refused.collect::<Vec<_>>() });
    }
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

/// How a tool call was answered (the `outcome` label of `callsaga_tool_calls_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// By the workflow (`ok`, or `error` when its answer is an error).
    Answered,
    /// Accepted by the workflow, still running at the deadline: "confirming now".
    Deadline,
    /// A read-only tool answered from the database.
    Fallback,
    /// An effectful tool the workflow did not take in time: callback requested.
    Callback,
    /// A retry of a tool call that got [`Outcome::Callback`] before.
    CallbackAgain,
    /// Neither the workflow nor a fallback could answer; nothing promised.
    Failed,
}

fn outcome_label(outcome: Outcome, answer: &ToolCallAnswer) -> &'static str {
    match outcome {
        Outcome::Answered if answer.error.is_some() => "error",
        Outcome::Answered => "ok",
        Outcome::Deadline => "deadline",
        Outcome::Fallback => "fallback",
        Outcome::Callback => "callback",
        Outcome::CallbackAgain => "callback_again",
        Outcome::Failed => "failed",
    }
}

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
        not_after_ms: None,
    };
    let Some(call_id) = envelope.call_id() else {
        let german = tool_fallback::agent(state, envelope).await.german;
        return ToolCallAnswer::error(&request, tool_fallback::try_later(german));
    };
    let tool = tool_label(&request.name);
    let (answer, outcome) = if callsaga_workflows::has_effects(&request.name) {
        effect_tool::answer(state, envelope, call_id, request, deadline).await
    } else {
        read_tool::answer(state, envelope, call_id, request, deadline).await
    };
    for compensation in &answer.compensations {
        let (ok, label) = match compensation.strip_prefix('!') {
            Some(label) => ("failed", label),
            None => ("ok", compensation.as_str()),
        };
        let saga = label.split('/').next().unwrap_or("unknown").to_owned();
        metrics::counter!("callsaga_saga_compensations_total", "saga" => saga, "outcome" => ok)
            .increment(1);
    }
    metrics::counter!("callsaga_tool_calls_total", "tool" => tool, "outcome" => outcome_label(outcome, &answer)).increment(1);
    answer
}

/// Bounded label values for metrics.
pub(super) fn tool_label(name: &str) -> &'static str {
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
