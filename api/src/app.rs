//! Composition: builds the router and runs the API, the relay and (optionally) the worker
//! together, with one graceful shutdown.

use crate::ratelimit::RateLimiter;
use crate::relay::Relay;
use crate::server::shed::ConcurrencyLimit;
use crate::settings::Settings;
use crate::state::AppState;
use crate::temporal::{LazyClient, WorkerHandle};
use axum::extract::State;
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

/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routes {
    /// Everything (no `admin.listen`).
    All,
    /// The public listener when `admin.listen` is set: the webhook and the health checks.
    Public,
    /// The `admin.listen` listener: the admin API, `/metrics`, `/openapi.json`, health checks.
    Internal,
}

/// The concurrency limit of each route class, shared by every listener of the process.
#[derive(Clone)]
pub struct RouteClasses {
    webhook: ConcurrencyLimit,
    admin: ConcurrencyLimit,
    ops: ConcurrencyLimit,
}

impl RouteClasses {
    pub fn new(settings: &Settings) -> Self {
        let c = &settings.http.concurrency;
        Self {
            webhook: ConcurrencyLimit::new("webhook", c.webhook),
            admin: ConcurrencyLimit::new("admin", c.admin),
            ops: ConcurrencyLimit::new("ops", c.ops),
        }
    }
}

/// Every route of the service, merged in one place.
pub fn router(state: AppState) -> Router {
    let classes = RouteClasses::new(&state.settings);
    routes(state, Routes::All, &classes)
}

/// The routes `which` listener serves, each class behind its limits.
pub fn routes(state: AppState, which: Routes, classes: &RouteClasses) -> Router {
    let settings = &state.settings;
    let webhook = &settings.webhook;
    let proxies = &settings.http.trusted_proxies;
    let timeout = Duration::from_millis(webhook.request_timeout_ms);
    let shed = |limit: &ConcurrencyLimit| {
        middleware::from_fn_with_state(limit.clone(), crate::server::shed::middleware)
    };
    let rate_limit = |limits: &crate::ratelimit::RateLimitSettings| {
        middleware::from_fn_with_state(
            RateLimiter::new(limits.clone()).behind(proxies),
            crate::ratelimit::middleware,
        )
    };
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(shed(&classes.ops));
    if which != Routes::Internal {
        router = router.merge(
            // The handler reads its body itself, credentials first, within body_limit_bytes.
            crate::webhook::router()
                .layer(shed(&classes.webhook))
                .layer(rate_limit(&webhook.rate_limit)),
        );
    }
    if which != Routes::Public {
        router = router
            .merge(
                crate::admin::router(&state)
                    .layer(shed(&classes.admin))
                    .layer(rate_limit(&settings.admin.rate_limit)),
            )
            .merge(
                Router::new()
                    .route("/openapi.json", get(crate::admin::openapi::serve))
                    .route("/metrics", get(crate::metrics::render))
                    .layer(shed(&classes.ops)),
            );
    }
    router
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

/// Ready when the database answers, Temporal has answered within
/// `readiness.temporal_unready_after_ms`, and the inbox writer and the relay are running.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Ready to take webhooks", body = Object),
        (status = 503, description = "Not ready: the error's message and `problems` (one entry per cause) say why", body = crate::admin::error::ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut problems = Vec::new();
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("database unreachable: {e}")),
        Err(_) => problems.push("database unreachable: no answer within 2 s".to_owned()),
    }
    if !state.inbox.alive() {
        problems.push("the inbox writer has stopped".to_owned());
    }
    problems.extend(state.readiness.problems());
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        tracing::warn!(?problems, "not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(not_ready_body(problems)),
        )
    }
}

/// The error body every error answer has (`unavailable`, the causes in its message), and each
/// cause on its own for tooling.
fn not_ready_body(problems: Vec<String>) -> Value {
    use crate::admin::error::{ErrorBody, ErrorDetail};
    let error = ErrorBody {
        error: ErrorDetail {
            code: "unavailable".to_owned(),
            message: format!("not ready: {}", problems.join("; ")),
            field: None,
        },
    };
    let mut body = serde_json::to_value(error).unwrap_or_else(|_| json!({}));
    body["problems"] = json!(problems);
    body
}

#[derive(Debug, Clone, Copy)]
pub struct Components {
    pub api: bool,
    pub worker: bool,
    /// Apply pending migrations first (`dev`, `--migrate`, tests); otherwise the schema must
    /// be current already and the process refuses to start if it is not.
    pub migrate: bool,
}

