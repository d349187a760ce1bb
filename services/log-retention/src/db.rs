//! The database handle the log tables (`logstore`) and the statistics
//! (`stats`) share: the connection, statements written for its backend
//! (placeholders differ), and the small helpers both sides' queries use.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement, Value,
};

/// A connection to the database holding log-retention's tables; cheap to
/// clone.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    conn: DatabaseConnection,
}

impl Db {
    /// Wraps a connection (usually the store crate's).
    pub(crate) fn new(conn: DatabaseConnection) -> Self {
        Self { conn }
    }

    /// The connection.
    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// True on Postgres (partitioned tables, `$n` placeholders, `COPY`).
    pub(crate) fn is_postgres(&self) -> bool {
        self.conn.get_database_backend() == DbBackend::Postgres
    }

    /// The `n`th (1-based) bind placeholder: `$n` on Postgres, `?` on SQLite.
    pub(crate) fn placeholder(&self, n: usize) -> String {
        if self.is_postgres() {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    /// `sql` with `values` bound, for this backend.
    pub(crate) fn stmt(&self, sql: String, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.conn.get_database_backend(), sql, values)
    }

    /// Runs `sql` with `values`; returns the rows it affected.
    pub(crate) async fn execute(&self, sql: String, values: Vec<Value>) -> Result<u64, DbErr> {
        Ok(self
            .conn
            .execute_raw(self.stmt(sql, values))
            .await?
            .rows_affected())
    }

    /// The first row of `sql` with `values`.
    pub(crate) async fn one(
        &self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Option<QueryResult>, DbErr> {
        self.conn.query_one_raw(self.stmt(sql, values)).await
    }

    /// Every row of `sql` with `values`.
    pub(crate) async fn all(
        &self,
        sql: String,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, DbErr> {
        self.conn.query_all_raw(self.stmt(sql, values)).await
    }

    /// The column `n` of the one row of `sql` (a `COUNT(*) AS n`); 0 for no row.
    pub(crate) async fn count(&self, sql: String, values: Vec<Value>) -> Result<u64, DbErr> {
        self.one(sql, values)
            .await?
            .map_or(Ok(0), |row| get_u64(&row, "n"))
    }
}

/// The count in column `col` of `row`; `NULL` and negatives read as 0.
pub(crate) fn get_u64(row: &QueryResult, col: &str) -> Result<u64, DbErr> {
    let n = row.try_get::<Option<i64>>("", col)?.unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Start of `day` (UTC): the bound of the day's partition and of a day's
/// queries.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}
