//! The end of a call: escalation decisions and outcomes, billing, the watchdog's close.
//! Bound to `callsaga_workflows::activities::CallEndActivities`.

mod billing;
pub mod billing_retry;
mod close;
pub mod escalation;
pub mod escalation_rules;
mod failed_step;
mod settle;

use crate::Activities;
use crate::email::{Email, EmailError};
use crate::tools::guarded;
use callsaga_workflows::activities::markers;
use callsaga_workflows::payloads::{
    BillCallInput, BillOutcome, CallSnapshot, CloseCallInput, EscalationSummary,
    RecordFailureInput, SettleEscalationsInput,
};
use callsaga_workflows::tool_payloads::{
    EscalationDecision, MarkEscalationInput, Planned, ToolInput,
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct CallEndActivitiesImpl {
    deps: Activities,
}

impl CallEndActivitiesImpl {
    pub fn new(deps: Activities) -> Self {
        Self { deps }
    }
}

#[activities]
impl CallEndActivitiesImpl {
    #[activity(definition = markers::OpenEscalation)]
    pub async fn open_escalation(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<Planned<EscalationDecision>, ActivityError> {
        guarded(
            &self.deps.faults,
            "escalation.open",
            Box::pin(escalation::open(&self.deps, &input)),
        )
        .await
    }

    #[activity(definition = markers::MarkEscalation)]
    pub async fn mark_escalation(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: MarkEscalationInput,
    ) -> Result<(), ActivityError> {
        escalation::mark(&self.deps, &input).await
    }

    #[activity(definition = markers::SettleEscalations)]
    pub async fn settle_escalations(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: SettleEscalationsInput,
    ) -> Result<EscalationSummary, ActivityError> {
        // Test hook: a permanent failure of the whole step (nothing settled).
        self.deps.faults.before("escalation.settle")?;
        let (summary, emails) = settle::settle(&self.deps, &input).await?;
        for (key, draft) in emails {
            let email = Email {
                to: draft.to,
                subject: draft.subject,
                text: draft.text,
                idempotency_key: key,
            };
            match self.deps.mailer.send(&self.deps.db, &email).await {
                Ok(_) => {}
                // Transient: the row stays pending and the retry sends it.
                Err(e @ EmailError::Transient(_)) => return Err(e.into_activity_error()),
                // Recorded `failed` in the outbox; the call's end (billing) goes on.
                Err(e) => tracing::warn!(
                    call.id = %input.vapi_call_id, email.key = %email.idempotency_key, error = %e,
                    "callback email failed for good"
                ),
            }
        }
        Ok(summary)
    }

    #[activity(definition = markers::ChargeCall)]
    pub async fn charge_call(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: BillCallInput,
    ) -> Result<BillOutcome, ActivityError> {
        guarded(
            &self.deps.faults,
            "billing.charge",
            Box::pin(billing::charge(&self.deps, &input)),
        )
        .await
    }

    #[activity(definition = markers::RecordFailure)]
    pub async fn record_failure(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RecordFailureInput,
    ) -> Result<(), ActivityError> {
        failed_step::record(&self.deps, &input).await
    }

    #[activity(definition = markers::CloseWithoutReport)]
    pub async fn close_without_report(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CloseCallInput,
    ) -> Result<CallSnapshot, ActivityError> {
        // Test hook: the watchdog's close failing for good.
        self.deps.faults.before("call.close_without_report")?;
        close::close_without_report(&self.deps, &input).await
    }
}
