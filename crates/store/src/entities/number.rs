//! A phone number the operator owns.

use sea_orm::entity::prelude::*;

/// A row of `numbers`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "numbers")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// E.164 with '+'.
    #[sea_orm(unique)]
    pub e164: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// Operator's label (carrier, SIM slot...).
    pub label: String,
    /// Who the number is rented from (free text, empty when unknown).
    #[sea_orm(column_type = "Text")]
    pub provider: String,
    /// Only active numbers receive and are listed.
    pub active: bool,
    /// When the number was added.
    pub created_at: DateTimeUtc,
    /// When it was retired, if it is.
    pub retired_at: Option<DateTimeUtc>,
    /// Days its messages are shown and kept, when not the global
    /// `messages.keep_days` (`NULL`).
    pub keep_days: Option<i32>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
