//! Vapi webhooks: the typed message models (from `callsaga_activities::vapi`, re-exported) and
//! webhook authentication ([`WebhookAuth`]), which needs HTTP and so lives here.

pub mod auth;
pub mod replay_guard;
pub mod signature;

pub use auth::{AuthError, HmacAlgorithm, SigEncoding, WebhookAuth};
pub use callsaga_activities::vapi::*;
