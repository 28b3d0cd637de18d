//! The local test servers' harness, shared by the CalDAV (Radicale) and SMTP (aiosmtpd) tests:
//! the project-local virtualenv, scratch folders, and a supervised child process that dies with
//! the test process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The Python of the project-local test-server virtualenv that `scripts/setup` installs.
pub(crate) fn testservers_python() -> PathBuf {
    venv_program(
        "CALLSAGA_TESTSERVERS_VENV",
        ".venv-testservers",
        "python",
        "Radicale and aiosmtpd",
    )
}

/// `bin/<program>` of a project-local virtualenv that `scripts/setup` installs: `dir` in the
/// checkout, or the folder the environment variable `env` names.
pub(crate) fn venv_program(env: &str, dir: &str, program: &str, what: &str) -> PathBuf {
    let venv = std::env::var_os(env).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir),
        PathBuf::from,
    );
    let path = venv.join("bin").join(program);
    assert!(
        path.exists(),
        "{} not found: run scripts/setup (installs {what})",
        path.display()
    );
    path
}

/// A fresh scratch folder under the system temp dir.
pub(crate) fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("callsaga-tests")
        .join(format!("{prefix}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Starts `program args…` under a tiny `sh` supervisor that stops it as soon as this test
/// process is gone (the test harness never runs destructors of statics), like the Temporal dev
/// server in `callsaga_api::devserver`. Output goes to `log`.
pub(crate) fn spawn_supervised(
    program: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
    log: &Path,
) -> Child {
    let script = r#"parent=$1; shift; "$@" & c=$!; trap 'kill $c 2>/dev/null' TERM INT;
while kill -0 "$parent" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 0.5; done;
kill "$c" 2>/dev/null; wait "$c""#;
    let log = std::fs::File::create(log).expect("log file");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("testserver-supervisor")
        .arg(std::process::id().to_string())
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("test server starts")
}

/// Stops a supervised server (the supervisor's trap stops the server) and waits for it.
pub(crate) fn stop_supervised(mut child: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

/// Waits until something accepts connections on `port` (panics after `timeout`).
pub(crate) async fn wait_for_port(port: u16, timeout: Duration, log: &Path) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < timeout,
            "test server on port {port} did not start; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
