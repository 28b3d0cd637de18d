//! The effects of the appointment sagas. Each is idempotent (keyed by the booking key or the
//! row id), and each classifies its errors: transient → Temporal retries; permanent (slot
//! taken, bad input) → the saga compensates.

use super::context::AgentContext;
use crate::Activities;
use crate::calendar::CalendarEvent;
use crate::call_record::ToolCallOrigin;
use crate::email::{Email, OutboxCheck};
use crate::failure::{permanent, transient};
use callsaga_entity::{APPOINTMENTS_NO_OVERLAP, appointments};
use callsaga_workflows::tool_payloads::{
    AppointmentRef, CancelAppointmentInput, CreateEventInput, DeleteEventInput, MoveEventInput,
    RecordAppointmentInput, SendEmailInput, SetAppointmentTimeInput,
};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, SqlErr};
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

fn instant(s: &str) -> Result<DateTime<Utc>, ActivityError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| permanent("BadInput", format!("bad timestamp {s:?}: {e}")))
}

fn uuid(s: &str) -> Result<Uuid, ActivityError> {
    Uuid::parse_str(s).map_err(|e| permanent("BadInput", format!("bad id {s:?}: {e}")))
}

/// Overlap with another booked appointment → `SlotTaken`; anything else is transient.
fn classify(e: DbErr) -> ActivityError {
    if e.to_string().contains(APPOINTMENTS_NO_OVERLAP) {
        permanent("SlotTaken", "another appointment overlaps this time")
    } else {
        transient(e)
    }
}

pub(crate) async fn create_event(
    deps: &Activities,
    input: &CreateEventInput,
) -> Result<String, ActivityError> {
    let ctx = AgentContext::by_id(deps, &input.agent_id).await?;
    let event = CalendarEvent {
        uid: input.uid.clone(),
        start: instant(&input.start)?,
        end: instant(&input.end)?,
        summary: input.summary.clone(),
        description: input.description.clone(),
        location: Some(ctx.agent.business_name.clone()),
    };
    ctx.calendar(deps)?
        .create_event(&event)
        .await
        .map_err(|e| e.into_activity_error())
}

pub(crate) async fn delete_event(
    deps: &Activities,
    input: &DeleteEventInput,
) -> Result<(), ActivityError> {
    let ctx = AgentContext::by_id(deps, &input.agent_id).await?;
    let event_id = input
        .event_id
        .clone()
        .unwrap_or_else(|| ctx.event_id_for_uid(&input.uid));
    ctx.calendar(deps)?
        .delete_event(&event_id)
        .await
        .map_err(|e| e.into_activity_error())
}

pub(crate) async fn move_event(
    deps: &Activities,
    input: &MoveEventInput,
) -> Result<(), ActivityError> {
    let ctx = AgentContext::by_id(deps, &input.agent_id).await?;
    ctx.calendar(deps)?
        .move_event(
            &input.event_id,
            instant(&input.start)?,
            instant(&input.end)?,
        )
        .await
        .map_err(|e| e.into_activity_error())
}

pub(crate) async fn record_appointment(
    deps: &Activities,
    input: &RecordAppointmentInput,
) -> Result<AppointmentRef, ActivityError> {
    // Linked to the call's row, created here if the relay has not delivered an event yet.
    let call_id = match crate::call_record::row_id(&deps.db, &input.vapi_call_id).await? {
        Some(id) => id,
        None => {
            let ctx = AgentContext::by_id(deps, &input.plan.agent_id).await?;
            let workflow_id = callsaga_workflows::call_workflow_id(&input.vapi_call_id);
            let origin = ToolCallOrigin {
                vapi_call_id: &input.vapi_call_id,
                workflow_id: &workflow_id,
                agent: &ctx.agent,
                customer_number: None,
            };
            crate::call_record::ensure_row(&deps.db, &origin).await?
        }
    };
    insert_appointment(deps, input, call_id)
        .await?
        .map(Inserted::into_ref)
        .ok_or_else(|| permanent("SlotTaken", "another appointment overlaps this time"))
}

/// What [`insert_appointment`] found.
pub(crate) enum Inserted {
    /// This call inserted the row: no earlier attempt of the step had recorded it.
    New(AppointmentRef),
    /// The booking's own row from an earlier attempt (its result was lost).
    Existing(AppointmentRef),
}

impl Inserted {
    pub(crate) fn into_ref(self) -> AppointmentRef {
        match self {
            Self::New(r) | Self::Existing(r) => r,
        }
    }
}

