//! Which services reach which numbers: per active number, the codes each
//! service sent it since a moment (the last 24 hours on the site), and its
//! message total. Two grouped queries, read by the gateway into a snapshot
//! it keeps for `gateway.activity_refresh_secs`, never per page view.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};

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
        let active = Query::select()
            .column(number::Column::E164)
            .from(number::Entity)
            .and_where(Expr::col(number::Column::Active).eq(true))
            .to_owned();
        let codes = message::Entity::find()
            .select_only()
            .column(message::Column::Number)
            .column(message::Column::Service)
            .column_as(message::Column::Id.count(), "codes")
            .filter(message::Column::ReceivedAt.gte(since))
            .filter(message::Column::Code.ne(""))
            .filter(message::Column::Service.ne(""))
            .filter(Expr::col(message::Column::Number).in_subquery(active))
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
                Expr::col((message::Entity, message::Column::Number))
                    .equals((number::Entity, number::Column::E164)),
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
            .filter(message::Column::Code.ne(""))
            .order_by_desc(message::Column::ReceivedAt)
            .order_by_desc(message::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use domain::E164;

    use crate::NewMessage;
    use crate::test_store::TempStore;

    fn sms(
        number: &str,
        id: &str,
        from: &str,
        body: &str,
        at: chrono::DateTime<Utc>,
    ) -> NewMessage {
        NewMessage {
            number: E164::parse(number).unwrap(),
            provider: "test".to_owned(),
            provider_message_id: id.to_owned(),
            sender: from.to_owned(),
            body: body.to_owned(),
            received_at: at,
        }
    }

    #[tokio::test]
    async fn codes_per_number_and_service_in_the_window_and_totals() {
        let store = TempStore::new("activity").await;
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let (a, b, retired, idle) = (
            "+447700900461",
            "+447700900462",
            "+447700900463",
            "+447700900464",
        );
        for n in [a, b, retired, idle] {
            store
                .add_number(&E164::parse(n).unwrap(), "")
                .await
                .unwrap();
        }
        let hour = Duration::hours(1);
        store
            .insert_messages(&[
                sms(
                    a,
                    "1",
                    "WhatsApp",
                    "Your WhatsApp code: 111-222",
                    now - hour,
                ),
                sms(
                    a,
                    "2",
                    "WhatsApp",
                    "Your WhatsApp code: 333-444",
                    now - hour * 2,
                ),
                sms(a, "3", "Telegram", "Telegram code 55555", now - hour * 3),
                // Older than the window: counted in the total only.
                sms(
                    a,
                    "4",
                    "WhatsApp",
                    "Your WhatsApp code: 666-777",
                    now - hour * 25,
                ),
                // No code: not a code from WhatsApp.
                sms(a, "5", "WhatsApp", "Welcome to WhatsApp", now - hour),
                sms(b, "6", "Telegram", "Telegram code 12345", now - hour * 4),
                sms(
                    retired,
                    "7",
                    "WhatsApp",
                    "Your WhatsApp code: 999-000",
                    now - hour,
                ),
            ])
            .await
            .unwrap();
        store
            .retire_number(&E164::parse(retired).unwrap())
            .await
            .unwrap();
        let activity = store.service_activity(now - hour * 24).await.unwrap();
        let codes: Vec<(&str, &str, i64)> = activity
            .codes
            .iter()
            .map(|c| (c.number.as_str(), c.service.as_str(), c.codes))
            .collect();
        assert_eq!(
            codes,
            [(a, "WhatsApp", 2), (a, "Telegram", 1), (b, "Telegram", 1)]
        );
        let totals: Vec<(&str, i64)> = activity
            .numbers
            .iter()
            .map(|n| (n.e164.as_str(), n.total))
            .collect();
        assert_eq!(totals, [(a, 5), (b, 1), (idle, 0)]);
        assert_eq!(activity.numbers[0].last_at, Some(now - hour));
        assert_eq!(activity.numbers[0].recent, 4);
        assert_eq!(activity.numbers[2].last_at, None);

        let latest = store.latest_codes("WhatsApp", 10).await.unwrap();
        let ids: Vec<&str> = latest
            .iter()
            .map(|m| m.provider_message_id.as_str())
            .collect();
        // Same arrival: the later id first.
        assert_eq!(ids, ["7", "1", "2", "4"]);
    }
}
