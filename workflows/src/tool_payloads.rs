//! Payloads of tool calls and their sagas (booking, rescheduling, cancelling). Times cross the
//! boundary as RFC 3339 strings; speakable texts are produced by activities, which know the
//! agent's language, so workflow code never formats dates or picks words.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of a Vapi `toolCallList`, sent to the call workflow as the `tool_call` update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRequest {
    pub tool_call_id: String,
    pub name: String,
    /// The tool's arguments as a JSON object (already normalised from string or object).
    pub arguments: Value,
    /// Set when the arguments could not be read; the answer is then a clarification.
    #[serde(default)]
    pub arguments_error: Option<String>,
    /// `call.customer.number`, used to find the caller's appointments.
    #[serde(default)]
    pub customer_number: Option<String>,
    #[serde(default)]
    pub assistant_id: Option<String>,
    #[serde(default)]
    pub phone_number_id: Option<String>,
    /// Wall-clock time (ms since the Unix epoch) after which the tool call must not take effect:
    /// by then the API has stopped waiting for the workflow to accept it and has told the
    /// caller it cannot be done right now. A workflow task that starts later answers
    /// "expired" without running the saga. Absent in older requests (no such limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after_ms: Option<i64>,
}

/// The answer Vapi speaks: exactly one of `result` or `error`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallAnswer {
    pub tool_call_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Compensations the saga ran before answering (for metrics; not spoken).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compensations: Vec<String>,
}

impl ToolCallAnswer {
    pub fn result(req: &ToolCallRequest, text: impl Into<String>) -> Self {
        Self {
            tool_call_id: req.tool_call_id.clone(),
            name: req.name.clone(),
            result: Some(text.into()),
            error: None,
            compensations: Vec::new(),
        }
    }

    pub fn error(req: &ToolCallRequest, text: impl Into<String>) -> Self {
        Self {
            tool_call_id: req.tool_call_id.clone(),
            name: req.name.clone(),
            result: None,
            error: Some(text.into()),
            compensations: Vec::new(),
        }
    }
}

/// Input of every tool activity: who asks, in which call, with which arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolInput {
    pub workflow_id: String,
    pub vapi_call_id: String,
    pub request: ToolCallRequest,
}

/// What a planning activity decided: go ahead with the saga, or say something instead (the
/// slot is taken, an argument is unclear, no appointment was found, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Planned<T> {
    Go(T),
    /// Speak `text` as a result (`is_error = false`) or as an error.
    Say {
        text: String,
        is_error: bool,
    },
}

/// A speakable answer computed by an activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Speech {
    pub text: String,
    #[serde(default)]
    pub is_error: bool,
}

/// An email the saga sends after its effects are done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDraft {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Input of `email.send`: idempotent on `idempotency_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmailInput {
    pub idempotency_key: String,
    pub email: EmailDraft,
}

/// A new appointment, fully decided by `booking.plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingPlan {
    pub agent_id: String,
    /// Idempotency key and calendar UID: `<workflow id>:<tool call id>`.
    pub key: String,
    pub start: String,
    pub end: String,
    pub timezone: String,
    pub customer_name: String,
    #[serde(default)]
    pub customer_phone: Option<String>,
    /// The call's verified number (`call.customer.number`, canonical), recorded as the
    /// appointment's `caller_number`: only calls from it find the appointment again. Absent in
    /// plans recorded before it (and for a withheld number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_number: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    pub event_summary: String,
    pub event_description: String,
    /// What to say when the booking succeeded.
    pub confirmation: String,
    /// What to say when the slot was taken in the meantime (alternatives for that day).
    pub slot_taken: String,
    #[serde(default)]
    pub email: Option<EmailDraft>,
}

/// What `booking.plan_and_record` did with a [`BookingPlan`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingStep {
    pub plan: BookingPlan,
    /// True when the appointment is recorded already: the embedded calendar, where the
    /// appointment row is the calendar event. False for an external calendar, where the saga
    /// creates the event and then records it.
    pub recorded: bool,
}

impl BookingPlan {
    /// The confirmation email, if the caller gave an address; idempotent on
    /// `<booking key>:confirmation`, whichever step sends it.
    pub fn confirmation_email(&self) -> Option<SendEmailInput> {
        self.email.clone().map(|email| SendEmailInput {
            idempotency_key: format!("{}:confirmation", self.key),
            email,
        })
    }
}

/// Input of `booking.confirmation_failed`: the confirmation email of the booking `booking_key`
/// failed for good after the caller had heard "booked".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationFailedInput {
    pub booking_key: String,
    pub agent_id: String,
    /// Why (the SMTP reply, recipient masked).
    pub error: String,
}

/// The idempotency key (and calendar UID) of a booking: `<workflow id>:<tool call id>`.
pub fn booking_key(workflow_id: &str, tool_call_id: &str) -> String {
    format!("{workflow_id}:{tool_call_id}")
}

/// Input of `calendar.create_event` (idempotent on `uid`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateEventInput {
    pub agent_id: String,
    pub uid: String,
    pub start: String,
    pub end: String,
    pub summary: String,
    pub description: String,
}

/// Input of `calendar.delete_event` (idempotent; a missing event is fine). `event_id` is
/// derived from the uid when the create step never returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteEventInput {
    pub agent_id: String,
    pub uid: String,
    #[serde(default)]
    pub event_id: Option<String>,
}

/// Input of `calendar.move_event`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveEventInput {
    pub agent_id: String,
    pub event_id: String,
    pub start: String,
    pub end: String,
}

/// Input of `appointments.record`: inserts the row (idempotent on `plan.key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordAppointmentInput {
    pub vapi_call_id: String,
    pub plan: BookingPlan,
    pub event_id: String,
}

/// Reference to an appointment row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentRef {
    pub appointment_id: String,
}

/// Input of `appointments.cancel` (by id, or by the booking key when the id is unknown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAppointmentInput {
    #[serde(default)]
    pub appointment_id: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Input of `appointments.set_time` (reschedule step and its compensation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAppointmentTimeInput {
    pub appointment_id: String,
    pub start: String,
    pub end: String,
}

/// A move of an existing appointment, fully decided by `reschedule.plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReschedulePlan {
    pub agent_id: String,
    pub appointment_id: String,
    pub event_id: Option<String>,
    pub old_start: String,
    pub old_end: String,
    pub new_start: String,
    pub new_end: String,
    pub confirmation: String,
    pub slot_taken: String,
    #[serde(default)]
    pub email: Option<EmailDraft>,
}

/// A cancellation, decided by `cancel.plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelPlan {
    pub agent_id: String,
    pub appointment_id: String,
    pub event_id: Option<String>,
    pub reason: Option<String>,
    pub confirmation: String,
    #[serde(default)]
    pub email: Option<EmailDraft>,
}

/// What `escalation.open` decided for an `escalate_to_human` tool call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationDecision {
    pub log_id: String,
    /// The number to transfer to (warm or blind per the agent's configuration), when an
    /// operator can take the call now.
    #[serde(default)]
    pub transfer_number: Option<String>,
    #[serde(default)]
    pub transfer_mode: Option<String>,
    /// The email asking the operator to call back, when nobody can take the call now.
    #[serde(default)]
    pub callback_email: Option<EmailDraft>,
    /// What the caller hears.
    pub say: String,
}

/// Input of `escalation.mark`: move an escalation log to a status (the compensation of
/// `escalation.open` marks it FAILED).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkEscalationInput {
    pub log_id: String,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
}
