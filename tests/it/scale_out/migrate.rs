//! Migrations run once: processes migrating an empty PostgreSQL database at once take turns
//! under the advisory lock, and `api` / `worker` refuse a schema that is not current.

use super::postgres;
use crate::helpers::{Engine, fresh_database_url, temporal_address};
use callsaga_api::{App, Components, Settings};
use callsaga_migration::{Migrator, MigratorTrait};
use serde_json::json;

fn settings(url: &str) -> Settings {
    Settings::from_overrides(json!({ "database_url": url, "listen": "127.0.0.1:0" }))
        .expect("settings")
}

/// Four "processes" (each its own pool, as separate processes have) migrate one empty
/// PostgreSQL database at the same moment: all succeed, each migration is applied once, and
/// the schema is current. (Without the lock they race on the same `CREATE TABLE`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_migrating_an_empty_postgres_database_at_once_take_turns() {
    if !postgres().await {
        return;
    }
    let url = fresh_database_url(Engine::Postgres).await;
    let s = settings(&url);
    let runs = (0..4).map(|_| {
        let s = s.clone();
        async move {
            let db = callsaga_api::db::connect(&s).await?;
            callsaga_api::db::migrate_up(&db, &s).await?;
            anyhow::Ok(db)
        }
    });
    let results = futures::future::join_all(runs).await;
    for r in &results {
        if let Err(e) = r {
            panic!("a concurrent migration failed: {e:#}");
        }
    }
    let db = results.into_iter().next().expect("one").expect("ok");
    callsaga_api::db::check_schema(&db).await.expect("current");
    let applied = Migrator::get_applied_migrations(&db)
        .await
        .expect("applied");
    assert_eq!(applied.len(), Migrator::migrations().len());
}

/// `api` and `worker` (without --migrate) refuse an unmigrated database and say what to run;
/// after `migrate up` they start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_worker_refuse_a_schema_that_is_not_current() {
    for engine in crate::helpers::engines().await {
        let url = fresh_database_url(engine).await;
        let mut base = json!({ "database_url": url, "listen": "127.0.0.1:0",
            "temporal": { "address": temporal_address().await,
                "task_queue": format!("test-{}", uuid::Uuid::new_v4().simple()) } });
        if engine == Engine::Sqlite {
            base["sqlite_synchronous"] = json!("normal");
        }
        let start = |api: bool| {
            let s = Settings::from_overrides(base.clone()).expect("settings");
            App::start(
                s,
                Components {
                    api,
                    worker: !api,
                    migrate: false,
                },
            )
        };
        for api in [true, false] {
            let error = format!("{:#}", start(api).await.err().expect("refused"));
            assert!(
                error.contains("schema is not current") && error.contains("callsaga migrate up"),
                "{engine:?}: {error}"
            );
        }
        let s = Settings::from_overrides(base.clone()).expect("settings");
        let db = callsaga_api::db::connect(&s).await.expect("connect");
        callsaga_api::db::migrate_up(&db, &s)
            .await
            .expect("migrate");
        for api in [true, false] {
            let app = start(api).await.expect("starts on a current schema");
            app.shutdown().await.expect("shutdown");
        }
    }
}
