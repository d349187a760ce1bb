//! A visitor's takedown report of a message.

use sea_orm::entity::prelude::*;

/// A row of `reports`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The reported message's id.
    pub message_id: i64,
    /// Its receiving number, E.164.
    pub number: String,
    /// `personal_data`, `abuse` or `other`.
    pub reason: String,
    /// The visitor's words, at most 500 characters; may be empty.
    #[sea_orm(column_type = "Text")]
    pub note: String,
    /// When it was made.
    pub created_at: DateTimeUtc,
    /// `open`, `dismissed` or `resolved`.
    pub status: String,
    /// When it was dismissed or resolved.
    pub resolved_at: Option<DateTimeUtc>,
    /// The operator who did.
    pub resolved_by: Option<String>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
