//! Declarations of the activities the workflows call. The implementations live in
//! `callsaga-activities` and bind to these by `#[activity(definition = ...)]`, which checks at
//! compile time that input and output types match. Names are pinned: renaming a Rust item must
//! never change the activity type recorded in running workflows' histories.

use crate::payloads::{
    ApplyEventInput, BillCallInput, BillOutcome, CallSnapshot, CloseCallInput, EscalationSummary,
    RecordFailureInput, SettleEscalationsInput,
};
use crate::tool_payloads::{
    AppointmentRef, BookingPlan, BookingStep, CancelAppointmentInput, CancelPlan,
    ConfirmationFailedInput, CreateEventInput, DeleteEventInput, EscalationDecision,
    MarkEscalationInput, MoveEventInput, Planned, RecordAppointmentInput, ReschedulePlan,
    SendEmailInput, SetAppointmentTimeInput, Speech, ToolInput,
};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;

/// Activities that keep the `calls` row in step with the webhook events of a call.
pub struct CallRecordActivities;

#[activity_definitions]
impl CallRecordActivities {
    /// Applies one inbox event to the call row (idempotent upsert; status never moves backwards).
    #[activity(name = "call.apply_event")]
    pub fn apply_event(input: ApplyEventInput) -> Result<CallSnapshot, ActivityError> {
        unimplemented!()
    }
}

/// Read-only tool answers and the planning step of each saga: they validate the arguments,
/// look at the calendar and the database, and decide (with speakable texts in the agent's
/// language) — they have no effects.
pub struct ToolPlanningActivities;

#[activity_definitions]
impl ToolPlanningActivities {
    /// check_availability, find_next_available, list_appointments, unknown tools.
    #[activity(name = "tools.answer")]
    pub fn answer(input: ToolInput) -> Result<Speech, ActivityError> {
        unimplemented!()
    }

    /// Claims an effectful tool call for the workflow before its saga runs (its one effect is
    /// that record): false when the API has already answered it with a callback request.
    #[activity(name = "tools.claim")]
    pub fn claim(input: ToolInput) -> Result<bool, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "booking.plan")]
    pub fn plan_booking(input: ToolInput) -> Result<Planned<BookingPlan>, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "reschedule.plan")]
    pub fn plan_reschedule(input: ToolInput) -> Result<Planned<ReschedulePlan>, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "cancel.plan")]
    pub fn plan_cancel(input: ToolInput) -> Result<Planned<CancelPlan>, ActivityError> {
        unimplemented!()
    }
}

/// Effects of the appointment sagas. Each is idempotent and has an inverse the sagas register
/// as compensation before running it.
pub struct AppointmentActivities;

#[activity_definitions]
impl AppointmentActivities {
    /// Idempotent on the uid. Fails with type `CalendarUnavailable` (retried) or a permanent type.
    #[activity(name = "calendar.create_event")]
    pub fn create_event(input: CreateEventInput) -> Result<String, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "calendar.delete_event")]
    pub fn delete_event(input: DeleteEventInput) -> Result<(), ActivityError> {
        unimplemented!()
    }

    #[activity(name = "calendar.move_event")]
    pub fn move_event(input: MoveEventInput) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// The booking's plan and, for the embedded calendar, its recording in one step (the
    /// appointment row is the event there: one insert, which the database's overlap constraint
    /// arbitrates). Idempotent on the booking key; a slot taken meanwhile is a `Say`.
    #[activity(name = "booking.plan_and_record")]
    pub fn plan_and_record_booking(
        input: ToolInput,
    ) -> Result<Planned<BookingStep>, ActivityError> {
        unimplemented!()
    }

    /// [`Self::plan_and_record_booking`] that also sends the confirmation email once the
    /// embedded calendar's row is recorded (idempotent on `<booking key>:confirmation`), so the
    /// caller waits for one local activity. A permanent email failure fails the step (type
    /// `EmailFailed`) and the saga cancels the row. External calendars get the plan only.
    #[activity(name = "booking.plan_record_and_confirm")]
    pub fn plan_record_and_confirm_booking(
        input: ToolInput,
    ) -> Result<Planned<BookingStep>, ActivityError> {
        unimplemented!()
    }

    /// Fails with the non-retryable type `SlotTaken` when another booking got there first.
    #[activity(name = "appointments.record")]
    pub fn record_appointment(
        input: RecordAppointmentInput,
    ) -> Result<AppointmentRef, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "appointments.cancel")]
    pub fn cancel_appointment(input: CancelAppointmentInput) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Fails with `SlotTaken` when the new time overlaps another booking.
    #[activity(name = "appointments.set_time")]
    pub fn set_appointment_time(input: SetAppointmentTimeInput) -> Result<(), ActivityError> {
        unimplemented!()
    }

    #[activity(name = "email.send")]
    pub fn send_email(input: SendEmailInput) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// The booking's confirmation email failed for good after the caller heard "booked": the
    /// booking stands; marks the appointment `email_failed` and emails the business owner
    /// (once, key `<booking key>:confirmation-failed`).
    #[activity(name = "booking.confirmation_failed")]
    pub fn confirmation_failed(input: ConfirmationFailedInput) -> Result<(), ActivityError> {
        unimplemented!()
    }
}

/// The end of a call: escalation outcomes, billing, and the watchdog's close.
pub struct CallEndActivities;

#[activity_definitions]
impl CallEndActivities {
    /// Opens an escalation log (PENDING) and decides: transfer now, or a callback request.
    #[activity(name = "escalation.open")]
    pub fn open_escalation(input: ToolInput) -> Result<Planned<EscalationDecision>, ActivityError> {
        unimplemented!()
    }

    #[activity(name = "escalation.mark")]
    pub fn mark_escalation(input: MarkEscalationInput) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Closes every open escalation log of the call from how it ended; a failed transfer
    /// becomes a callback request to the operator.
    #[activity(name = "escalation.settle")]
    pub fn settle_escalations(
        input: SettleEscalationsInput,
    ) -> Result<EscalationSummary, ActivityError> {
        unimplemented!()
    }

    /// Charges the call once (ledger key derived from the call id).
    #[activity(name = "billing.charge")]
    pub fn charge_call(input: BillCallInput) -> Result<BillOutcome, ActivityError> {
        unimplemented!()
    }

    /// The watchdog's close: no report came; mark the call ended from what is known.
    #[activity(name = "call.close_without_report")]
    pub fn close_without_report(input: CloseCallInput) -> Result<CallSnapshot, ActivityError> {
        unimplemented!()
    }

    /// Records a step that failed for good and was skipped: an `event_log` row and a metric;
    /// for the charge also `calls.billing_status = billing_failed`. Idempotent on the workflow
    /// id, the step and the inbox id.
    #[activity(name = "call_end.record_failure")]
    pub fn record_failure(input: RecordFailureInput) -> Result<(), ActivityError> {
        unimplemented!()
    }
}

/// Marker types, for `#[activity(definition = ...)]` in the implementing crate.
pub mod markers {
    pub use super::appointment_activities::{
        CancelAppointment, ConfirmationFailed, CreateEvent, DeleteEvent, MoveEvent,
        PlanAndRecordBooking, PlanRecordAndConfirmBooking, RecordAppointment, SendEmail,
        SetAppointmentTime,
    };
    pub use super::call_end_activities::{
        ChargeCall, CloseWithoutReport, MarkEscalation, OpenEscalation, RecordFailure,
        SettleEscalations,
    };
    pub use super::call_record_activities::ApplyEvent;
    pub use super::tool_planning_activities::{
        Answer, Claim, PlanBooking, PlanCancel, PlanReschedule,
    };
}
