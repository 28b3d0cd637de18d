//! Activity implementations: everything that touches the database, calendars and email.
//!
//! Every activity is idempotent — its effect is keyed by the workflow id and the step, or it is a
//! merge that gives the same row however often it runs — so a Temporal retry, or a replay after a
//! worker crash, never doubles an effect.

pub mod admission;
pub mod agent_cache;
pub mod availability;
pub mod calendar;
pub mod call_end;
pub mod call_record;
pub mod email;
pub mod event_log;
pub mod failure;
pub mod faults;
pub mod ledger;
pub mod pricing;
pub mod tenant;
pub mod tools;
pub mod vapi;

pub use call_end::CallEndActivitiesImpl;
pub use call_record::CallRecordActivitiesImpl;
pub use tools::{AppointmentActivitiesImpl, ToolPlanningActivitiesImpl};

use crate::agent_cache::AgentCache;
use crate::email::Mailer;
use crate::faults::FaultPlan;
use crate::pricing::Pricing;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The dependencies activities share. Cheap to clone.
#[derive(Clone)]
pub struct Activities {
    pub db: DatabaseConnection,
    /// For CalDAV (and later other HTTP integrations); carries request timeouts and the
    /// destination checks of [`Activities::caldav`].
    pub http: reqwest::Client,
    /// Where CalDAV calendars may point and how much of their answers is read.
    pub caldav: calendar::CalDavPolicy,
    pub mailer: Arc<Mailer>,
    /// Test-only fault injection; empty in production.
    pub faults: FaultPlan,
    /// What a call costs.
    pub pricing: Pricing,
    /// Agents of recent tool calls (off unless [`Activities::with_agent_cache`]).
    pub agents: AgentCache,
    /// The longest call billed (`calls.max_call_secs`): a longer duration is capped and flagged.
    pub max_call_secs: u64,
    /// How long an admission slot counts when nothing releases it (`admission::Policy`).
    pub slot_lifetime: std::time::Duration,
}

impl Activities {
    pub fn new(
        db: DatabaseConnection,
        mailer: Arc<Mailer>,
        faults: FaultPlan,
        pricing: Pricing,
    ) -> Self {
        let caldav = calendar::CalDavPolicy::default();
        Self {
            db,
            http: caldav.client(),
            caldav,
            mailer,
            faults,
            pricing,
            agents: AgentCache::default(),
            max_call_secs: callsaga_workflows::payloads::CallTimeouts::default().max_call_secs,
            slot_lifetime: std::time::Duration::from_secs(
                callsaga_workflows::payloads::CallTimeouts::default().max_call_secs + 3_600,
            ),
        }
    }

    /// Points CalDAV calendars only where `policy` allows (the `calendar` settings).
    pub fn with_caldav_policy(mut self, policy: calendar::CalDavPolicy) -> Self {
        self.http = policy.client();
        self.caldav = policy;
        self
    }

    /// Bills no call longer than `secs` (the watchdog's `calls.max_call_secs`).
    pub fn with_max_call_secs(mut self, secs: u64) -> Self {
        self.max_call_secs = secs;
        self
    }

    /// Counts a call that came without an assistant-request against its tenant's cap for at
    /// most `lifetime` when nothing releases its slot (see [`admission`]).
    pub fn with_slot_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.slot_lifetime = lifetime;
        self
    }

    /// Reuses a tool call's agent for `ttl` (see [`agent_cache`]).
    pub fn with_agent_cache(mut self, ttl: std::time::Duration) -> Self {
        self.agents = AgentCache::new(ttl);
        self
    }
}
