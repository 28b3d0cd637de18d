//! Schema migration tests on SQLite and PostgreSQL: up / down / up again,
//! the appointment no-overlap constraint and ledger idempotency keys.
//!
//! PostgreSQL: `CALLSAGA_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) is used to create and drop a
//! fresh `callsaga_mig_<uuid>` database per test. When the server is
//! unreachable the PostgreSQL tests are skipped, unless `CALLSAGA_REQUIRE_PG=1`.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use callsaga_activities::calendar::{Calendar as _, EmbeddedCalendar};
use callsaga_entity::{agents, appointments, calls, credit_ledger, users};
use callsaga_migration::{Migrator, MigratorTrait, SchemaManager};
use chrono::{DateTime, TimeZone as _, Utc};
use sea_orm::{
    ActiveModelTrait as _, ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection,
    DbBackend, DbErr, EntityTrait as _, Set, SqlErr, Statement,
};
use uuid::Uuid;

const TABLES: [&str; 11] = [
    "users",
    "agents",
    "phone_numbers",
    "escalation_configs",
    "calls",
    "appointments",
    "credit_ledger",
    "escalation_logs",
    "event_log",
    "webhook_inbox",
    "call_slots",
];

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

fn connect_options(url: &str) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url);
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(4)
        .sqlx_logging(false);
    opts
}

