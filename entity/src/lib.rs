//! sea-orm entities for the callsaga schema.
//!
//! One module per table; the schema itself is created by `callsaga-migration`.
//!
//! Conventions:
//! - primary keys are UUIDs (`id`), except [`webhook_inbox`] whose `id` is an
//!   auto-increment `i64` that gives delivery order;
//! - timestamps are [`sea_orm::prelude::DateTimeUtc`];
//! - money/credits are `i64` integer units;
//! - JSON columns are [`sea_orm::prelude::Json`] (`jsonb` on PostgreSQL);
//! - enum-like columns (`status`, `kind`, ...) are open enums stored as text.

pub mod agents;
pub mod appointments;
pub mod call_slots;
pub mod calls;
pub mod credit_ledger;
pub mod email_outbox;
pub mod escalation_configs;
pub mod escalation_logs;
pub mod event_log;
pub mod inbox_call_state;
pub mod phone_numbers;
pub mod tool_call_claims;
pub mod users;
pub mod webhook_inbox;
mod write_txn;

pub use write_txn::begin_write;

/// Name of the database constraint (PostgreSQL exclusion constraint / SQLite
/// trigger error message) that forbids overlapping booked appointments of one
/// agent. A database error whose message contains this string is an overlap.
pub const APPOINTMENTS_NO_OVERLAP: &str = "appointments_no_overlap";

/// `use callsaga_entity::prelude::*;` brings every entity in as `<Table>`
/// (e.g. `Calls`, `CreditLedger`).
pub mod prelude {
    pub use crate::agents::Entity as Agents;
    pub use crate::appointments::Entity as Appointments;
    pub use crate::call_slots::Entity as CallSlots;
    pub use crate::calls::Entity as Calls;
    pub use crate::credit_ledger::Entity as CreditLedger;
    pub use crate::escalation_configs::Entity as EscalationConfigs;
    pub use crate::escalation_logs::Entity as EscalationLogs;
    pub use crate::event_log::Entity as EventLog;
    pub use crate::inbox_call_state::Entity as InboxCallState;
    pub use crate::phone_numbers::Entity as PhoneNumbers;
    pub use crate::tool_call_claims::Entity as ToolCallClaims;
    pub use crate::users::Entity as Users;
    pub use crate::webhook_inbox::Entity as WebhookInbox;
}
