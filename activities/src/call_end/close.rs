//! The watchdog's close: no end-of-call report came in time.

use crate::Activities;
use crate::failure::transient;
use callsaga_entity::calls;
use callsaga_workflows::payloads::{CallSnapshot, CloseCallInput};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use temporalio_sdk::activities::ActivityError;

pub(crate) async fn close_without_report(
    deps: &Activities,
    input: &CloseCallInput,
) -> Result<CallSnapshot, ActivityError> {
    let row = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(&input.vapi_call_id))
        .one(&deps.db)
        .await
        .map_err(transient)?;
    let Some(row) = row else {
        crate::admission::release(&deps.db, &input.vapi_call_id)
            .await
            .map_err(transient)?;
        return Ok(CallSnapshot {
            status: "ended".into(),
            ended: true,
            report_missing: true,
            ..Default::default()
        });
    };
    let ended_at = row.ended_at.or(row.last_event_at).unwrap_or_else(Utc::now);
    let duration = row.duration_ms.or_else(|| {
        let ms = (ended_at - row.started_at?).num_milliseconds();
        (ms >= 0).then_some(ms)
    });
    let mut active = row.clone().into_active_model();
    active.status = Set("ended".into());
    active.ended_at = Set(Some(ended_at));
    active.duration_ms = Set(duration);
    active.report_missing = Set(true);
    active.updated_at = Set(Utc::now());
    // The close and the release of the call's admission slot commit together.
    let txn = callsaga_entity::begin_write(&deps.db)
        .await
        .map_err(transient)?;
    let row = active.update(&txn).await.map_err(transient)?;
    crate::admission::release(&txn, &input.vapi_call_id)
        .await
        .map_err(transient)?;
    txn.commit().await.map_err(transient)?;
    tracing::warn!(call.id = %input.vapi_call_id, "call closed by the watchdog without an end-of-call report");
    Ok(CallSnapshot {
        status: row.status,
        agent_id: row.agent_id.map(|a| a.to_string()),
        user_id: row.user_id.map(|u| u.to_string()),
        report_applied: false,
        ended: true,
        report_missing: true,
    })
}
