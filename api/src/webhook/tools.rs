//! The tools our assistants advertise to Vapi (the tool contract in `shared/vapi/README.md`),
//! as Vapi function-tool definitions.

use serde_json::{Value, json};

fn tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "function",
        "async": false,
        "function": {
            "name": name,
            "description": description,
            "parameters": { "type": "object", "properties": properties, "required": required },
        },
    })
}

const DATE: &str = "Date as YYYY-MM-DD in the business's time zone";
const TIME: &str = "Start time as HH:MM (24 h) in the business's time zone";

/// Calendar tools: only for agents with a calendar.
pub(crate) fn calendar_tools() -> Vec<Value> {
    let time_of_day = json!({ "type": "string", "enum": ["morning", "afternoon", "evening"] });
    vec![
        tool(
            "check_availability",
            "List free appointment slots on a day.",
            json!({
                "date": { "type": "string", "description": DATE },
                "timeOfDay": time_of_day,
                "durationMinutes": { "type": "integer" },
                "serviceType": { "type": "string" },
            }),
            &["date"],
        ),
        tool(
            "find_next_available",
            "Find the next free appointment slots.",
            json!({
                "afterDate": { "type": "string", "description": DATE },
                "timeOfDay": time_of_day,
                "durationMinutes": { "type": "integer" },
            }),
            &[],
        ),
        tool(
            "book_appointment",
            "Book an appointment for the caller.",
            json!({
                "date": { "type": "string", "description": DATE },
                "startTime": { "type": "string", "description": TIME },
                "customerName": { "type": "string" },
                "customerPhone": { "type": "string" },
                "slotId": { "type": "string" },
                "durationMinutes": { "type": "integer" },
                "customerEmail": { "type": "string" },
                "notes": { "type": "string" },
            }),
            &["date", "startTime", "customerName", "customerPhone"],
        ),
        tool(
            "reschedule_appointment",
            "Move one of the caller's own appointments (booked from the number they are calling from) to a new time. With a withheld number: needs appointmentId and the exact customerName.",
            json!({
                "newDate": { "type": "string", "description": DATE },
                "newStartTime": { "type": "string", "description": TIME },
                "appointmentId": { "type": "string" },
                "customerName": { "type": "string" },
                "customerPhone": { "type": "string" },
                "originalDate": { "type": "string", "description": DATE },
                "reason": { "type": "string" },
            }),
            &["newDate", "newStartTime"],
        ),
        tool(
            "cancel_appointment",
            "Cancel one of the caller's own appointments (booked from the number they are calling from). With a withheld number: needs appointmentId and the exact customerName.",
            json!({
                "appointmentId": { "type": "string" },
                "customerName": { "type": "string" },
                "customerPhone": { "type": "string" },
                "date": { "type": "string", "description": DATE },
                "reason": { "type": "string" },
            }),
            &[],
        ),
        tool(
            "list_appointments",
            "List the upcoming appointments booked from the number the caller is calling from (not possible with a withheld number).",
            json!({
                "customerPhone": { "type": "string" },
                "customerName": { "type": "string" },
                "fromDate": { "type": "string", "description": DATE },
            }),
            &[],
        ),
    ]
}

/// Escalation tools: always available.
pub(crate) fn escalation_tools() -> Vec<Value> {
    vec![
        tool(
            "escalate_to_human",
            "Hand the call over to a human, or arrange a callback when nobody is available.",
            json!({
                "reason": { "type": "string" },
                "urgency": { "type": "string", "enum": ["low", "normal", "high", "critical"] },
                "summary": { "type": "string" },
                "callbackNumber": { "type": "string" },
            }),
            &["reason"],
        ),
        tool(
            "check_operator_availability",
            "Check whether a human operator can take the call now.",
            json!({ "department": { "type": "string" } }),
            &[],
        ),
    ]
}
