//! The relay: forwards pending inbox events to their call workflows with signal-with-start, in
//! arrival order per call, calls in parallel. A delivery that fails (Temporal down, slow, …) is
//! retried with backoff and holds back the later events of the same call, so order is kept.
//!
//! One relay per database: running several API processes against one database would need a
//! lease on inbox rows (not built; see ARCHITECTURE.md).

use crate::inbox::{self, PendingEvent};
use crate::settings::RelaySettings;
use crate::temporal::LazyClient;
use callsaga_workflows::CallWorkflow;
use callsaga_workflows::payloads::{CallEvent, CallTimeouts, CallWorkflowInput};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions};
use tokio::sync::{Notify, watch};

/// Message types the relay forwards to the workflow. The rest of the inbox is coalesced away.
const CONVERSATION_UPDATE: &str = "conversation-update";

#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    client: LazyClient,
    settings: RelaySettings,
    timeouts: CallTimeouts,
    wake: Arc<Notify>,
    /// Event time of the last conversation-update forwarded per call (in memory: after a
    /// restart at most one extra update per call is forwarded).
    last_conversation: Arc<Mutex<HashMap<String, DateTime<Utc>>>>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub delivered: usize,
    pub coalesced: usize,
    pub late: usize,
    pub failed: usize,
    /// Events left pending because an earlier event of their call is waiting for a retry.
    pub held_back: usize,
}

impl PassReport {
    pub fn touched(&self) -> usize {
        self.delivered + self.coalesced + self.late + self.failed
    }
}

impl Relay {
    pub fn new(
        db: DatabaseConnection,
        client: LazyClient,
        settings: RelaySettings,
        timeouts: CallTimeouts,
    ) -> Self {
        Self {
            db,
            client,
            settings,
            timeouts,
            wake: Arc::new(Notify::new()),
            last_conversation: Arc::default(),
        }
    }

