//! One delivery: a call's pending events in one signal-with-start to `call-<vapi call id>`,
//! and what Temporal's answer means for the call.

use crate::inbox::PendingEvent;
use crate::temporal::LazyClient;
use callsaga_activities::faults::{Fault, FaultPlan};
use callsaga_workflows::CallWorkflow;
use callsaga_workflows::payloads::{CallEvent, CallTimeouts, CallWorkflowInput};
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions};

pub(super) enum Delivery {
    Delivered,
    WorkflowClosed,
}

/// A failed delivery, and whether Temporal refused this call's delivery itself.
#[derive(Debug)]
pub(super) struct DeliveryError {
    pub(super) rejected: bool,
    message: String,
}

impl DeliveryError {
    fn rejected(message: impl Into<String>) -> Self {
        Self {
            rejected: true,
            message: message.into(),
        }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        Self {
            rejected: false,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Delivers `batch` (one call's events, in order) in one signal.
pub(super) async fn deliver(
    client: &LazyClient,
    faults: &FaultPlan,
    timeouts: &CallTimeouts,
    batch: &[&PendingEvent],
) -> Result<Delivery, DeliveryError> {
    let Some(event) = batch.first() else {
        return Ok(Delivery::Delivered);
    };
    match faults.take(&format!("relay.deliver:{}", event.vapi_call_id)) {
        Some(Fault::Permanent) => return Err(DeliveryError::rejected("injected rejection")),
        Some(_) => return Err(DeliveryError::unavailable("injected outage")),
        None => {}
    }
    let connected = client
        .get()
        .await
        .map_err(|e| DeliveryError::unavailable(format!("{e:#}")))?;
    let workflow_id = callsaga_workflows::call_workflow_id(&event.vapi_call_id);
    // UseExisting: a running workflow gets the signal. RejectDuplicate: a completed one is
    // NOT restarted by a late webhook (no zombie runs); the start fails and we record it.
    let options = WorkflowStartOptions::new(client.task_queue(), workflow_id)
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .static_summary(callsaga_workflows::call_summary(&event.vapi_call_id))
        .search_attributes(
            callsaga_workflows::search_attributes::start_search_attributes(&event.vapi_call_id),
        )
        .build();
    let result = connected
        .signal_with_start_workflow(
            CallWorkflow::run,
            CallWorkflowInput {
                vapi_call_id: event.vapi_call_id.clone(),
                timeouts: Some(timeouts.clone()),
            },
            CallWorkflow::events,
            batch
                .iter()
                .map(|e| CallEvent {
                    inbox_id: e.id,
                    message_type: e.message_type.clone(),
                })
                .collect::<Vec<_>>(),
            options,
        )
        .await;
    match result {
        Ok(_) => Ok(Delivery::Delivered),
        Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(Delivery::WorkflowClosed),
        Err(WorkflowStartError::Rpc(status)) => Err(DeliveryError {
            rejected: rejects_this_call(status.code()),
            message: format!(
                "Temporal answered {:?}: {}",
                status.code(),
                status.message()
            ),
        }),
        Err(e) => Err(DeliveryError::rejected(format!("{e:#}"))),
    }
}

/// gRPC codes that say "this request is wrong", not "the server is unwell": only these count
/// against a call's rejection budget, so an outage of Temporal never makes calls dead (the age
/// budget still does, eventually).
fn rejects_this_call(code: temporalio_client::tonic::Code) -> bool {
    use temporalio_client::tonic::Code;
    matches!(
        code,
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::Unimplemented
            | Code::PermissionDenied
    )
}
