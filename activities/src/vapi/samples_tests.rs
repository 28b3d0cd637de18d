//! Every sample in `shared/vapi/samples` parses to the expected typed message.

use serde_json::json;

use super::*;
use crate::vapi::{CallStatus, CallType, Direction, EndedCategory, Role, TranscriptType};

const CALL_A: &str = "c1a7f0d2-5e3b-4f8a-9d61-2b7e4c9a0f13";
const CALL_B: &str = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918";
const ASSISTANT: &str = "b7e2a8f0-61c4-4d2b-9f3e-7a5c1d9e4b22";
const PHONE_ID: &str = "9c4f1e2a-3b5d-4e6f-8a7b-1c2d3e4f5a6b";
const ORG: &str = "5b1d3c7e-2f4a-4c8e-9a61-0d2f8b7c9e10";
const CUSTOMER: &str = "+4915112345678";

macro_rules! sample {
    ($name:literal) => {
        parse(include_bytes!(concat!(
            "../../../../shared/vapi/samples/",
            $name
        )))
        .unwrap_or_else(|e| panic!("{}: {e}", $name))
    };
}

fn check_common(env: &Envelope, call_id: &str) {
    assert_eq!(env.call_id(), Some(call_id));
    assert_eq!(env.customer_number(), Some(CUSTOMER));
    assert_eq!(env.phone_number_id(), Some(PHONE_ID));
    assert_eq!(env.org_id(), Some(ORG));
    let call = env.call().expect("call");
    assert_eq!(call.call_type, Some(CallType::InboundPhoneCall));
    assert_eq!(call.direction(), Direction::Inbound);
    assert!(call.created_at.is_some());
    assert!(env.timestamp.is_some());
}
#[test]
fn status_update_samples() {
    for (env, status) in [
        (sample!("inbound-ringing.json"), CallStatus::Ringing),
        (sample!("inbound-in-progress.json"), CallStatus::InProgress),
        (sample!("inbound-ended.json"), CallStatus::Ended),
    ] {
        check_common(&env, CALL_A);
        assert_eq!(env.message_type(), "status-update");
        assert_eq!(env.assistant_id(), Some(ASSISTANT));
        assert!(!env.message.expects_response());
        let VapiMessage::StatusUpdate(update) = &env.message else {
            panic!("{:?}", env.message)
        };
        assert_eq!(update.status, status);
        let expected_reason = (status == CallStatus::Ended).then_some("customer-ended-call");
        assert_eq!(
            update.ended_reason.as_ref().map(|r| r.as_str()),
            expected_reason
        );
    }
    let ringing = sample!("inbound-ringing.json");
    assert_eq!(
        ringing.timestamp.map(|t| t.timestamp_millis()),
        Some(1_763_716_441_618)
    );
}

#[test]
fn end_of_call_report_sample() {
    let env = sample!("customer-ended-call.json");
    check_common(&env, CALL_A);
    let VapiMessage::EndOfCallReport(report) = &env.message else {
        panic!("{:?}", env.message)
    };
    let reason = report.ended_reason.as_ref().expect("reason");
    assert_eq!(reason.as_str(), "customer-ended-call");
    assert_eq!(reason.category(), EndedCategory::CustomerEnded);
    assert_eq!(report.duration_ms(), Some(110_000));
    assert_eq!(report.duration_seconds, Some(110.0));
    assert_eq!(report.cost, Some(0.0795));
    assert!(
        report
            .summary()
            .expect("summary")
            .starts_with("Jürgen Größer hat")
    );
    assert!(report.transcript().expect("transcript").starts_with("AI: "));
    assert!(report.recording_url().expect("url").ends_with(".wav"));
    assert!(
        report
            .messages()
            .and_then(|m| m.as_array())
            .is_some_and(|m| !m.is_empty())
    );
    let started = report.started_at.expect("started");
    assert_eq!(
        report.ended_at.expect("ended") - started,
        chrono::Duration::seconds(110)
    );
}

