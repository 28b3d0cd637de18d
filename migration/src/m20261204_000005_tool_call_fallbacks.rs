//! `tool_call_claims`: who took an effectful tool call (one row per tool call id): its workflow,
//! before the saga runs, or the API when Temporal could not take it in time (a callback
//! request: the caller heard that the business will call back).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum ToolCallClaims {
    #[sea_orm(iden = "tool_call_claims")]
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
                    .table(ToolCallClaims::Table)
                    .col(pk_uuid(ToolCallClaims::Id))
                    .col(string_uniq(ToolCallClaims::ToolCallId))
                    .col(string(ToolCallClaims::VapiCallId))
                    .col(string(ToolCallClaims::Tool))
                    .col(uuid_null(ToolCallClaims::AgentId))
                    .col(string_null(ToolCallClaims::CustomerNumber))
                    .col(string(ToolCallClaims::Reason))
                    .col(string(ToolCallClaims::Status))
                    // Written only through sea-orm/sqlx (see the initial migration's notes).
                    .col(timestamp_with_time_zone(ToolCallClaims::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tool_call_claims_created")
                    .table(ToolCallClaims::Table)
                    .col(ToolCallClaims::Status)
                    .col(ToolCallClaims::CreatedAt)
                    .col(ToolCallClaims::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ToolCallClaims::Table).to_owned())
            .await
    }
}
