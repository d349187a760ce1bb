//! The audit log's table, `admin_audit`: operator actions stored once each
//! (the unique event id), listed newest first with filters and a cursor,
//! and swept by `ts` with the server logs. It holds what operators did,
//! not what visitors did: a visitor's export and deletion leave it alone.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};

use super::LogStore;
use crate::entities::admin_audit;
use crate::schema::AUDIT_TABLE;

/// Entries a listing returns when it names no limit.
pub const AUDIT_DEFAULT_LIMIT: u64 = 100;
/// The most entries one listing returns.
pub const AUDIT_MAX_LIMIT: u64 = 1000;
/// Rows per `DELETE` when the sweep removes old entries.
pub const AUDIT_DELETE_BATCH: u64 = 1000;

/// One operator action, ready to store (its id comes from the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// The event's id.
    pub event_id: String,
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// The operator token's name.
    pub operator: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// The reason or the new value.
    pub detail: String,
    /// The request's trace id.
    pub trace_id: String,
}

/// Which entries a listing returns: every filter that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
    /// This operator exactly.
    pub operator: Option<String>,
    /// This action exactly.
    pub action: Option<String>,
    /// This target exactly.
    pub target: Option<String>,
    /// Entries with an id below this one (the previous page's last).
    pub before: Option<i64>,
    /// At most this many ([`AUDIT_MAX_LIMIT`] when larger).
    pub limit: u64,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<admin_audit::Model>,
    /// The `before` of the next page; `None` when this page is the last.
    pub next: Option<i64>,
}

impl LogStore {
    /// Stores `rows` in one statement, each event once; returns the rows
    /// inserted (repeats of stored events, and inside `rows`, are skipped).
    pub async fn insert_audit(&self, rows: &[AuditRow]) -> Result<u64, DbErr> {
        let models = rows.iter().map(|row| admin_audit::ActiveModel {
            id: ActiveValue::NotSet,
            event_id: ActiveValue::Set(row.event_id.clone()),
            ts: ActiveValue::Set(row.ts),
            operator: ActiveValue::Set(row.operator.clone()),
            action: ActiveValue::Set(row.action.clone()),
            target: ActiveValue::Set(row.target.clone()),
            detail: ActiveValue::Set(row.detail.clone()),
            trace_id: ActiveValue::Set(row.trace_id.clone()),
        });
        let result = admin_audit::Entity::insert_many(models)
            .on_conflict_do_nothing_on([admin_audit::Column::EventId])
            .exec_without_returning(self.connection())
            .await?;
        Ok(match result {
            TryInsertResult::Inserted(n) => n,
            TryInsertResult::Empty | TryInsertResult::Conflicted => 0,
        })
    }

