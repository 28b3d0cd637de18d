//! Delivers a body the way Vapi does: POST to the server URL with its credential, retried with
//! the same bytes after a failure (connection refused, timeout, 5xx, 429) with an exponential
//! `backoffPlan`, so an outage is survivable as it is in production.

use crate::stats::Stats;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub(crate) struct Sender {
    http: reqwest::Client,
    /// Each API replica's webhook URL; requests go round-robin across them.
    urls: Arc<[String]>,
    next: Arc<AtomicUsize>,
    bearer: Option<String>,
    vapi_secret: Option<String>,
    max_retries: u32,
    base_delay: Duration,
    pub(crate) stats: Arc<Stats>,
}

/// The answer of a delivery that succeeded (a 2xx or a 4xx, which Vapi does not retry).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Sender {
    pub(crate) fn new(
        urls: &[String],
        bearer: Option<String>,
        vapi_secret: Option<String>,
        max_retries: u32,
        base_delay: Duration,
        stats: Arc<Stats>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!urls.is_empty(), "no URL to send to");
        Ok(Self {
            // Vapi's default tool timeout is 20 s.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()?,
            urls: urls
                .iter()
                .map(|u| format!("{}/webhooks/vapi", u.trim_end_matches('/')))
                .collect(),
            next: Arc::default(),
            bearer,
            vapi_secret,
            max_retries,
            base_delay,
            stats,
        })
    }

    /// Sends `body` until it is answered or the retries are used up. `kind` names the latency
    /// series (message type, tool).
    pub(crate) async fn send(&self, kind: &str, body: &[u8]) -> Option<Answer> {
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            match self.post(body).await {
                Ok(answer) if answer.status < 500 && answer.status != 429 => {
                    self.stats.latency(kind, started.elapsed());
                    return Some(answer);
                }
                _ if attempt >= self.max_retries => {
                    self.stats.failed(kind);
                    return None;
                }
                _ => {
                    self.stats.retry();
                    tokio::time::sleep(self.base_delay * 2u32.saturating_pow(attempt).min(64))
                        .await;
                    attempt += 1;
                }
            }
        }
    }

    async fn post(&self, body: &[u8]) -> reqwest::Result<Answer> {
        let url = &self.urls[self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len()];
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        if let Some(s) = &self.vapi_secret {
            req = req.header("x-vapi-secret", s);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        Ok(Answer { status, body })
    }
}
