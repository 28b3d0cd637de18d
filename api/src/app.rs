//! Composition: builds the router and runs the API, the relay and (optionally) the worker
//! together, with one graceful shutdown.

use crate::error::ApiError;
use crate::ratelimit::RateLimiter;
use crate::relay::Relay;
use crate::settings::Settings;
use crate::state::AppState;
use crate::temporal::{LazyClient, WorkerHandle};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use callsaga_activities::Activities;
use callsaga_activities::email::Mailer;
use callsaga_activities::faults::FaultPlan;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Every route of the service, merged in one place.
pub fn router(state: AppState) -> Router {
    let webhook = &state.settings.webhook;
    let limiter = RateLimiter::new(webhook.rate_limit.clone());
    let timeout = Duration::from_millis(webhook.request_timeout_ms);
    Router::new()
        .merge(crate::webhook::router())
        .layer(DefaultBodyLimit::max(webhook.body_limit_bytes))
        .layer(middleware::from_fn_with_state(
            limiter,
            crate::ratelimit::middleware,
        ))
        .merge(crate::admin::router(&state))
        .route("/openapi.json", get(crate::admin::openapi::serve))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "The process is up", body = Object)))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers and Temporal is reachable.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Database and Temporal reachable", body = Object),
        (status = 503, description = "A dependency is unavailable", body = crate::admin::error::ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.db.ping().await?;
    state.temporal.get().await.map_err(ApiError::Unavailable)?;
    Ok(Json(json!({ "status": "ready" })))
}

#[derive(Debug, Clone, Copy)]
pub struct Components {
    pub api: bool,
    pub worker: bool,
}

/// A running callsaga process.
pub struct App {
    pub state: AppState,
    /// Test hook: faults injected into this process's activities.
    pub faults: FaultPlan,
    /// Where the API listens (the real port when `listen` asked for port 0).
    pub addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    relay: Option<JoinHandle<()>>,
    worker: Option<WorkerHandle>,
}

impl App {
    /// Migrates the database, then starts the selected components.
    pub async fn start(settings: Settings, components: Components) -> anyhow::Result<Self> {
        settings
            .webhook
            .auth
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid webhook.auth configuration: {e}"))?;
        if components.api {
            crate::exposure::check(&settings)?;
        }
        let _ = crate::metrics::handle();
        let settings = Arc::new(settings);
        let db = crate::db::connect_and_migrate(&settings).await?;
        let temporal = LazyClient::new(settings.temporal.clone());
        let faults = FaultPlan::default();
        let relay = Relay::new(
            db.clone(),
            temporal.clone(),
            settings.relay.clone(),
            settings.calls.clone(),
            faults.clone(),
        );
        let tool_reader = Activities::new(
            db.clone(),
            Arc::new(Mailer::new(&settings.email)?),
            FaultPlan::default(),
            settings.billing,
        )
        .with_agent_cache(Duration::from_millis(settings.tools.agent_cache_ms))
        .with_caldav_policy(settings.calendar.clone());
        let state = AppState {
            tool_reader,
            inbox: crate::inbox::InboxWriter::spawn(db.clone()),
            db,
            settings: settings.clone(),
            temporal,
            relay: relay.clone(),
            live_calls: Default::default(),
            replay_guard: Default::default(),
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        tokio::spawn(crate::db::run_checkpointer(
            state.db.clone(),
            shutdown_rx.clone(),
        ));

        let worker = if components.worker {
            Some(WorkerHandle::spawn(settings.clone(), faults.clone()).await?)
        } else {
            None
        };
        let (mut addr, mut server, mut relay_task) = (None, None, None);
        if components.api {
            let listener = tokio::net::TcpListener::bind(settings.listen).await?;
            addr = Some(listener.local_addr()?);
            let mut rx = shutdown_rx.clone();
            let app = router(state.clone());
            server = Some(tokio::spawn(async move {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
            }));
            relay_task = Some(tokio::spawn(relay.run(shutdown_rx)));
            tracing::info!(addr = %addr.map(|a| a.to_string()).unwrap_or_default(), "API listening");
        }
        Ok(Self {
            state,
            faults,
            addr,
            shutdown,
            server,
            relay: relay_task,
            worker,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr.expect("API not started"))
    }

    /// Stops accepting requests, finishes in-flight ones and the relay pass, then the worker.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            server.await??;
        }
        if let Some(relay) = self.relay.take() {
            relay.await?;
        }
        if let Some(worker) = self.worker.take() {
            worker.shutdown().await?;
        }
        Ok(())
    }
}
