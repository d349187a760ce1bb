//! What the public site may show of the messages: every public read
//! (number pages, `/latest`, cards, service pages, search, feeds, the JSON
//! API, activity counts) filters with this one predicate, so a rule added
//! here (a hidden message, a message past its retention) holds everywhere.

use sea_orm::ColumnTrait;
use sea_orm::sea_query::SimpleExpr;

use crate::entities::message;

/// Messages the public may see: not hidden by an operator.
pub(crate) fn shown() -> SimpleExpr {
    message::Column::HiddenAt.is_null()
}
