//! `/admin/v1/agents`: a Vapi assistant configured for a user's business. The CalDAV password
//! in `calendar_config` is never returned (it reads `********`; sending that back keeps it).

use super::{default_true, find, insert, merge_patch, parse_bool, parse_uuid, save_changes};
use crate::admin::error::{AdminError, ErrorBody};
use crate::admin::extract::{AdminJson, AdminQuery, PathId, param};
use crate::admin::{page, validate};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callsaga_entity::{agents, users};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An agent as created (the `POST` body); `PATCH` merges into this shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    /// The owning user.
    pub user_id: Uuid,
    pub name: String,
    /// The Vapi assistant id; unique.
    pub vapi_assistant_id: String,
    pub business_name: String,
    /// The assistant's first sentence.
    pub greeting: String,
    pub system_prompt: String,
    /// Vapi voice object, passed through, e.g. `{"provider":"vapi","voiceId":"Elliot"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub voice: Option<Value>,
    /// Language tag, e.g. `en`, `de`, `de-DE`.
    #[serde(default = "en")]
    #[schema(default = "en")]
    pub language: String,
    /// IANA time zone of the business, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// 5 to 480.
    #[serde(default = "thirty")]
    #[schema(default = 30, minimum = 5, maximum = 480)]
    pub appointment_duration_minutes: i32,
    /// `{"mon":[["09:00","17:00"]], …, "sun":[]}`; a missing day is closed.
    #[schema(value_type = Object)]
    pub business_hours: Value,
    /// `embedded`, `caldav` or `none`.
    #[serde(default = "embedded")]
    #[schema(default = "embedded")]
    pub calendar_provider: String,
    /// For `caldav`: `{"url": "https://…", "username": "…", "password": "…", "timeout_ms": 5000}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub calendar_config: Option<Value>,
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub active: bool,
}

fn en() -> String {
    "en".into()
}

fn thirty() -> i32 {
    30
}