    /// Wakes the relay at once (called after an event is committed to the inbox).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Runs until `shutdown` turns true, then finishes the pass in progress and returns.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.settings.poll_interval_ms);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let report = match self.pass().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "relay pass failed");
                    PassReport::default()
                }
            };
            if report.touched() > 0 && report.failed == 0 {
                continue; // more may be waiting
            }
            if let Ok(backlog) = inbox::backlog(&self.db).await {
                metrics::gauge!("callsaga_relay_backlog").set(backlog as f64);
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(idle) => {}
                // The owner is gone without saying stop: `changed` would return at once forever.
                changed = shutdown.changed() => if changed.is_err() { break; },
            }
        }
        tracing::info!("relay stopped");
    }

    /// Relays until nothing deliverable is left (tests and shutdown use this).
    pub async fn drain(&self) -> anyhow::Result<PassReport> {
        let mut total = PassReport::default();
        loop {
            let r = self.pass().await?;
            total.delivered += r.delivered;
            total.coalesced += r.coalesced;
            total.late += r.late;
            total.failed += r.failed;
            total.held_back = r.held_back;
            if r.touched() == 0 || r.failed > 0 {
                return Ok(total);
            }
        }
    }

    /// One pass over the oldest pending events. The calls are relayed concurrently; what they
    /// settle is written at the end of the pass in one transaction (one SQLite write lock per
    /// pass instead of per call, so the webhook acks wait less for it). A crash before that
    /// write re-delivers the pass's events, which the workflow ignores by inbox id.
    pub async fn pass(&self) -> anyhow::Result<PassReport> {
        let events = inbox::pending(&self.db, self.settings.batch_size).await?;
        let mut by_call: BTreeMap<String, Vec<PendingEvent>> = BTreeMap::new();
        for e in events {
            by_call.entry(e.vapi_call_id.clone()).or_default().push(e);
        }
        let outcomes: Vec<anyhow::Result<CallOutcome>> =
            futures::stream::iter(by_call.into_values())
                .map(|events| self.relay_call(events))
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;
        let mut total = PassReport::default();
        let mut settled = Settled::default();
        let mut first_error = None;
        for outcome in outcomes {
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let r = outcome.report;
            total.delivered += r.delivered;
            total.coalesced += r.coalesced;
            total.late += r.late;
            total.failed += r.failed;
            total.held_back += r.held_back;
            settled.coalesced.extend(outcome.settled.coalesced);
            settled.delivered.extend(outcome.settled.delivered);
            settled.late.extend(outcome.settled.late);
        }
        inbox::settle_all(
            &self.db,
            &[
                (inbox::COALESCED, &settled.coalesced[..]),
                (inbox::DELIVERED, &settled.delivered[..]),
                (inbox::LATE, &settled.late[..]),
            ],
            Utc::now(),
        )
        .await?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    /// Relays one call's pending events in order; stops at the first failure.
    async fn relay_call(&self, events: Vec<PendingEvent>) -> anyhow::Result<CallOutcome> {
        let mut out = CallOutcome::default();
        let report = &mut out.report;
        let now = Utc::now();
        if let Some(first) = events.first()
            && first.next_attempt_at.is_some_and(|t| t > now)
        {
            report.held_back = events.len();
            return Ok(out);
        }
        let superseded = self.superseded_conversation_updates(&events);
        report.coalesced = superseded.len();
        out.settled.coalesced = superseded.clone();
        let batch: Vec<&PendingEvent> = events
            .iter()
            .filter(|e| !superseded.contains(&e.id))
            .collect();
        let Some(first) = batch.first() else {
            return Ok(out);
        };
        let ids: Vec<i64> = batch.iter().map(|e| e.id).collect();
        let span = tracing::info_span!(
            "relay",
            call.id = %first.vapi_call_id,
            workflow.id = %callsaga_workflows::call_workflow_id(&first.vapi_call_id),
            events = batch.len()
        );
        // The call's pending events go in order, in one signal: one Temporal round trip (and
        // one workflow task) per call and pass instead of one per event.
        match tracing::Instrument::instrument(self.deliver(&batch), span).await {
            Ok(Delivery::Delivered) => {
                metrics::counter!("callsaga_relay_delivered_total").increment(ids.len() as u64);
                report.delivered += ids.len();
                out.settled.delivered = ids;
            }
            Ok(Delivery::WorkflowClosed) => {
                tracing::info!(
                    call.id = %first.vapi_call_id,
                    events = ids.len(),
                    "events arrived after the call workflow completed; recorded as late"
                );
                report.late += ids.len();
                out.settled.late = ids;
            }
            Err(e) => {
                let backoff = self.backoff(first.attempts);
                tracing::warn!(
                    call.id = %first.vapi_call_id,
                    inbox.id = first.id,
                    attempts = first.attempts + 1,
                    retry_in_ms = backoff.as_millis() as u64,
                    error = %format!("{e:#}"),
                    "relay delivery failed; will retry"
                );
                let next = Utc::now()
                    + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::zero());
                inbox::retry_later(&self.db, first, &format!("{e:#}"), next).await?;
                report.failed += 1;
                report.held_back = ids.len() - 1;
            }
        }
        Ok(out)
    }

    /// Each conversation-update carries the whole conversation so far, and they arrive every
    /// second or two: forwarding each would grow the workflow history by thousands of events
    /// per long call. Forward only the newest one of a batch, and at most one per
    /// `conversation_forward_interval_secs` of event time; the rest stay in the inbox as
    /// `coalesced` (the end-of-call report carries the full transcript anyway).
    fn superseded_conversation_updates(&self, events: &[PendingEvent]) -> Vec<i64> {
        let newest = events
            .iter()
            .rev()
            .find(|e| e.message_type == CONVERSATION_UPDATE);
        let forward_newest = newest.is_some_and(|e| {
            let at = e.event_at.unwrap_or(e.received_at);
            let interval = chrono::Duration::seconds(
                i64::try_from(self.settings.conversation_forward_interval_secs).unwrap_or(i64::MAX),
            );
            let mut last = self
                .last_conversation
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match last.get(&e.vapi_call_id) {
                Some(prev) if at - *prev < interval => false,
                _ => {
                    last.insert(e.vapi_call_id.clone(), at);
                    true
                }
            }
        });
        events
            .iter()
            .filter(|e| e.message_type == CONVERSATION_UPDATE)
            .filter(|e| !(forward_newest && Some(e.id) == newest.map(|n| n.id)))
            .map(|e| e.id)
            .collect()
    }

    fn backoff(&self, attempts: i32) -> Duration {
        let exp = 200u64.saturating_mul(1u64 << attempts.clamp(0, 16));
        Duration::from_millis(exp.min(self.settings.max_backoff_ms))
    }

    async fn deliver(&self, batch: &[&PendingEvent]) -> anyhow::Result<Delivery> {
        let Some(event) = batch.first() else {
            return Ok(Delivery::Delivered);
        };
        let client = self.client.get().await?;
        let workflow_id = callsaga_workflows::call_workflow_id(&event.vapi_call_id);
        // UseExisting: a running workflow gets the signal. RejectDuplicate: a completed one is
        // NOT restarted by a late webhook (no zombie runs); the start fails and we record it.
        let options = WorkflowStartOptions::new(self.client.task_queue(), workflow_id)
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .static_summary(callsaga_workflows::call_summary(&event.vapi_call_id))
            .search_attributes(
                callsaga_workflows::search_attributes::start_search_attributes(&event.vapi_call_id),
            )
            .build();
        let result = client
            .signal_with_start_workflow(
                CallWorkflow::run,
                CallWorkflowInput {
                    vapi_call_id: event.vapi_call_id.clone(),
                    timeouts: Some(self.timeouts.clone()),
                },
                CallWorkflow::events,
                batch
                    .iter()
                    .map(|e| CallEvent {
                        inbox_id: e.id,
                        message_type: e.message_type.clone(),
                    })
                    .collect::<Vec<_>>(),
                options,
            )
            .await;
        match result {
            Ok(_) => Ok(Delivery::Delivered),
            Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(Delivery::WorkflowClosed),
            Err(e) => Err(e.into()),
        }
    }
}

/// What relaying one call did, and the inbox rows to settle for it.
#[derive(Default)]
struct CallOutcome {
    report: PassReport,
    settled: Settled,
}

#[derive(Default)]
struct Settled {
    coalesced: Vec<i64>,
    delivered: Vec<i64>,
    late: Vec<i64>,
}

enum Delivery {
    Delivered,
    WorkflowClosed,
}
