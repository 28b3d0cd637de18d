//! Parsing a webhook body into an [`Envelope`], with human-readable errors.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::call::{Call, Customer, PhoneNumber, opt_timestamp};
use super::limits::{self, RequestLimits};
use super::messages::{TranscriptType, VapiMessage};

/// A parsed webhook: the typed message plus the fields every message shares.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The typed message.
    pub message: VapiMessage,
    /// `message.type` exactly as sent (e.g. `transcript[transcriptType="final"]`).
    pub raw_type: String,
    /// `message.timestamp` (Vapi sends epoch milliseconds).
    pub timestamp: Option<DateTime<Utc>>,
    /// `message.call`.
    pub call: Option<Call>,
    /// `message.customer` (the call's customer is usually the same; see [`Envelope::customer_number`]).
    pub customer: Option<Customer>,
    /// `message.phoneNumber`.
    pub phone_number: Option<PhoneNumber>,
    /// What to store instead of the body as received, when [`RequestLimits::max_stored_messages`]
    /// dropped transcript messages (the same bytes for the same body, so a re-delivery is still
    /// recognised as a duplicate).
    pub stored_body: Option<Vec<u8>>,
    /// How many transcript messages were dropped from [`Envelope::stored_body`].
    pub dropped_messages: usize,
}

/// What [`parse`] returns.
pub type ParsedMessage = Envelope;

impl Envelope {
    /// Canonical message type (see [`VapiMessage::message_type`]).
    pub fn message_type(&self) -> &str {
        self.message.message_type()
    }

    /// `message.call.id`; guaranteed for every known type except assistant-request.
    pub fn call_id(&self) -> Option<&str> {
        self.call
            .as_ref()
            .map(|c| c.id.as_str())
            .filter(|id| !id.is_empty())
    }

    /// `message.call`.
    pub fn call(&self) -> Option<&Call> {
        self.call.as_ref()
    }

    /// `call.customer.number`, else `message.customer.number`.
    pub fn customer_number(&self) -> Option<&str> {
        self.call
            .as_ref()
            .and_then(Call::customer_number)
            .or_else(|| self.customer.as_ref()?.number.as_deref())
    }

    /// `call.phoneNumberId`, else `message.phoneNumber.id`.
    pub fn phone_number_id(&self) -> Option<&str> {
        self.call
            .as_ref()
            .and_then(|c| c.phone_number_id.as_deref())
            .or_else(|| self.phone_number.as_ref()?.id.as_deref())
    }

    /// `call.assistantId`, else the assistant configured on `message.phoneNumber`.
    pub fn assistant_id(&self) -> Option<&str> {
        self.call
            .as_ref()
            .and_then(|c| c.assistant_id.as_deref())
            .or_else(|| self.phone_number.as_ref()?.assistant_id.as_deref())
    }

    /// `call.orgId`.
    pub fn org_id(&self) -> Option<&str> {
        self.call.as_ref()?.org_id.as_deref()
    }
}

/// Why a webhook body could not be parsed. `Display` is a clear reason fit for a 400 answer and
/// logs; it never includes field values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON.
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("body must be a JSON object")]
    NotObject,
    /// No `message`.
    #[error("missing field `message`")]
    MissingMessage,
    /// `message` is not an object.
    #[error("`message` must be an object")]
    MessageNotObject,
    /// No `message.type`.
    #[error("missing field `message.type`")]
    MissingType,
    /// `message.type` is not a string.
    #[error("`message.type` must be a string")]
    TypeNotString,
    /// A type that is about a call came without `message.call.id`.
    #[error("field `message.call.id` is required for {message_type}")]
    MissingCallId {
        /// Canonical message type.
        message_type: String,
    },
    /// `message.call.id` cannot name a workflow (too long, or characters outside
    /// [`CALL_ID_CHARS`]): Temporal would reject it later, so it is refused at the door.
    #[error("`message.call.id` is not a valid call id: {reason}")]
    InvalidCallId {
        /// What is wrong with it (never the id itself).
        reason: String,
    },
    /// A `toolCallList[].id` that cannot be an update id (empty, too long, or characters
    /// outside [`CALL_ID_CHARS`]).
    #[error("`message.toolCallList[{index}].id` is not a valid tool call id: {reason}")]
    InvalidToolCallId {
        /// Position in `toolCallList`.
        index: usize,
        /// What is wrong with it (never the id itself).
        reason: String,
    },
    /// The request asks for more than [`RequestLimits`] allow.
    #[error("`{path}` is over the limit: {reason}")]
    OverLimit {
        /// Path of the offending value, e.g. `message.toolCallList`.
        path: String,
        /// How large it is and what is allowed.
        reason: String,
    },
    /// A field has the wrong type or a required field is missing.
    #[error("invalid {message_type} at `{path}`: {reason}")]
    InvalidField {
        /// Canonical message type.
        message_type: String,
        /// Path of the offending value, e.g. `message.toolCallList[0].function`.
        path: String,
        /// What is wrong, e.g. "missing field `name`".
        reason: String,
    },
}

