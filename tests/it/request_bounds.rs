//! Bounds on what one request may ask (issue 23): tool calls per request, argument size, tool
//! call ids, transcript messages stored; and where CalDAV URLs set through the admin API may
//! point. Every case through the real HTTP server, on both databases.

use crate::helpers::{Engine, TestApp, engines, new_call_id, spawn_app_with};
use callsaga_entity::webhook_inbox;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

fn tool_calls(call_id: &str, entries: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"message": {
        "type": "tool-calls",
        "call": {"id": call_id, "customer": {"number": "+4915112345678"}},
        "toolCallList": entries,
    }}))
    .expect("json")
}

fn entry(id: &str, arguments: Value) -> Value {
    json!({"id": id, "type": "function",
           "function": {"name": "check_operator_availability", "arguments": arguments}})
}

/// Posts `body`; returns the status and the `error` text of the answer.
async fn post(app: &TestApp, body: &[u8]) -> (u16, String) {
    let resp = app.post_webhook(body).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn bounded_app(engine: Engine) -> TestApp {
    spawn_app_with(
        engine,
        json!({"webhook": {"limits": {"max_tool_calls": 2, "max_tool_argument_bytes": 64, "max_stored_messages": 3}}}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_over_the_limits_are_refused_with_the_reason() {
    for engine in engines().await {
        let app = bounded_app(engine).await;
        let call = new_call_id();
        let ok = |n: usize| {
            (0..n)
                .map(|i| entry(&format!("tc_{i}"), json!({})))
                .collect()
        };

        let (status, error) = post(&app, &tool_calls(&call, ok(3))).await;
        assert_eq!(status, 400, "{engine:?}: {error}");
        assert!(error.contains("`message.toolCallList`"), "{error}");
        assert!(error.contains("3 tool calls, at most 2 allowed"), "{error}");

        let long = "x".repeat(65);
        for arguments in [
            json!({"department": long}).to_string().into(),
            json!({"d": long}),
        ] {
            let (status, error) =
                post(&app, &tool_calls(&call, vec![entry("tc_big", arguments)])).await;
            assert_eq!(status, 400, "{engine:?}: {error}");
            assert!(
                error.contains("`message.toolCallList[0].function.arguments`"),
                "{error}"
            );
            assert!(error.contains("bytes, at most 64 allowed"), "{error}");
            assert!(!error.contains("xxxx"), "no argument echo: {error}");
        }

        let bad_ids = [
            ("a".repeat(129), "129 bytes long, at most 128"),
            ("tc 1".to_owned(), "contains \" \""),
            ("tc/../1".to_owned(), "contains \"/\""),
            (String::new(), "it is empty"),
        ];
        for (id, reason) in bad_ids {
            let body = tool_calls(
                &call,
                vec![entry("tc_ok", json!({})), entry(&id, json!({}))],
            );
            let (status, error) = post(&app, &body).await;
            assert_eq!(status, 400, "{engine:?} {id:?}: {error}");
            assert!(
                error.contains("`message.toolCallList[1].id` is not a valid tool call id"),
                "{error}"
            );
            assert!(error.contains(reason), "{reason}: {error}");
        }

        // Within the limits: answered, one result per tool call.
        let resp = app.post_webhook(&tool_calls(&call, ok(2))).await;
        assert_eq!(resp.status(), 200);
        let answer: Value = resp.json().await.expect("json");
        assert_eq!(
            answer["results"].as_array().map(Vec::len),
            Some(2),
            "{answer}"
        );
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_transcript_messages_are_stored() {
    for engine in engines().await {
        let app = bounded_app(engine).await;
        let call = new_call_id();
        let messages: Vec<Value> = (1..=5)
            .map(|i| json!({"role": "user", "message": format!("turn {i}")}))
            .collect();
        let body = serde_json::to_vec(&json!({"message": {
            "type": "end-of-call-report",
            "endedReason": "customer-ended-call",
            "call": {"id": call},
            "messages": messages,
            "artifact": {"messages": messages, "transcript": "whole transcript"},
        }}))
        .expect("json");
        let resp = app.post_webhook(&body).await;
        assert_eq!(resp.status(), 200);
        let answer: Value = resp.json().await.expect("json");
        assert_eq!(answer["duplicate"], false, "{answer}");

        let rows = webhook_inbox::Entity::find()
            .filter(webhook_inbox::Column::VapiCallId.eq(&call))
            .all(&app.app.state.db)
            .await
            .expect("inbox");
        assert_eq!(rows.len(), 1);
        let stored: Value = serde_json::from_str(&rows[0].payload).expect("stored json");
        let turns = |v: &Value| {
            v.as_array()
                .expect("array")
                .iter()
                .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        };
        let newest = ["turn 3", "turn 4", "turn 5"];
        assert_eq!(turns(&stored["message"]["messages"]), newest);
        assert_eq!(turns(&stored["message"]["artifact"]["messages"]), newest);
        assert_eq!(
            stored["message"]["artifact"]["transcript"],
            "whole transcript"
        );

        // The same delivery again is still recognised as a duplicate.
        let again: Value = app.post_webhook(&body).await.json().await.expect("json");
        assert_eq!(again["duplicate"], true, "{again}");
        app.shutdown().await;
    }
}

/// The admin API refuses CalDAV URLs that are not https or point to non-public addresses when
/// the `calendar` allow flags are off (the test default turns them on for Radicale).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caldav_urls_set_through_the_admin_api_must_be_public_https() {
    for engine in engines().await {
        let app = spawn_app_with(
            engine,
            json!({
                "admin": {"token": "t0k"},
                "calendar": {"caldav_allow_http": false, "caldav_allow_private": false},
            }),
        )
        .await;
        let base = app.app.base_url();
        let agents: Value = app
            .http
            .get(format!("{base}/admin/v1/agents"))
            .bearer_auth("t0k")
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let agent = agents["agents"][0]["id"]
            .as_str()
            .expect("agent")
            .to_owned();
        let set = |url: &str| {
            app.http
                .patch(format!("{base}/admin/v1/agents/{agent}"))
                .bearer_auth("t0k")
                .json(&json!({"calendar_provider": "caldav", "calendar_config": {"url": url}}))
                .send()
        };
        let refused = [
            ("http://dav.example.com/cal/", "must use https"),
            ("https://127.0.0.1:5232/cal/", "loopback"),
            ("https://localhost/cal/", "loopback"),
            ("https://10.0.0.8/cal/", "private"),
            ("https://169.254.169.254/latest/", "link-local"),
            ("https://[fd00:ec2::254]/", "unique-local"),
            ("https://[::ffff:192.168.0.1]/", "private"),
        ];
        for (url, why) in refused {
            let resp = set(url).await.expect("patch");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            // Admin validation failures are 422 and name the field, like every other.
            assert_eq!(status, 422, "{engine:?} {url}: {body}");
            let text = body.to_string();
            assert!(text.contains("calendar_config.url"), "{url}: {text}");
            assert!(text.contains(why), "{url}: {text}");
        }
        let resp = set("https://dav.example.com/alice/cal/")
            .await
            .expect("patch");
        assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
        app.shutdown().await;
    }
}
