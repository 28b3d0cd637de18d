//! The run's report, printed and as JSON (`--json FILE`).

use crate::answers::Outcome;
use crate::invariants::Report as Invariants;
use crate::stats::LatencyRow;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub(crate) struct RunReport {
    pub(crate) seed: u64,
    pub(crate) calls: usize,
    pub(crate) concurrency: usize,
    pub(crate) time_factor: f64,
    pub(crate) faults: Vec<String>,
    pub(crate) faults_injected: BTreeMap<String, usize>,
    pub(crate) scenarios: BTreeMap<String, usize>,
    pub(crate) completed_calls: usize,
    pub(crate) failed_calls: usize,
    pub(crate) wall_secs: f64,
    pub(crate) calls_per_sec: f64,
    pub(crate) retries: u64,
    pub(crate) deliveries_failed: BTreeMap<String, u64>,
    pub(crate) latency: Vec<LatencyRow>,
    pub(crate) tool_outcomes: BTreeMap<String, BTreeMap<Outcome, u64>>,
    /// Where the RPC counts come from.
    pub(crate) rpc_source: String,
    pub(crate) rpcs_total: f64,
    pub(crate) rpcs_per_call: f64,
    pub(crate) rpcs_by_operation: BTreeMap<String, f64>,
    pub(crate) history_events_per_workflow: HistoryStats,
    /// Burst mode's summary (`--burst`).
    pub(crate) burst: Option<BurstReport>,
    pub(crate) invariants: Invariants,
    pub(crate) work_dir: Option<String>,
}

/// What the callers of a burst heard when they booked.
#[derive(Debug, Serialize)]
pub(crate) struct BurstReport {
    pub(crate) calls: usize,
    pub(crate) window_s: f64,
    /// Booking answer latency (ms).
    pub(crate) booking_p50_ms: f64,
    pub(crate) booking_p90_ms: f64,
    pub(crate) booking_p99_ms: f64,
    pub(crate) booking_max_ms: f64,
    /// Callers who heard the deadline answer ("confirming that now", `tools.deadline_ms`).
    pub(crate) at_deadline: u64,
    /// Callers who heard "the business will call you back" (not accepted in time).
    pub(crate) callbacks: u64,
    pub(crate) outcomes: BTreeMap<Outcome, u64>,
}

impl BurstReport {
    pub(crate) fn new(
        calls: usize,
        window_s: f64,
        quantiles: Option<Vec<f64>>,
        outcomes: BTreeMap<Outcome, u64>,
    ) -> Self {
        let q = quantiles.unwrap_or_else(|| vec![0.0; 4]);
        Self {
            calls,
            window_s,
            booking_p50_ms: q[0],
            booking_p90_ms: q[1],
            booking_p99_ms: q[2],
            booking_max_ms: q[3],
            at_deadline: outcomes.get(&Outcome::Confirming).copied().unwrap_or(0),
            callbacks: outcomes.get(&Outcome::Callback).copied().unwrap_or(0),
            outcomes,
        }
    }

    fn print(&self) {
        println!(
            "\nburst: {} calls within {} s, booking p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {} at the deadline (\"confirming\"), {} told they will be called back",
            self.calls,
            self.window_s,
            self.booking_p50_ms,
            self.booking_p90_ms,
            self.booking_p99_ms,
            self.booking_max_ms,
            self.at_deadline,
            self.callbacks
        );
    }
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct HistoryStats {
    pub(crate) workflows: usize,
    pub(crate) mean: f64,
    pub(crate) p50: usize,
    pub(crate) p95: usize,
    pub(crate) max: usize,
}

impl HistoryStats {
    pub(crate) fn of(mut counts: Vec<usize>) -> Self {
        if counts.is_empty() {
            return Self::default();
        }
        counts.sort_unstable();
        let at = |q: f64| counts[((counts.len() - 1) as f64 * q).round() as usize];
        Self {
            workflows: counts.len(),
            mean: counts.iter().sum::<usize>() as f64 / counts.len() as f64,
            p50: at(0.5),
            p95: at(0.95),
            max: counts[counts.len() - 1],
        }
    }
}

impl RunReport {
    pub(crate) fn print(&self) {
        println!(
            "\ncallsaga simulate: {} calls, {} at once, seed {}, time factor {}, faults [{}]",
            self.calls,
            self.concurrency,
            self.seed,
            self.time_factor,
            self.faults.join(",")
        );
        let mix: Vec<String> = self
            .scenarios
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("call mix: {}", mix.join(", "));
        if !self.faults_injected.is_empty() {
            let f: Vec<String> = self
                .faults_injected
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            println!("faults injected: {}", f.join(", "));
        }
        println!(
            "calls: {} completed, {} with undelivered messages; {:.1} s, {:.2} completed calls/s; {} retries",
            self.completed_calls,
            self.failed_calls,
            self.wall_secs,
            self.calls_per_sec,
            self.retries
        );
        if !self.deliveries_failed.is_empty() {
            println!(
                "deliveries that ran out of retries: {:?}",
                self.deliveries_failed
            );
        }
        println!("\nlatency per message type (ms)");
        println!(
            "  {:<40} {:>6} {:>8} {:>8} {:>8} {:>8}",
            "message", "n", "p50", "p95", "p99", "max"
        );
        for r in &self.latency {
            println!(
                "  {:<40} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                r.message, r.count, r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms
            );
        }
        println!("\ntool answers by outcome");
        for (tool, outcomes) in &self.tool_outcomes {
            let o: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k:?} {v}")).collect();
            println!("  {tool:<30} {}", o.join(", "));
        }
        println!(
            "\nTemporal operations per call ({}): {:.1} RPCs per call ({} in all)",
            self.rpc_source, self.rpcs_per_call, self.rpcs_total
        );
        for (op, n) in &self.rpcs_by_operation {
            println!(
                "  {op:<45} {n:>8} ({:.2}/call)",
                n / self.calls.max(1) as f64
            );
        }
        let h = &self.history_events_per_workflow;
        println!(
            "history events per workflow: mean {:.1}, p50 {}, p95 {}, max {} ({} workflows)",
            h.mean, h.p50, h.p95, h.max, h.workflows
        );
        if let Some(b) = &self.burst {
            b.print();
        }
        if let Some(d) = &self.work_dir {
            println!("stack folder (database, logs, mail): {d}");
        }
        self.invariants.print();
    }
}
