//! The process and outside-world faults of a spawned stack, at seeded moments while the calls
//! run: kill -9 of the worker and the API (then a restart), the Temporal server frozen or
//! restarted, CalDAV and SMTP outages.

use crate::options::FaultKind;
use crate::stack::{Process, Stack};
use crate::testservers::Kind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The seeded moments (seconds after the start, within `span`) of each process fault.
pub(crate) fn schedule(faults: &[FaultKind], seed: u64, span: f64) -> Vec<(f64, FaultKind)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xFA17);
    let mut events: Vec<(f64, FaultKind)> = Vec::new();
    for f in faults.iter().copied().filter(|f| f.is_process_fault()) {
        let times = match f {
            FaultKind::KillWorker | FaultKind::KillApi => 2,
            _ => 1,
        };
        for _ in 0..times {
            events.push((rng.random_range(0.1..0.8) * span.max(5.0), f));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    events
}

/// Injects the process faults of `faults` into `stack` at their moments; faults that last (a
/// freeze, an outage) hold the stack only to begin and to end, so others can happen meanwhile.
/// Returns what it did.
pub(crate) async fn inject(
    stack: Option<Arc<tokio::sync::Mutex<Stack>>>,
    faults: Vec<FaultKind>,
    seed: u64,
    span: f64,
) -> BTreeMap<String, usize> {
    let mut done = BTreeMap::new();
    let Some(stack) = stack else { return done };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0DD5);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (at, f) in schedule(&faults, seed, span) {
        let lasts = Duration::from_secs(match f {
            FaultKind::FreezeTemporal => rng.random_range(30..=60),
            _ => rng.random_range(10..=25),
        });
        let stack = stack.clone();
        tasks.push(tokio::spawn(async move {
            let wait = at - start.elapsed().as_secs_f64();
            if wait > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            }
            let outcome = one(&stack, f, lasts).await;
            if let Err(e) = &outcome {
                eprintln!("fault {f:?} could not be injected: {e:#}");
            }
            (f, outcome.is_ok())
        }));
    }
    for t in tasks {
        if let Ok((f, true)) = t.await {
            *done.entry(format!("{f:?}")).or_default() += 1;
        }
    }
    done
}

async fn one(
    stack: &tokio::sync::Mutex<Stack>,
    f: FaultKind,
    lasts: Duration,
) -> anyhow::Result<()> {
    match f {
        FaultKind::KillWorker => stack.lock().await.kill_and_restart(Process::Worker).await,
        FaultKind::KillApi => stack.lock().await.kill_and_restart(Process::Api).await,
        FaultKind::RestartTemporal => stack.lock().await.restart_temporal().await,
        FaultKind::FreezeTemporal => {
            stack.lock().await.freeze_temporal()?;
            tokio::time::sleep(lasts).await;
            stack.lock().await.thaw_temporal()
        }
        FaultKind::CaldavOutage | FaultKind::SmtpOutage => {
            let kind = if f == FaultKind::CaldavOutage {
                Kind::Radicale
            } else {
                Kind::Smtp
            };
            stack.lock().await.stop_server(kind).await?;
            tokio::time::sleep(lasts).await;
            stack.lock().await.start_server(kind).await
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_process_fault_is_scheduled_within_the_span_and_kills_twice() {
        let every = FaultKind::EVERY.to_vec();
        let events = schedule(&every, 30, 100.0);
        for f in every.iter().filter(|f| f.is_process_fault()) {
            let n = events.iter().filter(|(_, k)| k == f).count();
            let want = if matches!(f, FaultKind::KillWorker | FaultKind::KillApi) { 2 } else { 1 };
            assert_eq!(n, want, "{f:?}");
        }
        assert!(events.iter().all(|(t, _)| (10.0..80.0).contains(t)));
        assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(events, schedule(&every, 30, 100.0));
    }
}
