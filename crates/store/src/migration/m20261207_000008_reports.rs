//! Visitors' takedown reports of messages, queued for the operator: open
//! until dismissed or resolved (the message hidden). No foreign key to
//! `messages`: the retention sweep deletes messages in bulk (and may
//! partition the table), and a report that outlives its message is shown
//! in the console as "message gone".

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    MessageId,
    Number,
    Reason,
    Note,
    CreatedAt,
    Status,
    ResolvedAt,
    ResolvedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Reports::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Reports::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Reports::MessageId).big_integer().not_null())
                    .col(ColumnDef::new(Reports::Number).string_len(16).not_null())
                    .col(ColumnDef::new(Reports::Reason).string_len(16).not_null())
                    .col(ColumnDef::new(Reports::Note).text().not_null().default(""))
                    .col(
                        ColumnDef::new(Reports::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Reports::Status)
                            .string_len(16)
                            .not_null()
                            .default("open"),
                    )
                    .col(
                        ColumnDef::new(Reports::ResolvedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Reports::ResolvedBy).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reports_status_created_idx")
                    .table(Reports::Table)
                    .col(Reports::Status)
                    .col(Reports::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reports_message_idx")
                    .table(Reports::Table)
                    .col(Reports::MessageId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Reports::Table).if_exists().to_owned())
            .await
    }
}
