//! `spawn_app()` and friends: every test gets a fresh database (SQLite file or PostgreSQL
//! database), its own task queue and a real worker, against one real Temporal dev server shared
//! by the test binary.

use callsaga_api::devserver::{DevServer, DevServerOptions, default_temporal_bin, free_port};
use callsaga_api::{App, Components, Settings};
use callsaga_workflows::CallWorkflow;
use callsaga_workflows::payloads::CallSnapshot;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use temporalio_client::{Client, WorkflowGetResultOptions};
use tokio::sync::OnceCell;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

const PG_ADMIN_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

fn pg_admin_url() -> String {
    std::env::var("CALLSAGA_TEST_PG_URL").unwrap_or_else(|_| PG_ADMIN_URL_DEFAULT.to_owned())
}

/// The engines to run database-backed tests on: SQLite always; PostgreSQL when reachable, and
/// required (test fails instead of skipping) with `CALLSAGA_REQUIRE_PG=1`.
pub(crate) async fn engines() -> Vec<Engine> {
    static PG: OnceCell<bool> = OnceCell::const_new();
    let pg = *PG
        .get_or_init(|| async {
            let ok = sea_orm::Database::connect(pg_admin_url()).await.is_ok();
            if !ok {
                assert!(
                    std::env::var("CALLSAGA_REQUIRE_PG").as_deref() != Ok("1"),
                    "PostgreSQL at {} is required (CALLSAGA_REQUIRE_PG=1) but unreachable",
                    pg_admin_url()
                );
                eprintln!("PostgreSQL unreachable: running on SQLite only");
            }
            ok
        })
        .await;
    if pg {
        vec![Engine::Sqlite, Engine::Postgres]
    } else {
        vec![Engine::Sqlite]
    }
}

/// The shared Temporal dev server (in memory, headless), started once per test binary and
/// stopped by its supervisor when the test process exits.
pub(crate) async fn temporal_address() -> String {
    static SERVER: OnceCell<(String, u32)> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            let server = DevServer::start(DevServerOptions {
                temporal_bin: default_temporal_bin()
                    .expect("temporal CLI (run temporal/install.sh)"),
                port: free_port().expect("free port"),
                ui_port: None,
                db_file: None,
                die_with_parent: true,
            })
            .await
            .expect("Temporal dev server starts");
            let address = server.address.clone();
            let pid = server.pid().unwrap_or_default();
            // Leaked on purpose: the server lives as long as the test process.
            std::mem::forget(server);
            (address, pid)
        })
        .await
        .0
        .clone()
}

pub(crate) async fn fresh_database_url(engine: Engine) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match engine {
        Engine::Sqlite => {
            let dir: PathBuf = std::env::temp_dir().join("callsaga-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}/{id}.db?mode=rwc", dir.display())
        }
        Engine::Postgres => {
            use sea_orm::ConnectionTrait;
            let admin = sea_orm::Database::connect(pg_admin_url())
                .await
                .expect("pg admin");
            let name = format!("callsaga_t_{id}");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            let base = pg_admin_url();
            let (prefix, _) = base.rsplit_once('/').expect("pg url has a database");
            format!("{prefix}/{name}")
        }
    }
}

pub(crate) struct TestApp {
    pub(crate) app: App,
    pub(crate) http: reqwest::Client,
    pub(crate) temporal: Client,
}

pub(crate) async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, serde_json::json!({})).await
}