#[test]
fn transfer_failed_report_sample() {
    let env = sample!("transfer-failed.json");
    check_common(&env, CALL_B);
    let VapiMessage::EndOfCallReport(report) = &env.message else {
        panic!("{:?}", env.message)
    };
    let reason = report.ended_reason.as_ref().expect("reason");
    assert_eq!(reason.category(), EndedCategory::TransferFailed);
    assert_eq!(report.duration_ms(), Some(48_000));
    assert_eq!(
        report.summary(),
        Some("Weiterleitung an den Empfang ist fehlgeschlagen.")
    );
    let transfers = report.artifact.as_ref().and_then(|a| a.transfers.as_ref());
    assert_eq!(
        transfers.and_then(|t| t[0]["status"].as_str()),
        Some("failed")
    );
}

#[test]
fn tool_call_samples_with_string_and_object_arguments() {
    let env = sample!("check-availability-args-string.json");
    check_common(&env, CALL_A);
    assert!(env.message.expects_response());
    let VapiMessage::ToolCalls(calls) = &env.message else {
        panic!("{:?}", env.message)
    };
    let [call] = calls.tool_call_list.as_slice() else {
        panic!("one call")
    };
    assert_eq!(call.id, "call_8Kq2vNcT1xLrW4pZ0aBd");
    assert_eq!(call.name, "check_availability");
    assert_eq!(call.arg_str("date"), Some("2025-11-25"));
    assert_eq!(call.arg_str("timeOfDay"), Some("morning"));
    assert_eq!(call.arg("durationMinutes"), Some(&json!(30)));
    assert_eq!(call.arguments_error, None);

    let env = sample!("escalate-to-human-args-object.json");
    check_common(&env, CALL_B);
    let VapiMessage::ToolCalls(calls) = &env.message else {
        panic!("{:?}", env.message)
    };
    let call = &calls.tool_call_list[0];
    assert_eq!(call.name, "escalate_to_human");
    assert_eq!(call.arg_str("urgency"), Some("high"));
    assert_eq!(call.arg_str("callbackNumber"), Some(CUSTOMER));

    let env = sample!("book-appointment.json");
    let VapiMessage::ToolCalls(calls) = &env.message else {
        panic!("{:?}", env.message)
    };
    let call = &calls.tool_call_list[0];
    assert_eq!(call.name, "book_appointment");
    assert_eq!(call.arg_str("customerName"), Some("Jürgen Größer"));
    assert_eq!(call.arg_str("startTime"), Some("10:30"));
}

#[test]
fn assistant_request_without_assistant_id() {
    let env = sample!("inbound-no-assistant-id.json");
    assert_eq!(env.message, VapiMessage::AssistantRequest);
    assert!(env.message.expects_response());
    assert_eq!(env.call_id(), Some("a0b1c2d3-e4f5-4061-8728-394a5b6c7d8e"));
    assert_eq!(env.call().and_then(|c| c.assistant_id.as_deref()), None);
    assert_eq!(env.customer_number(), Some(CUSTOMER));
    assert_eq!(env.phone_number_id(), Some(PHONE_ID));
    assert_eq!(
        env.call().and_then(|c| c.status.clone()),
        Some(CallStatus::Ringing)
    );
}

#[test]
fn transfer_update_transcript_and_conversation_samples() {
    let env = sample!("to-operator.json");
    check_common(&env, CALL_B);
    let VapiMessage::TransferUpdate(update) = &env.message else {
        panic!("{:?}", env.message)
    };
    let dest = update.destination.as_ref().expect("destination");
    assert_eq!(dest.kind.as_deref(), Some("number"));
    assert_eq!(dest.number.as_deref(), Some("+493012345699"));

    let env = sample!("user-final.json");
    check_common(&env, CALL_A);
    let VapiMessage::Transcript(t) = &env.message else {
        panic!("{:?}", env.message)
    };
    assert_eq!(t.role, Some(Role::User));
    assert_eq!(t.transcript_type, Some(TranscriptType::Final));
    assert!(t.transcript.starts_with("Hallo"));

    let env = sample!("with-messages.json");
    check_common(&env, CALL_A);
    let VapiMessage::ConversationUpdate(c) = &env.message else {
        panic!("{:?}", env.message)
    };
    assert_eq!(c.message_count(), 9);
}

#[test]
fn every_sample_file_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vapi/samples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("samples dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let body = std::fs::read(&path).expect("read");
            let env = parse(&body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(env.call_id().is_some(), "{}", path.display());
            assert!(
                !matches!(env.message, VapiMessage::Unknown { .. }),
                "{}",
                path.display()
            );
            n += 1;
        }
    }
    assert!(n >= 12, "found {n} samples");
}
