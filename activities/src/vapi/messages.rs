//! Typed models of the Vapi server messages callsaga handles. They tolerate unknown fields and
//! unknown enum values; the fields every message shares (`call`, `customer`, `phoneNumber`,
//! `timestamp`) live on [`super::Envelope`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::call::opt_timestamp;
use super::ended_reason::EndedReason;
use super::tool_calls::ToolCall;

/// A Vapi message, by `message.type`.
#[derive(Clone, Debug, PartialEq)]
pub enum VapiMessage {
    /// `status-update`.
    StatusUpdate(StatusUpdate),
    /// `conversation-update`.
    ConversationUpdate(ConversationUpdate),
    /// `transcript` (also `transcript[transcriptType="final"]`).
    Transcript(Transcript),
    /// `speech-update`.
    SpeechUpdate(SpeechUpdate),
    /// `tool-calls` (expects an answer).
    ToolCalls(ToolCalls),
    /// `assistant-request` (expects an answer); the call, number and customer are on the envelope.
    AssistantRequest,
    /// `transfer-destination-request` (expects an answer).
    TransferDestinationRequest(TransferDestinationRequest),
    /// `transfer-update`.
    TransferUpdate(TransferUpdate),
    /// `user-interrupted`.
    UserInterrupted(UserInterrupted),
    /// `hang`: the assistant did not answer in time.
    Hang,
    /// `end-of-call-report`.
    EndOfCallReport(Box<EndOfCallReport>),
    /// A type this version does not know: acknowledge with 2xx and log.
    Unknown {
        /// `message.type` as sent.
        message_type: String,
    },
}

impl VapiMessage {
    /// The canonical `message.type` (`transcript` for `transcript[transcriptType="final"]`; the
    /// raw type for unknown messages).
    pub fn message_type(&self) -> &str {
        match self {
            Self::StatusUpdate(_) => "status-update",
            Self::ConversationUpdate(_) => "conversation-update",
            Self::Transcript(_) => "transcript",
            Self::SpeechUpdate(_) => "speech-update",
            Self::ToolCalls(_) => "tool-calls",
            Self::AssistantRequest => "assistant-request",
            Self::TransferDestinationRequest(_) => "transfer-destination-request",
            Self::TransferUpdate(_) => "transfer-update",
            Self::UserInterrupted(_) => "user-interrupted",
            Self::Hang => "hang",
            Self::EndOfCallReport(_) => "end-of-call-report",
            Self::Unknown { message_type } => message_type,
        }
    }

    /// Whether Vapi waits for an answer body (`assistant-request`, `tool-calls`,
    /// `transfer-destination-request`).
    pub fn expects_response(&self) -> bool {
        matches!(
            self,
            Self::AssistantRequest | Self::ToolCalls(_) | Self::TransferDestinationRequest(_)
        )
    }
}

/// `status-update`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdate {
    /// New call status.
    pub status: super::CallStatus,
    /// Set when `status` is `ended`.
    pub ended_reason: Option<EndedReason>,
    /// Where the call is forwarded to, when `status` is `forwarding`.
    pub destination: Option<TransferDestination>,
}

/// `end-of-call-report`. Vapi has moved fields into `artifact` / `analysis` over time; use the
/// accessor methods, which look in both places.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndOfCallReport {
    /// Why the call ended (filled from `call.endedReason` when absent at the top).
    pub ended_reason: Option<EndedReason>,
    /// When the call connected (filled from `call.startedAt` when absent).
    #[serde(default, deserialize_with = "opt_timestamp")]
    pub started_at: Option<DateTime<Utc>>,
    /// When the call ended (filled from `call.endedAt` when absent).
    #[serde(default, deserialize_with = "opt_timestamp")]
    pub ended_at: Option<DateTime<Utc>>,
    /// `durationMs`.
    pub duration_ms: Option<f64>,
    /// `durationSeconds`.
    pub duration_seconds: Option<f64>,
    /// `durationMinutes`.
    pub duration_minutes: Option<f64>,
    /// Total cost in USD (filled from `call.cost` when absent).
    pub cost: Option<f64>,
    /// Cost breakdown, as sent.
    pub costs: Option<Value>,
    /// `analysis` (summary, success evaluation, structured data).
    pub analysis: Option<Analysis>,
    /// `artifact` (transcript, recording, messages).
    pub artifact: Option<Artifact>,
    /// Legacy top-level `summary`.
    pub summary: Option<String>,
    /// Legacy top-level `transcript`.
    pub transcript: Option<String>,
    /// Legacy top-level `recordingUrl`.
    pub recording_url: Option<String>,
    /// Legacy top-level `messages`.
    pub messages: Option<Value>,
}

impl EndOfCallReport {
    /// `analysis.summary`, else the top-level `summary`.
    pub fn summary(&self) -> Option<&str> {
        self.analysis
            .as_ref()
            .and_then(|a| a.summary.as_deref())
            .or(self.summary.as_deref())
    }

    /// `artifact.transcript`, else the top-level `transcript`.
    pub fn transcript(&self) -> Option<&str> {
        self.artifact
            .as_ref()
            .and_then(|a| a.transcript.as_deref())
            .or(self.transcript.as_deref())
    }

    /// `artifact.recordingUrl`, else the top-level `recordingUrl`.
    pub fn recording_url(&self) -> Option<&str> {
        self.artifact
            .as_ref()
            .and_then(|a| a.recording_url.as_deref())
            .or(self.recording_url.as_deref())
    }

