//! The accept loop: HTTP/1.1 connections, at most `http.max_connections` at once, each watched
//! for the header-read and idle timeouts ([`super::watchdog`]), with graceful shutdown.
//!
//! A connection over the limit is accepted and closed at once (counted in
//! `callsaga_http_connections_refused_total`) rather than left in the kernel's backlog: the
//! client learns immediately and retries (Vapi does), and the backlog never hides an overload.

use super::watchdog::{ConnClock, Watched};
use crate::settings::HttpSettings;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

/// What every connection of one listener shares.
#[derive(Clone)]
struct Limits {
    header_read: Duration,
    idle: Duration,
}

/// Serves `router` on `listener` until `shutdown` turns true, then lets in-flight requests
/// finish and returns when every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &HttpSettings,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let limits = Limits {
        header_read: Duration::from_millis(settings.header_read_timeout_ms),
        idle: Duration::from_millis(settings.idle_timeout_ms),
    };
    let max = settings.max_connections;
    let slots = Arc::new(Semaphore::new(max));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut shutdown) => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            metrics::counter!("callsaga_http_connections_refused_total").increment(1);
            tracing::debug!(
                max_connections = max,
                "connection limit reached; connection closed"
            );
            drop(stream);
            continue;
        };
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            limits.clone(),
            shutdown.clone(),
            permit,
        ));
    }
    drop(listener);
    // Every connection task holds a permit until it ends.
    let _all = slots.acquire_many(max as u32).await;
    Ok(())
}

/// Resolves once shutdown was asked for (or the sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let clock = ConnClock::new();
    let io = TokioIo::new(Watched::new(stream, clock.clone()));
    let service_clock = clock.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let busy = service_clock.busy();
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(Body::new)).await;
            drop(busy);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = clock.deadline(limits.header_read, limits.idle);
        let sleep_until =
            deadline.map_or_else(|| tokio::time::Instant::now() + limits.idle, |d| d.0);
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep_until(sleep_until) => {
                if let Some((at, expired)) = clock.deadline(limits.header_read, limits.idle)
                    && at <= tokio::time::Instant::now()
                {
                    metrics::counter!("callsaga_http_connections_timed_out_total", "phase" => expired.label())
                        .increment(1);
                    tracing::debug!(phase = expired.label(), "connection timed out; closed");
                    return;
                }
            }
            _ = clock.head_started() => {}
            () = stopped(&mut shutdown), if !draining => {
                draining = true;
                // A connection without a request in flight has nothing to finish.
                if clock.reading_head() {
                    return;
                }
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
