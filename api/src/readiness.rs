//! What `/readyz` knows beyond a database ping: whether Temporal has answered recently (a
//! probe task, not "connected once"), and whether this process's background tasks (the inbox
//! writer, the relay) are still running. `/healthz` stays liveness only.

use crate::temporal::LazyClient;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Shared between the probe, the task guards and the `/readyz` handler; cheap to clone.
#[derive(Clone)]
pub struct Readiness {
    inner: Arc<Inner>,
}

struct Inner {
    /// Temporal unreachable longer than this makes the process unready.
    unready_after: Duration,
    temporal: Mutex<TemporalSeen>,
    relay_died: AtomicBool,
}

struct TemporalSeen {
    /// The last successful probe (or the start, before the first one).
    last_ok: Instant,
    last_error: Option<String>,
}

impl Readiness {
    pub fn new(unready_after: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                unready_after,
                temporal: Mutex::new(TemporalSeen {
                    last_ok: Instant::now(),
                    last_error: None,
                }),
                relay_died: AtomicBool::new(false),
            }),
        }
    }

    fn temporal(&self) -> std::sync::MutexGuard<'_, TemporalSeen> {
        self.inner
            .temporal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn temporal_answered(&self) {
        let mut seen = self.temporal();
        seen.last_ok = Instant::now();
        seen.last_error = None;
    }

    fn temporal_failed(&self, error: String) {
        self.temporal().last_error = Some(error);
    }

    /// Why this process is not ready (empty: ready), apart from the database ping.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        {
            let seen = self.temporal();
            let silent = seen.last_ok.elapsed();
            if let Some(error) = &seen.last_error
                && silent > self.inner.unready_after
            {
                out.push(format!(
                    "Temporal unreachable for {} s (threshold {} s): {error}",
                    silent.as_secs(),
                    self.inner.unready_after.as_secs()
                ));
            }
        }
        if self.inner.relay_died.load(Ordering::Acquire) {
            out.push("the inbox relay task has stopped".to_owned());
        }
        out
    }

    /// A guard for the relay task: dropped without [`TaskGuard::finished`] (a panic, an
    /// early return), it marks the relay dead.
    pub fn relay_guard(&self) -> TaskGuard {
        TaskGuard {
            readiness: Some(self.clone()),
        }
    }
}

pub struct TaskGuard {
    readiness: Option<Readiness>,
}

impl TaskGuard {
    /// The task ended as asked (shutdown).
    pub fn finished(mut self) {
        self.readiness = None;
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(r) = self.readiness.take() {
            tracing::error!("the inbox relay task stopped unexpectedly; /readyz reports it");
            r.inner.relay_died.store(true, Ordering::Release);
        }
    }
}

/// Asks Temporal a cheap question every `every` until `shutdown`, and records the answer.
pub async fn probe_temporal(
    client: LazyClient,
    readiness: Readiness,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let answer = tokio::time::timeout(every.max(Duration::from_secs(1)), async {
            let c = client.get().await?;
            c.count_workflows(
                "WorkflowId = 'callsaga-readiness-probe'",
                Default::default(),
            )
            .await
            .map_err(anyhow::Error::from)?;
            anyhow::Ok(())
        })
        .await;
        match answer {
            Ok(Ok(())) => readiness.temporal_answered(),
            Ok(Err(e)) => readiness.temporal_failed(format!("{e:#}")),
            Err(_) => readiness.temporal_failed("no answer within the probe interval".into()),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { return; },
        }
    }
}
