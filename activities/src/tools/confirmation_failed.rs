//! `booking.confirmation_failed`: the booking's confirmation email failed for good after the
//! caller had heard "booked" (a 550 for an address speech recognition mis-heard is common). The
//! booking stands: the appointment is marked `email_failed` (when and why), and the business
//! owner gets an email to reach the caller another way, once per booking
//! (`<booking key>:confirmation-failed`). Idempotent: a retry keeps the first failure's time
//! and finds the owner's email sent.

use super::context::AgentContext;
use super::plan::when;
use crate::Activities;
use crate::email::{Email, mask_email};
use crate::failure::{permanent, transient};
use callsaga_entity::{appointments, users};
use callsaga_workflows::tool_payloads::ConfirmationFailedInput;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use temporalio_sdk::activities::ActivityError;

pub(crate) async fn run(
    deps: &Activities,
    input: &ConfirmationFailedInput,
) -> Result<(), ActivityError> {
    let now = Utc::now();
    appointments::Entity::update_many()
        .col_expr(appointments::Column::EmailFailedAt, Some(now).into())
        .col_expr(
            appointments::Column::EmailError,
            Some(input.error.clone()).into(),
        )
        .col_expr(appointments::Column::UpdatedAt, now.into())
        .filter(appointments::Column::IdempotencyKey.eq(input.booking_key.as_str()))
        .filter(appointments::Column::EmailFailedAt.is_null())
        .exec(&deps.db)
        .await
        .map_err(transient)?;
    let appointment = appointments::Entity::find()
        .filter(appointments::Column::IdempotencyKey.eq(input.booking_key.as_str()))
        .one(&deps.db)
        .await
        .map_err(transient)?
        .ok_or_else(|| {
            permanent(
                "AppointmentNotFound",
                format!("no appointment with key {}", input.booking_key),
            )
        })?;
    let ctx = AgentContext::by_id(deps, &input.agent_id).await?;
    let owner = users::Entity::find_by_id(ctx.agent.user_id)
        .one(&deps.db)
        .await
        .map_err(transient)?
        .ok_or_else(|| permanent("UnknownUser", "the agent's owner is gone"))?;
    let email = owner_notice(&ctx, &appointment, owner.email, &input.error);
    let email = Email {
        idempotency_key: format!("{}:confirmation-failed", input.booking_key),
        ..email
    };
    tracing::warn!(
        appointment.id = %appointment.id,
        to = %appointment.customer_email.as_deref().map(mask_email).unwrap_or_default(),
        "confirmation email failed for good; telling the owner"
    );
    deps.mailer
        .send(&deps.db, &email)
        .await
        .map(drop)
        .map_err(|e| e.into_activity_error())
}

/// The owner's notice, in the agent's language.
fn owner_notice(
    ctx: &AgentContext,
    appointment: &appointments::Model,
    to: String,
    error: &str,
) -> Email {
    let at = when(ctx, appointment.starts_at);
    let name = &appointment.customer_name;
    let address = appointment.customer_email.as_deref().unwrap_or("-");
    let phone = appointment.customer_phone.as_deref().unwrap_or("-");
    Email {
        to,
        subject: ctx.say(
            &format!("Confirmation email not delivered: {name}, {at}"),
            &format!("Terminbestätigung nicht zugestellt: {name}, {at}"),
        ),
        text: ctx.say(
            &format!(
                "The appointment of {name} on {at} is booked, but its confirmation email could \
                 not be delivered to {address}: {error}\n\nThe address may have been misheard \
                 on the phone. Please reach {name} another way (phone: {phone}).\n\nAppointment \
                 id: {}\n",
                appointment.id
            ),
            &format!(
                "Der Termin von {name} am {at} ist gebucht, aber die Bestätigung konnte nicht an \
                 {address} zugestellt werden: {error}\n\nDie Adresse wurde am Telefon vielleicht \
                 falsch verstanden. Bitte erreichen Sie {name} auf anderem Weg (Telefon: \
                 {phone}).\n\nTermin-ID: {}\n",
                appointment.id
            ),
        ),
        idempotency_key: String::new(),
    }
}
