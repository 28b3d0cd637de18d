//! Schema migrations for callsaga (SQLite and PostgreSQL).
//!
//! ```ignore
//! use callsaga_migration::{Migrator, MigratorTrait};
//! Migrator::up(&db, None).await?;
//! ```

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_initial;
mod m20261121_000002_email_outbox;
mod m20261203_000003_bounded_overlap_triggers;
mod m20261204_000004_inbox_call_state;
mod m20261204_000005_tool_call_fallbacks;
mod m20261204_000007_email_failed;
mod m20261204_000008_appointment_caller;
mod m20261206_000009_inbox_claims;
mod m20261208_000010_admission;

/// Name of the constraint (PostgreSQL) / trigger error message (SQLite) that
/// forbids overlapping booked appointments of one agent.
pub const APPOINTMENTS_NO_OVERLAP: &str = "appointments_no_overlap";

/// Every migration of the callsaga schema, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_initial::Migration),
            Box::new(m20261121_000002_email_outbox::Migration),
            Box::new(m20261203_000003_bounded_overlap_triggers::Migration),
            Box::new(m20261204_000004_inbox_call_state::Migration),
            Box::new(m20261204_000005_tool_call_fallbacks::Migration),
            Box::new(m20261204_000007_email_failed::Migration),
            Box::new(m20261204_000008_appointment_caller::Migration),
            Box::new(m20261206_000009_inbox_claims::Migration),
            Box::new(m20261208_000010_admission::Migration),
        ]
    }
}