/// Inserts the appointment row (linked to the call's row `call_id`); `None` when
/// another appointment overlaps it. Idempotent on the booking key: the insert goes first (one
/// statement on the common path) and only a conflict looks the key up, so a retry whose row
/// exists gets that row back — whether the key's unique index or the overlap check (its own row
/// overlaps it) tripped first.
pub(crate) async fn insert_appointment(
    deps: &Activities,
    input: &RecordAppointmentInput,
    call_id: Uuid,
) -> Result<Option<Inserted>, ActivityError> {
    let plan = &input.plan;
    let now = Utc::now();
    let id = Uuid::now_v7();
    let row = appointments::ActiveModel {
        id: Set(id),
        agent_id: Set(uuid(&plan.agent_id)?),
        call_id: Set(Some(call_id)),
        calendar_event_id: Set(Some(input.event_id.clone())),
        starts_at: Set(instant(&plan.start)?),
        ends_at: Set(instant(&plan.end)?),
        timezone: Set(plan.timezone.clone()),
        status: Set("booked".into()),
        customer_name: Set(plan.customer_name.clone()),
        customer_phone: Set(plan.customer_phone.clone()),
        customer_email: Set(plan.customer_email.clone()),
        notes: Set(plan.notes.clone()),
        idempotency_key: Set(plan.key.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        email_failed_at: Set(None),
        email_error: Set(None),
        caller_number: Set(plan.caller_number.clone()),
    };
    let inserted = appointments::Entity::insert(row)
        .exec_without_returning(&deps.db)
        .await;
    let err = match inserted {
        Ok(_) => {
            return Ok(Some(Inserted::New(AppointmentRef {
                appointment_id: id.to_string(),
            })));
        }
        Err(e) => e,
    };
    let overlap = err.to_string().contains(APPOINTMENTS_NO_OVERLAP);
    if !overlap && !matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return Err(transient(err));
    }
    // This booking's own row (a retry of a step whose result was lost), else a real overlap.
    match by_key(deps, &plan.key).await? {
        Some(existing) => Ok(Some(Inserted::Existing(AppointmentRef {
            appointment_id: existing.id.to_string(),
        }))),
        None if overlap => Ok(None),
        None => Err(transient(anyhow::anyhow!(
            "appointment vanished after a unique violation"
        ))),
    }
}

async fn by_key(
    deps: &Activities,
    key: &str,
) -> Result<Option<appointments::Model>, ActivityError> {
    appointments::Entity::find()
        .filter(appointments::Column::IdempotencyKey.eq(key))
        .one(&deps.db)
        .await
        .map_err(transient)
}

pub(crate) async fn cancel_appointment(
    deps: &Activities,
    input: &CancelAppointmentInput,
) -> Result<(), ActivityError> {
    let mut update = appointments::Entity::update_many()
        .col_expr(appointments::Column::Status, "cancelled".into())
        .col_expr(appointments::Column::UpdatedAt, Utc::now().into());
    if let Some(reason) = &input.reason {
        update = update.col_expr(
            appointments::Column::Notes,
            Some(format!("cancelled: {reason}")).into(),
        );
    }
    update = match (&input.appointment_id, &input.key) {
        (Some(id), _) => update.filter(appointments::Column::Id.eq(uuid(id)?)),
        (None, Some(key)) => update.filter(appointments::Column::IdempotencyKey.eq(key.as_str())),
        (None, None) => {
            return Err(permanent(
                "BadInput",
                "cancel needs an appointment id or key",
            ));
        }
    };
    // Missing or already cancelled: nothing to do, which is the idempotent outcome.
    update.exec(&deps.db).await.map_err(transient)?;
    Ok(())
}

pub(crate) async fn set_appointment_time(
    deps: &Activities,
    input: &SetAppointmentTimeInput,
) -> Result<(), ActivityError> {
    let result = appointments::Entity::update_many()
        .col_expr(
            appointments::Column::StartsAt,
            instant(&input.start)?.into(),
        )
        .col_expr(appointments::Column::EndsAt, instant(&input.end)?.into())
        .col_expr(appointments::Column::UpdatedAt, Utc::now().into())
        .filter(appointments::Column::Id.eq(uuid(&input.appointment_id)?))
        .exec(&deps.db)
        .await
        .map_err(classify)?;
    if result.rows_affected == 0 {
        return Err(permanent(
            "AppointmentNotFound",
            format!("appointment {} not found", input.appointment_id),
        ));
    }
    Ok(())
}

/// Sends the email once per key (`check` says whether the outbox must be consulted first; see
/// [`OutboxCheck`]).
pub(crate) async fn send_email(
    deps: &Activities,
    input: &SendEmailInput,
    check: OutboxCheck,
) -> Result<(), ActivityError> {
    deps.mailer
        .send_checked(&deps.db, &email_of(input), check)
        .await
        .map(drop)
        .map_err(|e| e.into_activity_error())
}

fn email_of(input: &SendEmailInput) -> Email {
    Email {
        to: input.email.to.clone(),
        subject: input.email.subject.clone(),
        text: input.email.text.clone(),
        idempotency_key: input.idempotency_key.clone(),
    }
}
