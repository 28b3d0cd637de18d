//! `simulate` and `check`: wiring the plan, the driver, the faults and the reports together.

use crate::answers::Heard;
use crate::call::{CallResult, CallRun};
use crate::clock::Clock;
use crate::invariants::{self, Report};
use crate::options::{CheckArgs, FaultKind, SimulateArgs, expand};
use crate::plan::{Arrivals, plans};
use crate::report::{BurstReport, HistoryStats, RunReport};
use crate::sender::Sender;
use crate::settle::{settle, workflow_facts};
use crate::stack::Stack;
pub use crate::stack::StackTools;
use crate::stats::Stats;
use crate::{mail, metrics_text, temporal_ops};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `callsaga check`: the database invariants of `database_url`. Returns whether all pass.
pub async fn check(database_url: &str, args: CheckArgs) -> anyhow::Result<bool> {
    let db = sea_orm::Database::connect(database_url)
        .await
        .context("failed to connect to the database")?;
    let scope = invariants::db::Scope {
        starting_balances: None,
        expect_dead: args.expect_dead.into_iter().collect(),
    };
    let report = Report {
        lines: invariants::db::check(&db, &scope).await?,
    };
    report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report.passed())
}

/// The latency series of bookings.
const BOOK: &str = "tool-calls:book_appointment";

/// A burst call books within this many real seconds of its start.
const BURST_BOOKS_WITHIN_SECS: f64 = 2.0;

struct Target {
    /// One or more API replicas of the same deployment.
    urls: Vec<String>,
    database_url: String,
    temporal_address: String,
    bearer: Option<String>,
}

/// `callsaga simulate`. Returns whether every invariant passed.
pub async fn simulate(mut args: SimulateArgs, tools: StackTools) -> anyhow::Result<bool> {
    if let Some(n) = args.burst {
        anyhow::ensure!(
            args.burst_window_s > 0.0 && args.burst_window_s.is_finite(),
            "--burst-window-s must be above 0"
        );
        args.calls = n;
        args.concurrency = n;
    }
    anyhow::ensure!(
        args.calls > 0 && args.concurrency > 0,
        "--calls and --concurrency must be at least 1"
    );
    anyhow::ensure!(
        args.time_factor > 0.0 && args.time_factor.is_finite(),
        "--time-factor must be above 0"
    );
    let faults = expand(&args.faults);
    let process_faults: Vec<FaultKind> = faults
        .iter()
        .copied()
        .filter(|f| f.is_process_fault())
        .collect();
    anyhow::ensure!(
        args.spawn || process_faults.is_empty(),
        "process faults ({process_faults:?}) need --spawn: against a remote deployment the simulator cannot kill its processes"
    );
    anyhow::ensure!(
        args.spawn || !faults.contains(&FaultKind::Poison),
        "the poison call needs --spawn (it relies on the spawned server's workflow id limit)"
    );
    let stack = if args.spawn {
        let dir = args.work_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "callsaga-simulate-{}-{}",
                args.seed,
                uuid::Uuid::new_v4().simple()
            ))
        });
        eprintln!(
            "starting the stack in {} (Temporal dev server, callsaga api, callsaga worker)",
            dir.display()
        );
        Some(
            Stack::start(
                tools,
                dir,
                args.spawn_database_url.clone(),
                args.seed,
                !args.no_testservers,
            )
            .await?,
        )
    } else {
        None
    };
    let target = match &stack {
        Some(s) => Target {
            urls: vec![s.api_url.clone()],
            database_url: s.database_url.clone(),
            temporal_address: s.temporal_address.clone(),
            bearer: Some(s.bearer.clone()),
        },
        None => Target {
            urls: args.url.clone(),
            database_url: args.database_url.clone().context(
                "--database-url (or CALLSAGA_DATABASE_URL) is needed for the invariant report",
            )?,
            temporal_address: args.temporal_address.clone(),
            bearer: args.bearer.clone(),
        },
    };
    let stack = stack.map(|s| Arc::new(tokio::sync::Mutex::new(s)));
    let result = drive(&args, &faults, &target, stack.clone()).await;
    if let Some(s) = stack
        && let Ok(s) = Arc::try_unwrap(s)
    {
        s.into_inner().stop().await;
    }
    result
}

