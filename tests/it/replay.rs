//! Replays every recorded history in tests/histories/ against the current workflow code, so a
//! change that would break running workflows fails here with the nondeterminism message.

use callsaga_workflows::CallWorkflow;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

#[tokio::test]
async fn recorded_histories_replay_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("histories");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/histories exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no recorded histories in {}",
        dir.display()
    );
    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<CallWorkflow>()
            .expect("register")
            .build(),
    )
    .expect("replayer");
    for file in files {
        let bytes = std::fs::read(&file).expect("read history");
        let history = WorkflowHistory::from_json(&bytes).expect("history JSON");
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{} does not replay: {e}", file.display()));
    }
}
