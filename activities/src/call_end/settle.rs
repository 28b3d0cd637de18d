//! `escalation.settle`: at the end of the call every escalation log gets a terminal status from
//! how the call ended; a transfer that did not connect becomes a callback request to the
//! operator.
//!
//! The callback email is owed from the moment the log says FAILED, so both are written in one
//! transaction: the log's new state and an `email_outbox` row in state `pending` under the
//! email's idempotency key. Sending comes after, from the pending rows: a retry of the activity
//! (an SMTP server answering 4xx, a database error) finds the log settled already and the row
//! still pending, and sends it then. The row's recipient and subject are the ones decided when
//! it was written; the body is rebuilt from the settled log, which no longer changes.

use super::escalation::{
    CALLBACK_REQUESTED, COMPLETED, FAILED, TRANSFERRING, callback_subject, callback_text,
    config_of, log_event, set_call_escalation_status,
};
use crate::Activities;
use crate::email::OUTBOX_PENDING;
use crate::failure::transient;
use crate::vapi::{EndedCategory, EndedReason};
use callsaga_entity::{agents, calls, email_outbox, escalation_logs};
use callsaga_workflows::payloads::{EscalationSummary, SettleEscalationsInput};
use callsaga_workflows::tool_payloads::EmailDraft;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// The idempotency key of the callback email after `log`'s transfer failed.
fn callback_key(log: &escalation_logs::Model) -> String {
    format!("{}:callback-after-failed-transfer", log.idempotency_key)
}

/// Settles the call's escalation logs, and returns the callback emails still owed (keys and
/// drafts), from this attempt or an earlier one whose sending failed.
pub(crate) async fn settle(
    deps: &Activities,
    input: &SettleEscalationsInput,
) -> Result<(EscalationSummary, Vec<(String, EmailDraft)>), ActivityError> {
    let Some(call) = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(&input.vapi_call_id))
        .one(&deps.db)
        .await
        .map_err(transient)?
    else {
        return Ok((EscalationSummary::default(), Vec::new()));
    };
    let logs = logs_of(deps, call.id).await?;
    if logs.is_empty() {
        return Ok((EscalationSummary::default(), Vec::new()));
    }
    let category = call
        .ended_reason
        .clone()
        .map(EndedReason::from)
        .as_ref()
        .map(EndedReason::category);
    let mut last_status = None;
    for log in logs {
        let (status, failure) = outcome(&log, category, call.ended_reason.as_deref());
        if status != log.status {
            close(deps, &call, &log, &status, failure).await?;
        }
        last_status = Some(status.to_lowercase());
    }
    if let Some(status) = &last_status {
        set_call_escalation_status(&deps.db, call.id, status).await?;
    }
    Ok((
        EscalationSummary {
            escalation_status: last_status,
        },
        owed_callbacks(deps, &call).await?,
    ))
}

async fn logs_of(
    deps: &Activities,
    call: Uuid,
) -> Result<Vec<escalation_logs::Model>, ActivityError> {
    escalation_logs::Entity::find()
        .filter(escalation_logs::Column::CallId.eq(call))
        .order_by_asc(escalation_logs::Column::CreatedAt)
        .all(&deps.db)
        .await
        .map_err(transient)
}

/// The terminal status (and failure reason) of `log` for a call that ended this way.
fn outcome(
    log: &escalation_logs::Model,
    category: Option<EndedCategory>,
    ended_reason: Option<&str>,
) -> (String, Option<String>) {
    let reason = ended_reason.unwrap_or_default();
    match (log.status.as_str(), category) {
        (COMPLETED | FAILED | CALLBACK_REQUESTED, _) => {
            (log.status.clone(), log.failure_reason.clone())
        }
        (TRANSFERRING, Some(EndedCategory::Forwarded)) => (COMPLETED.to_owned(), None),
        (
            TRANSFERRING,
            Some(EndedCategory::TransferFailed | EndedCategory::Busy | EndedCategory::NoAnswer),
        ) => (
            FAILED.to_owned(),
            Some(format!("transfer failed: {reason}")),
        ),
        (TRANSFERRING, Some(EndedCategory::CustomerEnded)) => (
            FAILED.to_owned(),
            Some(format!("caller hung up during the transfer ({reason})")),
        ),
        (TRANSFERRING, _) => (
            FAILED.to_owned(),
            Some(format!(
                "transfer did not connect ({})",
                ended_reason.unwrap_or("no ended reason")
            )),
        ),
        (_, _) => (
            FAILED.to_owned(),
            Some("the call ended before the escalation completed".into()),
        ),
    }
}

