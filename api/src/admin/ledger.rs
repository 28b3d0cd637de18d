//! A user's credits: the ledger with its running balance, and idempotent top-ups through
//! [`callsaga_activities::ledger::top_up`] (one transaction with the balance).

use super::error::{AdminError, ErrorBody};
use super::extract::{AdminJson, AdminQuery, PathId};
use super::tenants::find;
use super::{page, validate};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use callsaga_activities::ledger::{self, LedgerError, MAX_AMOUNT, TopUp};
use callsaga_entity::{credit_ledger, users};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One credit movement.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub id: Uuid,
    /// `usage`, `topup`, `refund` or `adjustment`.
    pub kind: String,
    /// Signed: usage is negative.
    pub amount: i64,
    /// The running balance: the user's balance right after this entry.
    pub balance_after: i64,
    /// Grace credits this entry took (negative: repaid).
    pub grace_used: i64,
    pub call_id: Option<Uuid>,
    pub idempotency_key: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<credit_ledger::Model> for LedgerEntry {
    fn from(m: credit_ledger::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            amount: m.amount,
            balance_after: m.balance_after,
            grace_used: m.grace_used,
            call_id: m.call_id,
            idempotency_key: m.idempotency_key,
            note: m.note,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ledger {
    pub user_id: Uuid,
    /// The current balance.
    pub balance: i64,
    pub grace_credits_used: i64,
    /// Oldest first, in the order they were applied.
    pub entries: Vec<LedgerEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LedgerQuery {
    /// Page size, 1–1000 (default 200).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The user's ledger entries, oldest first, each with the balance after it.
#[utoipa::path(get, path = "/admin/v1/users/{id}/ledger", operation_id = "get_ledger", tag = "credits",
    params(("id" = Uuid, Path, description = "User id"), LedgerQuery),
    responses((status = 200, description = "The user's balance and ledger entries", body = Ledger), (status = 404, description = "No user with this id", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn entries(
    State(state): State<AppState>,
    PathId(user_id): PathId,
    AdminQuery(q): AdminQuery<LedgerQuery>,
) -> Result<Json<Ledger>, AdminError> {
    let user = find::<users::Entity>(&state.db, user_id, "user").await?;
    let page = page::fetch(
        &state.db,
        credit_ledger::Entity::find().filter(credit_ledger::Column::UserId.eq(user_id)),
        (credit_ledger::Column::CreatedAt, credit_ledger::Column::Id),
        Order::Asc,
        page::cursor(q.cursor.as_deref())?,
        page::limit(q.limit.as_deref(), 200, 1000)?,
        |m| page::Cursor {
            at: m.created_at,
            id: m.id,
        },
    )
    .await?;
    Ok(Json(Ledger {
        user_id,
        balance: user.credit_balance,
        grace_credits_used: user.grace_credits_used,
        entries: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A top-up request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpInput {
    /// Credits to add, 1 to 10^12.
    pub amount: i64,
    /// Your key for this top-up (e.g. the payment id): the same key again returns the first
    /// result and adds nothing. Scoped to the user.
    pub idempotency_key: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopUpOut {
    pub entry_id: Uuid,
    pub user_id: Uuid,
    pub amount: i64,
    /// The part of `amount` that repaid grace credits.
    pub grace_repaid: i64,
    pub balance_after: i64,
    /// The key was used before: this is the first result, nothing changed now.
    pub duplicate: bool,
}

/// Adds credits, idempotently: the same `idempotency_key` twice gives one ledger entry and the
/// same answer (200 both times).
#[utoipa::path(post, path = "/admin/v1/users/{id}/credits", operation_id = "top_up_credits", tag = "credits",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = TopUpInput,
    responses((status = 200, description = "The top-up, applied now or before under the same key", body = TopUpOut), (status = 404, description = "No user with this id", body = ErrorBody),
        (status = 409, description = "The key was used for a different top-up", body = ErrorBody),
        (status = 422, description = "A value we do not accept; `error.field` names it", body = ErrorBody)),
    security(("admin_token" = [])))]
pub(crate) async fn top_up(
    State(state): State<AppState>,
    PathId(user_id): PathId,
    AdminJson(input): AdminJson<TopUpInput>,
) -> Result<Json<TopUpOut>, AdminError> {
    if !(1..=MAX_AMOUNT).contains(&input.amount) {
        return Err(AdminError::invalid(
            "amount",
            format!(
                "must be between 1 and {MAX_AMOUNT} credits, got {}",
                input.amount
            ),
        ));
    }
    let key = validate::text("idempotency_key", &input.idempotency_key, 200)?;
    let note = input
        .note
        .filter(|n| !n.trim().is_empty())
        .map(|n| validate::text("note", &n, 1_000))
        .transpose()?;
    let outcome = ledger::top_up(
        &state.db,
        TopUp {
            user_id,
            amount: input.amount,
            // Scoped so an operator's key can never collide with the billing saga's keys.
            idempotency_key: format!("admin:topup:{user_id}:{key}"),
            note,
        },
    )
    .await
    .map_err(|e| match e {
        LedgerError::UserNotFound(id) => AdminError::not_found(format!("no user with id {id}")),
        LedgerError::Invalid(m) => AdminError::invalid("amount", m),
        LedgerError::KeyConflict { .. } => conflict(&key),
        e @ (LedgerError::CallNotFound(_) | LedgerError::Database(_)) => {
            AdminError::Api(ApiError::Internal(e.into()))
        }
        e @ LedgerError::Unavailable(_) => AdminError::Api(ApiError::Unavailable(e.into())),
    })?;
    if outcome.duplicate && outcome.amount != input.amount {
        return Err(AdminError::Conflict(format!(
            "idempotency_key {key:?} was already used for a top-up of {} credits",
            outcome.amount
        )));
    }
    Ok(Json(TopUpOut {
        entry_id: outcome.entry_id,
        user_id,
        amount: outcome.amount,
        grace_repaid: outcome.grace_repaid,
        balance_after: outcome.balance_after,
        duplicate: outcome.duplicate,
    }))
}

fn conflict(key: &str) -> AdminError {
    AdminError::Conflict(format!(
        "idempotency_key {key:?} was already used for a different ledger entry"
    ))
}
