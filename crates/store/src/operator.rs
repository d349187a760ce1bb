//! The operator console's reads and writes: hiding a message from the
//! public site (and showing it again), searching every message (hidden ones
//! included) and counting each number's messages per day for its health.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use crate::entities::message;
use crate::{MessageRow, Store, StoreError};

/// Most messages one search returns.
pub const MAX_SEARCH: u64 = 200;

/// What the console searches for; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageSearch {
    /// The receiving number, exactly (E.164).
    pub number: Option<String>,
    /// The sender, exactly as stored.
    pub sender: Option<String>,
    /// Text contained in the body (case-insensitive; `%` and `_` are literal).
    pub text: Option<String>,
    /// Received at or after.
    pub after: Option<DateTime<Utc>>,
    /// Received strictly before.
    pub before: Option<DateTime<Utc>>,
    /// Only ids below this one (the next page).
    pub before_id: Option<i64>,
    /// At most this many (bounded by [`MAX_SEARCH`]).
    pub limit: u64,
}

/// Messages one number received on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCount {
    /// The number, E.164.
    pub number: String,
    /// The UTC day.
    pub day: NaiveDate,
    /// Its messages that day (hidden ones too: the number received them).
    pub count: i64,
}

#[derive(Debug, FromQueryResult)]
struct DayRow {
    number: String,
    day: String,
    count: i64,
}

