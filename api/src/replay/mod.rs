//! Replays recorded workflow histories against the current workflow code: `callsaga replay` and
//! the `tests/histories/` suite, so a change that would break running workflows fails with the
//! SDK's nondeterminism message before it is deployed.
//!
//! A history file is JSON in one of two formats, told apart by the first event's field names
//! ([`HistoryFormat`]): the SDK's own (`WorkflowHandle::fetch_history(..).to_json()`) or the
//! proto3 JSON of `temporal workflow show --output json` (what `scripts/record-history` records),
//! which [`proto_json`] decodes.

mod proto_json;
#[doc(hidden)]
pub mod testing;

pub use proto_json::{ProtoJsonError, history_from_proto_json};

use anyhow::Context;
use callsaga_workflows::CallWorkflow;
use futures::FutureExt as _;
use serde_json::Value;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use temporalio_client::WorkflowHistory;
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_common::protos::temporal::api::history::v1::History;
use temporalio_sdk::workflow_replayer::{
    WorkflowReplayError, WorkflowReplayer, WorkflowReplayerOptions,
};

/// A replayer that knows every workflow type the worker registers
/// (`temporal::worker_options`). A new workflow type is one more `register_workflow` line here;
/// a unit test fails until it is added.
pub fn replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<CallWorkflow>()
        .expect("each workflow type is registered once")
        .build();
    WorkflowReplayer::new(options).expect("the replayer has workflows registered")
}

/// The two JSON formats a recorded history comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryFormat {
    /// The SDK's serde JSON (`fetch_history(..).to_json()`, read by `WorkflowHistory::from_json`):
    /// snake_case fields, enums as numbers, oneofs as
    /// `"attributes": {"WorkflowExecutionStartedEventAttributes": {..}}`.
    Sdk,
    /// Proto3 canonical JSON (`temporal workflow show --output json`): camelCase fields, enums by
    /// name, int64 as strings, oneof members flattened into the event, defaults left out.
    Cli,
}

impl fmt::Display for HistoryFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HistoryFormat::Sdk => "SDK JSON",
            HistoryFormat::Cli => "CLI JSON",
        })
    }
}

/// A decoded history file.
#[derive(Clone, Debug)]
pub struct RecordedHistory {
    pub format: HistoryFormat,
    pub history: History,
}

impl RecordedHistory {
    pub fn events(&self) -> usize {
        self.history.events.len()
    }

    /// What the replayer takes.
    pub fn into_workflow_history(self) -> WorkflowHistory {
        WorkflowHistory::from(self.history)
    }
}

