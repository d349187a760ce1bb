//! What the operator console needs: the provider a number is rented from
//! (`numbers.provider`, empty when unknown), and a message hidden from the
//! public site (`messages.hidden_at`, `hidden_reason`, `hidden_by`: when,
//! why and by which operator). Public reads keep `hidden_at IS NULL`; the
//! number's `(number, received_at, id)` index still serves them (hidden
//! messages are rare, they are skipped while reading it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Numbers {
    Table,
    Provider,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    HiddenAt,
    HiddenReason,
    HiddenBy,
}

/// Partial index of the hidden messages: the console lists them without a scan.
const HIDDEN_INDEX: &str = "messages_hidden_idx";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("numbers", "provider").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Numbers::Table)
                        .add_column(
                            ColumnDef::new(Numbers::Provider)
                                .text()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("messages", "hidden_at").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .add_column(
                            ColumnDef::new(Messages::HiddenAt)
                                .timestamp_with_time_zone()
                                .null(),
                        )
                        .to_owned(),
                )
                .await?;
        }
        for column in [Messages::HiddenReason, Messages::HiddenBy] {
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
        // Same text on Postgres and SQLite; sea-query has no partial index.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {HIDDEN_INDEX} ON messages (id) WHERE hidden_at IS NOT NULL"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {HIDDEN_INDEX}"))
            .await?;
        for column in [
            Messages::HiddenAt,
            Messages::HiddenReason,
            Messages::HiddenBy,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Numbers::Table)
                    .drop_column(Numbers::Provider)
                    .to_owned(),
            )
            .await
    }
}
