//! Escalation activities: open (log + decision) and mark; `settle.rs` closes them when the
//! call ends.

use super::escalation_rules::{CallbackWhy, EscalationRules, Route};
use crate::Activities;
use crate::availability::{BusinessHours, Language, parse_timezone};
use crate::call_record::ToolCallOrigin;
use crate::failure::{permanent, transient};
use crate::tools::AgentContext;
use callsaga_entity::{calls, escalation_configs, escalation_logs, event_log};
use callsaga_workflows::tool_payloads::{
    EmailDraft, EscalationDecision, MarkEscalationInput, Planned, ToolInput,
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::json;
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

pub const PENDING: &str = "PENDING";
pub const TRANSFERRING: &str = "TRANSFERRING";
pub const CALLBACK_REQUESTED: &str = "CALLBACK_REQUESTED";
pub const COMPLETED: &str = "COMPLETED";
pub const FAILED: &str = "FAILED";

pub(super) async fn config_of(
    deps: &Activities,
    agent_id: Uuid,
) -> Result<Option<escalation_configs::Model>, ActivityError> {
    escalation_configs::Entity::find()
        .filter(escalation_configs::Column::AgentId.eq(agent_id))
        .one(&deps.db)
        .await
        .map_err(transient)
}

/// The route the agent's escalation configuration allows right now.
pub(crate) async fn route_now(
    deps: &Activities,
    ctx: &AgentContext,
) -> Result<(Route, Option<escalation_configs::Model>), ActivityError> {
    let config = config_of(deps, ctx.agent.id).await?;
    let Some(cfg) = config.clone() else {
        return Ok((
            Route::Callback {
                why: CallbackWhy::Disabled,
            },
            None,
        ));
    };
    let numbers: Vec<String> =
        serde_json::from_value(cfg.forwarding_numbers.clone()).unwrap_or_default();
    let hours = match &cfg.business_hours {
        Some(v) => Some(
            BusinessHours::from_json(v)
                .map_err(|e| permanent("AgentMisconfigured", e.to_string()))?,
        ),
        None => Some(ctx.hours.clone()),
    };
    let tz = match &cfg.timezone {
        Some(name) => {
            parse_timezone(name).map_err(|e| permanent("AgentMisconfigured", e.to_string()))?
        }
        None => ctx.tz,
    };
    let rules = EscalationRules {
        enabled: cfg.enabled,
        forwarding_numbers: &numbers,
        warm: cfg.transfer_mode != "blind",
        hours: hours.as_ref(),
        tz,
    };
    Ok((rules.route(Utc::now()), config))
}

pub(crate) async fn open(
    deps: &Activities,
    input: &ToolInput,
) -> Result<Planned<EscalationDecision>, ActivityError> {
    let ctx = AgentContext::for_tool(deps, input).await?;
    let args = &input.request.arguments;
    let text = |k: &str| {
        args.get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let key = format!("{}:{}", input.workflow_id, input.request.tool_call_id);
    let Some(reason) = text("reason") else {
        return Ok(Planned::Say {
            text: ctx.say(
                "What would you like to talk to a colleague about?",
                "Worum geht es, damit ich Sie an einen Kollegen weitergeben kann?",
            ),
            is_error: true,
        });
    };
    let urgency = match text("urgency").as_deref() {
        Some(u @ ("low" | "normal" | "high" | "critical")) => u.to_owned(),
        _ => "normal".to_owned(),
    };
    let summary = text("summary");
    let callback_number = text("callbackNumber").or(input.request.customer_number.clone());

    let (route, config) = route_now(deps, &ctx).await?;
    let call = crate::call_record::ensure_row(
        &deps.db,
        &ToolCallOrigin {
            vapi_call_id: &input.vapi_call_id,
            workflow_id: &input.workflow_id,
            agent: &ctx.agent,
            customer_number: input.request.customer_number.as_deref(),
        },
    )
    .await?;
    let (status, transfer_number, transfer_mode) = match &route {
        Route::Transfer { number, warm } => (
            TRANSFERRING,
            Some(number.clone()),
            Some(if *warm { "warm" } else { "blind" }.to_owned()),
        ),
        Route::Callback { .. } => (CALLBACK_REQUESTED, None, None),
    };
    // The log is recorded PENDING with its decision in one insert; idempotent on the key.
    let existing = escalation_logs::Entity::find()
        .filter(escalation_logs::Column::IdempotencyKey.eq(&key))
        .one(&deps.db)
        .await
        .map_err(transient)?;
    let log = match existing {
        Some(log) => log,
        None => {
            let now = Utc::now();
            let row = escalation_logs::ActiveModel {
                id: Set(Uuid::now_v7()),
                call_id: Set(call),
                agent_id: Set(Some(ctx.agent.id)),
                reason: Set(reason.clone()),
                urgency: Set(urgency.clone()),
                summary: Set(summary.clone()),
                status: Set(status.to_owned()),
                transfer_number: Set(transfer_number.clone()),
                transfer_mode: Set(transfer_mode.clone()),
                failure_reason: Set(None),
                idempotency_key: Set(key.clone()),
                notes: Set(callback_number
                    .as_ref()
                    .map(|n| format!("callback number: {n}"))),
                created_at: Set(now),
                updated_at: Set(now),
                resolved_at: Set(None),
            };
            row.insert(&deps.db).await.map_err(transient)?
        }
    };
    set_call_escalation_status(&deps.db, call, &log.status.to_lowercase()).await?;
    log_event(&deps.db, ctx.agent.user_id, call, "escalation.opened", json!({
        "log_id": log.id, "status": log.status, "urgency": urgency, "route": format!("{route:?}"),
    })).await?;

    let operator_email = config.as_ref().and_then(|c| c.operator_email.clone());
    let share_summary = config.as_ref().is_none_or(|c| c.share_summary);
    Ok(Planned::Go(match route {
        Route::Transfer { .. } => EscalationDecision {
            log_id: log.id.to_string(),
            transfer_number,
            transfer_mode,
            callback_email: None,
            say: ctx.say("I'm connecting you with a colleague now.", "Ich verbinde Sie jetzt mit einem Kollegen."),
        },
        Route::Callback { why } => EscalationDecision {
            log_id: log.id.to_string(),
            transfer_number: None,
            transfer_mode: None,
            callback_email: operator_email.map(|to| callback_email(&ctx, to, callback_number.as_deref(), &reason, &urgency, summary.as_deref().filter(|_| share_summary), "")),
            say: match (why, ctx.lang) {
                (CallbackWhy::AfterHours, Language::De) => "Unser Team ist gerade nicht erreichbar. Ein Kollege ruft Sie so bald wie möglich zurück.".into(),
                (CallbackWhy::AfterHours, Language::En) => "Our team isn't available right now. A colleague will call you back as soon as possible.".into(),
                (_, Language::De) => "Ich kann Sie gerade nicht verbinden. Ein Kollege ruft Sie zurück.".into(),
                (_, Language::En) => "I can't transfer you right now, but a colleague will call you back.".into(),
            },
        },
    }))
}

fn callback_email(
    ctx: &AgentContext,
    to: String,
    number: Option<&str>,
    reason: &str,
    urgency: &str,
    summary: Option<&str>,
    extra: &str,
) -> EmailDraft {
    EmailDraft {
        to,
        subject: callback_subject(urgency, &ctx.agent.business_name),
        text: callback_text(number, reason, urgency, summary, extra),
    }
}

pub(super) fn callback_subject(urgency: &str, business_name: &str) -> String {
    format!("Callback requested ({urgency}): {business_name}")
}

pub(super) fn callback_text(
    number: Option<&str>,
    reason: &str,
    urgency: &str,
    summary: Option<&str>,
    extra: &str,
) -> String {
    format!(
        "A caller asked for a human.\n\nCall back: {}\nReason: {reason}\nUrgency: {urgency}\nSummary: {}\n{extra}",
        number.unwrap_or("unknown number"),
        summary.unwrap_or("-"),
    )
}

pub(super) async fn set_call_escalation_status(
    db: &impl ConnectionTrait,
    call: Uuid,
    status: &str,
) -> Result<(), ActivityError> {
    calls::Entity::update_many()
        .col_expr(
            calls::Column::EscalationStatus,
            Some(status.to_owned()).into(),
        )
        .filter(calls::Column::Id.eq(call))
        .exec(db)
        .await
        .map_err(transient)?;
    Ok(())
}

pub(crate) async fn log_event(
    db: &impl ConnectionTrait,
    user: Uuid,
    call: Uuid,
    kind: &str,
    data: serde_json::Value,
) -> Result<(), ActivityError> {
    event_log::Entity::insert(event_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(Some(user)),
        call_id: Set(Some(call)),
        kind: Set(kind.to_owned()),
        data: Set(data),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await
    .map_err(transient)?;
    Ok(())
}

/// `log_id` is the log's id or its idempotency key.
pub(crate) async fn mark(
    deps: &Activities,
    input: &MarkEscalationInput,
) -> Result<(), ActivityError> {
    let filter = match Uuid::parse_str(&input.log_id) {
        Ok(id) => escalation_logs::Column::Id.eq(id),
        Err(_) => escalation_logs::Column::IdempotencyKey.eq(input.log_id.clone()),
    };
    escalation_logs::Entity::update_many()
        .col_expr(escalation_logs::Column::Status, input.status.clone().into())
        .col_expr(
            escalation_logs::Column::FailureReason,
            input.reason.clone().into(),
        )
        .col_expr(escalation_logs::Column::UpdatedAt, Utc::now().into())
        .col_expr(escalation_logs::Column::ResolvedAt, Some(Utc::now()).into())
        .filter(filter)
        .exec(&deps.db)
        .await
        .map_err(transient)?;
    Ok(())
}
