#![doc = include_str!("../README.md")]

mod activity;
pub mod entities;
mod event;
mod extracted;
mod failure;
pub mod migration;
mod operator;
mod parts;
mod public;
mod registry;
mod reports;
mod retention;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test_store;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::E164;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectOptions, ConnectionTrait,
    Database, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use sea_orm_migration::MigratorTrait;

pub use activity::{NumberTotal, ServiceActivity, ServiceCodes};
pub use entities::message::Model as MessageRow;
pub use entities::number::Model as NumberRow;
use entities::{message, number};
pub use operator::{DailyCount, MAX_SEARCH, MessageSearch};
pub use parts::{MessagePart, NewMessagePart, PartGroup};
pub use registry::{Registration, Registry};
pub use reports::{
    Dismissed, MAX_NOTE_CHARS, NewReport, ReportReason, ReportRow, ReportStatus, ReportWithMessage,
};
pub use retention::{Cutoffs, Retention, Swept, oldest_shown};
pub use sea_orm::DatabaseConnection;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or a statement failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The database URL is not usable.
    #[error("database.url: {0}")]
    Url(String),
    /// The folder of the SQLite file could not be created.
    #[error("database.url: {}: {source}", path.display())]
    Folder {
        /// The folder.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A number the operation needs is not registered.
    #[error("number {0} is not registered")]
    UnknownNumber(String),
    /// A message period out of range (1 to `config::MAX_KEEP_DAYS` days).
    #[error("keep days {0}: must be 1 to {max}", max = config::MAX_KEEP_DAYS)]
    KeepDays(u32),
    /// The code extraction of a batch did not finish (the runtime is
    /// shutting down).
    #[error("code extraction did not finish: {0}")]
    Extraction(#[source] tokio::task::JoinError),
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Receiving number.
    pub number: E164,
    /// Provider route.
    pub provider: String,
    /// Provider's message id.
    pub provider_message_id: String,
    /// Sender as given.
    pub sender: String,
    /// Text.
    pub body: String,
    /// Arrival time at the provider.
    pub received_at: DateTime<Utc>,
}

/// Result of an idempotent insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now.
    New(MessageRow),
    /// Already stored earlier (a provider retry or a redelivery).
    Existing(MessageRow),
}

impl Inserted {
    /// The stored row either way.
    pub fn row(&self) -> &MessageRow {
        match self {
            Inserted::New(row) | Inserted::Existing(row) => row,
        }
    }
}

/// Position in a number's message list: messages strictly older than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `received_at` of the last message shown.
    pub received_at: DateTime<Utc>,
    /// Its id (tie-breaker).
    pub id: i64,
}

impl Cursor {
    /// The cursor after `row`.
    pub fn after(row: &MessageRow) -> Self {
        Self {
            received_at: row.received_at,
            id: row.id,
        }
    }

    /// Opaque text form for URLs: `<unix micros>_<id>`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.received_at.timestamp_micros(), self.id)
    }

    /// Parses [`Cursor::encode`]'s form; `None` when malformed.
    pub fn decode(raw: &str) -> Option<Self> {
        let (micros, id) = raw.split_once('_')?;
        Some(Self {
            received_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

/// An active number with its latest activity, for the home page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberOverview {
    /// The number.
    pub number: NumberRow,
    /// Newest message time, if any.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Messages in the last 24 hours.
    pub messages_last_day: i64,
}

#[derive(Debug, FromQueryResult)]
struct Activity {
    number: String,
    last_at: Option<DateTime<Utc>>,
    recent: i64,
}

/// Messages strictly older than `cursor` (by arrival, then id).
fn older_than(cursor: Cursor) -> sea_orm::sea_query::SimpleExpr {
    message::Column::ReceivedAt
        .lt(cursor.received_at)
        .or(message::Column::ReceivedAt
            .eq(cursor.received_at)
            .and(message::Column::Id.lt(cursor.id)))
}

/// Key of the advisory lock that serialises schema changes across processes.
const SCHEMA_LOCK_KEY: i64 = 0x636c_6f75_6473_6d73; // "cloudsms"

/// Runs `work` (schema changes) while holding a database-wide lock, so that
/// replicas starting together migrate one after the other instead of racing.
/// On Postgres an advisory lock held on one pooled connection; SQLite
/// serialises writers by itself.
pub async fn with_schema_lock<T>(
    db: &DatabaseConnection,
    work: impl Future<Output = Result<T, DbErr>>,
) -> Result<T, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return work.await;
    }
    let pool = db.get_postgres_connection_pool();
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))?;
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(SCHEMA_LOCK_KEY)
        .execute(&mut *conn)
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))?;
    let result = work.await;
    // Closing the connection would release it too; unlock to return it clean.
    let _ = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(SCHEMA_LOCK_KEY)
        .execute(&mut *conn)
        .await;
    result
}

/// Handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    retention: Retention,
}

impl Store {
    /// Connects to `url` (Postgres or SQLite). For SQLite the folder is created
    /// and WAL mode switched on, so readers never block the writer.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or_default();
            if let Some(parent) = std::path::Path::new(file).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder {
                    path: parent.to_owned(),
                    source,
                })?;
            }
        } else if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(StoreError::Url(format!(
                "unsupported scheme in {url:?}; use postgres:// or sqlite://"
            )));
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(Ord::max(max_connections, 1))
            .min_connections(0)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        let db = Database::connect(options).await?;
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
        }
        Ok(Self {
            db,
            retention: Retention::unbounded(),
        })
    }

    /// `db.system.name` of the connection (semantic conventions).
    pub fn system(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Postgres => "postgresql",
            DbBackend::Sqlite => "sqlite",
            _ => "other_sql",
        }
    }

    /// The sea-orm connection, for crates with tables of their own.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies pending migrations; safe to run from several replicas at once.
    /// Then fills the code and service of rows an older version stored
    /// without them (during a rolling upgrade, or after a rollback): one
    /// index probe when there are none.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let filled = with_schema_lock(&self.db, async {
            migration::Migrator::up(&self.db, None).await?;
            extracted::backfill(&self.db).await
        })
        .await?;
        if filled > 0 {
            tracing::info!(rows = filled, "codes extracted for messages stored without");
        }
        Ok(())
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    /// Registers `e164` (or re-activates it, updating a non-empty label).
    pub async fn add_number(&self, e164: &E164, label: &str) -> Result<NumberRow, StoreError> {
        self.add_number_from(e164, label, "").await
    }

    /// [`Store::add_number`] with the provider it is rented from (a
    /// non-empty one replaces the stored one).
    pub async fn add_number_from(
        &self,
        e164: &E164,
        label: &str,
        provider: &str,
    ) -> Result<NumberRow, StoreError> {
        let now = Utc::now();
        number::Entity::insert(number::ActiveModel {
            e164: Set(e164.as_str().to_owned()),
            country: Set(e164.country().iso2.to_owned()),
            label: Set(label.to_owned()),
            provider: Set(provider.to_owned()),
            active: Set(true),
            created_at: Set(now),
            retired_at: Set(None),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(number::Column::E164)
                .update_columns([number::Column::Active, number::Column::RetiredAt])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let mut row = self
            .find_number(e164.as_str())
            .await?
            .ok_or_else(|| StoreError::UnknownNumber(e164.to_string()))?;
        let relabel = !label.is_empty() && row.label != label;
        let reprovide = !provider.is_empty() && row.provider != provider;
        if relabel || reprovide {
            let mut active: number::ActiveModel = row.clone().into();
            if relabel {
                active.label = Set(label.to_owned());
            }
            if reprovide {
                active.provider = Set(provider.to_owned());
            }
            row = active.update(&self.db).await?;
        }
        Ok(row)
    }

    /// Retires a number: it stops receiving and is hidden. Its messages stay.
    /// Returns false when it was not registered.
    pub async fn retire_number(&self, e164: &E164) -> Result<bool, StoreError> {
        let result = number::Entity::update_many()
            .col_expr(number::Column::Active, Expr::value(false))
            .col_expr(number::Column::RetiredAt, Expr::value(Some(Utc::now())))
            .filter(number::Column::E164.eq(e164.as_str()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Sets a registered number's label (an empty one clears it). Returns
    /// false when it is not registered.
    pub async fn set_number_label(&self, e164: &E164, label: &str) -> Result<bool, StoreError> {
        let result = number::Entity::update_many()
            .col_expr(number::Column::Label, Expr::value(label))
            .filter(number::Column::E164.eq(e164.as_str()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// A number by E.164, active or not.
    #[tracing::instrument(name = "SELECT numbers", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "numbers"))]
    pub async fn find_number(&self, e164: &str) -> Result<Option<NumberRow>, StoreError> {
        Ok(number::Entity::find()
            .filter(number::Column::E164.eq(e164))
            .one(&self.db)
            .await?)
    }

    /// Which of `numbers` are registered and active, each with the time it
    /// was registered, with one query.
    #[tracing::instrument(name = "SELECT numbers", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "numbers"))]
    pub async fn active_numbers(
        &self,
        numbers: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        if numbers.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(number::Entity::find()
            .filter(number::Column::E164.is_in(numbers.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|n| n.active)
            .map(|n| (n.e164, n.created_at))
            .collect())
    }

    /// Registered numbers ordered by country then number.
    pub async fn list_numbers(&self, include_retired: bool) -> Result<Vec<NumberRow>, StoreError> {
        let mut query = number::Entity::find()
            .order_by_asc(number::Column::Country)
            .order_by_asc(number::Column::E164);
        if !include_retired {
            query = query.filter(number::Column::Active.eq(true));
        }
        Ok(query.all(&self.db).await?)
    }

    /// Stores a message once: a second insert with the same
    /// `(provider, provider_message_id)` returns the first row.
    pub async fn insert_message(&self, new: NewMessage) -> Result<Inserted, StoreError> {
        self.insert_messages(std::slice::from_ref(&new))
            .await?
            .pop()
            .ok_or(StoreError::Db(DbErr::RecordNotInserted))
    }

    /// Stores a batch of messages with one `INSERT ... ON CONFLICT DO
    /// NOTHING RETURNING` (one commit for all), then reads the ones already
    /// stored. One answer per message, in order; a message repeated inside
    /// the batch is `New` the first time and `Existing` after.
    ///
    /// Each message's verification code and service are found here, once
    /// (on a blocking thread), and stored with it: views show them as
    /// stored and never extract.
    #[tracing::instrument(name = "INSERT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "INSERT", db.collection.name = "messages", db.operation.batch.size = new.len()))]
    pub async fn insert_messages(&self, new: &[NewMessage]) -> Result<Vec<Inserted>, StoreError> {
        type Key = (String, String);
        fn key(n: &NewMessage) -> Key {
            (n.provider.clone(), n.provider_message_id.clone())
        }
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let stored_at = Utc::now();
        let found = extracted::extract_all(
            new.iter()
                .map(|n| (n.sender.clone(), n.body.clone()))
                .collect(),
        )
        .await
        .map_err(StoreError::Extraction)?;
        let models = new
            .iter()
            .zip(found)
            .map(|(n, found)| message::ActiveModel {
                number: Set(n.number.as_str().to_owned()),
                provider: Set(n.provider.clone()),
                provider_message_id: Set(n.provider_message_id.clone()),
                sender: Set(n.sender.clone()),
                body: Set(n.body.clone()),
                received_at: Set(n.received_at),
                stored_at: Set(stored_at),
                code: Set(Some(found.code)),
                service: Set(Some(found.service)),
                code_valid_secs: Set(Some(found.code_valid_secs)),
                ..Default::default()
            });
        let inserted = match message::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([
                    message::Column::Provider,
                    message::Column::ProviderMessageId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_with_returning(&self.db)
            .await
        {
            Ok(rows) => rows,
            // Every one of them was there already.
            Err(DbErr::RecordNotInserted | DbErr::RecordNotFound(_)) => Vec::new(),
            Err(err) => return Err(err.into()),
        };
        let fresh: HashMap<Key, MessageRow> = inserted
            .into_iter()
            .map(|row| ((row.provider.clone(), row.provider_message_id.clone()), row))
            .collect();
        let mut earlier: HashMap<Key, MessageRow> = HashMap::new();
        let missing: Vec<&NewMessage> = new
            .iter()
            .filter(|n| !fresh.contains_key(&key(n)))
            .collect();
        // Bounded statements: a batch of repeats reads back in chunks.
        for chunk in missing.chunks(200) {
            let mut any = Condition::any();
            for n in chunk {
                any = any.add(
                    Condition::all()
                        .add(message::Column::Provider.eq(&n.provider))
                        .add(message::Column::ProviderMessageId.eq(&n.provider_message_id)),
                );
            }
            for row in message::Entity::find().filter(any).all(&self.db).await? {
                earlier.insert((row.provider.clone(), row.provider_message_id.clone()), row);
            }
        }
        let mut seen: HashSet<Key> = HashSet::new();
        new.iter()
            .map(|n| {
                let k = key(n);
                if let Some(row) = fresh.get(&k) {
                    return Ok(if seen.insert(k) {
                        Inserted::New(row.clone())
                    } else {
                        Inserted::Existing(row.clone())
                    });
                }
                earlier
                    .get(&k)
                    .cloned()
                    .map(Inserted::Existing)
                    .ok_or_else(|| StoreError::Db(DbErr::RecordNotInserted))
            })
            .collect()
    }

    /// Newest messages of `number`, strictly older than `before` when given.
    #[tracing::instrument(name = "SELECT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "messages"))]
    pub async fn recent_messages(
        &self,
        number: &str,
        limit: u64,
        before: Option<Cursor>,
    ) -> Result<Vec<MessageRow>, StoreError> {
        self.recent_messages_from(number, None, limit, before).await
    }

    /// As [`Store::recent_messages`], only from `sender` when given.
    #[tracing::instrument(name = "SELECT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "messages"))]
    pub async fn recent_messages_from(
        &self,
        number: &str,
        sender: Option<&str>,
        limit: u64,
        before: Option<Cursor>,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let mut query = message::Entity::find()
            .filter(message::Column::Number.eq(number))
            .filter(self.cutoffs().await.number_condition(number))
            .filter(public::shown());
        if let Some(sender) = sender {
            query = query.filter(message::Column::Sender.eq(sender));
        }
        if let Some(cursor) = before {
            query = query.filter(older_than(cursor));
        }
        self.newest_first(query, limit).await
    }

    /// The messages `query` selects, newest first (by arrival, then id, the
    /// order of [`Cursor`]), at most `limit`.
    async fn newest_first(
        &self,
        query: sea_orm::Select<message::Entity>,
        limit: u64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        Ok(query
            .order_by_desc(message::Column::ReceivedAt)
            .order_by_desc(message::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// The senders of `number`, each once, the one with the newest message
    /// first, at most `limit` (for the sender filter). One grouped query, an
    /// index-only scan of the number's entries in `(number, sender,
    /// received_at, id)`: no message is loaded, but every message of the
    /// number is counted, so its cost grows with the number's history.
    #[tracing::instrument(name = "SELECT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "messages"))]
    pub async fn recent_senders(
        &self,
        number: &str,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(message::Entity::find()
            .select_only()
            .column(message::Column::Sender)
            .filter(message::Column::Number.eq(number))
            .filter(self.cutoffs().await.number_condition(number))
            .filter(public::shown())
            .group_by(message::Column::Sender)
            .order_by_desc(Expr::col(message::Column::ReceivedAt).max())
            .order_by_desc(Expr::col(message::Column::Id).max())
            .limit(limit)
            .into_tuple::<String>()
            .all(&self.db)
            .await?)
    }

    /// Newest messages across all numbers.
    #[tracing::instrument(name = "SELECT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "messages"))]
    pub async fn latest_messages(&self, limit: u64) -> Result<Vec<MessageRow>, StoreError> {
        self.latest_messages_before(limit, None).await
    }

    /// Newest messages across all numbers, strictly older than `before`
    /// when given (the older pages of `/latest`).
    #[tracing::instrument(name = "SELECT messages", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "messages"))]
    pub async fn latest_messages_before(
        &self,
        limit: u64,
        before: Option<Cursor>,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let mut query = message::Entity::find()
            .filter(self.cutoffs().await.condition())
            .filter(public::shown())
            .filter(public::of_active_numbers());
        if let Some(cursor) = before {
            query = query.filter(older_than(cursor));
        }
        self.newest_first(query, limit).await
    }

    /// Active numbers with their newest message time and 24-hour count,
    /// of the messages that may be shown.
    #[tracing::instrument(name = "SELECT numbers", skip_all, fields(otel.kind = "client", db.system.name = self.system(), db.operation.name = "SELECT", db.collection.name = "numbers"))]
    pub async fn numbers_overview(&self) -> Result<Vec<NumberOverview>, StoreError> {
        let numbers = self.list_numbers(false).await?;
        let cutoffs = self.cutoffs().await;
        let since = cutoffs.now() - chrono::Duration::hours(24);
        let activity = message::Entity::find()
            .select_only()
            .column_as(message::Column::Number, "number")
            .column_as(Expr::col(message::Column::ReceivedAt).max(), "last_at")
            .column_as(
                Expr::case(Expr::col(message::Column::ReceivedAt).gte(since), 1)
                    .finally(0)
                    .sum(),
                "recent",
            )
            .filter(cutoffs.condition())
            .filter(public::shown())
            .group_by(message::Column::Number)
            .into_model::<Activity>()
            .all(&self.db)
            .await?;
        let by_number: std::collections::HashMap<String, Activity> = activity
            .into_iter()
            .map(|a| (a.number.clone(), a))
            .collect();
        Ok(numbers
            .into_iter()
            .map(|number| {
                let activity = by_number.get(&number.e164);
                NumberOverview {
                    last_message_at: activity.and_then(|a| a.last_at),
                    messages_last_day: activity.map_or(0, |a| a.recent),
                    number,
                }
            })
            .collect())
    }
}
