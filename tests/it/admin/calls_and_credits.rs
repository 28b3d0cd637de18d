//! Idempotent top-ups with a running balance, and the call detail with its live workflow state.

use super::{admin_app, demo_agent_id, demo_user_id, get, post};
use crate::helpers::{engines, new_call_id, sample};
use callsaga_entity::{calls, credit_ledger};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_ups_are_idempotent_and_the_ledger_keeps_a_running_balance() {
    for engine in engines().await {
        let app = admin_app(engine).await;
        let user = demo_user_id(&app).await;
        let credits = format!("/admin/v1/users/{user}/credits");
        let (s1, first) = post(
            &app,
            &credits,
            json!({"amount": 100, "idempotency_key": "pay-1", "note": "card"}),
        )
        .await;
        let (s2, again) = post(
            &app,
            &credits,
            json!({"amount": 100, "idempotency_key": "pay-1", "note": "card"}),
        )
        .await;
        assert_eq!((s1, s2), (200, 200), "{first} {again}");
        assert_eq!(first["entry_id"], again["entry_id"], "{engine:?}");
        assert_eq!(first["balance_after"], again["balance_after"]);
        assert_eq!(
            (first["duplicate"].as_bool(), again["duplicate"].as_bool()),
            (Some(false), Some(true))
        );
        let (status, answer) = post(
            &app,
            &credits,
            json!({"amount": 5, "idempotency_key": "pay-1"}),
        )
        .await;
        assert_eq!(status, 409, "same key, other amount: {answer}");
        let (status, _) = post(
            &app,
            &credits,
            json!({"amount": 50, "idempotency_key": "pay-2"}),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = post(
            &app,
            &format!("/admin/v1/users/{}/credits", uuid::Uuid::nil()),
            json!({"amount": 5, "idempotency_key": "k"}),
        )
        .await;
        assert_eq!(status, 404);

        let user_id: uuid::Uuid = user.parse().unwrap();
        let rows = credit_ledger::Entity::find()
            .filter(credit_ledger::Column::UserId.eq(user_id))
            .count(&app.app.state.db)
            .await
            .unwrap();
        assert_eq!(rows, 2, "{engine:?}: one entry per key");

        let (status, ledger) = get(&app, &format!("/admin/v1/users/{user}/ledger")).await;
        assert_eq!(status, 200, "{ledger}");
        let start = callsaga_api::seed::DEMO_CREDITS;
        let running: Vec<(i64, i64)> = ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["amount"].as_i64().unwrap(),
                    e["balance_after"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            running,
            vec![(100, start + 100), (50, start + 150)],
            "{engine:?}"
        );
        assert_eq!(ledger["balance"], start + 150);
        assert_eq!(ledger["entries"][0]["note"], "card");

        let (_, page) = get(&app, &format!("/admin/v1/users/{user}/ledger?limit=1")).await;
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        let (_, page2) = get(
            &app,
            &format!("/admin/v1/users/{user}/ledger?limit=1&cursor={cursor}"),
        )
        .await;
        assert_eq!(page2["entries"][0]["amount"], 50);
        assert_eq!(page2["next_cursor"], Value::Null);
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_detail_shows_the_row_and_the_live_workflow_state() {
    for engine in engines().await {
        let app = admin_app(engine).await;
        let (older, newer) = (new_call_id(), new_call_id());
        for call_id in [&older, &newer] {
            for name in [
                "inbound-ringing.json",
                "inbound-in-progress.json",
                "customer-ended-call.json",
            ] {
                let resp = app.post_webhook(&sample(name, call_id)).await;
                assert_eq!(resp.status(), 200, "{name}");
            }
            app.call_result(call_id).await;
        }

        let (status, detail) = get(&app, &format!("/admin/v1/calls/{newer}")).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["call"]["vapi_call_id"], newer.as_str());
        assert_eq!(detail["call"]["status"], "ended");
        assert!(detail["call"]["transcript"].is_string());
        let workflow = &detail["workflow"];
        assert_eq!(workflow["status"], "ended", "{engine:?}: {detail}");
        assert_eq!(workflow["report_applied"], true);
        assert_eq!(workflow["vapi_call_id"], newer.as_str());
        assert_eq!(
            detail["temporal_ui_url"],
            format!("http://localhost:8233/namespaces/default/workflows/call-{newer}")
        );

        // Newest first; filters; pagination.
        let agent = demo_agent_id(&app).await;
        let (_, list) = get(
            &app,
            &format!("/admin/v1/calls?status=ended&agent_id={agent}"),
        )
        .await;
        let ids: Vec<&str> = list["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["vapi_call_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![newer.as_str(), older.as_str()], "{engine:?}");
        assert!(
            list["calls"][0].get("transcript").is_none(),
            "lists stay small"
        );
        let (_, page) = get(&app, "/admin/v1/calls?limit=1").await;
        assert_eq!(page["calls"][0]["vapi_call_id"], newer.as_str());
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        let (_, page) = get(&app, &format!("/admin/v1/calls?limit=1&cursor={cursor}")).await;
        assert_eq!(page["calls"][0]["vapi_call_id"], older.as_str());
        assert_eq!(page["next_cursor"], Value::Null);
        let (_, none) = get(&app, "/admin/v1/calls?status=ringing").await;
        assert_eq!(none["calls"], json!([]));
        let (_, future) = get(&app, "/admin/v1/calls?from=2999-01-01T00:00:00Z").await;
        assert_eq!(future["calls"], json!([]));
        let (_, past) = get(&app, "/admin/v1/calls?to=2000-01-01T00:00:00Z").await;
        assert_eq!(past["calls"], json!([]));

        // A row whose workflow is gone: the row, `workflow: null` and why.
        let orphan = new_call_id();
        let mut row = app.call_row(&older).await;
        row.id = uuid::Uuid::now_v7();
        row.vapi_call_id = orphan.clone();
        row.workflow_id = format!("call-{orphan}");
        use sea_orm::{ActiveModelTrait, IntoActiveModel};
        calls::Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(&app.app.state.db)
            .await
            .unwrap();
        let (status, detail) = get(&app, &format!("/admin/v1/calls/{orphan}")).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["workflow"], Value::Null);
        assert!(
            detail["workflow_unavailable"]
                .as_str()
                .unwrap()
                .contains("not found"),
            "{detail}"
        );
        let (status, _) = get(&app, "/admin/v1/calls/no-such-call").await;
        assert_eq!(status, 404);
        app.shutdown().await;
    }
}
