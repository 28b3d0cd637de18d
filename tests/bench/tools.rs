//! Tool-call latency benchmark (issue 4): p50/p99 of `tool-calls` webhooks answered through the
//! call workflow, at 1 and 32 concurrent calls, beside the bare Temporal floor measured in the
//! same run on the same server: update-with-start / update on a workflow whose update handler
//! runs one local activity that returns at once. Run:
//! `cargo run --release -p callsaga-tests --bin bench-tools`.
//!
//! A simulated call makes `--rounds` tool calls, `--gap-ms` apart (default 1000 ms: the agent
//! and the caller talk between two tool calls, in real calls for several seconds), and the
//! calls start staggered over one gap, so 32 calls are 32 calls in progress at once.
//! `--gap-ms 0` fires every call's tool calls back to back, all calls starting together
//! (a burst: then p99 is the queue behind 32 simultaneous workflow starts).
//!
//! The floor and each tool are measured in `--blocks` interleaved blocks (default 3), each
//! block in a rotated order, and the samples are pooled: a machine that gets slower or faster
//! during the run shifts the floor and the tools alike instead of whichever ran then.
//! `book_appointment +email` is the booking with the caller's email address; since
//! `booking-email-after-answer-v1` its confirmation email (file backend here) is sent after the
//! answer, so the tool's latency no longer includes it (the activity means still do). `--pollers N --nonsticky-pct P` set
//! the workflow-task pollers of both workers (default 10 and 50 %, as `temporal.*` does).
//!
//! Beside the latencies it prints CPU per request (this process and the Temporal server) and,
//! from the histories, how long each workflow task waited for a poller and how long the worker
//! held it, and the first task's timeline of one call per tool.
//!
//! The floor is measured twice, in phases of its own (`floor again` is an A/A control: its
//! ratio to the floor is what chance does to a p99 ratio here), and each ratio comes with a
//! bootstrap range. `--gzip 1` gzips both sides' gRPC messages (the SDK's default; the service
//! sends none on loopback); `--calls N` sets the larger number of concurrent calls;
//! `--variants 1` adds floors started like a call, and with a call's first activation.

mod cpu;
mod floor;
mod history;
mod pace;
mod report;
use cpu::Cpu;
use floor::{FloorActivities, FloorWorkflow, floor_call};
use pace::Pace;
use report::{pct, print_activity_means, print_row};

use callsaga_api::devserver::{DevServer, DevServerOptions, default_temporal_bin, free_port};
use callsaga_api::{App, Components, Settings};
use chrono::{Datelike, Duration as ChronoDuration, NaiveDate, Utc, Weekday};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use temporalio_client::Client;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// What one phase of the run measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Floor,
    /// The floor measured again in its own phases (an A/A control): its ratio to the floor is
    /// what chance alone does to a ratio in this run.
    FloorAgain,
    Availability,
    Booking,
    /// A booking with the caller's email address (its confirmation is sent after the answer).
    BookingWithEmail,
    /// `--variants 1`: the floor started with a call's start options (summary, `CallId`
    /// search attribute, id reuse policy, a call-sized input).
    FloorCallStart,
    /// `--variants 1`: that, and a first activation like a call's (patch, watchdog timer).
    FloorLikeCall,
}

impl Kind {
    /// The floor first: its samples are the comparison for the others.
    const ALL: [Kind; 5] = [
        Kind::Floor,
        Kind::FloorAgain,
        Kind::Availability,
        Kind::Booking,
        Kind::BookingWithEmail,
    ];

    /// The floor variants that attribute a first tool call's extra time (`--variants 1`).
    const VARIANTS: [Kind; 2] = [Kind::FloorCallStart, Kind::FloorLikeCall];

    fn is_floor(self) -> bool {
        matches!(
            self,
            Kind::Floor | Kind::FloorAgain | Kind::FloorCallStart | Kind::FloorLikeCall
        )
    }

    fn tool(self) -> &'static str {
        match self {
            Kind::Floor | Kind::FloorAgain | Kind::FloorCallStart | Kind::FloorLikeCall => "floor",
            Kind::Availability => "check_availability",
            Kind::Booking | Kind::BookingWithEmail => "book_appointment",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::BookingWithEmail => "book_appointment +email",
            Kind::FloorAgain => "floor again (A/A control)",
            Kind::FloorCallStart => "floor, started like a call",
            Kind::FloorLikeCall => "floor, started + first task like a call",
            other => other.tool(),
        }
    }
}

