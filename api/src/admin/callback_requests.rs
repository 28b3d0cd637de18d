//! `/admin/v1/callback-requests`: effectful tool calls Temporal could not take in time
//! (`tool_call_claims` the API took), newest first. The caller was told the business will call back (when
//! the call had a caller number); this is the list to call back from.

use super::error::{AdminError, ErrorBody};
use super::extract::{AdminQuery, param};
use super::page;
use super::tenants::parse_uuid;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use callsaga_entity::tool_call_claims;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackRequest {
    pub id: Uuid,
    /// Vapi's `toolCallId` of the tool call that could not be done.
    pub tool_call_id: String,
    /// The call, for `GET /admin/v1/calls/{vapi_call_id}`.
    pub vapi_call_id: String,
    /// `book_appointment`, `reschedule_appointment`, `cancel_appointment` or `escalate_to_human`.
    pub tool: String,
    pub agent_id: Option<Uuid>,
    /// The verified caller number (`call.customer.number`); absent when withheld, and then the
    /// caller was not promised a callback.
    pub customer_number: Option<String>,
    /// `temporal_error` or `not_accepted_in_time`.
    pub reason: String,
    /// `callback_requested`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallbackRequestFilter {
    agent_id: Option<String>,
    vapi_call_id: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackRequestList {
    pub callback_requests: Vec<CallbackRequest>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Callback requests of tool calls Temporal could not take in time, newest first.
#[utoipa::path(get, path = "/admin/v1/callback-requests", operation_id = "list_callback_requests", tag = "calls",
    params(CallbackRequestFilter),
    responses((status = 200, description = "Callback requests, newest first", body = CallbackRequestList), (status = 422, description = "A filter value we do not accept; `error.field` names the query parameter", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AdminQuery(f): AdminQuery<CallbackRequestFilter>,
) -> Result<Json<CallbackRequestList>, AdminError> {
    let mut select =
        tool_call_claims::Entity::find().filter(tool_call_claims::Column::Status.is_in([
            tool_call_claims::CALLBACK_REQUESTED,
            tool_call_claims::TAKEN_UNCONFIRMED,
        ]));
    if let Some(id) = param("agent_id", f.agent_id.as_deref(), parse_uuid)? {
        select = select.filter(tool_call_claims::Column::AgentId.eq(id));
    }
    if let Some(call) = f
        .vapi_call_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        select = select.filter(tool_call_claims::Column::VapiCallId.eq(call));
    }
    let page = page::fetch(
        &state.db,
        select,
        (
            tool_call_claims::Column::CreatedAt,
            tool_call_claims::Column::Id,
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
    let callback_requests = page
        .items
        .into_iter()
        .map(|m| CallbackRequest {
            id: m.id,
            tool_call_id: m.tool_call_id,
            vapi_call_id: m.vapi_call_id,
            tool: m.tool,
            agent_id: m.agent_id,
            customer_number: m.customer_number,
            reason: m.reason,
            status: m.status,
            created_at: m.created_at,
        })
        .collect();
    Ok(Json(CallbackRequestList {
        callback_requests,
        next_cursor: page.next_cursor,
    }))
}
