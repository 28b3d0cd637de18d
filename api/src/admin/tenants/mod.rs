//! Tenant configuration: users, agents, phone numbers and escalation configs. Every resource
//! has the same operations:
//!
//! - `GET    /admin/v1/<resource>?…&limit=&cursor=`: list, oldest first, paginated;
//! - `POST   /admin/v1/<resource>`: create (201);
//! - `GET    /admin/v1/<resource>/{id}`: read;
//! - `PATCH  /admin/v1/<resource>/{id}`: update with a JSON merge patch (RFC 7396) over the
//!   create shape: only the fields given change, `null` resets an optional field;
//! - `POST   /admin/v1/<resource>/{id}/deactivate`: `active = false` (`enabled = false` for an
//!   escalation config); `PATCH {"active": true}` re-activates.
//!
//! Every write is validated like the create body (one `into_model` per resource), and goes to
//! the database only: the webhook path reads agents from the database on every call (no
//! cache), so a change applies to the next call without a restart.

pub mod agents;
pub mod escalation_configs;
pub mod phone_numbers;
pub mod seed;
pub mod users;

use super::error::AdminError;
use super::extract::from_value;
use crate::state::AppState;
use chrono::Utc;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, ModelTrait, PrimaryKeyTrait,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::read, users::update))
        .routes(routes!(users::deactivate))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::read, agents::update))
        .routes(routes!(agents::deactivate))
        .routes(routes!(phone_numbers::list, phone_numbers::create))
        .routes(routes!(phone_numbers::read, phone_numbers::update))
        .routes(routes!(phone_numbers::deactivate))
        .routes(routes!(
            escalation_configs::list,
            escalation_configs::create
        ))
        .routes(routes!(
            escalation_configs::read,
            escalation_configs::update
        ))
        .routes(routes!(escalation_configs::deactivate))
}

type ModelOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

/// Loads a row by id, or answers 404 naming `what`.
pub(crate) async fn find<E>(
    db: &impl ConnectionTrait,
    id: Uuid,
    what: &str,
) -> Result<E::Model, AdminError>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    E::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AdminError::not_found(format!("no {what} with id {id}")))
}

/// Applies a JSON merge patch (RFC 7396) to `base`, the resource's create shape, and parses
/// the result like a create body (unknown fields rejected, types checked).
pub(crate) fn merge_patch<I: Serialize + DeserializeOwned>(
    base: &I,
    patch: Value,
) -> Result<I, AdminError> {
    if !patch.is_object() {
        return Err(AdminError::invalid(
            "body",
            "a PATCH body must be a JSON object of the fields to change",
        ));
    }
    let mut doc = serde_json::to_value(base)
        .map_err(|e| AdminError::Api(anyhow::Error::new(e).context("serialize").into()))?;
    merge(&mut doc, patch);
    from_value(doc, "")
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

/// Inserts `model` with every column set.
pub(crate) async fn insert<A>(db: &impl ConnectionTrait, model: ModelOf<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    ModelOf<A>: IntoActiveModel<A>,
{
    A::Entity::insert(model.into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes the columns of `new` that differ from `old` (and then `updated_at`); returns the row
/// as stored and whether anything changed. Columns nobody changed are not written, so a
/// concurrent ledger movement's balance is never overwritten with a stale one.
pub(crate) async fn save_changes<A>(
    db: &impl ConnectionTrait,
    old: ModelOf<A>,
    new: ModelOf<A>,
) -> Result<(ModelOf<A>, bool), DbErr>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    ModelOf<A>: IntoActiveModel<A> + ModelTrait<Entity = A::Entity> + Clone,
{
    let mut am = old.clone().into_active_model();
    let mut changed = false;
    let mut updated_at = None;
    for c in <<A::Entity as EntityTrait>::Column as Iterable>::iter() {
        if c.as_str() == "updated_at" {
            updated_at = Some(c);
            continue;
        }
        let value = new.get(c);
        if value != old.get(c) {
            am.set(c, value);
            changed = true;
        }
    }
    if !changed {
        return Ok((old, false));
    }
    if let Some(c) = updated_at {
        am.set(c, Utc::now().into());
    }
    Ok((am.update(db).await?, true))
}

/// Parses `true`/`false` query values.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("must be true or false, got {s:?}")),
    }
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, String> {
    Uuid::parse_str(s).map_err(|_| format!("must be a UUID, got {s:?}"))
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge(
            &mut doc,
            json!({"a": null, "b": {"c": 5, "d": null}, "e": [2], "f": "x"}),
        );
        assert_eq!(doc, json!({"b": {"c": 5}, "e": [2], "f": "x"}));
    }
}