/// `text` as a LIKE pattern matching it anywhere, its wildcards escaped with `\`.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Store {
    /// Hides message `id` from the public site with `(reason, operator)`,
    /// or shows it again with `None`. The message as it is now; `None` when
    /// there is no such message.
    pub async fn set_message_hidden(
        &self,
        id: i64,
        hidden: Option<(&str, &str)>,
    ) -> Result<Option<MessageRow>, StoreError> {
        let (at, reason, by) = match hidden {
            Some((reason, operator)) => (
                Some(Utc::now()),
                Some(reason.to_owned()),
                Some(operator.to_owned()),
            ),
            None => (None, None, None),
        };
        message::Entity::update_many()
            .col_expr(message::Column::HiddenAt, Expr::value(at))
            .col_expr(message::Column::HiddenReason, Expr::value(reason))
            .col_expr(message::Column::HiddenBy, Expr::value(by))
            .filter(message::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        self.message(id).await
    }

    /// Message `id`, hidden or not.
    pub async fn message(&self, id: i64) -> Result<Option<MessageRow>, StoreError> {
        Ok(message::Entity::find_by_id(id).one(&self.db).await?)
    }

    /// Messages matching `search`, hidden ones included, newest id first.
    pub async fn search_messages(
        &self,
        search: &MessageSearch,
    ) -> Result<Vec<MessageRow>, StoreError> {
        // No stored text holds a NUL (and Postgres refuses one in a query).
        let texts = [&search.number, &search.sender, &search.text];
        if texts
            .iter()
            .any(|t| t.as_deref().is_some_and(|t| t.contains('\0')))
        {
            return Ok(Vec::new());
        }
        let mut query = message::Entity::find();
        if let Some(number) = &search.number {
            query = query.filter(message::Column::Number.eq(number.as_str()));
        }
        if let Some(sender) = &search.sender {
            query = query.filter(message::Column::Sender.eq(sender.as_str()));
        }
        if let Some(text) = search.text.as_deref().filter(|t| !t.is_empty()) {
            query = query.filter(
                Expr::expr(Func::lower(Expr::col(message::Column::Body)))
                    .like(LikeExpr::new(contains_pattern(text)).escape('\\')),
            );
        }
        if let Some(after) = search.after {
            query = query.filter(message::Column::ReceivedAt.gte(after));
        }
        if let Some(before) = search.before {
            query = query.filter(message::Column::ReceivedAt.lt(before));
        }
        if let Some(id) = search.before_id {
            query = query.filter(message::Column::Id.lt(id));
        }
        Ok(query
            .order_by_desc(message::Column::Id)
            .limit(search.limit.clamp(1, MAX_SEARCH))
            .all(&self.db)
            .await?)
    }

    /// Every number's messages per UTC day since `since` (one grouped
    /// query over the `(received_at, id)` index's range).
    pub async fn daily_counts(&self, since: DateTime<Utc>) -> Result<Vec<DailyCount>, StoreError> {
        let backend = self.db.get_database_backend();
        let sql = if backend == DbBackend::Postgres {
            "SELECT number, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, \
             COUNT(*) AS count FROM messages WHERE received_at >= $1 GROUP BY 1, 2"
        } else {
            "SELECT number, strftime('%Y-%m-%d', received_at) AS day, \
             COUNT(*) AS count FROM messages WHERE received_at >= ? GROUP BY 1, 2"
        };
        let rows =
            DayRow::find_by_statement(Statement::from_sql_and_values(backend, sql, [since.into()]))
                .all(&self.db)
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(DailyCount {
                    day: NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()?,
                    number: r.number,
                    count: r.count,
                })
            })
            .collect())
    }

    /// Every number's newest message time (hidden ones too).
    pub async fn last_message_times(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = message::Entity::find()
            .select_only()
            .column(message::Column::Number)
            .column_as(message::Column::ReceivedAt.max(), "last_at")
            .group_by(message::Column::Number)
            .into_tuple::<(String, Option<DateTime<Utc>>)>()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(n, at)| Some((n, at?)))
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;
    use domain::E164;

    use super::*;
    use crate::NewMessage;
    use crate::test_store::TempStore;

    fn sms(number: &E164, id: &str, sender: &str, body: &str) -> NewMessage {
        NewMessage {
            number: number.clone(),
            provider: "generic".into(),
            provider_message_id: id.into(),
            sender: sender.into(),
            body: body.into(),
            received_at: Utc::now(),
        }
    }

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern("AbC"), "%abc%");
    }

    #[tokio::test]
    async fn a_hidden_message_leaves_every_public_read_and_comes_back() {
        let store = TempStore::new("hidden").await;
        let number = E164::parse("+447700900123").unwrap();
        store.add_number(&number, "").await.unwrap();
        let kept = store
            .insert_message(sms(&number, "1", "Bank", "kept 111111"))
            .await
            .unwrap();
        let gone = store
            .insert_message(sms(&number, "2", "Shop", "G-222222 is your Google code"))
            .await
            .unwrap();
        let gone_id = gone.row().id;
        let row = store
            .set_message_hidden(gone_id, Some(("personal data", "alice")))
            .await
            .unwrap()
            .unwrap();
        assert!(row.hidden_at.is_some());
        assert_eq!(row.hidden_reason.as_deref(), Some("personal data"));
        assert_eq!(row.hidden_by.as_deref(), Some("alice"));

        let ids = |rows: Vec<MessageRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let only_kept = vec![kept.row().id];
        let e = number.as_str();
        assert_eq!(
            ids(store.recent_messages(e, 10, None).await.unwrap()),
            only_kept
        );
        assert_eq!(ids(store.latest_messages(10).await.unwrap()), only_kept);
        assert_eq!(
            store.recent_senders(e, 10).await.unwrap(),
            vec!["Bank".to_owned()]
        );
        assert!(store.latest_codes("Google", 10).await.unwrap().is_empty());
        let overview = store.numbers_overview().await.unwrap();
        assert_eq!(overview[0].messages_last_day, 1);
        let activity = store
            .service_activity(Utc::now() - Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(activity.numbers[0].total, 1);
        assert!(activity.codes.is_empty(), "{:?}", activity.codes);
        // The console still finds it, with its state.
        let found = store
            .search_messages(&MessageSearch {
                text: Some("google".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(found.clone()), vec![gone_id]);
        assert!(found[0].hidden_at.is_some());

        let shown = store
            .set_message_hidden(gone_id, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((shown.hidden_at, shown.hidden_reason), (None, None));
        assert_eq!(store.recent_messages(e, 10, None).await.unwrap().len(), 2);
        assert!(store.set_message_hidden(999, None).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn search_filters_and_pages_by_id_and_counts_days() {
        let store = TempStore::new("search").await;
        let a = E164::parse("+447700900124").unwrap();
        let b = E164::parse("+447700900125").unwrap();
        for n in [&a, &b] {
            store.add_number(n, "").await.unwrap();
        }
        for i in 0..5 {
            store
                .insert_message(sms(&a, &format!("a{i}"), "Bank", &format!("100% code {i}")))
                .await
                .unwrap();
        }
        store
            .insert_message(sms(&b, "b", "Shop", "1000 code"))
            .await
            .unwrap();
        let search = |s: MessageSearch| {
            let store = &store;
            async move { store.search_messages(&s).await.unwrap() }
        };
        let page = search(MessageSearch {
            number: Some(a.to_string()),
            limit: 2,
            ..Default::default()
        })
        .await;
        assert_eq!(page.len(), 2);
        let next = search(MessageSearch {
            number: Some(a.to_string()),
            before_id: Some(page[1].id),
            limit: 10,
            ..Default::default()
        })
        .await;
        assert_eq!(next.len(), 3);
        assert!(next.iter().all(|r| r.id < page[1].id));
        let percent = search(MessageSearch {
            text: Some("0%".into()),
            limit: 10,
            ..Default::default()
        })
        .await;
        assert_eq!(
            percent.len(),
            5,
            "% is literal: the shop's 1000 is not found"
        );
        let shop = search(MessageSearch {
            sender: Some("Shop".into()),
            after: Some(Utc::now() - Duration::hours(1)),
            before: Some(Utc::now() + Duration::hours(1)),
            limit: 10,
            ..Default::default()
        })
        .await;
        assert_eq!(shop.len(), 1);
        let days = store
            .daily_counts(Utc::now() - Duration::days(14))
            .await
            .unwrap();
        let today = Utc::now().date_naive();
        let of = |n: &E164| days.iter().find(|d| d.number == n.as_str()).unwrap();
        assert_eq!((of(&a).day, of(&a).count), (today, 5));
        assert_eq!(of(&b).count, 1);
        let last = store.last_message_times().await.unwrap();
        assert_eq!(last.len(), 2);
    }
}
