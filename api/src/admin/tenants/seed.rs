//! `callsaga seed --file tenants.yaml`: users, their agents, each agent's phone numbers and
//! escalation config, in the admin API's shapes and with its validation (see
//! `tenants.example.yaml`). Idempotent: rows are upserted by their natural keys (user `email`,
//! agent `vapi_assistant_id`, phone `vapi_phone_number_id`, one escalation config per agent),
//! and `initial_credits` is granted once per user as a ledger top-up. The rows are written in
//! one transaction: an invalid file changes nothing.

use super::agents::AgentInput;
use super::escalation_configs::EscalationConfigInput;
use super::phone_numbers::PhoneNumberInput;
use super::users::UserInput;
use super::{insert, save_changes};
use crate::admin::error::AdminError;
use crate::admin::extract::from_value;
use crate::admin::validate;
use anyhow::Context;
use callsaga_activities::calendar::CalDavPolicy;
use callsaga_activities::ledger::{self, MAX_AMOUNT, TopUp};
use callsaga_entity::{agents, escalation_configs, phone_numbers, users};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, ModelTrait, QueryFilter,
};
use serde_json::{Map, Value};
use uuid::Uuid;

/// What a seed run did, row by row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// Users whose `initial_credits` were granted by this run.
    pub credits_granted: u32,
}

/// Applies a tenants document (YAML, or JSON, which is YAML too).
pub async fn apply_yaml(db: &DatabaseConnection, text: &str) -> anyhow::Result<SeedReport> {
    let doc: Value = yaml_serde::from_str(text).context("the tenants file is not valid YAML")?;
    let mut root = object(doc, "")?;
    let users = match root.remove("users") {
        Some(Value::Array(users)) => users,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => anyhow::bail!("`users` must be a list"),
    };
    if let Some(key) = root.keys().next() {
        anyhow::bail!("unknown top-level key `{key}` (expected `users`)");
    }
    let mut report = SeedReport::default();
    let mut credits = Vec::new();
    let txn = callsaga_entity::begin_write(db).await?;
    for (i, user) in users.into_iter().enumerate() {
        let at = format!("users[{i}]");
        let (user_id, initial) = seed_user(&txn, user, &at, &mut report).await?;
        if initial > 0 {
            credits.push((user_id, initial));
        }
    }
    txn.commit().await?;
    for (user_id, amount) in credits {
        let outcome = ledger::top_up(
            db,
            TopUp {
                user_id,
                amount,
                idempotency_key: format!("seed:initial-credits:{user_id}"),
                note: Some("initial credits (callsaga seed)".into()),
            },
        )
        .await
        .context("failed to grant initial credits")?;
        if !outcome.duplicate {
            report.credits_granted += 1;
        }
    }
    Ok(report)
}

async fn seed_user(
    db: &impl ConnectionTrait,
    user: Value,
    at: &str,
    report: &mut SeedReport,
) -> anyhow::Result<(Uuid, i64)> {
    let mut user = object(user, at)?;
    let agents = list(user.remove("agents"), &format!("{at}.agents"))?;
    let initial: i64 = match user.remove("initial_credits") {
        None | Some(Value::Null) => 0,
        Some(v) => from_value(v, &format!("{at}.initial_credits"))?,
    };
    if !(0..=MAX_AMOUNT).contains(&initial) {
        anyhow::bail!("{at}.initial_credits: must be between 0 and {MAX_AMOUNT}");
    }
    let input: UserInput = from_value(Value::Object(user), at)?;
    let email = validate::email("email", &input.email).map_err(prefix(at))?;
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(db)
        .await?;
    let model = input.into_model(existing.as_ref()).map_err(prefix(at))?;
    let user_id = model.id;
    upsert::<users::ActiveModel>(db, existing, model, report).await?;

    for (j, agent) in agents.into_iter().enumerate() {
        seed_agent(db, agent, user_id, &format!("{at}.agents[{j}]"), report).await?;
    }
    Ok((user_id, initial))
}