/// Runs `body` against a fresh SQLite file database, then deletes the file.
async fn with_sqlite<F, Fut>(body: F) -> anyhow::Result<()>
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let path: PathBuf =
        std::env::temp_dir().join(format!("callsaga_mig_{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = Database::connect(connect_options(&url))
        .await
        .with_context(|| format!("connect {url}"))?;
    let result = body(db.clone()).await;
    let _ = db.close().await;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    result
}

/// Runs `body` against a freshly created PostgreSQL database, then drops it.
/// Returns `Ok(())` without running `body` when PostgreSQL is unreachable
/// (unless `CALLSAGA_REQUIRE_PG=1`).
async fn with_postgres<F, Fut>(test: &str, body: F) -> anyhow::Result<()>
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let base_url = std::env::var("CALLSAGA_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    let require = std::env::var("CALLSAGA_REQUIRE_PG").is_ok_and(|v| v == "1");
    let admin = match Database::connect(connect_options(&base_url)).await {
        Ok(admin) => admin,
        Err(err) if !require => {
            println!("{test}: PostgreSQL unreachable at {base_url} ({err}); skipped");
            return Ok(());
        }
        Err(err) => {
            bail!("{test}: PostgreSQL unreachable at {base_url} ({err}) and CALLSAGA_REQUIRE_PG=1")
        }
    };

    let db_name = format!("callsaga_mig_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{db_name}\""))
        .await
        .with_context(|| format!("create database {db_name}"))?;

    let mut url = reqwest::Url::parse(&base_url).context("parse CALLSAGA_TEST_PG_URL")?;
    url.set_path(&format!("/{db_name}"));
    let result = match Database::connect(connect_options(url.as_str())).await {
        Ok(db) => {
            let result = body(db.clone()).await;
            let _ = db.close().await;
            result
        }
        Err(err) => Err(err).with_context(|| format!("connect {db_name}")),
    };

    let dropped = admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS \"{db_name}\" WITH (FORCE)"
        ))
        .await;
    let _ = admin.close().await;
    result?;
    dropped.with_context(|| format!("drop database {db_name}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Scenarios (engine-independent)
// ---------------------------------------------------------------------------

async fn table_presence(db: &DatabaseConnection) -> anyhow::Result<Vec<(&'static str, bool)>> {
    let manager = SchemaManager::new(db);
    let mut out = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        out.push((table, manager.has_table(table).await?));
    }
    Ok(out)
}

async fn up_down_up(db: DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(&db, None).await.context("first up")?;
    for (table, present) in table_presence(&db).await? {
        ensure!(present, "table {table} missing after up");
    }
    ensure!(
        Migrator::get_pending_migrations(&db).await?.is_empty(),
        "pending migrations after up"
    );

    // Some data must not get in the way of `down`.
    let user = insert_user(&db).await?;
    let agent = insert_agent(&db, user).await?;
    book(&db, agent, at(10, 0, 0, 0), at(11, 0, 0, 0), "booked").await?;
    insert_ledger(&db, user, "seed").await?;

    Migrator::down(&db, None).await.context("down")?;
    for (table, present) in table_presence(&db).await? {
        ensure!(!present, "table {table} still present after down");
    }
    ensure!(
        Migrator::get_applied_migrations(&db).await?.is_empty(),
        "applied migrations after down"
    );

    Migrator::up(&db, None).await.context("second up")?;
    for (table, present) in table_presence(&db).await? {
        ensure!(present, "table {table} missing after second up");
    }
    // The overlap guard came back with the schema.
    let user = insert_user(&db).await?;
    let agent = insert_agent(&db, user).await?;
    book(&db, agent, at(10, 0, 0, 0), at(11, 0, 0, 0), "booked").await?;
    expect_overlap(
        book(&db, agent, at(10, 30, 0, 0), at(11, 30, 0, 0), "booked").await,
        "overlap after second up",
    )?;
    Ok(())
}

async fn overlap(db: DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(&db, None).await?;
    let user = insert_user(&db).await?;
    let agent = insert_agent(&db, user).await?;
    let other_agent = insert_agent(&db, user).await?;

    let first = book(&db, agent, at(10, 0, 0, 0), at(11, 0, 0, 0), "booked").await?;

    // Overlapping booked → rejected (both containment directions and partial).
    expect_overlap(
        book(&db, agent, at(10, 30, 0, 0), at(11, 30, 0, 0), "booked").await,
        "partial overlap",
    )?;
    expect_overlap(
        book(&db, agent, at(9, 0, 0, 0), at(12, 0, 0, 0), "booked").await,
        "enclosing",
    )?;
    expect_overlap(
        book(&db, agent, at(10, 15, 0, 0), at(10, 45, 0, 0), "booked").await,
        "enclosed",
    )?;
    expect_overlap(
        book(&db, agent, at(10, 0, 0, 0), at(11, 0, 0, 0), "booked").await,
        "identical",
    )?;

    // A cancelled overlapping one is allowed; another agent is independent.
    let cancelled = book(&db, agent, at(10, 30, 0, 0), at(11, 30, 0, 0), "cancelled").await?;
    book(&db, other_agent, at(10, 0, 0, 0), at(11, 0, 0, 0), "booked").await?;

    // Adjacent on either side (end == start) is allowed.
    book(&db, agent, at(11, 0, 0, 0), at(12, 0, 0, 0), "booked").await?;
    book(&db, agent, at(9, 0, 0, 0), at(10, 0, 0, 0), "booked").await?;

    // Sub-second precision (on SQLite this exercises the text ordering of
    // timestamps with and without fractional seconds).
    book(
        &db,
        agent,
        at(12, 0, 0, 500_000_000),
        at(12, 30, 0, 0),
        "booked",
    )
    .await?;
    expect_overlap(
        book(
            &db,
            agent,
            at(11, 59, 59, 999_000_000),
            at(12, 0, 0, 250_000_000),
            "booked",
        )
        .await,
        "ms overlap with the 11:00-12:00 slot",
    )?;
    book(
        &db,
        agent,
        at(12, 0, 0, 0),
        at(12, 0, 0, 500_000_000),
        "booked",
    )
    .await?;
    book(&db, agent, at(13, 0, 0, 0), at(14, 0, 0, 0), "booked").await?;
    book(&db, agent, at(14, 0, 0, 1_000), at(15, 0, 0, 0), "booked").await?;
    expect_overlap(
        book(
            &db,
            agent,
            at(12, 59, 59, 500_000_000),
            at(13, 0, 0, 1_000),
            "booked",
        )
        .await,
        "µs overlap into 13:00",
    )?;
    expect_overlap(
        book(&db, agent, at(14, 0, 0, 0), at(14, 0, 0, 2_000), "booked").await,
        "µs overlap into 14:00:00.000001",
    )?;
    book(&db, agent, at(14, 0, 0, 0), at(14, 0, 0, 1_000), "booked").await?;

    // Updates are guarded too: re-booking the cancelled overlapping slot fails…
    let mut am: appointments::ActiveModel = cancelled.into();
    am.status = Set("booked".into());
    expect_overlap(am.update(&db).await.map(drop), "update cancelled → booked")?;
    // …but changing a booked row without creating an overlap (it only
    // "overlaps" its own old interval) succeeds.
    let mut am: appointments::ActiveModel = first.into();
    am.ends_at = Set(at(10, 50, 0, 0));
    am.update(&db).await.context("shrink own interval")?;

    // The latest booked appointment starting before a new one is found past cancelled rows
    // and is what the new one collides with when it reaches into it (the SQLite triggers look
    // only there and inside the new interval).
    book(&db, agent, at(16, 0, 0, 0), at(18, 0, 0, 0), "booked").await?;
    book(&db, agent, at(16, 30, 0, 0), at(16, 45, 0, 0), "cancelled").await?;
    expect_overlap(
        book(&db, agent, at(17, 0, 0, 0), at(17, 30, 0, 0), "booked").await,
        "inside a longer earlier one, past a cancelled row",
    )?;
    let later = book(&db, agent, at(18, 0, 0, 0), at(18, 30, 0, 0), "booked").await?;
    let mut am: appointments::ActiveModel = later.into();
    am.starts_at = Set(at(17, 45, 0, 0));
    expect_overlap(
        am.update(&db).await.map(drop),
        "moved into a longer earlier one",
    )?;
    // The embedded calendar's busy times bound their scan the same way and still see it.
    let busy = EmbeddedCalendar::new(db.clone(), agent)
        .busy(at(17, 0, 0, 0), at(17, 30, 0, 0))
        .await?;
    ensure!(
        busy.iter().map(|b| (b.start, b.end)).collect::<Vec<_>>()
            == vec![(at(16, 0, 0, 0), at(18, 0, 0, 0))],
        "busy times inside a longer earlier appointment: {busy:?}"
    );

    // starts_at must be before ends_at.
    let err = book(&db, agent, at(20, 0, 0, 0), at(20, 0, 0, 0), "booked")
        .await
        .err()
        .context("empty interval accepted")?;
    ensure!(
        err.to_string().contains("appointments_valid_range") || err.to_string().contains("CHECK"),
        "unexpected error for empty interval: {err}"
    );
    Ok(())
}

async fn ledger_idempotency(db: DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(&db, None).await?;
    let user = insert_user(&db).await?;
    insert_ledger(&db, user, "usage:call-1").await?;
    let err = insert_ledger(&db, user, "usage:call-1")
        .await
        .err()
        .context("duplicate idempotency_key accepted")?;
    ensure!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "expected a unique violation, got {err}"
    );
    insert_ledger(&db, user, "usage:call-2").await?;
    let rows = credit_ledger::Entity::find().all(&db).await?;
    ensure!(
        rows.len() == 2,
        "expected 2 ledger rows, got {}",
        rows.len()
    );
    Ok(())
}

