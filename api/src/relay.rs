//! The relay: forwards pending inbox events to their call workflows with signal-with-start, in
//! arrival order per call, calls in parallel. A delivery that fails (Temporal down, slow, …) is
//! retried with backoff and holds back the later events of the same call, so order is kept.
//! A failing call's events are parked out of the pending scan while it backs off, so its
//! backlog costs the other calls nothing; out of budget it becomes `dead` (see
//! [`inbox::call_state`]) until redriven.
//!
//! One relay per database: running several API processes against one database would need a
//! lease on inbox rows (not built; see ARCHITECTURE.md).

use crate::inbox::call_state::{self, Budget, Failure};
use crate::inbox::{self, PendingEvent};
use crate::settings::RelaySettings;
use crate::temporal::LazyClient;
use callsaga_activities::faults::{Fault, FaultPlan};
use callsaga_workflows::CallWorkflow;
use callsaga_workflows::payloads::{CallEvent, CallTimeouts, CallWorkflowInput};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions};
use tokio::sync::{Notify, watch};

/// Message types the relay forwards to the workflow. The rest of the inbox is coalesced away.
const CONVERSATION_UPDATE: &str = "conversation-update";
/// After this event is delivered the call needs no coalescing memory any more.
const END_OF_CALL_REPORT: &str = "end-of-call-report";
/// Calls remembered for coalescing at most; past it the memory starts afresh (then at most
/// one extra conversation-update per call is forwarded).
const MAX_REMEMBERED_CALLS: usize = 100_000;

#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    client: LazyClient,
    settings: RelaySettings,
    timeouts: CallTimeouts,
    wake: Arc<Notify>,
    /// Event time of the last conversation-update forwarded per call (in memory: after a
    /// restart at most one extra update per call is forwarded). Written only after the
    /// delivery succeeded; a call leaves it when its end-of-call report is delivered.
    last_conversation: Arc<Mutex<HashMap<String, DateTime<Utc>>>>,
    /// Whether some call may have a delivery state (failing or dead). False only after a
    /// pass saw none, so the normal pass does no state queries.
    maybe_failing: Arc<AtomicBool>,
    /// Test hook: `relay.deliver:<vapi call id>` faults fail that call's deliveries.
    faults: FaultPlan,
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
    /// Events of failing (or dead) calls that arrived meanwhile and joined them.
    pub parked: usize,
    /// Events that became dead in this pass (their call ran out of budget).
    pub dead: usize,
}

impl PassReport {
    pub fn touched(&self) -> usize {
        self.delivered + self.coalesced + self.late + self.failed + self.parked
    }

    fn add(&mut self, r: &PassReport) {
        self.delivered += r.delivered;
        self.coalesced += r.coalesced;
        self.late += r.late;
        self.failed += r.failed;
        self.held_back += r.held_back;
        self.parked += r.parked;
        self.dead += r.dead;
    }
}

