//! A number's own message period: `numbers.keep_days`, in days, `NULL` for
//! the global `messages.keep_days`. The sweep needs no new index: it walks
//! `messages_received_idx` (`received_at`, `id`) from its oldest entry, so
//! each batch reads only rows past the shortest period (see
//! [`crate::Store::sweep_expired`]).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Numbers {
    Table,
    KeepDays,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("numbers", "keep_days").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Numbers::Table)
                        .add_column(ColumnDef::new(Numbers::KeepDays).integer().null())
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
                    .table(Numbers::Table)
                    .drop_column(Numbers::KeepDays)
                    .to_owned(),
            )
            .await
    }
}
