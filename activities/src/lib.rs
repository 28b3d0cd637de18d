//! Activity implementations: everything that touches the database, calendars and email.
//!
//! Every activity is idempotent — its effect is keyed by the workflow id and the step, or it is a
//! merge that gives the same row however often it runs — so a Temporal retry, or a replay after a
//! worker crash, never doubles an effect.

pub mod availability;
pub mod call_record;
pub mod failure;
pub mod ledger;
pub mod pricing;
pub mod tenant;
pub mod vapi;

pub use call_record::CallRecordActivitiesImpl;

use sea_orm::DatabaseConnection;

/// The dependencies activities share. Cheap to clone.
#[derive(Clone)]
pub struct Activities {
    pub db: DatabaseConnection,
}

impl Activities {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