impl ParseError {
    /// A stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotJson(_) => "not_json",
            Self::NotObject => "not_object",
            Self::MissingMessage => "missing_message",
            Self::MessageNotObject => "message_not_object",
            Self::MissingType => "missing_type",
            Self::TypeNotString => "type_not_string",
            Self::MissingCallId { .. } => "missing_call_id",
            Self::InvalidCallId { .. } => "invalid_call_id",
            Self::InvalidToolCallId { .. } => "invalid_tool_call_id",
            Self::OverLimit { .. } => "over_limit",
            Self::InvalidField { .. } => "invalid_field",
        }
    }
}

/// Longest call id accepted. Vapi's are UUIDs (36 characters); the workflow id
/// `call-<id>` must stay far below Temporal's limit on ids (1,000 bytes by default).
pub const MAX_CALL_ID_LEN: usize = 128;

/// What a call id may contain besides ASCII letters and digits.
pub const CALL_ID_CHARS: &str = "-_.:";

/// Checks that `id` can become the workflow id `call-<id>`.
pub fn validate_call_id(id: &str) -> Result<(), ParseError> {
    match id_problem(id) {
        Some(reason) => Err(ParseError::InvalidCallId { reason }),
        None => Ok(()),
    }
}

/// Checks a `toolCallList[].id`: it is the `tool_call` update id and the key of the tool call's
/// claim, so it follows the call id's rules and must not be empty.
pub fn validate_tool_call_id(index: usize, id: &str) -> Result<(), ParseError> {
    let problem = if id.is_empty() {
        Some("it is empty".to_owned())
    } else {
        id_problem(id)
    };
    match problem {
        Some(reason) => Err(ParseError::InvalidToolCallId { index, reason }),
        None => Ok(()),
    }
}

/// What makes `id` unfit for an id we hand to Temporal, if anything.
fn id_problem(id: &str) -> Option<String> {
    if id.len() > MAX_CALL_ID_LEN {
        Some(format!(
            "{} bytes long, at most {MAX_CALL_ID_LEN} allowed",
            id.len()
        ))
    } else {
        id.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || CALL_ID_CHARS.contains(*c)))
            .map(|c| {
                format!(
                    "contains {:?}; only ASCII letters, digits and {CALL_ID_CHARS:?} are allowed",
                    c.escape_default().to_string()
                )
            })
    }
}

/// The fields every message shares.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Common {
    #[serde(default, deserialize_with = "opt_timestamp")]
    timestamp: Option<DateTime<Utc>>,
    call: Option<Call>,
    customer: Option<Customer>,
    phone_number: Option<PhoneNumber>,
}

/// The canonical form of a `message.type`: whatever precedes a `[...]` qualifier, trimmed.
pub(crate) fn canonical_type(raw: &str) -> &str {
    raw.split('[').next().unwrap_or(raw).trim()
}

/// The value of `key="value"` (or `key=value`) in a `type[key="value"]` qualifier.
fn qualifier<'a>(raw: &'a str, key: &str) -> Option<&'a str> {
    let inner = raw.split_once('[')?.1.trim_end().strip_suffix(']')?;
    inner.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').trim_matches('\''))
    })
}

fn typed<T: DeserializeOwned>(value: Value, message_type: &str) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value).map_err(|e| invalid(e, message_type))
}

fn invalid(e: serde_path_to_error::Error<serde_json::Error>, message_type: &str) -> ParseError {
    let path = e.path().to_string();
    let path = if path == "." {
        "message".to_owned()
    } else {
        format!("message.{path}")
    };
    ParseError::InvalidField {
        message_type: message_type.to_owned(),
        path,
        reason: without_values(&e.into_inner().to_string()),
    }
}

/// Drops the offending value from serde's "invalid type: string \"...\", expected ..." texts,
/// so that errors (answered and logged) never carry caller data.
fn without_values(reason: &str) -> String {
    if !(reason.starts_with("invalid type: ") || reason.starts_with("invalid value: ")) {
        return reason.to_owned();
    }
    let (head, tail) = reason.rsplit_once(", expected ").unwrap_or((reason, ""));
    let head = [" \"", " `"]
        .iter()
        .filter_map(|quote| head.find(quote))
        .min()
        .map_or(head, |at| &head[..at]);
    if tail.is_empty() {
        head.to_owned()
    } else {
        format!("{head}, expected {tail}")
    }
}

fn has_call_id(message: &Map<String, Value>) -> bool {
    match message.get("call").and_then(|c| c.get("id")) {
        None | Some(Value::Null) => false,
        Some(Value::String(id)) => !id.trim().is_empty(),
        // A non-string id is reported with its path by the typed parse.
        Some(_) => true,
    }
}

