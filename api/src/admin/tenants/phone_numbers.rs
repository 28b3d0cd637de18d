//! `/admin/v1/phone-numbers`: Vapi phone numbers routed to an agent.

use super::{default_true, find, insert, merge_patch, parse_bool, parse_uuid, save_changes};
use crate::admin::error::{AdminError, ErrorBody};
use crate::admin::extract::{AdminJson, AdminQuery, PathId, param};
use crate::admin::{page, validate};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callsaga_entity::{agents, phone_numbers};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A phone number as created (the `POST` body); `PATCH` merges into this shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneNumberInput {
    /// The Vapi phone-number id; unique.
    pub vapi_phone_number_id: String,
    /// The agent that answers it.
    pub agent_id: Uuid,
    /// E.164, e.g. `+4930123456789`.
    pub number: String,
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneNumberOut {
    pub id: Uuid,
    pub vapi_phone_number_id: String,
    pub agent_id: Uuid,
    pub number: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<phone_numbers::Model> for PhoneNumberOut {
    fn from(m: phone_numbers::Model) -> Self {
        Self {
            id: m.id,
            vapi_phone_number_id: m.vapi_phone_number_id,
            agent_id: m.agent_id,
            number: m.number,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl PhoneNumberInput {
    pub(crate) fn of(m: &phone_numbers::Model) -> Self {
        Self {
            vapi_phone_number_id: m.vapi_phone_number_id.clone(),
            agent_id: m.agent_id,
            number: m.number.clone(),
            active: m.active,
        }
    }

    /// Validates into the row: over `existing` for an update, else a new number.
    pub(crate) async fn into_model(
        self,
        db: &impl ConnectionTrait,
        existing: Option<&phone_numbers::Model>,
    ) -> Result<phone_numbers::Model, AdminError> {
        let now = Utc::now();
        let m = phone_numbers::Model {
            id: existing.map_or_else(Uuid::now_v7, |e| e.id),
            vapi_phone_number_id: validate::identifier(
                "vapi_phone_number_id",
                &self.vapi_phone_number_id,
            )?,
            agent_id: self.agent_id,
            number: validate::e164("number", &self.number)?,
            active: self.active,
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

pub(crate) fn conflict(m: &phone_numbers::Model) -> impl FnOnce() -> String + use<> {
    let id = m.vapi_phone_number_id.clone();
    move || format!("vapi_phone_number_id {id:?} is already used by another phone number")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PhoneNumberFilter {
    agent_id: Option<String>,
    /// `true` or `false`.
    active: Option<String>,
    /// Page size, 1–500 (default 100).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneNumberList {
    pub phone_numbers: Vec<PhoneNumberOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists phone numbers, oldest first.
#[utoipa::path(get, path = "/admin/v1/phone-numbers", operation_id = "list_phone_numbers", tag = "tenants", params(PhoneNumberFilter),
    responses((status = 200, description = "One page of phone numbers, filtered", body = PhoneNumberList), (status = 422, description = "A filter value we do not accept; `error.field` names the query parameter", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AdminQuery(f): AdminQuery<PhoneNumberFilter>,
) -> Result<Json<PhoneNumberList>, AdminError> {
    let mut select = phone_numbers::Entity::find();
    if let Some(agent_id) = param("agent_id", f.agent_id.as_deref(), parse_uuid)? {
        select = select.filter(phone_numbers::Column::AgentId.eq(agent_id));
    }
    if let Some(active) = param("active", f.active.as_deref(), parse_bool)? {
        select = select.filter(phone_numbers::Column::Active.eq(active));
    }
    let page = page::fetch(
        &state.db,
        select,
        (phone_numbers::Column::CreatedAt, phone_numbers::Column::Id),
        Order::Asc,
        page::cursor(f.cursor.as_deref())?,
        page::limit(f.limit.as_deref(), 100, 500)?,
        |m| page::Cursor {
            at: m.created_at,
            id: m.id,
        },
    )
    .await?;
    Ok(Json(PhoneNumberList {
        phone_numbers: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/admin/v1/phone-numbers", operation_id = "create_phone_number", tag = "tenants", request_body = PhoneNumberInput,
    responses((status = 201, description = "The phone number, created", body = PhoneNumberOut),
        (status = 409, description = "The Vapi phone-number id is taken", body = ErrorBody),
        (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    AdminJson(input): AdminJson<PhoneNumberInput>,
) -> Result<(StatusCode, Json<PhoneNumberOut>), AdminError> {
    let model = input.into_model(&state.db, None).await?;
    let id = model.id;
    let reason = conflict(&model);
    insert::<phone_numbers::ActiveModel>(&state.db, model)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    let stored = find::<phone_numbers::Entity>(&state.db, id, "phone number").await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

#[utoipa::path(get, path = "/admin/v1/phone-numbers/{id}", operation_id = "get_phone_number", tag = "tenants",
    params(("id" = Uuid, Path, description = "Phone number id (ours, not Vapi's)")),
    responses((status = 200, description = "The phone number", body = PhoneNumberOut), (status = 404, description = "No phone number with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn read(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<PhoneNumberOut>, AdminError> {
    Ok(Json(
        find::<phone_numbers::Entity>(&state.db, id, "phone number")
            .await?
            .into(),
    ))
}

/// Changes the fields given (JSON merge patch over `PhoneNumberInput`).
#[utoipa::path(patch, path = "/admin/v1/phone-numbers/{id}", operation_id = "update_phone_number", tag = "tenants",
    params(("id" = Uuid, Path, description = "Phone number id")),
    request_body(content = Object, description = "JSON merge patch over PhoneNumberInput, e.g. {\"agent_id\": \"…\"}"),
    responses((status = 200, description = "The phone number, changed", body = PhoneNumberOut), (status = 404, description = "No phone number with this id", body = ErrorBody),
        (status = 409, description = "The Vapi phone-number id is taken", body = ErrorBody), (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn update(
    State(state): State<AppState>,
    PathId(id): PathId,
    AdminJson(patch): AdminJson<Value>,
) -> Result<Json<PhoneNumberOut>, AdminError> {
    let old = find::<phone_numbers::Entity>(&state.db, id, "phone number").await?;
    let new = merge_patch(&PhoneNumberInput::of(&old), patch)?
        .into_model(&state.db, Some(&old))
        .await?;
    let reason = conflict(&new);
    let (stored, _) = save_changes::<phone_numbers::ActiveModel>(&state.db, old, new)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    Ok(Json(stored.into()))
}

/// Sets `active = false`: the number no longer routes to its agent.
#[utoipa::path(post, path = "/admin/v1/phone-numbers/{id}/deactivate", operation_id = "deactivate_phone_number", tag = "tenants",
    params(("id" = Uuid, Path, description = "Phone number id")),
    responses((status = 200, description = "The phone number, now inactive", body = PhoneNumberOut), (status = 404, description = "No phone number with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<PhoneNumberOut>, AdminError> {
    let old = find::<phone_numbers::Entity>(&state.db, id, "phone number").await?;
    let new = phone_numbers::Model {
        active: false,
        ..old.clone()
    };
    let (stored, _) = save_changes::<phone_numbers::ActiveModel>(&state.db, old, new).await?;
    Ok(Json(stored.into()))
}
