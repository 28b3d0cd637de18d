//! Simulated time: runs `factor` times faster than real time from the start of the run, so a
//! call of three minutes takes six seconds at 30× while its timestamps still say three minutes.

use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    real_start: Instant,
    wall_start: DateTime<Utc>,
    factor: f64,
}

impl Clock {
    pub(crate) fn new(factor: f64) -> Self {
        Self {
            real_start: Instant::now(),
            wall_start: Utc::now(),
            factor: factor.max(0.01),
        }
    }

    /// The simulated wall-clock time now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let real = self.real_start.elapsed().as_secs_f64();
        self.wall_start + chrono::Duration::milliseconds((real * self.factor * 1000.0) as i64)
    }

    /// Waits `secs` of simulated time.
    pub(crate) async fn sleep(&self, secs: f64) {
        let real = (secs / self.factor).max(0.0);
        tokio::time::sleep(Duration::from_secs_f64(real)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn simulated_time_runs_factor_times_faster() {
        let clock = Clock::new(100.0);
        let before = clock.now();
        let real = Instant::now();
        clock.sleep(5.0).await;
        let simulated = (clock.now() - before).num_milliseconds();
        assert!(
            real.elapsed() < Duration::from_millis(500),
            "slept 5 s / 100"
        );
        assert!(simulated >= 5_000, "{simulated} ms of simulated time");
    }
}
