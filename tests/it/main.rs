//! The one integration-test binary.

mod activity_env;
mod admin;
mod billing;
mod calendar;
mod call_end;
mod caller_scope;
mod db_faults;
mod email;
mod escalation;
mod exposure;
mod gateway;
mod helpers;
mod histories;
mod http_hardening;
mod inbox_writer;
mod ledger;
mod lifecycle;
mod migrations;
mod relay_isolation;
mod replay;
mod request_bounds;
mod resilience;
mod simulate_check;
mod testservers;
mod tool_outage;
mod tools;
