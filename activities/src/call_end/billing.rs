//! Billing a call once: one usage entry keyed `call:<vapi call id>:usage`; a report that comes
//! after a watchdog close corrects it with one adjustment entry keyed
//! `call:<vapi call id>:correction`.

use crate::Activities;
use crate::event_log::{self, DURATION_CORRECTED, Entry};
use crate::failure::{permanent, transient};
use crate::ledger::{self, Adjust, ChargeCall};
use crate::pricing::{CheckedDuration, charge_for, checked_duration, is_billable};
use callsaga_entity::{calls, credit_ledger, users};
use callsaga_workflows::payloads::{BillCallInput, BillOutcome};
use callsaga_workflows::tool_payloads::EmailDraft;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use temporalio_sdk::activities::ActivityError;

/// `calls.billing_status` of a call refused at the door (`calls.admission` set).
pub(crate) const REFUSED: &str = "refused";

pub(crate) async fn charge(
    deps: &Activities,
    input: &BillCallInput,
) -> Result<BillOutcome, ActivityError> {
    let call = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(&input.vapi_call_id))
        .one(&deps.db)
        .await
        .map_err(transient)?
        .ok_or_else(|| {
            permanent(
                "CallNotFound",
                format!("call {} has no row", input.vapi_call_id),
            )
        })?;
    // A call refused at the door is never billed, whatever Vapi reports about it (a refused
    // call forwarded to the fallback number runs on, but not on our agent).
    if call.admission.is_some() {
        set_billing(deps, &call, REFUSED, Some(0)).await?;
        metrics::counter!("callsaga_calls_billed_total", "status" => REFUSED).increment(1);
        return Ok(BillOutcome {
            status: REFUSED.into(),
            ..Default::default()
        });
    }
    let Some(user_id) = call.user_id else {
        set_billing(deps, &call, "no_user", None).await?;
        return Ok(BillOutcome {
            status: "no_user".into(),
            ..Default::default()
        });
    };
    let checked = checked_duration(
        call.duration_ms,
        call.started_at,
        call.ended_at,
        i64::try_from(deps.max_call_secs.saturating_mul(1_000)).unwrap_or(i64::MAX),
    );
    flag_duration(deps, &call, user_id, &checked).await?;
    let duration = checked.billed_ms;
    let billable = is_billable(
        call.started_at.is_some(),
        call.ended_reason.as_deref(),
        duration,
    );
    let amount = if billable {
        charge_for(duration.unwrap_or(0), &deps.pricing)
    } else {
        0
    };
    let usage_key = format!("call:{}:usage", input.vapi_call_id);

    let existing = credit_ledger::Entity::find()
        .filter(credit_ledger::Column::IdempotencyKey.eq(&usage_key))
        .one(&deps.db)
        .await
        .map_err(transient)?;
    let corrected = call.report_missing && call.report_received_at.is_some();
    let first_charge = existing.is_none();
    let (charged_total, entry, crossed) = match existing {
        // Watchdog-billed, and now the report is here: charge or refund the difference.
        Some(first) if corrected => {
            let diff = amount - (-first.amount);
            let mut total = -first.amount;
            let mut crossed = false;
            let mut entry = Some(first.id);
            if diff != 0 {
                let outcome = ledger::adjust(
                    &deps.db,
                    Adjust {
                        user_id,
                        call_id: Some(call.id),
                        amount: -diff,
                        idempotency_key: format!("call:{}:correction", input.vapi_call_id),
                        note: Some(format!(
                            "correction after the late end-of-call report ({} → {amount} credits)",
                            -first.amount
                        )),
                    },
                )
                .await
                .map_err(|e| e.into_activity_error())?;
                total = amount;
                entry = Some(outcome.entry_id());
                crossed =
                    matches!(outcome, ledger::AdjustOutcome::Debited(o) if o.low_balance_crossed);
            }
            (total, entry, crossed)
        }
        Some(first) => (-first.amount, Some(first.id), false),
        None if amount > 0 => {
            let outcome = ledger::charge_call(
                &deps.db,
                ChargeCall {
                    user_id,
                    call_id: call.id,
                    amount,
                    idempotency_key: usage_key,
                    note: Some(format!(
                        "call {} ({} ms)",
                        input.vapi_call_id,
                        duration.unwrap_or(0)
                    )),
                },
            )
            .await
            .map_err(|e| e.into_activity_error())?;
            // A retry reports the crossing again; the email's key is the entry id, so it goes once.
            (
                outcome.charged,
                Some(outcome.entry_id),
                outcome.low_balance_crossed,
            )
        }
        None => (0, None, false),
    };
    let status = if billable { "billed" } else { "not_billable" };
    metrics::counter!("callsaga_calls_billed_total", "status" => status).increment(1);
    if first_charge && entry.is_some() {
        metrics::counter!("callsaga_credits_charged_total")
            .increment(u64::try_from(charged_total).unwrap_or(0));
    }
    set_billing(deps, &call, status, Some(charged_total)).await?;
    let low_balance_email = if crossed {
        let user = users::Entity::find_by_id(user_id)
            .one(&deps.db)
            .await
            .map_err(transient)?;
        user.map(|u| EmailDraft {
            to: u.email.clone(),
            subject: "Your callsaga credit balance is low".into(),
            text: format!(
                "Hello {},\n\nyour balance is now {} credits, below your threshold of {}. Please top up to keep your agents answering calls.\n",
                u.name, u.credit_balance, u.low_balance_threshold
            ),
        })
    } else {
        None
    };
    Ok(BillOutcome {
        status: status.into(),
        charged: charged_total,
        low_balance_email,
        ledger_entry_id: entry.map(|e| e.to_string()),
    })
}

/// A duration not billed as reported is flagged once per call: an `event_log` row (shown in the
/// admin call detail) and a metric.
async fn flag_duration(
    deps: &Activities,
    call: &calls::Model,
    user_id: uuid::Uuid,
    checked: &CheckedDuration,
) -> Result<(), ActivityError> {
    let Some(flag) = checked.flag else {
        return Ok(());
    };
    let written = event_log::log_once(
        &deps.db,
        Entry {
            key: &format!("call:{}:duration", call.vapi_call_id),
            user_id: Some(user_id),
            call_id: Some(call.id),
            kind: DURATION_CORRECTED,
            data: serde_json::json!({
                "reason": flag.as_str(),
                "reported_ms": call.duration_ms,
                "timestamps_ms": checked.timestamps_ms,
                "billed_ms": checked.billed_ms,
                "max_call_secs": deps.max_call_secs,
            }),
        },
    )
    .await
    .map_err(transient)?;
    if written {
        metrics::counter!("callsaga_durations_corrected_total", "reason" => flag.as_str())
            .increment(1);
        tracing::warn!(
            call.id = %call.vapi_call_id,
            reason = flag.as_str(),
            reported_ms = ?call.duration_ms,
            billed_ms = ?checked.billed_ms,
            "reported call duration not trusted; billed from the timestamps"
        );
    }
    Ok(())
}

async fn set_billing(
    deps: &Activities,
    call: &calls::Model,
    status: &str,
    charged: Option<i64>,
) -> Result<(), ActivityError> {
    calls::Entity::update_many()
        .col_expr(calls::Column::BillingStatus, Some(status.to_owned()).into())
        .col_expr(calls::Column::ChargedCredits, charged.into())
        .filter(calls::Column::Id.eq(call.id))
        .exec(&deps.db)
        .await
        .map_err(transient)?;
    Ok(())
}