/// Starts API + relay + worker with per-test settings merged over the test defaults.
pub(crate) async fn spawn_app_with(engine: Engine, overrides: Value) -> TestApp {
    let address = temporal_address().await;
    let mut base = serde_json::json!({
        "database_url": fresh_database_url(engine).await,
        "listen": "127.0.0.1:0",
        "temporal": {
            "address": address,
            "task_queue": format!("test-{}", uuid::Uuid::new_v4().simple()),
        },
        "relay": { "poll_interval_ms": 100, "max_backoff_ms": 1000 },
        // Radicale runs on http://127.0.0.1; tests/it/request_bounds.rs turns these off.
        "calendar": { "caldav_allow_http": true, "caldav_allow_private": true },
    });
    merge(&mut base, overrides);
    let settings = Settings::from_overrides(base).expect("test settings");
    let temporal = callsaga_api::temporal::connect(&settings.temporal)
        .await
        .expect("temporal client");
    let app = App::start(
        settings,
        Components {
            api: true,
            worker: true,
            migrate: true,
        },
    )
    .await
    .expect("app starts");
    callsaga_api::seed::demo_tenant(&app.state.db)
        .await
        .expect("seed");
    TestApp {
        app,
        http: reqwest::Client::new(),
        temporal,
    }
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

impl TestApp {
    pub(crate) async fn post_webhook(&self, body: &[u8]) -> reqwest::Response {
        self.http
            .post(format!("{}/webhooks/vapi", self.app.base_url()))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("request")
    }

    /// Posts a body and returns the status (for joining many posts at once).
    pub(crate) async fn post_webhook_owned(&self, body: Vec<u8>) -> u16 {
        self.post_webhook(&body).await.status().as_u16()
    }

    /// Waits (bounded) for the call's workflow to exist and complete, and returns its result.
    pub(crate) async fn call_result(&self, vapi_call_id: &str) -> CallSnapshot {
        let handle = self.temporal.get_workflow_handle::<CallWorkflow>(
            callsaga_workflows::call_workflow_id(vapi_call_id),
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            let result = tokio::time::timeout(
                remaining,
                handle.get_result(WorkflowGetResultOptions::default()),
            )
            .await
            .expect("workflow completes within 30 s");
            match result {
                Ok(snapshot) => return snapshot,
                // The relay has not started it yet.
                Err(e) if e.to_string().contains("not found") && !remaining.is_zero() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("workflow failed: {e}"),
            }
        }
    }

    /// The Prometheus text of `GET /metrics`.
    pub(crate) async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.app.base_url()))
            .send()
            .await
            .expect("metrics request")
            .text()
            .await
            .expect("metrics body")
    }

    pub(crate) async fn call_row(&self, vapi_call_id: &str) -> callsaga_entity::calls::Model {
        self.call_row_opt(vapi_call_id)
            .await
            .expect("call row exists")
    }

    pub(crate) async fn call_row_opt(
        &self,
        vapi_call_id: &str,
    ) -> Option<callsaga_entity::calls::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        callsaga_entity::calls::Entity::find()
            .filter(callsaga_entity::calls::Column::VapiCallId.eq(vapi_call_id))
            .one(&self.app.state.db)
            .await
            .expect("query")
    }

    pub(crate) async fn shutdown(self) {
        self.app.shutdown().await.expect("clean shutdown");
    }
}

/// A sample from `shared/vapi/samples` with its call id replaced.
pub(crate) fn sample(name: &str, call_id: &str) -> Vec<u8> {
    let mut v = sample_value(name);
    v["message"]["call"]["id"] = Value::String(call_id.to_owned());
    serde_json::to_vec(&v).expect("json")
}

pub(crate) fn sample_value(name: &str) -> Value {
    let path = shared_dir().join("vapi/samples").join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("sample is JSON")
}

/// `../shared` beside the repository (CI clones main with shared/ beside it).
pub(crate) fn shared_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for candidate in [here.join("../../shared"), here.join("../shared")] {
        if candidate.join("vapi/samples").exists() {
            return candidate;
        }
    }
    panic!("../shared/vapi/samples not found next to the repository");
}

pub(crate) fn new_call_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// With `CALLSAGA_RECORD_HISTORIES=1`: writes the call workflow's history (SDK JSON) into
/// tests/histories/<file>, where the replay test picks it up.
pub(crate) async fn record_history(app: &TestApp, vapi_call_id: &str, file: &str) {
    if std::env::var("CALLSAGA_RECORD_HISTORIES").as_deref() != Ok("1") {
        return;
    }
    let json = app
        .temporal
        .get_workflow_handle::<CallWorkflow>(callsaga_workflows::call_workflow_id(vapi_call_id))
        .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
        .to_json()
        .await
        .expect("history");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("histories")
        .join(file);
    std::fs::write(&path, json).expect("write history");
    eprintln!("recorded {}", path.display());
}

