//! `toolCallList[]` entries, with `function.arguments` normalised to a JSON object whether Vapi
//! sent it as a JSON string or as an object.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One tool call of a tool-calls message.
///
/// Arguments that cannot be read as a JSON object do not fail the message: `arguments` is then
/// empty and `arguments_error` says why (without echoing the arguments, which may hold PII), so
/// the handler can answer that one call with a speakable error.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "RawToolCall")]
pub struct ToolCall {
    /// `toolCallList[].id`; every answer entry must carry it as `toolCallId`.
    pub id: String,
    /// `type`, normally `function`.
    pub call_type: Option<String>,
    /// `function.name`.
    pub name: String,
    /// `function.arguments` as an object (empty when absent, empty or unreadable).
    pub arguments: Map<String, Value>,
    /// Why `function.arguments` could not be read, if it could not.
    pub arguments_error: Option<String>,
}

impl ToolCall {
    /// An argument by name.
    pub fn arg(&self, key: &str) -> Option<&Value> {
        self.arguments.get(key)
    }

    /// A string argument by name, trimmed; `None` when absent, not a string, or blank.
    pub fn arg_str(&self, key: &str) -> Option<&str> {
        self.arguments
            .get(key)?
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawToolCall {
    id: String,
    #[serde(rename = "type")]
    call_type: Option<String>,
    function: RawFunction,
}

#[derive(Deserialize)]
struct RawFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

impl From<RawToolCall> for ToolCall {
    fn from(raw: RawToolCall) -> Self {
        let (arguments, arguments_error) = match normalize_arguments(raw.function.arguments) {
            Ok(map) => (map, None),
            Err(reason) => (Map::new(), Some(reason)),
        };
        Self {
            id: raw.id,
            call_type: raw.call_type,
            name: raw.function.name,
            arguments,
            arguments_error,
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Normalises `function.arguments`: an object is taken as is, a string is parsed as JSON and must
/// hold an object; `null`, absence and a blank string mean "no arguments".
pub(crate) fn normalize_arguments(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        Value::String(text) if text.trim().is_empty() => Ok(Map::new()),
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(Value::Null) => Ok(Map::new()),
            Ok(other) => Err(format!(
                "arguments must be a JSON object, got {}",
                kind(&other)
            )),
            Err(e) => Err(format!("arguments are not valid JSON: {e}")),
        },
        other => Err(format!(
            "arguments must be a JSON object or a string holding one, got {}",
            kind(&other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(arguments: Value) -> ToolCall {
        serde_json::from_value(json!({
            "id": "call_1", "type": "function",
            "function": {"name": "check_availability", "arguments": arguments}
        }))
        .expect("tool call")
    }

    #[test]
    fn arguments_as_string_and_object_are_the_same() {
        let from_string = call(json!("{\"date\":\"2025-11-25\",\"durationMinutes\":30}"));
        let from_object = call(json!({"date": "2025-11-25", "durationMinutes": 30}));
        assert_eq!(from_string, from_object);
        assert_eq!(from_string.arg_str("date"), Some("2025-11-25"));
        assert_eq!(from_string.arg("durationMinutes"), Some(&json!(30)));
        assert_eq!(from_string.arguments_error, None);
        assert_eq!(from_string.call_type.as_deref(), Some("function"));
        assert_eq!(from_string.name, "check_availability");
    }

    #[test]
    fn missing_null_and_blank_arguments_are_empty() {
        for args in [
            Value::Null,
            json!(""),
            json!("  "),
            json!("null"),
            json!({}),
        ] {
            let c = call(args);
            assert!(c.arguments.is_empty());
            assert_eq!(c.arguments_error, None);
        }
        let c: ToolCall = serde_json::from_value(json!({"id": "x", "function": {"name": "hang"}}))
            .expect("no arguments");
        assert!(c.arguments.is_empty() && c.arguments_error.is_none());
        assert_eq!(c.call_type, None);
    }

    #[test]
    fn unreadable_arguments_keep_an_error_per_call() {
        let broken = call(json!("{\"date\":\"2025-11-25\""));
        assert!(broken.arguments.is_empty());
        let err = broken.arguments_error.expect("error kept");
        assert!(err.starts_with("arguments are not valid JSON: "), "{err}");
        assert!(!err.contains("2025-11-25"), "no argument echo: {err}");

        let array = call(json!("[1,2]"));
        assert_eq!(
            array.arguments_error.as_deref(),
            Some("arguments must be a JSON object, got an array")
        );
        let number = call(json!(42));
        assert_eq!(
            number.arguments_error.as_deref(),
            Some("arguments must be a JSON object or a string holding one, got a number")
        );
    }

    #[test]
    fn blank_string_arguments_are_absent() {
        let c = call(json!({"customerName": "  ", "date": 5}));
        assert_eq!(c.arg_str("customerName"), None);
        assert_eq!(c.arg_str("date"), None);
        assert_eq!(c.arg_str("missing"), None);
    }
}
