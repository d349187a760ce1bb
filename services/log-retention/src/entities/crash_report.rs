//! A browser error from the page's crash beacon (`CrashReported`).

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A row of `crash_reports`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "crash_reports")]
pub struct Model {
    /// The event's id; unique with `ts`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// When it was reported; the partition key on Postgres.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ts: DateTimeUtc,
    /// The unique-identifier cookie value.
    pub visitor_id: String,
    /// Page path.
    pub page: String,
    /// Error message.
    #[sea_orm(column_type = "Text")]
    pub message: String,
    /// Script URL.
    pub source: String,
    /// Line.
    pub line: i64,
    /// Column.
    pub column: i64,
    /// Stack trace.
    #[sea_orm(column_type = "Text")]
    pub stack: String,
    /// Browser family.
    pub browser_family: String,
    /// Operating system family.
    pub os_family: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
