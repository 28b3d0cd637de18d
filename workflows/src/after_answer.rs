//! Emails sent after the caller has been answered: the booking's confirmation (since
//! [`crate::booking::PATCH_BOOKING_EMAIL_AFTER_ANSWER`]). Once the caller has heard "booked",
//! the booking stands, so the email is no step of the saga the caller waits for: the booking
//! saga queues it in the workflow state and answers, and [`send_queued`], which runs beside the
//! call's own work for the whole run, sends it.
//!
//! No workflow task that answers a tool call may run it: the SDK holds a task open while its
//! local activities run, and the server reports the update's answer only when the task
//! completes. Since [`PATCH_CONFIRMATION_LOCAL_FIRST`] (under `call-v5`) the sender first waits
//! for a task of its own (a 1 ms timer, taken again while a tool call is in progress), then
//! sends the email as a *local* activity there, one attempt bounded by
//! [`LOCAL_ATTEMPT_TIMEOUT`]: what a normal activity costs the Temporal server (its dispatch,
//! start and completion, and the workflow task that follows) was a third of a booking's server
//! CPU in `bench-tools`, and the timer's task costs less than half of that. A transient failure
//! of that attempt hands the email to the normal activity below, which retries without end
//! (the outbox key makes a second send a no-op); before the patch that activity was the only
//! path. A permanent failure (a 550 for an address speech recognition mis-heard) keeps the
//! booking, marks the appointment `email_failed`, emails the business owner
//! (`booking.confirmation_failed`), and is kept in the workflow state (`state` query) and the
//! current details. The workflow does not complete before the queue is empty.

use crate::CallWorkflow;
use crate::activities::AppointmentActivities;
use crate::payloads::FailedEmail;
use crate::saga::Saga;
use crate::tool_payloads::{ConfirmationFailedInput, SendEmailInput};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, LocalActivityOptions, TimerResult, WorkflowContext,
};

/// The confirmation is first tried as a local activity in a workflow task of its own.
pub(crate) const PATCH_CONFIRMATION_LOCAL_FIRST: &str = "confirmation-local-first-v1";

/// The local attempt's bound: a tool call that reaches the workflow meanwhile waits for it
/// (its task is open), so it is shorter than the API's wait for a tool call's acceptance
/// (`tools.accept_ms`, 1 s, + 500 ms) and than the agent speaking the booking's confirmation;
/// a slower server gets the normal activity.
pub(crate) const LOCAL_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(800);

/// A confirmation email to send after the answer, and what to mark when it fails for good.
#[derive(Clone, Debug)]
pub(crate) struct QueuedEmail {
    pub(crate) email: SendEmailInput,
    pub(crate) failed: ConfirmationFailedInput,
}

/// Queues `email` (sent by [`send_queued`] once the current handler has answered).
pub(crate) fn queue(ctx: &WorkflowContext<CallWorkflow>, email: QueuedEmail) {
    ctx.state_mut(|s| s.after_answer.push_back(email));
}

/// Sends the queued emails in order, for the whole run: returns once the call is done
/// (`closing`), no handler is running (none can queue another) and the queue is empty.
pub(crate) async fn send_queued(ctx: WorkflowContext<CallWorkflow>) {
    loop {
        let view = ctx.clone();
        let woke = ctx
            .wait_condition(move |s: &CallWorkflow| {
                !s.after_answer.is_empty() || (s.closing && view.all_handlers_finished())
            })
            .await;
        if woke.is_err() {
            // The workflow is being cancelled.
            return;
        }
        // Taken off the queue once done, so the `state` query counts it while it is sent.
        let Some(next) = ctx.state(|s| s.after_answer.front().cloned()) else {
            return;
        };
        if crate::call::has_patch(&ctx, PATCH_CONFIRMATION_LOCAL_FIRST) {
            if !task_of_its_own(&ctx).await {
                return;
            }
            send_local_first(&ctx, next).await;
        } else {
            send(&ctx, next).await;
        }
        ctx.state_mut(|s| s.after_answer.pop_front());
    }
}

