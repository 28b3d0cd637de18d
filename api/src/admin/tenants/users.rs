//! `/admin/v1/users`: account owners, who hold the prepaid credit balance. The balance itself
//! changes only through the ledger (`POST /admin/v1/users/{id}/credits`).

use super::{default_true, find, insert, merge_patch, parse_bool, save_changes};
use crate::admin::error::{AdminError, ErrorBody};
use crate::admin::extract::{AdminJson, AdminQuery, PathId, param};
use crate::admin::{page, validate};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callsaga_entity::users;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A user as created (the `POST` body); `PATCH` merges into this shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Unique; stored lower-case.
    pub email: String,
    pub name: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[serde(default = "utc")]
    #[schema(default = "UTC")]
    pub timezone: String,
    /// Language tag for emails, e.g. `en`, `de-DE`.
    #[serde(default = "en")]
    #[schema(default = "en")]
    pub locale: String,
    /// How far below zero the balance may go before calls are no longer covered.
    #[serde(default)]
    pub grace_credits_limit: i64,
    /// Below this balance the owner gets one low-balance email.
    #[serde(default)]
    pub low_balance_threshold: i64,
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub active: bool,
    /// Calls of this user's agents in progress at once at most (0–10000); absent or null: no
    /// cap. Over it, a call hears "all lines busy" or goes to `fallback_number`.
    #[serde(default)]
    pub max_concurrent_calls: Option<i32>,
    /// E.164 number a call refused at the door for credits or the cap is forwarded to (a
    /// deactivated user's calls are not).
    #[serde(default)]
    pub fallback_number: Option<String>,
    /// Balance plus grace credits left a call needs to be taken; absent or null: the
    /// `admission.min_credits` setting (by default one billing unit).
    #[serde(default)]
    pub min_call_credits: Option<i64>,
}

/// The highest concurrent-call cap accepted (a typo, not a real tenant, above it).
const MAX_CONCURRENT_CALLS: i32 = 10_000;

fn utc() -> String {
    "UTC".into()
}

