//! The Temporal CLI dev server as a managed child process (for `callsaga dev` and the tests).

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The search attributes callsaga's workflows set, as `NAME=TYPE` lines.
pub const SEARCH_ATTRIBUTES: &str = include_str!("../../temporal/search-attributes.conf");

pub struct DevServerOptions {
    pub temporal_bin: PathBuf,
    pub port: u16,
    /// `None`: headless (no Web UI).
    pub ui_port: Option<u16>,
    /// `None`: in memory.
    pub db_file: Option<PathBuf>,
    /// Stop the server when this process dies, even on SIGKILL (used by the tests, whose
    /// harness never runs destructors of statics).
    pub die_with_parent: bool,
}

pub struct DevServer {
    child: Child,
    pub address: String,
}

/// The project-local CLI installed by `temporal/install.sh`, found from the working directory
/// or any parent (tests run in `tests/`), else from the running binary's folder or any parent
/// (`target/release/bench-tools` started from elsewhere).
pub fn default_temporal_bin() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("CALLSAGA_DEV__TEMPORAL_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from));
    let starts = [std::env::current_dir().ok(), exe_dir];
    for start in starts.into_iter().flatten() {
        if let Some(found) = start
            .ancestors()
            .map(|dir| dir.join(".temporal/venv/bin/temporal"))
            .find(|candidate| candidate.exists())
        {
            return Ok(found);
        }
    }
    anyhow::bail!(
        "Temporal CLI not found in .temporal/ above the working folder or this program: \
         run temporal/install.sh (or set CALLSAGA_DEV__TEMPORAL_BIN)"
    )
}

impl DevServer {
    pub async fn start(opts: DevServerOptions) -> anyhow::Result<Self> {
        anyhow::ensure!(
            opts.temporal_bin.exists(),
            "Temporal CLI not found at {} (run temporal/install.sh)",
            opts.temporal_bin.display()
        );
        let mut args: Vec<String> = vec![
            "server".into(),
            "start-dev".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            opts.port.to_string(),
            "--log-level".into(),
            "error".into(),
        ];
        match opts.ui_port {
            Some(ui) => args.extend(["--ui-port".into(), ui.to_string()]),
            None => args.push("--headless".into()),
        }
        if let Some(db) = &opts.db_file {
            if let Some(dir) = db.parent() {
                std::fs::create_dir_all(dir)?;
            }
            args.extend(["--db-filename".into(), path_str(db)?]);
        }
        for line in SEARCH_ATTRIBUTES.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                args.extend(["--search-attribute".into(), line.to_owned()]);
            }
        }
        let bin = path_str(&opts.temporal_bin)?;
        let mut cmd = if opts.die_with_parent {
            // A tiny shell supervisor: stops the server as soon as our process is gone.
            // SIGCONT after the SIGTERM: a server a test froze (SIGSTOP) stops too.
            let script = r#"parent=$1; shift; "$@" & c=$!;
trap 'kill $c 2>/dev/null; kill -CONT $c 2>/dev/null' TERM INT;
while kill -0 "$parent" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 0.5; done;
kill "$c" 2>/dev/null; kill -CONT "$c" 2>/dev/null; wait "$c""#;
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(script)
                .arg("temporal-supervisor")
                .arg(std::process::id().to_string())
                .arg(bin)
                .args(&args);
            c
        } else {
            let mut c = Command::new(bin);
            c.args(&args);
            c
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .context("failed to start the Temporal dev server")?;
        let server = Self {
            child,
            address: format!("http://127.0.0.1:{}", opts.port),
        };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    /// Waits until the frontend accepts connections and answers a visibility query that uses
    /// our search attributes (so they are registered).
    async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let settings = crate::settings::TemporalSettings {
            address: self.address.clone(),
            namespace: "default".into(),
            task_queue: String::new(),
            api_key: None,
            tls: false,
            ui_url: String::new(),
            // Not used: this client does not run a worker.
            workflow_pollers: 2,
            nonsticky_poll_ratio: 0.5,
            grpc_compression: Default::default(),
            rpc_metrics: false,
        };
        let mut last_err = None;
        while started.elapsed() < timeout {
            match crate::temporal::connect(&settings).await {
                Ok(client) => match client
                    .count_workflows("CallId = 'readiness-probe'", Default::default())
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(e) => last_err = Some(anyhow::anyhow!(e)),
                },
                Err(e) => last_err = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("timed out")))
            .context("Temporal dev server did not become ready")
    }

    /// Stops the server gracefully (SIGTERM), then forcefully after 10 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok()
            {
                return Ok(());
            }
        }
        self.child.kill().await?;
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The pid of the Temporal server itself: the child, or under the supervisor of
    /// `die_with_parent` the supervisor's child that runs `start-dev` (Linux `/proc`).
    pub fn server_pid(&self) -> Option<u32> {
        let pid = self.child.id()?;
        // `<bin> server start-dev …` (the supervisor has them further down its arguments).
        let is_server = |p: u32| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
                args.get(1..3) == Some(&[b"server".as_slice(), b"start-dev".as_slice()])
            })
        };
        if is_server(pid) {
            return Some(pid);
        }
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        children
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .find(|c| is_server(*c))
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung
    /// server. [`DevServer::thaw`] resumes it.
    pub async fn freeze(&self) -> anyhow::Result<()> {
        self.signal("-STOP").await
    }

    /// Resumes a frozen server (SIGCONT).
    pub async fn thaw(&self) -> anyhow::Result<()> {
        self.signal("-CONT").await
    }

    async fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self
            .server_pid()
            .context("the Temporal server's pid is unknown")?;
        let status = Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill {signal} {pid} failed");
        Ok(())
    }
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn path_str(p: &Path) -> anyhow::Result<String> {
    p.to_str()
        .map(str::to_owned)
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}
