//! `--spawn`: the stack as separate processes — a Temporal dev server, `callsaga api` and
//! `callsaga worker` — on a fresh database, so process faults can kill -9 and restart them.

use anyhow::Context;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// What the `callsaga` binary hands the simulator to run a stack.
#[derive(Debug, Clone)]
pub struct StackTools {
    /// The `callsaga` executable (`api`, `worker`, `seed` subcommands).
    pub callsaga_exe: PathBuf,
    /// The Temporal CLI.
    pub temporal_bin: Option<PathBuf>,
    /// `Name=Type` lines of callsaga's search attributes.
    pub search_attributes: Vec<String>,
}

/// The longest workflow id the spawned server accepts: shorter than the webhook's limit for
/// call ids (128) + `call-`, which is what makes the poison call's deliveries fail.
pub(crate) const MAX_ID_LENGTH: usize = 100;

pub(crate) struct Stack {
    tools: StackTools,
    dir: PathBuf,
    env: Vec<(String, String)>,
    temporal: Option<Child>,
    temporal_port: u16,
    temporal_metrics_port: u16,
    api: Option<Child>,
    worker: Option<Child>,
    pub(crate) api_url: String,
    pub(crate) temporal_address: String,
    pub(crate) database_url: String,
    pub(crate) mail_dir: PathBuf,
    pub(crate) bearer: String,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn log_file(dir: &Path, name: &str) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))
        .with_context(|| format!("failed to open {name}.log"))
}