fn embedded() -> String {
    "embedded".into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentOut {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub vapi_assistant_id: String,
    pub business_name: String,
    pub greeting: String,
    pub system_prompt: String,
    #[schema(value_type = Option<Object>)]
    pub voice: Option<Value>,
    pub language: String,
    pub timezone: String,
    pub appointment_duration_minutes: i32,
    #[schema(value_type = Object)]
    pub business_hours: Value,
    pub calendar_provider: String,
    /// The password, when set, reads `********`.
    #[schema(value_type = Option<Object>)]
    pub calendar_config: Option<Value>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<agents::Model> for AgentOut {
    fn from(m: agents::Model) -> Self {
        Self {
            calendar_config: validate::mask_calendar_config(m.calendar_config.as_ref()),
            id: m.id,
            user_id: m.user_id,
            name: m.name,
            vapi_assistant_id: m.vapi_assistant_id,
            business_name: m.business_name,
            greeting: m.greeting,
            system_prompt: m.system_prompt,
            voice: m.voice,
            language: m.language,
            timezone: m.timezone,
            appointment_duration_minutes: m.appointment_duration_minutes,
            business_hours: m.business_hours,
            calendar_provider: m.calendar_provider,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl AgentInput {
    /// The stored agent in its input shape (with the real password: never returned).
    pub(crate) fn of(m: &agents::Model) -> Self {
        Self {
            user_id: m.user_id,
            name: m.name.clone(),
            vapi_assistant_id: m.vapi_assistant_id.clone(),
            business_name: m.business_name.clone(),
            greeting: m.greeting.clone(),
            system_prompt: m.system_prompt.clone(),
            voice: m.voice.clone(),
            language: m.language.clone(),
            timezone: m.timezone.clone(),
            appointment_duration_minutes: m.appointment_duration_minutes,
            business_hours: m.business_hours.clone(),
            calendar_provider: m.calendar_provider.clone(),
            calendar_config: m.calendar_config.clone(),
            active: m.active,
        }
    }

    /// Validates into the row: over `existing` for an update, else a new agent.
    pub(crate) async fn into_model(
        self,
        db: &impl ConnectionTrait,
        existing: Option<&agents::Model>,
        policy: &callsaga_activities::calendar::CalDavPolicy,
    ) -> Result<agents::Model, AdminError> {
        let mut config = self.calendar_config;
        validate::unmask_calendar_config(
            &mut config,
            existing.and_then(|e| e.calendar_config.as_ref()),
        );
        let (calendar_provider, calendar_config) =
            validate::calendar(&self.calendar_provider, config, policy)?;
        let now = Utc::now();
        let m = agents::Model {
            id: existing.map_or_else(Uuid::now_v7, |e| e.id),
            user_id: self.user_id,
            name: validate::text("name", &self.name, 200)?,
            vapi_assistant_id: validate::identifier("vapi_assistant_id", &self.vapi_assistant_id)?,
            business_name: validate::text("business_name", &self.business_name, 200)?,
            greeting: validate::text("greeting", &self.greeting, 2_000)?,
            system_prompt: validate::text("system_prompt", &self.system_prompt, 50_000)?,
            voice: validate::object("voice", self.voice)?,
            language: validate::language("language", &self.language)?,
            timezone: validate::timezone("timezone", &self.timezone)?,
            appointment_duration_minutes: validate::appointment_duration(
                "appointment_duration_minutes",
                self.appointment_duration_minutes,
            )?,
            business_hours: validate::business_hours("business_hours", &self.business_hours)?,
            calendar_provider,
            calendar_config,
            active: self.active,
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: existing.map_or(now, |e| e.updated_at),
        };
        if users::Entity::find_by_id(m.user_id)
            .one(db)
            .await?
            .is_none()
        {
            return Err(AdminError::invalid(
                "user_id",
                format!("no user with id {}", m.user_id),
            ));
        }
        Ok(m)
    }
}

pub(crate) fn conflict(m: &agents::Model) -> impl FnOnce() -> String + use<> {
    let id = m.vapi_assistant_id.clone();
    move || format!("vapi_assistant_id {id:?} is already used by another agent")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AgentFilter {
    user_id: Option<String>,
    vapi_assistant_id: Option<String>,
    /// `true` or `false`.
    active: Option<String>,
    /// Page size, 1–500 (default 100).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists agents, oldest first.
#[utoipa::path(get, path = "/admin/v1/agents", operation_id = "list_agents", tag = "tenants", params(AgentFilter),
    responses((status = 200, description = "One page of agents, filtered", body = AgentList), (status = 422, description = "A filter value we do not accept; `error.field` names the query parameter", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AdminQuery(f): AdminQuery<AgentFilter>,
) -> Result<Json<AgentList>, AdminError> {
    let mut select = agents::Entity::find();
    if let Some(user_id) = param("user_id", f.user_id.as_deref(), parse_uuid)? {
        select = select.filter(agents::Column::UserId.eq(user_id));
    }
    if let Some(id) = f
        .vapi_assistant_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        select = select.filter(agents::Column::VapiAssistantId.eq(id.trim()));
    }
    if let Some(active) = param("active", f.active.as_deref(), parse_bool)? {
        select = select.filter(agents::Column::Active.eq(active));
    }
    let page = page::fetch(
        &state.db,
        select,
        (agents::Column::CreatedAt, agents::Column::Id),
        Order::Asc,
        page::cursor(f.cursor.as_deref())?,
        page::limit(f.limit.as_deref(), 100, 500)?,
        |m| page::Cursor {
            at: m.created_at,
            id: m.id,
        },
    )
    .await?;
    Ok(Json(AgentList {
        agents: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/admin/v1/agents", operation_id = "create_agent", tag = "tenants", request_body = AgentInput,
    responses((status = 201, description = "The agent, created", body = AgentOut),
        (status = 409, description = "The Vapi assistant id is taken", body = ErrorBody),
        (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    AdminJson(input): AdminJson<AgentInput>,
) -> Result<(StatusCode, Json<AgentOut>), AdminError> {
    let model = input
        .into_model(&state.db, None, &state.settings.calendar)
        .await?;
    let id = model.id;
    let reason = conflict(&model);
    insert::<agents::ActiveModel>(&state.db, model)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    let stored = find::<agents::Entity>(&state.db, id, "agent").await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

#[utoipa::path(get, path = "/admin/v1/agents/{id}", operation_id = "get_agent", tag = "tenants",
    params(("id" = Uuid, Path, description = "Agent id")),
    responses((status = 200, description = "The agent", body = AgentOut), (status = 404, description = "No agent with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn read(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<AgentOut>, AdminError> {
    Ok(Json(
        find::<agents::Entity>(&state.db, id, "agent").await?.into(),
    ))
}

/// Changes the fields given (JSON merge patch over `AgentInput`); `{"active": true}`
/// re-activates. Applies to the next call.
#[utoipa::path(patch, path = "/admin/v1/agents/{id}", operation_id = "update_agent", tag = "tenants",
    params(("id" = Uuid, Path, description = "Agent id")),
    request_body(content = Object, description = "JSON merge patch over AgentInput, e.g. {\"greeting\": \"Hi!\"}"),
    responses((status = 200, description = "The agent, changed", body = AgentOut), (status = 404, description = "No agent with this id", body = ErrorBody),
        (status = 409, description = "The Vapi assistant id is taken", body = ErrorBody), (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn update(
    State(state): State<AppState>,
    PathId(id): PathId,
    AdminJson(patch): AdminJson<Value>,
) -> Result<Json<AgentOut>, AdminError> {
    let old = find::<agents::Entity>(&state.db, id, "agent").await?;
    let new = merge_patch(&AgentInput::of(&old), patch)?
        .into_model(&state.db, Some(&old), &state.settings.calendar)
        .await?;
    let reason = conflict(&new);
    let (stored, _) = save_changes::<agents::ActiveModel>(&state.db, old, new)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    Ok(Json(stored.into()))
}

/// Sets `active = false`: from the next call on, the agent's number answers "not set up".
#[utoipa::path(post, path = "/admin/v1/agents/{id}/deactivate", operation_id = "deactivate_agent", tag = "tenants",
    params(("id" = Uuid, Path, description = "Agent id")),
    responses((status = 200, description = "The agent, now inactive", body = AgentOut), (status = 404, description = "No agent with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<AgentOut>, AdminError> {
    let old = find::<agents::Entity>(&state.db, id, "agent").await?;
    let new = agents::Model {
        active: false,
        ..old.clone()
    };
    let (stored, _) = save_changes::<agents::ActiveModel>(&state.db, old, new).await?;
    Ok(Json(stored.into()))
}
