//! The relay's coalescing memory: which conversation-update of each call was forwarded last.
//!
//! Each conversation-update carries the whole conversation so far, and they arrive every
//! second or two: forwarding each would grow the workflow history by thousands of events per
//! long call. The relay forwards only the newest one of a batch, and at most one per
//! `conversation_forward_interval_secs` of event time; the rest stay in the inbox as
//! `coalesced` (the end-of-call report carries the full transcript anyway).
//!
//! The memory is per process: after a restart, or when a call moves to another relay (a
//! shared inbox on PostgreSQL), at most one extra conversation-update per call is forwarded.

use crate::inbox::PendingEvent;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The message type the memory is about.
const CONVERSATION_UPDATE: &str = "conversation-update";
/// Calls remembered at most; past it the memory starts afresh (then at most one extra
/// conversation-update per call is forwarded).
const MAX_REMEMBERED_CALLS: usize = 100_000;

/// Event time of the last conversation-update forwarded per call. Written only after the
/// delivery succeeded; a call leaves it when its end-of-call report is delivered.
#[derive(Clone, Default)]
pub(super) struct ConversationMemory {
    last: Arc<Mutex<HashMap<String, DateTime<Utc>>>>,
}

impl ConversationMemory {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The conversation-updates of `events` (one call's, in order) not to forward, and the
    /// event time of the one to forward, if any.
    pub(super) fn superseded(
        &self,
        events: &[PendingEvent],
        interval_secs: u64,
    ) -> (Vec<i64>, Option<DateTime<Utc>>) {
        let newest = events
            .iter()
            .rev()
            .find(|e| e.message_type == CONVERSATION_UPDATE);
        let forwarded = newest.and_then(|e| {
            let at = e.event_at.unwrap_or(e.received_at);
            let interval =
                chrono::Duration::seconds(i64::try_from(interval_secs).unwrap_or(i64::MAX));
            match self.lock().get(&e.vapi_call_id) {
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
    pub(super) fn remember(&self, call: &str, forwarded: Option<DateTime<Utc>>, ended: bool) {
        let mut last = self.lock();
        if ended {
            last.remove(call);
        } else if let Some(at) = forwarded {
            if last.len() >= MAX_REMEMBERED_CALLS && !last.contains_key(call) {
                last.clear();
            }
            last.insert(call.to_owned(), at);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}
