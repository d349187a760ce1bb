//! What the public site may show of the messages: every public read
//! (number pages, `/latest`, cards, service pages, search, feeds, the JSON
//! API, activity counts) filters with this one predicate, so a rule added
//! here (a hidden message, a message past its retention) holds everywhere.

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};

use crate::entities::{message, number};

/// Messages the public may see: not hidden by an operator.
pub(crate) fn shown() -> SimpleExpr {
    message::Column::HiddenAt.is_null()
}

/// Messages of numbers that are active: lists across numbers (`/latest`,
/// the activity counts) leave a retired number's messages out, as its page
/// is gone (410).
pub(crate) fn of_active_numbers() -> SimpleExpr {
    let active = Query::select()
        .column(number::Column::E164)
        .from(number::Entity)
        .and_where(Expr::col(number::Column::Active).eq(true))
        .to_owned();
    Expr::col(message::Column::Number).in_subquery(active)
}
