//! Temporal client and worker. The same code talks to the dev server, a self-hosted cluster or
//! Temporal Cloud: only `temporal.address`, `namespace`, `tls` and `api_key` differ.

use crate::settings::{GrpcCompressionSetting, Settings, TemporalSettings};
use anyhow::Context;
use callsaga_activities::email::Mailer;
use callsaga_activities::faults::FaultPlan;
use callsaga_activities::{
    Activities, AppointmentActivitiesImpl, CallEndActivitiesImpl, CallRecordActivitiesImpl,
    ToolPlanningActivitiesImpl,
};
use callsaga_workflows::CallWorkflow;
use std::sync::Arc;
use std::time::Duration;
use temporalio_client::{Client, ClientOptions, ConnectionOptions, GrpcCompression, TlsOptions};
use temporalio_sdk::runtime::PollerBehavior;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use tokio::sync::OnceCell;

/// Connects a client to the configured cluster.
pub async fn connect(settings: &TemporalSettings) -> anyhow::Result<Client> {
    let url = url::Url::parse(&settings.address)
        .with_context(|| format!("temporal.address {:?} is not a URL", settings.address))?;
    let tls = settings.tls || settings.api_key.is_some() || url.scheme() == "https";
    let compression = compression(settings.grpc_compression, &url);
    let conn = ConnectionOptions::new(url)
        .identity(format!("callsaga@{}", std::process::id()))
        .maybe_api_key(settings.api_key.as_ref().map(|k| k.expose().to_owned()))
        .maybe_tls_options(tls.then(|| TlsOptions::builder().build()))
        .grpc_compression(compression)
        // Counts this process's RPCs by operation (`callsaga_temporal_rpcs_total`).
        .maybe_metrics_meter(settings.rpc_metrics.then(crate::temporal_rpcs::meter))
        .build();
    Client::connect(conn, ClientOptions::new(settings.namespace.clone()).build())
        .await
        .with_context(|| format!("failed to connect to Temporal at {}", settings.address))
}

/// `auto`: no compression to a loopback address (the dev server, a sidecar), where gzip costs
/// CPU on both ends of every call and saves nothing; gzip to anything else.
fn compression(setting: GrpcCompressionSetting, url: &url::Url) -> GrpcCompression {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match setting {
        GrpcCompressionSetting::Gzip => GrpcCompression::Gzip,
        GrpcCompressionSetting::None => GrpcCompression::None,
        GrpcCompressionSetting::Auto if loopback => GrpcCompression::None,
        GrpcCompressionSetting::Auto => GrpcCompression::Gzip,
    }
}

/// A client that connects on first use and is cached afterwards, so the API can start (and
/// accept webhooks into its inbox) while Temporal is still down.
#[derive(Clone)]
pub struct LazyClient {
    settings: Arc<TemporalSettings>,
    client: Arc<OnceCell<Client>>,
}

impl LazyClient {
    pub fn new(settings: TemporalSettings) -> Self {
        Self {
            settings: Arc::new(settings),
            client: Arc::new(OnceCell::new()),
        }
    }

    pub async fn get(&self) -> anyhow::Result<&Client> {
        self.client
            .get_or_try_init(|| connect(&self.settings))
            .await
    }

    pub fn task_queue(&self) -> &str {
        &self.settings.task_queue
    }
}

/// Registers every workflow and activity of callsaga on a worker's options.
pub fn worker_options(
    settings: &TemporalSettings,
    activities: &Activities,
) -> anyhow::Result<WorkerOptions> {
    let mut options = WorkerOptions::new(settings.task_queue.as_str())
        .register_workflow::<CallWorkflow>()?
        .register_activities(CallRecordActivitiesImpl::new(activities.clone()))
        .register_activities(ToolPlanningActivitiesImpl::new(activities.clone()))
        .register_activities(AppointmentActivitiesImpl::new(activities.clone()))
        .register_activities(CallEndActivitiesImpl::new(activities.clone()))
        .build();
    set_pollers(&mut options, settings)?;
    Ok(options)
}

/// Applies `temporal.workflow_pollers` and `temporal.nonsticky_poll_ratio` to a worker (also
/// used by `bench-tools`, so its floor polls the way our worker does).
pub fn set_pollers(options: &mut WorkerOptions, settings: &TemporalSettings) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.workflow_pollers >= 2,
        "temporal.workflow_pollers must be at least 2 (one for new calls, one for cached ones), \
         not {}",
        settings.workflow_pollers
    );
    anyhow::ensure!(
        settings.nonsticky_poll_ratio > 0.0 && settings.nonsticky_poll_ratio <= 1.0,
        "temporal.nonsticky_poll_ratio must be above 0 and at most 1, not {}",
        settings.nonsticky_poll_ratio
    );
    options.workflow_task_poller_behavior =
        Some(PollerBehavior::SimpleMaximum(settings.workflow_pollers));
    options.nonsticky_to_sticky_poll_ratio = settings.nonsticky_poll_ratio;
    Ok(())
}