fn en() -> String {
    "en".into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub timezone: String,
    pub locale: String,
    /// Current balance in credits (negative while grace credits are used).
    pub credit_balance: i64,
    pub grace_credits_used: i64,
    pub grace_credits_limit: i64,
    pub low_balance_threshold: i64,
    pub low_balance_notified: bool,
    pub active: bool,
    pub max_concurrent_calls: Option<i32>,
    pub fallback_number: Option<String>,
    pub min_call_credits: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<users::Model> for UserOut {
    fn from(m: users::Model) -> Self {
        Self {
            id: m.id,
            email: m.email,
            name: m.name,
            timezone: m.timezone,
            locale: m.locale,
            credit_balance: m.credit_balance,
            grace_credits_used: m.grace_credits_used,
            grace_credits_limit: m.grace_credits_limit,
            low_balance_threshold: m.low_balance_threshold,
            low_balance_notified: m.low_balance_notified,
            active: m.active,
            max_concurrent_calls: m.max_concurrent_calls,
            fallback_number: m.fallback_number,
            min_call_credits: m.min_call_credits,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl UserInput {
    pub(crate) fn of(m: &users::Model) -> Self {
        Self {
            email: m.email.clone(),
            name: m.name.clone(),
            timezone: m.timezone.clone(),
            locale: m.locale.clone(),
            grace_credits_limit: m.grace_credits_limit,
            low_balance_threshold: m.low_balance_threshold,
            active: m.active,
            max_concurrent_calls: m.max_concurrent_calls,
            fallback_number: m.fallback_number.clone(),
            min_call_credits: m.min_call_credits,
        }
    }

    /// Validates into the row: over `existing` for an update, else a new user with a zero
    /// balance.
    pub(crate) fn into_model(
        self,
        existing: Option<&users::Model>,
    ) -> Result<users::Model, AdminError> {
        let now = Utc::now();
        let mut m = existing.cloned().unwrap_or(users::Model {
            id: Uuid::now_v7(),
            email: String::new(),
            name: String::new(),
            credit_balance: 0,
            grace_credits_used: 0,
            grace_credits_limit: 0,
            low_balance_threshold: 0,
            low_balance_notified: false,
            timezone: String::new(),
            locale: String::new(),
            active: true,
            max_concurrent_calls: None,
            fallback_number: None,
            min_call_credits: None,
            created_at: now,
            updated_at: now,
        });
        m.email = validate::email("email", &self.email)?;
        m.name = validate::text("name", &self.name, 200)?;
        m.timezone = validate::timezone("timezone", &self.timezone)?;
        m.locale = validate::language("locale", &self.locale)?;
        m.grace_credits_limit =
            validate::non_negative("grace_credits_limit", self.grace_credits_limit)?;
        m.low_balance_threshold =
            validate::non_negative("low_balance_threshold", self.low_balance_threshold)?;
        m.active = self.active;
        m.max_concurrent_calls = match self.max_concurrent_calls {
            Some(cap) if !(0..=MAX_CONCURRENT_CALLS).contains(&cap) => {
                return Err(AdminError::invalid(
                    "max_concurrent_calls",
                    format!("must be between 0 and {MAX_CONCURRENT_CALLS}, or null for no cap"),
                ));
            }
            cap => cap,
        };
        m.fallback_number = self
            .fallback_number
            .as_deref()
            .map(|n| validate::e164("fallback_number", n))
            .transpose()?;
        m.min_call_credits = self
            .min_call_credits
            .map(|c| validate::non_negative("min_call_credits", c))
            .transpose()?;
        Ok(m)
    }
}

pub(crate) fn conflict(m: &users::Model) -> impl FnOnce() -> String + use<> {
    let email = m.email.clone();
    move || format!("a user with email {email:?} already exists")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserFilter {
    /// Exact email address.
    email: Option<String>,
    /// `true` or `false`.
    active: Option<String>,
    /// Page size, 1–500 (default 100).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists users, oldest first.
#[utoipa::path(get, path = "/admin/v1/users", operation_id = "list_users", tag = "tenants", params(UserFilter),
    responses((status = 200, description = "One page of users, filtered", body = UserList), (status = 422, description = "A filter value we do not accept; `error.field` names the query parameter", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AdminQuery(f): AdminQuery<UserFilter>,
) -> Result<Json<UserList>, AdminError> {
    let mut select = users::Entity::find();
    if let Some(email) = f.email.as_deref().filter(|e| !e.trim().is_empty()) {
        select = select.filter(users::Column::Email.eq(email.trim().to_ascii_lowercase()));
    }
    if let Some(active) = param("active", f.active.as_deref(), parse_bool)? {
        select = select.filter(users::Column::Active.eq(active));
    }
    let page = page::fetch(
        &state.db,
        select,
        (users::Column::CreatedAt, users::Column::Id),
        Order::Asc,
        page::cursor(f.cursor.as_deref())?,
        page::limit(f.limit.as_deref(), 100, 500)?,
        |m| page::Cursor {
            at: m.created_at,
            id: m.id,
        },
    )
    .await?;
    Ok(Json(UserList {
        users: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a user with a zero balance.
#[utoipa::path(post, path = "/admin/v1/users", operation_id = "create_user", tag = "tenants", request_body = UserInput,
    responses((status = 201, description = "The user, created", body = UserOut), (status = 409, description = "Email taken", body = ErrorBody),
        (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    AdminJson(input): AdminJson<UserInput>,
) -> Result<(StatusCode, Json<UserOut>), AdminError> {
    let model = input.into_model(None)?;
    let id = model.id;
    let reason = conflict(&model);
    insert::<users::ActiveModel>(&state.db, model)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    let stored = find::<users::Entity>(&state.db, id, "user").await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

#[utoipa::path(get, path = "/admin/v1/users/{id}", operation_id = "get_user", tag = "tenants",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = UserOut), (status = 404, description = "No user with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn read(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<UserOut>, AdminError> {
    Ok(Json(
        find::<users::Entity>(&state.db, id, "user").await?.into(),
    ))
}

/// Changes the fields given (JSON merge patch over `UserInput`).
#[utoipa::path(patch, path = "/admin/v1/users/{id}", operation_id = "update_user", tag = "tenants",
    params(("id" = Uuid, Path, description = "User id")),
    request_body(content = Object, description = "JSON merge patch over UserInput, e.g. {\"name\": \"New name\"}"),
    responses((status = 200, description = "The user, changed", body = UserOut), (status = 404, description = "No user with this id", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody), (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn update(
    State(state): State<AppState>,
    PathId(id): PathId,
    AdminJson(patch): AdminJson<Value>,
) -> Result<Json<UserOut>, AdminError> {
    let old = find::<users::Entity>(&state.db, id, "user").await?;
    let new = merge_patch(&UserInput::of(&old), patch)?.into_model(Some(&old))?;
    let reason = conflict(&new);
    let (stored, _) = save_changes::<users::ActiveModel>(&state.db, old, new)
        .await
        .map_err(|e| AdminError::from_write(e, reason))?;
    Ok(Json(stored.into()))
}

/// Sets `active = false`. Idempotent.
#[utoipa::path(post, path = "/admin/v1/users/{id}/deactivate", operation_id = "deactivate_user", tag = "tenants",
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user, now inactive", body = UserOut), (status = 404, description = "No user with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    PathId(id): PathId,
) -> Result<Json<UserOut>, AdminError> {
    let old = find::<users::Entity>(&state.db, id, "user").await?;
    let new = users::Model {
        active: false,
        ..old.clone()
    };
    let (stored, _) = save_changes::<users::ActiveModel>(&state.db, old, new).await?;
    Ok(Json(stored.into()))
}