async fn drive(
    args: &SimulateArgs,
    faults: &[FaultKind],
    target: &Target,
    stack: Option<Arc<tokio::sync::Mutex<Stack>>>,
) -> anyhow::Result<bool> {
    let db = sea_orm::Database::connect(&target.database_url)
        .await
        .context("failed to connect to the database")?;
    let temporal =
        temporal_ops::connect(&target.temporal_address, &args.temporal_namespace).await?;
    let starting = invariants::db::starting_balances(&db).await?;
    let rpc_urls: Vec<String> = match &stack {
        Some(s) => vec![s.lock().await.temporal_metrics_url()],
        None => target
            .urls
            .iter()
            .map(|u| format!("{}/metrics", u.trim_end_matches('/')))
            .collect(),
    };
    let stack_counts_rpcs = stack.is_some();
    let (rpc_source, rpc_metric, rpc_filter): (&str, &str, Vec<(&str, &str)>) = if stack_counts_rpcs
    {
        (
            "the Temporal server's service_requests, frontend",
            "service_requests",
            vec![("service_name", "frontend")],
        )
    } else {
        (
            "the API process's callsaga_temporal_rpcs_total",
            "callsaga_temporal_rpcs_total",
            vec![],
        )
    };
    let http = reqwest::Client::new();
    let rpcs = |text: &str| metrics_text::sum_by(text, rpc_metric, &rpc_filter, "operation");
    let rpcs_before = summed_rpcs(&http, &rpc_urls, rpcs).await;

    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let plans = plans(
        args.seed,
        args.calls,
        faults,
        match args.burst {
            Some(_) => Arrivals::Burst {
                window: args.burst_window_s * args.time_factor,
                first: BURST_BOOKS_WITHIN_SECS * args.time_factor,
            },
            None => Arrivals::Poisson(args.concurrency as f64 / 75.0),
        },
        today,
    );
    let mut injected: BTreeMap<String, usize> = BTreeMap::new();
    for p in &plans {
        for (on, name) in [
            (p.faults.duplicates, "duplicates"),
            (p.faults.reorder, "reorder"),
            (p.faults.drop_status, "drop-status"),
            (p.faults.missing_report, "missing-report"),
            (p.faults.poison, "poison"),
        ] {
            if on {
                *injected.entry(name.to_owned()).or_default() += 1;
            }
        }
    }
    let stats = Arc::new(Stats::default());
    let sender = Sender::new(
        &target.urls,
        target.bearer.clone(),
        args.vapi_secret.clone(),
        args.max_retries,
        Duration::from_millis(args.base_delay_ms),
        stats.clone(),
    )?;
    let clock = Clock::new(args.time_factor);
    let heard: Arc<Mutex<Vec<Heard>>> = Arc::default();
    let bar = progress(args);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    // Process faults at seeded moments while the calls run.
    let span = plans.last().map(|p| p.arrives_at).unwrap_or(0.0) / args.time_factor
        + 60.0 / args.time_factor;
    let process_faults = tokio::spawn(crate::faults::inject(
        stack.clone(),
        faults.to_vec(),
        args.seed,
        span,
    ));

    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let mut tasks = Vec::new();
    for plan in plans.iter().cloned() {
        let (sender, heard, gate, bar, in_flight, failed) = (
            sender.clone(),
            heard.clone(),
            gate.clone(),
            bar.clone(),
            in_flight.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            clock.sleep(plan.arrives_at).await;
            let _permit = gate.acquire_owned().await.ok();
            in_flight.fetch_add(1, Ordering::Relaxed);
            let result = CallRun::new(&plan, clock, &sender, &heard).run().await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            if !result.delivered {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            bar.inc(1);
            bar.set_message(format!(
                "{} in flight, {} failed",
                in_flight.load(Ordering::Relaxed),
                failed.load(Ordering::Relaxed)
            ));
            result
        }));
    }
    let mut results: Vec<CallResult> = Vec::new();
    for t in tasks {
        results.push(t.await?);
    }
    bar.finish_with_message(format!("{} failed", failed.load(Ordering::Relaxed)));
    let drive_secs = started.elapsed().as_secs_f64();
    let process_injected = process_faults.await.unwrap_or_default();
    for (k, v) in process_injected {
        *injected.entry(k).or_default() += v;
    }

    // Settle: every workflow closed and the inbox drained (or --settle-secs passed).
    let poison: HashSet<String> = results
        .iter()
        .filter(|r| r.poison)
        .map(|r| r.vapi_call_id.clone())
        .collect();
    settle(
        &db,
        &results,
        &poison,
        Duration::from_secs(args.settle_secs),
    )
    .await;
    let wall_secs = started.elapsed().as_secs_f64();
    let rpcs_after = summed_rpcs(&http, &rpc_urls, rpcs).await;
    // A restarted Temporal server counts from zero again: its last counts before each restart.
    let before_restarts: Vec<BTreeMap<String, f64>> = match &stack {
        Some(s) if stack_counts_rpcs => s
            .lock()
            .await
            .metrics_before_restarts
            .iter()
            .map(|t| rpcs(t))
            .collect(),
        _ => Vec::new(),
    };
    let rpc_delta =
        metrics_text::delta_across_restarts(&rpcs_before, &before_restarts, &rpcs_after);

    let workflows = workflow_facts(&temporal, &results, Duration::from_secs(60)).await;
    let events: Vec<usize> = workflows
        .iter()
        .filter(|(id, _)| !poison.contains(*id))
        .map(|(_, w)| w.events)
        .collect();

    let heard = heard.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let numbers: HashMap<String, String> = plans
        .iter()
        .map(|p| (p.call_id.clone(), p.caller_number.clone()))
        .collect();
    let simulated: Vec<invariants::temporal::Simulated<'_>> = results
        .iter()
        .map(|r| invariants::temporal::Simulated {
            vapi_call_id: &r.vapi_call_id,
            poison: r.poison,
            report_sent: r.report_sent,
        })
        .collect();
    let mut lines = invariants::temporal::check(&db, &simulated, &workflows).await?;
    let scope = invariants::db::Scope {
        starting_balances: Some(starting),
        expect_dead: poison.clone(),
    };
    lines.extend(invariants::db::check(&db, &scope).await?);
    lines.extend(invariants::heard::check(&db, &heard, &numbers).await?);
    if let Some(s) = &stack {
        lines.push(mail::check(&s.lock().await.mail_dir));
    }
    lines.push(lost_deliveries(&results));

    let completed = results.iter().filter(|r| r.delivered && !r.poison).count();
    let rpcs_total: f64 = rpc_delta.values().sum();
    let normal_calls = results.iter().filter(|r| !r.poison).count().max(1);
    let report = RunReport {
        seed: args.seed,
        calls: args.calls,
        concurrency: args.concurrency,
        time_factor: args.time_factor,
        faults: faults.iter().map(|f| format!("{f:?}")).collect(),
        faults_injected: injected,
        scenarios: plans.iter().fold(BTreeMap::new(), |mut m, p| {
            *m.entry(format!("{:?}", p.scenario)).or_default() += 1;
            m
        }),
        completed_calls: completed,
        failed_calls: results.iter().filter(|r| !r.delivered).count(),
        wall_secs,
        calls_per_sec: completed as f64 / drive_secs.max(0.001),
        retries: stats.retries(),
        deliveries_failed: stats.failures(),
        latency: stats.latency_rows(),
        tool_outcomes: stats.outcomes(),
        rpc_source: rpc_source.to_owned(),
        rpcs_total,
        rpcs_per_call: rpcs_total / normal_calls as f64,
        rpcs_by_operation: rpc_delta,
        history_events_per_workflow: HistoryStats::of(events),
        burst: args.burst.map(|n| {
            BurstReport::new(
                n,
                args.burst_window_s,
                stats.quantiles(BOOK, &[0.5, 0.9, 0.99, 1.0]),
                stats
                    .outcomes()
                    .remove("book_appointment")
                    .unwrap_or_default(),
            )
        }),
        invariants: Report { lines },
        work_dir: match &stack {
            Some(s) => Some(s.lock().await.dir().display().to_string()),
            None => None,
        },
    };
    report.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    Ok(report.invariants.passed())
}

