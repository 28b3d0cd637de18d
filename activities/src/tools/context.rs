//! What every tool activity needs to know about the call's agent: who it is, its language,
//! time zone, opening hours and calendar.

use crate::Activities;
use crate::availability::{BusinessHours, Language, Tz, parse_timezone};
use crate::calendar::{CalDavCalendar, Calendar, EmbeddedCalendar, calendar_for};
use crate::failure::{permanent, transient};
use callsaga_entity::agents;
use callsaga_workflows::tool_payloads::ToolInput;
use sea_orm::EntityTrait;
use std::sync::Arc;
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

pub(crate) struct AgentContext {
    pub(crate) agent: agents::Model,
    pub(crate) lang: Language,
    pub(crate) tz: Tz,
    pub(crate) hours: BusinessHours,
}

impl AgentContext {
    /// The agent of the tool call (by assistant id, else phone number id).
    pub(crate) async fn for_tool(
        deps: &Activities,
        input: &ToolInput,
    ) -> Result<Self, ActivityError> {
        let req = &input.request;
        let (assistant, phone) = (req.assistant_id.as_deref(), req.phone_number_id.as_deref());
        if let Some(agent) = deps.agents.get(assistant, phone) {
            return Self::new(agent);
        }
        let agent = crate::tenant::find_agent(&deps.db, assistant, phone)
            .await
            .map_err(transient)?
            .ok_or_else(|| permanent("UnknownAgent", "no active agent for this call"))?;
        deps.agents.put(assistant, phone, &agent);
        Self::new(agent)
    }

    pub(crate) async fn by_id(deps: &Activities, agent_id: &str) -> Result<Self, ActivityError> {
        let id = Uuid::parse_str(agent_id).map_err(|e| permanent("BadInput", e.to_string()))?;
        let agent = agents::Entity::find_by_id(id)
            .one(&deps.db)
            .await
            .map_err(transient)?
            .ok_or_else(|| permanent("UnknownAgent", format!("agent {agent_id} not found")))?;
        Self::new(agent)
    }

    pub(crate) fn new(agent: agents::Model) -> Result<Self, ActivityError> {
        let tz = parse_timezone(&agent.timezone)
            .map_err(|e| permanent("AgentMisconfigured", e.to_string()))?;
        let hours = BusinessHours::from_json(&agent.business_hours)
            .map_err(|e| permanent("AgentMisconfigured", e.to_string()))?;
        Ok(Self {
            lang: Language::from_tag(&agent.language),
            tz,
            hours,
            agent,
        })
    }

    pub(crate) fn calendar(&self, deps: &Activities) -> Result<Arc<dyn Calendar>, ActivityError> {
        calendar_for(
            &self.agent,
            deps.db.clone(),
            deps.http.clone(),
            &deps.caldav,
        )
        .map_err(|e| e.into_activity_error())
    }

    /// The event id `create_event(uid)` returns for this agent's calendar, so a compensation can
    /// delete an event whose creation never reported back.
    pub(crate) fn event_id_for_uid(&self, uid: &str) -> String {
        match self.agent.calendar_provider.as_str() {
            "caldav" => CalDavCalendar::resource_name(uid),
            _ => EmbeddedCalendar::event_id(uid),
        }
    }

    pub(crate) fn duration_minutes(&self) -> u32 {
        u32::try_from(self.agent.appointment_duration_minutes)
            .unwrap_or(30)
            .clamp(5, 480)
    }

    pub(crate) fn has_calendar(&self) -> bool {
        matches!(self.agent.calendar_provider.as_str(), "embedded" | "caldav")
    }

    pub(crate) fn say(&self, en: &str, de: &str) -> String {
        match self.lang {
            Language::De => de.to_owned(),
            Language::En => en.to_owned(),
        }
    }
}
