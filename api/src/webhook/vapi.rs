//! The Vapi webhook handler. It stays thin: authenticate the raw bytes, parse into a typed
//! message, then either commit the event to the inbox (asynchronous types) or answer
//! synchronously (assistant-request, tool-calls, transfer-destination-request).

use crate::error::ApiError;
use crate::inbox::{self, Accepted};
use crate::secret::mask_phone;
use crate::state::AppState;
use crate::vapi::auth::{AuthError, HeaderCheck};
use crate::vapi::{self, Envelope, VapiMessage};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(super) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let auth = &state.settings.webhook.auth;
    // Credentials first: a wrong bearer token or legacy secret (or HMAC headers missing) is
    // refused before a byte of the body is read, so an unauthenticated client cannot make us
    // buffer `body_limit_bytes`.
    let limit = state.settings.webhook.body_limit_bytes;
    let check = match auth.verify_headers(&headers) {
        Ok(check) => check,
        Err(e) => {
            discard(body);
            return Err(refused(e));
        }
    };
    if declared_length(&headers).is_some_and(|len| len > limit as u64) {
        discard(body);
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let body = read_body(body, limit).await?;
    let now = Utc::now();
    if check == HeaderCheck::NeedsBody {
        auth.verify_body(&headers, &body, now.timestamp())
            .map_err(refused)?;
    }
    // A signature answered with success before is not accepted again within its window.
    let claim = match auth.replay_window(&headers) {
        Some((signature, ttl)) => match state.replay_guard.claim(signature, now.timestamp(), ttl) {
            Some(claim) => Some(claim),
            None => {
                metrics::counter!("callsaga_webhook_auth_failures_total", "reason" => "replayed")
                    .increment(1);
                tracing::warn!(
                    reason = "replayed",
                    "webhook authentication failed: signature seen before"
                );
                return Err(ApiError::Unauthorized);
            }
        },
        None => None,
    };
    let answer = parse_and_dispatch(&state, &body, now, started).await;
    if let (Err(_), Some(claim)) = (&answer, claim) {
        state.replay_guard.release(claim);
    }
    answer
}

