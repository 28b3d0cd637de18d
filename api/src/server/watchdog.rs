//! Per-connection clock behind the header-read and idle timeouts. hyper's own
//! `header_read_timeout` starts when it begins waiting for a request, so it cannot tell a
//! keep-alive connection resting between two webhooks from a client trickling a header in a
//! byte at a time; this clock can. A connection is in one of three phases:
//!
//! - `HEAD`: a request head is due — from the connection's start, or from the first byte after
//!   an idle pause. It must be complete within `header_read_timeout_ms`.
//! - `BUSY`: the head was read and the request is being served (its body is read by the handler,
//!   whose whole run the request timeout bounds).
//! - `IDLE`: the response was produced; the next request may come within `idle_timeout_ms`.
//!
//! The socket wrapper ([`Watched`]) moves `IDLE` to `HEAD` on the first byte read; the service
//! wrapper moves to `BUSY` and back ([`ConnClock::busy`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// What expired, for the log and the metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    HeaderRead,
    Idle,
}

impl Expired {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::HeaderRead => "header_read",
            Self::Idle => "idle",
        }
    }
}

pub(crate) struct ConnClock {
    origin: Instant,
    phase: AtomicU8,
    /// Milliseconds after `origin` at which the current phase began.
    since_ms: AtomicU64,
    /// Wakes the watchdog when a head starts (its deadline is sooner than the idle one).
    head_started: Notify,
}

impl ConnClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            phase: AtomicU8::new(HEAD),
            since_ms: AtomicU64::new(0),
            head_started: Notify::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    fn enter(&self, phase: u8) {
        self.since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    /// Bytes arrived: an idle connection starts a request head.
    fn on_bytes(&self) {
        if self.phase.load(Ordering::Relaxed) == IDLE
            && self
                .phase
                .compare_exchange(IDLE, HEAD, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.since_ms.store(self.now_ms(), Ordering::Relaxed);
            self.head_started.notify_one();
        }
    }

    /// Marks the connection busy until the guard drops (the handler's answer is ready).
    pub(crate) fn busy(self: &Arc<Self>) -> BusyGuard {
        self.enter(BUSY);
        BusyGuard(self.clone())
    }

    /// Whether the connection is waiting for (part of) a request head.
    pub(crate) fn reading_head(&self) -> bool {
        self.phase.load(Ordering::Acquire) == HEAD
    }

    /// When the current phase runs out, and what runs out then; `None` while busy.
    pub(crate) fn deadline(&self, header: Duration, idle: Duration) -> Option<(Instant, Expired)> {
        let since = self.origin + Duration::from_millis(self.since_ms.load(Ordering::Relaxed));
        match self.phase.load(Ordering::Acquire) {
            HEAD => Some((since + header, Expired::HeaderRead)),
            IDLE => Some((since + idle, Expired::Idle)),
            _ => None,
        }
    }

    pub(crate) async fn head_started(&self) {
        self.head_started.notified().await
    }
}

pub(crate) struct BusyGuard(Arc<ConnClock>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.enter(IDLE);
    }
}

/// A socket that tells its [`ConnClock`] when bytes arrive (one relaxed atomic load per read).
pub(crate) struct Watched<S> {
    inner: S,
    clock: Arc<ConnClock>,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, clock: Arc<ConnClock>) -> Self {
        Self { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.on_bytes();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_move_with_bytes_and_requests() {
        let (h, i) = (Duration::from_secs(10), Duration::from_secs(60));
        let clock = ConnClock::new();
        let start = Instant::now();
        let (at, what) = clock.deadline(h, i).unwrap();
        assert_eq!(what, Expired::HeaderRead, "a new connection owes a head");
        assert!(at.duration_since(start) <= h);
        let guard = clock.busy();
        assert!(clock.deadline(h, i).is_none(), "no deadline while serving");
        drop(guard);
        assert_eq!(clock.deadline(h, i).unwrap().1, Expired::Idle);
        clock.on_bytes();
        assert_eq!(clock.deadline(h, i).unwrap().1, Expired::HeaderRead);
        assert!(clock.reading_head());
    }
}
