//! The relay: forwards pending inbox events to their call workflows with signal-with-start, in
//! arrival order per call, calls in parallel. A delivery that fails (Temporal down, slow, …) is
//! retried with backoff and holds back the later events of the same call, so order is kept.
//! A failing call's events are parked out of the pending scan while it backs off, so its
//! backlog costs the other calls nothing; out of budget it becomes `dead` (see
//! [`inbox::call_state`]) until redriven.
//!
//! On PostgreSQL any number of API processes run a relay over the same inbox: a relay delivers
//! a call's events only while it holds the call's claim ([`inbox::claims`]: a lease row,
//! renewed during the pass, released after the pass settled its rows), so each call's events
//! go out in order from one process at a time, and the calls of a process that died are taken
//! over once its leases expire (`relay.claim_lease_ms`). On SQLite there is one API process per
//! database file (`crate::single_process`), and no claims.

mod coalesce;
mod delivery;

use crate::inbox::call_state::{self, Budget, Failure};
use crate::inbox::claims::{self, Claims};
use crate::inbox::{self, PendingEvent};
use crate::settings::RelaySettings;
use crate::temporal::LazyClient;
use callsaga_activities::faults::FaultPlan;
use callsaga_workflows::payloads::CallTimeouts;
use chrono::Utc;
use coalesce::ConversationMemory;
use delivery::Delivery;
use futures::StreamExt;
use sea_orm::{DatabaseConnection, DbBackend};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// After this event is delivered the call needs no coalescing memory any more.
const END_OF_CALL_REPORT: &str = "end-of-call-report";

