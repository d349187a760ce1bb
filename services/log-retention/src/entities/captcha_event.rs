//! A captcha step (`CaptchaEvent`).

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A row of `captcha_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "captcha_events")]
pub struct Model {
    /// The event's id; unique with `ts`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// When it happened; the partition key on Postgres.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ts: DateTimeUtc,
    /// The unique-identifier cookie value.
    pub visitor_id: String,
    /// Client address.
    pub ip: String,
    /// `issued`, `solved`, `failed`, `verified`, `replayed` or `unspecified`.
    pub outcome: String,
    /// The challenge's difficulty.
    pub max_number: i64,
    /// Site key of the challenge.
    pub site_key: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
