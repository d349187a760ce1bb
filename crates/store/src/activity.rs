//! Which services reach which numbers: per active number, the codes each
//! service sent it since a moment (the last 24 hours on the site), and its
//! message total. Two grouped queries, read by the gateway into a snapshot
//! it keeps for `gateway.activity_refresh_secs`, never per page view.
//! Tested on SQLite and Postgres by `tests/tests/it/find.rs`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::{message, number};
use crate::{MessageRow, Store, StoreError};

/// An active number's message total, recent messages and newest message.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct NumberTotal {
    /// The number, E.164.
    pub e164: String,
    /// Every message it has received.
    pub total: i64,
    /// Messages received at or after the moment asked.
    pub recent: i64,
    /// Its newest message's arrival, if any.
    pub last_at: Option<DateTime<Utc>>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// Codes one service sent one active number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCodes {
    /// The number, E.164.
    pub number: String,
    /// The service as stored (`domain::recognise_service`'s name).
    pub service: String,
    /// Messages with a code from it.
    pub codes: i64,
}

/// What [`Store::service_activity`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceActivity {
    /// Every active number (with no messages too), newest message first.
    pub numbers: Vec<NumberTotal>,
    /// Per active number and service, the codes since the moment asked;
    /// most codes first.
    pub codes: Vec<ServiceCodes>,
}

impl Store {
    /// Per active number and service, the messages with a code received at
    /// or after `since`; and every active number's message total. One
    /// grouped query over the `(received_at, id)` index's range, one over
    /// the numbers joined to the `(number, received_at, id)` index.
    #[tracing::instrument(name = "SELECT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "messages"))]
    pub async fn service_activity(
        &self,
        since: DateTime<Utc>,
    ) -> Result<ServiceActivity, StoreError> {
        let cutoffs = self.cutoffs().await;
        let codes = message::Entity::find()
            .select_only()
            .column(message::Column::Number)
            .column(message::Column::Service)
            .column_as(message::Column::Id.count(), "codes")
            .filter(message::Column::ReceivedAt.gte(since))
            .filter(cutoffs.condition())
            .filter(crate::public::shown())
            .filter(message::Column::Code.ne(""))
            .filter(message::Column::Service.ne(""))
            .filter(crate::public::of_active_numbers())
            .group_by(message::Column::Number)
            .group_by(message::Column::Service)
            .into_tuple::<(String, Option<String>, i64)>()
            .all(&self.db)
            .await?;
        let mut codes: Vec<ServiceCodes> = codes
            .into_iter()
            .filter_map(|(number, service, codes)| {
                Some(ServiceCodes {
                    number,
                    service: service?,
                    codes,
                })
            })
            .collect();
        codes.sort_by(|a, b| {
            b.codes
                .cmp(&a.codes)
                .then_with(|| a.service.cmp(&b.service))
                .then_with(|| a.number.cmp(&b.number))
        });
        let totals = Query::select()
            .expr_as(
                Expr::col((number::Entity, number::Column::E164)),
                Alias::new("e164"),
            )
            .expr_as(
                Expr::col((message::Entity, message::Column::Id)).count(),
                Alias::new("total"),
            )
            .expr_as(
                Expr::case(
                    Expr::col((message::Entity, message::Column::ReceivedAt)).gte(since),
                    1,
                )
                .finally(0)
                .sum(),
                Alias::new("recent"),
            )
            .expr_as(
                Expr::col((message::Entity, message::Column::ReceivedAt)).max(),
                Alias::new("last_at"),
            )
            .expr_as(
                Expr::col((number::Entity, number::Column::CreatedAt)),
                Alias::new("created_at"),
            )
            .from(number::Entity)
            .left_join(
                message::Entity,
                Condition::all()
                    .add(
                        Expr::col((message::Entity, message::Column::Number))
                            .equals((number::Entity, number::Column::E164)),
                    )
                    .add(cutoffs.condition())
                    .add(Expr::col((message::Entity, message::Column::HiddenAt)).is_null()),
            )
            .and_where(Expr::col((number::Entity, number::Column::Active)).eq(true))
            .group_by_col((number::Entity, number::Column::E164))
            .group_by_col((number::Entity, number::Column::CreatedAt))
            .order_by((number::Entity, number::Column::E164), Order::Asc)
            .to_owned();
        let statement = self.db.get_database_backend().build(&totals);
        let mut numbers = NumberTotal::find_by_statement(statement)
            .all(&self.db)
            .await?;
        // Newest message first; numbers without any by registration, newest first.
        numbers.sort_by(|a, b| {
            b.last_at
                .cmp(&a.last_at)
                .then_with(|| b.created_at.cmp(&a.created_at))
                .then_with(|| a.e164.cmp(&b.e164))
        });
        Ok(ServiceActivity { numbers, codes })
    }

    /// The newest messages with a code from `service` (across numbers,
    /// retired ones included: the caller keeps the active), at most `limit`;
    /// the `(service, received_at, id)` index read backwards.
    #[tracing::instrument(name = "SELECT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "messages"))]
    pub async fn latest_codes(
        &self,
        service: &str,
        limit: u64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        Ok(message::Entity::find()
            .filter(message::Column::Service.eq(service))
            .filter(self.cutoffs().await.condition())
            .filter(crate::public::shown())
            .filter(message::Column::Code.ne(""))
            .order_by_desc(message::Column::ReceivedAt)
            .order_by_desc(message::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}
