//! A received SMS.

use sea_orm::entity::prelude::*;

/// A row of `messages`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// Surrogate key; also the tie-breaker of the reading order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Receiving number, E.164.
    pub number: String,
    /// Provider route that accepted it.
    pub provider: String,
    /// Provider's id; unique with `provider`.
    pub provider_message_id: String,
    /// Sender: E.164 or alphanumeric id.
    pub sender: String,
    /// Message text, untrusted.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// When the provider says it arrived.
    pub received_at: DateTimeUtc,
    /// When we committed it.
    pub stored_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
