//! Every appointment is linked to its call (issue 22): a booking whose tool call reaches us
//! before the relay delivered any of the call's events creates the call's row, and the events
//! merge into that row later.

use super::{booking_args, call_tool, future_weekday, text};
use crate::helpers::{engines, mail_dir, new_call_id, sample, spawn_app_with};
use crate::histories::end_with;
use callsaga_entity::{appointments, calls};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_before_the_first_event_is_linked_to_its_call() {
    for engine in engines().await {
        let mail = mail_dir();
        let app = spawn_app_with(
            engine,
            json!({ "email": { "backend": "file", "dir": mail } }),
        )
        .await;
        let call = new_call_id();
        // The tool call comes first: no event of the call has been relayed yet.
        let a = call_tool(
            &app,
            &call,
            "book_appointment",
            booking_args(future_weekday(3), "09:30", "Early Bird"),
        )
        .await;
        assert!(text(&a).contains("booked"), "{engine:?}: {a}");
        app.post_webhook(&sample("inbound-ringing.json", &call))
            .await;
        app.post_webhook(&sample("inbound-in-progress.json", &call))
            .await;
        end_with(&app, &call, "customer-ended-call").await;

        let rows = calls::Entity::find()
            .filter(calls::Column::VapiCallId.eq(call.as_str()))
            .all(&app.app.state.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{engine:?}: one row per call");
        let row = &rows[0];
        // The events merged into the row the booking created.
        assert_eq!(row.status, "ended", "{engine:?}");
        assert!(row.started_at.is_some() && row.report_received_at.is_some());
        assert_eq!(row.direction.as_deref(), Some("inbound"), "{engine:?}");
        let booked = appointments::Entity::find()
            .filter(appointments::Column::IdempotencyKey.starts_with(format!("call-{call}:")))
            .one(&app.app.state.db)
            .await
            .unwrap()
            .expect("appointment");
        assert_eq!(booked.call_id, Some(row.id), "{engine:?}");
        assert_eq!(row.agent_id, Some(booked.agent_id), "{engine:?}");
        app.shutdown().await;
    }
}
