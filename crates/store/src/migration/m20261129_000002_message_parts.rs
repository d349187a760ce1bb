use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Parts of concatenated SMS waiting for their siblings. Kept in the database
/// (not in memory) so the parts of one message may reach different replicas.
#[derive(DeriveIden)]
enum MessageParts {
    Table,
    Id,
    Provider,
    To,
    From,
    ConcatRef,
    Part,
    Total,
    Text,
    ReceivedAt,
    CreatedAt,
    MessageId,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageParts::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(MessageParts::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MessageParts::Provider)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(MessageParts::To).string_len(64).not_null())
                    .col(ColumnDef::new(MessageParts::From).string_len(64).not_null())
                    .col(
                        ColumnDef::new(MessageParts::ConcatRef)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(MessageParts::Part).integer().not_null())
                    .col(ColumnDef::new(MessageParts::Total).integer().not_null())
                    .col(ColumnDef::new(MessageParts::Text).text().not_null())
                    .col(
                        ColumnDef::new(MessageParts::ReceivedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MessageParts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MessageParts::MessageId)
                            .string_len(128)
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(MessageParts::PublishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("message_parts_group_part_key")
                    .table(MessageParts::Table)
                    .col(MessageParts::Provider)
                    .col(MessageParts::To)
                    .col(MessageParts::From)
                    .col(MessageParts::ConcatRef)
                    .col(MessageParts::Part)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("message_parts_created_idx")
                    .table(MessageParts::Table)
                    .col(MessageParts::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageParts::Table).to_owned())
            .await
    }
}
