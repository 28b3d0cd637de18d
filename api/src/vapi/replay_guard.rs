//! Rejects a replayed HMAC-signed webhook: a signature seen within its tolerance window is
//! refused the second time, so a captured request cannot be posted again while its timestamp is
//! still fresh. Bounded: at most [`CAPACITY`] signatures are held (the oldest go first), each for
//! the tolerance window only.
//!
//! A signature is claimed when its request is verified and released again if the request is not
//! answered with success, so Vapi's own retry of a request we failed (same body and signature)
//! still gets through. A retry of a request we *did* answer (its answer was lost on the way) is
//! refused: every event it carried is already stored, and a tool call's toolCallId makes its
//! effect idempotent anyway.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Most signatures remembered at once (about 10 MB).
pub const CAPACITY: usize = 100_000;

type Key = [u8; 32];

#[derive(Default)]
pub struct ReplayGuard {
    inner: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Signature digest → expiry (unix seconds).
    expiry: HashMap<Key, i64>,
    /// The same, in claim order, for eviction.
    order: VecDeque<(Key, i64)>,
}

/// A claimed signature; [`ReplayGuard::release`] gives it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim(Key);

impl ReplayGuard {
    /// Claims `signature` until `now + ttl_secs`; `None` when it was claimed before and has not
    /// expired (a replay).
    pub fn claim(&self, signature: &[u8], now: i64, ttl_secs: u64) -> Option<Claim> {
        let key: Key = Sha256::digest(signature).into();
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(&(old, at)) = seen.order.front() {
            if at > now && seen.order.len() < CAPACITY {
                break;
            }
            seen.order.pop_front();
            if seen.expiry.get(&old) == Some(&at) {
                seen.expiry.remove(&old);
            }
        }
        if seen.expiry.get(&key).is_some_and(|&at| at > now) {
            return None;
        }
        let until = now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX));
        seen.expiry.insert(key, until);
        seen.order.push_back((key, until));
        Some(Claim(key))
    }

    /// Forgets a claim (its request failed, so a retry must be accepted).
    pub fn release(&self, claim: Claim) {
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        seen.expiry.remove(&claim.0);
    }

    /// Signatures held now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expiry
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_refused_again_within_its_window() {
        let guard = ReplayGuard::default();
        assert!(guard.claim(b"sig-a", 1000, 300).is_some());
        assert!(
            guard.claim(b"sig-a", 1299, 300).is_none(),
            "replay inside the window"
        );
        assert!(
            guard.claim(b"sig-b", 1299, 300).is_some(),
            "another signature"
        );
        assert!(
            guard.claim(b"sig-a", 1300, 300).is_some(),
            "expired: the timestamp check refuses it"
        );
    }

    #[test]
    fn a_released_claim_lets_the_retry_through() {
        let guard = ReplayGuard::default();
        let claim = guard.claim(b"sig", 0, 300).expect("first");
        guard.release(claim);
        assert!(guard.claim(b"sig", 1, 300).is_some());
    }

    #[test]
    fn it_stays_bounded() {
        let guard = ReplayGuard::default();
        for i in 0..(CAPACITY + 10) {
            assert!(guard.claim(&i.to_le_bytes(), 0, 300).is_some());
        }
        assert!(guard.len() <= CAPACITY, "{}", guard.len());
    }
}
