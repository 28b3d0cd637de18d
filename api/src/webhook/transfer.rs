//! `transfer-destination-request`: where Vapi's own transfer tool should send the call — the
//! destination our escalation chose for this call (its latest TRANSFERRING escalation log),
//! with the operator briefing for a warm transfer; otherwise a speakable error.

use crate::state::AppState;
use crate::vapi::Envelope;
use callsaga_entity::{calls, escalation_logs};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

pub(super) async fn answer(state: &AppState, envelope: &Envelope) -> Value {
    match destination(state, envelope).await {
        Ok(Some(dest)) => json!({ "destination": dest }),
        Ok(None) => json!({
            "error": "I'm sorry, I can't transfer you right now. Would you like a callback instead?"
        }),
        Err(e) => {
            tracing::error!(error = %e, "transfer-destination-request failed: database error");
            json!({ "error": CANNOT_NOW })
        }
    }
}

/// What the caller hears when the destination cannot be looked up in time.
pub(super) const CANNOT_NOW: &str = "I'm sorry, I can't transfer you right now. Please try again.";

async fn destination(
    state: &AppState,
    envelope: &Envelope,
) -> Result<Option<Value>, sea_orm::DbErr> {
    let Some(call_id) = envelope.call_id() else {
        return Ok(None);
    };
    let Some(call) = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(call_id))
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let log = escalation_logs::Entity::find()
        .filter(escalation_logs::Column::CallId.eq(call.id))
        .filter(escalation_logs::Column::Status.eq("TRANSFERRING"))
        .order_by_desc(escalation_logs::Column::CreatedAt)
        .one(&state.db)
        .await?;
    Ok(log.and_then(|log| {
        let number = log.transfer_number.clone()?;
        let warm = log.transfer_mode.as_deref() != Some("blind");
        let briefing = format!(
            "Caller needs help: {}.{}",
            log.reason,
            log.summary
                .as_deref()
                .map(|s| format!(" Summary: {s}"))
                .unwrap_or_default()
        );
        let plan = if warm {
            json!({ "mode": "warm-transfer-say-message", "message": briefing })
        } else {
            json!({ "mode": "blind-transfer" })
        };
        Some(json!({
            "type": "number",
            "number": number,
            "message": "Connecting you to a colleague now.",
            "transferPlan": plan,
        }))
    }))
}