/// SQLite only: the stored text of `DateTime<Utc>` has the fixed shape the
/// overlap triggers rely on, and round-trips.
async fn sqlite_timestamp_format(db: DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(&db, None).await?;
    let user = insert_user(&db).await?;
    let agent = insert_agent(&db, user).await?;
    let a = book(
        &db,
        agent,
        at(8, 0, 0, 0),
        at(8, 30, 0, 123_000_000),
        "booked",
    )
    .await?;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT starts_at, ends_at, typeof(starts_at) AS t FROM appointments WHERE id = ?",
            [a.id.into()],
        ))
        .await?
        .context("row")?;
    let starts: String = row.try_get("", "starts_at")?;
    let ends: String = row.try_get("", "ends_at")?;
    let ty: String = row.try_get("", "t")?;
    ensure!(ty == "text", "timestamps stored as {ty}");
    ensure!(
        starts == "2026-11-21T08:00:00+00:00",
        "unexpected format {starts}"
    );
    ensure!(
        ends == "2026-11-21T08:30:00.123+00:00",
        "unexpected format {ends}"
    );
    let back = appointments::Entity::find_by_id(a.id)
        .one(&db)
        .await?
        .context("reload")?;
    ensure!(back == a, "round trip changed the row: {back:?} vs {a:?}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn at(h: u32, m: u32, s: u32, nanos: u32) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(2026, 11, 21, h, m, s)
        .single()
        .expect("valid time");
    base + chrono::Duration::nanoseconds(i64::from(nanos))
}

