//! A saga: steps with effects, each registering its compensation *before* it runs (an activity
//! can succeed and still time out), undone in reverse order on a permanent failure.
//!
//! All steps run as local activities: a caller is waiting on the line, and local activities
//! avoid the server's dispatch tick (see shared/TEMPORAL_NOTES.md).

use crate::CallWorkflow;
use futures::future::LocalBoxFuture;
use std::time::Duration;
use temporalio_common::error::IncomingError;
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_sdk::{ActivityExecutionError, LocalActivityOptions, WorkflowContext};

type Compensation = (
    String,
    LocalBoxFuture<'static, Result<(), ActivityExecutionError>>,
);

pub(crate) struct Saga {
    ctx: WorkflowContext<CallWorkflow>,
    name: &'static str,
    options: LocalActivityOptions,
    compensations: Vec<Compensation>,
}

impl Saga {
    /// A saga a caller waits for: steps retry briefly, then the saga compensates.
    pub(crate) fn new(ctx: &WorkflowContext<CallWorkflow>, name: &'static str) -> Self {
        Self {
            ctx: ctx.clone(),
            name,
            options: step_options(),
            compensations: Vec::new(),
        }
    }

    /// A saga nobody waits for (billing, escalation outcomes): steps retry until they succeed
    /// or fail permanently, so a database outage delays them but never drops them.
    pub(crate) fn durable(ctx: &WorkflowContext<CallWorkflow>, name: &'static str) -> Self {
        Self {
            options: compensation_options(),
            ..Self::new(ctx, name)
        }
    }

    /// Runs one step (no compensation of its own).
    pub(crate) async fn step<A>(
        &self,
        activity: A,
        input: A::Input,
    ) -> Result<A::Output, ActivityExecutionError>
    where
        A: ActivityDefinition + 'static,
    {
        self.ctx.set_current_details(format!(
            "saga **{}**: step `{}`",
            self.name,
            activity.name()
        ));
        self.ctx
            .execute_local_activity(activity, input, self.options.clone())
            .await
    }

    /// Registers `activity(input)` to run if a later step fails permanently. The future is
    /// created lazily: nothing is scheduled unless [`Saga::compensate`] runs it.
    pub(crate) fn on_failure<A>(&mut self, activity: A, input: A::Input)
    where
        A: ActivityDefinition<Output = ()> + 'static,
    {
        let ctx = self.ctx.clone();
        let label = activity.name().to_owned();
        self.compensations.push((
            label,
            Box::pin(async move {
                ctx.execute_local_activity(activity, input, compensation_options())
                    .await
            }),
        ));
    }

    /// Runs the registered compensations in reverse order. Compensations are retried hard; one
    /// that still fails is reported and the others run anyway.
    pub(crate) async fn compensate(&mut self, reason: &str) -> Vec<String> {
        let mut failed = Vec::new();
        for (label, compensation) in std::mem::take(&mut self.compensations).into_iter().rev() {
            self.ctx.set_current_details(format!(
                "saga **{}** compensating `{label}` because: {reason}",
                self.name
            ));
            let outcome = compensation.await;
            if let Err(e) = &outcome {
                failed.push(format!("{label}: {e}"));
            }
            // Kept in the workflow state (the `state` query) for ops and metrics.
            let record = format!("{}/{label}", self.name);
            self.ctx
                .state_mut(|s| s.record_compensation(record, outcome.is_ok()));
        }
        failed
    }
}

/// Steps: the caller waits, so retry quickly, then give up and compensate.
///
/// Only the first retry waits inside the workflow task; a longer backoff is a workflow timer
/// ([`STEP_LOCAL_RETRY_MAX`]). The server reports a tool-call update accepted only when the
/// workflow task that accepted it completes, and the SDK holds that task open while local
/// activities run and retry in the worker (up to a minute by default): a saga retrying a
/// failing step would keep its tool call out of the history for seconds, so the caller could
/// not be told it is under way. With the timer the task completes at the second failure, the
/// update is in the history, and the caller hears "confirming" truthfully. Replay is unaffected
/// (local activities are resolved from their markers, never retried, when replaying), so this
/// needs no patch.
fn step_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .start_to_close_timeout(Duration::from_secs(5))
        .timer_backoff_threshold(STEP_LOCAL_RETRY_MAX)
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(100))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(5))
                .maximum_attempts(8)
                .build(),
        )
        .build()
}

/// The longest backoff a saga step waits in the worker; longer ones are workflow timers.
const STEP_LOCAL_RETRY_MAX: Duration = Duration::from_millis(150);

/// Compensations (and durable steps) must eventually happen: retry until they succeed or fail
/// permanently (0 = no attempt limit).
pub(crate) fn compensation_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .start_to_close_timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(200))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(60))
                .maximum_attempts(0)
                .build(),
        )
        .build()
}

/// The application failure type of an activity error (`SlotTaken`, …), if it carries one.
/// Local activities report it on the failure itself, normal activities on its cause.
pub(crate) fn failure_type(err: &ActivityExecutionError) -> Option<&str> {
    if let Some(FailureInfo::ApplicationFailureInfo(info)) =
        err.failure().and_then(|f| f.failure_info.as_ref())
    {
        return Some(info.r#type.as_str());
    }
    match err.cause()? {
        IncomingError::Application(app) => app.type_name(),
        _ => None,
    }
}