#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    client: LazyClient,
    settings: RelaySettings,
    timeouts: CallTimeouts,
    wake: Arc<Notify>,
    conversations: ConversationMemory,
    /// Whether some call may have a delivery state (failing or dead). False only after a
    /// pass saw none, so the normal pass does no state queries (single-process only: with a
    /// shared inbox another relay may have recorded a failure, so it is always checked).
    maybe_failing: Arc<AtomicBool>,
    /// This relay's claims on a shared inbox (PostgreSQL); `None` on SQLite.
    claims: Option<Claims>,
    /// Test hook: `relay.deliver:<vapi call id>` faults fail that call's deliveries;
    /// a `relay.pass` fault makes the relay task panic (readiness tests).
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
        let claims = (db.get_database_backend() == DbBackend::Postgres)
            .then(|| Claims::new(Duration::from_millis(settings.claim_lease_ms.max(100))));
        Self {
            db,
            client,
            settings,
            timeouts,
            wake: Arc::new(Notify::new()),
            conversations: ConversationMemory::default(),
            maybe_failing: Arc::new(AtomicBool::new(true)),
            claims,
            faults,
        }
    }

    /// This relay's owner id in `inbox_call_claims` (PostgreSQL only).
    pub fn owner(&self) -> Option<&str> {
        self.claims.as_ref().map(Claims::owner)
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
            if self.faults.take("relay.pass").is_some() {
                panic!("injected relay crash");
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
        // Hand-over: whatever this relay still holds is free for the others at once rather
        // than after its leases run out (each pass releases its own claims already).
        if let Some(claims) = &self.claims {
            match claims.release_all(&self.db).await {
                Ok(n) => tracing::info!(released = n, "relay stopped; claims released"),
                Err(e) => {
                    tracing::warn!(error = %e, "relay stopped; its claims expire by themselves")
                }
            }
        } else {
            tracing::info!("relay stopped");
        }
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
    ///
    /// On a shared inbox the pass claims the calls it relays first, renews their leases while
    /// it runs and releases them once their rows are settled (or it failed).
    pub async fn pass(&self) -> anyhow::Result<PassReport> {
        let Some(claims) = &self.claims else {
            return self.claimed_pass(None).await;
        };
        let mut held = Vec::new();
        let result = {
            let work = self.claimed_pass(Some((claims, &mut held)));
            let renew = async {
                loop {
                    tokio::time::sleep(claims.lease() / 3).await;
                    if let Err(e) = claims.renew(&self.db).await {
                        tracing::warn!(error = %e, "renewing the relay's claims failed");
                    }
                }
            };
            tokio::select! {
                r = work => r,
                () = renew => unreachable!("the renewal loop never ends"),
            }
        };
        if let Err(e) = claims.release(&self.db, &held).await {
            tracing::warn!(error = %e, calls = held.len(), "releasing claims failed; they expire");
        }
        result
    }

    /// [`Self::pass`] once the claims are taken care of: `claiming` is this relay's claims and
    /// the list of calls it claimed in this pass (to release afterwards).
    async fn claimed_pass(
        &self,
        mut claiming: Option<(&Claims, &mut Vec<String>)>,
    ) -> anyhow::Result<PassReport> {
        let mut total = PassReport::default();
        let mut settled = Settled::default();
        // Failing calls first: their parked events are older than anything pending.
        let mut calls: Vec<(Vec<PendingEvent>, bool)> = Vec::new();
        let tracking = claiming.is_some() || self.maybe_failing.load(Ordering::Acquire);
        if tracking {
            if call_state::any(&self.db).await? {
                let mut due = call_state::due(
                    &self.db,
                    Utc::now(),
                    self.settings.concurrency.max(1) as u64,
                )
                .await?;
                if let Some((claims, held)) = claiming.as_mut() {
                    let ids: Vec<&str> = due.iter().map(|d| d.vapi_call_id.as_str()).collect();
                    let won = claims.claim(&self.db, &ids).await?;
                    held.extend(won.iter().cloned());
                    due.retain(|d| won.contains(&d.vapi_call_id));
                }
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
        let batch = self.settings.batch_size;
        let events = match claiming.as_mut() {
            None => inbox::pending(&self.db, batch).await?,
            Some((claims, held)) => {
                let seen = claims::pending_unclaimed(&self.db, claims.owner(), batch).await?;
                let calls: BTreeSet<&str> = seen
                    .iter()
                    .map(|e| e.vapi_call_id.as_str())
                    .filter(|c| !retried.contains(*c))
                    .collect();
                let calls: Vec<&str> = calls.into_iter().collect();
                let won: Vec<String> = claims.claim(&self.db, &calls).await?.into_iter().collect();
                held.extend(won.iter().cloned());
                // Read again under the claims: the previous holder may have settled rows
                // since the scan, and nothing of a claimed call changes under us now.
                inbox::pending_of(&self.db, &won, batch).await?
            }
        };
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
        let (superseded, forwarded) = self
            .conversations
            .superseded(&events, self.settings.conversation_forward_interval_secs);
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
            let delivery = delivery::deliver(&self.client, &self.faults, &self.timeouts, &batch);
            tracing::Instrument::instrument(delivery, span).await
        };
        match delivery {
            Ok(delivered) => {
                match delivered {
                    Delivery::Delivered => {
                        metrics::counter!("callsaga_relay_delivered_total")
                            .increment(ids.len() as u64);
                        report.delivered += ids.len();
                        out.settled.delivered = ids;
                        self.conversations.remember(&call, forwarded, ends);
                    }
                    Delivery::WorkflowClosed => {
                        tracing::info!(
                            call.id = %call,
                            events = ids.len(),
                            "events arrived after the call workflow completed; recorded as late"
                        );
                        report.late += ids.len();
                        out.settled.late = ids;
                        self.conversations.remember(&call, None, true);
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

    /// Calls the relay remembers for coalescing (tests check it stays bounded).
    pub fn remembered_calls(&self) -> usize {
        self.conversations.len()
    }

    fn backoff(&self, attempts: i32) -> Duration {
        let exp = 200u64.saturating_mul(1u64 << attempts.clamp(0, 16));
        Duration::from_millis(exp.min(self.settings.max_backoff_ms))
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
    retry: Vec<i64>,
    dead: Vec<i64>,
}