    /// A page of the audit log matching `query`, newest first (by id: the
    /// order the actions were stored in).
    pub async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, DbErr> {
        use admin_audit::Column;
        let limit = query.limit.clamp(1, AUDIT_MAX_LIMIT);
        let mut select = admin_audit::Entity::find();
        if let Some(from) = query.from {
            select = select.filter(Column::Ts.gte(from));
        }
        if let Some(to) = query.to {
            select = select.filter(Column::Ts.lt(to));
        }
        for (column, value) in [
            (Column::Operator, &query.operator),
            (Column::Action, &query.action),
            (Column::Target, &query.target),
        ] {
            if let Some(value) = value {
                select = select.filter(column.eq(value.as_str()));
            }
        }
        if let Some(before) = query.before {
            select = select.filter(Column::Id.lt(before));
        }
        // One more than asked: whether a next page exists.
        let mut entries = select
            .order_by_desc(Column::Id)
            .limit(limit + 1)
            .all(self.connection())
            .await?;
        let more = u64::try_from(entries.len()).unwrap_or(u64::MAX) > limit;
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more {
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }

    /// Entries in the audit log (for tests and metrics).
    pub async fn count_audit(&self) -> Result<u64, DbErr> {
        admin_audit::Entity::find().count(self.connection()).await
    }

    /// Deletes the entries older than `cutoff`, in batches of
    /// [`AUDIT_DELETE_BATCH`]; returns how many.
    pub(super) async fn sweep_audit(&self, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
        let sql = format!(
            "DELETE FROM {AUDIT_TABLE} WHERE id IN \
             (SELECT id FROM {AUDIT_TABLE} WHERE ts < {p} LIMIT {AUDIT_DELETE_BATCH})",
            p = self.db.placeholder(1)
        );
        let mut deleted = 0;
        loop {
            let n = self
                .db
                .execute(sql.clone(), vec![sea_orm::Value::from(cutoff)])
                .await?;
            deleted += n;
            if n < AUDIT_DELETE_BATCH {
                return Ok(deleted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Duration;

    use super::*;
    use crate::testutil::{now, sqlite};

    fn row(id: &str, at: DateTime<Utc>, operator: &str, action: &str, target: &str) -> AuditRow {
        AuditRow {
            event_id: id.into(),
            ts: at,
            operator: operator.into(),
            action: action.into(),
            target: target.into(),
            detail: format!("detail of {id}"),
            trace_id: String::new(),
        }
    }

    fn ids(page: &AuditPage) -> Vec<&str> {
        page.entries.iter().map(|e| e.event_id.as_str()).collect()
    }

    #[tokio::test]
    async fn actions_are_stored_once_and_listed_newest_first() {
        let (store, _dir) = sqlite().await;
        let t = now();
        let rows = vec![
            row(
                "a",
                t - Duration::hours(3),
                "alice",
                "number.add",
                "+447700900001",
            ),
            row(
                "b",
                t - Duration::hours(2),
                "bob",
                "number.retire",
                "+447700900001",
            ),
            row("c", t - Duration::hours(1), "alice", "message.hide", "42"),
        ];
        assert_eq!(store.insert_audit(&rows).await.unwrap(), 3);
        // Redelivered, with a repeat inside: nothing more.
        let mut again = rows.clone();
        again.push(rows[0].clone());
        assert_eq!(store.insert_audit(&again).await.unwrap(), 0);
        assert_eq!(store.insert_audit(&[]).await.unwrap(), 0);
        assert_eq!(store.count_audit().await.unwrap(), 3);

        let all = |limit| AuditQuery {
            limit,
            ..Default::default()
        };
        let page = store.audit_page(&all(100)).await.unwrap();
        assert_eq!(ids(&page), ["c", "b", "a"]);
        assert_eq!(page.next, None);
        assert_eq!(page.entries[0].ts, rows[2].ts, "times read back exactly");
        assert_eq!(page.entries[0].detail, "detail of c");

        // Paging: two, then the rest.
        let first = store.audit_page(&all(2)).await.unwrap();
        assert_eq!(ids(&first), ["c", "b"]);
        let rest = store
            .audit_page(&AuditQuery {
                before: first.next,
                ..all(2)
            })
            .await
            .unwrap();
        assert_eq!(ids(&rest), ["a"]);
        assert_eq!(rest.next, None);

        // Filters.
        let by = |q: AuditQuery| {
            let store = store.clone();
            async move { store.audit_page(&q).await.unwrap() }
        };
        let alice = by(AuditQuery {
            operator: Some("alice".into()),
            ..all(10)
        })
        .await;
        assert_eq!(ids(&alice), ["c", "a"]);
        let retire = by(AuditQuery {
            action: Some("number.retire".into()),
            ..all(10)
        })
        .await;
        assert_eq!(ids(&retire), ["b"]);
        let number = by(AuditQuery {
            target: Some("+447700900001".into()),
            ..all(10)
        })
        .await;
        assert_eq!(ids(&number), ["b", "a"]);
        let range = by(AuditQuery {
            from: Some(t - Duration::hours(2)),
            to: Some(t - Duration::hours(1)),
            ..all(10)
        })
        .await;
        assert_eq!(ids(&range), ["b"], "from included, to excluded");
    }

    #[tokio::test]
    async fn old_actions_are_swept_with_the_logs() {
        let (store, _dir) = sqlite().await;
        let t = now();
        let rows: Vec<AuditRow> = (0..2_300)
            .map(|i| row(&format!("old-{i}"), t - Duration::days(200), "a", "x", ""))
            .chain([row("new", t - Duration::days(10), "a", "x", "")])
            .collect();
        for chunk in rows.chunks(500) {
            store.insert_audit(chunk).await.unwrap();
        }
        let report = store.sweep(t, 183).await.unwrap();
        assert_eq!(report.audit_deleted_rows, 2_300);
        assert_eq!(store.count_audit().await.unwrap(), 1);
        assert!(store.sweep(t, 183).await.unwrap().is_empty());
    }
}
