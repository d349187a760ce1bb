//! An index for a service's newest codes (`/services/{slug}`): the
//! messages of one service by arrival, read backwards, instead of every
//! message by arrival filtered for the service.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    Service,
    ReceivedAt,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("messages_service_received_idx")
                    .table(Messages::Table)
                    .col(Messages::Service)
                    .col(Messages::ReceivedAt)
                    .col(Messages::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("messages_service_received_idx")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await
    }
}
