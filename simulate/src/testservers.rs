//! The spawned stack's outside world: a real Radicale (CalDAV) and a real aiosmtpd (SMTP) from
//! the project's `.venv-testservers` (what `scripts/setup` installs for the tests), each a child
//! process that an outage fault stops and starts again on the same port and the same storage.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub(crate) const CALDAV_USER: &str = "sim";
pub(crate) const CALDAV_PASSWORD: &str = "sim-caldav-pw";

/// `.venv-testservers` above the working folder or the `callsaga` binary, when its Python is
/// there. (Not a `CALLSAGA_*` variable: the service's settings refuse unknown ones.)
pub(crate) fn find_venv(exe: &Path) -> Option<PathBuf> {
    let starts = [
        std::env::current_dir().ok(),
        exe.parent().map(Path::to_path_buf),
    ];
    starts.into_iter().flatten().find_map(|start| {
        start
            .ancestors()
            .map(|d| d.join(".venv-testservers"))
            .find(|v| v.join("bin/python").exists())
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Radicale,
    Smtp,
}

/// One test server: how to start it, and the running child.
pub(crate) struct TestServer {
    kind: Kind,
    python: PathBuf,
    dir: PathBuf,
    pub(crate) port: u16,
    child: Option<Child>,
}

impl TestServer {
    pub(crate) async fn start(
        kind: Kind,
        venv: &Path,
        dir: &Path,
        port: u16,
    ) -> anyhow::Result<Self> {
        let dir = dir.join(match kind {
            Kind::Radicale => "radicale",
            Kind::Smtp => "smtp",
        });
        std::fs::create_dir_all(&dir)?;
        if kind == Kind::Radicale {
            std::fs::write(
                dir.join("users"),
                format!("{CALDAV_USER}:{CALDAV_PASSWORD}\n"),
            )?;
            let config = format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\n[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n\n[storage]\nfilesystem_folder = {storage}\n\n[logging]\nlevel = warning\n",
                users = dir.join("users").display(),
                storage = dir.join("collections").display(),
            );
            std::fs::write(dir.join("config"), config)?;
        }
        let mut server = Self {
            kind,
            python: venv.join("bin/python"),
            dir,
            port,
            child: None,
        };
        server.run().await?;
        Ok(server)
    }

    /// Where aiosmtpd's `Mailbox` handler keeps the messages it accepted (a maildir).
    pub(crate) fn maildir(&self) -> PathBuf {
        self.dir.join("maildir")
    }

    pub(crate) async fn run(&mut self) -> anyhow::Result<()> {
        let mut c = Command::new(&self.python);
        match self.kind {
            Kind::Radicale => {
                c.args(["-m", "radicale", "--config"])
                    .arg(self.dir.join("config"));
            }
            Kind::Smtp => {
                c.args(["-m", "aiosmtpd", "-n", "-l"])
                    .arg(format!("127.0.0.1:{}", self.port))
                    .args(["-c", "aiosmtpd.handlers.Mailbox"])
                    .arg(self.maildir());
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))?;
        c.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        self.child = Some(
            c.spawn()
                .with_context(|| format!("failed to start {:?}", self.kind))?,
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            anyhow::ensure!(
                Instant::now() < deadline,
                "{:?} did not start (see {})",
                self.kind,
                self.dir.join("server.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// Creates the simulation's calendar collection on Radicale; returns its URL.
pub(crate) async fn make_calendar(port: u16) -> anyhow::Result<String> {
    let url = format!("http://127.0.0.1:{port}/{CALDAV_USER}/simulate/");
    let response = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(b"MKCALENDAR")?, &url)
        .basic_auth(CALDAV_USER, Some(CALDAV_PASSWORD))
        .send()
        .await
        .context("MKCALENDAR failed")?;
    anyhow::ensure!(
        response.status().is_success(),
        "MKCALENDAR {url}: {}",
        response.status()
    );
    Ok(url)
}
