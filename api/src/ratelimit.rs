//! Per-source rate limiting (token bucket per client: its IPv4 address or IPv6 /64, as seen
//! through `http.trusted_proxies`, see [`crate::server::client_ip`]). Over the limit → 429 with
//! a reason. Vapi sends from few addresses, so the webhook's defaults are generous; the point is
//! that one runaway or hostile source cannot starve everyone else.

use crate::error::ApiError;
use crate::server::client_ip::{Cidr, bucket_key, client_ip};
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
    proxies: Arc<[Cidr]>,
    buckets: Arc<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            proxies: Arc::new([]),
            buckets: Arc::default(),
        }
    }

    /// Keys requests from `proxies` by the client they forward for (`X-Forwarded-For`).
    pub fn behind(mut self, proxies: &[Cidr]) -> Self {
        self.proxies = proxies.into();
        self
    }

    /// Takes one token from the bucket of `ip` (its /64 for IPv6); false when it is empty.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        if self.settings.per_second <= 0.0 {
            return true;
        }
        let ip = bucket_key(ip);
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
    let client = client_ip(peer.ip(), request.headers(), &limiter.proxies);
    if limiter.allow(client, Instant::now()) {
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
        let v6: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:0:1:ffff::2".parse().unwrap();
        let next_64: IpAddr = "2001:db8:0:2::1".parse().unwrap();
        assert!((0..3).all(|_| rl.allow(v6, t0)));
        assert!(!rl.allow(same_64, t0), "one /64 is one bucket");
        assert!(rl.allow(next_64, t0), "the next /64 is another");
    }
}
