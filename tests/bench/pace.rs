//! How a simulated call paces its requests, shared by the benches: calls start spread over one
//! gap (so `concurrency` calls are that many calls in progress, not a burst), then each sends a
//! request every gap. A request that comes back late delays the next one instead of bunching
//! the following ones up (a caller waits for the answer before talking on).

use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Copy)]
pub(crate) struct Pace {
    next: Instant,
    gap: Duration,
}

impl Pace {
    /// The pace of call `slot` of `concurrency`, counted from `begin`.
    pub(crate) fn new(begin: Instant, gap: Duration, slot: usize, concurrency: usize) -> Self {
        Self {
            next: begin + gap.mul_f64(slot as f64 / concurrency.max(1) as f64),
            gap,
        }
    }

    /// Waits until the next request is due.
    pub(crate) async fn tick(&mut self) {
        tokio::time::sleep_until(self.next).await;
        self.next = Instant::now().max(self.next) + self.gap;
    }
}
