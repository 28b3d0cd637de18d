//! Webhook ack latency benchmark (issue 3): p50/p99 per message type at 1 and 64 concurrent
//! simulated calls, against a bare axum handler that only returns 200 (the floor), measured in
//! the same run. Run: `cargo run --release -p callsaga-tests --bin bench-webhook`.
//!
//! A simulated call sends its webhooks `--gap-ms` apart (default 100 ms: 10 events per second
//! per call, several times what Vapi sends during a real call), and the calls start staggered
//! over one gap, so 64 calls are 64 calls in progress at once. `--gap-ms 0` sends back to back
//! (a closed loop: then latency is queueing, 64 ÷ throughput, and the table measures capacity).
//!
//! Everything is real: a Temporal dev server (in memory), the callsaga API + relay + worker on
//! a fresh SQLite file (or `--database-url postgres://…`), HTTP over loopback. `--cap N` gives
//! the demo tenant a concurrent-call cap (the admission's slot path on every assistant-request).

mod pace;
use pace::Pace;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use callsaga_api::devserver::{DevServer, DevServerOptions, default_temporal_bin, free_port};
use callsaga_api::{App, Components, Settings};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CONVERSATION_UPDATES_PER_CALL: usize = 4;

/// The admin API is on only to set `--cap`.
const BENCH_ADMIN_TOKEN: &str = "bench-admin-token";

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

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(samples_dir().join(name)).expect("sample");
    serde_json::from_str(&text).expect("json")
}

/// The webhook sequence of one simulated call, as (label, body).
fn call_script(
    call_id: &str,
    templates: &BTreeMap<&'static str, Value>,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let mut push = |label: &'static str, mut v: Value, ts: i64| {
        v["message"]["call"]["id"] = call_id.into();
        if v["message"].get("timestamp").is_some() {
            v["message"]["timestamp"] = ts.into();
        }
        out.push((label, serde_json::to_vec(&v).unwrap()));
    };
    let t0 = 1_763_716_441_000_i64;
    push(
        "assistant-request",
        templates["assistant-request"].clone(),
        t0,
    );
    push("status-update", templates["ringing"].clone(), t0 + 100);
    push("status-update", templates["in-progress"].clone(), t0 + 1000);
    for i in 0..CONVERSATION_UPDATES_PER_CALL {
        push(
            "transcript",
            templates["transcript"].clone(),
            t0 + 1500 + i as i64 * 2000,
        );
        push(
            "conversation-update",
            templates["conversation-update"].clone(),
            t0 + 2000 + i as i64 * 2000,
        );
    }
    push(
        "end-of-call-report",
        templates["end-of-call-report"].clone(),
        t0 + 60_000,
    );
    out
}

