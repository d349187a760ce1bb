//! One HTTP request served by the gateway (`RequestLogged`).

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A row of `access_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "access_log")]
pub struct Model {
    /// The event's id (UUIDv7 text); unique with `ts`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// When the request was served; the partition key on Postgres.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ts: DateTimeUtc,
    /// The unique-identifier cookie value.
    pub visitor_id: String,
    /// Client address.
    pub ip: String,
    /// HTTP method.
    pub method: String,
    /// Path without query string.
    pub path: String,
    /// HTTP status.
    pub status: i64,
    /// Time to serve, microseconds.
    pub latency_us: i64,
    /// Referring site (origin only).
    pub referrer: String,
    /// Browser family from the user agent.
    pub browser_family: String,
    /// Browser major version.
    pub browser_version: String,
    /// Operating system family.
    pub os_family: String,
    /// `desktop`, `mobile`, `tablet`, `bot` or `unspecified`.
    pub device_class: String,
    /// Preferred language.
    pub language: String,
    /// W3C trace id of the request.
    pub trace_id: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
