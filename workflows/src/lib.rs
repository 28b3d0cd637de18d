//! Deterministic workflow code for callsaga.
//!
//! This crate holds the call workflow, its sagas, the activity *declarations* the workflows call
//! and the payload types that cross the workflow boundary. It deliberately depends on nothing that
//! does I/O (no database, HTTP or mail crates): the implementations live in `callsaga-activities`.

pub mod activities;
mod after_answer;
mod billing;
mod booking;
pub mod call;
mod cancel;
mod escalation;
pub mod payloads;
mod reschedule;
mod saga;
pub mod search_attributes;
pub mod step_failure;
pub mod tool_payloads;
mod tools;

pub use call::CallWorkflow;
pub use tools::has_effects;

/// The workflow id of a call: a business key derived from Vapi's call id, so every webhook of a
/// call addresses the same workflow and a duplicate start is impossible.
pub fn call_workflow_id(vapi_call_id: &str) -> String {
    format!("call-{vapi_call_id}")
}

/// The one-line summary the Temporal UI shows for a call workflow (set by every starter).
pub fn call_summary(vapi_call_id: &str) -> String {
    format!("Vapi call {vapi_call_id}: status, tool-call sagas, escalation, billing")
}

/// Default task queue of the worker and of every workflow start.
pub const DEFAULT_TASK_QUEUE: &str = "callsaga";
