//! Each message's verification code and recognised service, extracted once
//! when it is stored instead of on every view; rows stored before are filled
//! here (see [`crate::extracted::backfill`]). Also an index for the sender
//! filter, which lists a number's senders by their newest message.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    Number,
    Sender,
    ReceivedAt,
    Code,
    Service,
}

/// Index of the sender filter: distinct senders of a number by their newest
/// message, and one sender's messages newest first.
const SENDER_INDEX: &str = "messages_number_sender_idx";
/// Partial index of the rows whose code is not extracted yet: the backfill
/// finds them without scanning the table, so it can run at every start.
const UNEXTRACTED_INDEX: &str = "messages_unextracted_idx";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// Not one transaction: the backfill commits chunk by chunk, so a run
    /// that is cut short (a hook Job past its deadline) keeps what it filled
    /// and the next run resumes. Every step is idempotent.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Messages::Code, Messages::Service] {
            let name = column.to_string();
            if !manager.has_column("messages", &name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Messages::Table)
                            .add_column(ColumnDef::new(column).text().null())
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name(SENDER_INDEX)
                    .table(Messages::Table)
                    .col(Messages::Number)
                    .col(Messages::Sender)
                    .col(Messages::ReceivedAt)
                    .col(Messages::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Same text on Postgres and SQLite; sea-query has no partial index.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {UNEXTRACTED_INDEX} ON messages (id) WHERE code IS NULL"
            ))
            .await?;
        let filled = crate::extracted::backfill(manager.get_connection()).await?;
        tracing::info!(rows = filled, "codes extracted for messages stored before");
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [UNEXTRACTED_INDEX, SENDER_INDEX] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(Messages::Table)
                        .if_exists()
                        .to_owned(),
                )
                .await?;
        }
        for column in [Messages::Code, Messages::Service] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
