//! Which agent (and so which tenant) a call belongs to.

use callsaga_entity::{agents, phone_numbers};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Finds an active agent by Vapi assistant id, else by the Vapi phone number id it answers.
pub async fn find_agent(
    db: &impl ConnectionTrait,
    assistant_id: Option<&str>,
    phone_number_id: Option<&str>,
) -> Result<Option<agents::Model>, DbErr> {
    if let Some(assistant_id) = assistant_id
        && let Some(agent) = agents::Entity::find()
            .filter(agents::Column::VapiAssistantId.eq(assistant_id))
            .filter(agents::Column::Active.eq(true))
            .one(db)
            .await?
    {
        return Ok(Some(agent));
    }
    let Some(phone_number_id) = phone_number_id else {
        return Ok(None);
    };
    let Some(phone) = phone_numbers::Entity::find()
        .filter(phone_numbers::Column::VapiPhoneNumberId.eq(phone_number_id))
        .filter(phone_numbers::Column::Active.eq(true))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    agents::Entity::find_by_id(phone.agent_id)
        .filter(agents::Column::Active.eq(true))
        .one(db)
        .await
}