    /// `artifact.messages`, else the top-level `messages` (unmodelled JSON).
    pub fn messages(&self) -> Option<&Value> {
        self.artifact
            .as_ref()
            .and_then(|a| a.messages.as_ref())
            .or(self.messages.as_ref())
    }

    /// Call duration in whole milliseconds: `durationMs`, else `durationSeconds`, else
    /// `durationMinutes`, else `endedAt - startedAt`.
    pub fn duration_ms(&self) -> Option<u64> {
        let from_fields = self
            .duration_ms
            .or(self.duration_seconds.map(|s| s * 1e3))
            .or(self.duration_minutes.map(|m| m * 6e4))
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map(|ms| ms.round() as u64);
        from_fields.or_else(|| {
            let span = self.ended_at? - self.started_at?;
            u64::try_from(span.num_milliseconds()).ok()
        })
    }
}

/// `end-of-call-report.analysis`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// Summary of the call.
    pub summary: Option<String>,
    /// Success evaluation (a string such as `"true"`, a number or a boolean, per rubric).
    pub success_evaluation: Option<Value>,
    /// Structured data extracted by the analysis plan.
    pub structured_data: Option<Value>,
}

/// `end-of-call-report.artifact`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Plain-text transcript (`AI: ...\nUser: ...`).
    pub transcript: Option<String>,
    /// Mono recording URL.
    pub recording_url: Option<String>,
    /// Stereo recording URL.
    pub stereo_recording_url: Option<String>,
    /// Conversation messages (unmodelled JSON).
    pub messages: Option<Value>,
    /// Transfers attempted during the call (unmodelled JSON).
    pub transfers: Option<Value>,
}

open_enum! {
    /// Who spoke (`transcript.role`, `speech-update.role`).
    pub enum Role {
        /// The caller.
        User => "user",
        /// The AI assistant.
        Assistant => "assistant",
    }
}

open_enum! {
    /// `transcriptType`.
    pub enum TranscriptType {
        /// Interim text, may still change.
        Partial => "partial",
        /// Final text of an utterance.
        Final => "final",
    }
}

open_enum! {
    /// `speech-update.status`.
    pub enum SpeechStatus {
        /// Speech started.
        Started => "started",
        /// Speech stopped.
        Stopped => "stopped",
    }
}

/// `transcript`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transcript {
    /// Speaker.
    pub role: Option<Role>,
    /// `partial` or `final` (taken from the type string when only that carries it).
    pub transcript_type: Option<TranscriptType>,
    /// The text.
    #[serde(default)]
    pub transcript: String,
}

/// `speech-update`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeechUpdate {
    /// `started` / `stopped`.
    pub status: Option<SpeechStatus>,
    /// Speaker.
    pub role: Option<Role>,
    /// Turn number.
    pub turn: Option<f64>,
}

/// `conversation-update`: the conversation so far, unmodelled.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationUpdate {
    /// `messages` (Vapi format).
    pub messages: Option<Value>,
    /// `messagesOpenAIFormatted`.
    #[serde(rename = "messagesOpenAIFormatted")]
    pub messages_openai_formatted: Option<Value>,
    /// Legacy `conversation`.
    pub conversation: Option<Value>,
}

impl ConversationUpdate {
    /// Number of messages: `messages`, else `conversation`, else `messagesOpenAIFormatted`.
    pub fn message_count(&self) -> usize {
        [
            &self.messages,
            &self.conversation,
            &self.messages_openai_formatted,
        ]
        .into_iter()
        .find_map(|v| v.as_ref()?.as_array().map(Vec::len))
        .unwrap_or(0)
    }
}

/// `tool-calls`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolCalls {
    /// The calls to answer, one result per entry.
    pub tool_call_list: Vec<ToolCall>,
}

/// A transfer destination (`destination` of transfer-update, status-update `forwarding`, ...).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferDestination {
    /// `number`, `sip` or `assistant`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Number for `number` destinations.
    pub number: Option<String>,
    /// SIP URI for `sip` destinations.
    pub sip_uri: Option<String>,
    /// Assistant name for `assistant` destinations.
    pub assistant_name: Option<String>,
    /// What the assistant says before transferring (string or message object).
    pub message: Option<Value>,
    /// Description of the destination.
    pub description: Option<String>,
    /// Everything else (transfer plan, extension, caller id, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `transfer-destination-request`; answer with `{"destination": ...}` or `{"error": ...}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferDestinationRequest {
    /// The call artifact so far (unmodelled JSON), if sent.
    pub artifact: Option<Value>,
}

/// `transfer-update`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferUpdate {
    /// Where the call is being transferred to.
    pub destination: Option<TransferDestination>,
    /// Transfer status, when Vapi sends one.
    pub status: Option<String>,
    /// Transfer mode (e.g. `blind-transfer`, `warm-transfer-...`), when sent.
    pub mode: Option<String>,
    /// Assistant handing over (squads), unmodelled.
    pub from_assistant: Option<Value>,
    /// Assistant taking over (squads), unmodelled.
    pub to_assistant: Option<Value>,
}

/// `user-interrupted`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInterrupted {
    /// Id of the interrupted turn, when sent.
    pub turn_id: Option<String>,
}
