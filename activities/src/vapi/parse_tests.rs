use serde_json::json;

use super::*;
use crate::vapi::{CallStatus, Direction, EndedCategory, Role, SpeechStatus, TranscriptType};

fn err(body: &str) -> ParseError {
    parse(body.as_bytes()).expect_err("should fail")
}

#[test]
fn qualified_transcript_type() {
    let body = json!({"message": {"type": "transcript[transcriptType=\"final\"]", "role": "assistant",
        "transcript": "Gern.", "call": {"id": "c1"}}});
    let env = parse(body.to_string().as_bytes()).expect("parses");
    assert_eq!(env.message_type(), "transcript");
    assert_eq!(env.raw_type, "transcript[transcriptType=\"final\"]");
    let VapiMessage::Transcript(t) = &env.message else {
        panic!("{:?}", env.message)
    };
    assert_eq!(t.transcript_type, Some(TranscriptType::Final));
    assert_eq!(t.role, Some(Role::Assistant));
}

#[test]
fn small_types_parse() {
    let parse_json = |v: serde_json::Value| parse(v.to_string().as_bytes()).expect("parses");
    let call = json!({"id": "c1"});
    let env = parse_json(json!({"message": {"type": "hang", "call": call}}));
    assert_eq!(
        (env.message_type(), &env.message),
        ("hang", &VapiMessage::Hang)
    );
    let env = parse_json(
        json!({"message": {"type": "speech-update", "status": "started",
        "role": "user", "turn": 2, "call": call}}),
    );
    let VapiMessage::SpeechUpdate(s) = &env.message else {
        panic!("{:?}", env.message)
    };
    assert_eq!(
        (s.status.clone(), s.role.clone()),
        (Some(SpeechStatus::Started), Some(Role::User))
    );
    let env =
        parse_json(json!({"message": {"type": "user-interrupted", "turnId": "t9", "call": call}}));
    let VapiMessage::UserInterrupted(u) = &env.message else {
        panic!("{:?}", env.message)
    };
    assert_eq!(u.turn_id.as_deref(), Some("t9"));
    let env =
        parse_json(json!({"message": {"type": "transfer-destination-request", "call": call}}));
    assert!(env.message.expects_response());
    assert_eq!(env.message_type(), "transfer-destination-request");
    let env = parse_json(
        json!({"message": {"type": "status-update", "status": "forwarding",
        "destination": {"type": "sip", "sipUri": "sip:desk@pbx", "transferPlan": {"mode": "warm"}},
        "call": call}}),
    );
    let VapiMessage::StatusUpdate(u) = &env.message else {
        panic!("{:?}", env.message)
    };
    let dest = u.destination.as_ref().expect("destination");
    assert_eq!(dest.sip_uri.as_deref(), Some("sip:desk@pbx"));
    assert!(dest.extra.contains_key("transferPlan"));
    // assistant-request is lenient about the call id.
    let env = parse_json(json!({"message": {"type": "assistant-request"}}));
    assert_eq!((env.call_id(), env.customer_number()), (None, None));
}

#[test]
fn unknown_type_and_values_parse() {
    let body = json!({"message": {"type": "voice-input", "call": 42, "whatever": [1]}});
    let env = parse(body.to_string().as_bytes()).expect("unknown type never fails");
    assert_eq!(env.message_type(), "voice-input");
    assert_eq!(
        env.message,
        VapiMessage::Unknown {
            message_type: "voice-input".into()
        }
    );
    assert_eq!(env.call_id(), None);

    let body = json!({"message": {"type": "status-update", "status": "teleporting",
        "endedReason": "call.in-progress.error-brand-new", "newField": {"x": 1},
        "call": {"id": "c1", "type": "holoCall", "status": "weird", "futureField": true}}});
    let env = parse(body.to_string().as_bytes()).expect("open enums");
    let VapiMessage::StatusUpdate(u) = &env.message else {
        panic!("{:?}", env.message)
    };
    assert_eq!(u.status, CallStatus::Other("teleporting".into()));
    assert_eq!(
        u.ended_reason.as_ref().map(|r| r.category()),
        Some(EndedCategory::Error)
    );
    assert_eq!(env.call().map(|c| c.direction()), Some(Direction::Unknown));
}

#[test]
fn tool_call_with_bad_arguments_keeps_the_message() {
    let body = json!({"message": {"type": "tool-calls", "call": {"id": "c1"}, "toolCallList": [
        {"id": "a", "type": "function", "function": {"name": "list_appointments", "arguments": "{oops"}},
        {"id": "b", "type": "function", "function": {"name": "check_operator_availability", "arguments": ""}}]}});
    let env = parse(body.to_string().as_bytes()).expect("parses");
    let VapiMessage::ToolCalls(calls) = &env.message else {
        panic!("{:?}", env.message)
    };
    assert!(calls.tool_call_list[0].arguments_error.is_some());
    assert_eq!(calls.tool_call_list[1].arguments_error, None);
}