/// Waits until the workflow runs a task that answers no tool call: a 1 ms timer's, with no
/// tool call in progress when it fired (else again once they are done). `false`: the workflow
/// is being cancelled.
async fn task_of_its_own(ctx: &WorkflowContext<CallWorkflow>) -> bool {
    loop {
        if ctx.timer(Duration::from_millis(1)).await == TimerResult::Cancelled {
            return false;
        }
        if ctx.all_handlers_finished() {
            return true;
        }
        let view = ctx.clone();
        if ctx
            .wait_condition(move |_: &CallWorkflow| view.all_handlers_finished())
            .await
            .is_err()
        {
            return false;
        }
    }
}

/// One local attempt; a transient failure goes to the normal activity's retries.
async fn send_local_first(ctx: &WorkflowContext<CallWorkflow>, queued: QueuedEmail) {
    let key = queued.email.idempotency_key.clone();
    ctx.set_current_details(format!("sending the confirmation email `{key}`"));
    let sent = ctx
        .execute_local_activity(
            AppointmentActivities::send_email,
            queued.email.clone(),
            local_attempt_options(),
        )
        .await;
    match sent {
        Ok(()) => {}
        Err(e) if is_permanent(&e) => {
            failed_for_good(ctx, key, queued.failed, failure_message(&e)).await;
        }
        Err(_) => send(ctx, queued).await,
    }
}

async fn send(ctx: &WorkflowContext<CallWorkflow>, queued: QueuedEmail) {
    let key = queued.email.idempotency_key.clone();
    ctx.set_current_details(format!("sending the confirmation email `{key}`"));
    let sent = ctx
        .execute_activity(
            AppointmentActivities::send_email,
            queued.email,
            email_options(),
        )
        .await;
    let Err(e) = sent else {
        return;
    };
    // Only a permanent failure comes back (the policy retries the others).
    failed_for_good(ctx, key, queued.failed, failure_message(&e)).await;
}

/// The booking stands: mark the appointment, tell the owner, keep it in the state.
async fn failed_for_good(
    ctx: &WorkflowContext<CallWorkflow>,
    key: String,
    mut input: ConfirmationFailedInput,
    error: String,
) {
    input.error = error.clone();
    let notified = Saga::durable(ctx, "booking_confirmation")
        .step(AppointmentActivities::confirmation_failed, input)
        .await
        .is_ok();
    ctx.set_current_details(format!(
        "confirmation email `{key}` failed for good ({error}); the booking stands, appointment \
         marked email_failed, owner notified: {notified}"
    ));
    ctx.state_mut(|s| {
        s.emails_failed.push(FailedEmail {
            key,
            error,
            owner_notified: notified,
        });
    });
}

/// Retried until it is sent or fails for good (0 = no attempt limit).
fn email_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_millis(500))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(300))
                .maximum_attempts(0)
                .build(),
        )
        .build()
}

/// One attempt, bounded: the task it runs in answers no tool call, but one may arrive.
fn local_attempt_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .start_to_close_timeout(LOCAL_ATTEMPT_TIMEOUT)
        .retry_policy(RetryPolicy::builder().maximum_attempts(1).build())
        .build()
}

/// Whether the activity failed with a non-retryable application failure (local activities
/// report it on the failure itself, normal activities on its cause).
fn is_permanent(e: &ActivityExecutionError) -> bool {
    let Some(f) = e.failure() else {
        return false;
    };
    [Some(f), f.cause.as_deref()].into_iter().flatten().any(|f| {
        matches!(&f.failure_info, Some(FailureInfo::ApplicationFailureInfo(info)) if info.non_retryable)
    })
}

/// The failure's own message: a normal activity's failure wraps the application error.
fn failure_message(e: &ActivityExecutionError) -> String {
    match e.failure() {
        Some(f) => f
            .cause
            .as_deref()
            .map_or(&f.message, |c| &c.message)
            .clone(),
        None => e.to_string(),
    }
}