/// Writes `log`'s terminal status, and for a failed transfer the owed callback email, in one
/// transaction. Everything the email needs is read before it: a database error there is
/// retried with nothing written.
async fn close(
    deps: &Activities,
    call: &calls::Model,
    log: &escalation_logs::Model,
    status: &str,
    failure: Option<String>,
) -> Result<(), ActivityError> {
    let transfer_failed = log.status == TRANSFERRING && status == FAILED;
    let callback = if transfer_failed {
        callback_recipient(deps, log).await?
    } else {
        None
    };
    let now = Utc::now();
    let mut active = log.clone().into_active_model();
    active.status = Set(status.to_owned());
    active.failure_reason = Set(failure.clone());
    active.updated_at = Set(now);
    active.resolved_at = Set(Some(now));
    if transfer_failed {
        active.notes = Set(Some(format!(
            "{}; callback requested",
            log.notes.clone().unwrap_or_default()
        )));
    }
    let txn = callsaga_entity::begin_write(&deps.db)
        .await
        .map_err(transient)?;
    active.update(&txn).await.map_err(transient)?;
    if let Some(user) = call.user_id {
        log_event(
            &txn,
            user,
            call.id,
            "escalation.closed",
            json!({ "log_id": log.id, "status": status, "reason": failure }),
        )
        .await?;
    }
    if let Some((to, subject)) = callback {
        owe_email(&txn, &callback_key(log), to, subject).await?;
        if let Some(user) = call.user_id {
            log_event(
                &txn,
                user,
                call.id,
                "escalation.callback_requested",
                json!({ "log_id": log.id }),
            )
            .await?;
        }
    }
    txn.commit().await.map_err(transient)
}

/// The operator's address and the subject of the callback email for `log`, if its agent has
/// an operator email. Database errors are transient (retried), never a reason to skip it.
async fn callback_recipient(
    deps: &Activities,
    log: &escalation_logs::Model,
) -> Result<Option<(String, String)>, ActivityError> {
    let Some(agent_id) = log.agent_id else {
        return Ok(None);
    };
    let Some(to) = config_of(deps, agent_id)
        .await?
        .and_then(|c| c.operator_email)
    else {
        return Ok(None);
    };
    let Some(agent) = agents::Entity::find_by_id(agent_id)
        .one(&deps.db)
        .await
        .map_err(transient)?
    else {
        // Deleted with its configuration between the query above and this one.
        tracing::warn!(escalation.log = %log.id, "agent gone: no callback email");
        return Ok(None);
    };
    Ok(Some((
        to,
        callback_subject(&log.urgency, &agent.business_name),
    )))
}

/// Records an email as owed (`pending`) under `key`, unless the key has a row already.
async fn owe_email(
    db: &impl sea_orm::ConnectionTrait,
    key: &str,
    to: String,
    subject: String,
) -> Result<(), ActivityError> {
    let row = email_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        idempotency_key: Set(key.to_owned()),
        recipient: Set(to),
        subject: Set(subject),
        status: Set(OUTBOX_PENDING.to_owned()),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(Utc::now()),
    };
    match email_outbox::Entity::insert(row)
        .on_conflict(
            OnConflict::column(email_outbox::Column::IdempotencyKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
    {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(e) => Err(transient(e)),
    }
}

/// The callback emails of the call's logs whose outbox rows are still `pending`, rebuilt from
/// the settled logs.
async fn owed_callbacks(
    deps: &Activities,
    call: &calls::Model,
) -> Result<Vec<(String, EmailDraft)>, ActivityError> {
    let logs = logs_of(deps, call.id).await?;
    let keys: Vec<String> = logs.iter().map(callback_key).collect();
    let pending = email_outbox::Entity::find()
        .filter(email_outbox::Column::IdempotencyKey.is_in(keys))
        .filter(email_outbox::Column::Status.eq(OUTBOX_PENDING))
        .all(&deps.db)
        .await
        .map_err(transient)?;
    Ok(logs
        .iter()
        .filter_map(|log| {
            let key = callback_key(log);
            let row = pending.iter().find(|r| r.idempotency_key == key)?;
            let number = log
                .notes
                .as_deref()
                .and_then(|n| n.strip_prefix("callback number: "))
                .map(|n| n.split(';').next().unwrap_or(n).to_owned())
                .or(call.customer_number.clone());
            let text = callback_text(
                number.as_deref(),
                &log.reason,
                &log.urgency,
                log.summary.as_deref(),
                &format!(
                    "The transfer failed: {}",
                    log.failure_reason.clone().unwrap_or_default()
                ),
            );
            Some((
                key,
                EmailDraft {
                    to: row.recipient.clone(),
                    subject: row.subject.clone(),
                    text,
                },
            ))
        })
        .collect())
}
