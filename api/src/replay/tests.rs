use super::*;
use serde_json::json;
use temporalio_common::protos::temporal::api::enums::v1::{EventType, TaskQueueKind};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::update::v1::outcome;

fn decode(json: Value) -> History {
    history_from_proto_json(&json).unwrap_or_else(|e| panic!("decodes: {e}"))
}

fn started_event() -> Value {
    json!({
        "eventId": "1",
        "eventTime": "2026-11-21T22:33:10.605774331Z",
        "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "taskId": "1048587",
        "workflowExecutionStartedEventAttributes": {
            "workflowType": { "name": "CallWorkflow" },
            "taskQueue": { "name": "callsaga", "kind": "TASK_QUEUE_KIND_NORMAL" },
            "input": { "payloads": [{
                "metadata": { "encoding": "anNvbi9wbGFpbg==" },
                "data": "eyJ2YXBpX2NhbGxfaWQiOiJ4In0="
            }]},
            "workflowTaskTimeout": "10s",
            "firstWorkflowTaskBackoff": "0.250s",
            "attempt": 1,
            "workflowId": "call-x",
            "priority": {}
        }
    })
}

#[test]
fn proto_json_maps_names_enums_int64_durations_and_the_attributes_oneof() {
    let history = decode(json!({ "events": [started_event()] }));
    let event = &history.events[0];
    assert_eq!(event.event_id, 1);
    assert_eq!(event.task_id, 1_048_587);
    assert_eq!(event.event_type, EventType::WorkflowExecutionStarted as i32);
    let time = event.event_time.as_ref().expect("event time");
    assert_eq!((time.seconds, time.nanos), (1_795_300_390, 605_774_331));
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) = &event.attributes else {
        panic!("started attributes, got {:?}", event.attributes);
    };
    assert_eq!(a.workflow_type.as_ref().unwrap().name, "CallWorkflow");
    assert_eq!(a.workflow_id, "call-x");
    let queue = a.task_queue.as_ref().unwrap();
    assert_eq!(queue.kind, TaskQueueKind::Normal as i32);
    assert_eq!(queue.normal_name, "", "absent string is the default");
    let timeout = a.workflow_task_timeout.as_ref().unwrap();
    assert_eq!((timeout.seconds, timeout.nanos), (10, 0));
    let backoff = a.first_workflow_task_backoff.as_ref().unwrap();
    assert_eq!((backoff.seconds, backoff.nanos), (0, 250_000_000));
    assert_eq!(
        a.input.as_ref().unwrap().payloads[0].data,
        br#"{"vapi_call_id":"x"}"#
    );
    assert!(
        a.parent_workflow_execution.is_none(),
        "absent message is None"
    );
    assert!(a.retry_policy.is_none());
    assert_eq!(a.attempt, 1);
}

#[test]
fn proto_json_places_nested_oneofs_and_keeps_map_keys() {
    let history = decode(json!({ "events": [
        started_event(),
        {
            "eventId": "7",
            "eventType": "EVENT_TYPE_MARKER_RECORDED",
            "markerRecordedEventAttributes": {
                "markerName": "core_local_activity",
                "details": {
                    "data": { "payloads": [{ "data": "e30=" }] },
                    "result": { "payloads": [{ "data": "bnVsbA==" }] }
                },
                "workflowTaskCompletedEventId": "5"
            }
        },
        {
            "eventId": "20",
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED",
            "workflowExecutionUpdateCompletedEventAttributes": {
                "meta": { "updateId": "tc_1", "identity": "callsaga@1" },
                "acceptedEventId": "18",
                "outcome": { "success": { "payloads": [{ "data": "InllcyI=" }] } }
            }
        }
    ]}));
    let Some(Attributes::MarkerRecordedEventAttributes(marker)) = &history.events[1].attributes
    else {
        panic!("marker attributes");
    };
    let mut keys: Vec<_> = marker.details.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["data", "result"], "map keys are not renamed");
    assert_eq!(marker.workflow_task_completed_event_id, 5);
    let Some(Attributes::WorkflowExecutionUpdateCompletedEventAttributes(update)) =
        &history.events[2].attributes
    else {
        panic!("update completed attributes");
    };
    assert_eq!(update.meta.as_ref().unwrap().update_id, "tc_1");
    let value = update.outcome.as_ref().and_then(|o| o.value.as_ref());
    let Some(outcome::Value::Success(payloads)) = value else {
        panic!("success outcome, got {value:?}");
    };
    assert_eq!(payloads.payloads[0].data, br#""yes""#);
}

