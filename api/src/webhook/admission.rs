//! The door (issue 25), as the webhook sees it: the admission decision of an assistant-request
//! turned into Vapi's answer, and tool calls of a deactivated tenant refused before they reach
//! the workflow. The decision itself is `callsaga_activities::admission`.

use crate::secret::mask_phone;
use crate::state::AppState;
use crate::vapi::Envelope;
use callsaga_activities::admission::{self, Outcome, Request, speech};
use callsaga_activities::availability::Language;
use callsaga_entity::{agents, users};
use sea_orm::{DbErr, EntityTrait};
use serde_json::{Value, json};
use std::time::Duration;

/// `None` when the call is admitted (the caller answers with the assistant), else the refusal
/// answer: the speakable error, or the tenant's fallback number as a `destination`.
///
/// The decision runs in a task of its own: when the answer budget runs out while it runs
/// (the handler's future is dropped), the task still finishes, and a slot it took for a call
/// that heard the speakable error instead is given back at once.
pub(super) async fn decide(
    state: &AppState,
    envelope: &Envelope,
    agent: &agents::Model,
) -> Result<Option<Value>, DbErr> {
    let Some(call_id) = envelope.call_id() else {
        // Nothing to count or record a call by; Vapi always sends it.
        return Ok(None);
    };
    let policy = state.settings.admission_policy();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let db = state.db.clone();
    let (call_id, agent_row) = (call_id.to_owned(), agent.clone());
    let customer = envelope.customer_number().map(str::to_owned);
    tokio::spawn(async move {
        let req = Request {
            vapi_call_id: &call_id,
            agent: &agent_row,
            customer_number: customer.as_deref(),
        };
        let outcome = admission::admit(&db, &policy, &req).await;
        if let Err(Ok(Outcome {
            took_slot: true, ..
        })) = tx.send(outcome)
        {
            // Nobody heard "admitted": the slot must not count.
            if let Err(e) = admission::release(&db, &call_id).await {
                tracing::error!(call.id = %call_id, error = %e, "could not give back the slot of an unanswered admission");
            }
        }
    });
    let outcome = rx
        .await
        .map_err(|_| DbErr::Custom("the admission task ended without an answer".into()))??;
    let label = outcome.refusal.map_or("admitted", |r| r.as_str());
    metrics::counter!("callsaga_admissions_total", "outcome" => label).increment(1);
    let Some(refusal) = outcome.refusal else {
        return Ok(None);
    };
    let lang = Language::from_tag(&agent.language);
    tracing::warn!(
        call.id = %call_id_of(envelope),
        agent.id = %agent.id,
        user.id = %agent.user_id,
        reason = refusal.as_str(),
        customer = %envelope.customer_number().map(mask_phone).unwrap_or_default(),
        forwarded = outcome.fallback_number.is_some(),
        "call refused at the door"
    );
    Ok(Some(match outcome.fallback_number {
        Some(number) => json!({
            "destination": {
                "type": "number",
                "number": number,
                "message": speech::forwarding(lang),
            }
        }),
        None => json!({ "error": speech::refusal(refusal, lang) }),
    }))
}

fn call_id_of(envelope: &Envelope) -> &str {
    envelope.call_id().unwrap_or("-")
}

/// Whether the call's agent belongs to an active owner, and the agent's language, as tool
/// calls need it; kept per assistant/phone number id for `tools.agent_cache_ms`.
#[derive(Clone, Copy, Debug)]
pub struct Tenant {
    active: bool,
    lang: Language,
}

/// The speakable error for every tool call of this request when the agent's owner is
/// deactivated (nothing is run); `None` otherwise, and when it cannot be told within
/// [`LOOKUP_BUDGET`] (the tool calls then go their normal way).
pub(super) async fn tool_refusal(state: &AppState, envelope: &Envelope) -> Option<&'static str> {
    let (assistant, phone) = (envelope.assistant_id(), envelope.phone_number_id());
    let tenant = match state.tenants.get(assistant, phone) {
        Some(tenant) => tenant,
        None => {
            let lookup = async {
                let Some(agent) =
                    callsaga_activities::tenant::find_agent(&state.db, assistant, phone).await?
                else {
                    return Ok::<_, DbErr>(None);
                };
                let user = users::Entity::find_by_id(agent.user_id)
                    .one(&state.db)
                    .await?;
                Ok(Some(Tenant {
                    active: user.is_some_and(|u| u.active),
                    lang: Language::from_tag(&agent.language),
                }))
            };
            let tenant = tokio::time::timeout(LOOKUP_BUDGET, lookup)
                .await
                .ok()?
                .ok()??;
            state.tenants.put(assistant, phone, &tenant);
            tenant
        }
    };
    if tenant.active {
        return None;
    }
    metrics::counter!("callsaga_tool_calls_refused_total", "reason" => "inactive").increment(1);
    tracing::warn!(call.id = %call_id_of(envelope), "tool calls of a deactivated tenant refused");
    Some(speech::tool_refused(tenant.lang))
}

const LOOKUP_BUDGET: Duration = Duration::from_millis(250);
