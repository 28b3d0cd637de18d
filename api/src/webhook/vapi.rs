//! The Vapi webhook handler. It stays thin: authenticate the raw bytes, parse into a typed
//! message, then either commit the event to the inbox (asynchronous types) or answer
//! synchronously (assistant-request, tool-calls, transfer-destination-request).

use crate::error::ApiError;
use crate::inbox::{self, Accepted};
use crate::secret::mask_phone;
use crate::state::AppState;
use crate::vapi::{self, VapiMessage};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::Utc;
use serde_json::{Value, json};

pub(super) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    if let Err(e) = state
        .settings
        .webhook
        .auth
        .verify(&headers, &body, now.timestamp())
    {
        tracing::warn!(reason = e.kind(), "webhook authentication failed");
        return Err(ApiError::Unauthorized);
    }
    let parsed = vapi::parse(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let message_type = parsed.message_type().to_owned();
    let call_id = parsed.call_id().map(str::to_owned);

    match &parsed.message {
        VapiMessage::StatusUpdate(_)
        | VapiMessage::EndOfCallReport(_)
        | VapiMessage::ConversationUpdate(_)
        | VapiMessage::TransferUpdate(_)
        | VapiMessage::UserInterrupted(_)
        | VapiMessage::Hang => {
            let call_id = call_id.ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "field `message.call.id` is required for {message_type}"
                ))
            })?;
            let accepted = inbox::accept(&state.db, &call_id, &message_type, &body, now).await?;
            state.relay.notify();
            tracing::info!(
                call.id = %call_id,
                message.r#type = %message_type,
                customer = %parsed.customer_number().map(mask_phone).unwrap_or_default(),
                duplicate = accepted == Accepted::Duplicate,
                "webhook event accepted"
            );
            Ok(Json(
                json!({ "received": true, "duplicate": accepted == Accepted::Duplicate }),
            ))
        }
        VapiMessage::Transcript(_) | VapiMessage::SpeechUpdate(_) => {
            // High-frequency and not needed by any saga: acknowledged, not stored.
            Ok(Json(json!({ "received": true })))
        }
        VapiMessage::Unknown { .. } => {
            tracing::info!(message.r#type = %message_type, "unknown Vapi message type acknowledged");
            Ok(Json(json!({ "received": true })))
        }
        VapiMessage::AssistantRequest
        | VapiMessage::ToolCalls(_)
        | VapiMessage::TransferDestinationRequest(_) => Ok(Json(json!({
            "error": "Sorry, I can't help with that right now."
        }))),
    }
}
