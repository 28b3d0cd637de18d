//! What the API answers by itself when the call's workflow cannot answer a tool call in time
//! (Temporal slow or down). A read-only tool is answered from the database by the code of the
//! workflow's own `tools.answer` activity, so the caller hears real slots. An effectful tool is
//! never run here: its callback request is recorded (`tool_call_claims`, one row per tool
//! call id, unless the workflow claimed the tool call first) and the caller hears honestly that it cannot be done now and that the business will
//! call back — or, without a number to call back or when even that write fails, only that it
//! cannot be done now.

use crate::secret::mask_phone;
use crate::state::AppState;
use crate::vapi::Envelope;
use callsaga_entity::tool_call_claims::{
    self, CALLBACK_REQUESTED, TAKEN_BY_WORKFLOW, TAKEN_UNCONFIRMED,
};
use callsaga_workflows::tool_payloads::{ToolCallAnswer, ToolCallRequest, ToolInput};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, SqlErr};
use std::time::Duration;
use uuid::Uuid;

/// The call's agent, as far as the fallback answers need it.
pub(super) struct Agent {
    pub(super) id: Option<Uuid>,
    pub(super) german: bool,
}

/// Looked up for at most [`AGENT_LOOKUP_BUDGET`] (a slow database must not hold a late answer
/// back further); unknown and English when it cannot be told.
pub(super) async fn agent(state: &AppState, envelope: &Envelope) -> Agent {
    let lookup = callsaga_activities::tenant::find_agent(
        &state.db,
        envelope.assistant_id(),
        envelope.phone_number_id(),
    );
    let found = tokio::time::timeout(AGENT_LOOKUP_BUDGET, lookup)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    Agent {
        id: found.as_ref().map(|a| a.id),
        german: found.is_some_and(|a| a.language.to_ascii_lowercase().starts_with("de")),
    }
}

const AGENT_LOOKUP_BUDGET: Duration = Duration::from_millis(250);

/// A read-only tool's answer from the database, computed in this process.
pub(super) async fn read_only(
    state: &AppState,
    vapi_call_id: &str,
    request: &ToolCallRequest,
) -> anyhow::Result<ToolCallAnswer> {
    let input = ToolInput {
        workflow_id: callsaga_workflows::call_workflow_id(vapi_call_id),
        vapi_call_id: vapi_call_id.to_owned(),
        request: request.clone(),
    };
    let speech = callsaga_activities::tools::answer_read_only(&state.tool_reader, &input).await?;
    Ok(if speech.is_error {
        ToolCallAnswer::error(request, speech.text)
    } else {
        ToolCallAnswer::result(request, speech.text)
    })
}

/// Why an effectful tool call fell back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reason {
    /// Temporal answered with an error (down, unreachable, the call's workflow closed).
    TemporalError,
    /// The workflow did not accept the update in time (Temporal slow or frozen).
    NotAcceptedInTime,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Self::TemporalError => "temporal_error",
            Self::NotAcceptedInTime => "not_accepted_in_time",
        }
    }
}

/// The claim of this tool call recorded earlier (Vapi retries a tool call with the same id),
/// if any.
pub(super) async fn recorded(
    state: &AppState,
    tool_call_id: &str,
) -> Result<Option<tool_call_claims::Model>, DbErr> {
    tool_call_claims::Entity::find()
        .filter(tool_call_claims::Column::ToolCallId.eq(tool_call_id))
        .one(&state.db)
        .await
}

/// Who owns a tool call after [`request_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Claimed {
    /// The callback request is recorded; `number`: there is a number to call back.
    Callback { number: bool },
    /// The workflow claimed the tool call first: its saga runs.
    Workflow,
}

/// Records the callback request of a tool call that cannot be done now, unless its workflow
/// has claimed it first (`tool_call_claims`, one row per tool call id: the first insert wins).
/// The number is the verified caller number (`call.customer.number`), never one from the
/// model's arguments.
pub(super) async fn request_callback(
    state: &AppState,
    envelope: &Envelope,
    vapi_call_id: &str,
    request: &ToolCallRequest,
    reason: Reason,
    agent: &Agent,
) -> Result<Claimed, DbErr> {
    let number = envelope.customer_number().map(str::to_owned);
    let row = tool_call_claims::ActiveModel {
        id: Set(Uuid::new_v4()),
        tool_call_id: Set(request.tool_call_id.clone()),
        vapi_call_id: Set(vapi_call_id.to_owned()),
        tool: Set(request.name.clone()),
        agent_id: Set(agent.id),
        customer_number: Set(number.clone()),
        reason: Set(reason.as_str().to_owned()),
        status: Set(CALLBACK_REQUESTED.to_owned()),
        created_at: Set(chrono::Utc::now()),
    };
    match tool_call_claims::Entity::insert(row).exec(&state.db).await {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            let first = recorded(state, &request.tool_call_id).await?;
            match first {
                Some(row)
                    if [TAKEN_BY_WORKFLOW, TAKEN_UNCONFIRMED].contains(&row.status.as_str()) =>
                {
                    return Ok(Claimed::Workflow);
                }
                Some(row) => {
                    return Ok(Claimed::Callback {
                        number: row.customer_number.is_some(),
                    });
                }
                None => return Err(e),
            }
        }
        Err(e) => return Err(e),
    }
    metrics::counter!("callsaga_tool_callbacks_total", "tool" => super::tool_calls::tool_label(&request.name), "reason" => reason.as_str()).increment(1);
    tracing::warn!(
        call.id = %vapi_call_id,
        tool = %request.name,
        tool_call.id = %request.tool_call_id,
        caller = %number.as_deref().map(mask_phone).unwrap_or_else(|| "withheld".into()),
        reason = reason.as_str(),
        "tool call not taken by its workflow in time; callback requested"
    );
    Ok(Claimed::Callback {
        number: number.is_some(),
    })
}

