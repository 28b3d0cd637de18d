//! CPU time per request, from `/proc`: this process (the service, the floor's worker and the
//! load) and the Temporal server, so a bench row shows what each tool call costs the machine
//! beside the floor, not only how long it took.

use std::collections::BTreeMap;
use std::time::Duration;

/// Cumulative user + system CPU of a process, read from `/proc/<pid>/stat`.
fn cpu_of(pid: &str) -> Option<Duration> {
    ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// User + system CPU from a `stat` line.
fn ticks(stat: &str) -> Option<Duration> {
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux (what `getconf CLK_TCK` prints).
    Some(Duration::from_millis(ticks * 10))
}

/// Cumulative CPU of this process's threads, by the column of [`THREAD_GROUPS`] their name
/// falls in (`other` for the rest).
fn threads_of_self() -> BTreeMap<&'static str, Duration> {
    let mut groups = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return groups;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or("", |(name, _)| name);
        *groups.entry(thread_group(name)).or_default() += ticks(&stat).unwrap_or_default();
    }
    groups
}

/// The group a thread's name belongs to (see [`THREAD_GROUPS`]).
fn thread_group(name: &str) -> &'static str {
    THREAD_GROUPS
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map_or("other", |(_, group)| group)
}

/// Thread-name prefixes and the column each is shown in, in the table's order (then `other`).
/// `tokio-rt-worker` is the bench's main runtime: the HTTP server and handlers, the load's HTTP
/// client and both Temporal clients. `temporal-worker` is the service's worker thread and
/// runtime (SDK core and our activities), `floor-` the floor's.
pub(crate) const THREAD_GROUPS: &[(&str, &str)] = &[
    ("bench-tools", "main"),
    ("tokio-rt-worker", "tokio"),
    ("temporal-worker", "our wrk"),
    ("floor-", "floor wrk"),
    ("workflow-proces", "workflow"),
    ("sqlx-sqlite", "sqlite"),
];

/// The columns of the per-thread table: [`THREAD_GROUPS`]' and `other`.
pub(crate) fn thread_columns() -> impl Iterator<Item = &'static str> {
    THREAD_GROUPS
        .iter()
        .map(|(_, column)| *column)
        .chain(["other"])
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

/// CPU of (this process, the server) so far, and of this process's thread groups.
#[derive(Clone, Default)]
pub(crate) struct Cpu {
    pub(crate) ours: Duration,
    pub(crate) server: Duration,
    pub(crate) threads: BTreeMap<&'static str, Duration>,
}

impl Cpu {
    pub(crate) fn now(server_pid: Option<&str>) -> Self {
        Self {
            ours: cpu_of("self").unwrap_or_default(),
            server: server_pid.and_then(cpu_of).unwrap_or_default(),
            threads: threads_of_self(),
        }
    }

    /// The CPU used between `earlier` and `self` (threads that ended in between count as 0).
    pub(crate) fn since(&self, earlier: &Self) -> Self {
        Self {
            ours: self.ours.saturating_sub(earlier.ours),
            server: self.server.saturating_sub(earlier.server),
            threads: self
                .threads
                .iter()
                .map(|(g, d)| {
                    let before = earlier.threads.get(g).copied().unwrap_or_default();
                    (*g, d.saturating_sub(before))
                })
                .collect(),
        }
    }

    pub(crate) fn add(&mut self, other: &Self) {
        self.ours += other.ours;
        self.server += other.server;
        for (g, d) in &other.threads {
            *self.threads.entry(g).or_default() += *d;
        }
    }
}
