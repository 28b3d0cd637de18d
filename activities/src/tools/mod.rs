//! Tool-call activities: the read-only answers and planning steps
//! ([`ToolPlanningActivitiesImpl`]) and the effects of the appointment sagas
//! ([`AppointmentActivitiesImpl`]). Bound to the declarations in
//! `callsaga_workflows::activities` by name and type.

mod answer;
mod args;
mod booking_step;
mod caller;
mod claim;
mod confirmation_failed;
mod context;
pub(crate) use context::AgentContext;
mod effects;
mod find;
mod plan;

use crate::Activities;
use crate::email::OutboxCheck;
use crate::faults::{Fault, FaultPlan};
use callsaga_workflows::activities::markers;
use callsaga_workflows::tool_payloads::{
    AppointmentRef, BookingPlan, BookingStep, CancelAppointmentInput, CancelPlan,
    ConfirmationFailedInput, CreateEventInput, DeleteEventInput, MoveEventInput, Planned,
    RecordAppointmentInput, ReschedulePlan, SendEmailInput, SetAppointmentTimeInput, Speech,
    ToolInput,
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct ToolPlanningActivitiesImpl {
    deps: Activities,
}

impl ToolPlanningActivitiesImpl {
    pub fn new(deps: Activities) -> Self {
        Self { deps }
    }
}

#[activities]
impl ToolPlanningActivitiesImpl {
    #[activity(definition = markers::Answer)]
    pub async fn answer(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<Speech, ActivityError> {
        timed("tools.answer", answer::answer(&self.deps, &input)).await
    }

    #[activity(definition = markers::Claim)]
    pub async fn claim(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<bool, ActivityError> {
        timed("tools.claim", claim::claim(&self.deps, &input)).await
    }

    #[activity(definition = markers::PlanBooking)]
    pub async fn plan_booking(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<Planned<BookingPlan>, ActivityError> {
        guarded(
            &self.deps.faults,
            "booking.plan",
            plan::booking(&self.deps, &input),
        )
        .await
    }

    #[activity(definition = markers::PlanReschedule)]
    pub async fn plan_reschedule(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<Planned<ReschedulePlan>, ActivityError> {
        guarded(
            &self.deps.faults,
            "reschedule.plan",
            plan::reschedule(&self.deps, &input),
        )
        .await
    }

    #[activity(definition = markers::PlanCancel)]
    pub async fn plan_cancel(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<Planned<CancelPlan>, ActivityError> {
        guarded(
            &self.deps.faults,
            "cancel.plan",
            plan::cancel(&self.deps, &input),
        )
        .await
    }
}

/// A read-only tool's answer computed right here, by the code of the `tools.answer` activity:
/// the API's answer when the call's workflow cannot give it in time (Temporal slow or down).
/// Reading has no effect to keep exactly once, so answering outside the workflow is safe.
pub async fn answer_read_only(deps: &Activities, input: &ToolInput) -> anyhow::Result<Speech> {
    timed("tools.answer_direct", answer::answer(deps, input))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))
}

pub struct AppointmentActivitiesImpl {
    deps: Activities,
}

impl AppointmentActivitiesImpl {
    pub fn new(deps: Activities) -> Self {
        Self { deps }
    }
}

/// Runs `work` between the fault plan's checks (a no-op outside tests).
#[tracing::instrument(name = "activity", skip_all, fields(activity = %name))]
pub(crate) async fn guarded<T>(
    faults: &FaultPlan,
    name: &str,
    work: impl Future<Output = Result<T, ActivityError>>,
) -> Result<T, ActivityError> {
    let started = std::time::Instant::now();
    let result = async {
        let fault = faults.before(name)?;
        if let Some(Fault::Slow(delay)) = fault {
            tokio::time::sleep(delay).await;
        }
        let out = work.await?;
        FaultPlan::after(name, fault)?;
        Ok(out)
    }
    .await;
    record_time(name, started, result.is_ok());
    result
}

/// Runs `work` (no fault plan), recording its duration like [`guarded`].
async fn timed<T>(
    name: &str,
    work: impl Future<Output = Result<T, ActivityError>>,
) -> Result<T, ActivityError> {
    let started = std::time::Instant::now();
    let result = work.await;
    record_time(name, started, result.is_ok());
    result
}

/// `callsaga_activity_seconds{activity, outcome}`.
fn record_time(name: &str, started: std::time::Instant, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::histogram!("callsaga_activity_seconds", "activity" => name.to_owned(), "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}

#[activities]
impl AppointmentActivitiesImpl {
    #[activity(definition = markers::CreateEvent)]
    pub async fn create_event(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CreateEventInput,
    ) -> Result<String, ActivityError> {
        guarded(
            &self.deps.faults,
            "calendar.create_event",
            effects::create_event(&self.deps, &input),
        )
        .await
    }

    #[activity(definition = markers::DeleteEvent)]
    pub async fn delete_event(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: DeleteEventInput,
    ) -> Result<(), ActivityError> {
        guarded(
            &self.deps.faults,
            "calendar.delete_event",
            effects::delete_event(&self.deps, &input),
        )
        .await
    }

    #[activity(definition = markers::MoveEvent)]
    pub async fn move_event(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: MoveEventInput,
    ) -> Result<(), ActivityError> {
        guarded(
            &self.deps.faults,
            "calendar.move_event",
            effects::move_event(&self.deps, &input),
        )
        .await
    }

    #[activity(definition = markers::PlanAndRecordBooking)]
    pub async fn plan_and_record_booking(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<Planned<BookingStep>, ActivityError> {
        booking_step::run(&self.deps, input, booking_step::Confirm::Later).await
    }

    #[activity(definition = markers::PlanRecordAndConfirmBooking)]
    pub async fn plan_record_and_confirm_booking(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ToolInput,
    ) -> Result<Planned<BookingStep>, ActivityError> {
        booking_step::run(&self.deps, input, booking_step::Confirm::InStep).await
    }

    #[activity(definition = markers::RecordAppointment)]
    pub async fn record_appointment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RecordAppointmentInput,
    ) -> Result<AppointmentRef, ActivityError> {
        guarded(
            &self.deps.faults,
            "appointments.record",
            Box::pin(effects::record_appointment(&self.deps, &input)),
        )
        .await
    }

    #[activity(definition = markers::CancelAppointment)]
    pub async fn cancel_appointment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CancelAppointmentInput,
    ) -> Result<(), ActivityError> {
        guarded(
            &self.deps.faults,
            "appointments.cancel",
            effects::cancel_appointment(&self.deps, &input),
        )
        .await
    }

    #[activity(definition = markers::SetAppointmentTime)]
    pub async fn set_appointment_time(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: SetAppointmentTimeInput,
    ) -> Result<(), ActivityError> {
        guarded(
            &self.deps.faults,
            "appointments.set_time",
            effects::set_appointment_time(&self.deps, &input),
        )
        .await
    }

    #[activity(definition = markers::SendEmail)]
    pub async fn send_email(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: SendEmailInput,
    ) -> Result<(), ActivityError> {
        let send = guarded(
            &self.deps.faults,
            "email.send",
            effects::send_email(&self.deps, &input, OutboxCheck::Lookup),
        );
        // A local attempt that timed out is cancelled: it stops here instead of sending beside
        // the normal activity that takes the email over (the workflow's `after_answer.rs`).
        tokio::select! {
            sent = send => sent,
            () = ctx.cancelled() => Err(ActivityError::cancelled()),
        }
    }

    #[activity(definition = markers::ConfirmationFailed)]
    pub async fn confirmation_failed(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ConfirmationFailedInput,
    ) -> Result<(), ActivityError> {
        guarded(
            &self.deps.faults,
            "booking.confirmation_failed",
            Box::pin(confirmation_failed::run(&self.deps, &input)),
        )
        .await
    }
}
