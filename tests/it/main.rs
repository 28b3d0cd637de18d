//! The one integration-test binary.

mod calendar;
mod email;
mod gateway;
mod helpers;
mod ledger;
mod lifecycle;
mod migrations;
mod replay;
mod resilience;
mod tools;
