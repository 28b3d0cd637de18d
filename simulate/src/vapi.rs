//! Request bodies in Vapi's Server URL format (as in `shared/vapi/samples`): every message
//! carries the call, the customer and the phone number; conversation updates carry the whole
//! conversation so far.

use crate::plan::CallPlan;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The demo tenant's ids (`callsaga seed`), which the samples carry.
pub(crate) const ASSISTANT_ID: &str = "b7e2a8f0-61c4-4d2b-9f3e-7a5c1d9e4b22";
pub(crate) const PHONE_NUMBER_ID: &str = "9c4f1e2a-3b5d-4e6f-8a7b-1c2d3e4f5a6b";
const ORG_ID: &str = "5b1d3c7e-2f4a-4c8e-9a61-0d2f8b7c9e10";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a call's messages have in common, and the conversation so far.
pub(crate) struct CallBody<'a> {
    plan: &'a CallPlan,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    pub(crate) conversation: Vec<Value>,
}

impl<'a> CallBody<'a> {
    pub(crate) fn new(plan: &'a CallPlan, created_at: DateTime<Utc>) -> Self {
        Self {
            plan,
            created_at,
            started_at: None,
            conversation: vec![json!({
                "role": "system",
                "message": "You are the friendly receptionist of Demo Dental Practice.",
                "time": created_at.timestamp_millis(),
                "secondsFromStart": 0,
            })],
        }
    }

    fn customer(&self) -> Value {
        json!({ "number": self.plan.caller_number, "name": self.plan.caller_name })
    }

    fn call(
        &self,
        status: &str,
        now: DateTime<Utc>,
        ended: Option<(&str, DateTime<Utc>)>,
    ) -> Value {
        let mut call = json!({
            "id": self.plan.call_id,
            "orgId": ORG_ID,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(now),
            "type": "inboundPhoneCall",
            "status": status,
            "phoneCallProvider": "twilio",
            "phoneCallTransport": "pstn",
            "phoneCallProviderId": format!("CA{}", self.plan.call_id.replace('-', "")),
            "phoneNumberId": PHONE_NUMBER_ID,
            "customer": self.customer(),
            "assistantId": ASSISTANT_ID,
        });
        if let Some(s) = self.started_at {
            call["startedAt"] = json!(rfc3339(s));
        }
        if let Some((reason, at)) = ended {
            call["endedAt"] = json!(rfc3339(at));
            call["endedReason"] = json!(reason);
        }
        call
    }

    fn envelope(
        &self,
        mut message: Value,
        status: &str,
        now: DateTime<Utc>,
        ended: Option<(&str, DateTime<Utc>)>,
    ) -> Vec<u8> {
        message["timestamp"] = json!(now.timestamp_millis());
        message["phoneNumber"] = json!({
            "provider": "twilio", "number": "+4930123456789", "name": "Demo main line",
            "assistantId": ASSISTANT_ID,
        });
        message["customer"] = self.customer();
        message["call"] = self.call(status, now, ended);
        serde_json::to_vec(&json!({ "message": message })).unwrap_or_default()
    }

    pub(crate) fn status(
        &mut self,
        status: &str,
        now: DateTime<Utc>,
        ended: Option<(&str, DateTime<Utc>)>,
    ) -> Vec<u8> {
        if status == "in-progress" && self.started_at.is_none() {
            self.started_at = Some(now);
        }
        let mut m = json!({ "type": "status-update", "status": status });
        if let Some((reason, _)) = ended {
            m["endedReason"] = json!(reason);
        }
        self.envelope(m, status, now, ended)
    }

    fn seconds_from_start(&self, now: DateTime<Utc>) -> f64 {
        let start = self.started_at.unwrap_or(self.created_at);
        (now - start).num_milliseconds() as f64 / 1000.0
    }

    /// A turn of the bot or the user joins the conversation.
    pub(crate) fn say(&mut self, role: &str, text: &str, now: DateTime<Utc>, secs: f64) {
        let t = now.timestamp_millis();
        self.conversation.push(json!({
            "role": role, "message": text, "time": t, "endTime": t + (secs * 1000.0) as i64,
            "secondsFromStart": self.seconds_from_start(now), "duration": (secs * 1000.0) as i64,
        }));
    }

    pub(crate) fn conversation_update(&self, now: DateTime<Utc>) -> Vec<u8> {
        let m = json!({ "type": "conversation-update", "messages": self.conversation });
        self.envelope(m, "in-progress", now, None)
    }

    pub(crate) fn tool_call(
        &mut self,
        id: &str,
        name: &str,
        args: &Value,
        now: DateTime<Utc>,
    ) -> Vec<u8> {
        // Vapi sends the arguments as a JSON string or an object; the mix tests both.
        let arguments = if id.len().is_multiple_of(2) {
            json!(args.to_string())
        } else {
            args.clone()
        };
        let call = json!({ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } });
        self.conversation.push(json!({
            "role": "tool_calls", "message": "", "time": now.timestamp_millis(),
            "secondsFromStart": self.seconds_from_start(now), "toolCalls": [call.clone()],
        }));
        let m = json!({
            "type": "tool-calls",
            "toolCallList": [call.clone()],
            "toolWithToolCallList": [{
                "type": "function",
                "function": { "name": name },
                "toolCall": call,
            }],
        });
        self.envelope(m, "in-progress", now, None)
    }

    pub(crate) fn tool_result(&mut self, id: &str, name: &str, text: &str, now: DateTime<Utc>) {
        self.conversation.push(json!({
            "role": "tool_call_result", "toolCallId": id, "name": name, "result": text,
            "time": now.timestamp_millis(), "secondsFromStart": self.seconds_from_start(now),
        }));
    }

    pub(crate) fn transfer_update(&self, number: &str, now: DateTime<Utc>) -> Vec<u8> {
        let m = json!({
            "type": "transfer-update",
            "destination": { "type": "number", "number": number, "message": "Connecting you now." },
        });
        self.envelope(m, "forwarding", now, None)
    }

    pub(crate) fn end_of_call_report(
        &self,
        reason: &str,
        ended_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<u8> {
        let started = self.started_at.unwrap_or(self.created_at);
        let ms = (ended_at - started).num_milliseconds().max(0);
        let transcript: Vec<String> = self
            .conversation
            .iter()
            .filter(|m| matches!(m["role"].as_str(), Some("bot" | "user")))
            .map(|m| {
                format!(
                    "{}: {}",
                    if m["role"] == "bot" { "AI" } else { "User" },
                    m["message"].as_str().unwrap_or_default()
                )
            })
            .collect();
        let m = json!({
            "type": "end-of-call-report",
            "endedReason": reason,
            "cost": (ms as f64 / 60_000.0 * 0.05 * 10_000.0).round() / 10_000.0,
            "startedAt": rfc3339(started),
            "endedAt": rfc3339(ended_at),
            "durationMs": ms,
            "durationSeconds": ms as f64 / 1000.0,
            "durationMinutes": ms as f64 / 60_000.0,
            "artifact": { "messages": self.conversation, "transcript": transcript.join("\n") },
            "analysis": { "summary": "Simulated call." },
        });
        self.envelope(m, "ended", now, Some((reason, ended_at)))
    }
}
