//! `callsaga simulate` and `callsaga check`.
//!
//! `simulate` drives realistic calls in Vapi's webhook format against a running callsaga (or a
//! stack it spawns as separate processes, `--spawn`), the way Vapi sends them: status updates,
//! conversation updates carrying the whole conversation, tool calls, the end and the
//! end-of-call report seconds later, retried with the same body as Vapi's `backoffPlan` would.
//! Everything random comes from one seed, so a run can be repeated. It reports latencies, tool
//! answers, throughput and Temporal operations per call, then checks the invariants against the
//! database and Temporal. `check` runs the database invariants alone.

mod answers;
mod call;
mod clock;
mod faults;
pub mod invariants;
mod mail;
mod metrics_text;
mod options;
mod plan;
mod report;
mod run;
mod sender;
mod settle;
mod stack;
mod stats;
mod temporal_ops;
mod testservers;
mod vapi;

pub use answers::Outcome;
pub use options::{CheckArgs, FaultKind, SimulateArgs};
pub use run::{StackTools, check, simulate};
