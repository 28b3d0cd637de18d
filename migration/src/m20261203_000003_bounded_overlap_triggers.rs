//! SQLite: the `appointments_no_overlap` triggers look only near the new interval.
//!
//! The first triggers asked for any booked appointment of the agent with
//! `starts_at < NEW.ends_at AND NEW.starts_at < ends_at`. The index on `(agent_id, starts_at)`
//! bounds that only from above, so every booking scanned all of the agent's earlier
//! appointments: its cost grew with the agent's history. Booked appointments of one agent never
//! overlap (these triggers see to it) and are never empty (`appointments_valid_range`), so an
//! existing one overlaps the new interval exactly when it starts inside it, or when it is the
//! latest one starting before it and ends after the new start. Both are index ranges. The
//! rule itself is unchanged. PostgreSQL enforces it with an exclusion constraint (a GiST
//! index) and needs nothing here.

use crate::m20261121_000001_initial::{
    SQLITE_OVERLAP_INSERT_TRIGGER, SQLITE_OVERLAP_UPDATE_TRIGGER,
};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const DROP_TRIGGERS: [&str; 2] = [
    "DROP TRIGGER IF EXISTS appointments_no_overlap_insert",
    "DROP TRIGGER IF EXISTS appointments_no_overlap_update",
];

const BOUNDED_INSERT_TRIGGER: &str = "
CREATE TRIGGER appointments_no_overlap_insert
BEFORE INSERT ON appointments
FOR EACH ROW
WHEN NEW.status = 'booked'
BEGIN
    SELECT RAISE(ABORT, 'appointments_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments AS a
        WHERE a.agent_id = NEW.agent_id
          AND a.status = 'booked'
          AND a.starts_at >= NEW.starts_at
          AND a.starts_at < NEW.ends_at
    ) OR EXISTS (
        SELECT 1 FROM (
            SELECT a.ends_at FROM appointments AS a
            WHERE a.agent_id = NEW.agent_id
              AND a.status = 'booked'
              AND a.starts_at < NEW.starts_at
            ORDER BY a.starts_at DESC
            LIMIT 1
        ) AS latest
        WHERE latest.ends_at > NEW.starts_at
    );
END";

const BOUNDED_UPDATE_TRIGGER: &str = "
CREATE TRIGGER appointments_no_overlap_update
BEFORE UPDATE OF id, agent_id, starts_at, ends_at, status ON appointments
FOR EACH ROW
WHEN NEW.status = 'booked'
BEGIN
    SELECT RAISE(ABORT, 'appointments_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments AS a
        WHERE a.id <> OLD.id
          AND a.agent_id = NEW.agent_id
          AND a.status = 'booked'
          AND a.starts_at >= NEW.starts_at
          AND a.starts_at < NEW.ends_at
    ) OR EXISTS (
        SELECT 1 FROM (
            SELECT a.ends_at FROM appointments AS a
            WHERE a.id <> OLD.id
              AND a.agent_id = NEW.agent_id
              AND a.status = 'booked'
              AND a.starts_at < NEW.starts_at
            ORDER BY a.starts_at DESC
            LIMIT 1
        ) AS latest
        WHERE latest.ends_at > NEW.starts_at
    );
END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_triggers(manager, [BOUNDED_INSERT_TRIGGER, BOUNDED_UPDATE_TRIGGER]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace_triggers(
            manager,
            [SQLITE_OVERLAP_INSERT_TRIGGER, SQLITE_OVERLAP_UPDATE_TRIGGER],
        )
        .await
    }
}

async fn replace_triggers(manager: &SchemaManager<'_>, create: [&str; 2]) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = manager.get_connection();
    for sql in DROP_TRIGGERS.into_iter().chain(create) {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}
