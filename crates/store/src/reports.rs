//! Takedown reports: a visitor reports a message (a reason and an optional
//! note, nothing about the visitor), the operator dismisses the report or
//! hides the message, which resolves every open report of it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entities::{message, report};
use crate::{MessageRow, Store, StoreError};

pub use crate::entities::report::Model as ReportRow;

/// Longest note a report keeps, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// Why a visitor reports a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportReason {
    /// It exposes someone's personal data.
    PersonalData,
    /// An abusive sender or text.
    Abuse,
    /// Something else (the note says what).
    Other,
}

impl ReportReason {
    /// Every reason, in the order the form lists them.
    pub const ALL: [ReportReason; 3] = [Self::PersonalData, Self::Abuse, Self::Other];

    /// The stored and submitted form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PersonalData => "personal_data",
            Self::Abuse => "abuse",
            Self::Other => "other",
        }
    }

    /// Parses [`ReportReason::as_str`]'s form exactly.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Where a report is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    /// Waiting for the operator.
    Open,
    /// The operator kept the message.
    Dismissed,
    /// The operator hid the message.
    Resolved,
}

impl ReportStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Dismissed => "dismissed",
            Self::Resolved => "resolved",
        }
    }

    /// Parses [`ReportStatus::as_str`]'s form exactly.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Open, Self::Dismissed, Self::Resolved]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A report to store.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The reported message.
    pub message_id: i64,
    /// Why.
    pub reason: ReportReason,
    /// The visitor's words (cut to [`MAX_NOTE_CHARS`]).
    pub note: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A report with its message (none when the message is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportWithMessage {
    /// The report.
    pub report: ReportRow,
    /// The message it is about, as stored.
    pub message: Option<MessageRow>,
}

/// What dismissing a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dismissed {
    /// It was open and is dismissed now.
    Done,
    /// It was dismissed or resolved already.
    NotOpen,
    /// No such report.
    Unknown,
}

impl Store {
    /// Stores a report of the message `new.message_id`: `None` when no such
    /// message is stored (nothing is stored then).
    #[tracing::instrument(name = "INSERT reports", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "INSERT", db.collection.name = "reports"))]
    pub async fn add_report(&self, new: NewReport) -> Result<Option<ReportRow>, StoreError> {
        let Some(number) = message::Entity::find_by_id(new.message_id)
            .select_only()
            .column(message::Column::Number)
            .into_tuple::<String>()
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        let row = report::ActiveModel {
            message_id: Set(new.message_id),
            number: Set(number),
            reason: Set(new.reason.as_str().to_owned()),
            note: Set(new.note.chars().take(MAX_NOTE_CHARS).collect()),
            created_at: Set(new.at),
            status: Set(ReportStatus::Open.as_str().to_owned()),
            resolved_at: Set(None),
            resolved_by: Set(None),
            ..Default::default()
        }
        .insert(self.connection())
        .await?;
        Ok(Some(row))
    }

