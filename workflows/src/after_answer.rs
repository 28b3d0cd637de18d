//! Emails sent after the caller has been answered: the booking's confirmation (since
//! [`crate::booking::PATCH_BOOKING_EMAIL_AFTER_ANSWER`]). Once the caller has heard "booked",
//! the booking stands, so the email is no step of the saga the caller waits for: the booking
//! saga queues it in the workflow state and answers, and [`send_queued`], which runs beside the
//! call's own work for the whole run, sends it.
//!
//! It is a normal activity, not a local one: a local activity scheduled in the workflow task
//! that completes the update would hold that task (and so the caller's answer) open until it
//! finished, while a scheduled activity is one more command of the task. Transient failures are
//! retried by its retry policy without end; a permanent one (a 550 for an address speech
//! recognition mis-heard) keeps the booking, marks the appointment `email_failed`, emails the
//! business owner (`booking.confirmation_failed`), and is kept in the workflow state (`state`
//! query) and the current details. The workflow does not complete before the queue is empty.

use crate::CallWorkflow;
use crate::activities::AppointmentActivities;
use crate::payloads::FailedEmail;
use crate::saga::Saga;
use crate::tool_payloads::{ConfirmationFailedInput, SendEmailInput};
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_sdk::{ActivityExecutionError, ActivityOptions, WorkflowContext};

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
        send(&ctx, next).await;
        ctx.state_mut(|s| s.after_answer.pop_front());
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
    let error = failure_message(&e);
    let mut input = queued.failed;
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
