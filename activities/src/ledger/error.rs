//! [`LedgerError`]: what a ledger operation can fail with, classified for Temporal.

use crate::failure::{permanent, transient};
use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};
use temporalio_sdk::activities::ActivityError;
use uuid::Uuid;

/// Why a ledger operation did not happen. Nothing was written in any case: every operation is
/// one transaction.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The request itself is wrong (amount out of range, empty key). Permanent.
    #[error("invalid ledger request: {0}")]
    Invalid(String),
    /// Permanent.
    #[error("user {0} not found")]
    UserNotFound(Uuid),
    /// The entry references a call that does not exist. Permanent.
    #[error("call {0} not found")]
    CallNotFound(Uuid),
    /// The idempotency key is already used by an entry of another user, kind, call or
    /// direction: a bug in how the caller derives keys, never a retry. Permanent.
    #[error("idempotency key {key:?} already used by a different ledger entry")]
    KeyConflict { key: String },
    /// The database is busy, locked, unreachable or the pool is exhausted. Transient: retry.
    #[error("database unavailable")]
    Unavailable(#[source] DbErr),
    /// Any other database error. Retried too: a charge must not be dropped because of an
    /// error nobody classified, and the operation is idempotent; the activity's retry policy
    /// bounds the attempts.
    #[error("database error")]
    Database(#[source] DbErr),
}

impl LedgerError {
    /// Whether retrying the same request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Database(_))
    }

    /// The failure type name workflows match on for permanent errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "LedgerInvalidRequest",
            Self::UserNotFound(_) => "LedgerUserNotFound",
            Self::CallNotFound(_) => "LedgerCallNotFound",
            Self::KeyConflict { .. } => "LedgerKeyConflict",
            Self::Unavailable(_) => "LedgerUnavailable",
            Self::Database(_) => "LedgerDatabaseError",
        }
    }

    /// Classifies a database error: busy, locked and connection-level errors are
    /// [`Unavailable`](Self::Unavailable), the rest [`Database`](Self::Database).
    pub(super) fn from_db(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Database(err)
        }
    }
}

impl LedgerError {
    /// The activity failure for this error: transient ones are retried by Temporal, permanent
    /// ones fail at once with [`type_name`](Self::type_name). (`?` alone would make every error
    /// retryable: `ActivityError` converts from anything that is an `anyhow::Error`.)
    pub fn into_activity_error(self) -> ActivityError {
        if self.is_transient() {
            transient(self)
        } else {
            permanent(self.type_name(), self.to_string())
        }
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_unavailable(e)
        }
        _ => false,
    }
}

fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_code_unavailable(&code)
            } else if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                pg_code_unavailable(&code)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// SQLite reports extended result codes; the primary code is the low byte. BUSY (5) and LOCKED
/// (6) — including BUSY_SNAPSHOT and BUSY_TIMEOUT — pass when the other writer is done; IOERR
/// (10) and CANTOPEN (14) are the disk or file going away under us.
fn sqlite_code_unavailable(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xff, 5 | 6 | 10 | 14))
}

/// PostgreSQL SQLSTATEs worth retrying: serialization failure, deadlock, lock not available,
/// connection exceptions (class 08), insufficient resources (class 53) and operator
/// intervention (class 57: shutdown, crash, cannot connect now).
fn pg_code_unavailable(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | "55P03")
        || code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_busy_and_locked_are_unavailable() {
        for code in ["5", "6", "261", "517", "773", "262", "10", "14"] {
            assert!(sqlite_code_unavailable(code), "{code}");
        }
        for code in ["19", "2067", "787", "1", "x"] {
            assert!(!sqlite_code_unavailable(code), "{code}");
        }
    }

    #[test]
    fn pg_transient_states() {
        for code in ["40001", "40P01", "55P03", "08006", "53300", "57P01"] {
            assert!(pg_code_unavailable(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22P02"] {
            assert!(!pg_code_unavailable(code), "{code}");
        }
    }

    #[test]
    fn classification_for_temporal() {
        let pool = LedgerError::from_db(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert!(matches!(pool, LedgerError::Unavailable(_)));
        assert!(pool.is_transient());
        let other = LedgerError::from_db(DbErr::Custom("boom".into()));
        assert!(matches!(other, LedgerError::Database(_)));
        assert!(other.is_transient());
        for permanent in [
            LedgerError::Invalid("amount".into()),
            LedgerError::UserNotFound(Uuid::nil()),
            LedgerError::CallNotFound(Uuid::nil()),
            LedgerError::KeyConflict { key: "k".into() },
        ] {
            assert!(!permanent.is_transient(), "{permanent}");
        }
        assert_eq!(
            LedgerError::UserNotFound(Uuid::nil()).type_name(),
            "LedgerUserNotFound"
        );
    }
}
