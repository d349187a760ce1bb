//! One operator action (`AdminActionLogged`): the audit log.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A row of `admin_audit`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "admin_audit")]
pub struct Model {
    /// Storage order; the listing's cursor.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The event's id (unique: a redelivered event is stored once).
    #[sea_orm(unique)]
    pub event_id: String,
    /// When the action happened (the gateway's clock).
    pub ts: DateTimeUtc,
    /// The operator token's name.
    pub operator: String,
    /// What was done: `number.add`, `message.hide`, `session.login`...
    pub action: String,
    /// What it was done to: an E.164, a message id, a report id.
    pub target: String,
    /// Free text: the reason, the new label.
    pub detail: String,
    /// The request's trace id.
    pub trace_id: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
