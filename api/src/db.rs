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
        opts.max_connections(settings.database_max_connections.unwrap_or(20).max(2))
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

/// Connects and applies every pending migration (under the migration lock).
pub async fn connect_and_migrate(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let db = connect(settings).await?;
    migrate_up(&db, settings).await?;
    Ok(db)
}

/// The PostgreSQL advisory lock key every callsaga process migrates under ("callsaga" in
/// ASCII, so it is recognisable in `pg_locks`).
const MIGRATION_LOCK: i64 = 0x63_61_6c_6c_73_61_67_61;

/// Applies every pending migration. On PostgreSQL under a session advisory lock held on a
/// connection of its own, so processes migrating at once run the migrations one after the
/// other (the later ones find nothing to do) instead of racing on the same `CREATE TABLE`.
pub async fn migrate_up(db: &DatabaseConnection, settings: &Settings) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None)
            .await
            .context("failed to apply migrations");
    }
    let mut opts = ConnectOptions::new(settings.database_url.expose().to_owned());
    opts.sqlx_logging(false)
        .max_connections(1)
        .connect_timeout(Duration::from_secs(10));
    let lock = Database::connect(opts)
        .await
        .context("failed to connect to the database for the migration lock")?;
    let key = |sql: &str| {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, [MIGRATION_LOCK.into()])
    };
    lock.execute_raw(key("SELECT pg_advisory_lock($1)"))
        .await
        .context("failed to take the migration lock")?;
    let result = Migrator::up(db, None)
        .await
        .context("failed to apply migrations");
    if let Err(e) = lock.execute_raw(key("SELECT pg_advisory_unlock($1)")).await {
        tracing::warn!(error = %e, "releasing the migration lock failed; closing its connection releases it");
    }
    lock.close().await.ok();
    result
}

/// Refuses a schema this binary does not match: `api` and `worker` start only on a database
/// `callsaga migrate up` (or `--migrate`) has brought up to date. Read-only: it creates nothing.
pub async fn check_schema(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending = Migrator::get_pending_migrations_read_only(db)
        .await
        .context("failed to read the applied migrations")?;
    if pending.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = pending.iter().map(|m| m.name()).collect();
    anyhow::bail!(
        "the database schema is not current: {} migration(s) not applied ({}). Run `callsaga \
         migrate up` once (or start this process with --migrate, which migrates under a lock)",
        names.len(),
        names.join(", ")
    )
}

/// The file of a `sqlite://` database URL (none for other engines or in-memory databases).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    sqlite_path(url).map(std::path::PathBuf::from)
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}
