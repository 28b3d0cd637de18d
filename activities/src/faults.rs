//! Fault injection for tests: make the next run(s) of a named activity fail, permanently or
//! transiently, so every saga's compensation path can be exercised against the real worker.
//! Empty in production (nothing ever adds to it outside tests).

use crate::failure::{permanent, transient};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use temporalio_sdk::activities::ActivityError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fails with a non-retryable error of type `InjectedFault`.
    Permanent,
    /// Fails with a retryable error.
    Transient,
    /// Does the work, then fails as if the result was lost (the activity "succeeded but timed
    /// out"): exercises idempotency of retries.
    AfterEffect,
    /// Waits this long, then does the work (a slow calendar or database): holds a saga step
    /// open while a test stops Temporal around it.
    Slow(std::time::Duration),
}

#[derive(Clone, Default)]
pub struct FaultPlan(Arc<Mutex<HashMap<String, Vec<Fault>>>>);

impl FaultPlan {
    /// The next `times` runs of `activity` (its pinned name, e.g. `appointments.record`) fail.
    pub fn fail(&self, activity: &str, fault: Fault, times: usize) {
        let mut plan = self.0.lock().unwrap_or_else(|p| p.into_inner());
        plan.entry(activity.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(fault, times));
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The next fault planned for `activity`, if any (also used by the API's relay, keyed
    /// `relay.deliver:<vapi call id>`).
    pub fn take(&self, activity: &str) -> Option<Fault> {
        let mut plan = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let queue = plan.get_mut(activity)?;
        (!queue.is_empty()).then(|| queue.remove(0))
    }

    /// Checks before the effect: `Permanent` and `Transient` faults fail here.
    pub(crate) fn before(&self, activity: &str) -> Result<Option<Fault>, ActivityError> {
        match self.take(activity) {
            Some(Fault::Permanent) => Err(permanent(
                "InjectedFault",
                format!("{activity}: injected permanent fault"),
            )),
            Some(Fault::Transient) => Err(transient(anyhow::anyhow!(
                "{activity}: injected transient fault"
            ))),
            other => Ok(other),
        }
    }

    /// After the effect: an `AfterEffect` fault loses the result.
    pub(crate) fn after(activity: &str, fault: Option<Fault>) -> Result<(), ActivityError> {
        if fault == Some(Fault::AfterEffect) {
            return Err(transient(anyhow::anyhow!(
                "{activity}: injected loss of the result after the effect"
            )));
        }
        Ok(())
    }
}
