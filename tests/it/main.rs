//! The one integration-test binary.

mod helpers;
mod lifecycle;
mod migrations;
mod replay;
