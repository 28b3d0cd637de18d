//! What a tool answer told the caller, read from the words the caller heard (the service's
//! English answers: the demo agent speaks English). The invariant report checks each against
//! the database.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// "Your appointment on … is booked".
    Booked,
    /// A booking refused (slot taken, outside hours, a clarification): nothing booked.
    NotBooked,
    Moved,
    NotMoved,
    Cancelled,
    NotCancelled,
    /// Accepted and under way at the deadline: it completes durably.
    Confirming,
    /// "The business will call you back (about it)": a callback request is recorded.
    Callback,
    /// "Please try again later": nothing recorded, nothing done.
    TryLater,
    /// The escalation transfers the call.
    Transfer,
    /// A read-only answer (free times, operator availability).
    Answered,
    /// The tool does not exist: "I can't do that here".
    Refused,
    /// No answer at all (every delivery failed).
    NoAnswer,
}

/// The outcome of `tool`'s answer `text` (`error` when it came as `error`).
pub(crate) fn classify(tool: &str, text: &str) -> Outcome {
    let t = text.to_lowercase();
    if t.contains("confirming that now") {
        return Outcome::Confirming;
    }
    if t.contains("will call you back")
        && (t.contains("can't confirm") || t.contains("can't do that right now"))
    {
        return Outcome::Callback;
    }
    if t.contains("try again a little later") || t.contains("call again later") {
        return Outcome::TryLater;
    }
    match tool {
        "book_appointment" if t.contains("is booked") => Outcome::Booked,
        "book_appointment" => Outcome::NotBooked,
        "reschedule_appointment" if t.contains("is moved") => Outcome::Moved,
        "reschedule_appointment" => Outcome::NotMoved,
        "cancel_appointment" if t.contains("is cancelled") => Outcome::Cancelled,
        "cancel_appointment" => Outcome::NotCancelled,
        "escalate_to_human" if t.contains("connecting you") => Outcome::Transfer,
        "escalate_to_human" if t.contains("call you back") => Outcome::Callback,
        "escalate_to_human" => Outcome::Answered,
        _ if t.contains("can't do that here") => Outcome::Refused,
        _ => Outcome::Answered,
    }
}

/// One tool answer the simulator heard.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Heard {
    pub(crate) vapi_call_id: String,
    pub(crate) tool_call_id: String,
    pub(crate) tool: String,
    pub(crate) outcome: Outcome,
    pub(crate) text: String,
}

/// The spoken text of a tool-calls answer for `tool_call_id`.
pub(crate) fn spoken(body: &str, tool_call_id: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let r = v["results"]
        .as_array()?
        .iter()
        .find(|r| r["toolCallId"] == tool_call_id)?;
    r["result"]
        .as_str()
        .or(r["error"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_the_way_a_caller_hears_them() {
        let c = classify;
        assert_eq!(
            c(
                "book_appointment",
                "Your appointment on Tuesday, 8 December at 10:30 is booked, Anna Koch."
            ),
            Outcome::Booked
        );
        assert_eq!(
            c(
                "book_appointment",
                "I'm sorry, Tuesday at 10:30 was just taken. 11:00 is free."
            ),
            Outcome::NotBooked
        );
        assert_eq!(
            c(
                "book_appointment",
                "I'm confirming that now; you'll get the confirmation by email."
            ),
            Outcome::Confirming
        );
        assert_eq!(
            c(
                "book_appointment",
                "I can't confirm that right now. The business will call you back about it."
            ),
            Outcome::Callback
        );
        assert_eq!(
            c(
                "cancel_appointment",
                "I'm sorry, I can't do that right now. The business will call you back."
            ),
            Outcome::Callback
        );
        assert_eq!(
            c(
                "book_appointment",
                "I'm sorry, I can't do that right now. Please try again a little later."
            ),
            Outcome::TryLater
        );
        assert_eq!(
            c(
                "reschedule_appointment",
                "Done: your appointment is moved from a to b."
            ),
            Outcome::Moved
        );
        assert_eq!(
            c("cancel_appointment", "Your appointment on x is cancelled."),
            Outcome::Cancelled
        );
        assert_eq!(
            c(
                "escalate_to_human",
                "I'm connecting you with a colleague now."
            ),
            Outcome::Transfer
        );
        assert_eq!(
            c(
                "escalate_to_human",
                "Our team isn't available right now. A colleague will call you back as soon as possible."
            ),
            Outcome::Callback
        );
        assert_eq!(
            c("order_pizza", "Sorry, I can't do that here."),
            Outcome::Refused
        );
        assert_eq!(
            c("check_availability", "On Tuesday I have 9:00 or 10:30."),
            Outcome::Answered
        );
    }

    #[test]
    fn the_spoken_text_is_the_result_or_the_error_of_that_tool_call() {
        let body = r#"{"results":[{"name":"a","toolCallId":"x","result":"hi"},{"name":"b","toolCallId":"y","error":"no"}]}"#;
        assert_eq!(spoken(body, "x").as_deref(), Some("hi"));
        assert_eq!(spoken(body, "y").as_deref(), Some("no"));
        assert_eq!(spoken(body, "z"), None);
    }
}