impl Relay {
    pub fn new(
        db: DatabaseConnection,
        client: LazyClient,
        settings: RelaySettings,
        timeouts: CallTimeouts,
        faults: FaultPlan,
    ) -> Self {
        Self {
            db,
            client,
            settings,
            timeouts,
            wake: Arc::new(Notify::new()),
            last_conversation: Arc::default(),
            maybe_failing: Arc::new(AtomicBool::new(true)),
            faults,
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
            if let Ok((calls, events)) = call_state::dead_counts(&self.db).await {
                metrics::gauge!("callsaga_inbox_dead_calls").set(calls as f64);
                metrics::gauge!("callsaga_inbox_dead_events").set(events as f64);
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
            let held_back = r.held_back;
            total.add(&r);
            total.held_back = held_back;
            if r.touched() == 0 || r.failed > 0 {
                return Ok(total);
            }
        }
    }

    /// One pass: the failing calls whose backoff is over, then the oldest pending events. The
    /// calls are relayed concurrently; what they settle is written at the end of the pass in one
    /// transaction (one SQLite write lock per pass instead of per call, so the webhook acks wait
    /// less for it). A crash before that write re-delivers the pass's events, which the workflow
    /// ignores by inbox id.
    pub async fn pass(&self) -> anyhow::Result<PassReport> {
        let mut total = PassReport::default();
        let mut settled = Settled::default();
        // Failing calls first: their parked events are older than anything pending.
        let mut calls: Vec<(Vec<PendingEvent>, bool)> = Vec::new();
        let tracking = self.maybe_failing.load(Ordering::Acquire);
        if tracking {
            if call_state::any(&self.db).await? {
                let due = call_state::due(
                    &self.db,
                    Utc::now(),
                    self.settings.concurrency.max(1) as u64,
                )
                .await?;
                for state in due {
                    let events = call_state::events_of(
                        &self.db,
                        &state.vapi_call_id,
                        self.settings.batch_size,
                    )
                    .await?;
                    if events.is_empty() {
                        // Nothing of it is left to deliver: it is not failing any more.
                        call_state::recovered(&self.db, &state.vapi_call_id).await?;
                    } else {
                        calls.push((events, true));
                    }
                }
            } else {
                self.maybe_failing.store(false, Ordering::Release);
            }
        }
        let retried: std::collections::BTreeSet<String> = calls
            .iter()
            .filter_map(|(events, _)| events.first().map(|e| e.vapi_call_id.clone()))
            .collect();
        let events = inbox::pending(&self.db, self.settings.batch_size).await?;
        let mut by_call: BTreeMap<String, Vec<PendingEvent>> = BTreeMap::new();
        for e in events {
            if !retried.contains(&e.vapi_call_id) {
                by_call.entry(e.vapi_call_id.clone()).or_default().push(e);
            }
        }
        if tracking && !by_call.is_empty() {
            // New events of a call that is backing off (or dead) join its parked ones.
            let keys: Vec<&str> = by_call.keys().map(String::as_str).collect();
            let states = call_state::of_calls(&self.db, &keys).await?;
            for (call, state) in states {
                let Some(events) = by_call.remove(&call) else {
                    continue;
                };
                let ids = events.iter().map(|e| e.id);
                total.parked += events.len();
                if state.state == call_state::DEAD_CALL {
                    settled.dead.extend(ids);
                } else {
                    settled.retry.extend(ids);
                }
            }
        }
        calls.extend(by_call.into_values().map(|events| (events, false)));
        let outcomes: Vec<anyhow::Result<CallOutcome>> = futures::stream::iter(calls)
            .map(|(events, retrying)| self.relay_call(events, retrying))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut first_error = None;
        for outcome in outcomes {
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            total.add(&outcome.report);
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
                (inbox::RETRY, &settled.retry[..]),
                (inbox::DEAD, &settled.dead[..]),
            ],
            Utc::now(),
        )
        .await?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    /// Relays one call's pending events in order, in one signal. `retrying`: the call was
    /// backing off (its events are parked); a success makes it healthy again.
    async fn relay_call(
        &self,
        events: Vec<PendingEvent>,
        retrying: bool,
    ) -> anyhow::Result<CallOutcome> {
        let mut out = CallOutcome::default();
        let report = &mut out.report;
        let Some(call) = events.first().map(|e| e.vapi_call_id.clone()) else {
            return Ok(out);
        };
        let (superseded, forwarded) = self.superseded_conversation_updates(&events);
        report.coalesced = superseded.len();
        out.settled.coalesced = superseded.clone();
        let batch: Vec<&PendingEvent> = events
            .iter()
            .filter(|e| !superseded.contains(&e.id))
            .collect();
        let ends = batch.iter().any(|e| e.message_type == END_OF_CALL_REPORT);
        let ids: Vec<i64> = batch.iter().map(|e| e.id).collect();
        let span = tracing::info_span!(
            "relay",
            call.id = %call,
            workflow.id = %callsaga_workflows::call_workflow_id(&call),
            events = batch.len()
        );
        // The call's pending events go in order, in one signal: one Temporal round trip (and
        // one workflow task) per call and pass instead of one per event.
        let delivery = if batch.is_empty() {
            Ok(Delivery::Delivered)
        } else {
            tracing::Instrument::instrument(self.deliver(&batch), span).await
        };
        match delivery {
            Ok(delivered) => {
                match delivered {
                    Delivery::Delivered => {
                        metrics::counter!("callsaga_relay_delivered_total")
                            .increment(ids.len() as u64);
                        report.delivered += ids.len();
                        out.settled.delivered = ids;
                        self.remember_conversation(&call, forwarded, ends);
                    }
                    Delivery::WorkflowClosed => {
                        tracing::info!(
                            call.id = %call,
                            events = ids.len(),
                            "events arrived after the call workflow completed; recorded as late"
                        );
                        report.late += ids.len();
                        out.settled.late = ids;
                        self.remember_conversation(&call, None, true);
                    }
                }
                if retrying {
                    call_state::recovered(&self.db, &call).await?;
                    tracing::info!(call.id = %call, "call delivered again after failed attempts");
                }
            }
            Err(e) => {
                let error = format!("{e:#}");
                self.maybe_failing.store(true, Ordering::Release);
                let failure = call_state::record_failure(
                    &self.db,
                    &call,
                    &error,
                    e.rejected,
                    Utc::now(),
                    self.budget(),
                    |attempts| self.backoff(attempts),
                )
                .await?;
                match failure {
                    Failure::Retrying {
                        attempts,
                        next_attempt_at,
                    } => tracing::warn!(
                        call.id = %call,
                        attempts,
                        rejected = e.rejected,
                        retry_at = %next_attempt_at,
                        error = %error,
                        "relay delivery failed; will retry"
                    ),
                    Failure::Dead { attempts, events } => {
                        metrics::counter!("callsaga_inbox_dead_lettered_total").increment(events);
                        report.dead += usize::try_from(events).unwrap_or(usize::MAX);
                        tracing::error!(
                            call.id = %call,
                            attempts,
                            events,
                            reason = %error,
                            "call's events are dead: delivery budget used up; fix the cause, then `callsaga inbox redrive <call id>`"
                        );
                    }
                }
                report.failed += 1;
                report.held_back = ids.len().saturating_sub(1);
            }
        }
        Ok(out)
    }

    fn budget(&self) -> Budget {
        Budget {
            rejections: i32::try_from(self.settings.dead_after_rejections).unwrap_or(i32::MAX),
            age: Duration::from_secs(self.settings.dead_after_secs),
        }
    }

    /// Each conversation-update carries the whole conversation so far, and they arrive every
    /// second or two: forwarding each would grow the workflow history by thousands of events
    /// per long call. Forward only the newest one of a batch, and at most one per
    /// `conversation_forward_interval_secs` of event time; the rest stay in the inbox as
    /// `coalesced` (the end-of-call report carries the full transcript anyway).
    fn superseded_conversation_updates(
        &self,
        events: &[PendingEvent],
    ) -> (Vec<i64>, Option<DateTime<Utc>>) {
        let newest = events
            .iter()
            .rev()
            .find(|e| e.message_type == CONVERSATION_UPDATE);
        let forwarded = newest.and_then(|e| {
            let at = e.event_at.unwrap_or(e.received_at);
            let interval = chrono::Duration::seconds(
                i64::try_from(self.settings.conversation_forward_interval_secs).unwrap_or(i64::MAX),
            );
            let last = self
                .last_conversation
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match last.get(&e.vapi_call_id) {
                Some(prev) if at - *prev < interval => None,
                _ => Some(at),
            }
        });
        let superseded = events
            .iter()
            .filter(|e| e.message_type == CONVERSATION_UPDATE)
            .filter(|e| !(forwarded.is_some() && Some(e.id) == newest.map(|n| n.id)))
            .map(|e| e.id)
            .collect();
        (superseded, forwarded)
    }

    /// After a successful delivery: the conversation-update forwarded (if any) is the one the
    /// interval counts from; a call that has ended needs no memory.
    fn remember_conversation(&self, call: &str, forwarded: Option<DateTime<Utc>>, ended: bool) {
        let mut last = self
            .last_conversation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if ended {
            last.remove(call);
        } else if let Some(at) = forwarded {
            if last.len() >= MAX_REMEMBERED_CALLS && !last.contains_key(call) {
                last.clear();
            }
            last.insert(call.to_owned(), at);
        }
    }

    /// Calls the relay remembers for coalescing (tests check it stays bounded).
    pub fn remembered_calls(&self) -> usize {
        self.last_conversation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    fn backoff(&self, attempts: i32) -> Duration {
        let exp = 200u64.saturating_mul(1u64 << attempts.clamp(0, 16));
        Duration::from_millis(exp.min(self.settings.max_backoff_ms))
    }

    async fn deliver(&self, batch: &[&PendingEvent]) -> Result<Delivery, DeliveryError> {
        let Some(event) = batch.first() else {
            return Ok(Delivery::Delivered);
        };
        match self
            .faults
            .take(&format!("relay.deliver:{}", event.vapi_call_id))
        {
            Some(Fault::Permanent) => return Err(DeliveryError::rejected("injected rejection")),
            Some(_) => return Err(DeliveryError::unavailable("injected outage")),
            None => {}
        }
        let client = self
            .client
            .get()
            .await
            .map_err(|e| DeliveryError::unavailable(format!("{e:#}")))?;
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
            Err(WorkflowStartError::Rpc(status)) => Err(DeliveryError {
                rejected: rejects_this_call(status.code()),
                message: format!(
                    "Temporal answered {:?}: {}",
                    status.code(),
                    status.message()
                ),
            }),
            Err(e) => Err(DeliveryError::rejected(format!("{e:#}"))),
        }
    }
}

/// A failed delivery, and whether Temporal refused this call's delivery itself.
#[derive(Debug)]
struct DeliveryError {
    rejected: bool,
    message: String,
}

impl DeliveryError {
    fn rejected(message: impl Into<String>) -> Self {
        Self {
            rejected: true,
            message: message.into(),
        }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        Self {
            rejected: false,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// gRPC codes that say "this request is wrong", not "the server is unwell": only these count
/// against a call's rejection budget, so an outage of Temporal never makes calls dead (the age
/// budget still does, eventually).
fn rejects_this_call(code: temporalio_client::tonic::Code) -> bool {
    use temporalio_client::tonic::Code;
    matches!(
        code,
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::Unimplemented
            | Code::PermissionDenied
    )
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
    retry: Vec<i64>,
    dead: Vec<i64>,
}

enum Delivery {
    Delivered,
    WorkflowClosed,
}
