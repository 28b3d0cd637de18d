//! Which calls this process knows to have a workflow: a bounded, in-memory hint that lets a
//! tool call use a plain update on the running workflow (cheaper on the server) instead of
//! update-with-start. A call is noted when one of its events was accepted into the inbox (the
//! relay starts its workflow) or when one of its tool calls was answered.
//!
//! Only a hint: a wrong "yes" costs one `NotFound` answer and then update-with-start; a "no"
//! (another instance saw the call, or it was forgotten) is update-with-start at once, which
//! is always correct.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// How many calls are remembered; the oldest is forgotten first.
const CAPACITY: usize = 50_000;

#[derive(Clone, Default)]
pub struct LiveCalls(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl LiveCalls {
    pub fn note(&self, vapi_call_id: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.ids.contains(vapi_call_id) {
            return;
        }
        if seen.order.len() >= CAPACITY
            && let Some(oldest) = seen.order.pop_front()
        {
            seen.ids.remove(&oldest);
        }
        seen.ids.insert(vapi_call_id.to_owned());
        seen.order.push_back(vapi_call_id.to_owned());
    }

    pub fn knows(&self, vapi_call_id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ids
            .contains(vapi_call_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_calls_and_forgets_the_oldest_beyond_capacity() {
        let live = LiveCalls::default();
        assert!(!live.knows("a"));
        live.note("a");
        live.note("a");
        assert!(live.knows("a"));
        for i in 0..CAPACITY {
            live.note(&i.to_string());
        }
        assert!(!live.knows("a"), "the oldest is forgotten");
        assert!(live.knows("0") && live.knows(&(CAPACITY - 1).to_string()));
        assert_eq!(live.0.lock().unwrap().order.len(), CAPACITY);
    }
}
