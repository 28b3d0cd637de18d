//! HTTP hardening (issue 23, parts 2 and 3) through the real server and raw sockets: slowloris,
//! idle and header-read timeouts, the connection limit, load shedding per route class, the
//! client address behind trusted proxies, the admin API on its own listener, and webhook
//! credentials checked before the body is read.

use crate::helpers::{
    Engine, TestApp, engines, new_call_id, sample, spawn_app_with, start_api_only,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An acknowledged, never stored message (no call row, no workflow).
const SPEECH: &[u8] =
    br#"{"message":{"type":"speech-update","status":"started","role":"user","call":{"id":"x"}}}"#;

fn addr(app: &TestApp) -> SocketAddr {
    app.app.addr.expect("listening")
}

/// Reads from `stream` until the status line is there, the server closes, or `within` passes.
/// `Ok(Some(status))`, `Ok(None)` when closed without an answer, `Err` on timeout.
async fn read_status(stream: &mut TcpStream, within: Duration) -> Result<Option<u16>, ()> {
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            let text = String::from_utf8_lossy(&buf);
            if let Some(line) = text.split("\r\n").next().filter(|_| text.contains("\r\n")) {
                return line.split(' ').nth(1).and_then(|s| s.parse().ok());
            }
        }
    };
    tokio::time::timeout(within, read).await.map_err(drop)
}

/// Whether the server closes `stream` within `within` (EOF or reset, any bytes before ignored).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let drain = async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, drain).await.is_ok()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}

fn post_head(content_length: usize, extra: &str) -> Vec<u8> {
    format!(
        "POST /webhooks/vapi HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {content_length}\r\n{extra}\r\n"
    )
    .into_bytes()
}