/// A tool call its workflow took but Temporal has not reported accepted by the deadline: not
/// durable yet, so no "confirming". The claim becomes [`TAKEN_UNCONFIRMED`] with the verified
/// caller number, which puts it on the callback list. `Ok(true)` when there is a number to call.
pub(super) async fn unconfirmed(
    state: &AppState,
    envelope: &Envelope,
    vapi_call_id: &str,
    request: &ToolCallRequest,
) -> Result<bool, DbErr> {
    let number = envelope.customer_number().map(str::to_owned);
    tool_call_claims::Entity::update_many()
        .col_expr(tool_call_claims::Column::Status, TAKEN_UNCONFIRMED.into())
        .col_expr(
            tool_call_claims::Column::CustomerNumber,
            number.clone().into(),
        )
        .col_expr(
            tool_call_claims::Column::Reason,
            Reason::NotAcceptedInTime.as_str().into(),
        )
        .filter(tool_call_claims::Column::ToolCallId.eq(request.tool_call_id.as_str()))
        .filter(tool_call_claims::Column::Status.eq(TAKEN_BY_WORKFLOW))
        .exec(&state.db)
        .await?;
    metrics::counter!("callsaga_tool_callbacks_total", "tool" => super::tool_calls::tool_label(&request.name), "reason" => "unconfirmed").increment(1);
    tracing::warn!(
        call.id = %vapi_call_id,
        tool = %request.name,
        tool_call.id = %request.tool_call_id,
        caller = %number.as_deref().map(mask_phone).unwrap_or_else(|| "withheld".into()),
        "tool call taken by its workflow but not accepted by the deadline; callback requested to confirm it"
    );
    Ok(number.is_some())
}

/// What a caller hears when the tool call may still complete but is not confirmed: true either
/// way, and the business follows up.
pub(super) fn cannot_confirm(
    request: &ToolCallRequest,
    german: bool,
    callback: bool,
) -> ToolCallAnswer {
    let text = match (german, callback) {
        (true, true) => {
            "Das kann ich Ihnen gerade nicht bestätigen. Ein Kollege ruft Sie dazu zurück."
        }
        (false, true) => {
            "I can't confirm that right now. The business will call you back about it."
        }
        (true, false) => {
            "Das kann ich Ihnen gerade nicht bestätigen. Bitte rufen Sie später noch einmal an, bevor Sie es erneut versuchen."
        }
        (false, false) => {
            "I can't confirm that right now. Please call again later before trying it again."
        }
    };
    ToolCallAnswer::error(request, text)
}

/// An effectful tool call that cannot be done now: the business calls back when there is a
/// number to call, else the caller is only told to try again.
pub(super) fn cannot_now(
    request: &ToolCallRequest,
    german: bool,
    callback: bool,
) -> ToolCallAnswer {
    let text = match (german, callback) {
        (true, true) => "Das kann ich leider gerade nicht erledigen. Ein Kollege ruft Sie zurück.",
        (false, true) => "I'm sorry, I can't do that right now. The business will call you back.",
        (german, false) => return ToolCallAnswer::error(request, try_later(german)),
    };
    ToolCallAnswer::error(request, text)
}

/// No promise at all (nothing was recorded that would keep one).
pub(super) fn try_later(german: bool) -> &'static str {
    if german {
        "Das kann ich leider gerade nicht erledigen. Bitte versuchen Sie es etwas später noch einmal."
    } else {
        "I'm sorry, I can't do that right now. Please try again a little later."
    }
}

/// An accepted effectful tool call still running at the deadline: it completes durably. The
/// confirmation email is promised only when the caller gave an address for a booking.
pub(super) fn confirming(request: &ToolCallRequest, german: bool) -> ToolCallAnswer {
    let emailed = request.name == "book_appointment"
        && request
            .arguments
            .get("customerEmail")
            .and_then(|v| v.as_str())
            .is_some_and(|s| s.contains('@'));
    let text = match (german, emailed) {
        (true, true) => "Ich bestätige das gerade noch, Sie erhalten die Bestätigung per E-Mail.",
        (false, true) => "I'm confirming that now; you'll get the confirmation by email.",
        (true, false) => "Ich bestätige das gerade noch; es ist schon in Bearbeitung.",
        (false, false) => "I'm confirming that now; it is already under way.",
    };
    ToolCallAnswer::result(request, text)
}
