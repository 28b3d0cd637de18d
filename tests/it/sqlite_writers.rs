//! Concurrent read-then-write transactions on SQLite (seen: "database is locked" from the relay
//! under the simulator's load and from the seed loader while a test's relay ran). A deferred
//! transaction that read first cannot take the write lock once another connection committed
//! in between, and fails at once; [`callsaga_entity::begin_write`] takes it up front.

use crate::helpers::{Engine, spawn_app};
use callsaga_entity::{event_log, users};
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_read_then_write_transactions_all_commit_on_sqlite() {
    let app = spawn_app(Engine::Sqlite).await;
    let db = app.app.state.db.clone();
    // As many writers as the SQLite pool has connections (8), so none waits for the pool.
    let writers = (0..8).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            let txn = callsaga_entity::begin_write(&db).await?;
            // Read first (the snapshot), yield so the others commit meanwhile, then write.
            let users = users::Entity::find().count(&txn).await?;
            tokio::task::yield_now().await;
            event_log::Entity::insert(event_log::ActiveModel {
                id: Set(uuid::Uuid::new_v4()),
                user_id: Set(None),
                call_id: Set(None),
                kind: Set("test.concurrent_writer".into()),
                data: Set(serde_json::json!({ "writer": i, "users": users })),
                created_at: Set(chrono::Utc::now()),
            })
            .exec(&txn)
            .await?;
            txn.commit().await
        })
    });
    let results = futures::future::join_all(writers).await;
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 8 failed: {failed:?}",
        failed.len()
    );
    app.shutdown().await;
}
