//! Declarations of the activities the workflows call. The implementations live in
//! `callsaga-activities` and bind to these by `#[activity(definition = ...)]`, which checks at
//! compile time that input and output types match. Names are pinned: renaming a Rust item must
//! never change the activity type recorded in running workflows' histories.

use crate::payloads::{ApplyEventInput, CallSnapshot};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;

/// Activities that keep the `calls` row in step with the webhook events of a call.
pub struct CallRecordActivities;

#[activity_definitions]
impl CallRecordActivities {
    /// Applies one inbox event to the call row (idempotent upsert; status never moves backwards).
    #[activity(name = "call.apply_event")]
    pub fn apply_event(input: ApplyEventInput) -> Result<CallSnapshot, ActivityError> {
        unimplemented!()
    }
}

/// Marker types, for `#[activity(definition = ...)]` in the implementing crate.
pub mod markers {
    pub use super::call_record_activities::ApplyEvent;
}