/// A running callsaga process.
pub struct App {
    pub state: AppState,
    /// Test hook: faults injected into this process's activities.
    pub faults: FaultPlan,
    /// Where the API listens (the real port when `listen` asked for port 0).
    pub addr: Option<SocketAddr>,
    /// Where the admin API and `/metrics` listen when `admin.listen` is set.
    pub admin_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
    relay: Option<JoinHandle<()>>,
    worker: Option<WorkerHandle>,
    /// SQLite: this process is the database's one API process while it holds this.
    _api_lock: Option<crate::single_process::ApiLock>,
}

impl App {
    /// Migrates the database, then starts the selected components.
    pub async fn start(settings: Settings, components: Components) -> anyhow::Result<Self> {
        settings
            .webhook
            .auth
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid webhook.auth configuration: {e}"))?;
        settings
            .http
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid http configuration: {e}"))?;
        if components.api {
            crate::exposure::check(&settings)?;
        }
        let _ = crate::metrics::handle();
        let settings = Arc::new(settings);
        let db = crate::db::connect(&settings).await?;
        if components.migrate {
            crate::db::migrate_up(&db, &settings).await?;
        } else {
            crate::db::check_schema(&db).await?;
        }
        let api_lock = match crate::db::sqlite_file(settings.database_url.expose()) {
            Some(path) if components.api => Some(crate::single_process::lock(&path)?),
            _ => None,
        };
        let temporal = LazyClient::new(settings.temporal.clone());
        let readiness = crate::readiness::Readiness::new(Duration::from_millis(
            settings.readiness.temporal_unready_after_ms,
        ));
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
            tenants: callsaga_activities::agent_cache::AgentCache::new(Duration::from_millis(
                settings.tools.agent_cache_ms,
            )),
            replay_guard: Default::default(),
            readiness: readiness.clone(),
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
        let (mut addr, mut admin_addr, mut servers, mut relay_task) =
            (None, None, Vec::new(), None);
        if components.api {
            let classes = RouteClasses::new(&settings);
            let mut listeners = vec![(settings.listen, Routes::All)];
            if let Some(internal) = settings.admin.listen {
                listeners = vec![
                    (settings.listen, Routes::Public),
                    (internal, Routes::Internal),
                ];
            }
            for (at, which) in listeners {
                let listener = tokio::net::TcpListener::bind(at)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {at}: {e}"))?;
                let bound = listener.local_addr()?;
                match which {
                    Routes::Internal => admin_addr = Some(bound),
                    _ => addr = Some(bound),
                }
                let app = routes(state.clone(), which, &classes);
                let http = settings.http.clone();
                let rx = shutdown_rx.clone();
                servers.push(tokio::spawn(async move {
                    crate::server::serve(listener, app, &http, rx).await
                }));
                tracing::info!(addr = %bound, routes = ?which, "API listening");
            }
            tokio::spawn(crate::readiness::probe_temporal(
                state.temporal.clone(),
                readiness.clone(),
                Duration::from_millis(settings.readiness.temporal_probe_ms.max(100)),
                shutdown_rx.clone(),
            ));
            let guard = readiness.relay_guard();
            relay_task = Some(tokio::spawn(async move {
                relay.run(shutdown_rx).await;
                guard.finished();
            }));
        }
        Ok(Self {
            state,
            faults,
            addr,
            admin_addr,
            shutdown,
            servers,
            relay: relay_task,
            worker,
            _api_lock: api_lock,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr.expect("API not started"))
    }

    /// The base URL of the admin API and `/metrics` (the public one without `admin.listen`).
    pub fn admin_url(&self) -> String {
        match self.admin_addr {
            Some(addr) => format!("http://{addr}"),
            None => self.base_url(),
        }
    }

    /// Stops accepting requests, finishes in-flight ones and the relay pass, then the worker.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for server in std::mem::take(&mut self.servers) {
            server.await??;
        }
        if let Some(relay) = self.relay.take() {
            // A relay that panicked earlier (reported by /readyz) has nothing left to finish.
            if let Err(e) = relay.await {
                tracing::warn!(error = %e, "the relay task had already stopped");
            }
        }
        if let Some(worker) = self.worker.take() {
            worker.shutdown().await?;
        }
        Ok(())
    }
}
