//! The call workflow: one durable workflow per Vapi call, id `call-<vapi call id>`.
//!
//! Webhook events reach it as `event` signals (relayed from the inbox in arrival order). It
//! applies each one to the `calls` row through an idempotent activity, keeps the search
//! attributes current, and completes once the end-of-call report has been applied and no event is
//! left pending.

use crate::activities::{CallEndActivities, CallRecordActivities, ToolPlanningActivities};
use crate::payloads::{
    ApplyEventInput, BillOutcome, CallEvent, CallSnapshot, CallState, CallTimeouts,
    CallWorkflowInput, CloseCallInput, FailedEmail,
};
use crate::search_attributes::{AGENT_ID, CALL_ID, CALL_STATUS, REPORT_MISSING, USER_ID};
use crate::step_failure::{Step, absorb};
use crate::tool_payloads::{ToolCallAnswer, ToolCallRequest, ToolInput};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, SystemTime};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, LocalActivityOptions, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult,
};

#[workflow]
#[derive(Default)]
pub struct CallWorkflow {
    vapi_call_id: String,
    pending: VecDeque<CallEvent>,
    /// Inbox ids already accepted, so a re-relayed event is applied once.
    seen: BTreeSet<i64>,
    snapshot: CallSnapshot,
    applied: u32,
    /// Answers of finished tool calls, by tool call id.
    tool_answers: BTreeMap<String, ToolCallAnswer>,
    /// Workflow time at which the call was first seen ended (starts the report watchdog).
    ended_seen_at: Option<SystemTime>,
    billed: bool,
    /// The charge failed for good (see [`crate::step_failure`]).
    pub(crate) billing_failed: bool,
    /// `<saga>/<activity>` of every compensation that ran (`!` prefix: it failed for good).
    compensations: Vec<String>,
    /// Emails queued after answering a caller, sent by `after_answer::send_queued`.
    pub(crate) after_answer: VecDeque<crate::after_answer::QueuedEmail>,
    /// Those that failed for good.
    pub(crate) emails_failed: Vec<FailedEmail>,
    /// Set when the call's own work is done; the queued emails are the last thing left.
    pub(crate) closing: bool,
    /// Events that failed for good and were skipped.
    pub(crate) events_skipped: u32,
    /// Steps that failed for good and were recorded and skipped, `<step>: <failure type>`.
    pub(crate) failures: Vec<String>,
}

impl CallWorkflow {
    fn accept(&mut self, event: CallEvent) {
        if self.seen.insert(event.inbox_id) {
            self.pending.push_back(event);
        }
    }

    /// Whether the last charge failed for good. `billed` is left to each caller as before: it
    /// decides whether billing runs again, and the recorded histories fix when it does.
    fn record_billing_failure(&mut self, status: &str) {
        self.billing_failed = status == BillOutcome::BILLING_FAILED;
    }

    pub(crate) fn record_compensation(&mut self, label: String, ok: bool) {
        self.compensations
            .push(if ok { label } else { format!("!{label}") });
    }
}

/// Patch id of the watchdog and the end-of-call sagas (escalation settling, billing).
pub const PATCH_WATCHDOG_AND_BILLING: &str = "watchdog-and-billing-v1";

/// One patch that every workflow started since it takes, standing for all the patches before
/// it: those [`PATCH_V4`] covered, [`PATCH_TOOL_CALL_NOT_AFTER`],
/// [`crate::step_failure::PATCH_CALL_END_ALWAYS`] and
/// [`crate::after_answer::PATCH_CONFIRMATION_LOCAL_FIRST`]. The SDK records each patch as a
/// marker plus an upsert of the `TemporalChangeVersion` search attribute (a visibility write):
/// a new call's first tool call recorded two of each under `call-v4` (it and the time limit's
/// own patch), this one instead. Histories without this marker (recorded before it, or
/// started by an older worker) consult [`PATCH_V4`], [`PATCH_V3`] and the old patches one by
/// one, as they did when they were recorded. The SDK remembers a patch's answer for the whole
/// run, so a call that was already running when this code was deployed keeps its old branches
/// too. Patches added later are separate `ctx.patched(..)` calls again, or a next `call-v6`
/// that stands for them all.
pub const PATCH_CURRENT: &str = "call-v5";

