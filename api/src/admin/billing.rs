//! `POST /admin/v1/calls/{vapi_call_id}/billing/retry`: bills a call whose charge failed for
//! good (`billing_status = billing_failed`) again, once the cause is fixed — through the same
//! idempotent ledger path as the call's workflow ([`billing_retry::retry`]). The CLI's
//! `callsaga billing retry` does the same.

use super::error::{AdminError, ErrorBody};
use crate::error::ApiError;
use crate::settings::Settings;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use callsaga_activities::Activities;
use callsaga_activities::call_end::billing_retry::{self, RetryError};
use callsaga_activities::email::Mailer;
use callsaga_activities::faults::FaultPlan;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// What the retry did.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingRetried {
    pub vapi_call_id: String,
    /// `billed` or `not_billable` (the call's `billing_status` now).
    pub billing_status: String,
    /// Credits the call is charged in all.
    pub charged: i64,
    pub ledger_entry_id: Option<String>,
    /// The low-balance email this charge called for could not be sent (the charge stands).
    pub low_balance_email_error: Option<String>,
}

/// Bills a call whose charge failed for good.
#[utoipa::path(post, path = "/admin/v1/calls/{vapi_call_id}/billing/retry", operation_id = "retry_billing", tag = "credits",
    params(("vapi_call_id" = String, Path, description = "Vapi's call id")),
    responses((status = 200, description = "The call is billed now", body = BillingRetried), (status = 404, description = "No call with this Vapi call id", body = ErrorBody),
        (status = 409, description = "The call's billing did not fail", body = ErrorBody),
        (status = 422, description = "The charge failed for good again: the cause is not fixed", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(vapi_call_id): Path<String>,
) -> Result<Json<BillingRetried>, AdminError> {
    let deps = retry_deps(state.db.clone(), &state.settings)
        .map_err(|e| AdminError::Api(ApiError::Internal(e)))?;
    let retried = billing_retry::retry(&deps, &vapi_call_id)
        .await
        .map_err(|e| match e {
            RetryError::NotFound(_) => AdminError::not_found(e.to_string()),
            RetryError::NotFailed(_) => AdminError::Conflict(e.to_string()),
            RetryError::Failed { .. } => AdminError::invalid("vapi_call_id", e.to_string()),
            RetryError::Unavailable(_) => {
                AdminError::Api(ApiError::Unavailable(anyhow::anyhow!(e.to_string())))
            }
        })?;
    Ok(Json(BillingRetried {
        vapi_call_id,
        billing_status: retried.outcome.status,
        charged: retried.outcome.charged,
        ledger_entry_id: retried.outcome.ledger_entry_id,
        low_balance_email_error: retried.email_error,
    }))
}

/// What billing needs outside the worker: the database, the mailer and the price. No fault
/// plan (that is the worker's test hook).
pub(crate) fn retry_deps(
    db: DatabaseConnection,
    settings: &Settings,
) -> anyhow::Result<Activities> {
    let mailer = Arc::new(Mailer::new(&settings.email)?);
    Ok(
        Activities::new(db, mailer, FaultPlan::default(), settings.billing)
            .with_max_call_secs(settings.calls.max_call_secs),
    )
}
