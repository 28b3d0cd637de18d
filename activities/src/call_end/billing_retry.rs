//! Billing a call again after its charge failed for good (`billing_failed`), once the cause is
//! fixed: `callsaga billing retry <vapi call id>` and `POST /admin/v1/calls/{id}/billing/retry`.
//!
//! The same path as the workflow's: [`super::billing::charge`] with the same ledger key
//! (`call:<vapi call id>:usage`), so a retry that races another, or repeats, charges once; the
//! low-balance email keeps the workflow's key (`low-balance:<entry id>`), so it goes once too.

use super::billing;
use crate::Activities;
use crate::email::Email;
use crate::event_log::{self, BILLING_RETRIED, Entry};
use callsaga_entity::calls;
use callsaga_workflows::payloads::{BillCallInput, BillOutcome};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use temporalio_sdk::activities::ActivityError;

/// Why a retry did not bill the call.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no call with vapi_call_id {0:?}")]
    NotFound(String),
    /// Only a failed charge is retried; the status says what the call's billing is.
    #[error("the call's billing is {0:?}, not billing_failed: nothing to retry")]
    NotFailed(String),
    /// The charge failed for good again: the cause is not fixed.
    #[error("the charge failed again ({failure_type}): {message}")]
    Failed {
        failure_type: String,
        message: String,
    },
    /// The database is unavailable; retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// What a retry did.
#[derive(Debug)]
pub struct Retried {
    pub outcome: BillOutcome,
    /// The low-balance email this charge called for could not be sent (the charge stands).
    pub email_error: Option<String>,
}

pub async fn retry(deps: &Activities, vapi_call_id: &str) -> Result<Retried, RetryError> {
    let call = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(vapi_call_id))
        .one(&deps.db)
        .await
        .map_err(|e| RetryError::Unavailable(e.to_string()))?
        .ok_or_else(|| RetryError::NotFound(vapi_call_id.to_owned()))?;
    let status = call.billing_status.clone().unwrap_or_default();
    if status != BillOutcome::BILLING_FAILED {
        return Err(RetryError::NotFailed(status));
    }
    // Test hook (empty outside tests): the cause not being fixed yet.
    deps.faults.before("billing.charge").map_err(classify)?;
    let outcome = billing::charge(
        deps,
        &BillCallInput {
            workflow_id: call.workflow_id.clone(),
            vapi_call_id: vapi_call_id.to_owned(),
        },
    )
    .await
    .map_err(classify)?;
    let mut email_error = None;
    if let (Some(draft), Some(entry)) = (&outcome.low_balance_email, &outcome.ledger_entry_id) {
        let email = Email {
            to: draft.to.clone(),
            subject: draft.subject.clone(),
            text: draft.text.clone(),
            idempotency_key: format!("low-balance:{entry}"),
        };
        if let Err(e) = deps.mailer.send(&deps.db, &email).await {
            email_error = Some(e.to_string());
        }
    }
    event_log::log_once(
        &deps.db,
        Entry {
            key: &format!("call:{vapi_call_id}:billing_retried"),
            user_id: call.user_id,
            call_id: Some(call.id),
            kind: BILLING_RETRIED,
            data: json!({
                "vapi_call_id": vapi_call_id,
                "status": outcome.status,
                "charged": outcome.charged,
                "ledger_entry_id": outcome.ledger_entry_id,
                "low_balance_email_error": email_error,
            }),
        },
    )
    .await
    .map_err(|e| RetryError::Unavailable(e.to_string()))?;
    metrics::counter!("callsaga_billing_retried_total", "status" => outcome.status.clone())
        .increment(1);
    tracing::info!(call.id = %vapi_call_id, status = %outcome.status, "failed charge billed again");
    Ok(Retried {
        outcome,
        email_error,
    })
}

/// A permanent activity failure is the cause not being fixed; anything else is worth another
/// try later.
fn classify(err: ActivityError) -> RetryError {
    match err {
        ActivityError::Application(app) if app.is_non_retryable() => RetryError::Failed {
            failure_type: app.type_name().unwrap_or("Unknown").to_owned(),
            message: app.to_string(),
        },
        other => RetryError::Unavailable(format!("{other:?}")),
    }
}
