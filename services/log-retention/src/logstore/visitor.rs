//! A visitor's own rows in the log tables, behind `VisitorDataService`:
//! counted, exported page by page, deleted.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Value,
};

use super::LogStore;
use crate::entities::{access_log, captcha_event, crash_report};
use crate::schema::Kind;

/// Position in an export: rows strictly after this `(ts, event_id)`.
pub type ExportCursor = (DateTime<Utc>, String);

/// Rows of one kind kept for a visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    /// Which table.
    pub kind: Kind,
    /// Rows of the visitor.
    pub rows: u64,
    /// Oldest row's time.
    pub oldest: Option<DateTime<Utc>>,
    /// Newest row's time.
    pub newest: Option<DateTime<Utc>>,
}

/// The visitor index's expression (Postgres): the log tables are indexed on
/// a 64-bit hash of `visitor_id`, for non-empty ids only (migration
/// `m20261204_000006_lean_page_view_indexes`).
pub const VISITOR_HASH: &str = "hashtextextended(visitor_id, 0)";

/// The SQL condition that finds a visitor's rows, the visitor id bound at
/// placeholder `p` (used twice on Postgres): `visitor_id = p` and, on
/// Postgres, what the visitor index needs to be used (its expression and
/// its predicate).
pub fn visitor_condition(postgres: bool, p: &str) -> String {
    if postgres {
        format!(
            "visitor_id = {p} AND visitor_id <> '' AND {VISITOR_HASH} = hashtextextended({p}, 0)"
        )
    } else {
        format!("visitor_id = {p}")
    }
}

impl LogStore {
    /// [`visitor_condition`] for the entities' queries, `visitor` bound.
    fn of_visitor(&self, visitor: &str) -> Expr {
        let condition = visitor_condition(self.is_partitioned(), &self.db.placeholder(1));
        Expr::cust_with_values(condition, [visitor])
    }

    /// Rows, oldest and newest time of each kind for `visitor`.
    pub async fn summarize(&self, visitor: &str) -> Result<Vec<KindCount>, DbErr> {
        let db = self.db.connection();
        macro_rules! count {
            ($m:ident, $kind:expr) => {{
                let filter = self.of_visitor(visitor);
                let rows = $m::Entity::find().filter(filter.clone()).count(db).await?;
                let oldest = $m::Entity::find()
                    .filter(filter.clone())
                    .order_by_asc($m::Column::Ts)
                    .one(db)
                    .await?
                    .map(|m| m.ts);
                let newest = $m::Entity::find()
                    .filter(filter)
                    .order_by_desc($m::Column::Ts)
                    .one(db)
                    .await?
                    .map(|m| m.ts);
                KindCount {
                    kind: $kind,
                    rows,
                    oldest,
                    newest,
                }
            }};
        }
        Ok(vec![
            count!(access_log, Kind::Request),
            count!(crash_report, Kind::Crash),
            count!(captcha_event, Kind::Captcha),
        ])
    }

    /// Up to `limit` rows of `kind` for `visitor` after `after`, oldest first,
    /// as JSON objects (field names are the column names).
    pub async fn export_page(
        &self,
        kind: Kind,
        visitor: &str,
        after: Option<&ExportCursor>,
        limit: u64,
    ) -> Result<Vec<(ExportCursor, serde_json::Value)>, DbErr> {
        let db = self.db.connection();
        macro_rules! page {
            ($m:ident) => {{
                let mut query = $m::Entity::find().filter(self.of_visitor(visitor));
                if let Some((ts, id)) = after {
                    query = query.filter(
                        $m::Column::Ts.gt(*ts).or($m::Column::Ts
                            .eq(*ts)
                            .and($m::Column::EventId.gt(id.as_str()))),
                    );
                }
                query
                    .order_by_asc($m::Column::Ts)
                    .order_by_asc($m::Column::EventId)
                    .limit(limit)
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|m| {
                        let cursor = (m.ts, m.event_id.clone());
                        let json = serde_json::to_value(&m).unwrap_or(serde_json::Value::Null);
                        (cursor, json)
                    })
                    .collect()
            }};
        }
        Ok(match kind {
            Kind::Request => page!(access_log),
            Kind::Crash => page!(crash_report),
            Kind::Captcha => page!(captcha_event),
        })
    }

    /// Deletes every row of `visitor`; returns the count per kind.
    pub async fn delete_visitor(&self, visitor: &str) -> Result<Vec<(Kind, u64)>, DbErr> {
        let mut counts = Vec::new();
        let filter = visitor_condition(self.is_partitioned(), &self.db.placeholder(1));
        for kind in Kind::ALL {
            let sql = format!("DELETE FROM {} WHERE {filter}", kind.table());
            let deleted = self
                .db
                .execute(sql, vec![Value::from(visitor.to_owned())])
                .await?;
            counts.push((kind, deleted));
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Duration;

    use super::*;
    use crate::testutil::{now, rows_at, sqlite, total};

    #[tokio::test]
    async fn visitor_rows_are_summarized_exported_and_deleted() {
        let (store, _dir) = sqlite().await;
        let t0 = now() - Duration::days(2);
        let t1 = now();
        let mut rows = rows_at(t0, "me");
        rows.extend(rows_at(t1, "me"));
        rows.extend(rows_at(t1, "someone-else"));
        store.insert_batch(&rows).await.unwrap();

        let summary = store.summarize("me").await.unwrap();
        assert_eq!(summary.len(), 3);
        for k in &summary {
            assert_eq!(k.rows, 2);
            assert_eq!(k.oldest, Some(t0));
            assert_eq!(k.newest, Some(t1));
        }
        let page = store
            .export_page(Kind::Request, "me", None, 1)
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].1["visitor_id"], "me");
        let rest = store
            .export_page(Kind::Request, "me", Some(&page[0].0), 10)
            .await
            .unwrap();
        assert_eq!(rest.len(), 1, "the cursor moves past the first row");

        let counts = store.delete_visitor("me").await.unwrap();
        assert!(counts.iter().all(|(_, n)| *n == 2), "{counts:?}");
        let counts = store.delete_visitor("me").await.unwrap();
        assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
        assert_eq!(total(&store).await, 3, "other visitors keep their rows");
    }
}