/// Where the phases send their requests.
struct Targets<'a> {
    http: &'a reqwest::Client,
    url: &'a str,
    template: &'a Arc<Value>,
    client: &'a Client,
    floor_queue: &'a str,
}

/// One phase: `concurrency` simulated calls of `rounds` requests each; (round, latency) pairs.
async fn run_kind(
    kind: Kind,
    concurrency: usize,
    offset: usize,
    rounds: usize,
    gap: Duration,
    to: &Targets<'_>,
) -> (Vec<(usize, Duration)>, Vec<String>) {
    let begin = tokio::time::Instant::now();
    let calls = (0..concurrency).map(|i| {
        let pace = Pace::new(begin, gap, i, concurrency);
        async move {
            match kind {
                k if k.is_floor() => {
                    let like_call = (
                        matches!(k, Kind::FloorCallStart | Kind::FloorLikeCall),
                        k == Kind::FloorLikeCall,
                    );
                    let (client, queue) = (to.client.clone(), to.floor_queue.to_owned());
                    floor_call(client, queue, like_call, rounds, pace).await
                }
                _ => {
                    our_call(
                        to.http.clone(),
                        to.url.to_owned(),
                        to.template.clone(),
                        kind,
                        offset + i,
                        rounds,
                        pace,
                    )
                    .await
                }
            }
        }
    });
    let mut samples = Vec::new();
    let mut ids = Vec::new();
    for (got, id) in futures::future::join_all(calls).await {
        samples.extend(got);
        ids.push(id);
    }
    (samples, ids)
}

fn samples_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        here.join("../../shared/vapi/samples"),
        here.join("../shared/vapi/samples"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("../shared/vapi/samples")
}

fn tool_body(
    template: &Value,
    call_id: &str,
    tool_call_id: &str,
    name: &str,
    args: Value,
) -> Vec<u8> {
    let mut v = template.clone();
    v["message"]["call"]["id"] = call_id.into();
    v["message"]["toolCallList"] = json!([{ "id": tool_call_id, "type": "function",
        "function": { "name": name, "arguments": args.to_string() } }]);
    v["message"]["toolWithToolCallList"] = json!([]);
    serde_json::to_vec(&v).unwrap()
}

/// The `n`-th weekday (Monday to Friday) from the day after tomorrow on, counting from 0.
fn weekday(n: usize) -> NaiveDate {
    let is_weekday = |d: &NaiveDate| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    (0..)
        .map(|i| Utc::now().date_naive() + ChronoDuration::days(2 + i))
        .filter(is_weekday)
        .nth(n)
        .expect("weekdays never run out")
}

/// One simulated call: `rounds` tool calls in sequence.
async fn our_call(
    http: reqwest::Client,
    url: String,
    template: Arc<Value>,
    kind: Kind,
    call_no: usize,
    rounds: usize,
    mut pace: Pace,
) -> (Vec<(usize, Duration)>, String) {
    let call_id = uuid::Uuid::new_v4().to_string();
    let mut out = Vec::new();
    for r in 0..rounds {
        pace.tick().await;
        let args = match kind {
            Kind::Availability => {
                json!({ "date": weekday(1).to_string(), "timeOfDay": "morning" })
            }
            Kind::Booking | Kind::BookingWithEmail => {
                // A distinct slot for every booking of the run (16 half hours a day, 9 to 17).
                let slot = call_no * rounds + r;
                let day = weekday(slot / 16);
                let time = format!(
                    "{:02}:{}",
                    9 + (slot % 16) / 2,
                    if slot.is_multiple_of(2) { "00" } else { "30" }
                );
                let mut args = json!({ "date": day.to_string(), "startTime": time,
                        "customerName": "Bench", "customerPhone": "+4915112345678" });
                if kind == Kind::BookingWithEmail {
                    args["customerEmail"] = "bench@example.com".into();
                }
                args
            }
            _ => unreachable!("the floor does not go through the webhook"),
        };
        let body = tool_body(
            &template,
            &call_id,
            &format!("tc_{}", uuid::Uuid::new_v4().simple()),
            kind.tool(),
            args,
        );
        let started = Instant::now();
        let resp = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        let answer: Value = resp.json().await.expect("json");
        out.push((r, started.elapsed()));
        let entry = &answer["results"][0];
        assert!(
            entry["result"].is_string() || entry["error"].is_string(),
            "{answer}"
        );
        if entry["result"]
            .as_str()
            .is_some_and(|t| t.contains("confirming"))
        {
            eprintln!("warning: a tool call hit the deadline");
        }
    }
    (out, callsaga_workflows::call_workflow_id(&call_id))
}

