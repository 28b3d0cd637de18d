//! What the run measured: latency per message type (HdrHistogram, µs), retries, failures and
//! the tool answers by outcome.

use crate::answers::Outcome;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    latency: BTreeMap<String, Histogram<u64>>,
    retries: u64,
    failed: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, BTreeMap<Outcome, u64>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct LatencyRow {
    pub(crate) message: String,
    pub(crate) count: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn latency(&self, message: &str, took: Duration) {
        let mut s = self.lock();
        let h = s.latency.entry(message.to_owned()).or_insert_with(|| {
            Histogram::new_with_bounds(1, 600_000_000, 3).expect("static bounds")
        });
        let _ = h.record((took.as_micros() as u64).clamp(1, 600_000_000));
    }

    pub(crate) fn retry(&self) {
        self.lock().retries += 1;
    }

    pub(crate) fn failed(&self, message: &str) {
        *self.lock().failed.entry(message.to_owned()).or_default() += 1;
    }

    pub(crate) fn outcome(&self, tool: &str, outcome: Outcome) {
        *self
            .lock()
            .outcomes
            .entry(tool.to_owned())
            .or_default()
            .entry(outcome)
            .or_default() += 1;
    }

    pub(crate) fn retries(&self) -> u64 {
        self.lock().retries
    }

    pub(crate) fn failures(&self) -> BTreeMap<String, u64> {
        self.lock().failed.clone()
    }

    pub(crate) fn outcomes(&self) -> BTreeMap<String, BTreeMap<Outcome, u64>> {
        self.lock().outcomes.clone()
    }

    /// The `quantiles` of `message`'s latency in ms (None when it has no samples).
    pub(crate) fn quantiles(&self, message: &str, quantiles: &[f64]) -> Option<Vec<f64>> {
        let s = self.lock();
        let h = s.latency.get(message).filter(|h| !h.is_empty())?;
        Some(
            quantiles
                .iter()
                .map(|q| h.value_at_quantile(*q) as f64 / 1000.0)
                .collect(),
        )
    }

    pub(crate) fn latency_rows(&self) -> Vec<LatencyRow> {
        let ms = |us: u64| us as f64 / 1000.0;
        self.lock()
            .latency
            .iter()
            .map(|(m, h)| LatencyRow {
                message: m.clone(),
                count: h.len(),
                p50_ms: ms(h.value_at_quantile(0.50)),
                p95_ms: ms(h.value_at_quantile(0.95)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                max_ms: ms(h.max()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_samples() {
        let s = Stats::default();
        for ms in 1..=100 {
            s.latency("status-update", Duration::from_millis(ms));
        }
        s.latency("tool-calls:book_appointment", Duration::from_millis(800));
        let rows = s.latency_rows();
        let status = rows
            .iter()
            .find(|r| r.message == "status-update")
            .expect("row");
        assert_eq!(status.count, 100);
        assert!((status.p50_ms - 50.0).abs() < 0.5, "{status:?}");
        assert!((status.p99_ms - 99.0).abs() < 0.5, "{status:?}");
        let book = rows
            .iter()
            .find(|r| r.message.ends_with("book_appointment"))
            .expect("row");
        assert!((book.p50_ms - 800.0).abs() < 1.0, "{book:?}");
        let q = s.quantiles("status-update", &[0.5, 0.9]).expect("samples");
        assert!((q[1] - 90.0).abs() < 0.5, "{q:?}");
        assert!(s.quantiles("end-of-call-report", &[0.5]).is_none());
    }
}
