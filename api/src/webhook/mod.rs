//! `POST /webhooks/vapi`: verify → parse → store or answer → reply.

mod admission;
mod assistant;
mod effect_tool;
mod read_tool;
mod tool_calls;
mod tool_fallback;
mod tool_update;
mod tools;
mod transfer;
mod vapi;

pub use admission::Tenant;
pub use effect_tool::ACCEPT_GRACE;

use crate::state::AppState;
use axum::Router;
use axum::routing::post;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/vapi", post(vapi::receive))
}
