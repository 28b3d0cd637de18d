//! `/admin/v1/calls`: the `calls` rows, and for one call its appointments and the live state of
//! its workflow.

use super::error::{AdminError, ErrorBody};
use super::extract::{AdminQuery, param};
use super::page;
use super::tenants::parse_uuid;
use crate::settings::TemporalSettings;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use callsaga_entity::{appointments, calls, event_log};
use callsaga_workflows::CallWorkflow;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use temporalio_client::WorkflowQueryOptions;
use temporalio_client::errors::WorkflowQueryError;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `calls.status` values.
const STATUSES: &[&str] = &["queued", "ringing", "in-progress", "forwarding", "ended"];

/// `calls.billing_status` values.
const BILLING_STATUSES: &[&str] = &["billed", "not_billable", "no_user", "billing_failed"];

/// Most `event_log` rows shown with one call.
const MAX_CALL_EVENTS: u64 = 100;

/// Longest wait for Temporal to answer the `state` query; past it the call is shown without.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// A call as listed: everything but the transcript, summary and bookkeeping.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallSummary {
    pub id: Uuid,
    pub vapi_call_id: String,
    pub agent_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// `inbound`, `outbound` or `web`.
    pub direction: Option<String>,
    pub customer_number: Option<String>,
    /// `queued`, `ringing`, `in-progress`, `forwarding` or `ended`.
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub ended_reason: Option<String>,
    pub charged_credits: Option<i64>,
    /// `billed`, `not_billable`, `no_user`, or `billing_failed` (the charge failed for good:
    /// `POST /admin/v1/calls/{vapi_call_id}/billing/retry` once the cause is fixed); none
    /// while the call is not billed yet.
    pub billing_status: Option<String>,
    pub escalation_status: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The whole `calls` row.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallRecord {
    #[serde(flatten)]
    pub base: CallSummary,
    pub transcript: Option<String>,
    /// Vapi's summary of the conversation.
    pub summary: Option<String>,
    pub recording_url: Option<String>,
    pub vapi_cost: Option<f64>,
    pub report_missing: bool,
    pub workflow_id: String,
    pub last_event_at: Option<DateTime<Utc>>,
    pub report_received_at: Option<DateTime<Utc>>,
}

