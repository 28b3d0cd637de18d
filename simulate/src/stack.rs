//! `--spawn`: the stack as separate processes — a Temporal dev server, `callsaga api` and
//! `callsaga worker` — on a fresh database, so process faults can kill -9 and restart them.

use anyhow::Context;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::testservers::{CALDAV_PASSWORD, CALDAV_USER, Kind, TestServer, make_calendar};

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

impl StackTools {
    /// The project's `.venv-testservers` (Radicale, aiosmtpd), when `scripts/setup` made it.
    fn testservers_venv(&self) -> Option<PathBuf> {
        crate::testservers::find_venv(&self.callsaga_exe)
    }
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
    caldav: Option<TestServer>,
    smtp: Option<TestServer>,
    pub(crate) api_url: String,
    pub(crate) temporal_address: String,
    pub(crate) database_url: String,
    pub(crate) mail_dir: PathBuf,
    pub(crate) bearer: String,
    /// The Temporal server's `/metrics` text just before each restart (its counters start
    /// from zero after one).
    pub(crate) metrics_before_restarts: Vec<String>,
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
        testservers: bool,
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
        let venv = tools.testservers_venv().filter(|_| testservers);
        let (caldav, smtp) = match &venv {
            Some(v) => (
                Some(TestServer::start(Kind::Radicale, v, &dir, free_port()?).await?),
                Some(TestServer::start(Kind::Smtp, v, &dir, free_port()?).await?),
            ),
            None => (None, None),
        };
        let mut env: Vec<(String, String)> = vec![
            ("CALLSAGA_DATABASE_URL", database_url.clone()),
            ("CALLSAGA_DATA_DIR", dir.display().to_string()),
            ("CALLSAGA_LISTEN", format!("127.0.0.1:{api_port}")),
            ("CALLSAGA_TEMPORAL__ADDRESS", temporal_address.clone()),
            ("CALLSAGA_TEMPORAL__TASK_QUEUE", "callsaga-simulate".into()),
            ("CALLSAGA_WEBHOOK__AUTH__MODE", "bearer".into()),
            ("CALLSAGA_WEBHOOK__AUTH__TOKEN", bearer.clone()),
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
        match &smtp {
            // A real SMTP server: what it accepted is its maildir.
            Some(smtp) => env.extend(
                [
                    ("CALLSAGA_EMAIL__BACKEND", "smtp".to_owned()),
                    ("CALLSAGA_EMAIL__HOST", "127.0.0.1".to_owned()),
                    ("CALLSAGA_EMAIL__PORT", smtp.port.to_string()),
                    ("CALLSAGA_EMAIL__TLS", "none".to_owned()),
                    ("CALLSAGA_EMAIL__TIMEOUT_MS", "5000".to_owned()),
                ]
                .map(|(k, v)| (k.to_owned(), v)),
            ),
            None => env.extend(
                [
                    ("CALLSAGA_EMAIL__BACKEND", "file".to_owned()),
                    ("CALLSAGA_EMAIL__DIR", mail_dir.display().to_string()),
                ]
                .map(|(k, v)| (k.to_owned(), v)),
            ),
        }
        if caldav.is_some() {
            // Radicale listens on http://127.0.0.1, which production refuses.
            for k in [
                "CALLSAGA_CALENDAR__CALDAV_ALLOW_HTTP",
                "CALLSAGA_CALENDAR__CALDAV_ALLOW_PRIVATE",
            ] {
                env.push((k.to_owned(), "true".to_owned()));
            }
        }
        let mail_dir = smtp.as_ref().map_or(mail_dir, TestServer::maildir);
        let mut stack = Self {
            tools,
            dir,
            env,
            temporal: None,
            temporal_port,
            temporal_metrics_port,
            api: None,
            worker: None,
            caldav,
            smtp,
            api_url: format!("http://127.0.0.1:{api_port}"),
            temporal_address,
            database_url,
            mail_dir,
            bearer,
            metrics_before_restarts: Vec::new(),
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
        stack.use_caldav().await?;
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

    fn temporal_command(&self) -> anyhow::Result<Command> {
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
        Ok(c)
    }

    /// Starts the dev server and waits until its frontend answers. A server that exits while
    /// starting (after a restart it can lose the race for its database file to the old one's
    /// last writes) is started again, as a supervisor would.
    async fn start_temporal(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let metrics = self.temporal_metrics_url();
        let mut child = self
            .temporal_command()?
            .spawn()
            .context("failed to start the Temporal dev server")?;
        loop {
            if let Some(status) = child.try_wait()? {
                eprintln!(
                    "the Temporal dev server exited while starting ({status}); starting it again"
                );
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "Temporal did not start (see temporal.log)"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                child = self.temporal_command()?.spawn()?;
                continue;
            }
            let metrics_up = http
                .get(&metrics)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            // The frontend answers a little after the metrics endpoint.
            if metrics_up
                && tokio::net::TcpStream::connect(("127.0.0.1", self.temporal_port))
                    .await
                    .is_ok()
            {
                self.temporal = Some(child);
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "Temporal did not start (see temporal.log)"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
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

    /// Points every agent of the fresh database (the demo tenant) at a calendar on the spawned
    /// Radicale, so bookings go through the CalDAV saga and a CalDAV outage reaches them.
    async fn use_caldav(&self) -> anyhow::Result<()> {
        use callsaga_entity::agents;
        use sea_orm::{EntityTrait, sea_query::Expr};
        let Some(caldav) = &self.caldav else {
            return Ok(());
        };
        let url = make_calendar(caldav.port).await?;
        let config = serde_json::json!({
            "url": url, "username": CALDAV_USER, "password": CALDAV_PASSWORD,
        });
        let db = sea_orm::Database::connect(&self.database_url).await?;
        agents::Entity::update_many()
            .col_expr(agents::Column::CalendarProvider, Expr::value("caldav"))
            .col_expr(agents::Column::CalendarConfig, Expr::value(config))
            .exec(&db)
            .await
            .context("failed to point the agents at the CalDAV calendar")?;
        db.close().await?;
        Ok(())
    }

    /// The Temporal server stopped (SIGTERM, as a deploy or a crash-restarting supervisor would)
    /// and started again on the same port and database file: its state survives, connections
    /// break.
    pub(crate) async fn restart_temporal(&mut self) -> anyhow::Result<()> {
        let metrics = reqwest::Client::new()
            .get(self.temporal_metrics_url())
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(r) = metrics
            && let Ok(text) = r.text().await
        {
            self.metrics_before_restarts.push(text);
        }
        if let Some(t) = self.temporal.take() {
            terminate(t, Duration::from_secs(10)).await;
        }
        self.start_temporal().await
    }

    fn test_server(&mut self, which: Kind) -> anyhow::Result<&mut TestServer> {
        match which {
            Kind::Radicale => self.caldav.as_mut(),
            Kind::Smtp => self.smtp.as_mut(),
        }
        .context("no test servers (run scripts/setup: .venv-testservers)")
    }

    /// The CalDAV or SMTP server stopped (nothing listens on its port) …
    pub(crate) async fn stop_server(&mut self, which: Kind) -> anyhow::Result<()> {
        self.test_server(which)?.stop().await;
        Ok(())
    }

    /// … and started again with the same storage.
    pub(crate) async fn start_server(&mut self, which: Kind) -> anyhow::Result<()> {
        self.test_server(which)?.run().await
    }

    fn temporal_pid(&self) -> Option<i32> {
        self.temporal
            .as_ref()?
            .id()
            .and_then(|p| i32::try_from(p).ok())
    }

    /// SIGSTOP of the Temporal server: connections stay open, nothing answers, as with a hung
    /// server, until [`Stack::thaw_temporal`].
    pub(crate) fn freeze_temporal(&self) -> anyhow::Result<()> {
        let pid = self.temporal_pid().context("Temporal is not running")?;
        signal(pid, Signal::SIGSTOP)
    }

    pub(crate) fn thaw_temporal(&self) -> anyhow::Result<()> {
        let pid = self.temporal_pid().context("Temporal is not running")?;
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
        for server in [self.caldav.as_mut(), self.smtp.as_mut()]
            .into_iter()
            .flatten()
        {
            server.stop().await;
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
