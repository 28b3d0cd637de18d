//! The HTTP server under the router: our own accept loop (connection limit, header-read and
//! idle timeouts, graceful shutdown), the client address behind trusted proxies, and load
//! shedding per route class. `axum::serve` has none of these knobs.

mod accept;
pub mod client_ip;
pub mod shed;
mod watchdog;

pub use accept::serve;
