//! Where a tool call's time went on the server, from the histories of the bench's workflows:
//! for each workflow task, how long it waited to be picked up (scheduled → started: the task
//! queue and the worker's pollers) and how long the worker held it (started → completed: the
//! workflow code and its local activities). The first task of a workflow (the one that
//! update-with-start created) is reported apart from the later ones.

use std::time::Duration;
use temporalio_client::{Client, WorkflowFetchHistoryOptions};
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;

/// Queue wait and worker time of workflow tasks, first tasks apart from later ones.
#[derive(Default)]
pub(crate) struct TaskTimes {
    pub(crate) first_wait: Vec<Duration>,
    pub(crate) first_held: Vec<Duration>,
    pub(crate) later_wait: Vec<Duration>,
    pub(crate) later_held: Vec<Duration>,
}

fn at(event: &HistoryEvent) -> Option<Duration> {
    let t = event.event_time.as_ref()?;
    Some(Duration::new(
        u64::try_from(t.seconds).ok()?,
        u32::try_from(t.nanos).ok()?,
    ))
}

/// Adds the task times of one history to `out`.
fn add_task_times(events: &[HistoryEvent], out: &mut TaskTimes) {
    let (mut scheduled, mut started) = (None, None);
    let mut first = true;
    for event in events {
        let kind = EventType::try_from(event.event_type).unwrap_or(EventType::Unspecified);
        match kind {
            EventType::WorkflowTaskScheduled => scheduled = at(event),
            EventType::WorkflowTaskStarted => started = at(event),
            EventType::WorkflowTaskCompleted => {
                if let (Some(s), Some(b), Some(c)) = (scheduled, started, at(event)) {
                    let (wait, held) = (b.saturating_sub(s), c.saturating_sub(b));
                    if first {
                        out.first_wait.push(wait);
                        out.first_held.push(held);
                    } else {
                        out.later_wait.push(wait);
                        out.later_held.push(held);
                    }
                }
                first = false;
                (scheduled, started) = (None, None);
            }
            _ => {}
        }
    }
}

/// The task times of every workflow in `ids` (errors skip a workflow: this is a diagnostic).
pub(crate) async fn collect(client: &Client, ids: &[String]) -> TaskTimes {
    let mut all = TaskTimes::default();
    for id in ids {
        let history = client
            .get_workflow_handle::<callsaga_workflows::CallWorkflow>(id.clone())
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .into_events()
            .await;
        if let Ok(events) = history {
            add_task_times(&events, &mut all);
        }
    }
    all
}

/// The events of one workflow's history up to its first completed workflow task, each with
/// its time since the start (ms): where a first tool call's time goes on the server.
pub(crate) async fn first_task_timeline(client: &Client, id: &str) -> Vec<String> {
    let Ok(events) = client
        .get_workflow_handle::<callsaga_workflows::CallWorkflow>(id.to_owned())
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
    else {
        return Vec::new();
    };
    let start = events.first().and_then(at).unwrap_or_default();
    let mut out = Vec::new();
    for event in &events {
        let kind = EventType::try_from(event.event_type).unwrap_or(EventType::Unspecified);
        let t = at(event).unwrap_or_default().saturating_sub(start);
        out.push(format!(
            "{:>8.1}  {}",
            t.as_secs_f64() * 1000.0,
            kind.as_str_name()
        ));
        if kind == EventType::WorkflowTaskCompleted {
            break;
        }
    }
    out
}
