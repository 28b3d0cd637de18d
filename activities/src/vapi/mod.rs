//! Vapi server-URL messages: typed models and [`parse`] with human-readable errors. Shared by
//! the webhook gateway (`api`) and the activities that project events onto the database.
//! Webhook authentication is HTTP and lives in `api`. See `shared/vapi/README.md`.

#[macro_use]
mod open_enum;

pub mod call;
pub mod ended_reason;
pub mod limits;
pub mod messages;
pub mod parse;
pub mod tool_calls;

pub use call::{Call, CallStatus, CallType, Customer, Direction, PhoneNumber};
pub use ended_reason::{EndedCategory, EndedReason};
pub use limits::RequestLimits;
pub use messages::{
    Analysis, Artifact, ConversationUpdate, EndOfCallReport, Role, SpeechStatus, SpeechUpdate,
    StatusUpdate, ToolCalls, Transcript, TranscriptType, TransferDestination,
    TransferDestinationRequest, TransferUpdate, UserInterrupted, VapiMessage,
};
pub use parse::{
    CALL_ID_CHARS, Envelope, MAX_CALL_ID_LEN, ParseError, ParsedMessage, parse, parse_with,
    validate_call_id, validate_tool_call_id,
};
pub use tool_calls::ToolCall;
