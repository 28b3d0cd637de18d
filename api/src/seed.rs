//! The demo tenant (`callsaga seed`): one user, one agent with the ids the Vapi samples in
//! `shared/vapi/samples` carry, its phone number, the embedded calendar and an escalation
//! configuration — so the samples work end to end in `dev`. Idempotent: running it again
//! changes nothing.
//!
//! [`from_file`] (`callsaga seed --file tenants.yaml`) loads tenants from YAML instead, in the
//! admin API's shapes and with its validation.

pub use crate::admin::tenants::seed::SeedReport;

use anyhow::Context;
use callsaga_entity::{agents, escalation_configs, phone_numbers, users};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

pub const DEMO_USER_EMAIL: &str = "demo@callsaga.local";
pub const DEMO_ASSISTANT_ID: &str = "b7e2a8f0-61c4-4d2b-9f3e-7a5c1d9e4b22";
pub const DEMO_PHONE_NUMBER_ID: &str = "9c4f1e2a-3b5d-4e6f-8a7b-1c2d3e4f5a6b";
/// Starting balance of the demo user, in credits.
pub const DEMO_CREDITS: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct DemoTenant {
    pub user_id: Uuid,
    pub agent_id: Uuid,
    pub created: bool,
}

pub async fn demo_tenant(db: &impl ConnectionTrait) -> Result<DemoTenant, DbErr> {
    if let Some(agent) = agents::Entity::find()
        .filter(agents::Column::VapiAssistantId.eq(DEMO_ASSISTANT_ID))
        .one(db)
        .await?
    {
        return Ok(DemoTenant {
            user_id: agent.user_id,
            agent_id: agent.id,
            created: false,
        });
    }
    let now = Utc::now();
    let user_id = Uuid::now_v7();
    let agent_id = Uuid::now_v7();
    let weekdays = json!([["09:00", "17:00"]]);
    let business_hours = json!({
        "mon": weekdays, "tue": weekdays, "wed": weekdays, "thu": weekdays, "fri": weekdays,
        "sat": [], "sun": []
    });
    users::Entity::insert(users::ActiveModel {
        id: Set(user_id),
        email: Set(DEMO_USER_EMAIL.into()),
        name: Set("Demo Practice Owner".into()),
        credit_balance: Set(DEMO_CREDITS),
        grace_credits_used: Set(0),
        grace_credits_limit: Set(500),
        low_balance_threshold: Set(1_000),
        low_balance_notified: Set(false),
        timezone: Set("Europe/Berlin".into()),
        locale: Set("en".into()),
        active: Set(true),
        max_concurrent_calls: Set(None),
        fallback_number: Set(None),
        min_call_credits: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    agents::Entity::insert(agents::ActiveModel {
        id: Set(agent_id),
        user_id: Set(user_id),
        name: Set("Demo receptionist".into()),
        vapi_assistant_id: Set(DEMO_ASSISTANT_ID.into()),
        business_name: Set("Demo Dental Practice".into()),
        greeting: Set("Hello, Demo Dental Practice, how can I help you?".into()),
        system_prompt: Set(
            "You are the friendly receptionist of Demo Dental Practice. Book, move and cancel \
             appointments, and hand over to a human when the caller asks for one."
                .into(),
        ),
        voice: Set(Some(json!({ "provider": "vapi", "voiceId": "Elliot" }))),
        language: Set("en".into()),
        timezone: Set("Europe/Berlin".into()),
        appointment_duration_minutes: Set(30),
        business_hours: Set(business_hours.clone()),
        calendar_provider: Set("embedded".into()),
        calendar_config: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    phone_numbers::Entity::insert(phone_numbers::ActiveModel {
        id: Set(Uuid::now_v7()),
        vapi_phone_number_id: Set(DEMO_PHONE_NUMBER_ID.into()),
        agent_id: Set(agent_id),
        number: Set("+4930123456789".into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    escalation_configs::Entity::insert(escalation_configs::ActiveModel {
        id: Set(Uuid::now_v7()),
        agent_id: Set(agent_id),
        enabled: Set(true),
        forwarding_numbers: Set(json!(["+4930987654321"])),
        transfer_mode: Set("warm".into()),
        operator_email: Set(Some("operator@callsaga.local".into())),
        business_hours: Set(Some(business_hours)),
        timezone: Set(Some("Europe/Berlin".into())),
        share_summary: Set(true),
        share_transcript: Set(false),
        trigger_settings: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(DemoTenant {
        user_id,
        agent_id,
        created: true,
    })
}

/// Creates or updates the tenants of a YAML file (see `tenants.example.yaml`): users by email,
/// agents by Vapi assistant id, phone numbers by Vapi phone-number id, one escalation config per
/// agent; `initial_credits` is granted once. Running it again changes nothing.
pub async fn from_file(
    db: &DatabaseConnection,
    path: &std::path::Path,
) -> anyhow::Result<SeedReport> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    from_yaml(db, &text)
        .await
        .with_context(|| format!("{} was not loaded", path.display()))
}

/// [`from_file`] for a document in memory.
pub async fn from_yaml(db: &DatabaseConnection, yaml: &str) -> anyhow::Result<SeedReport> {
    crate::admin::tenants::seed::apply_yaml(db, yaml).await
}
