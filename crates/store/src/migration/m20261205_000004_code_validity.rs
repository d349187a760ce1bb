//! How long each message's code stays valid, when its text says so ("valid
//! for 5 minutes"), found once when the message is stored like the code
//! itself. Rows stored before keep `NULL`: they are shown without a
//! validity (their codes are long past it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    CodeValidSecs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("messages", "code_valid_secs").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .add_column(ColumnDef::new(Messages::CodeValidSecs).integer().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::CodeValidSecs)
                    .to_owned(),
            )
            .await
    }
}
