//! Shared, cheap-to-clone application state handed to every handler.

use crate::inbox::InboxWriter;
use crate::live_calls::LiveCalls;
use crate::relay::Relay;
use crate::settings::Settings;
use crate::temporal::LazyClient;
use callsaga_activities::Activities;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub temporal: LazyClient,
    pub relay: Relay,
    /// Commits accepted webhook events (group commit).
    pub inbox: InboxWriter,
    /// Calls known to have a workflow (a hint for tool calls).
    pub live_calls: LiveCalls,
    /// HMAC signatures seen within their tolerance window (replays are refused).
    pub replay_guard: Arc<crate::vapi::replay_guard::ReplayGuard>,
    /// The activities' dependencies in this process, for answering read-only tools from the
    /// database when the workflow cannot answer in time (never for effects: those run in the
    /// workflow only).
    pub tool_reader: Activities,
    /// Whether recent tool calls' tenants are active (deactivated ones are refused at once).
    pub tenants: callsaga_activities::agent_cache::AgentCache<crate::webhook::Tenant>,
    /// Temporal's recent answers and this process's background tasks, for `/readyz`.
    pub readiness: crate::readiness::Readiness,
}
