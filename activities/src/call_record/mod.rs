//! `call.apply_event`: projects a call's webhook events onto its `calls` row.

mod ensure;
mod merge;

use crate::Activities;
use crate::failure::{permanent, transient};
use crate::vapi;
use callsaga_entity::{calls, webhook_inbox};
use callsaga_workflows::payloads::{ApplyEventInput, CallSnapshot};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use uuid::Uuid;

pub(crate) use ensure::{ToolCallOrigin, ensure_row, minimal_row, row_id};
pub use merge::{apply, status_rank};

pub struct CallRecordActivitiesImpl {
    deps: Activities,
}

impl CallRecordActivitiesImpl {
    pub fn new(deps: Activities) -> Self {
        Self { deps }
    }
}

#[activities]
impl CallRecordActivitiesImpl {
    #[activity(definition = callsaga_workflows::activities::markers::ApplyEvent)]
    pub async fn apply_event(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ApplyEventInput,
    ) -> Result<CallSnapshot, ActivityError> {
        // Test hook: an event that fails for good (as one that no longer parses would).
        self.deps.faults.before("call.apply_event")?;
        apply_event(&self.deps, &input).await
    }
}

/// Applies one inbox event to the call row inside one transaction.
#[tracing::instrument(
    name = "activity",
    skip_all,
    fields(activity = "call.apply_event", call.id = %input.vapi_call_id, workflow.id = %input.workflow_id, inbox.id = input.inbox_id)
)]
pub async fn apply_event(
    deps: &Activities,
    input: &ApplyEventInput,
) -> Result<CallSnapshot, ActivityError> {
    let txn = callsaga_entity::begin_write(&deps.db)
        .await
        .map_err(transient)?;
    let event = webhook_inbox::Entity::find_by_id(input.inbox_id)
        .one(&txn)
        .await
        .map_err(transient)?
        .ok_or_else(|| {
            permanent(
                "InboxEventMissing",
                format!("inbox event {} not found", input.inbox_id),
            )
        })?;
    if event.vapi_call_id != input.vapi_call_id {
        return Err(permanent(
            "InboxEventMismatch",
            format!("inbox event {} belongs to another call", input.inbox_id),
        ));
    }
    let envelope = vapi::parse(event.payload.as_bytes())
        .map_err(|e| permanent("InboxEventUnparsable", e.to_string()))?;

    let now = Utc::now();
    let existing = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(&input.vapi_call_id))
        .one(&txn)
        .await
        .map_err(transient)?;
    let is_new = existing.is_none();
    let mut row = existing.unwrap_or_else(|| calls::Model {
        id: Uuid::now_v7(),
        vapi_call_id: input.vapi_call_id.clone(),
        agent_id: None,
        user_id: None,
        direction: None,
        customer_number: None,
        status: String::new(),
        started_at: None,
        ended_at: None,
        duration_ms: None,
        ended_reason: None,
        transcript: None,
        summary: None,
        recording_url: None,
        vapi_cost: None,
        charged_credits: None,
        billing_status: None,
        report_missing: false,
        escalation_status: None,
        admission: None,
        workflow_id: input.workflow_id.clone(),
        last_event_at: None,
        report_received_at: None,
        created_at: now,
        updated_at: now,
    });
    let before = row.clone();
    let report_applied = merge::apply(&mut row, &envelope, event.received_at);
    if row.agent_id.is_none() {
        resolve_tenant(&txn, &envelope, &mut row)
            .await
            .map_err(transient)?;
    }
    // The first event of a call (the row is new) that is not over yet: a call that came
    // without an assistant-request takes a slot of its tenant's cap.
    if is_new
        && row.status != "ended"
        && let Some(user_id) = row.user_id
    {
        crate::admission::count_unannounced(&txn, &input.vapi_call_id, user_id, deps.slot_lifetime)
            .await
            .map_err(transient)?;
    }
    if is_new {
        row.updated_at = now;
        calls::Entity::insert(row.clone().into_active_model())
            .exec_without_returning(&txn)
            .await
            .map_err(transient)?;
    } else if row != before {
        row.updated_at = now;
        row.clone()
            .into_active_model()
            .reset_all()
            .update(&txn)
            .await
            .map_err(transient)?;
    }
    // The call's end, applied for the first time, gives its admission slot back (in this
    // transaction: the end and the release commit together).
    if row.status == "ended" && before.status != "ended" {
        crate::admission::release(&txn, &input.vapi_call_id)
            .await
            .map_err(transient)?;
    }
    txn.commit().await.map_err(transient)?;
    Ok(CallSnapshot {
        status: row.status.clone(),
        agent_id: row.agent_id.map(|id| id.to_string()),
        user_id: row.user_id.map(|id| id.to_string()),
        report_applied: report_applied || row.report_received_at.is_some(),
        ended: row.status == "ended",
        report_missing: row.report_missing,
    })
}

/// Fills in the agent and its owner from the assistant or phone number the call came in on.
async fn resolve_tenant(
    db: &impl ConnectionTrait,
    envelope: &vapi::Envelope,
    row: &mut calls::Model,
) -> Result<(), sea_orm::DbErr> {
    let agent =
        crate::tenant::find_agent(db, envelope.assistant_id(), envelope.phone_number_id()).await?;
    if let Some(agent) = agent {
        row.agent_id = Some(agent.id);
        row.user_id = Some(agent.user_id);
    }
    Ok(())
}