async fn webhook(app: &TestApp, body: &[u8], headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .http
        .post(format!("{}/webhooks/vapi", app.app.base_url()))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_cut_off_while_webhooks_keep_being_answered() {
    const SLOW: usize = 250;
    for engine in engines().await {
        let app = spawn_app_with(
            engine,
            json!({ "http": { "header_read_timeout_ms": 2000 } }),
        )
        .await;
        let at = addr(&app);
        // Each slow client sends a request head a byte at a time, 4 bytes a second, forever.
        let slow: Vec<_> = (0..SLOW)
            .map(|_| {
                tokio::spawn(async move {
                    let started = Instant::now();
                    let mut s = TcpStream::connect(at).await.expect("connect");
                    let head = b"POST /webhooks/vapi HTTP/1.1\r\nHost: t\r\nX-Pad: ";
                    let mut bytes = head.iter().copied().chain(std::iter::repeat(b'a'));
                    let mut probe = [0u8; 64];
                    loop {
                        if started.elapsed() > Duration::from_secs(8) {
                            return None; // never cut off
                        }
                        let byte = [bytes.next().expect("endless")];
                        if s.write_all(&byte).await.is_err() {
                            return Some(started.elapsed());
                        }
                        if let Ok(Ok(0) | Err(_)) =
                            tokio::time::timeout(Duration::from_millis(250), s.read(&mut probe))
                                .await
                        {
                            return Some(started.elapsed());
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Real webhooks, one after another on fresh connections, during the attack.
        let mut slowest = Duration::ZERO;
        for _ in 0..20 {
            let call = new_call_id();
            let client = reqwest::Client::new();
            let t = Instant::now();
            let status = client
                .post(format!("{}/webhooks/vapi", app.app.base_url()))
                .header("content-type", "application/json")
                .body(sample("inbound-ringing.json", &call))
                .send()
                .await
                .expect("webhook answered")
                .status();
            slowest = slowest.max(t.elapsed());
            assert_eq!(status, 200, "{engine:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            slowest < Duration::from_secs(1),
            "{engine:?}: a webhook took {slowest:?} during the attack"
        );
        let mut cut = Vec::new();
        for task in slow {
            cut.push(task.await.expect("slow client"));
        }
        let never = cut.iter().filter(|c| c.is_none()).count();
        assert_eq!(
            never, 0,
            "{engine:?}: {never} of {SLOW} slow clients were never cut off"
        );
        let latest = cut.iter().flatten().max().copied().unwrap_or_default();
        assert!(
            latest < Duration::from_secs(5),
            "{engine:?}: a slow client lasted {latest:?} with a 2 s header timeout"
        );
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "http": { "idle_timeout_ms": 600, "header_read_timeout_ms": 5000 } }),
    )
    .await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    // Requests 300 ms apart keep the connection (each pause is shorter than the idle timeout).
    for _ in 0..3 {
        s.write_all(&get("/healthz")).await.unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let idle_from = Instant::now();
    assert!(
        closed_within(&mut s, Duration::from_secs(3)).await,
        "an idle connection stays open"
    );
    let idled = idle_from.elapsed();
    assert!(
        idled >= Duration::from_millis(250),
        "closed after {idled:?}, before the idle timeout"
    );

    // A new connection that sends nothing owes a head: the header timeout (5 s) applies, not
    // the idle one, so it is still open after the idle timeout…
    let mut silent = TcpStream::connect(addr(&app)).await.unwrap();
    assert!(!closed_within(&mut silent, Duration::from_millis(1200)).await);
    // …and closed after the header timeout.
    assert!(closed_within(&mut silent, Duration::from_secs(6)).await);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_closed_at_once() {
    let app = spawn_app_with(Engine::Sqlite, json!({ "http": { "max_connections": 4 } })).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(&get("/healthz")).await.unwrap();
        assert_eq!(
            read_status(&mut s, Duration::from_secs(2)).await,
            Ok(Some(200))
        );
        held.push(s);
    }
    let mut fifth = TcpStream::connect(addr(&app)).await.unwrap();
    let _ = fifth.write_all(&get("/healthz")).await;
    assert_eq!(
        read_status(&mut fifth, Duration::from_secs(2)).await,
        Ok(None),
        "the fifth connection is closed without an answer"
    );
    drop(held.pop());
    // The freed slot is taken by the next connection (once the server saw the close).
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        let _ = s.write_all(&get("/healthz")).await;
        if read_status(&mut s, Duration::from_secs(1)).await == Ok(Some(200)) {
            break;
        }
        assert!(Instant::now() < deadline, "a freed slot is never reused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_class_at_its_concurrency_limit_sheds_with_503_and_others_still_work() {
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "http": { "concurrency": { "webhook": 2 } } }),
    )
    .await;
    // Two webhooks in progress: their heads are read, their bodies trickle.
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(&post_head(SPEECH.len(), "")).await.unwrap();
        s.write_all(&SPEECH[..5]).await.unwrap();
        busy.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shed = webhook(&app, SPEECH, &[]).await;
    assert_eq!(shed.status(), 503);
    assert_eq!(
        shed.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    let body: Value = shed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    let health = app
        .http
        .get(format!("{}/healthz", app.app.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "another class is not affected");
    // The slow bodies complete: their slots are free again.
    for s in &mut busy {
        s.write_all(&SPEECH[5..]).await.unwrap();
        assert_eq!(read_status(s, Duration::from_secs(2)).await, Ok(Some(200)));
    }
    assert_eq!(webhook(&app, SPEECH, &[]).await.status(), 200);
    app.shutdown().await;
}

async fn statuses_with_forwarded_for(app: &TestApp, hops: &[&str]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for hop in hops {
        let status = webhook(app, SPEECH, &[("x-forwarded-for", hop)])
            .await
            .status();
        statuses.push(status.as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_keys_on_forwarded_for_only_from_a_trusted_proxy() {
    let limit = json!({ "per_second": 0.001, "burst": 2.0 });
    // The test client (127.0.0.1) is a trusted load balancer: each forwarded client has its own
    // bucket, and a hop the client wrote before ours is not believed.
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "http": { "trusted_proxies": ["127.0.0.0/8"] }, "webhook": { "rate_limit": limit } }),
    )
    .await;
    let statuses = statuses_with_forwarded_for(
        &app,
        &[
            "203.0.113.1",
            "203.0.113.1",
            "203.0.113.1",
            "203.0.113.2",
            "9.9.9.9, 203.0.113.1",
            "2001:db8:1:2::1",
            "2001:db8:1:2::ffff",
            "2001:db8:1:2::abcd",
        ],
    )
    .await;
    assert_eq!(statuses, [200, 200, 429, 200, 429, 200, 200, 429]);
    app.shutdown().await;

    // The peer is not a trusted proxy: its X-Forwarded-For is ignored, one bucket.
    let app = spawn_app_with(
        Engine::Sqlite,
        json!({ "http": { "trusted_proxies": ["10.0.0.0/8"] }, "webhook": { "rate_limit": limit } }),
    )
    .await;
    let statuses =
        statuses_with_forwarded_for(&app, &["203.0.113.1", "203.0.113.2", "203.0.113.3"]).await;
    assert_eq!(statuses, [200, 200, 429]);
    app.shutdown().await;
}

async fn status(http: &reqwest::Client, url: String, token: Option<&str>) -> u16 {
    let mut req = http.get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_and_metrics_can_live_on_their_own_listener() {
    let token = "t".repeat(32);
    for engine in engines().await {
        let app = spawn_app_with(
            engine,
            json!({ "admin": { "token": token, "listen": "127.0.0.1:0",
                               "rate_limit": { "per_second": 0.001, "burst": 4.0 } } }),
        )
        .await;
        let public = app.app.base_url();
        let internal = app.app.admin_url();
        assert_ne!(public, internal);
        let http = &app.http;
        assert_eq!(
            status(http, format!("{public}/admin/v1/calls"), Some(&token)).await,
            404
        );
        assert_eq!(status(http, format!("{public}/metrics"), None).await, 404);
        assert_eq!(
            status(http, format!("{public}/openapi.json"), None).await,
            404
        );
        assert_eq!(status(http, format!("{public}/healthz"), None).await, 200);
        assert_eq!(webhook(&app, SPEECH, &[]).await.status(), 200);

        assert_eq!(status(http, format!("{internal}/metrics"), None).await, 200);
        assert_eq!(status(http, format!("{internal}/healthz"), None).await, 200);
        let to_webhook = http
            .post(format!("{internal}/webhooks/vapi"))
            .body(SPEECH.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            to_webhook.status(),
            404,
            "no webhook on the internal listener"
        );
        // The admin API is rate-limited too (burst 4): wrong tokens count.
        let mut admin = Vec::new();
        for t in [
            token.as_str(),
            "wrong",
            token.as_str(),
            token.as_str(),
            token.as_str(),
        ] {
            admin.push(status(http, format!("{internal}/admin/v1/calls"), Some(t)).await);
        }
        assert_eq!(admin, [200, 401, 200, 200, 429], "{engine:?}");
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposure_check_applies_to_the_listener_that_serves_admin() {
    let bearer = json!({ "mode": "bearer", "token": "vapi-token-123" });
    let refused = start_api_only(json!({
        "listen": "127.0.0.1:0",
        "admin": { "token": "short", "listen": "0.0.0.0:0" },
    }))
    .await
    .err()
    .expect("a short admin token on a public admin listener is refused");
    assert!(refused.to_string().contains("admin token"), "{refused}");
    let ok = start_api_only(json!({
        "listen": "0.0.0.0:0",
        "webhook": { "auth": bearer },
        "admin": { "token": "short", "listen": "127.0.0.1:0" },
    }))
    .await
    .expect("a public webhook with admin on loopback starts with a short admin token");
    ok.shutdown().await.unwrap();
}

/// Sends only the head of a webhook declaring a 16 MB body, then waits for the answer.
async fn answer_to_head_only(app: &TestApp, extra_headers: &str) -> Result<Option<u16>, ()> {
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    s.write_all(&post_head(16 * 1024 * 1024, extra_headers))
        .await
        .unwrap();
    read_status(&mut s, Duration::from_secs(2)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_before_the_body_is_read() {
    let bearer = json!({ "mode": "bearer", "token": "right-token" });
    let app = spawn_app_with(Engine::Sqlite, json!({ "webhook": { "auth": bearer } })).await;
    assert_eq!(
        answer_to_head_only(&app, "Authorization: Bearer wrong\r\n").await,
        Ok(Some(401))
    );
    assert_eq!(
        answer_to_head_only(&app, "").await,
        Ok(Some(401)),
        "none given"
    );
    // Right credentials, but more than body_limit_bytes declared: 413 without reading.
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(&post_head(
        17 * 1024 * 1024,
        "Authorization: Bearer right-token\r\n",
    ))
    .await
    .unwrap();
    assert_eq!(
        read_status(&mut s, Duration::from_secs(2)).await,
        Ok(Some(413))
    );
    // Right credentials and a body: read and answered.
    let ok = webhook(&app, SPEECH, &[("authorization", "Bearer right-token")]).await;
    assert_eq!(ok.status(), 200);
    app.shutdown().await;

    let legacy = json!({ "mode": "legacy_secret", "secret": "s3cret" });
    let app = spawn_app_with(Engine::Sqlite, json!({ "webhook": { "auth": legacy } })).await;
    assert_eq!(
        answer_to_head_only(&app, "x-vapi-secret: nope\r\n").await,
        Ok(Some(401))
    );
    app.shutdown().await;

    // HMAC needs the body, but a request without a signature is refused before it.
    let hmac = json!({ "mode": "hmac", "secret": "hk" });
    let app = spawn_app_with(Engine::Sqlite, json!({ "webhook": { "auth": hmac } })).await;
    assert_eq!(answer_to_head_only(&app, "").await, Ok(Some(401)));
    app.shutdown().await;
}
