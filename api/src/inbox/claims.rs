//! Per-call claims (`inbox_call_claims`) that let several relays share one inbox on PostgreSQL.
//!
//! A relay delivers a call's events only while it holds the call's claim: a row with its owner
//! id and a lease (`expires_at`, on the database's clock). Claiming is one `INSERT … ON
//! CONFLICT DO UPDATE … WHERE` statement: a free call is inserted, an expired claim or one the
//! relay holds already is taken over, a live claim of another relay is left alone (the
//! statement returns only the calls won). The unique key serialises two relays claiming the
//! same call; the loser re-checks the winner's committed row. A relay renews its claims while
//! it delivers and releases them after it has settled the rows, so a relay that dies (kill -9,
//! a lost host) holds its calls for at most one lease; after that any relay takes them over and
//! delivers their events (still `pending`) in order. A relay that is only slow past its lease
//! may deliver a batch a second time beside its successor: the workflow applies each inbox id
//! once, in id order.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// One relay's identity and lease.
#[derive(Debug, Clone)]
pub struct Claims {
    owner: String,
    lease: Duration,
}

impl Claims {
    /// A fresh owner id for this process's relay.
    pub fn new(lease: Duration) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            owner: format!("{}-{}", std::process::id(), &random[..12]),
            lease,
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn lease_secs(&self) -> Value {
        Value::from(self.lease.as_secs_f64())
    }

    /// Claims those of `calls` that are free, expired or already ours; returns the ones that
    /// are ours now (with a fresh lease).
    pub async fn claim(
        &self,
        db: &impl ConnectionTrait,
        calls: &[&str],
    ) -> Result<BTreeSet<String>, DbErr> {
        if calls.is_empty() {
            return Ok(BTreeSet::new());
        }
        let rows: Vec<String> = (0..calls.len())
            .map(|i| format!("(${}, $1, now() + make_interval(secs => $2))", i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO inbox_call_claims (vapi_call_id, owner, expires_at) VALUES {} \
             ON CONFLICT (vapi_call_id) DO UPDATE \
               SET owner = excluded.owner, expires_at = excluded.expires_at \
               WHERE inbox_call_claims.owner = excluded.owner \
                  OR inbox_call_claims.expires_at < now() \
             RETURNING vapi_call_id",
            rows.join(", ")
        );
        let mut values = vec![Value::from(self.owner.clone()), self.lease_secs()];
        values.extend(calls.iter().map(|c| Value::from(*c)));
        let won = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?;
        won.iter()
            .map(|row| row.try_get::<String>("", "vapi_call_id"))
            .collect()
    }

    /// Extends the lease of every claim this relay holds; returns how many it holds.
    pub async fn renew(&self, db: &impl ConnectionTrait) -> Result<u64, DbErr> {
        let done = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE inbox_call_claims SET expires_at = now() + make_interval(secs => $2) \
                 WHERE owner = $1",
                [Value::from(self.owner.clone()), self.lease_secs()],
            ))
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives up this relay's claims on `calls` (after their rows were settled).
    pub async fn release(&self, db: &impl ConnectionTrait, calls: &[String]) -> Result<(), DbErr> {
        if calls.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (0..calls.len()).map(|i| format!("${}", i + 2)).collect();
        let mut values = vec![Value::from(self.owner.clone())];
        values.extend(calls.iter().map(|c| Value::from(c.clone())));
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "DELETE FROM inbox_call_claims WHERE owner = $1 AND vapi_call_id IN ({})",
                placeholders.join(", ")
            ),
            values,
        ))
        .await?;
        Ok(())
    }

    /// Gives up every claim of this relay (at shutdown).
    pub async fn release_all(&self, db: &impl ConnectionTrait) -> Result<u64, DbErr> {
        let done = db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "DELETE FROM inbox_call_claims WHERE owner = $1",
                [Value::from(self.owner.clone())],
            ))
            .await?;
        Ok(done.rows_affected())
    }
}

/// The oldest pending events of calls no other relay holds a live claim on, in arrival order
/// (the shared-inbox form of [`super::pending`]: relays spread over the calls instead of all
/// reading the same rows).
pub async fn pending_unclaimed(
    db: &impl ConnectionTrait,
    owner: &str,
    limit: u64,
) -> Result<Vec<super::PendingEvent>, DbErr> {
    let sql = "SELECT w.id, w.vapi_call_id, w.message_type, w.attempts, w.next_attempt_at, \
                      w.received_at, w.event_at \
               FROM webhook_inbox w \
               WHERE w.status = $1 AND NOT EXISTS ( \
                 SELECT 1 FROM inbox_call_claims c \
                 WHERE c.vapi_call_id = w.vapi_call_id AND c.owner <> $2 AND c.expires_at > now()) \
               ORDER BY w.id LIMIT $3";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    super::PendingEvent::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [
            Value::from(super::PENDING),
            Value::from(owner.to_owned()),
            Value::from(limit),
        ],
    ))
    .all(db)
    .await
}