impl From<calls::Model> for CallSummary {
    fn from(m: calls::Model) -> Self {
        Self {
            id: m.id,
            vapi_call_id: m.vapi_call_id,
            agent_id: m.agent_id,
            user_id: m.user_id,
            direction: m.direction,
            customer_number: m.customer_number,
            status: m.status,
            started_at: m.started_at,
            ended_at: m.ended_at,
            duration_ms: m.duration_ms,
            ended_reason: m.ended_reason,
            charged_credits: m.charged_credits,
            billing_status: m.billing_status,
            escalation_status: m.escalation_status,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl From<calls::Model> for CallRecord {
    fn from(m: calls::Model) -> Self {
        Self {
            transcript: m.transcript.clone(),
            summary: m.summary.clone(),
            recording_url: m.recording_url.clone(),
            vapi_cost: m.vapi_cost,
            report_missing: m.report_missing,
            workflow_id: m.workflow_id.clone(),
            last_event_at: m.last_event_at,
            report_received_at: m.report_received_at,
            base: m.into(),
        }
    }
}

/// An appointment booked during the call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallAppointment {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `booked` or `cancelled`.
    pub status: String,
    /// The confirmation email failed for good (the booking stands; the owner was told).
    pub email_failed: bool,
    pub email_failed_at: Option<DateTime<Utc>>,
    /// Why it failed (the SMTP reply, recipient masked).
    pub email_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<appointments::Model> for CallAppointment {
    fn from(m: appointments::Model) -> Self {
        Self {
            id: m.id,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            status: m.status,
            email_failed: m.email_failed_at.is_some(),
            email_failed_at: m.email_failed_at,
            email_error: m.email_error,
            created_at: m.created_at,
        }
    }
}

/// An `event_log` row of the call: what happened to it beside its events.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallLogEntry {
    /// E.g. `call.event_skipped` (an event failed for good), `billing.failed`,
    /// `billing.retried`, `billing.duration_corrected` (the reported duration was not trusted),
    /// `call_end.step_failed`, `billing.low_balance_crossed`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

/// One call: its row, its appointments, its event log, the live workflow state and where to look
/// in the Temporal UI.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallDetail {
    pub call: CallRecord,
    /// The appointments booked during the call, oldest first.
    pub appointments: Vec<CallAppointment>,
    /// The call's `event_log` rows, oldest first (at most 100).
    pub log: Vec<CallLogEntry>,
    /// The result of the call workflow's `state` query (status, events applied and pending,
    /// whether the end-of-call report was applied, …); `null` when Temporal is unreachable
    /// or the workflow is gone.
    #[schema(value_type = Option<Object>)]
    pub workflow: Option<Value>,
    /// Why `workflow` is `null`.
    pub workflow_unavailable: Option<String>,
    /// The workflow in the Temporal Web UI.
    pub temporal_ui_url: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallFilter {
    /// `queued`, `ringing`, `in-progress`, `forwarding` or `ended`.
    status: Option<String>,
    agent_id: Option<String>,
    user_id: Option<String>,
    /// `billed`, `not_billable`, `no_user` or `billing_failed`.
    billing_status: Option<String>,
    /// Calls created at or after this RFC 3339 time, e.g. `2026-11-21T00:00:00Z`.
    from: Option<String>,
    /// Calls created before this RFC 3339 time.
    to: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallList {
    pub calls: Vec<CallSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    // A `+` in a query string decodes to a space.
    DateTime::parse_from_rfc3339(&s.replace(' ', "+"))
        .map(|t| t.to_utc())
        .map_err(|_| format!("must be an RFC 3339 time like 2026-11-21T09:00:00Z, got {s:?}"))
}

/// Lists calls, newest first (by when we first heard of them).
#[utoipa::path(get, path = "/admin/v1/calls", operation_id = "list_calls", tag = "calls", params(CallFilter),
    responses((status = 200, description = "One page of calls, filtered", body = CallList), (status = 422, description = "A filter value we do not accept; `error.field` names the query parameter", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AdminQuery(f): AdminQuery<CallFilter>,
) -> Result<Json<CallList>, AdminError> {
    let mut select = calls::Entity::find();
    let status = param("status", f.status.as_deref(), |s| {
        let s = s.to_ascii_lowercase();
        STATUSES
            .contains(&s.as_str())
            .then_some(s.clone())
            .ok_or_else(|| format!("{s:?} is not one of {}", STATUSES.join(", ")))
    })?;
    if let Some(status) = status {
        select = select.filter(calls::Column::Status.eq(status));
    }
    let billing = param("billing_status", f.billing_status.as_deref(), |s| {
        let s = s.to_ascii_lowercase();
        BILLING_STATUSES
            .contains(&s.as_str())
            .then_some(s.clone())
            .ok_or_else(|| format!("{s:?} is not one of {}", BILLING_STATUSES.join(", ")))
    })?;
    if let Some(billing) = billing {
        select = select.filter(calls::Column::BillingStatus.eq(billing));
    }
    if let Some(id) = param("agent_id", f.agent_id.as_deref(), parse_uuid)? {
        select = select.filter(calls::Column::AgentId.eq(id));
    }
    if let Some(id) = param("user_id", f.user_id.as_deref(), parse_uuid)? {
        select = select.filter(calls::Column::UserId.eq(id));
    }
    let from = param("from", f.from.as_deref(), parse_time)?;
    let to = param("to", f.to.as_deref(), parse_time)?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(AdminError::invalid("to", "must be after `from`"));
    }
    if let Some(from) = from {
        select = select.filter(calls::Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        select = select.filter(calls::Column::CreatedAt.lt(to));
    }
    let page = page::fetch(
        &state.db,
        select,
        (calls::Column::CreatedAt, calls::Column::Id),
        Order::Desc,
        page::cursor(f.cursor.as_deref())?,
        page::limit(f.limit.as_deref(), 50, 200)?,
        |m| page::Cursor {
            at: m.created_at,
            id: m.id,
        },
    )
    .await?;
    Ok(Json(CallList {
        calls: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One call with the live state of its workflow.
#[utoipa::path(get, path = "/admin/v1/calls/{vapi_call_id}", operation_id = "get_call", tag = "calls",
    params(("vapi_call_id" = String, Path, description = "Vapi's call id")),
    responses((status = 200, description = "The call row, its event log, its live workflow state and a Temporal UI link", body = CallDetail), (status = 404, description = "No call with this Vapi call id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn detail(
    State(state): State<AppState>,
    Path(vapi_call_id): Path<String>,
) -> Result<Json<CallDetail>, AdminError> {
    let row = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(vapi_call_id.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(|| {
            AdminError::not_found(format!("no call with vapi_call_id {vapi_call_id:?}"))
        })?;
    let appointments = appointments::Entity::find()
        .filter(appointments::Column::CallId.eq(row.id))
        .order_by_asc(appointments::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let log = event_log::Entity::find()
        .filter(event_log::Column::CallId.eq(row.id))
        .order_by_asc(event_log::Column::CreatedAt)
        .order_by_asc(event_log::Column::Id)
        .limit(MAX_CALL_EVENTS)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|e| CallLogEntry {
            kind: e.kind,
            data: e.data,
            created_at: e.created_at,
        })
        .collect();
    let workflow_id = callsaga_workflows::call_workflow_id(&vapi_call_id);
    let (workflow, workflow_unavailable) = match live_state(&state, &workflow_id).await {
        Ok(v) => (Some(v), None),
        Err(reason) => (None, Some(reason)),
    };
    Ok(Json(CallDetail {
        call: row.into(),
        appointments: appointments.into_iter().map(Into::into).collect(),
        log,
        workflow,
        workflow_unavailable,
        temporal_ui_url: ui_link(&state.settings.temporal, &workflow_id),
    }))
}

/// The `state` query of the call's workflow. Works on closed workflows too (a worker replays
/// the history to answer it).
async fn live_state(state: &AppState, workflow_id: &str) -> Result<Value, String> {
    let query = async {
        let client = state
            .temporal
            .get()
            .await
            .map_err(|e| format!("Temporal is unreachable: {e:#}"))?;
        let live = client
            .get_workflow_handle::<CallWorkflow>(workflow_id)
            .query(CallWorkflow::state, (), WorkflowQueryOptions::default())
            .await
            .map_err(|e| match e {
                WorkflowQueryError::NotFound(_) => {
                    "workflow not found (never started, or past the namespace's retention)"
                        .to_owned()
                }
                other => format!("the state query failed: {other}"),
            })?;
        serde_json::to_value(live).map_err(|e| format!("unexpected query result: {e}"))
    };
    let result = tokio::time::timeout(QUERY_TIMEOUT, query)
        .await
        .unwrap_or_else(|_| Err(format!("Temporal did not answer within {QUERY_TIMEOUT:?}")));
    if let Err(reason) = &result {
        tracing::info!(workflow.id = workflow_id, reason = %reason, "call shown without workflow state");
    }
    result
}

/// `{ui_url}/namespaces/{namespace}/workflows/{workflow_id}`, path segments escaped.
fn ui_link(temporal: &TemporalSettings, workflow_id: &str) -> String {
    let base = temporal.ui_url.trim_end_matches('/');
    let segments = [
        "namespaces",
        temporal.namespace.as_str(),
        "workflows",
        workflow_id,
    ];
    match url::Url::parse(base) {
        Ok(mut url) if !url.cannot_be_a_base() => {
            if let Ok(mut path) = url.path_segments_mut() {
                path.pop_if_empty().extend(segments);
            }
            url.to_string()
        }
        _ => format!("{base}/{}", segments.join("/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_links() {
        let mut t = crate::Settings::from_overrides(serde_json::json!({}))
            .unwrap()
            .temporal;
        t.ui_url = "http://localhost:8233/".into();
        assert_eq!(
            ui_link(&t, "call-abc"),
            "http://localhost:8233/namespaces/default/workflows/call-abc"
        );
        t.ui_url = "https://cloud.temporal.io".into();
        t.namespace = "prod.acct".into();
        assert_eq!(
            ui_link(&t, "call-a b"),
            "https://cloud.temporal.io/namespaces/prod.acct/workflows/call-a%20b"
        );
    }
}