fn lost_deliveries(results: &[CallResult]) -> invariants::Line {
    let v = results
        .iter()
        .filter(|r| !r.delivered && !r.poison)
        .map(|r| {
            format!(
                "{}: a delivery ran out of retries",
                invariants::call_ref(&r.vapi_call_id)
            )
        })
        .collect();
    invariants::Line::new(
        "every delivery was eventually answered (none lost to an outage)",
        results.len(),
        v,
    )
}

fn progress(args: &SimulateArgs) -> ProgressBar {
    if args.no_progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(args.calls as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} calls done, {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// The RPC counts by operation, summed over every replica's metrics page.
async fn summed_rpcs(
    http: &reqwest::Client,
    urls: &[String],
    rpcs: impl Fn(&str) -> BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    let mut sum = BTreeMap::new();
    for url in urls {
        for (op, n) in rpcs(&fetch_text(http, url).await.unwrap_or_default()) {
            *sum.entry(op).or_insert(0.0) += n;
        }
    }
    sum
}

async fn fetch_text(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    Ok(http
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await?
        .text()
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_lost_a_delivery_fails_the_report_but_a_poison_call_does_not() {
        let r = |id: &str, delivered, poison| CallResult {
            vapi_call_id: id.into(),
            delivered,
            poison,
            report_sent: true,
        };
        assert!(lost_deliveries(&[r("a", true, false), r("p", false, true)]).pass);
        let line = lost_deliveries(&[r("a", true, false), r("b", false, false)]);
        assert!(!line.pass);
        assert!(
            line.violations[0].contains("workflow call-b"),
            "{:?}",
            line.violations
        );
    }
}
