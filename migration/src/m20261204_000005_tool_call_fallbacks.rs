//! `tool_call_fallbacks`: effectful tool calls that Temporal could not take in time. The
//! caller heard that it cannot be done right now and that the business will call back; each
//! row is that callback request (one per tool call id, so a retried tool call finds it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum ToolCallFallbacks {
    #[sea_orm(iden = "tool_call_fallbacks")]
    Table,
    Id,
    ToolCallId,
    VapiCallId,
    Tool,
    AgentId,
    CustomerNumber,
    Reason,
    Status,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ToolCallFallbacks::Table)
                    .col(pk_uuid(ToolCallFallbacks::Id))
                    .col(string_uniq(ToolCallFallbacks::ToolCallId))
                    .col(string(ToolCallFallbacks::VapiCallId))
                    .col(string(ToolCallFallbacks::Tool))
                    .col(uuid_null(ToolCallFallbacks::AgentId))
                    .col(string_null(ToolCallFallbacks::CustomerNumber))
                    .col(string(ToolCallFallbacks::Reason))
                    .col(string(ToolCallFallbacks::Status))
                    // Written only through sea-orm/sqlx (see the initial migration's notes).
                    .col(timestamp_with_time_zone(ToolCallFallbacks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tool_call_fallbacks_created")
                    .table(ToolCallFallbacks::Table)
                    .col(ToolCallFallbacks::CreatedAt)
                    .col(ToolCallFallbacks::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ToolCallFallbacks::Table).to_owned())
            .await
    }
}