/// The one patch of workflows started between `call-v4` and [`PATCH_CURRENT`]: it stands for
/// the patches in [`COVERED_BY_V4`] only.
pub const PATCH_V4: &str = "call-v4";

/// The patches [`PATCH_V4`] stands for: those of `call-v3` and the confirmation email after
/// the answer.
const COVERED_BY_V4: [&str; 4] = [
    PATCH_WATCHDOG_AND_BILLING,
    crate::booking::PATCH_BOOKING_ONE_STEP,
    crate::booking::PATCH_BOOKING_EMAIL_IN_STEP,
    crate::booking::PATCH_BOOKING_EMAIL_AFTER_ANSWER,
];

/// The one patch of workflows started between `call-v3` and [`PATCH_V4`]: it stands for
/// the patches in [`COVERED_BY_V3`] only.
pub const PATCH_V3: &str = "call-v3";

/// The patches [`PATCH_V3`] stands for.
const COVERED_BY_V3: [&str; 3] = [
    PATCH_WATCHDOG_AND_BILLING,
    crate::booking::PATCH_BOOKING_ONE_STEP,
    crate::booking::PATCH_BOOKING_EMAIL_IN_STEP,
];

/// Patch id of the tool-call time limit: a request with `not_after_ms` that reaches the
/// workflow later answers "expired" without its saga; one that is in time first claims the
/// tool call (`tools.claim`) and answers "expired" too when the API has already refused it.
/// Only consulted for requests that carry the limit (effectful tools).
pub const PATCH_TOOL_CALL_NOT_AFTER: &str = "tool-call-not-after-v1";

/// Whether this run takes the branch `patch` introduced: every run under [`PATCH_CURRENT`],
/// runs under [`PATCH_V4`] or [`PATCH_V3`] for the patches they cover, older ones as their
/// history recorded.
pub(crate) fn has_patch(ctx: &WorkflowContext<CallWorkflow>, patch: &str) -> bool {
    ctx.patched(PATCH_CURRENT)
        || (COVERED_BY_V4.contains(&patch) && ctx.patched(PATCH_V4))
        || (COVERED_BY_V3.contains(&patch) && ctx.patched(PATCH_V3))
        || ctx.patched(patch)
}

/// The Vapi call id in the workflow id `call-<vapi call id>`.
fn vapi_call_id(ctx: &WorkflowContext<CallWorkflow>) -> String {
    ctx.workflow_id()
        .strip_prefix("call-")
        .unwrap_or_default()
        .to_owned()
}