#[test]
fn bad_inputs_have_clear_reasons() {
    let cases: &[(&str, &str, &str)] = &[
        ("{nope", "not_json", "body is not valid JSON: "),
        ("[1]", "not_object", "body must be a JSON object"),
        ("{}", "missing_message", "missing field `message`"),
        (
            r#"{"message":null}"#,
            "missing_message",
            "missing field `message`",
        ),
        (
            r#"{"message":"x"}"#,
            "message_not_object",
            "`message` must be an object",
        ),
        (
            r#"{"message":{}}"#,
            "missing_type",
            "missing field `message.type`",
        ),
        (
            r#"{"message":{"type":7}}"#,
            "type_not_string",
            "`message.type` must be a string",
        ),
        (
            r#"{"message":{"type":"status-update","status":"ringing"}}"#,
            "missing_call_id",
            "field `message.call.id` is required for status-update",
        ),
        (
            r#"{"message":{"type":"tool-calls","call":{"id":"  "}}}"#,
            "missing_call_id",
            "field `message.call.id` is required for tool-calls",
        ),
        (
            r#"{"message":{"type":"status-update","call":{"id":"c"}}}"#,
            "invalid_field",
            "invalid status-update at `message`: missing field `status`",
        ),
        (
            r#"{"message":{"type":"status-update","status":3,"call":{"id":"c"}}}"#,
            "invalid_field",
            "invalid status-update at `message.status`: invalid type: integer, expected a string",
        ),
        (
            r#"{"message":{"type":"hang","call":{"id":5}}}"#,
            "invalid_field",
            "invalid hang at `message.call.id`: invalid type: integer, expected a string",
        ),
        (
            r#"{"message":{"type":"tool-calls","call":{"id":"c"},"toolCallList":[{"id":"a","function":{}}]}}"#,
            "invalid_field",
            "invalid tool-calls at `message.toolCallList[0].function`: missing field `name`",
        ),
        (
            r#"{"message":{"type":"end-of-call-report","call":{"id":"c"},"endedAt":"soon"}}"#,
            "invalid_field",
            "invalid end-of-call-report at `message.endedAt`: invalid timestamp",
        ),
        (
            r#"{"message":{"type":"speech-update","call":{"id":"c"},"turn":"a, expected b"}}"#,
            "invalid_field",
            "invalid speech-update at `message.turn`: invalid type: string, expected f64",
        ),
        (
            r#"{"message":{"type":"transcript","call":{"id":"c","customer":{"number":4915}}}}"#,
            "invalid_field",
            "invalid transcript at `message.call.customer.number`: invalid type: integer",
        ),
    ];
    for (body, kind, reason) in cases {
        let e = err(body);
        assert!(!e.to_string().contains("expected b"), "{e}");
        assert_eq!(e.kind(), *kind, "{body}: {e}");
        assert!(
            e.to_string().starts_with(reason),
            "{body}: got {e}, want {reason}"
        );
    }
}

#[test]
fn canonical_types_and_qualifiers() {
    assert_eq!(
        canonical_type("transcript[transcriptType=\"final\"]"),
        "transcript"
    );
    assert_eq!(canonical_type(" hang "), "hang");
    assert_eq!(
        qualifier("transcript[transcriptType=\"partial\"]", "transcriptType"),
        Some("partial")
    );
    assert_eq!(
        qualifier("transcript[transcriptType='final']", "transcriptType"),
        Some("final")
    );
    assert_eq!(qualifier("transcript", "transcriptType"), None);
    assert_eq!(qualifier("transcript[other=\"x\"]", "transcriptType"), None);
}

#[test]
fn call_ids_that_cannot_name_a_workflow_are_refused() {
    let with_id = |id: &str| {
        json!({"message": {"type": "status-update", "status": "ringing", "call": {"id": id}}})
            .to_string()
    };
    // Vapi's own ids and other plain ids pass.
    for ok in [
        "c1a7f0d2-5e3b-4f8a-9d61-2b7e4c9a0f13",
        "call_1.a:b",
        &"x".repeat(128),
    ] {
        parse(with_id(ok).as_bytes()).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let long = "x".repeat(129);
    for bad in [
        long.as_str(),
        "a/b",
        "a b",
        "line\nbreak",
        "ümlaut",
        "nul\u{0}",
    ] {
        let e = err(&with_id(bad));
        assert_eq!(e.kind(), "invalid_call_id", "{bad:?}: {e}");
        // The reason never repeats the id (it may be anything a stranger sent).
        assert!(!e.to_string().contains(bad), "{e}");
    }
    // Tool calls and end-of-call reports are checked the same way.
    let tool = json!({"message": {"type": "tool-calls", "toolCallList": [],
        "call": {"id": "a/b"}}});
    assert_eq!(err(&tool.to_string()).kind(), "invalid_call_id");
}
