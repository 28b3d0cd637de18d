//! `tools.claim`: the call's workflow takes an effectful tool call before its saga runs, by
//! inserting its row in `tool_call_claims` (one per tool call id). The API inserts the same row
//! as a callback request when the workflow has not taken the tool call in time; the first
//! insert wins, so a caller is never told "we will call you back" about something that was
//! done, nor is something done that the caller was told cannot be.

use crate::Activities;
use crate::failure::transient;
use callsaga_entity::tool_call_claims::{self, TAKEN_BY_WORKFLOW};
use callsaga_workflows::tool_payloads::ToolInput;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr};
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// True when the workflow owns the tool call (now, or from an earlier attempt).
pub(crate) async fn claim(deps: &Activities, input: &ToolInput) -> Result<bool, ActivityError> {
    let req = &input.request;
    let row = tool_call_claims::ActiveModel {
        id: Set(Uuid::new_v4()),
        tool_call_id: Set(req.tool_call_id.clone()),
        vapi_call_id: Set(input.vapi_call_id.clone()),
        tool: Set(req.name.clone()),
        agent_id: Set(None),
        customer_number: Set(None),
        reason: Set("in_time".to_owned()),
        status: Set(TAKEN_BY_WORKFLOW.to_owned()),
        created_at: Set(chrono::Utc::now()),
    };
    match tool_call_claims::Entity::insert(row).exec(&deps.db).await {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            let existing = tool_call_claims::Entity::find()
                .filter(tool_call_claims::Column::ToolCallId.eq(&req.tool_call_id))
                .one(&deps.db)
                .await
                .map_err(transient)?;
            Ok(existing.is_some_and(|row| row.status == TAKEN_BY_WORKFLOW))
        }
        Err(e) => Err(transient(e)),
    }
}
