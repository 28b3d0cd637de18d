//! The `calls` row of a call that a tool call reaches before the relay delivered any of its
//! events: a tool call's effects (an appointment, an escalation log) link to the call's row, so
//! the row is created then, minimal, and the events merge into it later as into any row
//! (`merge.rs` only fills gaps and moves the status forward). The row's unique `vapi_call_id`
//! decides between this insert and the first event's: whichever comes second finds the other's
//! row (`call.apply_event` on its retry).

use crate::failure::transient;
use callsaga_entity::{agents, calls};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// The call a tool call belongs to, as far as a minimal row can tell.
pub(crate) struct ToolCallOrigin<'a> {
    pub(crate) vapi_call_id: &'a str,
    pub(crate) workflow_id: &'a str,
    pub(crate) agent: &'a agents::Model,
    pub(crate) customer_number: Option<&'a str>,
}

/// The id of the call's row, if there is one yet.
pub(crate) async fn row_id(
    db: &impl ConnectionTrait,
    vapi_call_id: &str,
) -> Result<Option<Uuid>, ActivityError> {
    calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(vapi_call_id))
        .one(db)
        .await
        .map_err(transient)
        .map(|c| c.map(|c| c.id))
}

/// The id of the call's row, creating a minimal one (status `in-progress`: a tool call is being
/// made) when there is none yet.
pub(crate) async fn ensure_row(
    db: &impl ConnectionTrait,
    origin: &ToolCallOrigin<'_>,
) -> Result<Uuid, ActivityError> {
    if let Some(id) = row_id(db, origin.vapi_call_id).await? {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    let row = minimal_row(
        id,
        origin.vapi_call_id,
        origin.agent,
        origin.customer_number,
        "in-progress",
        origin.workflow_id,
    );
    match calls::Entity::insert(row).exec_without_returning(db).await {
        Ok(_) => Ok(id),
        // The call's first event (or another tool call) created it meanwhile.
        Err(_) => row_id(db, origin.vapi_call_id)
            .await?
            .ok_or_else(|| transient(anyhow::anyhow!("call row could not be created"))),
    }
}

/// A call's row before any of its events: who it is for and the status that says why it
/// exists (`in-progress`: a tool call is being made; `refused`: turned away at the door).
pub(crate) fn minimal_row(
    id: Uuid,
    vapi_call_id: &str,
    agent: &agents::Model,
    customer_number: Option<&str>,
    status: &str,
    workflow_id: &str,
) -> calls::ActiveModel {
    let now = Utc::now();
    calls::ActiveModel {
        id: Set(id),
        vapi_call_id: Set(vapi_call_id.to_owned()),
        agent_id: Set(Some(agent.id)),
        user_id: Set(Some(agent.user_id)),
        direction: Set(None),
        customer_number: Set(customer_number.map(str::to_owned)),
        status: Set(status.to_owned()),
        started_at: Set(None),
        ended_at: Set(None),
        duration_ms: Set(None),
        ended_reason: Set(None),
        transcript: Set(None),
        summary: Set(None),
        recording_url: Set(None),
        vapi_cost: Set(None),
        charged_credits: Set(None),
        billing_status: Set(None),
        report_missing: Set(false),
        escalation_status: Set(None),
        admission: Set(None),
        workflow_id: Set(workflow_id.to_owned()),
        last_event_at: Set(None),
        report_received_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}
