//! The one integration-test binary.

mod activity_env;
mod admin;
mod billing;
mod calendar;
mod email;
mod escalation;
mod gateway;
mod helpers;
mod histories;
mod inbox_writer;
mod ledger;
mod lifecycle;
mod migrations;
mod replay;
mod resilience;
mod testservers;
mod tool_outage;
mod tools;
