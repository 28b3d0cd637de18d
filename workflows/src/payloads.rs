//! Payload types that cross the workflow boundary (workflow input, signals, activity inputs and
//! outputs). They are a versioned wire format recorded in workflow histories: add optional fields
//! with `#[serde(default)]`, never rename or remove one.

use serde::{Deserialize, Serialize};

/// Input of [`crate::CallWorkflow`]. Small on purpose: ids only, never transcripts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallWorkflowInput {
    pub vapi_call_id: String,
}

/// A webhook event accepted into the inbox and relayed to the call's workflow.
///
/// The event body itself stays in the inbox table; the workflow only carries its id and type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    /// `webhook_inbox.id`: monotonically increasing, so it also orders a call's events.
    pub inbox_id: i64,
    /// Vapi message type, e.g. `status-update` or `end-of-call-report`.
    pub message_type: String,
}

impl CallEvent {
    pub const END_OF_CALL_REPORT: &'static str = "end-of-call-report";

    pub fn is_end_of_call_report(&self) -> bool {
        self.message_type == Self::END_OF_CALL_REPORT
    }
}

/// Input of the `call.apply_event` activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyEventInput {
    pub workflow_id: String,
    pub vapi_call_id: String,
    pub inbox_id: i64,
}

/// What the database knows about a call after an event was applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSnapshot {
    pub status: String,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// True once an end-of-call report has been applied to the row.
    #[serde(default)]
    pub report_applied: bool,
}

/// Live state of a call workflow, returned by its `state` query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    pub vapi_call_id: String,
    pub status: String,
    pub events_applied: u32,
    pub events_pending: u32,
    pub report_applied: bool,
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
}
