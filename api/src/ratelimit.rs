//! Per-source rate limiting (token bucket per peer IP). Over the limit → 429 with a reason.
//! Vapi sends from few addresses, so the defaults are generous; the point is that one runaway
//! or hostile source cannot starve everyone else.

use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Sustained requests per second per source; 0 disables the limit.
    pub per_second: f64,
    /// Requests a source may send in a burst.
    pub burst: f64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Clone)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    buckets: Arc<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            buckets: Arc::default(),
        }
    }

    /// Takes one token for `ip`; false when the bucket is empty.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        if self.settings.per_second <= 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            // Forget sources whose bucket has refilled: they lose nothing.
            let full = self.settings.burst;
            let rate = self.settings.per_second;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < full);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.settings.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.settings.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.settings.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub async fn middleware(
    State(limiter): State<RateLimiter>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if limiter.allow(peer.ip(), Instant::now()) {
        next.run(request).await
    } else {
        metrics::counter!("callsaga_rate_limited_total").increment(1);
        ApiError::TooManyRequests.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills_at_the_configured_rate() {
        let rl = RateLimiter::new(RateLimitSettings {
            per_second: 10.0,
            burst: 3.0,
        });
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| rl.allow(ip, t0)));
        assert!(!rl.allow(ip, t0));
        assert!(rl.allow(ip, t0 + Duration::from_millis(100)));
        assert!(!rl.allow(ip, t0 + Duration::from_millis(100)));
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(rl.allow(other, t0), "sources are independent");
    }
}
