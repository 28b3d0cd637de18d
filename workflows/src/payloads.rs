//! Payload types that cross the workflow boundary (workflow input, signals, activity inputs and
//! outputs). They are a versioned wire format recorded in workflow histories: add optional fields
//! with `#[serde(default)]`, never rename or remove one.

use serde::{Deserialize, Serialize};

/// Input of [`crate::CallWorkflow`]. Small on purpose: ids only, never transcripts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallWorkflowInput {
    pub vapi_call_id: String,
    /// Absent in histories recorded before the watchdog existed.
    #[serde(default)]
    pub timeouts: Option<CallTimeouts>,
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
    /// True once the call is over (status `ended` or a report).
    #[serde(default)]
    pub ended: bool,
    /// Closed by the watchdog without a report.
    #[serde(default)]
    pub report_missing: bool,
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
    /// Compensations that ran in this call's sagas (`<saga>/<activity>`, `!` = failed).
    #[serde(default)]
    pub compensations: Vec<String>,
    #[serde(default)]
    pub tool_calls_answered: u32,
    #[serde(default)]
    pub report_missing: bool,
    #[serde(default)]
    pub billed: bool,
    /// The charge failed for good (`calls.billing_status = billing_failed`; see
    /// `callsaga billing retry`).
    #[serde(default)]
    pub billing_failed: bool,
    /// Events that failed for good and were skipped (recorded in `event_log`).
    #[serde(default)]
    pub events_skipped: u32,
    /// End-of-call steps that failed for good and were recorded, `<step>: <failure type>`.
    #[serde(default)]
    pub failures: Vec<String>,
    /// Emails queued after answering a caller (booking confirmations) and not sent yet.
    #[serde(default)]
    pub emails_pending: u32,
    /// Emails that failed for good after the caller was answered (the booking stands).
    #[serde(default)]
    pub emails_failed: Vec<FailedEmail>,
}

/// An email sent after the caller was answered that failed for good.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedEmail {
    /// The email's idempotency key (`<booking key>:confirmation`).
    pub key: String,
    /// Why (the SMTP reply, recipient masked).
    pub error: String,
    /// Whether the business owner was told (and the appointment marked `email_failed`).
    pub owner_notified: bool,
}

/// Timeouts of a call's watchdog, decided by the starter from its settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTimeouts {
    /// After the call ended (status-update `ended`): how long to wait for the end-of-call report
    /// before closing the call from what is known.
    pub report_timeout_secs: u64,
    /// With no end at all: the longest a call may run before it is closed.
    pub max_call_secs: u64,
    /// After a watchdog close: how long a late report may still correct the call.
    pub late_report_window_secs: u64,
}

impl Default for CallTimeouts {
    fn default() -> Self {
        Self {
            report_timeout_secs: 600,
            max_call_secs: 4 * 3600,
            late_report_window_secs: 3600,
        }
    }
}

/// Input of `call.close_without_report`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseCallInput {
    pub workflow_id: String,
    pub vapi_call_id: String,
}

/// Input of `escalation.settle`: close every open escalation of the call from its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleEscalationsInput {
    pub workflow_id: String,
    pub vapi_call_id: String,
}

/// The call's escalation status after settling (None: the call had no escalation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationSummary {
    #[serde(default)]
    pub escalation_status: Option<String>,
}

/// Input of `billing.charge`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillCallInput {
    pub workflow_id: String,
    pub vapi_call_id: String,
}

/// What billing did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillOutcome {
    /// `billed`, `not_billable`, `no_user`, or [`BillOutcome::BILLING_FAILED`] (the charge
    /// failed for good; nothing was written to the ledger).
    pub status: String,
    pub charged: i64,
    /// Set when this charge took the balance below the user's threshold: email it once.
    #[serde(default)]
    pub low_balance_email: Option<crate::tool_payloads::EmailDraft>,
    #[serde(default)]
    pub ledger_entry_id: Option<String>,
}

impl BillOutcome {
    /// `calls.billing_status` of a call whose charge failed for good.
    pub const BILLING_FAILED: &'static str = "billing_failed";
}

/// Input of `call_end.record_failure`: a step of the call that failed for good and was skipped
/// (an event that no longer applies, escalations that cannot be settled, a charge that cannot
/// be made, a low-balance email that cannot be sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFailureInput {
    pub workflow_id: String,
    pub vapi_call_id: String,
    /// The pinned activity name of the step, e.g. `call.apply_event` or `billing.charge`.
    pub step: String,
    /// The failure's application type (`InboxEventUnparsable`, `LedgerInvalidRequest`, …).
    pub failure_type: String,
    pub message: String,
    /// For `call.apply_event`: the skipped inbox event.
    #[serde(default)]
    pub inbox_id: Option<i64>,
}
