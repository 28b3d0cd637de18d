//! Initial schema: every table of callsaga.
//!
//! Notes on portability:
//! - UUIDs are `uuid` on PostgreSQL; on SQLite sea-orm/sqlx bind them as
//!   16-byte blobs.
//! - `timestamp_with_time_zone` is `timestamptz` on PostgreSQL and text on
//!   SQLite. sqlx writes `DateTime<Utc>` to SQLite as RFC 3339 with a
//!   `+00:00` offset and 0/3/6/9 fractional digits (`SecondsFormat::AutoSi`).
//!   That canonical form sorts lexicographically in time order (`+` sorts
//!   below every digit and below `.`), which the SQLite overlap triggers rely
//!   on. Timestamps must therefore only be written through sea-orm/sqlx
//!   (never `CURRENT_TIMESTAMP` or hand-formatted strings).
//! - JSON columns are `jsonb` on PostgreSQL and text on SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    CreditBalance,
    GraceCreditsUsed,
    GraceCreditsLimit,
    LowBalanceThreshold,
    LowBalanceNotified,
    Timezone,
    Locale,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    UserId,
    Name,
    VapiAssistantId,
    BusinessName,
    Greeting,
    SystemPrompt,
    Voice,
    Language,
    Timezone,
    AppointmentDurationMinutes,
    BusinessHours,
    CalendarProvider,
    CalendarConfig,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PhoneNumbers {
    Table,
    Id,
    VapiPhoneNumberId,
    AgentId,
    Number,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EscalationConfigs {
    Table,
    Id,
    AgentId,
    Enabled,
    ForwardingNumbers,
    TransferMode,
    OperatorEmail,
    BusinessHours,
    Timezone,
    ShareSummary,
    ShareTranscript,
    TriggerSettings,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
    VapiCallId,
    AgentId,
    UserId,
    Direction,
    CustomerNumber,
    Status,
    StartedAt,
    EndedAt,
    DurationMs,
    EndedReason,
    Transcript,
    Summary,
    RecordingUrl,
    VapiCost,
    ChargedCredits,
    BillingStatus,
    ReportMissing,
    EscalationStatus,
    WorkflowId,
    LastEventAt,
    ReportReceivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
    AgentId,
    CallId,
    CalendarEventId,
    StartsAt,
    EndsAt,
    Timezone,
    Status,
    CustomerName,
    CustomerPhone,
    CustomerEmail,
    Notes,
    IdempotencyKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CreditLedger {
    Table,
    Id,
    UserId,
    Kind,
    Amount,
    BalanceAfter,
    GraceUsed,
    CallId,
    IdempotencyKey,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EscalationLogs {
    Table,
    Id,
    CallId,
    AgentId,
    Reason,
    Urgency,
    Summary,
    Status,
    TransferNumber,
    TransferMode,
    FailureReason,
    IdempotencyKey,
    Notes,
    CreatedAt,
    UpdatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum EventLog {
    #[sea_orm(iden = "event_log")]
    Table,
    Id,
    UserId,
    CallId,
    Kind,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookInbox {
    #[sea_orm(iden = "webhook_inbox")]
    Table,
    Id,
    VapiCallId,
    MessageType,
    BodySha256,
    Payload,
    ReceivedAt,
    EventAt,
    Status,
    Attempts,
    NextAttemptAt,
    DeliveredAt,
    LastError,
}

/// `created_at` / `updated_at`, both NOT NULL, no server default (the
/// application always sets them, see the module docs on SQLite formats).
fn ts(col: impl IntoIden) -> ColumnDef {
    timestamp_with_time_zone(col)
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    timestamp_with_time_zone_null(col)
}

fn fk(
    name: &str,
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(c);
    }
    stmt.to_owned()
}

pub(crate) const SQLITE_OVERLAP_INSERT_TRIGGER: &str = "
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
          AND a.starts_at < NEW.ends_at
          AND NEW.starts_at < a.ends_at
    );
END";

pub(crate) const SQLITE_OVERLAP_UPDATE_TRIGGER: &str = "
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
          AND a.starts_at < NEW.ends_at
          AND NEW.starts_at < a.ends_at
    );
END";

const PG_OVERLAP_CONSTRAINT: &str = "
ALTER TABLE appointments
    ADD CONSTRAINT appointments_no_overlap
    EXCLUDE USING gist (
        agent_id WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status = 'booked')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// Run inside one transaction on both engines (SQLite DDL is
    /// transactional too), so a failed migration leaves nothing behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();

        // ---- users -------------------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Name))
                    .col(big_integer(Users::CreditBalance))
                    .col(big_integer(Users::GraceCreditsUsed).default(0))
                    .col(big_integer(Users::GraceCreditsLimit).default(0))
                    .col(big_integer(Users::LowBalanceThreshold).default(0))
                    .col(boolean(Users::LowBalanceNotified).default(false))
                    .col(string(Users::Timezone))
                    .col(string(Users::Locale))
                    .col(boolean(Users::Active).default(true))
                    .col(ts(Users::CreatedAt))
                    .col(ts(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // ---- agents ------------------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(pk_uuid(Agents::Id))
                    .col(uuid(Agents::UserId))
                    .col(string(Agents::Name))
                    .col(string_uniq(Agents::VapiAssistantId))
                    .col(string(Agents::BusinessName))
                    .col(text(Agents::Greeting))
                    .col(text(Agents::SystemPrompt))
                    .col(json_binary_null(Agents::Voice))
                    .col(string(Agents::Language))
                    .col(string(Agents::Timezone))
                    .col(integer(Agents::AppointmentDurationMinutes))
                    .col(json_binary(Agents::BusinessHours))
                    .col(string(Agents::CalendarProvider))
                    .col(json_binary_null(Agents::CalendarConfig))
                    .col(boolean(Agents::Active).default(true))
                    .col(ts(Agents::CreatedAt))
                    .col(ts(Agents::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_agents_user_id",
                        Agents::Table,
                        Agents::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_agents_user_id",
                Agents::Table,
                vec![Agents::UserId.into_iden()],
            ))
            .await?;

        // ---- phone_numbers -----------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(PhoneNumbers::Table)
                    .col(pk_uuid(PhoneNumbers::Id))
                    .col(string_uniq(PhoneNumbers::VapiPhoneNumberId))
                    .col(uuid(PhoneNumbers::AgentId))
                    .col(string(PhoneNumbers::Number))
                    .col(boolean(PhoneNumbers::Active))
                    .col(ts(PhoneNumbers::CreatedAt))
                    .col(ts(PhoneNumbers::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_phone_numbers_agent_id",
                        PhoneNumbers::Table,
                        PhoneNumbers::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_phone_numbers_agent_id",
                PhoneNumbers::Table,
                vec![PhoneNumbers::AgentId.into_iden()],
            ))
            .await?;

        // ---- escalation_configs ------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(EscalationConfigs::Table)
                    .col(pk_uuid(EscalationConfigs::Id))
                    .col(uuid_uniq(EscalationConfigs::AgentId))
                    .col(boolean(EscalationConfigs::Enabled))
                    .col(json_binary(EscalationConfigs::ForwardingNumbers))
                    .col(string(EscalationConfigs::TransferMode))
                    .col(string_null(EscalationConfigs::OperatorEmail))
                    .col(json_binary_null(EscalationConfigs::BusinessHours))
                    .col(string_null(EscalationConfigs::Timezone))
                    .col(boolean(EscalationConfigs::ShareSummary))
                    .col(boolean(EscalationConfigs::ShareTranscript))
                    .col(json_binary_null(EscalationConfigs::TriggerSettings))
                    .col(ts(EscalationConfigs::CreatedAt))
                    .col(ts(EscalationConfigs::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_escalation_configs_agent_id",
                        EscalationConfigs::Table,
                        EscalationConfigs::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        // ---- calls -------------------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(Calls::Table)
                    .col(pk_uuid(Calls::Id))
                    .col(string_uniq(Calls::VapiCallId))
                    .col(uuid_null(Calls::AgentId))
                    .col(uuid_null(Calls::UserId))
                    .col(string_null(Calls::Direction))
                    .col(string_null(Calls::CustomerNumber))
                    .col(string(Calls::Status))
                    .col(ts_null(Calls::StartedAt))
                    .col(ts_null(Calls::EndedAt))
                    .col(big_integer_null(Calls::DurationMs))
                    .col(string_null(Calls::EndedReason))
                    .col(text_null(Calls::Transcript))
                    .col(text_null(Calls::Summary))
                    .col(string_null(Calls::RecordingUrl))
                    .col(double_null(Calls::VapiCost))
                    .col(big_integer_null(Calls::ChargedCredits))
                    .col(string_null(Calls::BillingStatus))
                    .col(boolean(Calls::ReportMissing).default(false))
                    .col(string_null(Calls::EscalationStatus))
                    .col(string(Calls::WorkflowId))
                    .col(ts_null(Calls::LastEventAt))
                    .col(ts_null(Calls::ReportReceivedAt))
                    .col(ts(Calls::CreatedAt))
                    .col(ts(Calls::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_calls_agent_id",
                        Calls::Table,
                        Calls::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_calls_user_id",
                        Calls::Table,
                        Calls::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_calls_agent_id_created_at",
                Calls::Table,
                vec![Calls::AgentId.into_iden(), Calls::CreatedAt.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_calls_user_id_created_at",
                Calls::Table,
                vec![Calls::UserId.into_iden(), Calls::CreatedAt.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_calls_status",
                Calls::Table,
                vec![Calls::Status.into_iden()],
            ))
            .await?;

        // ---- appointments ------------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(Appointments::Table)
                    .col(pk_uuid(Appointments::Id))
                    .col(uuid(Appointments::AgentId))
                    .col(uuid_null(Appointments::CallId))
                    .col(string_null(Appointments::CalendarEventId))
                    .col(ts(Appointments::StartsAt))
                    .col(ts(Appointments::EndsAt))
                    .col(string(Appointments::Timezone))
                    .col(string(Appointments::Status))
                    .col(string(Appointments::CustomerName))
                    .col(string_null(Appointments::CustomerPhone))
                    .col(string_null(Appointments::CustomerEmail))
                    .col(text_null(Appointments::Notes))
                    .col(string_uniq(Appointments::IdempotencyKey))
                    .col(ts(Appointments::CreatedAt))
                    .col(ts(Appointments::UpdatedAt))
                    .check(Check::named(
                        "appointments_valid_range",
                        Expr::col(Appointments::StartsAt).lt(Expr::col(Appointments::EndsAt)),
                    ))
                    .foreign_key(&mut fk(
                        "fk_appointments_agent_id",
                        Appointments::Table,
                        Appointments::AgentId,
                        Agents::Table,
                        Agents::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_appointments_call_id",
                        Appointments::Table,
                        Appointments::CallId,
                        Calls::Table,
                        Calls::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_appointments_agent_id_starts_at",
                Appointments::Table,
                vec![
                    Appointments::AgentId.into_iden(),
                    Appointments::StartsAt.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_appointments_customer_phone",
                Appointments::Table,
                vec![Appointments::CustomerPhone.into_iden()],
            ))
            .await?;
        match backend {
            DbBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist")
                    .await?;
                db.execute_unprepared(PG_OVERLAP_CONSTRAINT).await?;
            }
            DbBackend::Sqlite => {
                db.execute_unprepared(SQLITE_OVERLAP_INSERT_TRIGGER).await?;
                db.execute_unprepared(SQLITE_OVERLAP_UPDATE_TRIGGER).await?;
            }
            other => {
                return Err(DbErr::Migration(format!(
                    "unsupported database backend {other:?}: only PostgreSQL and SQLite are supported"
                )));
            }
        }

        // ---- credit_ledger -----------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(CreditLedger::Table)
                    .col(pk_uuid(CreditLedger::Id))
                    .col(uuid(CreditLedger::UserId))
                    .col(string(CreditLedger::Kind))
                    .col(big_integer(CreditLedger::Amount))
                    .col(big_integer(CreditLedger::BalanceAfter))
                    .col(big_integer(CreditLedger::GraceUsed).default(0))
                    .col(uuid_null(CreditLedger::CallId))
                    .col(string_uniq(CreditLedger::IdempotencyKey))
                    .col(text_null(CreditLedger::Note))
                    .col(ts(CreditLedger::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_credit_ledger_user_id",
                        CreditLedger::Table,
                        CreditLedger::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_credit_ledger_call_id",
                        CreditLedger::Table,
                        CreditLedger::CallId,
                        Calls::Table,
                        Calls::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_credit_ledger_user_id_created_at",
                CreditLedger::Table,
                vec![
                    CreditLedger::UserId.into_iden(),
                    CreditLedger::CreatedAt.into_iden(),
                ],
            ))
            .await?;

        // ---- escalation_logs ---------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(EscalationLogs::Table)
                    .col(pk_uuid(EscalationLogs::Id))
                    .col(uuid(EscalationLogs::CallId))
                    .col(uuid_null(EscalationLogs::AgentId))
                    .col(text(EscalationLogs::Reason))
                    .col(string(EscalationLogs::Urgency))
                    .col(text_null(EscalationLogs::Summary))
                    .col(string(EscalationLogs::Status))
                    .col(string_null(EscalationLogs::TransferNumber))
                    .col(string_null(EscalationLogs::TransferMode))
                    .col(text_null(EscalationLogs::FailureReason))
                    .col(string_uniq(EscalationLogs::IdempotencyKey))
                    .col(text_null(EscalationLogs::Notes))
                    .col(ts(EscalationLogs::CreatedAt))
                    .col(ts(EscalationLogs::UpdatedAt))
                    .col(ts_null(EscalationLogs::ResolvedAt))
                    .foreign_key(&mut fk(
                        "fk_escalation_logs_call_id",
                        EscalationLogs::Table,
                        EscalationLogs::CallId,
                        Calls::Table,
                        Calls::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_escalation_logs_call_id",
                EscalationLogs::Table,
                vec![EscalationLogs::CallId.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_escalation_logs_status",
                EscalationLogs::Table,
                vec![EscalationLogs::Status.into_iden()],
            ))
            .await?;

        // ---- event_log ---------------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(EventLog::Table)
                    .col(pk_uuid(EventLog::Id))
                    .col(uuid_null(EventLog::UserId))
                    .col(uuid_null(EventLog::CallId))
                    .col(string(EventLog::Kind))
                    .col(json_binary(EventLog::Data))
                    .col(ts(EventLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_event_log_user_id_created_at",
                EventLog::Table,
                vec![
                    EventLog::UserId.into_iden(),
                    EventLog::CreatedAt.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_event_log_kind",
                EventLog::Table,
                vec![EventLog::Kind.into_iden()],
            ))
            .await?;

        // ---- webhook_inbox -----------------------------------------------
        manager
            .create_table(
                Table::create()
                    .table(WebhookInbox::Table)
                    .col(big_pk_auto(WebhookInbox::Id))
                    .col(string(WebhookInbox::VapiCallId))
                    .col(string(WebhookInbox::MessageType))
                    .col(string_uniq(WebhookInbox::BodySha256))
                    .col(text(WebhookInbox::Payload))
                    .col(ts(WebhookInbox::ReceivedAt))
                    .col(ts_null(WebhookInbox::EventAt))
                    .col(string(WebhookInbox::Status))
                    .col(integer(WebhookInbox::Attempts).default(0))
                    .col(ts_null(WebhookInbox::NextAttemptAt))
                    .col(ts_null(WebhookInbox::DeliveredAt))
                    .col(text_null(WebhookInbox::LastError))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_webhook_inbox_status_id",
                WebhookInbox::Table,
                vec![
                    WebhookInbox::Status.into_iden(),
                    WebhookInbox::Id.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_webhook_inbox_vapi_call_id_id",
                WebhookInbox::Table,
                vec![
                    WebhookInbox::VapiCallId.into_iden(),
                    WebhookInbox::Id.into_iden(),
                ],
            ))
            .await?;

        Ok(())
    }

    /// Drops every table in reverse creation order. Indexes, the SQLite
    /// triggers and the PostgreSQL exclusion constraint go with their
    /// tables. The `btree_gist` extension is left installed: it is
    /// database-wide and may be used by other objects.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 10] = [
            WebhookInbox::Table.into_iden(),
            EventLog::Table.into_iden(),
            EscalationLogs::Table.into_iden(),
            CreditLedger::Table.into_iden(),
            Appointments::Table.into_iden(),
            Calls::Table.into_iden(),
            EscalationConfigs::Table.into_iden(),
            PhoneNumbers::Table.into_iden(),
            Agents::Table.into_iden(),
            Users::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
