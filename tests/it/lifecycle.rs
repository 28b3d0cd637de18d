//! The first call lifecycle end to end: HTTP webhook → inbox → relay → call workflow on a real
//! Temporal server → `calls` row; on SQLite and PostgreSQL.

use crate::helpers::{Engine, TestApp, engines, new_call_id, sample, sample_value, spawn_app};
use callsaga_entity::calls;
use chrono::{DateTime, Utc};

const RINGING: &str = "inbound-ringing.json";
const IN_PROGRESS: &str = "inbound-in-progress.json";
const REPORT: &str = "customer-ended-call.json";

async fn post_all(app: &TestApp, call_id: &str, names: &[&str]) {
    for name in names {
        let resp = app.post_webhook(&sample(name, call_id)).await;
        assert_eq!(
            resp.status(),
            200,
            "{name}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
}

fn ts(v: &serde_json::Value) -> DateTime<Utc> {
    v.as_str()
        .expect("timestamp string")
        .parse()
        .expect("RFC 3339")
}

/// The row must match the end-of-call report field by field.
fn assert_matches_report(row: &calls::Model, engine: Engine) {
    let report = sample_value(REPORT);
    let m = &report["message"];
    assert_eq!(row.status, "ended", "{engine:?}");
    assert_eq!(row.started_at, Some(ts(&m["startedAt"])), "{engine:?}");
    assert_eq!(row.ended_at, Some(ts(&m["endedAt"])), "{engine:?}");
    assert_eq!(
        row.duration_ms,
        m["durationMs"].as_f64().map(|d| d.round() as i64),
        "{engine:?}"
    );
    assert_eq!(
        row.ended_reason.as_deref(),
        m["endedReason"].as_str(),
        "{engine:?}"
    );
    assert_eq!(
        row.transcript.as_deref(),
        m["artifact"]["transcript"].as_str(),
        "{engine:?}"
    );
    assert_eq!(
        row.summary.as_deref(),
        m["analysis"]["summary"].as_str(),
        "{engine:?}"
    );
    assert_eq!(row.customer_number.as_deref(), Some("+4915112345678"));
    assert_eq!(row.direction.as_deref(), Some("inbound"));
    assert!(
        row.agent_id.is_some() && row.user_id.is_some(),
        "demo tenant resolved"
    );
    assert!(row.report_received_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_through_http_creates_one_workflow_and_a_matching_row() {
    for engine in engines().await {
        let app = spawn_app(engine).await;
        let call_id = new_call_id();
        post_all(&app, &call_id, &[RINGING, IN_PROGRESS, REPORT]).await;
        let result = app.call_result(&call_id).await;
        assert_eq!(result.status, "ended");
        assert!(result.report_applied);

        let row = app.call_row(&call_id).await;
        assert_matches_report(&row, engine);
        assert_eq!(row.workflow_id, format!("call-{call_id}"));

        // Exactly one workflow run for the call.
        let count = app
            .temporal
            .count_workflows(format!("WorkflowId = 'call-{call_id}'"), Default::default())
            .await
            .expect("count");
        assert_eq!(count.count(), 1, "{engine:?}");

        if engine == Engine::Sqlite
            && std::env::var("CALLSAGA_RECORD_HISTORIES").as_deref() == Ok("1")
        {
            crate::helpers::record_history(&app, &call_id, "call-lifecycle-v2.json").await;
        }
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_and_duplicate_delivery_converge_to_the_same_row() {
    for engine in engines().await {
        let app = spawn_app(engine).await;

        let normal = new_call_id();
        post_all(&app, &normal, &[RINGING, IN_PROGRESS, REPORT]).await;
        app.call_result(&normal).await;

        // End-of-call report first (short call), then the status updates arrive late.
        let reordered = new_call_id();
        post_all(&app, &reordered, &[REPORT, IN_PROGRESS, RINGING]).await;
        app.call_result(&reordered).await;

        // Everything twice: byte-identical re-deliveries, plus a re-sent report with new bytes.
        let duplicated = new_call_id();
        for name in [RINGING, RINGING, IN_PROGRESS, REPORT, IN_PROGRESS, REPORT] {
            let resp = app.post_webhook(&sample(name, &duplicated)).await;
            assert_eq!(resp.status(), 200);
        }
        let mut resent = sample_value(REPORT);
        resent["message"]["call"]["id"] = duplicated.clone().into();
        resent["message"]["timestamp"] = 1_763_716_999_000_i64.into();
        let resp = app
            .post_webhook(&serde_json::to_vec(&resent).unwrap())
            .await;
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["duplicate"], false, "new bytes are a new inbox row");
        app.call_result(&duplicated).await;
        // Let the relay settle whatever arrived after completion before we compare.
        app.app.state.relay.drain().await.expect("drain");

        let rows = [
            app.call_row(&normal).await,
            app.call_row(&reordered).await,
            app.call_row(&duplicated).await,
        ];
        for row in &rows {
            assert_matches_report(row, engine);
            assert_eq!(row.status, rows[0].status);
            assert_eq!(row.started_at, rows[0].started_at);
            assert_eq!(row.ended_at, rows[0].ended_at);
            assert_eq!(row.duration_ms, rows[0].duration_ms);
            assert_eq!(row.ended_reason, rows[0].ended_reason);
        }
        // Byte-identical deliveries were stored once.
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let stored = callsaga_entity::webhook_inbox::Entity::find()
            .filter(callsaga_entity::webhook_inbox::Column::VapiCallId.eq(&duplicated))
            .count(&app.app.state.db)
            .await
            .unwrap();
        assert_eq!(stored, 4, "ringing, in-progress, report, re-sent report");
        for id in [&normal, &reordered, &duplicated] {
            let count = app
                .temporal
                .count_workflows(format!("WorkflowId = 'call-{id}'"), Default::default())
                .await
                .unwrap();
            assert_eq!(count.count(), 1, "no zombie run for {id} ({engine:?})");
        }
        app.shutdown().await;
    }
}