/// PostgreSQL keeps microseconds; truncate so models compare equal.
fn now() -> DateTime<Utc> {
    let n = Utc::now();
    n - chrono::Duration::nanoseconds(i64::from(n.timestamp_subsec_nanos() % 1_000))
}

async fn insert_user(db: &DatabaseConnection) -> Result<Uuid, DbErr> {
    let id = Uuid::new_v4();
    // Without RETURNING: the backfill test inserts users before the admission migration added
    // the columns the entity knows.
    users::Entity::insert(users::ActiveModel {
        id: Set(id),
        email: Set(format!("{}@example.test", id.simple())),
        name: Set("Test User".into()),
        credit_balance: Set(1_000),
        grace_credits_used: Set(0),
        grace_credits_limit: Set(100),
        low_balance_threshold: Set(50),
        low_balance_notified: Set(false),
        timezone: Set("Europe/Berlin".into()),
        locale: Set("de-DE".into()),
        active: Set(true),
        max_concurrent_calls: sea_orm::ActiveValue::NotSet,
        fallback_number: sea_orm::ActiveValue::NotSet,
        min_call_credits: sea_orm::ActiveValue::NotSet,
        created_at: Set(now()),
        updated_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

async fn insert_agent(db: &DatabaseConnection, user_id: Uuid) -> Result<Uuid, DbErr> {
    let id = Uuid::new_v4();
    agents::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        name: Set("Front desk".into()),
        vapi_assistant_id: Set(format!("asst_{}", id.simple())),
        business_name: Set("Salon".into()),
        greeting: Set("Hello!".into()),
        system_prompt: Set("You are a receptionist.".into()),
        voice: Set(Some(
            serde_json::json!({"provider": "11labs", "voiceId": "x"}),
        )),
        language: Set("de".into()),
        timezone: Set("Europe/Berlin".into()),
        appointment_duration_minutes: Set(30),
        business_hours: Set(serde_json::json!({"mon": [["09:00", "17:00"]]})),
        calendar_provider: Set("embedded".into()),
        calendar_config: Set(None),
        active: Set(true),
        created_at: Set(now()),
        updated_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(id)
}

async fn book(
    db: &DatabaseConnection,
    agent_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    status: &str,
) -> Result<appointments::Model, DbErr> {
    let id = Uuid::new_v4();
    appointments::ActiveModel {
        id: Set(id),
        agent_id: Set(agent_id),
        call_id: Set(None),
        calendar_event_id: Set(None),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        timezone: Set("Europe/Berlin".into()),
        status: Set(status.into()),
        customer_name: Set("Erika Mustermann".into()),
        customer_phone: Set(Some("+4930123456".into())),
        customer_email: Set(None),
        notes: Set(None),
        idempotency_key: Set(format!("book:{id}")),
        created_at: Set(now()),
        updated_at: Set(now()),
        email_failed_at: Set(None),
        email_error: Set(None),
        caller_number: Set(None),
    }
    .insert(db)
    .await
}

async fn insert_ledger(db: &DatabaseConnection, user_id: Uuid, key: &str) -> Result<(), DbErr> {
    credit_ledger::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        kind: Set("usage".into()),
        amount: Set(-10),
        balance_after: Set(990),
        grace_used: Set(0),
        call_id: Set(None),
        idempotency_key: Set(key.into()),
        note: Set(None),
        created_at: Set(now()),
    }
    .insert(db)
    .await
    .map(drop)
}

fn expect_overlap<T: std::fmt::Debug>(result: Result<T, DbErr>, what: &str) -> anyhow::Result<()> {
    match result {
        Ok(v) => bail!("{what}: overlapping booking accepted: {v:?}"),
        Err(err)
            if err
                .to_string()
                .contains(callsaga_entity::APPOINTMENTS_NO_OVERLAP) =>
        {
            Ok(())
        }
        Err(err) => bail!(
            "{what}: expected {}, got {err}",
            callsaga_entity::APPOINTMENTS_NO_OVERLAP
        ),
    }
}

/// Rows booked before `appointments.caller_number` get their call's verified number; a row
/// without a call stays without one (it is then matched by its contact number only).
async fn caller_number_backfill(db: DatabaseConnection) -> anyhow::Result<()> {
    let before_caller_number = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261204_000008_appointment_caller")
        .context("the caller_number migration")?;
    Migrator::up(&db, Some(u32::try_from(before_caller_number)?)).await?;
    let user_id = insert_user(&db).await?;
    let agent_id = insert_agent(&db, user_id).await?;
    let call_id = Uuid::new_v4();
    calls::Entity::insert(calls::ActiveModel {
        id: Set(call_id),
        vapi_call_id: Set(format!("vapi-{call_id}")),
        customer_number: Set(Some("+4915112345678".into())),
        status: Set("ended".into()),
        report_missing: Set(false),
        workflow_id: Set(format!("call-vapi-{call_id}")),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    })
    .exec_without_returning(&db)
    .await?;
    // The entity knows the new column; these inserts leave it out.
    let old_row = |id: Uuid, call: Option<Uuid>, hour: u32| appointments::ActiveModel {
        id: Set(id),
        agent_id: Set(agent_id),
        call_id: Set(call),
        starts_at: Set(at(hour, 0, 0, 0)),
        ends_at: Set(at(hour, 30, 0, 0)),
        timezone: Set("Europe/Berlin".into()),
        status: Set("booked".into()),
        customer_name: Set("Anna".into()),
        customer_phone: Set(Some("+4917000000000".into())),
        idempotency_key: Set(format!("book:{id}")),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    };
    let (with_call, without_call) = (Uuid::new_v4(), Uuid::new_v4());
    for row in [
        old_row(with_call, Some(call_id), 9),
        old_row(without_call, None, 10),
    ] {
        appointments::Entity::insert(row)
            .exec_without_returning(&db)
            .await?;
    }
    Migrator::up(&db, None).await?;
    let caller = |id| {
        let db = db.clone();
        async move {
            anyhow::Ok(
                appointments::Entity::find_by_id(id)
                    .one(&db)
                    .await?
                    .context("row")?
                    .caller_number,
            )
        }
    };
    ensure!(caller(with_call).await?.as_deref() == Some("+4915112345678"));
    ensure!(caller(without_call).await?.is_none());
    Ok(())
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn sqlite_up_down_up() -> anyhow::Result<()> {
    with_sqlite(up_down_up).await
}

#[tokio::test]
async fn postgres_up_down_up() -> anyhow::Result<()> {
    with_postgres("postgres_up_down_up", up_down_up).await
}

#[tokio::test]
async fn sqlite_appointments_no_overlap() -> anyhow::Result<()> {
    with_sqlite(overlap).await
}

#[tokio::test]
async fn postgres_appointments_no_overlap() -> anyhow::Result<()> {
    with_postgres("postgres_appointments_no_overlap", overlap).await
}

#[tokio::test]
async fn sqlite_ledger_idempotency_key_unique() -> anyhow::Result<()> {
    with_sqlite(ledger_idempotency).await
}

#[tokio::test]
async fn postgres_ledger_idempotency_key_unique() -> anyhow::Result<()> {
    with_postgres("postgres_ledger_idempotency_key_unique", ledger_idempotency).await
}

#[tokio::test]
async fn sqlite_timestamps_are_canonical_text() -> anyhow::Result<()> {
    with_sqlite(sqlite_timestamp_format).await
}

#[tokio::test]
async fn sqlite_caller_number_is_backfilled_from_the_call() -> anyhow::Result<()> {
    with_sqlite(caller_number_backfill).await
}

#[tokio::test]
async fn postgres_caller_number_is_backfilled_from_the_call() -> anyhow::Result<()> {
    with_postgres(
        "postgres_caller_number_is_backfilled_from_the_call",
        caller_number_backfill,
    )
    .await
}
