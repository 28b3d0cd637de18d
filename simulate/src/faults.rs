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

/// The seeded moments (seconds after the start) and durations of each process fault within a
/// run whose calls arrive for `span` seconds. The freeze, the Temporal restart and the CalDAV
/// outage come one after the other (from early in the run), so that calls meet each of them
/// alone — a booking during the CalDAV outage with Temporal up is what makes "confirming"
/// answers; the kills and the SMTP outage fall anywhere in the first 80 %.
pub(crate) fn schedule(
    faults: &[FaultKind],
    seed: u64,
    span: f64,
) -> Vec<(f64, FaultKind, Duration)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xFA17);
    let span = span.max(5.0);
    let mut events = Vec::new();
    let mut chain = rng.random_range(0.05..0.15) * span;
    for f in [
        FaultKind::FreezeTemporal,
        FaultKind::RestartTemporal,
        FaultKind::CaldavOutage,
    ] {
        if !faults.contains(&f) {
            continue;
        }
        let lasts = Duration::from_secs(match f {
            FaultKind::FreezeTemporal => rng.random_range(30..=60),
            FaultKind::CaldavOutage => rng.random_range(10..=25),
            _ => 0,
        });
        events.push((chain, f, lasts));
        chain += lasts.as_secs_f64() + rng.random_range(3.0..8.0);
    }
    for f in [
        FaultKind::KillWorker,
        FaultKind::KillApi,
        FaultKind::KillWorker,
        FaultKind::KillApi,
        FaultKind::SmtpOutage,
    ] {
        if faults.contains(&f) {
            let lasts = Duration::from_secs(rng.random_range(10..=25));
            events.push((rng.random_range(0.1..0.8) * span, f, lasts));
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
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (at, f, lasts) in schedule(&faults, seed, span) {
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
    fn every_process_fault_is_scheduled_and_the_lasting_ones_do_not_overlap() {
        let every = FaultKind::EVERY.to_vec();
        let events = schedule(&every, 30, 100.0);
        for f in every.iter().filter(|f| f.is_process_fault()) {
            let n = events.iter().filter(|(_, k, _)| k == f).count();
            let want = if matches!(f, FaultKind::KillWorker | FaultKind::KillApi) {
                2
            } else {
                1
            };
            assert_eq!(n, want, "{f:?}");
        }
        let at = |k: FaultKind| events.iter().find(|e| e.1 == k).expect("scheduled");
        let (freeze, restart, caldav) = (
            at(FaultKind::FreezeTemporal),
            at(FaultKind::RestartTemporal),
            at(FaultKind::CaldavOutage),
        );
        assert!((30..=60).contains(&freeze.2.as_secs()));
        assert!(freeze.0 + freeze.2.as_secs_f64() < restart.0 && restart.0 < caldav.0);
        assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(events, schedule(&every, 30, 100.0));
    }
}
