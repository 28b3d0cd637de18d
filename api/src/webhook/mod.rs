//! `POST /webhooks/vapi`: verify → parse → store or answer → reply.

mod assistant;
mod tool_calls;
mod tools;
mod transfer;
mod vapi;

use crate::state::AppState;
use axum::Router;
use axum::routing::post;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/vapi", post(vapi::receive))
}
