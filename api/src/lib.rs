//! The callsaga service: HTTP API (Vapi webhook gateway), the inbox relay, the Temporal worker
//! and the `dev` supervisor, composed in [`app::App`].

pub mod admin;
pub mod app;
pub mod cli;
pub mod db;
pub mod devserver;
pub mod error;
pub mod exposure;
pub mod fuzzing;
pub mod inbox;
pub mod live_calls;
pub mod metrics;
pub mod ratelimit;
pub mod readiness;
pub mod relay;
pub mod replay;
pub mod secret;
pub mod seed;
pub mod server;
pub mod settings;
pub mod single_process;
pub mod sqlite_busy;
pub mod state;
pub mod telemetry;
pub mod temporal;
pub mod temporal_rpcs;
pub mod vapi;
pub mod webhook;

pub use app::{App, Components, router};
pub use settings::Settings;
