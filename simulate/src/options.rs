//! Command-line options of `callsaga simulate` and `callsaga check`.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Calls to simulate.
    #[arg(long, default_value_t = 100)]
    pub calls: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seed of everything random (the call mix, timings, faults): the same seed repeats a run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated time runs this many times faster than real time (calls of 1–4 minutes take
    /// seconds at 30). Timestamps in the payloads are in simulated time, so durations stay
    /// realistic.
    #[arg(long, default_value_t = 1.0)]
    pub time_factor: f64,
    /// The callsaga to drive (ignored with --spawn). Several, comma-separated, are API replicas
    /// of one deployment: requests go round-robin across them (as a load balancer spreads them),
    /// a retry to the next one, and the RPC counts are summed over all of them.
    #[arg(long, default_value = "http://127.0.0.1:3000", value_delimiter = ',')]
    pub url: Vec<String>,
    /// Its database, for the invariant report (ignored with --spawn).
    #[arg(long, env = "CALLSAGA_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Its Temporal frontend, for histories and the Temporal invariants (ignored with --spawn).
    #[arg(long, default_value = "http://127.0.0.1:7233")]
    pub temporal_address: String,
    #[arg(long, default_value = "default")]
    pub temporal_namespace: String,
    /// `Authorization: Bearer <token>` on every webhook (as Vapi's bearer credential).
    #[arg(long, env = "CALLSAGA_SIMULATE_BEARER")]
    pub bearer: Option<String>,
    /// `x-vapi-secret: <secret>` on every webhook (Vapi's legacy secret).
    #[arg(long, env = "CALLSAGA_SIMULATE_VAPI_SECRET")]
    pub vapi_secret: Option<String>,
    /// Runs its own stack as separate processes: a Temporal dev server, `callsaga api` and
    /// `callsaga worker` on a fresh SQLite database in --work-dir (or --spawn-database-url), so
    /// process faults can kill and restart them.
    #[arg(long)]
    pub spawn: bool,
    /// The spawned stack without Radicale and aiosmtpd: the embedded calendar and the file mail
    /// backend (no CalDAV or SMTP outages then).
    #[arg(long)]
    pub no_testservers: bool,
    /// Database of the spawned stack (default: a fresh SQLite file in --work-dir).
    #[arg(long)]
    pub spawn_database_url: Option<String>,
    /// Where a spawned stack keeps its database, mail folder and logs (default: a new folder
    /// under the system's temporary folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Faults to inject (seeded), comma-separated; `all` for every kind.
    #[arg(long, value_delimiter = ',')]
    pub faults: Vec<FaultKind>,
    /// Deliveries Vapi retries after a failed one (its `backoffPlan.maxRetries`).
    #[arg(long, default_value_t = 8)]
    pub max_retries: u32,
    /// First retry delay; each further one doubles (`backoffPlan` type exponential), real time.
    #[arg(long, default_value_t = 500)]
    pub base_delay_ms: u64,
    /// How long to wait, after the last call, for every workflow to close.
    #[arg(long, default_value_t = 180)]
    pub settle_secs: u64,
    /// Burst mode: this many calls (instead of --calls, all at once) start within
    /// --burst-window-s, each booking in its first seconds; the report adds booking p50/p90/p99
    /// and how many callers heard the deadline answer.
    #[arg(long)]
    pub burst: Option<usize>,
    /// The window of a burst's starts, in real seconds.
    #[arg(long, default_value_t = 3.0)]
    pub burst_window_s: f64,
    /// Writes the report as JSON too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar (CI logs).
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Every kind below.
    All,
    /// A delivery sent 1–3 more times (same body).
    Duplicates,
    /// Asynchronous events of a call sent out of order.
    Reorder,
    /// Status updates that never arrive.
    DropStatus,
    /// No end-of-call report: the watchdog must close the call.
    MissingReport,
    /// A call whose deliveries Temporal always rejects (its workflow id is longer than the
    /// spawned server allows): its events must end up dead, the other calls unaffected.
    Poison,
    /// kill -9 of the worker process at seeded moments, then a restart (--spawn).
    KillWorker,
    /// kill -9 of the API process at seeded moments, then a restart (--spawn).
    KillApi,
    /// The Temporal server frozen (SIGSTOP) for 30–60 s (--spawn).
    FreezeTemporal,
    /// The Temporal server stopped and started again on the same port and database file
    /// (--spawn).
    RestartTemporal,
    /// The CalDAV server (Radicale) down for 10–25 s, then back with its storage (--spawn).
    CaldavOutage,
    /// The SMTP server (aiosmtpd) down for 10–25 s, then back (--spawn).
    SmtpOutage,
}

impl FaultKind {
    pub const EVERY: [FaultKind; 11] = [
        FaultKind::Duplicates,
        FaultKind::Reorder,
        FaultKind::DropStatus,
        FaultKind::MissingReport,
        FaultKind::Poison,
        FaultKind::KillWorker,
        FaultKind::KillApi,
        FaultKind::FreezeTemporal,
        FaultKind::RestartTemporal,
        FaultKind::CaldavOutage,
        FaultKind::SmtpOutage,
    ];

    pub fn is_process_fault(self) -> bool {
        matches!(
            self,
            FaultKind::KillWorker
                | FaultKind::KillApi
                | FaultKind::FreezeTemporal
                | FaultKind::RestartTemporal
                | FaultKind::CaldavOutage
                | FaultKind::SmtpOutage
        )
    }
}

/// The fault kinds of a run, with `all` expanded.
pub(crate) fn expand(kinds: &[FaultKind]) -> Vec<FaultKind> {
    let mut out: Vec<FaultKind> = if kinds.contains(&FaultKind::All) {
        FaultKind::EVERY.to_vec()
    } else {
        kinds.to_vec()
    };
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Vapi call ids whose dead inbox events are expected (poison calls of a simulation).
    #[arg(long, value_delimiter = ',')]
    pub expect_dead: Vec<String>,
    /// Writes the invariant report as JSON too.
    #[arg(long)]
    pub json: Option<PathBuf>,
}
