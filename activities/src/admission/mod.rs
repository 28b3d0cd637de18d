//! Admission at the door (issue 25): whether a call is taken at all, decided at the
//! assistant-request.
//!
//! - A deactivated account owner, or one whose balance plus remaining grace credits is below
//!   the minimum a call needs (the user's `min_call_credits`, else `admission.min_credits`, by
//!   default the price of one billing unit), is refused.
//! - A tenant with a concurrent-call cap (`users.max_concurrent_calls`) holds one
//!   `call_slots` row per admitted call. The count and the new row are one write transaction
//!   (`BEGIN IMMEDIATE` on SQLite; the user's row locked `FOR UPDATE` on PostgreSQL), so
//!   concurrent admissions of one tenant take turns and never exceed the cap. A slot is
//!   released only when the call's end is applied to its `calls` row (the end-of-call report,
//!   the `ended` status update: `call.apply_event`; or the watchdog's close), in the same
//!   transaction, once per call; a call whose webhooks never come at all lapses after
//!   [`Policy::slot_lifetime`] (the longest call plus the report timeout: by then the watchdog
//!   has closed any call we heard of).
//!
//! A refusal writes the call's row (`calls.admission`, status `refused`), never billed, and one
//! `event_log` row. Tenants without a cap take no write on the way in.

pub mod rules;
pub mod speech;

pub use rules::Refusal;

use crate::event_log::{self, Entry};
use callsaga_entity::{agents, call_slots, calls, users};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect,
};
use std::time::Duration;

/// `event_log.kind` of a refused call; `data.reason` is the `calls.admission` value.
pub const ADMISSION_REFUSED: &str = "admission.refused";

/// The settings the admission applies.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Credits a call needs when the user sets no minimum of their own.
    pub min_credits: i64,
    /// How long a slot counts when nothing ever releases it.
    pub slot_lifetime: Duration,
}

/// The call asking to be admitted.
pub struct Request<'a> {
    pub vapi_call_id: &'a str,
    pub agent: &'a agents::Model,
    pub customer_number: Option<&'a str>,
}

/// The decision, and where a refused call may go instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub refusal: Option<Refusal>,
    /// The tenant's fallback number (E.164), when one is configured.
    pub fallback_number: Option<String>,
    /// Whether this admission took a new slot (so a caller that gave up on the answer must
    /// give it back with [`release`]).
    pub took_slot: bool,
}

/// Decides whether the call is taken; records a refusal. Idempotent per call: a retried
/// assistant-request of an admitted call finds its slot and is admitted again.
pub async fn admit(
    db: &DatabaseConnection,
    policy: &Policy,
    req: &Request<'_>,
) -> Result<Outcome, DbErr> {
    let Some(user) = users::Entity::find_by_id(req.agent.user_id).one(db).await? else {
        // The agent's owner is gone (the row cascades away with it, so only a race).
        return Ok(Outcome {
            refusal: Some(Refusal::Inactive),
            fallback_number: None,
            took_slot: false,
        });
    };
    if let Some(refusal) = rules::account_refusal(&user, policy.min_credits) {
        record_refusal(db, req, refusal).await?;
        return Ok(refused(refusal, &user));
    }
    let outcome = if user.max_concurrent_calls.is_none() {
        Outcome {
            refusal: None,
            fallback_number: None,
            took_slot: false,
        }
    } else {
        take_slot(db, policy, req).await?
    };
    if outcome.refusal.is_none() {
        clear_refusal(db, req.vapi_call_id).await?;
    }
    Ok(outcome)
}

