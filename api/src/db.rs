//! Database connection: SQLite (embedded default, WAL) or PostgreSQL, same code.

use crate::settings::Settings;
use anyhow::Context;
use callsaga_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::time::Duration;
use tokio::sync::watch;

/// Opens a pool. For SQLite: WAL so readers never block the single writer,
/// `synchronous=FULL` by default (the WAL is synced at every commit, so an acknowledged webhook
/// survives power loss too; `sqlite_synchronous = "normal"` only a process crash), and a busy
/// handler so concurrent writers queue instead of failing — one that retries every few
/// microseconds rather than SQLite's sleeps of up to 100 ms (see `sqlite_busy`).
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url.expose();
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create database folder {}", dir.display()))?;
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    if settings.is_sqlite() {
        // A pooled SQLite connection is a file handle in this process: it cannot go stale, so
        // sqlx's default ping on every checkout (one more round trip to the connection's worker
        // thread per query) buys nothing.
        opts.test_before_acquire(false);
        let synchronous = match settings.sqlite_synchronous {
            crate::settings::SqliteDurability::Full => SqliteSynchronous::Full,
            crate::settings::SqliteDurability::Normal => SqliteSynchronous::Normal,
        };
        opts.max_connections(8)
            .map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(synchronous)
                    .busy_timeout(crate::sqlite_busy::BUDGET)
                    .foreign_keys(true)
                    // sqlx hands rows from the connection's thread to the query's task through
                    // a channel of 50 by default; a fortnight of busy times (an availability
                    // answer) is a few hundred, and a full channel parks the thread mid-query.
                    .row_buffer_size(512)
                    // Checkpoints run in the background (`run_checkpointer`), not in whichever
                    // request's commit crossed the WAL threshold.
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("journal_size_limit", (64 * 1024 * 1024).to_string())
            })
            .map_sqlx_sqlite_pool_opts(|o| {
                o.after_connect(|conn, _meta| {
                    Box::pin(async move {
                        let mut handle = conn.lock_handle().await?;
                        crate::sqlite_busy::install(handle.as_raw_handle())
                            .map_err(|e| sea_orm::sqlx::Error::Configuration(e.into()))
                    })
                })
            });
    } else {
        // Ping only connections idle long enough to have been dropped by the server or a
        // proxy, not every checkout (a network round trip per query).
        opts.max_connections(20)
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
    }
    Database::connect(opts)
        .await
        .context("failed to connect to the database (check database_url)")
}

/// How often the background checkpointer copies the SQLite WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// SQLite only: checkpoints the WAL every [`CHECKPOINT_EVERY`] until `shutdown` turns true.
///
/// With SQLite's automatic checkpoint, the commit that crosses 1000 WAL pages copies them into
/// the database and fsyncs it before it returns: under load that put 10–170 ms on random
/// webhook acks. Connections opened by [`connect`] turn it off; this task does the work
/// instead, `PASSIVE`, so it never blocks a writer. Without it (CLI commands, tests) the WAL is
/// checkpointed when the last connection closes.
pub async fn run_checkpointer(db: DatabaseConnection, mut shutdown: watch::Receiver<bool>) {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return;
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
            // The owner is gone without saying stop: `changed` would return at once forever.
            changed = shutdown.changed() => if changed.is_err() { return; },
        }
        if let Err(e) = db
            .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await
        {
            tracing::warn!(error = %e, "SQLite WAL checkpoint failed; retrying");
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Connects and applies every pending migration.
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let db = connect(settings).await?;
    Migrator::up(&db, None)
        .await
        .context("failed to apply migrations")?;
    Ok(db)
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}