#[derive(Default)]
struct Samples(BTreeMap<&'static str, Vec<Duration>>);

impl Samples {
    fn merge(&mut self, other: Samples) {
        for (k, mut v) in other.0 {
            self.0.entry(k).or_default().append(&mut v);
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

async fn run_calls(
    client: &reqwest::Client,
    url: &str,
    concurrency: usize,
    rounds: usize,
    gap: Duration,
    templates: &BTreeMap<&'static str, Value>,
) -> Samples {
    let mut tasks = Vec::new();
    let begin = tokio::time::Instant::now();
    for worker in 0..concurrency {
        let client = client.clone();
        let url = url.to_owned();
        let scripts: Vec<_> = (0..rounds)
            .map(|_| call_script(&uuid::Uuid::new_v4().to_string(), templates))
            .collect();
        let mut pace = Pace::new(begin, gap, worker, concurrency);
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            for script in scripts {
                for (label, body) in script {
                    pace.tick().await;
                    let started = Instant::now();
                    let resp = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("request");
                    let status = resp.status();
                    let _ = resp.bytes().await;
                    let elapsed = started.elapsed();
                    assert!(status.is_success(), "{label}: HTTP {status}");
                    samples.0.entry(label).or_default().push(elapsed);
                }
            }
            samples
        }));
    }
    let mut all = Samples::default();
    for t in tasks {
        all.merge(t.await.expect("task"));
    }
    all
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let database_url = args
        .windows(2)
        .find(|w| w[0] == "--database-url")
        .map(|w| w[1].clone());
    let rounds: usize = args
        .windows(2)
        .find(|w| w[0] == "--rounds")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(3);
    // `--sqlite-synchronous normal` measures the pre-power-loss-durability setting beside the
    // default `full` (run both to see what durable commits cost the acks).
    let synchronous = args
        .windows(2)
        .find(|w| w[0] == "--sqlite-synchronous")
        .map(|w| w[1].clone())
        .unwrap_or_else(|| "full".to_owned());
    let cap: Option<i32> = args
        .windows(2)
        .find(|w| w[0] == "--cap")
        .and_then(|w| w[1].parse().ok());
    let gap = Duration::from_millis(
        args.windows(2)
            .find(|w| w[0] == "--gap-ms")
            .and_then(|w| w[1].parse().ok())
            .unwrap_or(100),
    );

    let server = DevServer::start(DevServerOptions {
        temporal_bin: default_temporal_bin()?,
        port: free_port()?,
        ui_port: None,
        db_file: None,
        die_with_parent: true,
    })
    .await?;
    let dir =
        std::env::temp_dir().join(format!("callsaga-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let database_url =
        database_url.unwrap_or_else(|| format!("sqlite://{}/bench.db?mode=rwc", dir.display()));
    let settings = Settings::from_overrides(json!({
        "database_url": database_url,
        "sqlite_synchronous": synchronous,
        "listen": "127.0.0.1:0",
        "temporal": { "address": server.address },
        "webhook": { "rate_limit": { "per_second": 0.0, "burst": 0.0 } },
        "admin": { "token": BENCH_ADMIN_TOKEN },
    }))?;
    let app = App::start(
        settings,
        Components {
            api: true,
            worker: true,
            migrate: true,
        },
    )
    .await?;
    let tenant = callsaga_api::seed::demo_tenant(&app.state.db).await?;
    // `--cap N`: the demo tenant gets a concurrent-call cap (through the admin API), so every
    // assistant-request takes (and its call's end releases) an admission slot in a write
    // transaction.
    if let Some(cap) = cap {
        let status = reqwest::Client::new()
            .patch(format!(
                "{}/admin/v1/users/{}",
                app.base_url(),
                tenant.user_id
            ))
            .bearer_auth(BENCH_ADMIN_TOKEN)
            .json(&json!({ "max_concurrent_calls": cap }))
            .send()
            .await?
            .status();
        anyhow::ensure!(status.is_success(), "setting the cap: {status}");
        println!("demo tenant capped at {cap} concurrent calls");
    }

    // The floor: a bare axum handler that reads the body and returns 200.
    let floor = Router::new().route("/webhooks/vapi", post(|_body: Bytes| async { "" }));
    let floor_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let floor_addr = floor_listener.local_addr()?;
    tokio::spawn(async move { axum::serve(floor_listener, floor).await });

    let mut templates = BTreeMap::new();
    templates.insert("assistant-request", sample("inbound-no-assistant-id.json"));
    templates.insert("ringing", sample("inbound-ringing.json"));
    templates.insert("in-progress", sample("inbound-in-progress.json"));
    templates.insert("transcript", sample("user-final.json"));
    templates.insert("conversation-update", sample("with-messages.json"));
    templates.insert("end-of-call-report", sample("customer-ended-call.json"));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let ours = format!("{}/webhooks/vapi", app.base_url());
    let theirs = format!("http://{floor_addr}/webhooks/vapi");

    // Warm-up (connections, SQLite pages, JIT of nothing).
    run_calls(&client, &ours, 4, 1, Duration::ZERO, &templates).await;
    run_calls(&client, &theirs, 4, 1, Duration::ZERO, &templates).await;

    let per_call = call_script("x", &templates).len();
    println!(
        "webhook ack latency, ms (callsaga vs bare axum floor, same run; {rounds} calls in sequence per concurrent slot, \
         {per_call} webhooks per call, {} ms apart{}; SQLite synchronous={synchronous})\n",
        gap.as_millis(),
        if gap.is_zero() { ": closed loop" } else { "" }
    );
    println!(
        "{:<22} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "message type", "calls", "n", "p50", "p99", "floor p50", "floor p99", "p99 ×"
    );
    let mut rates = Vec::new();
    for concurrency in [1usize, 64] {
        let r = if concurrency == 1 { rounds * 4 } else { rounds };
        let t = Instant::now();
        let ours_s = run_calls(&client, &ours, concurrency, r, gap, &templates).await;
        let rate = (concurrency * r * per_call) as f64 / t.elapsed().as_secs_f64();
        let floor_s = run_calls(&client, &theirs, concurrency, r, gap, &templates).await;
        rates.push((concurrency, rate));
        for (label, mut v) in ours_s.0 {
            v.sort();
            let mut f = floor_s.0.get(label).cloned().unwrap_or_default();
            f.sort();
            let ratio = pct(&v, 0.99).as_secs_f64() / pct(&f, 0.99).as_secs_f64().max(1e-9);
            println!(
                "{:<22} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>8.1}",
                label,
                concurrency,
                v.len(),
                ms(pct(&v, 0.5)),
                ms(pct(&v, 0.99)),
                ms(pct(&f, 0.5)),
                ms(pct(&f, 0.99)),
                ratio
            );
        }
    }
    for (concurrency, rate) in rates {
        println!("\n{concurrency} concurrent: callsaga took {rate:.0} webhooks/s");
    }
    let settle = Instant::now();
    loop {
        let backlog = callsaga_api::inbox::backlog(&app.state.db).await?;
        if backlog == 0 || settle.elapsed() > Duration::from_secs(120) {
            println!(
                "\nrelay backlog after the run: {backlog} (drained in {:?})",
                settle.elapsed()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.shutdown().await?;
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
