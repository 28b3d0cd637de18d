//! The `callsaga` command line: one binary, one subcommand per role.

use crate::app::{App, Components};
use crate::devserver::{DevServer, DevServerOptions, default_temporal_bin};
use crate::settings::Settings;
use anyhow::Context;
use callsaga_migration::{Migrator, MigratorTrait};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "callsaga",
    version,
    about = "Durable back office for AI voice agents"
)]
pub struct Cli {
    /// TOML configuration file (default: ./callsaga.toml when present). Environment variables
    /// CALLSAGA_* override it, e.g. CALLSAGA_DATABASE_URL, CALLSAGA_TEMPORAL__ADDRESS.
    #[arg(long, global = true, env = "CALLSAGA_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process: Temporal dev server (child process, Web UI on :8233),
    /// migrated SQLite database, demo tenant, worker and API. Ctrl-C stops it all cleanly.
    Dev,
    /// The HTTP API and the inbox relay. Refuses to start on a database whose schema is not
    /// current (run `callsaga migrate up` first, or pass --migrate).
    Api {
        #[command(flatten)]
        start: StartArgs,
    },
    /// The Temporal worker (workflows and activities). Checks the schema like `api`.
    Worker {
        #[command(flatten)]
        start: StartArgs,
    },
    /// Database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Creates the demo tenant the Vapi samples belong to, or with --file the tenants of a
    /// YAML file (see tenants.example.yaml). Idempotent.
    Seed {
        /// Tenants to create or update (users, agents, phone numbers, escalation configs),
        /// upserted by email, assistant id and phone-number id.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// The webhook inbox: calls whose events ran out of delivery budget.
    Inbox {
        #[command(subcommand)]
        action: InboxAction,
    },
    /// Replays recorded workflow histories (files, or directories of *.json; SDK or
    /// `temporal workflow show --output json` format) against the current workflow code, e.g.
    /// `callsaga replay tests/histories`. Exits non-zero when any history does not replay.
    Replay {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Drives realistic Vapi calls against a running callsaga (or, with --spawn, a stack of
    /// separate processes it starts), with seeded faults; prints latencies, tool answers,
    /// Temporal operations per call and the invariant report. Exits non-zero when an invariant
    /// fails.
    Simulate(Box<callsaga_simulate::SimulateArgs>),
    /// The database part of the invariant report (books, charges, appointments, escalations,
    /// outbox, inbox) on the configured database. Exits non-zero when an invariant fails.
    Check(callsaga_simulate::CheckArgs),
    /// Billing of calls whose charge failed for good (`billing_status = billing_failed`).
    Billing {
        #[command(subcommand)]
        action: BillingAction,
    },
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Apply pending migrations before starting (on PostgreSQL under an advisory lock, so
    /// replicas starting at once migrate one after the other).
    #[arg(long)]
    pub migrate: bool,
}

#[derive(Debug, Subcommand)]
pub enum BillingAction {
    /// Bills the call again through the same idempotent ledger path, once the cause of the
    /// failure is fixed (it charges once however often it runs). Lists of failed calls:
    /// `GET /admin/v1/calls?billing_status=billing_failed`.
    Retry {
        /// Vapi's call id.
        vapi_call_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum InboxAction {
    /// Lists dead calls: last error, attempts, number of dead events.
    Dead,
    /// Delivers a dead call's events again, in order (once its cause is fixed).
    Redrive { vapi_call_id: String },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Applies all pending migrations.
    Up,
    /// Rolls back the last `steps` migrations (all with --all).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
        #[arg(long)]
        all: bool,
    },
    /// Lists migrations and whether each is applied.
    Status,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(settings.log_format);
    match cli.command {
        Command::Dev => dev(settings).await,
        Command::Api { start } => {
            serve(
                settings,
                Components {
                    api: true,
                    worker: false,
                    migrate: start.migrate,
                },
            )
            .await
        }
        Command::Worker { start } => {
            serve(
                settings,
                Components {
                    api: false,
                    worker: true,
                    migrate: start.migrate,
                },
            )
            .await
        }
        Command::Migrate { action } => migrate(settings, action).await,
        Command::Inbox { action } => inbox(settings, action).await,
        Command::Replay { paths } => crate::replay::run(&paths).await,
        Command::Simulate(args) => {
            let tools = callsaga_simulate::StackTools {
                callsaga_exe: std::env::current_exe().context("cannot find the callsaga binary")?,
                temporal_bin: settings
                    .dev
                    .temporal_bin
                    .clone()
                    .or_else(|| default_temporal_bin().ok()),
                search_attributes: crate::devserver::SEARCH_ATTRIBUTES
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned)
                    .collect(),
            };
            let passed = callsaga_simulate::simulate(*args, tools).await?;
            anyhow::ensure!(passed, "an invariant failed (see the report above)");
            Ok(())
        }
        Command::Check(args) => {
            let passed = callsaga_simulate::check(settings.database_url.expose(), args).await?;
            anyhow::ensure!(passed, "an invariant failed (see the report above)");
            Ok(())
        }
        Command::Billing {
            action: BillingAction::Retry { vapi_call_id },
        } => retry_billing(settings, &vapi_call_id).await,
        Command::Seed { file: Some(path) } => {
            let db = connect_current(&settings).await?;
            let r = crate::seed::from_file(&db, &path).await?;
            println!(
                "{}: {} rows created, {} updated, {} unchanged; initial credits granted to {} users",
                path.display(),
                r.created,
                r.updated,
                r.unchanged,
                r.credits_granted
            );
            Ok(())
        }
        Command::Seed { file: None } => {
            let db = connect_current(&settings).await?;
            let t = crate::seed::demo_tenant(&db).await?;
            println!(
                "demo tenant {}: user {} agent {} (assistant {})",
                if t.created {
                    "created"
                } else {
                    "already present"
                },
                t.user_id,
                t.agent_id,
                crate::seed::DEMO_ASSISTANT_ID
            );
            Ok(())
        }
    }
}

async fn serve(settings: Settings, components: Components) -> anyhow::Result<()> {
    let app = App::start(settings, components).await?;
    wait_for_ctrl_c().await;
    tracing::info!("shutting down");
    app.shutdown().await
}

async fn dev(mut settings: Settings) -> anyhow::Result<()> {
    let temporal_bin = match settings.dev.temporal_bin.clone() {
        Some(p) => p,
        None => default_temporal_bin()?,
    };
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("failed to create {}", settings.data_dir.display()))?;
    tracing::info!(data_dir = %settings.data_dir.display(), "starting Temporal dev server");
    let server = DevServer::start(DevServerOptions {
        temporal_bin,
        port: settings.dev.temporal_port,
        ui_port: Some(settings.dev.temporal_ui_port),
        db_file: Some(settings.data_dir.join("temporal.db")),
        die_with_parent: true,
    })
    .await?;
    settings.temporal.address = server.address.clone();
    settings.temporal.ui_url = format!("http://localhost:{}", settings.dev.temporal_ui_port);
    let ui = settings.temporal.ui_url.clone();

    let result = async {
        let db = crate::db::connect_and_migrate(&settings).await?;
        let tenant = crate::seed::demo_tenant(&db).await?;
        drop(db);
        let app = App::start(settings, Components { api: true, worker: true, migrate: true }).await?;
        println!(
            "\ncallsaga dev is running\n  API          {}\n  webhook      {}/webhooks/vapi\n  Temporal UI  {ui}/namespaces/default/workflows\n  demo agent   {} (assistant {})\n  Ctrl-C stops everything\n",
            app.base_url(),
            app.base_url(),
            tenant.agent_id,
            crate::seed::DEMO_ASSISTANT_ID,
        );
        wait_for_ctrl_c().await;
        tracing::info!("shutting down");
        app.shutdown().await
    }
    .await;
    server.stop().await?;
    result
}

async fn inbox(settings: Settings, action: InboxAction) -> anyhow::Result<()> {
    use crate::inbox::call_state;
    let db = connect_current(&settings).await?;
    match action {
        InboxAction::Dead => {
            let dead = call_state::dead_calls(&db, u64::MAX).await?;
            if dead.is_empty() {
                println!("no dead calls");
            }
            for c in dead {
                println!(
                    "{}  {} event(s)  {} attempt(s) ({} rejected)  failing since {}  dead at {}\n  last error: {}",
                    c.vapi_call_id,
                    c.events,
                    c.attempts,
                    c.rejections,
                    c.first_failed_at.to_rfc3339(),
                    c.dead_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    c.last_error.unwrap_or_default()
                );
            }
        }
        InboxAction::Redrive { vapi_call_id } => {
            match call_state::redrive(&db, &vapi_call_id).await? {
                Some(events) => println!(
                    "{vapi_call_id}: {events} event(s) back to pending; the relay delivers them in order"
                ),
                None => anyhow::bail!("call {vapi_call_id:?} has no dead events"),
            }
        }
    }
    Ok(())
}

/// A connection to a database whose schema is current (only `migrate up` and `dev` migrate).
async fn connect_current(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = crate::db::connect(settings).await?;
    crate::db::check_schema(&db).await?;
    Ok(db)
}

async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let db = crate::db::connect(&settings).await?;
    match action {
        MigrateAction::Up => crate::db::migrate_up(&db, &settings).await?,
        MigrateAction::Down { steps, all } => {
            Migrator::down(&db, if all { None } else { Some(steps) }).await?
        }
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(&db).await? {
                println!("{:<40} {:?}", m.name(), m.status());
            }
        }
    }
    Ok(())
}

async fn retry_billing(settings: Settings, vapi_call_id: &str) -> anyhow::Result<()> {
    let db = crate::db::connect(&settings).await?;
    let deps = crate::admin::billing::retry_deps(db, &settings)?;
    let retried = callsaga_activities::call_end::billing_retry::retry(&deps, vapi_call_id).await?;
    println!(
        "call {vapi_call_id}: {} ({} credits, ledger entry {})",
        retried.outcome.status,
        retried.outcome.charged,
        retried.outcome.ledger_entry_id.as_deref().unwrap_or("none")
    );
    if let Some(e) = retried.email_error {
        println!("the low-balance email was not sent: {e}");
    }
    Ok(())
}

async fn wait_for_ctrl_c() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = ctrl_c => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
