//! `/admin/v1/escalation-configs`: how an agent hands a call to a human (one per agent).
//! Deactivating sets `enabled = false`.

use super::{default_true, find, insert, merge_patch, parse_bool, parse_uuid, save_changes};
use crate::admin::error::{AdminError, ErrorBody};
use crate::admin::extract::{AdminJson, AdminQuery, PathId, param};
use crate::admin::{page, validate};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callsaga_entity::{agents, escalation_configs};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An escalation config as created (the `POST` body); `PATCH` merges into this shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfigInput {
    /// The agent; each agent has at most one escalation config.
    pub agent_id: Uuid,
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub enabled: bool,
    /// E.164 numbers to transfer to, first choice first.
    #[serde(default)]
    pub forwarding_numbers: Vec<String>,
    /// `warm` or `blind`.
    #[serde(default = "warm")]
    #[schema(default = "warm")]
    pub transfer_mode: String,
    /// Who is emailed about callbacks.
    #[serde(default)]
    pub operator_email: Option<String>,
    /// When humans are reachable, same shape as an agent's; absent: the agent's hours.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<Value>,
    /// IANA time zone of `business_hours`; absent: the agent's.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub share_summary: bool,
    #[serde(default)]
    pub share_transcript: bool,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub trigger_settings: Option<Value>,
}

