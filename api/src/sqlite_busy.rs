//! A SQLite busy handler for many short concurrent writers.
//!
//! SQLite has one writer at a time. With `busy_timeout` a connection that finds the write lock
//! taken sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between attempts, so under
//! load (64 webhooks committing at once, 32 booking sagas) a write that lost the race once waits
//! tens of milliseconds for a lock that is held for well under one. This handler retries on a
//! fine schedule instead: yield a few times, then sleep 50 µs, backing off to 1 ms, and give up
//! (`SQLITE_BUSY`) after the same total budget `busy_timeout` had.
//!
//! It runs on the connection's own sqlx worker thread, so sleeping blocks no async task.

use libsqlite3_sys::{SQLITE_OK, sqlite3, sqlite3_busy_handler};
use std::ffi::{c_int, c_void};
use std::ptr::NonNull;
use std::time::Duration;

/// Total time a writer waits for the lock before the statement fails with "database is locked".
pub const BUDGET: Duration = Duration::from_secs(10);

/// How long to wait before retry number `attempt` (0-based); `None` once the budget is spent.
pub fn delay(attempt: u32) -> Option<Duration> {
    const YIELDS: u32 = 4;
    const MAX: Duration = Duration::from_millis(1);
    if attempt < YIELDS {
        return Some(Duration::ZERO);
    }
    let n = attempt - YIELDS;
    // 50 µs doubling to 1 ms (after 5 sleeps), then 1 ms per attempt.
    let ramp: Duration = (0..n.min(5)).map(|i| Duration::from_micros(50 << i)).sum();
    let flat = MAX * n.saturating_sub(5);
    let spent = ramp + flat;
    if spent >= BUDGET {
        return None;
    }
    Some(Duration::from_micros(50 << n.min(5)).min(MAX))
}

extern "C" fn on_busy(_arg: *mut c_void, attempt: c_int) -> c_int {
    match delay(u32::try_from(attempt).unwrap_or(0)) {
        Some(d) if d.is_zero() => {
            std::thread::yield_now();
            1
        }
        Some(d) => {
            std::thread::sleep(d);
            1
        }
        None => 0,
    }
}

/// Installs the handler on a raw connection (replacing `busy_timeout`, which sqlx set).
pub fn install(db: NonNull<sqlite3>) -> Result<(), String> {
    // SAFETY: `db` is a live connection handle borrowed from sqlx's `LockedSqliteHandle`, so no
    // other thread uses it during the call; `on_busy` is a plain function that ignores its
    // (null) argument, never unwinds, and stays valid for the life of the program.
    #[expect(unsafe_code, reason = "sqlx has no safe API for a custom busy handler")]
    let rc = unsafe { sqlite3_busy_handler(db.as_ptr(), Some(on_busy), std::ptr::null_mut()) };
    if rc == SQLITE_OK {
        Ok(())
    } else {
        Err(format!("sqlite3_busy_handler failed with code {rc}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_first_then_sleeps_briefly_and_gives_up_after_the_budget() {
        assert_eq!(delay(0), Some(Duration::ZERO));
        assert_eq!(delay(3), Some(Duration::ZERO));
        assert_eq!(delay(4), Some(Duration::from_micros(50)));
        assert_eq!(delay(5), Some(Duration::from_micros(100)));
        assert_eq!(delay(9), Some(Duration::from_millis(1)));
        let mut total = Duration::ZERO;
        let mut attempt = 0;
        while let Some(d) = delay(attempt) {
            total += d;
            attempt += 1;
        }
        assert!(total >= BUDGET - Duration::from_millis(2), "{total:?}");
        assert!(total <= BUDGET + Duration::from_millis(2), "{total:?}");
    }
}