const USAGE: &str = "\
bench-tools: tool-call latency (p50/p99) through the webhook at 1 and N concurrent calls, beside
an update + local activity floor on the same Temporal dev server, in the same run.

options (all numbers; defaults in brackets):
  --rounds N         tool calls per simulated call and block [8]
  --blocks N         interleaved blocks, each in a rotated order, pooled [3]
  --gap-ms N         ms between a call's tool calls; 0 = back to back, all calls at once [1000]
  --calls N          the larger number of concurrent calls; 1 = only the 1-call phase [32]
  --pollers N        workflow-task pollers of both workers [10]
  --nonsticky-pct P  share of those pollers on the normal task queue, % [50]
  --gzip 1           gzip every gRPC message of both sides [0]
  --settings JSON    merged over the service's settings, e.g. '{\"temporal\":{\"rpc_metrics\":false}}'
  --variants 1       also floors started like a call, and with a call's first activation [0]
The SQLite file and mail folder go under $TMPDIR (TMPDIR=/dev/shm keeps the disk out).
";

/// Merges `patch` into `base`, objects key by key.
fn merge_json(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge_json(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = |name: &str, default: u64| -> u64 {
        std::env::args()
            .skip_while(|a| a != name)
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    let rounds = arg("--rounds", 8) as usize;
    // The larger number of calls at once (the first phase always runs 1); `--calls 1` runs
    // only the 1-call phase.
    let many = arg("--calls", 32).max(1) as usize;
    // `--variants 1`: also the floor variants that attribute a first call's extra time.
    let mut kinds: Vec<Kind> = Kind::ALL.to_vec();
    if arg("--variants", 0) == 1 {
        kinds.extend(Kind::VARIANTS);
    }
    let blocks = arg("--blocks", 3).max(1) as usize;
    let gap = Duration::from_millis(arg("--gap-ms", 1000));
    // The worker's workflow-task pollers (ours and the floor's alike); defaults as in Settings.
    let pollers = arg("--pollers", 10);
    let nonsticky_pct = arg("--nonsticky-pct", 50);
    // `--gzip 1`: gzip every gRPC message (ours and the floor's), as the SDK does by default;
    // otherwise `temporal.grpc_compression = auto` (none on loopback), as the service does.
    let compression = if arg("--gzip", 0) == 1 {
        "gzip"
    } else {
        "auto"
    };
    let port = free_port()?;
    let server = DevServer::start(DevServerOptions {
        temporal_bin: default_temporal_bin()?,
        port,
        ui_port: None,
        db_file: None,
        die_with_parent: true,
    })
    .await?;
    let dir =
        std::env::temp_dir().join(format!("callsaga-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let mut overrides = json!({
        "database_url": format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
        "listen": "127.0.0.1:0",
        "temporal": { "address": server.address, "workflow_pollers": pollers,
            "nonsticky_poll_ratio": nonsticky_pct as f64 / 100.0,
            "grpc_compression": compression },
        "webhook": { "rate_limit": { "per_second": 0.0, "burst": 0.0 } },
        "tools": { "deadline_ms": 10000 },
        "email": { "backend": "file", "dir": dir.join("mail") },
    });
    // `--settings JSON`: merged over the bench's own settings (an A/B of one setting).
    if let Some(extra) = std::env::args().skip_while(|a| a != "--settings").nth(1) {
        merge_json(&mut overrides, serde_json::from_str(&extra)?);
    }
    let settings = Settings::from_overrides(overrides)?;
    let temporal_settings = settings.temporal.clone();
    let app = App::start(
        settings,
        Components {
            api: true,
            worker: true,
            migrate: true,
        },
    )
    .await?;
    callsaga_api::seed::demo_tenant(&app.state.db).await?;
    let server_pid = cpu::server_pid(port);
    if server_pid.is_none() {
        eprintln!("warning: the Temporal server's process was not found; its CPU shows as 0");
    }

    // The floor's worker, on its own thread (Worker::run is not Send).
    let floor_queue = "bench-floor".to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let floor_settings = temporal_settings.clone();
    let queue = floor_queue.clone();
    std::thread::Builder::new()
        .name("floor-worker".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("floor-worker-rt")
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async move {
                let runtime = Runtime::from_current_tokio(Default::default()).expect("runtime");
                let client = callsaga_api::temporal::connect(&floor_settings)
                    .await
                    .expect("client");
                let mut options = WorkerOptions::new(queue)
                    .register_workflow::<FloorWorkflow>()
                    .expect("register")
                    .register_activities(FloorActivities)
                    .build();
                callsaga_api::temporal::set_pollers(&mut options, &floor_settings)
                    .expect("pollers");
                let mut worker = Worker::new(&runtime, client, options).expect("worker");
                let _ = tx.send(());
                let _ = worker.run().await;
            });
        })?;
    rx.await?;
    let client = callsaga_api::temporal::connect(&temporal_settings).await?;

    let template: Arc<Value> = Arc::new(serde_json::from_str(&std::fs::read_to_string(
        samples_dir().join("book-appointment.json"),
    )?)?);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let url = format!("{}/webhooks/vapi", app.base_url());

    // Warm-up.
    our_call(
        http.clone(),
        url.clone(),
        template.clone(),
        Kind::Availability,
        0,
        2,
        Pace::new(tokio::time::Instant::now(), Duration::ZERO, 0, 1),
    )
    .await;
    floor_call(
        client.clone(),
        floor_queue.clone(),
        (false, false),
        2,
        Pace::new(tokio::time::Instant::now(), Duration::ZERO, 0, 1),
    )
    .await;

    println!(
        "tool-call latency, ms ({rounds} tool calls per simulated call and block, {} ms apart{}; \
         {blocks} interleaved blocks, pooled; floor = update + local activity on the same server)\n",
        gap.as_millis(),
        if gap.is_zero() {
            ", all calls at once"
        } else {
            ", calls staggered"
        }
    );
    println!(
        "{:<30} {:>5} {:>5} {:>8} {:>8} {:>10} {:>10} {:>8} {:>13}",
        "tool", "calls", "n", "p50", "p99", "floor p50", "floor p99", "p99 ×", "90% range"
    );
    let mut offset = 0usize;
    let mut split = Vec::new();
    let mut per_block = Vec::new();
    let mut cpu_lines = Vec::new();
    let mut thread_lines = Vec::new();
    let mut workflow_ids: Vec<Vec<String>> = vec![Vec::new(); kinds.len()];
    // One workflow of each kind from the 1-call phase, for its first task's timeline.
    let mut lone_ids: Vec<Option<String>> = vec![None; kinds.len()];
    let targets = Targets {
        http: &http,
        url: &url,
        template: &template,
        client: &client,
        floor_queue: &floor_queue,
    };
    let mut concurrencies = vec![1usize, many];
    concurrencies.dedup();
    for concurrency in concurrencies {
        // Block b runs the kinds in an order rotated by b, so slow drift of the machine (other
        // load, the server's growing state) falls on the floor and on our tools alike.
        let mut samples: Vec<Vec<(usize, Duration)>> = vec![Vec::new(); kinds.len()];
        let mut blocks_p99: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
        let mut cpu: Vec<Cpu> = vec![Cpu::default(); kinds.len()];
        for block in 0..blocks {
            for k in 0..kinds.len() {
                let k = (k + block) % kinds.len();
                let before = Cpu::now(server_pid.as_deref());
                let (got, ids) =
                    run_kind(kinds[k], concurrency, offset, rounds, gap, &targets).await;
                if concurrency > 1 {
                    workflow_ids[k].extend(ids);
                } else if block + 1 == blocks {
                    lone_ids[k] = ids.into_iter().next();
                }
                cpu[k].add(&Cpu::now(server_pid.as_deref()).since(&before));
                offset += concurrency;
                let mut durations: Vec<Duration> = got.iter().map(|(_, d)| *d).collect();
                blocks_p99[k].push(pct(&mut durations, 0.99));
                samples[k].extend(got);
            }
        }
        for (k, kind) in kinds.iter().enumerate() {
            let n = samples[k].len().max(1) as f64;
            let per = |d: Duration| d.as_secs_f64() * 1000.0 / n;
            cpu_lines.push(format!(
                "{:<30} {:>5} {:>10.2} {:>10.2} {:>10.2}",
                kind.label(),
                concurrency,
                per(cpu[k].ours),
                per(cpu[k].server),
                per(cpu[k].ours + cpu[k].server)
            ));
            let groups: Vec<String> = cpu::thread_columns()
                .map(|g| {
                    let d = cpu[k].threads.get(g).copied().unwrap_or_default();
                    format!("{:>9.2}", per(d))
                })
                .collect();
            thread_lines.push(format!(
                "{:<30} {:>5} {}",
                kind.label(),
                concurrency,
                groups.join(" ")
            ));
        }
        let floor = samples[0].clone();
        for (k, kind) in kinds.iter().enumerate().skip(1) {
            print_row(kind.label(), concurrency, &samples[k], &floor, |_| true);
            split.push((kind.label(), concurrency, samples[k].clone(), floor.clone()));
            let ratios: Vec<String> = blocks_p99[k]
                .iter()
                .zip(&blocks_p99[0])
                .map(|(o, f)| format!("{:.2}", o.as_secs_f64() / f.as_secs_f64().max(1e-9)))
                .collect();
            per_block.push(format!(
                "{:<30} {:>5}   {}",
                kind.label(),
                concurrency,
                ratios.join("  ")
            ));
        }
    }
    println!(
        "\np99 × floor p99 of each block alone (fewer samples, so noisier than the pooled row)"
    );
    for line in &per_block {
        println!("{line}");
    }
    println!(
        "\nCPU per request, ms (10 ms ticks summed over the blocks; this process = the service, \
         the floor's worker and the load)"
    );
    println!(
        "{:<30} {:>5} {:>10} {:>10} {:>10}",
        "tool", "calls", "this proc", "server", "total"
    );
    for line in &cpu_lines {
        println!("{line}");
    }
    println!(
        "\nthis process's CPU per request by thread, ms (same ticks): main = the load's calls; \
         tokio = the HTTP server and handlers, the load's HTTP client and both Temporal clients; \
         our worker = its SDK core and our activities; floor worker = the floor's; workflow = \
         both workers' workflow activations (one kind runs at a time); sqlite = sqlx's threads"
    );
    println!(
        "{:<30} {:>5} {}",
        "tool",
        "calls",
        cpu::thread_columns()
            .map(|h| format!("{h:>9}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for line in &thread_lines {
        println!("{line}");
    }
    println!(
        "\nworkflow tasks at {many} calls, from the histories (ms): wait = scheduled → picked up by the \
         worker, held = picked up → completed; first = the task update-with-start created"
    );
    println!(
        "{:<30} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "tool", "first wait", "p99", "first held", "p99", "later wait", "later held"
    );
    for (k, kind) in kinds.iter().enumerate() {
        let mut t = history::collect(&client, &workflow_ids[k]).await;
        let ms = |v: &mut Vec<Duration>, q: f64| pct(v, q).as_secs_f64() * 1000.0;
        println!(
            "{:<30} {:>11.1} {:>11.1} {:>11.1} {:>11.1} {:>11.1} {:>11.1}",
            kind.label(),
            ms(&mut t.first_wait, 0.5),
            ms(&mut t.first_wait, 0.99),
            ms(&mut t.first_held, 0.5),
            ms(&mut t.first_held, 0.99),
            ms(&mut t.later_wait, 0.5),
            ms(&mut t.later_held, 0.5),
        );
    }
    println!(
        "\nthe same samples split: the first tool call of a call (update-with-start starts the \
         workflow), the later ones (a call in progress) and the second half of each call"
    );
    let half = (rounds / 2).max(1);
    for (label, concurrency, ours, floor) in &split {
        print_row(&format!("{label} first"), *concurrency, ours, floor, |r| {
            r == 0
        });
        print_row(&format!("{label} later"), *concurrency, ours, floor, |r| {
            r > 0
        });
        // Whether a call's tool calls get slower as its history grows.
        print_row(
            &format!("{label} 2nd half"),
            *concurrency,
            ours,
            floor,
            |r| r >= half,
        );
    }
    println!(
        "\nthe first workflow task of one call at 1 call (last block), from its history \
         (ms since the workflow started; the client's latency includes the trip to the server)"
    );
    for (k, kind) in kinds.iter().enumerate() {
        if let Some(id) = &lone_ids[k] {
            println!("{}:", kind.label());
            for line in history::first_task_timeline(&client, id).await {
                println!("  {line}");
            }
        }
    }
    print_activity_means(&http, &app.base_url()).await;
    app.shutdown().await?;
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