/// A file that is not a workflow history in either format.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("not JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("not a workflow history: {0}")]
    Shape(&'static str),
    #[error("SDK JSON does not decode: {0}")]
    Sdk(#[source] serde_json::Error),
    #[error("CLI JSON does not decode: {0}")]
    Cli(#[source] ProtoJsonError),
    /// The SDK's replay worker panics on these rather than reporting them.
    #[error("invalid history: {0}")]
    Invalid(String),
}

/// Tells the format from the first event and decodes the history.
pub fn parse_history(bytes: &[u8]) -> Result<RecordedHistory, HistoryError> {
    let json: Value = serde_json::from_slice(bytes).map_err(HistoryError::Json)?;
    let first = json
        .get("events")
        .and_then(Value::as_array)
        .ok_or(HistoryError::Shape("no `events` array"))?
        .first()
        .and_then(Value::as_object)
        .ok_or(HistoryError::Shape("no events"))?;
    let format = if first.contains_key("event_id") || first.contains_key("event_type") {
        HistoryFormat::Sdk
    } else if first.contains_key("eventId") || first.contains_key("eventType") {
        HistoryFormat::Cli
    } else {
        return Err(HistoryError::Shape(
            "the first event has no event id or type",
        ));
    };
    let history = match format {
        // Exactly what `WorkflowHistory::from_json` does, keeping the events countable.
        HistoryFormat::Sdk => serde_json::from_slice(bytes).map_err(HistoryError::Sdk)?,
        HistoryFormat::Cli => history_from_proto_json(&json).map_err(HistoryError::Cli)?,
    };
    check_sequence(&history)?;
    Ok(RecordedHistory { format, history })
}

/// A history starts with the workflow's start and numbers its events 1, 2, 3, … without gaps.
fn check_sequence(history: &History) -> Result<(), HistoryError> {
    let started = EventType::WorkflowExecutionStarted as i32;
    if history.events.first().map(|e| e.event_type) != Some(started) {
        return Err(HistoryError::Invalid(
            "the first event is not WorkflowExecutionStarted".to_owned(),
        ));
    }
    for (expected, event) in (1..).zip(&history.events) {
        if event.event_id != expected {
            return Err(HistoryError::Invalid(format!(
                "event ids are not contiguous: expected event {expected}, found {}",
                event.event_id
            )));
        }
    }
    Ok(())
}

/// Why one file did not replay.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The SDK's verdict, e.g. `WorkflowReplayFailure::Nondeterminism`.
    #[error(transparent)]
    Replay(#[from] WorkflowReplayError),
    /// The SDK's replay worker panicked (it asserts some properties of a history instead of
    /// reporting them); the panic is caught so the other files still replay.
    #[error("the replay worker panicked: {0}")]
    Panic(String),
}

/// What replaying one file gave.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub outcome: Result<Replayed, FileError>,
    pub elapsed: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct Replayed {
    pub format: HistoryFormat,
    pub events: usize,
}

impl FileReport {
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// `ok  <file>  (<n> events)` or `FAIL <file>: <why>`.
impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(r) => write!(f, "ok  {}  ({} events)", self.path.display(), r.events),
            Err(e) => write!(f, "FAIL {}: {e}", self.path.display()),
        }
    }
}

/// Replays one history file.
pub async fn replay_file(replayer: &WorkflowReplayer, path: &Path) -> FileReport {
    let started = Instant::now();
    let outcome: Result<Replayed, FileError> = async {
        let bytes = std::fs::read(path)?;
        let recorded = parse_history(&bytes)?;
        let replayed = Replayed {
            format: recorded.format,
            events: recorded.events(),
        };
        let replay = replayer.replay_workflow(recorded.into_workflow_history());
        match AssertUnwindSafe(replay).catch_unwind().await {
            Ok(result) => result?,
            Err(panic) => return Err(FileError::Panic(panic_message(panic.as_ref()))),
        }
        Ok(replayed)
    }
    .await;
    FileReport {
        path: path.to_owned(),
        outcome,
        elapsed: started.elapsed(),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "(no message)".to_owned(),
    }
}

/// The history files `paths` name: files as given, directories walked (recursively, sorted) for
/// `*.json`.
pub fn history_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        if meta.is_dir() {
            collect_json(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect_json(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("failed to list {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("failed to list {}", dir.display()))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_json(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Replays every history under `paths`, one file at a time (each failure is attributed to its
/// file).
pub async fn replay_paths(
    replayer: &WorkflowReplayer,
    paths: &[PathBuf],
) -> anyhow::Result<Vec<FileReport>> {
    let mut reports = Vec::new();
    for file in history_files(paths)? {
        reports.push(replay_file(replayer, &file).await);
    }
    Ok(reports)
}

/// `callsaga replay <file-or-dir>...`: a line per file; an error (non-zero exit) when any file
/// fails or none is found.
pub async fn run(paths: &[PathBuf]) -> anyhow::Result<()> {
    let started = Instant::now();
    let reports = replay_paths(&replayer(), paths).await?;
    for report in &reports {
        println!("{report}");
    }
    let failed = reports.iter().filter(|r| !r.is_ok()).count();
    anyhow::ensure!(!reports.is_empty(), "no *.json histories found");
    println!(
        "{} replayed, {failed} failed ({:.2} s)",
        reports.len(),
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} histories do not replay",
        reports.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests;