fn warm() -> String {
    "warm".into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationConfigOut {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub enabled: bool,
    pub forwarding_numbers: Vec<String>,
    pub transfer_mode: String,
    pub operator_email: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<Value>,
    pub timezone: Option<String>,
    pub share_summary: bool,
    pub share_transcript: bool,
    #[schema(value_type = Option<Object>)]
    pub trigger_settings: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn numbers(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

impl From<escalation_configs::Model> for EscalationConfigOut {
    fn from(m: escalation_configs::Model) -> Self {
        Self {
            forwarding_numbers: numbers(&m.forwarding_numbers),
            id: m.id,
            agent_id: m.agent_id,
            enabled: m.enabled,
            transfer_mode: m.transfer_mode,
            operator_email: m.operator_email,
            business_hours: m.business_hours,
            timezone: m.timezone,
            share_summary: m.share_summary,
            share_transcript: m.share_transcript,
            trigger_settings: m.trigger_settings,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl EscalationConfigInput {
    pub(crate) fn of(m: &escalation_configs::Model) -> Self {
        Self {
            agent_id: m.agent_id,
            enabled: m.enabled,
            forwarding_numbers: numbers(&m.forwarding_numbers),
            transfer_mode: m.transfer_mode.clone(),
            operator_email: m.operator_email.clone(),
            business_hours: m.business_hours.clone(),
            timezone: m.timezone.clone(),
            share_summary: m.share_summary,
            share_transcript: m.share_transcript,
            trigger_settings: m.trigger_settings.clone(),
        }
    }

    /// Validates into the row: over `existing` for an update, else a new config.
    pub(crate) async fn into_model(
        self,
        db: &impl ConnectionTrait,
        existing: Option<&escalation_configs::Model>,
    ) -> Result<escalation_configs::Model, AdminError> {
        let forwarding = self
            .forwarding_numbers
            .iter()
            .enumerate()
            .map(|(i, n)| validate::e164(&format!("forwarding_numbers[{i}]"), n))
            .collect::<Result<Vec<_>, _>>()?;
        let now = Utc::now();
        let m = escalation_configs::Model {
            id: existing.map_or_else(Uuid::now_v7, |e| e.id),
            agent_id: self.agent_id,
            enabled: self.enabled,
            forwarding_numbers: Value::from(forwarding),
            transfer_mode: validate::one_of(
                "transfer_mode",
                &self.transfer_mode,
                validate::TRANSFER_MODES,
            )?,
            operator_email: self
                .operator_email
                .map(|e| validate::email("operator_email", &e))
                .transpose()?,
            business_hours: self
                .business_hours
                .filter(|v| !v.is_null())
                .map(|v| validate::business_hours("business_hours", &v))
                .transpose()?,
            timezone: self
                .timezone
                .map(|tz| validate::timezone("timezone", &tz))
                .transpose()?,
            share_summary: self.share_summary,
            share_transcript: self.share_transcript,
            trigger_settings: validate::object("trigger_settings", self.trigger_settings)?,
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: existing.map_or(now, |e| e.updated_at),
        };
        if agents::Entity::find_by_id(m.agent_id)
            .one(db)
            .await?
            .is_none()
        {
            return Err(AdminError::invalid(
                "agent_id",
                format!("no agent with id {}", m.agent_id),
            ));
        }
        Ok(m)
    }
}

pub(crate) fn conflict(m: &escalation_configs::Model) -> impl FnOnce() -> String + use<> {
    let agent = m.agent_id;
    move || format!("agent {agent} already has an escalation config; update that one")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EscalationConfigFilter {
    agent_id: Option<String>,
    /// `true` or `false`.
    enabled: Option<String>,
    /// Page size, 1–500 (default 100).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationConfigList {
    pub escalation_configs: Vec<EscalationConfigOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists escalation configs, oldest first.
#[utoipa::path(get, path = "/admin/v1/escalation-configs", operation_id = "list_escalation_configs", tag = "tenants", params(EscalationConfigFilter),
    responses((status = 200, description = "One page of escalation configs, filtered", body = EscalationConfigList), (status = 422, description = "A filter value we do not accept; `error.field` names the query parameter", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AdminQuery(f): AdminQuery<EscalationConfigFilter>,
) -> Result<Json<EscalationConfigList>, AdminError> {
    let mut select = escalation_configs::Entity::find();
    if let Some(agent_id) = param("agent_id", f.agent_id.as_deref(), parse_uuid)? {
        select = select.filter(escalation_configs::Column::AgentId.eq(agent_id));
    }
    if let Some(enabled) = param("enabled", f.enabled.as_deref(), parse_bool)? {
        select = select.filter(escalation_configs::Column::Enabled.eq(enabled));
    }
    let page = page::fetch(
        &state.db,
        select,
        (
            escalation_configs::Column::CreatedAt,
            escalation_configs::Column::Id,
        ),
        Order::Asc,
        page::cursor(f.cursor.as_deref())?,
        page::limit(f.limit.as_deref(), 100, 500)?,
        |m| page::Cursor {
            at: m.created_at,
            id: m.id,
        },
    )
    .await?;
    Ok(Json(EscalationConfigList {
        escalation_configs: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/admin/v1/escalation-configs", operation_id = "create_escalation_config", tag = "tenants",
    request_body = EscalationConfigInput,
    responses((status = 201, description = "The escalation config, created", body = EscalationConfigOut),
        (status = 409, description = "The agent already has one", body = ErrorBody),
        (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    AdminJson(input): AdminJson<EscalationConfigInput>,
) -> Result<(StatusCode, Json<EscalationConfigOut>), AdminError> {
    let model = input.into_model(&state.db, None).await?;
    let id = model.id;
    let reason = conflict(&model);
    insert::<escalation_configs::ActiveModel>(&state.db, model)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    let stored = find::<escalation_configs::Entity>(&state.db, id, "escalation config").await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

#[utoipa::path(get, path = "/admin/v1/escalation-configs/{id}", operation_id = "get_escalation_config", tag = "tenants",
    params(("id" = Uuid, Path, description = "Escalation config id")),
    responses((status = 200, description = "The escalation config", body = EscalationConfigOut), (status = 404, description = "No escalation config with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn read(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<EscalationConfigOut>, AdminError> {
    Ok(Json(
        find::<escalation_configs::Entity>(&state.db, id, "escalation config")
            .await?
            .into(),
    ))
}

/// Changes the fields given (JSON merge patch over `EscalationConfigInput`).
#[utoipa::path(patch, path = "/admin/v1/escalation-configs/{id}", operation_id = "update_escalation_config", tag = "tenants",
    params(("id" = Uuid, Path, description = "Escalation config id")),
    request_body(content = Object, description = "JSON merge patch over EscalationConfigInput, e.g. {\"enabled\": true}"),
    responses((status = 200, description = "The escalation config, changed", body = EscalationConfigOut), (status = 404, description = "No escalation config with this id", body = ErrorBody),
        (status = 409, description = "The agent already has an escalation config", body = ErrorBody), (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn update(
    State(state): State<AppState>,
    PathId(id): PathId,
    AdminJson(patch): AdminJson<Value>,
) -> Result<Json<EscalationConfigOut>, AdminError> {
    let old = find::<escalation_configs::Entity>(&state.db, id, "escalation config").await?;
    let new = merge_patch(&EscalationConfigInput::of(&old), patch)?
        .into_model(&state.db, Some(&old))
        .await?;
    let reason = conflict(&new);
    let (stored, _) = save_changes::<escalation_configs::ActiveModel>(&state.db, old, new)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    Ok(Json(stored.into()))
}

/// Sets `enabled = false`: calls of the agent are no longer handed to a human.
#[utoipa::path(post, path = "/admin/v1/escalation-configs/{id}/deactivate", operation_id = "deactivate_escalation_config", tag = "tenants",
    params(("id" = Uuid, Path, description = "Escalation config id")),
    responses((status = 200, description = "The escalation config, now inactive", body = EscalationConfigOut), (status = 404, description = "No escalation config with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<EscalationConfigOut>, AdminError> {
    let old = find::<escalation_configs::Entity>(&state.db, id, "escalation config").await?;
    let new = escalation_configs::Model {
        enabled: false,
        ..old.clone()
    };
    let (stored, _) = save_changes::<escalation_configs::ActiveModel>(&state.db, old, new).await?;
    Ok(Json(stored.into()))
}