/// The workflow task's time in ms since the Unix epoch (deterministic: from the history).
fn workflow_time_ms(ctx: &WorkflowContext<CallWorkflow>) -> i64 {
    ctx.workflow_time()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Time left until `deadline` in workflow time (at least a millisecond: a zero timer is not
/// allowed).
fn remaining_until(ctx: &WorkflowContext<CallWorkflow>, deadline: SystemTime) -> Duration {
    let now = ctx.workflow_time().unwrap_or(SystemTime::UNIX_EPOCH);
    deadline
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_millis(1))
}

#[workflow_methods]
impl CallWorkflow {
    #[run(name = "CallWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: CallWorkflowInput,
    ) -> WorkflowResult<CallSnapshot> {
        // Emails queued after answering a caller are sent beside the call's own work, and the
        // workflow completes only once they are done (`after_answer.rs`). Histories without
        // such emails issue the same commands as before: the sender only waits.
        let emails = crate::after_answer::send_queued(ctx.clone());
        let closing = ctx.clone();
        let call = async {
            let result = Self::lifecycle(ctx, input).await;
            closing.state_mut(|s| s.closing = true);
            result
        };
        let (result, ()) = temporalio_sdk::workflows::join!(call, emails);
        result
    }

    /// The call's own work: its events, the watchdog, the end-of-call sagas.
    async fn lifecycle(
        ctx: &mut WorkflowContext<Self>,
        input: CallWorkflowInput,
    ) -> WorkflowResult<CallSnapshot> {
        ctx.state_mut(|s| s.vapi_call_id = input.vapi_call_id.clone());
        // Our starters set `CallId` with the start request (`start_search_attributes`): one
        // visibility write per call instead of two. A workflow started without it (an older
        // build, the histories recorded before) sets it here. The start event decides, so
        // replay takes the same branch the recorded run took.
        if !ctx.search_attributes().contains_key(&CALL_ID) {
            ctx.upsert_search_attributes([CALL_ID.value_set(input.vapi_call_id.clone())]);
        }
        let workflow_id = ctx.workflow_id().to_owned();
        // Patch: histories recorded before the watchdog and the end-of-call sagas existed
        // replay on the old path (apply events until the report, then complete).
        let v2 = has_patch(ctx, PATCH_WATCHDOG_AND_BILLING);
        let timeouts = input.timeouts.clone().unwrap_or_default();
        let started = ctx.workflow_time();

        loop {
            if v2 {
                let deadline = ctx.state(|s| match s.ended_seen_at {
                    Some(ended) => ended + secs(timeouts.report_timeout_secs),
                    None => {
                        started.unwrap_or(SystemTime::UNIX_EPOCH) + secs(timeouts.max_call_secs)
                    }
                });
                let remaining = remaining_until(ctx, deadline);
                let fired = temporalio_sdk::workflows::select! {
                    _ = ctx.wait_condition(|s: &Self| !s.pending.is_empty()) => false,
                    _ = ctx.timer(remaining) => true,
                };
                if fired {
                    Self::close_without_report(ctx, &workflow_id, &input, &timeouts).await?;
                    break;
                }
            } else {
                ctx.wait_condition(|s| !s.pending.is_empty()).await?;
            }
            if Self::apply_next(ctx, &workflow_id, &input.vapi_call_id).await? {
                break;
            }
        }

        if v2 && !ctx.state(|s| s.billed) {
            let outcome = crate::billing::run(ctx, &workflow_id, &input.vapi_call_id).await?;
            ctx.state_mut(|s| {
                s.billed = outcome.status == "billed" || s.billed;
                s.record_billing_failure(&outcome.status);
            });
        }
        // Updates and signals that are still running must not be cut off by completion.
        let view = ctx.clone();
        ctx.wait_condition(move |_| view.all_handlers_finished())
            .await?;
        Ok(ctx.state(|s| s.snapshot.clone()))
    }

    /// Applies the next pending event; true when the call is complete (report applied and
    /// nothing pending).
    async fn apply_next(
        ctx: &mut WorkflowContext<Self>,
        workflow_id: &str,
        vapi_call_id: &str,
    ) -> Result<bool, ActivityExecutionError> {
        let Some(event) = ctx.state_mut(|s| s.pending.pop_front()) else {
            return Ok(false);
        };
        let previous = ctx.state(|s| s.snapshot.clone());
        let applied = ctx
            .execute_local_activity(
                CallRecordActivities::apply_event,
                ApplyEventInput {
                    workflow_id: workflow_id.to_owned(),
                    vapi_call_id: vapi_call_id.to_owned(),
                    inbox_id: event.inbox_id,
                },
                record_options(),
            )
            .await;
        let snapshot = match applied {
            Ok(snapshot) => snapshot,
            // An event that no longer applies (it does not parse, it is not this call's): the
            // row keeps what the other events made of it, and the call goes on without it.
            Err(e) => {
                absorb(
                    ctx,
                    Step::ApplyEvent {
                        inbox_id: event.inbox_id,
                    },
                    e,
                )
                .await?;
                return Ok(ctx.state(|s| s.snapshot.report_applied && s.pending.is_empty()));
            }
        };
        publish_changes(ctx, &previous, &snapshot);
        let now = ctx.workflow_time();
        let done = ctx.state_mut(|s| {
            s.applied += 1;
            if snapshot.ended && s.ended_seen_at.is_none() {
                s.ended_seen_at = now;
            }
            s.snapshot = snapshot.clone();
            s.snapshot.report_applied && s.pending.is_empty()
        });
        ctx.set_current_details(format!(
            "status **{}**, {} event(s) applied, report applied: {}",
            snapshot.status,
            ctx.state(|s| s.applied),
            snapshot.report_applied
        ));
        Ok(done)
    }

    /// The watchdog fired: no end-of-call report in time (or no end at all). Close the call
    /// from what is known, bill it, and keep listening for a late report for a while: if one
    /// comes, it is applied and billing corrects the charge with an adjustment entry.
    async fn close_without_report(
        ctx: &mut WorkflowContext<Self>,
        workflow_id: &str,
        input: &CallWorkflowInput,
        timeouts: &CallTimeouts,
    ) -> Result<(), ActivityExecutionError> {
        ctx.set_current_details(
            "watchdog: no end-of-call report in time; closing from what is known",
        );
        let closed = ctx
            .execute_local_activity(
                CallEndActivities::close_without_report,
                CloseCallInput {
                    workflow_id: workflow_id.to_owned(),
                    vapi_call_id: input.vapi_call_id.clone(),
                },
                record_options(),
            )
            .await;
        match closed {
            Ok(snapshot) => {
                let previous = ctx.state(|s| s.snapshot.clone());
                publish_changes(ctx, &previous, &snapshot);
                ctx.upsert_search_attributes([REPORT_MISSING.value_set(true)]);
                ctx.state_mut(|s| s.snapshot = snapshot);
            }
            // Billing still runs, from what the row holds (or it fails for good and says so).
            Err(e) => {
                absorb(ctx, Step::CloseWithoutReport, e).await?;
                ctx.upsert_search_attributes([REPORT_MISSING.value_set(true)]);
            }
        }
        let outcome = crate::billing::run(ctx, workflow_id, &input.vapi_call_id).await?;
        ctx.state_mut(|s| {
            s.billed = outcome.status == "billed";
            s.record_billing_failure(&outcome.status);
        });

        // A late report corrects the call.
        let window = secs(timeouts.late_report_window_secs);
        loop {
            let got_event = temporalio_sdk::workflows::select! {
                _ = ctx.wait_condition(|s: &Self| !s.pending.is_empty()) => true,
                _ = ctx.timer(window) => false,
            };
            if !got_event {
                return Ok(());
            }
            if Self::apply_next(ctx, workflow_id, &input.vapi_call_id).await? {
                let outcome = crate::billing::run(ctx, workflow_id, &input.vapi_call_id).await?;
                ctx.state_mut(|s| s.record_billing_failure(&outcome.status));
                return Ok(());
            }
        }
    }

    /// A webhook event for this call, relayed from the inbox.
    #[signal(name = "event")]
    pub fn event(&mut self, _ctx: &mut SyncWorkflowContext<Self>, event: CallEvent) {
        self.accept(event);
    }

    /// Several webhook events of this call, in arrival order (what the relay sends).
    #[signal(name = "events")]
    pub fn events(&mut self, _ctx: &mut SyncWorkflowContext<Self>, events: Vec<CallEvent>) {
        for event in events {
            self.accept(event);
        }
    }

    /// A tool call of the voice agent; answered when its saga is done. The client sets the
    /// update id to the tool call id, so a re-delivered tool call attaches to the first one;
    /// the answers map covers re-deliveries after the first completed.
    #[update(name = "tool_call")]
    pub async fn tool_call(
        ctx: &mut WorkflowContext<Self>,
        request: ToolCallRequest,
    ) -> ToolCallAnswer {
        if let Some(done) = ctx.state(|s| s.tool_answers.get(&request.tool_call_id).cloned()) {
            return done;
        }
        if let Some(not_after_ms) = request.not_after_ms
            && has_patch(ctx, PATCH_TOOL_CALL_NOT_AFTER)
        {
            if workflow_time_ms(ctx) > not_after_ms {
                return remember_answer(ctx, &request, crate::tools::expired(&request));
            }
            // The server reports an update accepted only when the workflow task that accepted
            // it completes, and the SDK holds a task open while its local activities run, so
            // the API may not hear of it in time. The claim decides in the database instead:
            // the API records its callback request only where the workflow has not claimed the
            // tool call, and the workflow runs the saga only where the API has not.
            let input = ToolInput {
                workflow_id: ctx.workflow_id().to_owned(),
                vapi_call_id: vapi_call_id(ctx),
                request: request.clone(),
            };
            let claimed = ctx
                .execute_local_activity(ToolPlanningActivities::claim, input, record_options())
                .await;
            if !matches!(claimed, Ok(true)) {
                return remember_answer(ctx, &request, crate::tools::expired(&request));
            }
        }
        let input = ToolInput {
            workflow_id: ctx.workflow_id().to_owned(),
            vapi_call_id: vapi_call_id(ctx),
            request: request.clone(),
        };
        let before = ctx.state(|s| s.compensations.len());
        let mut answer = crate::tools::run(ctx, input).await;
        answer.compensations = ctx.state(|s| s.compensations[before..].to_vec());
        remember_answer(ctx, &request, answer)
    }

    /// Live state of the call, for the admin API and the Temporal UI.
    #[query(name = "state")]
    pub fn state(&self, _ctx: &WorkflowContextView) -> CallState {
        CallState {
            vapi_call_id: self.vapi_call_id.clone(),
            status: self.snapshot.status.clone(),
            events_applied: self.applied,
            events_pending: u32::try_from(self.pending.len()).unwrap_or(u32::MAX),
            report_applied: self.snapshot.report_applied,
            agent_id: self.snapshot.agent_id.clone(),
            user_id: self.snapshot.user_id.clone(),
            compensations: self.compensations.clone(),
            tool_calls_answered: u32::try_from(self.tool_answers.len()).unwrap_or(u32::MAX),
            report_missing: self.snapshot.report_missing,
            billed: self.billed,
            emails_pending: u32::try_from(self.after_answer.len()).unwrap_or(u32::MAX),
            emails_failed: self.emails_failed.clone(),
            billing_failed: self.billing_failed,
            events_skipped: self.events_skipped,
            failures: self.failures.clone(),
        }
    }
}