impl Stack {
    pub(crate) async fn start(
        tools: StackTools,
        dir: PathBuf,
        database_url: Option<String>,
        seed: u64,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let api_port = free_port()?;
        let temporal_port = free_port()?;
        let temporal_metrics_port = free_port()?;
        let database_url = database_url
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("callsaga.db").display()));
        let mail_dir = dir.join("mail");
        let bearer = format!("sim-{seed:x}-{}", uuid::Uuid::new_v4().simple());
        let temporal_address = format!("http://127.0.0.1:{temporal_port}");
        let env = vec![
            ("CALLSAGA_DATABASE_URL", database_url.clone()),
            ("CALLSAGA_DATA_DIR", dir.display().to_string()),
            ("CALLSAGA_LISTEN", format!("127.0.0.1:{api_port}")),
            ("CALLSAGA_TEMPORAL__ADDRESS", temporal_address.clone()),
            ("CALLSAGA_TEMPORAL__TASK_QUEUE", "callsaga-simulate".into()),
            ("CALLSAGA_WEBHOOK__AUTH__MODE", "bearer".into()),
            ("CALLSAGA_WEBHOOK__AUTH__TOKEN", bearer.clone()),
            ("CALLSAGA_EMAIL__BACKEND", "file".into()),
            ("CALLSAGA_EMAIL__DIR", mail_dir.display().to_string()),
            // The watchdog closes a call without report 20 s after its end (600 s in production).
            ("CALLSAGA_CALLS__REPORT_TIMEOUT_SECS", "20".into()),
            // After the watchdog's close a late report is accepted this long (1 h in production);
            // the workflow completes after it.
            ("CALLSAGA_CALLS__LATE_REPORT_WINDOW_SECS", "10".into()),
            ("CALLSAGA_RELAY__POLL_INTERVAL_MS", "200".into()),
            ("CALLSAGA_RELAY__MAX_BACKOFF_MS", "2000".into()),
            ("CALLSAGA_RELAY__DEAD_AFTER_REJECTIONS", "5".into()),
            ("CALLSAGA_LOG_FORMAT", "text".into()),
            ("RUST_LOG", "warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut stack = Self {
            tools,
            dir,
            env,
            temporal: None,
            temporal_port,
            temporal_metrics_port,
            api: None,
            worker: None,
            api_url: format!("http://127.0.0.1:{api_port}"),
            temporal_address,
            database_url,
            mail_dir,
            bearer,
        };
        stack.start_temporal().await?;
        // `api` and `worker` only check the schema; migrations run once, here.
        let migrated = stack.callsaga("migrate").arg("up").status().await?;
        anyhow::ensure!(
            migrated.success(),
            "callsaga migrate up failed (see {})",
            stack.dir.join("migrate.log").display()
        );
        let seeded = stack.callsaga("seed").status().await?;
        anyhow::ensure!(
            seeded.success(),
            "callsaga seed failed (see {})",
            stack.dir.join("seed.log").display()
        );
        stack.start_api().await?;
        stack.start_worker().await?;
        Ok(stack)
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn temporal_metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.temporal_metrics_port)
    }

    fn callsaga(&self, role: &str) -> Command {
        let mut c = Command::new(&self.tools.callsaga_exe);
        c.arg(role)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Ok(log) = log_file(&self.dir, role)
            && let Ok(log2) = log.try_clone()
        {
            c.stdout(log).stderr(log2);
        }
        c
    }

    async fn start_temporal(&mut self) -> anyhow::Result<()> {
        let bin = self
            .tools
            .temporal_bin
            .clone()
            .context("the Temporal CLI was not found (run scripts/setup)")?;
        let mut c = Command::new(bin);
        c.args([
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--headless",
            "--log-level",
            "error",
        ])
        .args(["--port", &self.temporal_port.to_string()])
        .args(["--metrics-port", &self.temporal_metrics_port.to_string()])
        .args([
            "--db-filename",
            &self.dir.join("temporal.db").display().to_string(),
        ])
        .args([
            "--dynamic-config-value",
            &format!("limit.maxIDLength={MAX_ID_LENGTH}"),
        ]);
        for sa in &self.tools.search_attributes {
            c.args(["--search-attribute", sa]);
        }
        c.stdin(Stdio::null()).kill_on_drop(true);
        let log = log_file(&self.dir, "temporal")?;
        c.stdout(log.try_clone()?).stderr(log);
        self.temporal = Some(
            c.spawn()
                .context("failed to start the Temporal dev server")?,
        );
        wait_for(
            &format!("http://127.0.0.1:{}/metrics", self.temporal_metrics_port),
            Duration::from_secs(60),
        )
        .await?;
        // The frontend answers a little after the metrics endpoint.
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.temporal_port))
            .await
            .is_err()
        {
            anyhow::ensure!(
                Instant::now() < deadline,
                "Temporal did not start (see temporal.log)"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    pub(crate) async fn start_api(&mut self) -> anyhow::Result<()> {
        self.api = Some(
            self.callsaga("api")
                .spawn()
                .context("failed to start callsaga api")?,
        );
        wait_for(
            &format!("{}/healthz", self.api_url),
            Duration::from_secs(60),
        )
        .await
    }

    pub(crate) async fn start_worker(&mut self) -> anyhow::Result<()> {
        self.worker = Some(
            self.callsaga("worker")
                .spawn()
                .context("failed to start callsaga worker")?,
        );
        Ok(())
    }

    /// kill -9 of one process (`api` / `worker`), then it starts again.
    pub(crate) async fn kill_and_restart(&mut self, which: Process) -> anyhow::Result<()> {
        let child = match which {
            Process::Api => self.api.take(),
            Process::Worker => self.worker.take(),
        };
        if let Some(mut child) = child {
            // SIGKILL: the process gets no chance to finish anything.
            child.start_kill()?;
            let _ = child.wait().await;
        }
        match which {
            Process::Api => self.start_api().await,
            Process::Worker => self.start_worker().await,
        }
    }

    fn temporal_pid(&self) -> Option<i32> {
        self.temporal
            .as_ref()?
            .id()
            .and_then(|p| i32::try_from(p).ok())
    }

    /// SIGSTOP of the Temporal server for `for_`, then SIGCONT: connections stay open, nothing
    /// answers, as with a hung server.
    pub(crate) async fn freeze_temporal(&self, for_: Duration) -> anyhow::Result<()> {
        let pid = self.temporal_pid().context("Temporal is not running")?;
        signal(pid, Signal::SIGSTOP)?;
        tokio::time::sleep(for_).await;
        signal(pid, Signal::SIGCONT)
    }

    /// Stops everything: API and worker with SIGTERM (they drain), then Temporal.
    pub(crate) async fn stop(mut self) {
        for child in [self.api.take(), self.worker.take()].into_iter().flatten() {
            terminate(child, Duration::from_secs(20)).await;
        }
        if let Some(t) = self.temporal.take() {
            terminate(t, Duration::from_secs(10)).await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    Api,
    Worker,
}

fn signal(pid: i32, sig: Signal) -> anyhow::Result<()> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig)
        .with_context(|| format!("kill({pid}, {sig}) failed"))
}

async fn terminate(mut child: Child, grace: Duration) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = signal(pid, Signal::SIGCONT);
        let _ = signal(pid, Signal::SIGTERM);
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

async fn wait_for(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{url} did not answer within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
