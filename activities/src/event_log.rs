//! `event_log` rows written at most once per key: a retried or replayed activity finds its own
//! earlier row instead of adding another.

use callsaga_entity::event_log;
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// `event_log.kind` of an inbox event that failed for good and was skipped; `data` holds the
/// `inbox_id`, the `failure_type` and its `message`.
pub const EVENT_SKIPPED: &str = "call.event_skipped";
/// `event_log.kind` of a charge that failed for good (`calls.billing_status = billing_failed`).
pub const BILLING_FAILED: &str = "billing.failed";
/// `event_log.kind` of a failed charge billed again by `callsaga billing retry`.
pub const BILLING_RETRIED: &str = "billing.retried";
/// `event_log.kind` of another end-of-call step that failed for good (settling escalations,
/// the watchdog's close, the low-balance email); `data.step` names it.
pub const STEP_FAILED: &str = "call_end.step_failed";
/// `event_log.kind` of a reported duration that was not trusted: `data` holds the `reason`
/// (`contradicts_timestamps` or `exceeds_max_call`), the `reported_ms`, the `timestamps_ms` and
/// the `billed_ms`.
pub const DURATION_CORRECTED: &str = "billing.duration_corrected";

/// One `event_log` row.
pub struct Entry<'a> {
    /// Identifies the row: the same key never writes a second one.
    pub key: &'a str,
    pub user_id: Option<Uuid>,
    pub call_id: Option<Uuid>,
    pub kind: &'a str,
    pub data: serde_json::Value,
}

/// Inserts `entry` unless a row with its key exists; true when this call wrote it.
pub async fn log_once(db: &impl ConnectionTrait, entry: Entry<'_>) -> Result<bool, DbErr> {
    let inserted = event_log::Entity::insert(event_log::ActiveModel {
        id: Set(id_for(entry.key)),
        user_id: Set(entry.user_id),
        call_id: Set(entry.call_id),
        kind: Set(entry.kind.to_owned()),
        data: Set(entry.data),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(event_log::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted > 0)
}

/// The row id of `key`: the first 16 bytes of its SHA-256.
fn id_for(key: &str) -> Uuid {
    let digest = Sha256::digest(format!("event_log:{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_per_key() {
        assert_eq!(id_for("a:1"), id_for("a:1"));
        assert_ne!(id_for("a:1"), id_for("a:2"));
    }
}