fn refused(e: AuthError) -> ApiError {
    metrics::counter!("callsaga_webhook_auth_failures_total", "reason" => e.kind()).increment(1);
    tracing::warn!(reason = e.kind(), "webhook authentication failed");
    ApiError::Unauthorized
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The whole body, at most `limit` bytes (a body growing past it is cut off).
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge { limit }),
        Err(e) => Err(ApiError::BadRequest(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// How long a refused request's body is still read (and dropped) while the answer goes out.
const DISCARD_FOR: Duration = Duration::from_secs(2);

/// Reads and drops (never keeps) what a refused request still sends, for [`DISCARD_FOR`]:
/// closing with unread data in the socket makes the kernel reset the connection, and a client
/// still sending would see a reset instead of our 401 or 413. Memory stays flat; then the body
/// is dropped and the connection closed.
fn discard(mut body: Body) {
    tokio::spawn(async move {
        let drain = async { while let Some(Ok(_)) = body.frame().await {} };
        let _ = tokio::time::timeout(DISCARD_FOR, drain).await;
    });
}

async fn parse_and_dispatch(
    state: &AppState,
    body: &[u8],
    now: DateTime<Utc>,
    started: Instant,
) -> Result<Json<Value>, ApiError> {
    let parsed = vapi::parse_with(body, &state.settings.webhook.limits).map_err(|e| {
        metrics::counter!("callsaga_webhook_rejected_total", "reason" => e.kind()).increment(1);
        ApiError::BadRequest(e.to_string())
    })?;
    let answer = dispatch(state, &parsed, body, now).await;
    metrics::histogram!("callsaga_webhook_seconds", "type" => metric_type(&parsed.message))
        .record(started.elapsed().as_secs_f64());
    answer
}

/// Bounded label values: unknown message types share one label.
fn metric_type(message: &VapiMessage) -> String {
    match message {
        VapiMessage::Unknown { .. } => "unknown".to_owned(),
        m => m.message_type().to_owned(),
    }
}

#[tracing::instrument(
    name = "webhook",
    skip_all,
    fields(
        call.id = parsed.call_id().unwrap_or("-"),
        workflow.id = %parsed.call_id().map(callsaga_workflows::call_workflow_id).unwrap_or_default(),
        message.r#type = parsed.message_type(),
    )
)]
async fn dispatch(
    state: &AppState,
    parsed: &Envelope,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Json<Value>, ApiError> {
    let message_type = parsed.message_type();
    match &parsed.message {
        VapiMessage::StatusUpdate(_)
        | VapiMessage::EndOfCallReport(_)
        | VapiMessage::ConversationUpdate(_)
        | VapiMessage::TransferUpdate(_)
        | VapiMessage::UserInterrupted(_)
        | VapiMessage::Hang => {
            let call_id = parsed.call_id().ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "field `message.call.id` is required for {message_type}"
                ))
            })?;
            if parsed.dropped_messages > 0 {
                metrics::counter!("callsaga_webhook_messages_dropped_total")
                    .increment(parsed.dropped_messages as u64);
                tracing::warn!(
                    call.id = %call_id,
                    dropped = parsed.dropped_messages,
                    limit = state.settings.webhook.limits.max_stored_messages,
                    "transcript messages beyond the limit not stored (the oldest)"
                );
            }
            let accepted = state
                .inbox
                .accept(inbox::NewEvent {
                    vapi_call_id: call_id,
                    message_type,
                    body: parsed.stored_body.as_deref().unwrap_or(body),
                    received_at: now,
                    event_at: parsed.timestamp,
                })
                .await?;
            state.relay.notify();
            state.live_calls.note(call_id);
            let duplicate = accepted == Accepted::Duplicate;
            tracing::info!(
                call.id = %call_id,
                message.r#type = %message_type,
                customer = %parsed.customer_number().map(mask_phone).unwrap_or_default(),
                duplicate,
                "webhook event accepted"
            );
            Ok(Json(json!({ "received": true, "duplicate": duplicate })))
        }
        VapiMessage::Transcript(_) | VapiMessage::SpeechUpdate(_) => {
            // High-frequency and not needed by any saga: acknowledged, not stored.
            Ok(Json(json!({ "received": true })))
        }
        VapiMessage::Unknown { .. } => {
            tracing::info!(message.r#type = %message_type, "unknown Vapi message type acknowledged");
            Ok(Json(json!({ "received": true })))
        }
        VapiMessage::AssistantRequest => {
            // Vapi drops the call on an HTTP error: always answer something speakable.
            const SORRY: &str =
                "Sorry, we are having technical difficulties. Please call again shortly.";
            let answer =
                within_budget(state, message_type, super::assistant::answer(state, parsed))
                    .await
                    .map(|answer| {
                        answer.unwrap_or_else(|e| {
                            tracing::error!(error = %e, "assistant-request failed: database error");
                            json!({ "error": SORRY })
                        })
                    })
                    .unwrap_or_else(|| json!({ "error": SORRY }));
            Ok(Json(answer))
        }
        VapiMessage::ToolCalls(calls) => {
            Ok(Json(super::tool_calls::answer(state, parsed, calls).await))
        }
        VapiMessage::TransferDestinationRequest(_) => {
            let answer = within_budget(state, message_type, super::transfer::answer(state, parsed))
                .await
                .unwrap_or_else(|| json!({ "error": super::transfer::CANNOT_NOW }));
            Ok(Json(answer))
        }
    }
}

/// Runs a synchronous answer within `webhook.answer_budget_ms`; `None` when it ran out (a slow
/// database), so the caller gets a speakable error instead of silence or a dropped call.
async fn within_budget<T>(
    state: &AppState,
    message_type: &str,
    answer: impl std::future::Future<Output = T>,
) -> Option<T> {
    let budget = std::time::Duration::from_millis(state.settings.webhook.answer_budget_ms);
    match tokio::time::timeout(budget, answer).await {
        Ok(answer) => Some(answer),
        Err(_) => {
            metrics::counter!("callsaga_answer_budget_exceeded_total", "type" => message_type.to_owned())
                .increment(1);
            tracing::error!(
                message.r#type = %message_type,
                budget_ms = budget.as_millis() as u64,
                "answer budget exceeded (slow database); answered with a speakable error"
            );
            None
        }
    }
}
