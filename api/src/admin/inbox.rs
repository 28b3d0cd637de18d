//! `/admin/v1/inbox/dead`: calls whose events ran out of delivery budget, and their redrive.

use super::error::{AdminError, ErrorBody};
use crate::inbox::call_state::{self, DeadCall};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

/// Most dead calls listed.
const LIST_LIMIT: u64 = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadCalls {
    /// The most recently dead first (at most 500).
    pub calls: Vec<DeadCall>,
}

/// Dead calls: their last error, attempts and number of dead events.
#[utoipa::path(get, path = "/admin/v1/inbox/dead", operation_id = "list_dead_calls", tag = "calls",
    responses((status = 200, description = "Dead calls with their last error, attempts and events", body = DeadCalls)),
    security(("admin_token" = [])))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<DeadCalls>, AdminError> {
    Ok(Json(DeadCalls {
        calls: call_state::dead_calls(&state.db, LIST_LIMIT).await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redriven {
    pub vapi_call_id: String,
    /// Events put back to `pending`; the relay delivers them in order.
    pub events: u64,
}

/// Redrives a dead call once its cause is fixed: its events are delivered again, in order, and
/// applied once each (the workflow ignores an inbox id it has seen).
#[utoipa::path(post, path = "/admin/v1/inbox/dead/{vapi_call_id}/redrive", operation_id = "redrive_dead_call", tag = "calls",
    params(("vapi_call_id" = String, Path, description = "Vapi call id")),
    responses((status = 200, description = "The call's events are queued for delivery again, in order", body = Redriven),
        (status = 404, description = "The call is not dead", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn redrive(
    State(state): State<AppState>,
    Path(vapi_call_id): Path<String>,
) -> Result<Json<Redriven>, AdminError> {
    let Some(events) = call_state::redrive(&state.db, &vapi_call_id).await? else {
        return Err(AdminError::not_found(format!(
            "call {vapi_call_id:?} has no dead events"
        )));
    };
    tracing::info!(call.id = %vapi_call_id, events, "dead call redriven");
    state.relay.notify();
    Ok(Json(Redriven {
        vapi_call_id,
        events,
    }))
}
