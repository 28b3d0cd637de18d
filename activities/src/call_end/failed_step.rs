//! `call_end.record_failure`: a step of a call that failed for good is made visible — one
//! `event_log` row (once per workflow, step and inbox event), a metric, and for the charge the
//! call row's `billing_status = billing_failed` — before the workflow skips it.

use crate::Activities;
use crate::event_log::{self, BILLING_FAILED, EVENT_SKIPPED, Entry, STEP_FAILED};
use crate::failure::transient;
use callsaga_entity::calls;
use callsaga_workflows::payloads::{BillOutcome, RecordFailureInput};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use temporalio_sdk::activities::ActivityError;

/// Longest failure message kept (a parse error can quote a large part of a payload).
const MAX_MESSAGE: usize = 500;

pub(crate) async fn record(
    deps: &Activities,
    input: &RecordFailureInput,
) -> Result<(), ActivityError> {
    let txn = callsaga_entity::begin_write(&deps.db)
        .await
        .map_err(transient)?;
    let call = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(&input.vapi_call_id))
        .one(&txn)
        .await
        .map_err(transient)?;
    let kind = match input.step.as_str() {
        "call.apply_event" => EVENT_SKIPPED,
        "billing.charge" => BILLING_FAILED,
        _ => STEP_FAILED,
    };
    let key = format!(
        "{}:{}:{}",
        input.workflow_id,
        input.step,
        input.inbox_id.map(|id| id.to_string()).unwrap_or_default()
    );
    let written = event_log::log_once(
        &txn,
        Entry {
            key: &key,
            user_id: call.as_ref().and_then(|c| c.user_id),
            call_id: call.as_ref().map(|c| c.id),
            kind,
            data: json!({
                "vapi_call_id": input.vapi_call_id,
                "workflow_id": input.workflow_id,
                "step": input.step,
                "failure_type": input.failure_type,
                "message": truncate(&input.message),
                "inbox_id": input.inbox_id,
            }),
        },
    )
    .await
    .map_err(transient)?;
    if kind == BILLING_FAILED
        && let Some(call) = &call
    {
        calls::Entity::update_many()
            .col_expr(
                calls::Column::BillingStatus,
                Some(BillOutcome::BILLING_FAILED.to_owned()).into(),
            )
            .filter(calls::Column::Id.eq(call.id))
            .exec(&txn)
            .await
            .map_err(transient)?;
    }
    txn.commit().await.map_err(transient)?;
    if written {
        metrics::counter!("callsaga_call_end_failures_total", "step" => input.step.clone())
            .increment(1);
        match kind {
            EVENT_SKIPPED => metrics::counter!("callsaga_events_skipped_total").increment(1),
            BILLING_FAILED => metrics::counter!("callsaga_billing_failed_total").increment(1),
            _ => {}
        }
        // The type only: a message can quote the payload (numbers, names).
        tracing::warn!(
            call.id = %input.vapi_call_id,
            step = %input.step,
            failure.kind = %input.failure_type,
            inbox.id = ?input.inbox_id,
            "end-of-call step failed for good; recorded and skipped"
        );
    }
    Ok(())
}

fn truncate(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character() {
        assert_eq!(truncate("short"), "short");
        let long = "ä".repeat(MAX_MESSAGE + 10);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE + 1);
        assert!(cut.ends_with('…'));
    }
}
