//! The admin HTTP API under `/admin/v1`: calls with their live workflow state, credit ledgers
//! and top-ups, escalations, callback requests of tool calls Temporal could not take, dead
//! inbox calls and their redrive, and tenant configuration (users, agents, phone numbers,
//! escalation configs).
//!
//! - Authenticated by its own bearer token (`admin.token`, compared in constant time); without
//!   a configured token every admin route answers 404.
//! - JSON in and out; errors in the service's `{"error":{"code","message"}}` format. Bodies are
//!   parsed by [`extract::AdminJson`]: unknown fields are rejected, and a bad value is a 422
//!   that names the field — never a 5xx.
//! - Routes and their OpenAPI description are built together ([`api`]); the document of the
//!   whole HTTP API is served at `GET /openapi.json` ([`openapi`]).

pub mod auth;
pub mod billing;
pub mod callback_requests;
pub mod calls;
pub mod error;
mod error_responses;
pub mod escalations;
pub mod extract;
pub mod inbox;
pub mod ledger;
pub mod openapi;
pub mod page;
pub mod tenants;
pub mod validate;

pub use error::AdminError;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every admin route with its OpenAPI description.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calls::list))
        .routes(routes!(calls::detail))
        .routes(routes!(billing::retry))
        .routes(routes!(escalations::list))
        .routes(routes!(inbox::list))
        .routes(routes!(inbox::redrive))
        .routes(routes!(callback_requests::list))
        .routes(routes!(ledger::entries))
        .routes(routes!(ledger::top_up))
        .merge(tenants::api())
}

/// The admin routes behind the admin token.
pub fn router(state: &AppState) -> Router<AppState> {
    let token = auth::AdminToken::new(&state.settings.admin);
    let (router, _) = api().split_for_parts();
    router
        .route_layer(middleware::from_fn_with_state(token, auth::require_admin))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
}