/// Parses a webhook body (`{"message": {"type": ..., ...}}`) without bounds: for events that
/// were bounded when they were received (the inbox's). Unknown types parse to
/// [`VapiMessage::Unknown`] and never fail, whatever else they carry.
pub fn parse(body: &[u8]) -> Result<ParsedMessage, ParseError> {
    parse_with(body, &RequestLimits::unbounded())
}

/// Parses a webhook body as received, within `limits` (see [`super::limits`]): what the
/// webhook handler calls, and what the `webhook_parse` fuzz target runs.
pub fn parse_with(body: &[u8], limits: &RequestLimits) -> Result<ParsedMessage, ParseError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Value::Object(mut root) = root else {
        return Err(ParseError::NotObject);
    };
    let mut message = match root.remove("message") {
        None | Some(Value::Null) => return Err(ParseError::MissingMessage),
        Some(Value::Object(message)) => message,
        Some(_) => return Err(ParseError::MessageNotObject),
    };
    let raw_type = match message.get("type") {
        None | Some(Value::Null) => return Err(ParseError::MissingType),
        Some(Value::String(t)) => t.clone(),
        Some(_) => return Err(ParseError::TypeNotString),
    };
    let canonical = canonical_type(&raw_type);
    let known = matches!(
        canonical,
        "status-update"
            | "conversation-update"
            | "transcript"
            | "speech-update"
            | "tool-calls"
            | "assistant-request"
            | "transfer-destination-request"
            | "transfer-update"
            | "user-interrupted"
            | "hang"
            | "end-of-call-report"
    );
    if known && canonical != "assistant-request" && !has_call_id(&message) {
        return Err(ParseError::MissingCallId {
            message_type: canonical.to_owned(),
        });
    }
    if canonical == "tool-calls" {
        limits::check_tool_calls(&message, limits)?;
    }
    let dropped_messages = if known {
        limits::truncate_messages(&mut message, limits.max_stored_messages)
    } else {
        0
    };
    let stored_body = (dropped_messages > 0).then(|| {
        root.insert(
            "message".to_owned(),
            Value::Object(std::mem::take(&mut message)),
        );
        let bytes = serde_json::to_vec(&root).unwrap_or_default();
        if let Some(Value::Object(back)) = root.remove("message") {
            message = back;
        }
        bytes
    });

    let value = Value::Object(message);
    let common: Common = if known {
        serde_path_to_error::deserialize(&value).map_err(|e| invalid(e, canonical))?
    } else {
        Common::deserialize(&value).unwrap_or_default()
    };
    if known && let Some(call) = &common.call {
        validate_call_id(&call.id)?;
    }
    let message = match canonical {
        "status-update" => VapiMessage::StatusUpdate(typed(value, canonical)?),
        "conversation-update" => VapiMessage::ConversationUpdate(typed(value, canonical)?),
        "transcript" => {
            let mut t: super::Transcript = typed(value, canonical)?;
            if t.transcript_type.is_none() {
                t.transcript_type =
                    qualifier(&raw_type, "transcriptType").map(TranscriptType::from);
            }
            VapiMessage::Transcript(t)
        }
        "speech-update" => VapiMessage::SpeechUpdate(typed(value, canonical)?),
        "tool-calls" => {
            let calls: super::ToolCalls = typed(value, canonical)?;
            for (index, call) in calls.tool_call_list.iter().enumerate() {
                validate_tool_call_id(index, &call.id)?;
            }
            VapiMessage::ToolCalls(calls)
        }
        "assistant-request" => VapiMessage::AssistantRequest,
        "transfer-destination-request" => {
            VapiMessage::TransferDestinationRequest(typed(value, canonical)?)
        }
        "transfer-update" => VapiMessage::TransferUpdate(typed(value, canonical)?),
        "user-interrupted" => VapiMessage::UserInterrupted(typed(value, canonical)?),
        "hang" => VapiMessage::Hang,
        "end-of-call-report" => {
            let mut report: super::EndOfCallReport = typed(value, canonical)?;
            if let Some(call) = &common.call {
                report.ended_reason = report.ended_reason.or_else(|| call.ended_reason.clone());
                report.started_at = report.started_at.or(call.started_at);
                report.ended_at = report.ended_at.or(call.ended_at);
                report.cost = report.cost.or(call.cost);
            }
            VapiMessage::EndOfCallReport(Box::new(report))
        }
        _ => VapiMessage::Unknown {
            message_type: raw_type.clone(),
        },
    };
    Ok(Envelope {
        message,
        raw_type,
        timestamp: common.timestamp,
        call: common.call,
        customer: common.customer,
        phone_number: common.phone_number,
        stored_body,
        dropped_messages,
    })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "samples_tests.rs"]
mod samples_tests;
