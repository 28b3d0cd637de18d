//! The floor of bench-tools: a workflow whose update runs one local activity that returns at
//! once, and one simulated call of it (optionally started like a call, and with a call's
//! first-activation work, to attribute a first tool call's extra time).
// The workflow macros need the workflow's items public; this binary's module is not.
#![allow(unreachable_pub)]

use crate::pace::Pace;
use std::time::{Duration, Instant};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowUpdateWithStartOptions,
};
use temporalio_common::ActivityError;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::ActivityContext;
use temporalio_sdk::{LocalActivityOptions, WorkflowContext, WorkflowResult};

/// The floor: one update that runs one local activity.
#[workflow]
#[derive(Default)]
pub struct FloorWorkflow {
    done: bool,
}

#[workflow_methods]
impl FloorWorkflow {
    /// `input` [`LIKE_CALL`]: the first activation also does what a call's does besides its
    /// tool (a patch marker with its search-attribute upsert, and the watchdog's timer).
    #[run(name = "BenchFloor")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: String) -> WorkflowResult<()> {
        if input == LIKE_CALL {
            let _ = ctx.patched("bench-like-call");
            temporalio_sdk::workflows::select! {
                _ = ctx.wait_condition(|s: &Self| s.done) => {},
                _ = ctx.timer(Duration::from_secs(4 * 3600)) => {},
            };
        } else {
            ctx.wait_condition(|s| s.done).await?;
        }
        Ok(())
    }

    #[update(name = "ping")]
    pub async fn ping(ctx: &mut WorkflowContext<Self>, n: u32) -> u32 {
        let opts = LocalActivityOptions::builder()
            .start_to_close_timeout(Duration::from_secs(5))
            .build();
        ctx.execute_local_activity(FloorActivities::echo, n, opts)
            .await
            .unwrap_or(0)
    }
}

const LIKE_CALL: &str = "like-call";

pub struct FloorActivities;

#[activities]
impl FloorActivities {
    #[activity(name = "bench.echo")]
    pub async fn echo(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        Ok(n)
    }
}

/// One simulated call of the floor: `rounds` updates in sequence, the first one an
/// update-with-start (with a call's start options when `call_start`, and its first-activation
/// work too when `call_task`).
pub(crate) async fn floor_call(
    client: Client,
    task_queue: String,
    (call_start, call_task): (bool, bool),
    rounds: usize,
    mut pace: Pace,
) -> (Vec<(usize, Duration)>, String) {
    let call_id = uuid::Uuid::new_v4().to_string();
    let id = format!("floor-{call_id}");
    let mut out = Vec::new();
    for r in 0..rounds {
        pace.tick().await;
        let started = Instant::now();
        if r == 0 {
            let like_call = call_start || call_task;
            let opts =
                WorkflowUpdateWithStartOptions::new(
                    task_queue.clone(),
                    id.clone(),
                    WorkflowIdConflictPolicy::UseExisting,
                )
                .maybe_static_summary(like_call.then(|| callsaga_workflows::call_summary(&call_id)))
                .maybe_search_attributes(like_call.then(|| {
                    callsaga_workflows::search_attributes::start_search_attributes(&call_id)
                }))
                .id_reuse_policy(if like_call {
                    WorkflowIdReusePolicy::RejectDuplicate
                } else {
                    WorkflowIdReusePolicy::default()
                })
                .build();
            let input = if call_task {
                LIKE_CALL.to_owned()
            } else {
                String::new()
            };
            client
                .execute_update_with_start_workflow(
                    FloorWorkflow::run,
                    input,
                    FloorWorkflow::ping,
                    1,
                    opts,
                )
                .await
                .expect("update-with-start");
        } else {
            client
                .get_workflow_handle::<FloorWorkflow>(id.clone())
                .execute_update(
                    FloorWorkflow::ping,
                    1,
                    WorkflowExecuteUpdateOptions::default(),
                )
                .await
                .expect("update");
        }
        out.push((r, started.elapsed()));
    }
    (out, id)
}