/// Keeps `answer` as the tool call's answer (a re-delivery gets it again) and returns it.
fn remember_answer(
    ctx: &WorkflowContext<CallWorkflow>,
    request: &ToolCallRequest,
    answer: ToolCallAnswer,
) -> ToolCallAnswer {
    ctx.state_mut(|s| {
        s.tool_answers
            .insert(request.tool_call_id.clone(), answer.clone())
    });
    answer
}

/// Upserts only the search attributes that changed, so the history stays short.
fn publish_changes(ctx: &WorkflowContext<CallWorkflow>, old: &CallSnapshot, new: &CallSnapshot) {
    let mut updates = Vec::new();
    if old.status != new.status && !new.status.is_empty() {
        updates.push(CALL_STATUS.value_set(new.status.clone()));
    }
    if old.agent_id != new.agent_id
        && let Some(agent) = &new.agent_id
    {
        updates.push(AGENT_ID.value_set(agent.clone()));
    }
    if old.user_id != new.user_id
        && let Some(user) = &new.user_id
    {
        updates.push(USER_ID.value_set(user.clone()));
    }
    if !updates.is_empty() {
        ctx.upsert_search_attributes(updates);
    }
}

/// Database writes are short; retry them (forever, backing off to 30 s) while the database is
/// unavailable rather than losing the event.
pub(crate) fn record_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .start_to_close_timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(200))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(30))
                .build(),
        )
        .build()
}
