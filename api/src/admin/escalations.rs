//! `/admin/v1/escalations`: hand-off attempts (`escalation_logs`), newest first.

use super::error::{AdminError, ErrorBody};
use super::extract::{AdminQuery, param};
use super::page;
use super::tenants::parse_uuid;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use callsaga_entity::{calls, escalation_logs};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `escalation_logs.status` values.
const STATUSES: &[&str] = &[
    "PENDING",
    "TRANSFERRING",
    "CALLBACK_REQUESTED",
    "COMPLETED",
    "FAILED",
];

#[derive(Debug, Serialize, ToSchema)]
pub struct Escalation {
    pub id: Uuid,
    pub call_id: Uuid,
    /// The call's Vapi id, for `GET /admin/v1/calls/{vapi_call_id}`.
    pub vapi_call_id: Option<String>,
    pub agent_id: Option<Uuid>,
    pub reason: String,
    pub urgency: String,
    pub summary: Option<String>,
    /// `PENDING`, `TRANSFERRING`, `CALLBACK_REQUESTED`, `COMPLETED` or `FAILED`.
    pub status: String,
    pub transfer_number: Option<String>,
    pub transfer_mode: Option<String>,
    pub failure_reason: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EscalationFilter {
    /// `PENDING`, `TRANSFERRING`, `CALLBACK_REQUESTED`, `COMPLETED` or `FAILED` (any case).
    status: Option<String>,
    agent_id: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationList {
    pub escalations: Vec<Escalation>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Escalations, newest first, optionally by status.
#[utoipa::path(get, path = "/admin/v1/escalations", operation_id = "list_escalations", tag = "calls", params(EscalationFilter),
    responses((status = 200, description = "Escalations, newest first", body = EscalationList), (status = 422, description = "A filter value we do not accept; `error.field` names the query parameter", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AdminQuery(f): AdminQuery<EscalationFilter>,
) -> Result<Json<EscalationList>, AdminError> {
    let mut select = escalation_logs::Entity::find();
    let status = param("status", f.status.as_deref(), |s| {
        let s = s.to_ascii_uppercase().replace('-', "_");
        STATUSES
            .contains(&s.as_str())
            .then_some(s.clone())
            .ok_or_else(|| format!("{s:?} is not one of {}", STATUSES.join(", ")))
    })?;
    if let Some(status) = status {
        select = select.filter(escalation_logs::Column::Status.eq(status));
    }
    if let Some(id) = param("agent_id", f.agent_id.as_deref(), parse_uuid)? {
        select = select.filter(escalation_logs::Column::AgentId.eq(id));
    }
    let page = page::fetch(
        &state.db,
        select,
        (
            escalation_logs::Column::CreatedAt,
            escalation_logs::Column::Id,
        ),
        Order::Desc,
        page::cursor(f.cursor.as_deref())?,
        page::limit(f.limit.as_deref(), 50, 200)?,
        |m| page::Cursor {
            at: m.created_at,
            id: m.id,
        },
    )
    .await?;
    let call_ids: Vec<Uuid> = page.items.iter().map(|e| e.call_id).collect();
    let vapi_ids: HashMap<Uuid, String> = if call_ids.is_empty() {
        HashMap::new()
    } else {
        calls::Entity::find()
            .select_only()
            .column(calls::Column::Id)
            .column(calls::Column::VapiCallId)
            .filter(calls::Column::Id.is_in(call_ids))
            .into_tuple::<(Uuid, String)>()
            .all(&state.db)
            .await?
            .into_iter()
            .collect()
    };
    let escalations = page
        .items
        .into_iter()
        .map(|m| Escalation {
            vapi_call_id: vapi_ids.get(&m.call_id).cloned(),
            id: m.id,
            call_id: m.call_id,
            agent_id: m.agent_id,
            reason: m.reason,
            urgency: m.urgency,
            summary: m.summary,
            status: m.status,
            transfer_number: m.transfer_number,
            transfer_mode: m.transfer_mode,
            failure_reason: m.failure_reason,
            notes: m.notes,
            created_at: m.created_at,
            updated_at: m.updated_at,
            resolved_at: m.resolved_at,
        })
        .collect();
    Ok(Json(EscalationList {
        escalations,
        next_cursor: page.next_cursor,
    }))
}
