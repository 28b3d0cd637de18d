//! CPU time per request, from `/proc`: this process (the service, the floor's worker and the
//! load) and the Temporal server, so a bench row shows what each tool call costs the machine
//! beside the floor, not only how long it took.

use std::time::Duration;

/// Cumulative user + system CPU of a process, read from `/proc/<pid>/stat`.
fn cpu_of(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux (what `getconf CLK_TCK` prints).
    Some(Duration::from_millis(ticks * 10))
}

/// The pid of the Temporal dev server listening on `port` (its command line names the port).
pub(crate) fn server_pid(port: u16) -> Option<String> {
    let port = port.to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let is_server = args.first().is_some_and(|a| a.ends_with(b"temporal"))
                && args.iter().any(|a| *a == b"start-dev")
                && args
                    .windows(2)
                    .any(|w| w[0] == b"--port" && w[1] == port.as_bytes());
            is_server.then_some(pid)
        })
}

/// CPU of (this process, the server) so far.
#[derive(Clone, Copy, Default)]
pub(crate) struct Cpu {
    pub(crate) ours: Duration,
    pub(crate) server: Duration,
}

impl Cpu {
    pub(crate) fn now(server_pid: Option<&str>) -> Self {
        Self {
            ours: cpu_of("self").unwrap_or_default(),
            server: server_pid.and_then(cpu_of).unwrap_or_default(),
        }
    }

    pub(crate) fn since(self, earlier: Self) -> Self {
        Self {
            ours: self.ours.saturating_sub(earlier.ours),
            server: self.server.saturating_sub(earlier.server),
        }
    }

    pub(crate) fn add(&mut self, other: Self) {
        self.ours += other.ours;
        self.server += other.server;
    }
}
