//! Bounds on what one webhook request may ask of us (`webhook.limits`), applied by
//! [`super::parse_with`] to the raw message before anything is typed or stored.
//!
//! What happens over a limit is decided per item:
//! - more tool calls in one `toolCallList` than `max_tool_calls`, or one tool call's
//!   `function.arguments` larger than `max_tool_argument_bytes`: the request is refused (400 with
//!   the reason). Vapi needs one result per tool call id, so a partial answer is no answer; no
//!   assistant sends such a turn, so it is a broken or hostile sender.
//! - more messages than `max_stored_messages` in a transcript array of a stored event
//!   (`messages`, `messagesOpenAIFormatted`, and the same under `artifact`): the oldest are
//!   dropped from what the inbox stores, the newest kept. Refusing would lose the call's
//!   end-of-call report (and its bill) to a long conversation; the transcript text and the
//!   newest messages still arrive.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::parse::ParseError;

/// `webhook.limits`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestLimits {
    /// Most entries in one `toolCallList` (default 32).
    pub max_tool_calls: usize,
    /// Largest `function.arguments` of one tool call, in bytes as sent (the string, or the
    /// object serialised compactly); default 16 KiB.
    pub max_tool_argument_bytes: usize,
    /// Most messages kept in each transcript array of a stored event (default 1000; the oldest
    /// beyond it are dropped).
    pub max_stored_messages: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_tool_calls: 32,
            max_tool_argument_bytes: 16 * 1024,
            max_stored_messages: 1000,
        }
    }
}

impl RequestLimits {
    /// No bounds: for re-reading events that were bounded when they were received.
    pub fn unbounded() -> Self {
        Self {
            max_tool_calls: usize::MAX,
            max_tool_argument_bytes: usize::MAX,
            max_stored_messages: usize::MAX,
        }
    }
}

fn over(path: String, reason: String) -> ParseError {
    ParseError::OverLimit { path, reason }
}

/// Refuses a `toolCallList` with too many entries or too large arguments.
pub(crate) fn check_tool_calls(
    message: &Map<String, Value>,
    limits: &RequestLimits,
) -> Result<(), ParseError> {
    let Some(Value::Array(list)) = message.get("toolCallList") else {
        // Absent or mistyped: the typed parse reports it with its path.
        return Ok(());
    };
    if list.len() > limits.max_tool_calls {
        return Err(over(
            "message.toolCallList".to_owned(),
            format!(
                "{} tool calls, at most {} allowed",
                list.len(),
                limits.max_tool_calls
            ),
        ));
    }
    for (i, call) in list.iter().enumerate() {
        let Some(arguments) = call.get("function").and_then(|f| f.get("arguments")) else {
            continue;
        };
        let size = argument_bytes(arguments);
        if size > limits.max_tool_argument_bytes {
            return Err(over(
                format!("message.toolCallList[{i}].function.arguments"),
                format!(
                    "{size} bytes, at most {} allowed",
                    limits.max_tool_argument_bytes
                ),
            ));
        }
    }
    Ok(())
}

/// The size of `function.arguments` as sent: a string's length, else the compact JSON's.
fn argument_bytes(arguments: &Value) -> usize {
    match arguments {
        Value::String(text) => text.len(),
        other => {
            let mut counter = ByteCounter(0);
            // Writing into a counter cannot fail.
            let _ = serde_json::to_writer(&mut counter, other);
            counter.0
        }
    }
}

struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The transcript arrays a stored event may carry, relative to `message`.
const MESSAGE_ARRAYS: [&[&str]; 4] = [
    &["messages"],
    &["messagesOpenAIFormatted"],
    &["artifact", "messages"],
    &["artifact", "messagesOpenAIFormatted"],
];

/// Drops the oldest entries of every transcript array longer than `max`, in place; returns how
/// many were dropped in all.
pub(crate) fn truncate_messages(message: &mut Map<String, Value>, max: usize) -> usize {
    let mut dropped = 0;
    for path in MESSAGE_ARRAYS {
        if let Some(list) = array_at(message, path)
            && list.len() > max
        {
            let excess = list.len() - max;
            list.drain(..excess);
            dropped += excess;
        }
    }
    dropped
}

fn array_at<'m>(message: &'m mut Map<String, Value>, path: &[&str]) -> Option<&'m mut Vec<Value>> {
    let (last, parents) = path.split_last()?;
    let mut at = message;
    for key in parents {
        at = at.get_mut(*key)?.as_object_mut()?;
    }
    at.get_mut(*last)?.as_array_mut()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn the_newest_messages_are_kept() {
        let mut m = map(json!({
            "messages": [1, 2, 3, 4],
            "artifact": {"messages": [1, 2, 3], "messagesOpenAIFormatted": [1, 2]},
            "messagesOpenAIFormatted": "not an array",
        }));
        assert_eq!(truncate_messages(&mut m, 2), 3);
        assert_eq!(m["messages"], json!([3, 4]));
        assert_eq!(m["artifact"]["messages"], json!([2, 3]));
        assert_eq!(m["artifact"]["messagesOpenAIFormatted"], json!([1, 2]));
        assert_eq!(truncate_messages(&mut m, 2), 0);
    }

    #[test]
    fn argument_size_counts_both_forms_alike() {
        let object = json!({"date": "2026-11-24", "n": 3});
        let text = Value::String(object.to_string());
        assert_eq!(argument_bytes(&object), argument_bytes(&text));
        assert_eq!(argument_bytes(&text), object.to_string().len());
    }
}
