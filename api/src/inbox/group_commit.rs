//! Group commit for the inbox. Concurrent webhook requests hand their event to one writer task,
//! which commits everything waiting in one transaction and then answers each request. Under
//! load that is one write lock (SQLite) or one fsync (PostgreSQL) per batch instead of per
//! event; alone, an event is committed at once (no waiting for a batch to fill).
//!
//! Each request still gets its 2xx only after its own row is committed. If a batch fails as a
//! whole, its events are retried one by one, so one bad row cannot fail the others.
//!
//! SQLite has one writer at a time, so there is one writer task. PostgreSQL commits
//! concurrent transactions in parallel (and shares their WAL flushes), so there are
//! [`POSTGRES_LANES`] writer tasks: while one waits for its commit, the next collects and
//! commits the events that arrived meanwhile. Events of one call that are in flight at the same
//! time may then commit out of id order; their order was never defined, and the workflow
//! applies events whatever order they come in.

use super::{Accepted, NewEvent};
use callsaga_entity::webhook_inbox::ActiveModel;
use sea_orm::{ActiveValue, DatabaseConnection, DbBackend, DbErr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Mutex, mpsc, oneshot};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 128;

/// Writer tasks on PostgreSQL.
const POSTGRES_LANES: usize = 4;

struct Job {
    row: ActiveModel,
    done: oneshot::Sender<Result<Accepted, DbErr>>,
}

/// Handle to the inbox writer task; cheap to clone.
#[derive(Clone)]
pub struct InboxWriter {
    jobs: mpsc::Sender<Job>,
    batch_failures: Arc<AtomicU64>,
    /// Writer lanes that ended by a panic (`/readyz` fails when any did).
    died: Arc<AtomicU64>,
}

/// Counts a lane as died when it ends by a panic. A lane whose task is dropped unfinished (the
/// runtime shutting down at exit) did not die, and says nothing.
struct LaneGuard(Option<Arc<AtomicU64>>);

impl Drop for LaneGuard {
    fn drop(&mut self) {
        if let Some(died) = self.0.take()
            && std::thread::panicking()
        {
            tracing::error!("an inbox writer lane stopped unexpectedly; /readyz reports it");
            died.fetch_add(1, Ordering::Release);
        }
    }
}

impl InboxWriter {
    /// Starts the writer tasks on the current runtime; they end when the last handle is
    /// dropped.
    pub fn spawn(db: DatabaseConnection) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        let lanes = match db.get_database_backend() {
            DbBackend::Postgres => POSTGRES_LANES,
            _ => 1,
        };
        let rx = Arc::new(Mutex::new(rx));
        let batch_failures = Arc::new(AtomicU64::new(0));
        let died = Arc::new(AtomicU64::new(0));
        for _ in 0..lanes {
            let (db, rx, failures) = (db.clone(), rx.clone(), batch_failures.clone());
            let mut guard = LaneGuard(Some(died.clone()));
            tokio::spawn(async move {
                run(db, rx, failures).await;
                guard.0.take();
            });
        }
        Self {
            jobs,
            batch_failures,
            died,
        }
    }

    /// Whether every writer lane is still running.
    pub fn alive(&self) -> bool {
        self.died.load(Ordering::Acquire) == 0
    }

    /// Batches that failed as a whole and were stored one by one instead (also the metric
    /// `callsaga_inbox_batch_failures_total`).
    pub fn batch_failures(&self) -> u64 {
        self.batch_failures.load(Ordering::Relaxed)
    }

    /// Stores one event durably (idempotent on the body's SHA-256), like [`super::accept`].
    pub async fn accept(&self, event: NewEvent<'_>) -> Result<Accepted, DbErr> {
        let (done, answer) = oneshot::channel();
        let job = Job {
            row: super::row(event),
            done,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| DbErr::Custom("the inbox writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| DbErr::Custom("the inbox writer has stopped".into()))?
    }
}

/// One writer lane: takes what is waiting (the receiver is held only while taking), commits it.
async fn run(
    db: DatabaseConnection,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    batch_failures: Arc<AtomicU64>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.lock().await.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        metrics::histogram!("callsaga_inbox_batch_size").record(jobs.len() as f64);
        match commit_batch(&db, &jobs).await {
            Ok(results) => {
                for (job, result) in jobs.drain(..).zip(results) {
                    let _ = job.done.send(Ok(result));
                }
            }
            Err(e) => {
                batch_failures.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("callsaga_inbox_batch_failures_total").increment(1);
                tracing::warn!(error = %e, events = jobs.len(), "inbox batch failed; storing its events one by one");
                for job in jobs.drain(..) {
                    let result = super::insert(&db, job.row).await;
                    let _ = job.done.send(result);
                }
            }
        }
    }
}

async fn commit_batch(db: &DatabaseConnection, jobs: &[Job]) -> Result<Vec<Accepted>, DbErr> {
    if let [job] = jobs {
        return Ok(vec![super::insert(db, job.row.clone()).await?]);
    }
    // With several lanes, insert in body-hash order: two lanes holding the same duplicate
    // bodies then wait for each other in one order only, never in a cycle (PostgreSQL detects a
    // deadlock only after `deadlock_timeout`, a second by default, holding every ack of both
    // batches). One lane keeps arrival order, and so the ids of a batch.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    if db.get_database_backend() == DbBackend::Postgres {
        order.sort_by(|&a, &b| dedupe_key(&jobs[a]).cmp(dedupe_key(&jobs[b])));
    }
    let txn = callsaga_entity::begin_write(db).await?;
    let mut results = vec![Accepted::Duplicate; jobs.len()];
    for i in order {
        results[i] = super::insert(&txn, jobs[i].row.clone()).await?;
    }
    txn.commit().await?;
    Ok(results)
}

fn dedupe_key(job: &Job) -> &str {
    match &job.row.body_sha256 {
        ActiveValue::Set(key) | ActiveValue::Unchanged(key) => key,
        ActiveValue::NotSet => "",
    }
}

#[cfg(test)]
mod tests {
    use super::LaneGuard;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn a_lane_dies_by_a_panic_not_by_being_dropped_at_shutdown() {
        let died = Arc::new(AtomicU64::new(0));
        let guard = LaneGuard(Some(died.clone()));
        let panicking = tokio::spawn(async move {
            let _guard = guard;
            panic!("injected lane panic");
        });
        assert!(panicking.await.is_err());
        assert_eq!(died.load(Ordering::Acquire), 1, "a panic is a death");

        let guard = LaneGuard(Some(died.clone()));
        let waiting = tokio::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        tokio::task::yield_now().await;
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        assert_eq!(
            died.load(Ordering::Acquire),
            1,
            "a dropped task is no death"
        );
    }
}