/// The events of the call's workflow so far.
pub(crate) async fn history_events(
    app: &TestApp,
    vapi_call_id: &str,
) -> Vec<temporalio_common::protos::temporal::api::history::v1::HistoryEvent> {
    app.temporal
        .get_workflow_handle::<CallWorkflow>(callsaga_workflows::call_workflow_id(vapi_call_id))
        .fetch_history(temporalio_client::WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history")
}

/// The values (JSON text) the workflow upserted into search attribute `name`, one per upsert.
fn upserted(
    events: &[temporalio_common::protos::temporal::api::history::v1::HistoryEvent],
    name: &str,
) -> Vec<String> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::UpsertWorkflowSearchAttributesEventAttributes(u)) => u
                .search_attributes
                .as_ref()
                .and_then(|s| s.indexed_fields.get(name))
                .map(|p| String::from_utf8_lossy(&p.data).into_owned()),
            _ => None,
        })
        .collect()
}

/// The `TemporalChangeVersion` values the call's workflow upserted, one entry per upsert: the
/// SDK upserts the list of patches so far with every patch marker it records.
pub(crate) async fn patch_upserts(app: &TestApp, vapi_call_id: &str) -> Vec<String> {
    upserted(
        &history_events(app, vapi_call_id).await,
        "TemporalChangeVersion",
    )
}

/// Asserts that the call's workflow got its `CallId` search attribute with its start (from the
/// relay's signal-with-start or a tool call's update-with-start), not by an upsert in the
/// workflow, and that visibility finds it by that attribute.
pub(crate) async fn assert_call_id_set_at_start(app: &TestApp, vapi_call_id: &str) {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let events = history_events(app, vapi_call_id).await;
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) =
        events.first().and_then(|e| e.attributes.clone())
    else {
        panic!("the history does not begin with the workflow's start");
    };
    let at_start = started.search_attributes.unwrap_or_default();
    assert!(
        at_start.indexed_fields.contains_key("CallId"),
        "CallId is not in the start event: {at_start:?}"
    );
    let upserts = upserted(&events, "CallId");
    assert!(
        upserts.is_empty(),
        "the workflow upserted CallId again: {upserts:?}"
    );
    assert_visible(app, &format!("CallId = '{vapi_call_id}'")).await;
}

/// Asserts that visibility finds exactly one workflow by `query` (it is eventually
/// consistent: polled for up to 5 s).
pub(crate) async fn assert_visible(app: &TestApp, query: &str) {
    let mut found = 0;
    for _ in 0..50 {
        found = app
            .temporal
            .count_workflows(query, Default::default())
            .await
            .expect("count")
            .count();
        if found == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, 1, "visibility does not find the call by {query}");
}

/// An admin API request with `token`; returns the status and the JSON body (`null` if none).
pub(crate) async fn admin_request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> (u16, Value) {
    let resp = app
        .http
        .request(method, format!("{}{path}", app.app.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("admin request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A fresh folder for the `file` email backend of one test.
pub(crate) fn mail_dir() -> PathBuf {
    std::env::temp_dir()
        .join("callsaga-tests")
        .join(format!("mail-{}", uuid::Uuid::new_v4().simple()))
}

/// Every message the `file` email backend wrote into `dir`.
pub(crate) fn mails(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits (bounded: 30 s) until the `file` email backend has written at least `n` messages into
/// `dir`, and returns them all. Booking confirmations are sent after the caller was answered,
/// so they arrive a moment after the answer.
pub(crate) async fn mails_eventually(dir: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sent = mails(dir);
        if sent.len() >= n {
            return sent;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} emails after 30 s",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The API alone (no worker) on a fresh SQLite database with `overrides` on top of the test
/// defaults: for what start-up refuses or allows.
pub(crate) async fn start_api_only(
    overrides: serde_json::Value,
) -> anyhow::Result<callsaga_api::App> {
    let mut base = serde_json::json!({
        "database_url": fresh_database_url(Engine::Sqlite).await,
        "temporal": { "address": temporal_address().await },
    });
    for (k, v) in overrides.as_object().expect("object") {
        base[k] = v.clone();
    }
    callsaga_api::App::start(
        callsaga_api::Settings::from_overrides(base)?,
        callsaga_api::Components {
            api: true,
            worker: false,
            migrate: true,
        },
    )
    .await
}