/// A retried assistant-request (Vapi did not get the first answer) that is admitted this time
/// (a top-up, a line freed in between): the caller hears the assistant, so the call is billed
/// like any other. Only the answer Vapi acted on counts; the refusal stays in the event log.
async fn clear_refusal(db: &DatabaseConnection, vapi_call_id: &str) -> Result<(), DbErr> {
    let refused = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(vapi_call_id))
        .filter(calls::Column::Admission.is_not_null())
        .one(db)
        .await?;
    if refused.is_some() {
        calls::Entity::update_many()
            .col_expr(calls::Column::Admission, Option::<String>::None.into())
            .filter(calls::Column::VapiCallId.eq(vapi_call_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A refused call goes to the fallback number when the tenant has one, unless the tenant is
/// deactivated (its calls are not carried further at all).
fn refused(refusal: Refusal, user: &users::Model) -> Outcome {
    Outcome {
        refusal: Some(refusal),
        fallback_number: user
            .fallback_number
            .clone()
            .filter(|_| refusal != Refusal::Inactive),
        took_slot: false,
    }
}

/// Counts the tenant's held slots and takes one, in one write transaction.
async fn take_slot(
    db: &DatabaseConnection,
    policy: &Policy,
    req: &Request<'_>,
) -> Result<Outcome, DbErr> {
    let txn = callsaga_entity::begin_write(db).await?;
    let admitted = Outcome {
        refusal: None,
        fallback_number: None,
        took_slot: false,
    };
    if call_slots::Entity::find_by_id(req.vapi_call_id)
        .one(&txn)
        .await?
        .is_some()
    {
        txn.commit().await?;
        return Ok(admitted);
    }
    // PostgreSQL: admissions of one tenant queue here. SQLite ignores the lock clause; its
    // `BEGIN IMMEDIATE` already serialises every writer.
    let Some(user) = users::Entity::find_by_id(req.agent.user_id)
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        txn.commit().await?;
        return Ok(Outcome {
            refusal: Some(Refusal::Inactive),
            ..admitted
        });
    };
    let now = Utc::now();
    // Read again under the lock: a deactivation or a charge may have come in between.
    let refusal = match rules::account_refusal(&user, policy.min_credits) {
        Some(refusal) => Some(refusal),
        None => rules::line_refusal(user.max_concurrent_calls, held(&txn, &user, now).await?),
    };
    if let Some(refusal) = refusal {
        record_refusal(&txn, req, refusal).await?;
        txn.commit().await?;
        return Ok(refused(refusal, &user));
    }
    let lifetime = chrono::Duration::from_std(policy.slot_lifetime)
        .unwrap_or_else(|_| chrono::Duration::days(1));
    call_slots::Entity::insert(call_slots::ActiveModel {
        vapi_call_id: Set(req.vapi_call_id.to_owned()),
        user_id: Set(user.id),
        admitted_at: Set(now),
        expires_at: Set(now + lifetime),
        released_at: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(Outcome {
        took_slot: true,
        ..admitted
    })
}

/// The tenant's slots in use: not released, not lapsed.
async fn held(
    db: &impl ConnectionTrait,
    user: &users::Model,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    call_slots::Entity::find()
        .filter(call_slots::Column::UserId.eq(user.id))
        .filter(call_slots::Column::ReleasedAt.is_null())
        .filter(call_slots::Column::ExpiresAt.gt(now))
        .count(db)
        .await
}

/// A call that came without an assistant-request (its assistant is set in Vapi, so the door
/// never saw it) still holds a line: when its first event resolves a tenant with a cap, it
/// takes a slot (there is no answer left to refuse it with), so the tenant's next calls count
/// it. An admitted call already has its slot, a refused one has no slot to take; both are
/// left alone (`ON CONFLICT DO NOTHING`, and only for a row the event creates).
pub async fn count_unannounced(
    db: &impl ConnectionTrait,
    vapi_call_id: &str,
    user_id: uuid::Uuid,
    lifetime: Duration,
) -> Result<bool, DbErr> {
    let Some(user) = users::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(false);
    };
    if user.max_concurrent_calls.is_none() {
        return Ok(false);
    }
    let now = Utc::now();
    let lifetime =
        chrono::Duration::from_std(lifetime).unwrap_or_else(|_| chrono::Duration::days(1));
    let inserted = call_slots::Entity::insert(call_slots::ActiveModel {
        vapi_call_id: Set(vapi_call_id.to_owned()),
        user_id: Set(user_id),
        admitted_at: Set(now),
        expires_at: Set(now + lifetime),
        released_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(call_slots::Column::VapiCallId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted > 0 {
        metrics::counter!("callsaga_admissions_total", "outcome" => "unannounced").increment(1);
        tracing::warn!(call.id = %vapi_call_id, user.id = %user_id, "a call without assistant-request holds a slot of its tenant's cap");
    }
    Ok(inserted > 0)
}

/// Gives the call's slot back, if it holds one; true when this call released it. Runs in the
/// transaction that applies the call's end, so the end and the release commit together, and
/// a second end (a duplicate, a late report after the watchdog) releases nothing.
pub async fn release(db: &impl ConnectionTrait, vapi_call_id: &str) -> Result<bool, DbErr> {
    let released = call_slots::Entity::update_many()
        .col_expr(call_slots::Column::ReleasedAt, Some(Utc::now()).into())
        .filter(call_slots::Column::VapiCallId.eq(vapi_call_id))
        .filter(call_slots::Column::ReleasedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if released > 0 {
        metrics::counter!("callsaga_call_slots_released_total").increment(1);
    }
    Ok(released > 0)
}

/// The refused call's row (created, or marked when its events came first) and its
/// `event_log` row.
async fn record_refusal(
    db: &impl ConnectionTrait,
    req: &Request<'_>,
    refusal: Refusal,
) -> Result<(), DbErr> {
    let workflow_id = callsaga_workflows::call_workflow_id(req.vapi_call_id);
    // Status below every Vapi status: the call's own events still move it on.
    let mut row = crate::call_record::minimal_row(
        uuid::Uuid::now_v7(),
        req.vapi_call_id,
        req.agent,
        req.customer_number,
        "refused",
        &workflow_id,
    );
    row.admission = Set(Some(refusal.as_str().to_owned()));
    calls::Entity::insert(row)
        .on_conflict(
            OnConflict::column(calls::Column::VapiCallId)
                .update_column(calls::Column::Admission)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let call_id = calls::Entity::find()
        .filter(calls::Column::VapiCallId.eq(req.vapi_call_id))
        .one(db)
        .await?
        .map(|c| c.id);
    event_log::log_once(
        db,
        Entry {
            key: &format!("call:{}:admission", req.vapi_call_id),
            user_id: Some(req.agent.user_id),
            call_id,
            kind: ADMISSION_REFUSED,
            data: serde_json::json!({
                "reason": refusal.as_str(),
                "agent_id": req.agent.id.to_string(),
            }),
        },
    )
    .await?;
    Ok(())
}
