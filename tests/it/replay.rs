//! Replays every recorded history in tests/histories/ (SDK JSON and `temporal workflow show
//! --output json`) against the current workflow code, so a change that would break running
//! workflows fails here with the nondeterminism message; proves that a changed workflow does
//! fail; and checks the CLI-format decoder against the SDK's own fetch of the same run.

use crate::helpers::{Engine, new_call_id, sample, spawn_app, temporal_address};
use callsaga_api::replay::{
    self, FileError, FileReport, HistoryFormat, parse_history, replay_file, replay_paths, replayer,
};
use std::path::{Path, PathBuf};
use std::time::Instant;
use temporalio_client::WorkflowFetchHistoryOptions;
use temporalio_sdk::workflow_replayer::{WorkflowReplayError, WorkflowReplayFailure};

fn histories_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("histories")
}

fn print(reports: &[FileReport]) {
    for r in reports {
        eprintln!("{r}  [{} ms]", r.elapsed.as_millis());
    }
}

#[tokio::test]
async fn recorded_histories_replay_cleanly() {
    let started = Instant::now();
    let reports = replay_paths(&replayer(), &[histories_dir()])
        .await
        .expect("tests/histories is readable");
    print(&reports);
    eprintln!(
        "{} histories replayed in {:.2} s",
        reports.len(),
        started.elapsed().as_secs_f64()
    );
    let formats: Vec<_> = reports
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok().map(|ok| ok.format))
        .collect();
    assert!(
        formats.contains(&HistoryFormat::Sdk) && formats.contains(&HistoryFormat::Cli),
        "a history of each format is committed: {formats:?}"
    );
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.is_ok())
        .map(ToString::to_string)
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// The suite catches a breaking change: the same pinned workflow type, with a timer before the
/// first step, does not replay the recorded lifecycle in either format.
#[tokio::test]
async fn a_changed_call_workflow_fails_replay_with_nondeterminism() {
    let changed = replay::testing::changed_call_replayer();
    for name in ["call-lifecycle.json", "call-lifecycle.cli.json"] {
        let report = replay_file(&changed, &histories_dir().join(name)).await;
        eprintln!("{report}");
        match &report.outcome {
            Err(FileError::Replay(WorkflowReplayError::Replay(
                WorkflowReplayFailure::Nondeterminism { message },
            ))) => assert!(!message.is_empty()),
            other => panic!("{name}: expected a nondeterminism failure, got {other:?}"),
        }
        assert!(report.to_string().starts_with("FAIL "), "{report}");
    }
}

#[tokio::test]
async fn corrupted_histories_are_reported_as_failures() {
    let dir = std::env::temp_dir().join(format!("callsaga-replay-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(histories_dir().join("call-lifecycle.cli.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&good).unwrap();
    std::fs::write(dir.join("a-good.json"), &good).unwrap();
    std::fs::write(dir.join("b-truncated.json"), &good[..good.len() / 2]).unwrap();
    std::fs::write(dir.join("c-not-a-history.json"), r#"{"calls": []}"#).unwrap();
    // A lost event (the first local-activity marker).
    let mut gap = json.clone();
    let events = gap["events"].as_array_mut().unwrap();
    let marker = events
        .iter()
        .position(|e| e["eventType"] == "EVENT_TYPE_MARKER_RECORDED")
        .expect("a local-activity marker");
    events.remove(marker);
    std::fs::write(dir.join("d-gap.json"), gap.to_string()).unwrap();
    // A value the decoder cannot place.
    json["events"][0]["eventType"] = "EVENT_TYPE_FROM_MARS".into();
    std::fs::write(dir.join("e-bad-enum.json"), json.to_string()).unwrap();
    std::fs::write(dir.join("ignored.txt"), "not a history").unwrap();

    let reports = replay_paths(&replayer(), std::slice::from_ref(&dir))
        .await
        .unwrap();
    print(&reports);
    let lines: Vec<String> = reports.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 5, "only *.json files: {lines:#?}");
    assert!(lines[0].starts_with("ok  ") && lines[0].ends_with("events)"));
    for (line, why) in lines[1..].iter().zip([
        "not JSON",
        "not a workflow history",
        "event ids are not contiguous",
        "EVENT_TYPE_FROM_MARS",
    ]) {
        assert!(line.starts_with("FAIL ") && line.contains(why), "{line}");
    }
    // `callsaga replay` exits non-zero.
    let err = replay::run(std::slice::from_ref(&dir)).await.unwrap_err();
    assert!(err.to_string().contains("4 of 5"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `temporal workflow show --output json` of a real call decodes to exactly the events the SDK
/// fetches, and replays. With CALLSAGA_RECORD_HISTORIES=1 it (re)records
/// tests/histories/call-lifecycle.cli.json.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_export_of_a_call_decodes_to_what_the_sdk_fetches() {
    let app = spawn_app(Engine::Sqlite).await;
    let call_id = new_call_id();
    for name in [
        "inbound-ringing.json",
        "inbound-in-progress.json",
        "customer-ended-call.json",
    ] {
        let resp = app.post_webhook(&sample(name, &call_id)).await;
        assert_eq!(resp.status(), 200, "{name}");
    }
    app.call_result(&call_id).await;
    let workflow_id = callsaga_workflows::call_workflow_id(&call_id);
    let fetched = app
        .temporal
        .get_workflow_handle::<callsaga_workflows::CallWorkflow>(workflow_id.clone())
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history");

    let address = temporal_address().await;
    let temporal = callsaga_api::devserver::default_temporal_bin().expect("temporal CLI");
    let out = tokio::process::Command::new(temporal)
        .args(["workflow", "show", "--output", "json", "--workflow-id"])
        .arg(&workflow_id)
        .arg("--address")
        .arg(address.trim_start_matches("http://"))
        .output()
        .await
        .expect("temporal workflow show runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.shutdown().await;

    let recorded = parse_history(&out.stdout).expect("CLI JSON decodes");
    assert_eq!(recorded.format, HistoryFormat::Cli);
    assert_eq!(
        recorded.history.events, fetched,
        "CLI JSON ≠ the SDK's fetch"
    );
    replayer()
        .replay_workflow(recorded.into_workflow_history())
        .await
        .expect("the fresh CLI export replays");

    if std::env::var("CALLSAGA_RECORD_HISTORIES").as_deref() == Ok("1") {
        let path = histories_dir().join("call-lifecycle.cli.json");
        std::fs::write(&path, &out.stdout).expect("write history");
        eprintln!("recorded {}", path.display());
    }
}