async fn seed_agent(
    db: &impl ConnectionTrait,
    agent: Value,
    user_id: Uuid,
    at: &str,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    let mut agent = object(agent, at)?;
    let phones = list(
        agent.remove("phone_numbers"),
        &format!("{at}.phone_numbers"),
    )?;
    let escalation = agent.remove("escalation").filter(|v| !v.is_null());
    reject_key(&agent, "user_id", at)?;
    agent.insert("user_id".into(), Value::String(user_id.to_string()));
    let input: AgentInput = from_value(Value::Object(agent), at)?;
    let assistant_id =
        validate::identifier("vapi_assistant_id", &input.vapi_assistant_id).map_err(prefix(at))?;
    let existing = agents::Entity::find()
        .filter(agents::Column::VapiAssistantId.eq(assistant_id))
        .one(db)
        .await?;
    // A tenants file is the operator's own configuration, not a request: its CalDAV URLs are
    // checked against the `calendar` settings when a calendar is opened, not here.
    let model = input
        .into_model(db, existing.as_ref(), &CalDavPolicy::permissive())
        .await
        .map_err(prefix(at))?;
    let agent_id = model.id;
    upsert::<agents::ActiveModel>(db, existing, model, report).await?;

    for (k, phone) in phones.into_iter().enumerate() {
        let at = format!("{at}.phone_numbers[{k}]");
        let mut phone = object(phone, &at)?;
        reject_key(&phone, "agent_id", &at)?;
        phone.insert("agent_id".into(), Value::String(agent_id.to_string()));
        let input: PhoneNumberInput = from_value(Value::Object(phone), &at)?;
        let id = validate::identifier("vapi_phone_number_id", &input.vapi_phone_number_id)
            .map_err(prefix(&at))?;
        let existing = phone_numbers::Entity::find()
            .filter(phone_numbers::Column::VapiPhoneNumberId.eq(id))
            .one(db)
            .await?;
        let model = input
            .into_model(db, existing.as_ref())
            .await
            .map_err(prefix(&at))?;
        upsert::<phone_numbers::ActiveModel>(db, existing, model, report).await?;
    }

    if let Some(escalation) = escalation {
        let at = format!("{at}.escalation");
        let mut escalation = object(escalation, &at)?;
        reject_key(&escalation, "agent_id", &at)?;
        escalation.insert("agent_id".into(), Value::String(agent_id.to_string()));
        let input: EscalationConfigInput = from_value(Value::Object(escalation), &at)?;
        let existing = escalation_configs::Entity::find()
            .filter(escalation_configs::Column::AgentId.eq(agent_id))
            .one(db)
            .await?;
        let model = input
            .into_model(db, existing.as_ref())
            .await
            .map_err(prefix(&at))?;
        upsert::<escalation_configs::ActiveModel>(db, existing, model, report).await?;
    }
    Ok(())
}

type ModelOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

async fn upsert<A>(
    db: &impl ConnectionTrait,
    existing: Option<ModelOf<A>>,
    model: ModelOf<A>,
    report: &mut SeedReport,
) -> anyhow::Result<()>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    ModelOf<A>: IntoActiveModel<A> + ModelTrait<Entity = A::Entity> + Clone,
{
    match existing {
        None => {
            insert::<A>(db, model).await?;
            report.created += 1;
        }
        Some(old) => {
            if save_changes::<A>(db, old, model).await?.1 {
                report.updated += 1;
            } else {
                report.unchanged += 1;
            }
        }
    }
    Ok(())
}

fn object(v: Value, at: &str) -> anyhow::Result<Map<String, Value>> {
    match v {
        Value::Object(map) => Ok(map),
        other => anyhow::bail!("{}: must be a mapping, got {other}", or_root(at)),
    }
}

fn list(v: Option<Value>, at: &str) -> anyhow::Result<Vec<Value>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => anyhow::bail!("{at}: must be a list, got {other}"),
    }
}

/// The parent is implied by nesting; saying it again is a mistake worth reporting.
fn reject_key(map: &Map<String, Value>, key: &str, at: &str) -> anyhow::Result<()> {
    if map.contains_key(key) {
        anyhow::bail!("{at}.{key}: given by nesting; remove it");
    }
    Ok(())
}

fn or_root(at: &str) -> &str {
    if at.is_empty() { "the document" } else { at }
}

/// Puts the entry's path in front of a field error (`timezone` → `users[0].timezone`).
fn prefix(at: &str) -> impl Fn(AdminError) -> AdminError + '_ {
    move |e| match e {
        AdminError::Invalid { field, message } => AdminError::Invalid {
            field: format!("{at}.{field}"),
            message,
        },
        other => other,
    }
}
