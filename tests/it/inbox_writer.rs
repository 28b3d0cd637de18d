//! The inbox's group commit and the SQLite background checkpoint: many concurrent webhook
//! events are all stored, each exactly once, with duplicates (also inside one batch) reported
//! as duplicates; the WAL is checkpointed by the background task, not by request commits.

use crate::helpers::{Engine, engines, fresh_database_url};
use callsaga_api::inbox::{self, Accepted, InboxWriter, NewEvent};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::time::Duration;

async fn database(engine: Engine) -> DatabaseConnection {
    let settings = callsaga_api::Settings::from_overrides(serde_json::json!({
        "database_url": fresh_database_url(engine).await,
    }))
    .unwrap();
    callsaga_api::db::connect_and_migrate(&settings)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_events_are_committed_once_each_and_duplicates_are_reported() {
    for engine in engines().await {
        let db = database(engine).await;
        let writer = InboxWriter::spawn(db.clone());
        // 200 requests at once: 150 distinct bodies, 50 of them sent a second time.
        let bodies: Vec<Vec<u8>> = (0..200)
            .map(|i| {
                format!(
                    r#"{{"message":{{"type":"status-update","n":{}}}}}"#,
                    i % 150
                )
                .into_bytes()
            })
            .collect();
        let results = futures::future::join_all(bodies.iter().enumerate().map(|(i, body)| {
            let writer = writer.clone();
            async move {
                writer
                    .accept(NewEvent {
                        vapi_call_id: &format!("call-{}", i % 150),
                        message_type: "status-update",
                        body,
                        received_at: chrono::Utc::now(),
                        event_at: None,
                    })
                    .await
                    .unwrap()
            }
        }))
        .await;
        let new = results.iter().filter(|r| **r == Accepted::New).count();
        let dup = results
            .iter()
            .filter(|r| **r == Accepted::Duplicate)
            .count();
        assert_eq!((new, dup), (150, 50), "{engine:?}");
        assert_eq!(inbox::backlog(&db).await.unwrap(), 150, "{engine:?}");
        // Every distinct body once, the first of each pair being the new one or not: the
        // rows are what counts.
        let pending = inbox::pending(&db, 1000).await.unwrap();
        let mut calls: Vec<_> = pending.iter().map(|e| e.vapi_call_id.clone()).collect();
        calls.sort();
        calls.dedup();
        assert_eq!(calls.len(), 150, "{engine:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_checkpointer_empties_the_sqlite_wal() {
    let db = database(Engine::Sqlite).await;
    let writer = InboxWriter::spawn(db.clone());
    for i in 0..300 {
        let body = format!(
            r#"{{"message":{{"type":"x","pad":"{}","n":{i}}}}}"#,
            "p".repeat(8000)
        );
        writer
            .accept(NewEvent {
                vapi_call_id: "c",
                message_type: "x",
                body: body.as_bytes(),
                received_at: chrono::Utc::now(),
                event_at: None,
            })
            .await
            .unwrap();
    }
    // Automatic checkpoints are off: the WAL holds the ~600 pages just written.
    let wal_frames = |db: DatabaseConnection| async move {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "PRAGMA wal_checkpoint(NOOP)",
            ))
            .await
            .unwrap()
            .unwrap();
        let log: i64 = row.try_get_by_index(1).unwrap();
        let checkpointed: i64 = row.try_get_by_index(2).unwrap();
        (log, checkpointed)
    };
    let (log, checkpointed) = wal_frames(db.clone()).await;
    assert!(
        log > 300 && checkpointed < log,
        "before: log {log}, checkpointed {checkpointed}"
    );
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(callsaga_api::db::run_checkpointer(db.clone(), stop_rx));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (log, checkpointed) = wal_frames(db.clone()).await;
    assert_eq!(
        checkpointed, log,
        "after: every WAL frame is in the database file"
    );
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the checkpointer stops on shutdown")
        .unwrap();
    // Its owner dropped without saying stop: it ends instead of spinning.
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(callsaga_api::db::run_checkpointer(db.clone(), stop_rx));
    drop(stop);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the checkpointer stops when its owner is gone")
        .unwrap();
}

/// PostgreSQL runs several writer lanes. The same duplicate bodies in two lanes' batches, in
/// opposite orders, must not deadlock (PostgreSQL would abort one batch only after
/// `deadlock_timeout`, holding its acks): each batch inserts in body-hash order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossing_duplicates_in_parallel_lanes_do_not_deadlock() {
    for engine in engines().await {
        let db = database(engine).await;
        let writer = InboxWriter::spawn(db.clone());
        for round in 0..40 {
            let bodies: Vec<Vec<u8>> = (0..8)
                .map(|i| format!(r#"{{"message":{{"type":"hang","round":{round},"n":{i}}}}}"#))
                .map(String::into_bytes)
                .collect();
            // Each body twice: in order, and a moment later (so another lane takes them while
            // the first batch is still open) reversed.
            let send = |body: Vec<u8>| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .accept(NewEvent {
                            vapi_call_id: "call-crossing",
                            message_type: "hang",
                            body: &body,
                            received_at: chrono::Utc::now(),
                            event_at: None,
                        })
                        .await
                        .unwrap()
                })
            };
            let forward: Vec<_> = bodies.iter().cloned().map(send).collect();
            tokio::time::sleep(Duration::from_micros(300)).await;
            let reversed: Vec<_> = bodies.iter().rev().cloned().map(send).collect();
            let results: Vec<Accepted> =
                futures::future::join_all(forward.into_iter().chain(reversed))
                    .await
                    .into_iter()
                    .map(Result::unwrap)
                    .collect();
            let new = results.iter().filter(|r| **r == Accepted::New).count();
            assert_eq!(new, 8, "round {round} ({engine:?})");
        }
        assert_eq!(
            writer.batch_failures(),
            0,
            "{engine:?}: a batch failed (deadlock?) and was stored one by one"
        );
    }
}
