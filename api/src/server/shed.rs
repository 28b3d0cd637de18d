//! Concurrency limit per route class (webhook, admin, ops): past its limit a class sheds load
//! with a 503 and `Retry-After` instead of queueing, so a flood of admin or metrics requests
//! cannot take the slots (database connections, memory) webhooks need, and the other way round.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct ConcurrencyLimit {
    class: &'static str,
    slots: Arc<Semaphore>,
}

impl ConcurrencyLimit {
    pub fn new(class: &'static str, limit: usize) -> Self {
        Self {
            class,
            slots: Arc::new(Semaphore::new(limit)),
        }
    }
}

pub async fn middleware(
    State(limit): State<ConcurrencyLimit>,
    request: Request,
    next: Next,
) -> Response {
    match limit.slots.try_acquire() {
        Ok(_slot) => next.run(request).await,
        Err(_) => {
            metrics::counter!("callsaga_http_shed_total", "class" => limit.class).increment(1);
            ApiError::Overloaded.into_response()
        }
    }
}