/// A worker running on its own thread (the SDK's `Worker::run` future is not `Send`).
pub struct WorkerHandle {
    shutdown: Box<dyn Fn() + Send + Sync>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl WorkerHandle {
    /// Starts a worker thread with its own tokio runtime, database pool and client, and returns
    /// once the worker is registered with the server.
    pub async fn spawn(settings: Arc<Settings>, faults: FaultPlan) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) =
            tokio::sync::oneshot::channel::<anyhow::Result<Box<dyn Fn() + Send + Sync>>>();
        let thread = std::thread::Builder::new()
            .name("temporal-worker".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("temporal-worker-rt")
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let started = async {
                        let runtime = Runtime::from_current_tokio(Default::default())?;
                        let db = crate::db::connect(&settings).await?;
                        let mailer = Arc::new(Mailer::new(&settings.email)?);
                        let activities = Activities::new(db, mailer, faults, settings.billing)
                            .with_agent_cache(Duration::from_millis(settings.tools.agent_cache_ms))
                            .with_max_call_secs(settings.calls.max_call_secs)
                            .with_slot_lifetime(settings.admission_policy().slot_lifetime)
                            .with_caldav_policy(settings.calendar.clone());
                        let client = connect(&settings.temporal).await?;
                        let options = worker_options(&settings.temporal, &activities)?;
                        let worker = Worker::new(&runtime, client, options)?;
                        anyhow::Ok((runtime, worker))
                    }
                    .await;
                    match started {
                        Ok((_runtime, mut worker)) => {
                            let handle = worker.shutdown_handle();
                            let _ = ready_tx.send(Ok(Box::new(handle)));
                            worker.run().await.context("worker stopped with an error")
                        }
                        Err(e) => {
                            let msg = format!("{e:#}");
                            let _ = ready_tx.send(Err(e));
                            anyhow::bail!(msg)
                        }
                    }
                })
            })?;
        let shutdown = ready_rx
            .await
            .context("worker thread ended before it started")??;
        tracing::info!(task_queue = %"worker", "temporal worker running");
        Ok(Self {
            shutdown,
            thread: Some(thread),
        })
    }

    /// Asks the worker to stop polling, lets running tasks finish, and waits for the thread.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        (self.shutdown)();
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("worker thread panicked"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temporal(overrides: serde_json::Value) -> TemporalSettings {
        Settings::from_overrides(serde_json::json!({ "temporal": overrides }))
            .expect("settings")
            .temporal
    }

    #[test]
    fn compression_is_off_on_loopback_only_unless_forced() {
        let url = |s: &str| url::Url::parse(s).expect("url");
        let auto = GrpcCompressionSetting::Auto;
        for local in [
            "http://127.0.0.1:7233",
            "http://localhost:7233",
            "http://[::1]:7233",
        ] {
            assert_eq!(
                compression(auto, &url(local)),
                GrpcCompression::None,
                "{local}"
            );
        }
        for remote in [
            "https://ns.acct.tmprl.cloud:7233",
            "http://10.0.0.5:7233",
            "http://temporal-frontend:7233",
        ] {
            assert_eq!(
                compression(auto, &url(remote)),
                GrpcCompression::Gzip,
                "{remote}"
            );
        }
        let local = url("http://127.0.0.1:7233");
        assert_eq!(
            compression(GrpcCompressionSetting::Gzip, &local),
            GrpcCompression::Gzip
        );
        let remote = url("https://ns.acct.tmprl.cloud:7233");
        assert_eq!(
            compression(GrpcCompressionSetting::None, &remote),
            GrpcCompression::None
        );
        assert_eq!(
            temporal(serde_json::json!({})).grpc_compression,
            GrpcCompressionSetting::Auto
        );
        assert!(
            Settings::from_overrides(
                serde_json::json!({ "temporal": { "grpc_compression": "zstd" } })
            )
            .is_err()
        );
    }

    #[test]
    fn pollers_come_from_the_settings_and_bad_values_are_refused() {
        let mut options = WorkerOptions::new("q").build();
        set_pollers(&mut options, &temporal(serde_json::json!({}))).expect("defaults");
        assert_eq!(
            options.workflow_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(10))
        );
        assert!((options.nonsticky_to_sticky_poll_ratio - 0.5).abs() < f32::EPSILON);

        let one = temporal(serde_json::json!({ "workflow_pollers": 1 }));
        let err = set_pollers(&mut options, &one).expect_err("one poller");
        assert!(err.to_string().contains("workflow_pollers"), "{err}");
        for ratio in [0.0, 1.5, -0.1] {
            let bad = temporal(serde_json::json!({ "nonsticky_poll_ratio": ratio }));
            let err = set_pollers(&mut options, &bad).expect_err("bad ratio");
            assert!(err.to_string().contains("nonsticky_poll_ratio"), "{err}");
        }
    }
}