#[test]
fn proto_json_ignores_unknown_fields_and_names_the_path_of_bad_values() {
    let mut event = started_event();
    event["fieldFromTheFuture"] = json!({ "x": 1 });
    event["workflowExecutionStartedEventAttributes"]["anotherNewField"] = json!("y");
    let history = decode(json!({ "events": [event] }));
    assert!(matches!(
        history.events[0].attributes,
        Some(Attributes::WorkflowExecutionStartedEventAttributes(_))
    ));

    let mut bad = started_event();
    bad["workflowExecutionStartedEventAttributes"]["taskQueue"]["kind"] =
        json!("TASK_QUEUE_KIND_SIDEWAYS");
    let err = history_from_proto_json(&json!({ "events": [bad] })).unwrap_err();
    assert_eq!(
        err.path,
        "events[0].workflowExecutionStartedEventAttributes.taskQueue.kind"
    );
    assert!(err.message.contains("TASK_QUEUE_KIND_SIDEWAYS"), "{err}");

    let mut bad = started_event();
    bad["taskId"] = json!("many");
    let err = history_from_proto_json(&json!({ "events": [bad] })).unwrap_err();
    assert_eq!(err.path, "events[0].taskId", "{err}");
}

fn committed(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/histories")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn the_decoder_reads_the_sdk_format_the_same_as_the_sdk() {
    // The SDK's own JSON is snake_case with externally tagged oneofs: the decoder accepts that
    // too, and must agree with the SDK's serde on a real history.
    let bytes = committed("call-lifecycle.json");
    let sdk: History = serde_json::from_slice(&bytes).expect("SDK JSON");
    let json: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(decode(json), sdk);
}

#[test]
fn parse_history_tells_the_formats_apart() {
    let sdk = parse_history(&committed("call-lifecycle.json")).expect("SDK file");
    assert_eq!(sdk.format, HistoryFormat::Sdk);
    let cli = parse_history(&committed("call-lifecycle.cli.json")).expect("CLI file");
    assert_eq!(cli.format, HistoryFormat::Cli);
    for recorded in [&sdk, &cli] {
        let first = &recorded.history.events[0];
        assert_eq!(first.event_id, 1, "{}", recorded.format);
        assert_eq!(first.event_type, EventType::WorkflowExecutionStarted as i32);
        let last = recorded.history.events.last().unwrap();
        assert_eq!(
            last.event_type,
            EventType::WorkflowExecutionCompleted as i32,
            "{}",
            recorded.format
        );
    }

    assert!(matches!(parse_history(b"{"), Err(HistoryError::Json(_))));
    assert!(matches!(
        parse_history(br#"{"calls": []}"#),
        Err(HistoryError::Shape(_))
    ));
    assert!(matches!(
        parse_history(br#"{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_NOPE"}]}"#),
        Err(HistoryError::Cli(_))
    ));
}

#[tokio::test]
async fn the_replayer_knows_every_workflow_the_worker_runs() {
    let settings = crate::Settings::from_overrides(json!({})).expect("default settings");
    let db = sea_orm::Database::connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    let activities = callsaga_activities::Activities::new(
        db,
        std::sync::Arc::new(callsaga_activities::email::Mailer::memory()),
        Default::default(),
        settings.billing,
    );
    let worker =
        crate::temporal::worker_options(&settings.temporal, &activities).expect("worker options");
    let types = |defs: temporalio_sdk::WorkflowDefinitions| {
        let mut names: Vec<String> = defs
            .workflow_definitions()
            .map(|d| d.workflow_type.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        types(replayer().options().workflows()),
        types(worker.workflows()),
        "register the new workflow type in replay::replayer()"
    );
}
