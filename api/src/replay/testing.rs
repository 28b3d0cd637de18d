//! A deliberately changed `CallWorkflow`, so the replay tests can prove that the suite catches a
//! breaking change. It lives here rather than in `tests/` because the workflow macros expand to
//! `::temporalio_workflow`, a dependency of this crate and not of the test crate. It is never
//! registered on a worker.

use callsaga_workflows::payloads::{CallEvent, CallSnapshot, CallWorkflowInput};
use std::time::Duration;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowResult};

/// `CallWorkflow` under its pinned type name and signal, changed the way a careless edit would:
/// it waits a second before doing anything, so its first command is a timer where every
/// recorded history has the search-attribute upsert.
#[workflow]
#[derive(Default)]
pub struct ChangedCallWorkflow {
    events: u32,
}

#[workflow_methods]
impl ChangedCallWorkflow {
    #[run(name = "CallWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        _input: CallWorkflowInput,
    ) -> WorkflowResult<CallSnapshot> {
        ctx.timer(Duration::from_secs(1)).await;
        ctx.wait_condition(|s| s.events > 0).await?;
        Ok(CallSnapshot::default())
    }

    #[signal(name = "event")]
    pub fn event(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _event: CallEvent) {
        self.events += 1;
    }
}

/// A replayer with [`ChangedCallWorkflow`] in place of the real `CallWorkflow`.
pub fn changed_call_replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<ChangedCallWorkflow>()
        .expect("one workflow type")
        .build();
    WorkflowReplayer::new(options).expect("the replayer has a workflow registered")
}
