//! Temporal's side of a run: each call workflow's history (events counted, how it closed), and
//! the RPCs the service made, from counters (the Temporal server's own `service_requests` when
//! the simulator runs the server, else the API's `callsaga_temporal_rpcs_total`).

use callsaga_workflows::CallWorkflow;
use temporalio_client::{Client, ClientOptions, ConnectionOptions, WorkflowFetchHistoryOptions};
use temporalio_common::protos::temporal::api::enums::v1::EventType;

pub(crate) async fn connect(address: &str, namespace: &str) -> anyhow::Result<Client> {
    let url = url::Url::parse(address)?;
    let conn = ConnectionOptions::new(url)
        .identity("callsaga-simulate".to_owned())
        .build();
    Ok(Client::connect(conn, ClientOptions::new(namespace.to_owned()).build()).await?)
}

/// How a workflow stands, from its history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Closed {
    Completed,
    /// Failed, timed out, terminated, cancelled or continued as new: not a clean close.
    Other(String),
    Running,
    Missing,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct WorkflowFacts {
    pub(crate) workflow_id: String,
    pub(crate) events: usize,
    pub(crate) closed: Closed,
}

pub(crate) async fn facts(client: &Client, vapi_call_id: &str) -> WorkflowFacts {
    let workflow_id = callsaga_workflows::call_workflow_id(vapi_call_id);
    let history = client
        .get_workflow_handle::<CallWorkflow>(workflow_id.clone())
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await;
    let (events, closed) = match history {
        Ok(events) if events.is_empty() => (0, Closed::Missing),
        Ok(events) => {
            let last = events
                .last()
                .map(|e| e.event_type())
                .unwrap_or(EventType::Unspecified);
            let closed = match last {
                EventType::WorkflowExecutionCompleted => Closed::Completed,
                EventType::WorkflowExecutionFailed
                | EventType::WorkflowExecutionTimedOut
                | EventType::WorkflowExecutionTerminated
                | EventType::WorkflowExecutionCanceled
                | EventType::WorkflowExecutionContinuedAsNew => {
                    Closed::Other(last.as_str_name().to_owned())
                }
                _ => Closed::Running,
            };
            (events.len(), closed)
        }
        Err(e) if format!("{e:?}").contains("NotFound") => (0, Closed::Missing),
        Err(e) => (0, Closed::Other(format!("history unreadable: {e}"))),
    };
    WorkflowFacts {
        workflow_id,
        events,
        closed,
    }
}
