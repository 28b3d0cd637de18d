//! `assistant-request`: which assistant answers this call, built from the agent in our database.
//! Vapi allows 7.5 s including call set-up, so this is one or two indexed lookups and no
//! Temporal round trip. A known agent's call passes the admission first (`admission.rs`).

use super::tools;
use crate::state::AppState;
use crate::vapi::Envelope;
use callsaga_entity::agents;
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

/// Message types the assistant must send us; without `end-of-call-report` billing never runs.
pub(crate) const SERVER_MESSAGES: &[&str] = &[
    "status-update",
    "end-of-call-report",
    "conversation-update",
    "tool-calls",
    "transfer-destination-request",
    "transfer-update",
    "hang",
    "user-interrupted",
];

pub(super) async fn answer(state: &AppState, envelope: &Envelope) -> Result<Value, sea_orm::DbErr> {
    let agent = callsaga_activities::tenant::find_agent(
        &state.db,
        envelope.assistant_id(),
        envelope.phone_number_id(),
    )
    .await?;
    Ok(match agent {
        Some(agent) => match super::admission::decide(state, envelope, &agent).await? {
            Some(refusal) => refusal,
            None => json!({ "assistant": build(&agent, Utc::now()) }),
        },
        None => {
            tracing::warn!(
                assistant.id = envelope.assistant_id().unwrap_or("-"),
                phone_number.id = envelope.phone_number_id().unwrap_or("-"),
                "assistant-request for an unknown agent"
            );
            json!({ "error": "Sorry, this number is not set up yet. Please try again later." })
        }
    })
}

/// The assistant definition for `agent` at time `now`.
pub(crate) fn build(agent: &agents::Model, now: DateTime<Utc>) -> Value {
    let mut tools = Vec::new();
    if has_calendar(agent) {
        tools.extend(tools::calendar_tools());
    }
    tools.extend(tools::escalation_tools());
    let tz: Tz = agent.timezone.parse().unwrap_or(chrono_tz::UTC);
    let prompt = format!(
        "{}\n\n{}",
        now_header(now.with_timezone(&tz), &agent.timezone, &agent.language),
        agent.system_prompt
    );
    let language = agent.language.split(['-', '_']).next().unwrap_or("en");
    let mut assistant = json!({
        "name": agent.name,
        "firstMessage": agent.greeting,
        "model": {
            "provider": "openai",
            "model": "gpt-4o",
            "messages": [{ "role": "system", "content": prompt }],
            "tools": tools,
        },
        "transcriber": { "provider": "deepgram", "language": language },
        "serverMessages": SERVER_MESSAGES,
        "metadata": { "callsagaAgentId": agent.id.to_string() },
    });
    if let Some(voice) = &agent.voice {
        assistant["voice"] = voice.clone();
    }
    assistant
}

fn has_calendar(agent: &agents::Model) -> bool {
    matches!(agent.calendar_provider.as_str(), "embedded" | "caldav")
}

/// "Current date and time: Saturday, November 21, 2026, 22:10 (Europe/Berlin)." in the agent's
/// language, so the model can resolve "tomorrow" or "next Tuesday".
pub(crate) fn now_header(local: DateTime<Tz>, tz_name: &str, language: &str) -> String {
    let german = language.to_ascii_lowercase().starts_with("de");
    let weekday = local.weekday().num_days_from_monday() as usize;
    let month = local.month0() as usize;
    if german {
        const DAYS: [&str; 7] = [
            "Montag",
            "Dienstag",
            "Mittwoch",
            "Donnerstag",
            "Freitag",
            "Samstag",
            "Sonntag",
        ];
        const MONTHS: [&str; 12] = [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ];
        format!(
            "Aktuelles Datum und Uhrzeit: {}, {}. {} {}, {:02}:{:02} Uhr ({tz_name}).",
            DAYS[weekday],
            local.day(),
            MONTHS[month],
            local.year(),
            local.hour(),
            local.minute()
        )
    } else {
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        format!(
            "Current date and time: {}, {} {}, {}, {:02}:{:02} ({tz_name}).",
            DAYS[weekday],
            MONTHS[month],
            local.day(),
            local.year(),
            local.hour(),
            local.minute()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn header_is_local_and_localised() {
        let now = Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap(); // DST switch in Berlin
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            now_header(now.with_timezone(&berlin), "Europe/Berlin", "de-DE"),
            "Aktuelles Datum und Uhrzeit: Sonntag, 29. März 2026, 03:30 Uhr (Europe/Berlin)."
        );
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            now_header(now.with_timezone(&ny), "America/New_York", "en"),
            "Current date and time: Saturday, March 28, 2026, 21:30 (America/New_York)."
        );
    }
}
