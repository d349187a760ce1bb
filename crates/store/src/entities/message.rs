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
    /// The verification code found in `body` when the message was stored
    /// (`domain::extract_code`): `Some("")` when there is none; `None` for
    /// a row written by a version that did not extract yet (filled by the
    /// next migration run, see [`crate::Store::migrate`]).
    #[sea_orm(column_type = "Text", nullable)]
    pub code: Option<String>,
    /// The service recognised from `sender` and `body` when the message was
    /// stored (`domain::recognise_service`), even when the sender already
    /// names it: `Some("")` when none; `None` as for `code`.
    #[sea_orm(column_type = "Text", nullable)]
    pub service: Option<String>,
    /// How long `code` stays valid in seconds from `received_at`, when the
    /// text says so (`domain::otp::validity`): `Some(0)` when it does not or
    /// there is no code; `None` for a row written before the column (shown
    /// without a validity).
    #[sea_orm(nullable)]
    pub code_valid_secs: Option<i32>,
    /// When an operator hid it from the public site; `None` while shown.
    pub hidden_at: Option<DateTimeUtc>,
    /// Why it was hidden (the operator's words).
    #[sea_orm(column_type = "Text", nullable)]
    pub hidden_reason: Option<String>,
    /// The operator token's name that hid it.
    #[sea_orm(column_type = "Text", nullable)]
    pub hidden_by: Option<String>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
