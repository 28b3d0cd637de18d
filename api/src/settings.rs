//! One typed configuration, loaded from built-in defaults, then an optional TOML file, then
//! environment variables `CALLSAGA_*` (nested keys joined with `__`, e.g.
//! `CALLSAGA_TEMPORAL__ADDRESS`). Secrets are [`Secret`]s, so printing the settings is safe.

use crate::secret::Secret;
use crate::vapi::WebhookAuth;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where local state lives in `dev` (SQLite file, Temporal's database, the mail folder).
    pub data_dir: PathBuf,
    /// `sqlite://…` (embedded default) or `postgres://…` (production).
    pub database_url: Secret,
    /// SQLite only: `full` (default) syncs the WAL on every commit, so an acknowledged webhook
    /// survives power loss, not only a crash of the process; `normal` survives a process crash
    /// only (faster commits; for disposable data such as benchmarks).
    pub sqlite_synchronous: SqliteDurability,
    /// PostgreSQL: connections in this process's pool (default 20). Every API and worker
    /// process has its own pool, so N processes need N × this (plus the migration lock's one)
    /// below the server's `max_connections` (see temporal/PRODUCTION.md).
    #[serde(default)]
    pub database_max_connections: Option<u32>,
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// The HTTP server: timeouts, connection and concurrency limits, trusted proxies.
    pub http: HttpSettings,
    pub temporal: TemporalSettings,
    pub webhook: WebhookSettings,
    pub relay: RelaySettings,
    /// What `/readyz` checks beyond the database.
    pub readiness: ReadinessSettings,
    pub tools: ToolSettings,
    /// What a call costs.
    pub billing: callsaga_activities::pricing::Pricing,
    /// The call watchdog.
    pub calls: callsaga_workflows::payloads::CallTimeouts,
    /// Who is admitted at the door (assistant-request); per-user caps and fallback numbers
    /// are set on the user (admin API).
    #[serde(default)]
    pub admission: AdmissionSettings,
    /// Where CalDAV calendars may point (`caldav_allow_http`, `caldav_allow_private`, both
    /// false by default) and how much of a CalDAV answer is read (`caldav_max_response_bytes`,
    /// 4 MiB).
    #[serde(default)]
    pub calendar: callsaga_activities::calendar::CalDavPolicy,
    /// Where confirmation and operator emails go (`file` into `data/mail` by default).
    pub email: callsaga_activities::email::EmailSettings,
    pub dev: DevSettings,
    /// The admin API (`/admin/v1`).
    pub admin: AdminSettings,
    /// `text` (default) or `json` log lines.
    pub log_format: LogFormat,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemporalSettings {
    /// gRPC target, e.g. `http://127.0.0.1:7233` or `https://<ns>.<acct>.tmprl.cloud:7233`.
    pub address: String,
    pub namespace: String,
    pub task_queue: String,
    /// API key for Temporal Cloud (sent as a bearer token; implies TLS).
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Use TLS with the system roots even without an API key.
    #[serde(default)]
    pub tls: bool,
    /// Base URL of the Temporal Web UI, used to link workflows.
    pub ui_url: String,
    /// Most workflow-task polls the worker keeps open at once (at least 2; the SDK's default
    /// is 5).
    pub workflow_pollers: usize,
    /// Share of `workflow_pollers` that poll the normal task queue, where the first workflow
    /// task of every new call waits; the others poll the worker's sticky queue (tasks of calls
    /// it has cached). The SDK's default, 0.2, leaves one poller for every new call: in
    /// `bench-tools` at 32 calls with a compile sharing the CPU, a first tool call waited 40–80
    /// ms for it at p50 (6–10 ms with 10 pollers at 0.5); on an idle machine 5–9 ms either way.
    pub nonsticky_poll_ratio: f32,
    /// gRPC compression of the client's messages (and the worker's, which shares it):
    /// `auto` (the default) sends them uncompressed to a loopback address, where gzip only
    /// costs CPU on both sides, and gzip-compressed to any other; `gzip` or `none` force it.
    #[serde(default)]
    pub grpc_compression: GrpcCompressionSetting,
    /// Count this process's Temporal RPCs by operation (`callsaga_temporal_rpcs_total`), through
    /// a metrics meter on the client.
    #[serde(default = "yes")]
    pub rpc_metrics: bool,
}

fn yes() -> bool {
    true
}

/// `temporal.grpc_compression`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GrpcCompressionSetting {
    #[default]
    Auto,
    Gzip,
    None,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// How Vapi authenticates to us. `none` is only sensible on a developer machine.
    pub auth: WebhookAuth,
    /// Largest accepted body; a long end-of-call report with its messages can be several MB.
    pub body_limit_bytes: usize,
    /// Bounds on what one request may ask (tool calls per request, argument size, transcript
    /// messages stored); see `callsaga_activities::vapi::limits`.
    #[serde(default)]
    pub limits: callsaga_activities::vapi::RequestLimits,
    /// Per-source rate limit.
    pub rate_limit: crate::ratelimit::RateLimitSettings,
    /// Whole-request timeout for asynchronous events (the handler only commits to the inbox).
    pub request_timeout_ms: u64,
    /// Hard budget of an assistant-request or transfer-destination-request answer (Vapi gives
    /// the whole call set-up 7.5 s): past it, a slow database gets a speakable error instead.
    pub answer_budget_ms: u64,
    /// Lets the webhook listen beyond loopback with auth `none` (logged loudly at start). Off:
    /// such a configuration refuses to start.
    #[serde(default)]
    pub allow_unauthenticated_public: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionSettings {
    /// Balance plus remaining grace credits a call needs to be taken, unless the user sets
    /// `min_call_credits`. Unset (the default): the price of one billing unit (one started
    /// minute, or one second, of `billing`). 0 turns the credits check off.
    #[serde(default)]
    pub min_credits: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Load balancers whose `X-Forwarded-For` is believed (CIDR blocks). Empty (the default):
    /// a client is its peer address and the header is ignored.
    pub trusted_proxies: Vec<crate::server::client_ip::Cidr>,
    /// A request head must be complete within this time (from the connection's start or the
    /// request's first byte): a client trickling headers is cut off.
    pub header_read_timeout_ms: u64,
    /// A keep-alive connection without a request for this long is closed. Keep it above a load
    /// balancer's own idle timeout (60 s on AWS ALB), so it never reuses a connection we close.
    pub idle_timeout_ms: u64,
    /// Most connections open at once per listener; more are closed at once. Keep it below the
    /// process's open-file limit (`ulimit -n`) minus the database pool.
    pub max_connections: usize,
    /// Most requests in progress per route class; more are answered 503 with `Retry-After`.
    pub concurrency: ConcurrencySettings,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencySettings {
    /// `POST /webhooks/vapi`.
    pub webhook: usize,
    /// `/admin/v1/…`.
    pub admin: usize,
    /// `/metrics`, `/healthz`, `/readyz`, `/openapi.json`.
    pub ops: usize,
}

impl HttpSettings {
    /// Limits of 0 would refuse everything: a configuration mistake, refused at start.
    pub fn validate(&self) -> Result<(), String> {
        let c = &self.concurrency;
        for (name, value) in [
            ("max_connections", self.max_connections),
            ("concurrency.webhook", c.webhook),
            ("concurrency.admin", c.admin),
            ("concurrency.ops", c.ops),
        ] {
            if value == 0 {
                return Err(format!("http.{name} must be at least 1"));
            }
        }
        if u32::try_from(self.max_connections).is_err() {
            return Err("http.max_connections is too large".to_owned());
        }
        if self.header_read_timeout_ms == 0 || self.idle_timeout_ms == 0 {
            return Err(
                "http.header_read_timeout_ms and idle_timeout_ms must be above 0".to_owned(),
            );
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    /// Most inbox rows read per relay pass.
    pub batch_size: u64,
    /// How many calls are relayed concurrently.
    pub concurrency: usize,
    /// Idle poll interval; new events wake the relay at once.
    pub poll_interval_ms: u64,
    /// Longest wait between two delivery attempts of a failing event.
    pub max_backoff_ms: u64,
    /// At most one conversation-update per call is forwarded to the workflow per this many
    /// seconds of event time; the others are coalesced.
    pub conversation_forward_interval_secs: u64,
    /// A call whose deliveries Temporal rejected this many times (an invalid request, not an
    /// outage) becomes dead: its events wait for `callsaga inbox redrive`.
    pub dead_after_rejections: u32,
    /// A call still failing this long after its first failed delivery (whatever the cause,
    /// outages included) becomes dead too.
    pub dead_after_secs: u64,
    /// PostgreSQL (several API processes on one inbox): how long a relay's claim on a call
    /// lasts without renewal. A relay renews its claims every third of it while it delivers;
    /// the calls of a process that died are taken over by another within this time (plus
    /// one `poll_interval_ms`).
    pub claim_lease_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadinessSettings {
    /// How often the API asks Temporal a cheap question (a visibility count).
    pub temporal_probe_ms: u64,
    /// `/readyz` fails once Temporal has not answered for longer than this (a blip of a few
    /// seconds does not take every replica out of the load balancer at once).
    pub temporal_unready_after_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSettings {
    /// Budget for answering a tool-calls request (Vapi's tool timeout is 20 s by default, but
    /// a caller hears dead air long before): past it the caller hears "confirming that now".
    pub deadline_ms: u64,
    /// How long a worker reuses an agent's row for its tool calls (0: read it every time); a
    /// change to an agent reaches tool calls within this time.
    pub agent_cache_ms: u64,
    /// A read-only tool (availability, listings, operator availability) not answered by the
    /// workflow within this time is answered from the database by the API itself (the same
    /// code): a caller hears dead air after about a second.
    pub read_fallback_ms: u64,
    /// An effectful tool (book, reschedule, cancel, escalate) must be accepted by the workflow
    /// within this time (plus a grace of 500 ms for the report to arrive), else the caller
    /// hears that the business will call back, and the tool call can no longer take effect.
    pub accept_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevSettings {
    /// Path of the `temporal` CLI; default: `.temporal/venv/bin/temporal` (temporal/install.sh).
    pub temporal_bin: Option<PathBuf>,
    pub temporal_port: u16,
    pub temporal_ui_port: u16,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Bearer token of the admin API. None (the default) or empty: the admin API is disabled
    /// and its routes answer 404.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Lets the admin API listen beyond loopback with a token shorter than 32 bytes (logged
    /// loudly at start). Off: such a configuration refuses to start.
    #[serde(default)]
    pub allow_short_token_public: bool,
    /// A separate address (an internal network) for `/admin/v1`, `/metrics` and
    /// `/openapi.json`; set, they are not served on `listen`. None (the default): all on
    /// `listen`.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Per-source rate limit of the admin API.
    pub rate_limit: crate::ratelimit::RateLimitSettings,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqliteDurability {
    #[default]
    Full,
    Normal,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Built-in defaults: everything embedded under `./data`.
fn defaults() -> serde_json::Value {
    serde_json::json!({
        "data_dir": "data",
        "database_url": "sqlite://data/callsaga.db?mode=rwc",
        "sqlite_synchronous": "full",
        "listen": "127.0.0.1:3000",
        "http": {
            "trusted_proxies": [],
            "header_read_timeout_ms": 10_000,
            "idle_timeout_ms": 75_000,
            "max_connections": 1000,
            "concurrency": { "webhook": 512, "admin": 32, "ops": 64 },
        },
        "log_format": "text",
        "temporal": {
            "address": "http://127.0.0.1:7233",
            "namespace": "default",
            "task_queue": callsaga_workflows::DEFAULT_TASK_QUEUE,
            "tls": false,
            "ui_url": "http://localhost:8233",
            "workflow_pollers": 10,
            "nonsticky_poll_ratio": 0.5,
            "grpc_compression": "auto",
            "rpc_metrics": true,
        },
        "webhook": {
            "auth": { "mode": "none" },
            "body_limit_bytes": 16 * 1024 * 1024,
            "rate_limit": { "per_second": 500.0, "burst": 1000.0 },
            "request_timeout_ms": 10_000,
            "answer_budget_ms": 2_000,
        },
        "relay": { "batch_size": 256, "concurrency": 16, "poll_interval_ms": 1000, "max_backoff_ms": 10000, "conversation_forward_interval_secs": 30, "dead_after_rejections": 10, "dead_after_secs": 86400, "claim_lease_ms": 5000 },
        "readiness": { "temporal_probe_ms": 2000, "temporal_unready_after_ms": 15000 },
        "tools": { "deadline_ms": 5000, "agent_cache_ms": 5000, "read_fallback_ms": 1000, "accept_ms": 1000 },
        "billing": { "mode": "per_started_minute", "credits_per_minute": 10 },
        "calls": { "report_timeout_secs": 600, "max_call_secs": 14400, "late_report_window_secs": 3600 },
        "email": { "backend": "file", "dir": "data/mail" },
        "dev": { "temporal_port": 7233, "temporal_ui_port": 8233 },
        "admin": { "token": null, "rate_limit": { "per_second": 20.0, "burst": 200.0 } },
    })
}

impl Settings {
    /// What the admission at the door applies. A slot nothing releases (the call's webhooks
    /// never came) lapses after the longest call plus the report timeout and five minutes:
    /// by then the watchdog has closed any call we heard of.
    pub fn admission_policy(&self) -> callsaga_activities::admission::Policy {
        let secs = self
            .calls
            .max_call_secs
            .saturating_add(self.calls.report_timeout_secs)
            .saturating_add(300);
        callsaga_activities::admission::Policy {
            min_credits: self
                .admission
                .min_credits
                .unwrap_or_else(|| self.billing.unit_credits()),
            slot_lifetime: std::time::Duration::from_secs(secs),
        }
    }

    /// The input every call workflow starts with.
    pub fn call_input(
        &self,
        vapi_call_id: &str,
    ) -> callsaga_workflows::payloads::CallWorkflowInput {
        callsaga_workflows::payloads::CallWorkflowInput {
            vapi_call_id: vapi_call_id.to_owned(),
            timeouts: Some(self.calls.clone()),
        }
    }

    /// Loads defaults, then `file` (or `callsaga.toml` when it exists), then `CALLSAGA_*`.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(defaults()));
        match file {
            Some(path) => {
                anyhow::ensure!(path.exists(), "config file {} not found", path.display());
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("callsaga.toml")),
        }
        figment = figment.merge(Env::prefixed("CALLSAGA_").split("__"));
        Ok(figment.extract()?)
    }

    /// Settings for tests and tools: defaults plus a JSON patch (merged over the defaults).
    pub fn from_overrides(overrides: serde_json::Value) -> anyhow::Result<Self> {
        Ok(Figment::from(Serialized::defaults(defaults()))
            .merge(Serialized::defaults(overrides))
            .extract()?)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_secrets_do_not_print() {
        let s = Settings::from_overrides(serde_json::json!({
            "database_url": "postgres://user:hunter2@db/x",
            "temporal": { "api_key": "sk-very-secret" },
        }))
        .expect("settings");
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("sk-very-secret"), "{printed}");
        assert_eq!(s.temporal.task_queue, "callsaga");
        assert_eq!(s.listen.port(), 3000);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Settings::from_overrides(serde_json::json!({ "listn": "x" })).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }
}
