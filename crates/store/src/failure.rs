//! What a failed statement says about trying again: the database refused
//! these values (permanent for them), could not be reached (every statement
//! would fail alike), or failed for a reason that may pass (busy, locked,
//! serialization, anything not known).

use sea_orm::{DbErr, RuntimeErr, SqlxError, SqlxSqliteError};

use crate::StoreError;

/// How a failure may fare when the statement is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The values themselves were refused: the same values fail again.
    Permanent,
    /// The database could not be reached.
    Unreachable,
    /// May pass on another try.
    Transient,
}

impl StoreError {
    /// True when the database refused the statement's values (a data
    /// exception, SQLSTATE class 22, e.g. 22021 for U+0000 in text; an
    /// integrity violation, class 23; a SQLite constraint, size or type
    /// error): trying the same values again cannot succeed. False for
    /// everything else (connections, pool, time-outs, serialization, SQLite
    /// busy or locked, anything not recognised), which may pass later.
    pub fn is_permanent(&self) -> bool {
        self.failure() == Failure::Permanent
    }

    /// True when the database could not be reached (no connection, pool
    /// exhausted or closed, I/O): any other statement would fail the same way.
    pub fn is_unreachable(&self) -> bool {
        self.failure() == Failure::Unreachable
    }

    fn failure(&self) -> Failure {
        match self {
            StoreError::Db(err) => db_failure(err),
            StoreError::KeepDays(_) => Failure::Permanent,
            StoreError::Url(_)
            | StoreError::Folder { .. }
            | StoreError::UnknownNumber(_)
            | StoreError::Extraction(_) => Failure::Transient,
        }
    }
}

fn db_failure(err: &DbErr) -> Failure {
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return Failure::Unreachable,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return Failure::Transient,
    };
    match sqlx.as_ref() {
        SqlxError::Database(db) => {
            let code = db.code();
            if db.try_downcast_ref::<SqlxSqliteError>().is_some() {
                sqlite_failure(code.as_deref())
            } else {
                sqlstate_failure(code.as_deref())
            }
        }
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed => Failure::Unreachable,
        _ => Failure::Transient,
    }
}

/// A Postgres SQLSTATE: classes 22 (data exception) and 23 (integrity
/// violation) are the values' fault; class 08 (connection exception) and
/// the shutdown codes of class 57 mean the server is gone.
fn sqlstate_failure(code: Option<&str>) -> Failure {
    let Some(code) = code else {
        return Failure::Transient;
    };
    if code.starts_with("22") || code.starts_with("23") {
        Failure::Permanent
    } else if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03") {
        Failure::Unreachable
    } else {
        Failure::Transient
    }
}

/// A SQLite extended result code: its low byte is the primary code.
/// `SQLITE_CONSTRAINT` (19, including a trigger's `RAISE(ABORT)`),
/// `SQLITE_TOOBIG` (18) and `SQLITE_MISMATCH` (20) are the values' fault;
/// `SQLITE_BUSY` (5), `SQLITE_LOCKED` (6) and the rest may pass.
fn sqlite_failure(code: Option<&str>) -> Failure {
    const TOOBIG: i32 = 18;
    const CONSTRAINT: i32 = 19;
    const MISMATCH: i32 = 20;
    match code.and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff) {
        Some(TOOBIG | CONSTRAINT | MISMATCH) => Failure::Permanent,
        _ => Failure::Transient,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;
    use sea_orm::{ConnAcquireErr, ConnectionTrait};

    use super::*;
    use crate::NewMessage;

    #[test]
    fn sqlstates_of_the_values_are_permanent_the_rest_is_not() {
        for code in ["22021", "22001", "22P02", "23505", "23502", "23514"] {
            assert_eq!(sqlstate_failure(Some(code)), Failure::Permanent, "{code}");
        }
        for code in ["08006", "08001", "57P01", "57P03"] {
            assert_eq!(sqlstate_failure(Some(code)), Failure::Unreachable, "{code}");
        }
        for code in ["40001", "40P01", "55P03", "53200", "57014", "XX000"] {
            assert_eq!(sqlstate_failure(Some(code)), Failure::Transient, "{code}");
        }
        assert_eq!(sqlstate_failure(None), Failure::Transient);
    }

    #[test]
    fn sqlite_constraints_are_permanent_busy_and_locked_are_not() {
        // 1811 SQLITE_CONSTRAINT_TRIGGER, 2067 _UNIQUE, 1299 _NOTNULL.
        for code in ["19", "1811", "2067", "1299", "18", "20"] {
            assert_eq!(sqlite_failure(Some(code)), Failure::Permanent, "{code}");
        }
        // 5 BUSY, 261 BUSY_RECOVERY, 517 BUSY_SNAPSHOT, 6 LOCKED, 262
        // LOCKED_SHAREDCACHE, 10 IOERR, 1 ERROR.
        for code in ["5", "261", "517", "6", "262", "10", "1"] {
            assert_eq!(sqlite_failure(Some(code)), Failure::Transient, "{code}");
        }
        assert_eq!(sqlite_failure(Some("?")), Failure::Transient);
        assert_eq!(sqlite_failure(None), Failure::Transient);
    }

    #[test]
    fn an_unreachable_database_is_neither_permanent_nor_anyone_s_fault() {
        let acquire = StoreError::Db(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        assert!(acquire.is_unreachable() && !acquire.is_permanent());
        let pool = StoreError::Db(DbErr::Query(RuntimeErr::SqlxError(Arc::new(
            SqlxError::PoolTimedOut,
        ))));
        assert!(pool.is_unreachable() && !pool.is_permanent());
        let io = StoreError::Db(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(SqlxError::Io(
            std::io::ErrorKind::ConnectionReset.into(),
        )))));
        assert!(io.is_unreachable());
        let unknown = StoreError::Db(DbErr::RecordNotInserted);
        assert!(!unknown.is_permanent() && !unknown.is_unreachable());
    }

    #[tokio::test]
    async fn a_refused_row_on_sqlite_is_permanent() {
        let store = crate::test_store::TempStore::new("failure").await;
        store
            .connection()
            .execute_unprepared(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages \
                 WHEN NEW.body LIKE '%POISON%' BEGIN SELECT RAISE(ABORT, 'poison'); END",
            )
            .await
            .unwrap();
        let number = domain::E164::parse("+447700900123").unwrap();
        store.add_number(&number, "").await.unwrap();
        let err = store
            .insert_message(NewMessage {
                number,
                provider: "generic".into(),
                provider_message_id: "p-1".into(),
                sender: "Bank".into(),
                body: "POISON".into(),
                received_at: Utc::now(),
            })
            .await
            .unwrap_err();
        assert!(err.is_permanent(), "{err:?}");
        assert!(!err.is_unreachable());
    }
}