    /// Reports with `status` (every status when `None`), newest first,
    /// strictly older than report `before` when given, at most `limit`,
    /// each with its message.
    #[tracing::instrument(name = "SELECT reports", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "reports"))]
    pub async fn list_reports(
        &self,
        status: Option<ReportStatus>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<ReportWithMessage>, StoreError> {
        let mut query = report::Entity::find();
        if let Some(status) = status {
            query = query.filter(report::Column::Status.eq(status.as_str()));
        }
        if let Some(before) = before {
            query = query.filter(report::Column::Id.lt(before));
        }
        let reports = query
            .order_by_desc(report::Column::CreatedAt)
            .order_by_desc(report::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?;
        let ids: Vec<i64> = reports.iter().map(|r| r.message_id).collect();
        let messages = if ids.is_empty() {
            Vec::new()
        } else {
            message::Entity::find()
                .filter(message::Column::Id.is_in(ids))
                .all(self.connection())
                .await?
        };
        Ok(reports
            .into_iter()
            .map(|report| ReportWithMessage {
                message: messages.iter().find(|m| m.id == report.message_id).cloned(),
                report,
            })
            .collect())
    }

    /// The message a visitor may report: one a visitor can see (stored,
    /// within its period; a hidden or expired message is no visitor's to
    /// report).
    pub async fn reportable_message(&self, id: i64) -> Result<Option<MessageRow>, StoreError> {
        let cutoffs = self.cutoffs().await;
        Ok(message::Entity::find_by_id(id)
            .one(self.connection())
            .await?
            .filter(|row| row.hidden_at.is_none() && cutoffs.shows(&row.number, row.received_at)))
    }

    /// One report.
    pub async fn report(&self, id: i64) -> Result<Option<ReportRow>, StoreError> {
        Ok(report::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    /// Dismisses open report `id` by `operator`.
    #[tracing::instrument(name = "UPDATE reports", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "UPDATE", db.collection.name = "reports"))]
    pub async fn dismiss_report(&self, id: i64, operator: &str) -> Result<Dismissed, StoreError> {
        let done = self
            .close_reports(report::Column::Id.eq(id), ReportStatus::Dismissed, operator)
            .await?;
        if done > 0 {
            return Ok(Dismissed::Done);
        }
        Ok(match self.report(id).await? {
            Some(_) => Dismissed::NotOpen,
            None => Dismissed::Unknown,
        })
    }

    /// Resolves every open report of message `message_id` (the operator hid
    /// it): how many there were.
    #[tracing::instrument(name = "UPDATE reports", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "UPDATE", db.collection.name = "reports"))]
    pub async fn resolve_reports_of(
        &self,
        message_id: i64,
        operator: &str,
    ) -> Result<u64, StoreError> {
        self.close_reports(
            report::Column::MessageId.eq(message_id),
            ReportStatus::Resolved,
            operator,
        )
        .await
    }

    /// Open reports that `which` selects become `status`, by `operator`, now.
    async fn close_reports(
        &self,
        which: sea_orm::sea_query::SimpleExpr,
        status: ReportStatus,
        operator: &str,
    ) -> Result<u64, StoreError> {
        let operator: String = operator.chars().take(64).collect();
        let result = report::Entity::update_many()
            .col_expr(report::Column::Status, Expr::value(status.as_str()))
            .col_expr(report::Column::ResolvedAt, Expr::value(Utc::now()))
            .col_expr(report::Column::ResolvedBy, Expr::value(operator))
            .filter(which)
            .filter(report::Column::Status.eq(ReportStatus::Open.as_str()))
            .exec(self.connection())
            .await?;
        Ok(result.rows_affected)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use domain::E164;

    use super::*;
    use crate::NewMessage;
    use crate::test_store::TempStore;

    async fn message(store: &Store, id: &str) -> i64 {
        let number = E164::parse("+447700900461").unwrap();
        let _ = store.add_number(&number, "").await;
        store
            .insert_message(NewMessage {
                number,
                provider: "generic".into(),
                provider_message_id: id.into(),
                sender: "Bank".into(),
                body: "call me on 07700 900123".into(),
                received_at: Utc::now(),
            })
            .await
            .unwrap()
            .row()
            .id
    }

    fn new(message_id: i64, note: &str) -> NewReport {
        NewReport {
            message_id,
            reason: ReportReason::PersonalData,
            note: note.into(),
            at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn a_report_queues_until_dismissed() {
        let store = TempStore::new("reports-queue").await;
        let id = message(&store, "m1").await;
        let report = store
            .add_report(new(id, &"n".repeat(600)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.number, "+447700900461");
        assert_eq!(report.note.chars().count(), MAX_NOTE_CHARS);
        let open = store
            .list_reports(Some(ReportStatus::Open), None, 10)
            .await
            .unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].message.as_ref().unwrap().id, id);
        assert_eq!(
            store.dismiss_report(report.id, "alice").await.unwrap(),
            Dismissed::Done
        );
        assert_eq!(
            store.dismiss_report(report.id, "alice").await.unwrap(),
            Dismissed::NotOpen
        );
        assert_eq!(
            store.dismiss_report(report.id + 99, "alice").await.unwrap(),
            Dismissed::Unknown
        );
        let dismissed = store.report(report.id).await.unwrap().unwrap();
        assert_eq!(dismissed.status, "dismissed");
        assert_eq!(dismissed.resolved_by.as_deref(), Some("alice"));
        assert!(dismissed.resolved_at.is_some());
        assert!(
            store
                .list_reports(Some(ReportStatus::Open), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.list_reports(None, None, 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn hiding_resolves_every_open_report_of_the_message_only() {
        let store = TempStore::new("reports-resolve").await;
        let hidden = message(&store, "m1").await;
        let other = message(&store, "m2").await;
        let a = store.add_report(new(hidden, "a")).await.unwrap().unwrap();
        let b = store.add_report(new(hidden, "b")).await.unwrap().unwrap();
        let c = store.add_report(new(other, "c")).await.unwrap().unwrap();
        store.dismiss_report(b.id, "bob").await.unwrap();
        assert_eq!(store.resolve_reports_of(hidden, "alice").await.unwrap(), 1);
        assert_eq!(store.resolve_reports_of(hidden, "alice").await.unwrap(), 0);
        let status = |id| {
            let store = &store;
            async move { store.report(id).await.unwrap().unwrap().status }
        };
        assert_eq!(status(a.id).await, "resolved");
        assert_eq!(status(b.id).await, "dismissed");
        assert_eq!(status(c.id).await, "open");
    }

    #[tokio::test]
    async fn an_unknown_message_stores_nothing() {
        let store = TempStore::new("reports-unknown").await;
        assert!(store.add_report(new(12345, "")).await.unwrap().is_none());
        assert!(store.list_reports(None, None, 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_queue_pages_newest_first() {
        let store = TempStore::new("reports-pages").await;
        let id = message(&store, "m1").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut report = new(id, "");
            report.at = Utc::now() + chrono::Duration::seconds(i);
            ids.push(store.add_report(report).await.unwrap().unwrap().id);
        }
        let first = store.list_reports(None, None, 2).await.unwrap();
        let first: Vec<i64> = first.iter().map(|r| r.report.id).collect();
        assert_eq!(first, vec![ids[4], ids[3]]);
        let next = store.list_reports(None, Some(ids[3]), 10).await.unwrap();
        assert_eq!(next.len(), 3);
        assert!(ReportReason::parse("personal_data").is_some());
        assert!(ReportReason::parse("Abuse").is_none());
    }
}
