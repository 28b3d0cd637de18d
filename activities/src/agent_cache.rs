//! The agents that tool calls were answered for, kept for a few seconds per worker process.
//!
//! Every tool call needs its agent (language, time zone, opening hours, calendar): one more
//! database round trip while the caller waits, for a row that changes a few times a year. Each
//! SQLite round trip costs 0.3–0.7 ms here, mostly thread wake-ups, which is a large share of
//! a tool call's own work. So a found agent is reused for [`AgentCache`]'s TTL: a change to an
//! agent (hours, language, calendar, deactivation) reaches tool calls within that time. Misses
//! are never cached, so a new agent answers at once. A TTL of zero turns the cache off.

use callsaga_entity::agents;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many lookups are kept at most; beyond that the cache starts over (it only saves reads).
const CAPACITY: usize = 10_000;

/// What a tool call identifies its agent by: the Vapi assistant id, else the phone number id.
type Key = (Option<String>, Option<String>);

/// Generic over the value only so that the unit tests need no full agent row.
#[derive(Clone)]
pub struct AgentCache<V = agents::Model> {
    ttl: Duration,
    entries: Arc<Mutex<HashMap<Key, (Instant, V)>>>,
}

impl<V: Clone> AgentCache<V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Arc::default(),
        }
    }

    /// The agent found for these ids less than the TTL ago.
    pub fn get(&self, assistant_id: Option<&str>, phone_number_id: Option<&str>) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, agent) = entries.get(&key(assistant_id, phone_number_id))?;
        (at.elapsed() < self.ttl).then(|| agent.clone())
    }

    pub fn put(&self, assistant_id: Option<&str>, phone_number_id: Option<&str>, agent: &V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            key(assistant_id, phone_number_id),
            (Instant::now(), agent.clone()),
        );
    }
}

impl<V> Default for AgentCache<V> {
    /// Off: every lookup reads the database.
    fn default() -> Self {
        Self {
            ttl: Duration::ZERO,
            entries: Arc::default(),
        }
    }
}

fn key(assistant_id: Option<&str>, phone_number_id: Option<&str>) -> Key {
    (
        assistant_id.map(str::to_owned),
        phone_number_id.map(str::to_owned),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_found_agent_for_the_ttl_only() {
        let cache = AgentCache::new(Duration::from_millis(40));
        assert!(cache.get(Some("asst"), None).is_none());
        cache.put(Some("asst"), None, &"a".to_owned());
        assert_eq!(cache.get(Some("asst"), None).as_deref(), Some("a"));
        assert!(cache.get(Some("asst"), Some("pn")).is_none(), "other ids");
        assert!(cache.get(None, None).is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(Some("asst"), None).is_none(), "expired");
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = AgentCache::<String>::default();
        cache.put(Some("asst"), None, &"a".to_owned());
        assert!(cache.get(Some("asst"), None).is_none());
    }
}
