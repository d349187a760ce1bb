//! log-retention's tables in one place: each table's name and columns with
//! their SQL types. The migrations create the tables from these specs, the
//! batch writer (`COPY` on Postgres, multi-row `INSERT` on SQLite) names
//! their columns from them, and the statistics queries check theirs against
//! them. The sea-orm entities (`entities/`) read the log tables; a unit test
//! below keeps them equal to the specs.

use sea_orm::DbBackend;

/// The key columns every event table starts with, before its spec's
/// columns: the event's id and time (unique together; `ts` is the day
/// partitions' key on Postgres).
pub const KEY_COLUMNS: [&str; 2] = ["event_id", "ts"];

/// The SQL type of a column after the key: every such column is `NOT NULL`
/// with a zero default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// `TEXT`, default `''`.
    Text,
    /// `BIGINT` (`INTEGER` on SQLite), default `0`.
    Integer,
}

/// A column after [`KEY_COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: SqlType,
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        ty: SqlType::Text,
    }
}

const fn int(name: &'static str) -> Column {
    Column {
        name,
        ty: SqlType::Integer,
    }
}

/// An event table: keyed by [`KEY_COLUMNS`], then `columns`.
#[derive(Debug)]
pub struct TableSpec {
    /// Table name.
    pub name: &'static str,
    /// Columns after the key, in table order.
    pub columns: &'static [Column],
}

impl TableSpec {
    /// Names of the columns after the key, in table order.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.columns.iter().map(|c| c.name)
    }

    /// True when `name` is one of the columns after the key.
    pub fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }

    /// The `CREATE TABLE` for `backend`: keyed by `(event_id, ts)` and
    /// partitioned by range of `ts` on Postgres, keyed by `event_id` on
    /// SQLite. (On Postgres a later migration,
    /// `m20261204_000006_lean_page_view_indexes`, makes the log tables'
    /// key `(ts, event_id)` and leaves `stat_pageviews` without one.)
    pub fn create_sql(&self, backend: DbBackend) -> String {
        let pg = backend == DbBackend::Postgres;
        let key = if pg {
            "event_id TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL"
        } else {
            "event_id TEXT NOT NULL PRIMARY KEY, ts TEXT NOT NULL"
        };
        let mut cols = vec![key.to_owned()];
        for Column { name, ty } in self.columns {
            let ty = match (ty, pg) {
                (SqlType::Text, _) => "TEXT NOT NULL DEFAULT ''",
                (SqlType::Integer, true) => "BIGINT NOT NULL DEFAULT 0",
                (SqlType::Integer, false) => "INTEGER NOT NULL DEFAULT 0",
            };
            cols.push(format!("\"{name}\" {ty}"));
        }
        let (t, cols) = (self.name, cols.join(", "));
        if pg {
            format!(
                "CREATE TABLE IF NOT EXISTS {t} ({cols}, PRIMARY KEY (event_id, ts)) \
                 PARTITION BY RANGE (ts)"
            )
        } else {
            format!("CREATE TABLE IF NOT EXISTS {t} ({cols})")
        }
    }

    /// Panics unless `values` (after the key) have this table's columns' types.
    #[cfg(test)]
    pub(crate) fn assert_fits(&self, values: &[sea_orm::Value]) {
        use sea_orm::Value;
        assert_eq!(values.len(), self.columns.len(), "{}", self.name);
        for (value, column) in values.iter().zip(self.columns) {
            let fits = match column.ty {
                SqlType::Text => matches!(value, Value::String(Some(_))),
                SqlType::Integer => matches!(value, Value::BigInt(Some(_))),
            };
            assert!(fits, "{}.{}: {value:?}", self.name, column.name);
        }
    }
}

/// Kinds of log rows, one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `access_log`: requests served by the gateway.
    Request,
    /// `crash_reports`: browser errors.
    Crash,
    /// `captcha_events`: captcha steps.
    Captcha,
}

impl Kind {
    /// Every kind, in table order.
    pub const ALL: [Kind; 3] = [Kind::Request, Kind::Crash, Kind::Captcha];

    /// Name used in the gRPC API and exports: `request`, `crash`, `captcha`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Crash => "crash",
            Kind::Captcha => "captcha",
        }
    }

    /// The table's spec.
    pub fn spec(self) -> &'static TableSpec {
        match self {
            Kind::Request => &ACCESS_LOG,
            Kind::Crash => &CRASH_REPORTS,
            Kind::Captcha => &CAPTCHA_EVENTS,
        }
    }

    /// Table name.
    pub fn table(self) -> &'static str {
        self.spec().name
    }

    /// Columns after `event_id` and `ts`, in table order.
    pub fn columns(self) -> impl Iterator<Item = &'static str> {
        self.spec().column_names()
    }
}

/// `access_log`: one row per request the gateway served.
pub const ACCESS_LOG: TableSpec = TableSpec {
    name: "access_log",
    columns: &[
        text("visitor_id"),
        text("ip"),
        text("method"),
        text("path"),
        int("status"),
        int("latency_us"),
        text("referrer"),
        text("browser_family"),
        text("browser_version"),
        text("os_family"),
        text("device_class"),
        text("language"),
        text("trace_id"),
    ],
};

/// `crash_reports`: one row per browser error.
pub const CRASH_REPORTS: TableSpec = TableSpec {
    name: "crash_reports",
    columns: &[
        text("visitor_id"),
        text("page"),
        text("message"),
        text("source"),
        int("line"),
        int("column"),
        text("stack"),
        text("browser_family"),
        text("os_family"),
    ],
};

/// `captcha_events`: one row per captcha step.
pub const CAPTCHA_EVENTS: TableSpec = TableSpec {
    name: "captcha_events",
    columns: &[
        text("visitor_id"),
        text("ip"),
        text("outcome"),
        int("max_number"),
        text("site_key"),
    ],
};

/// The anonymous page-view table's name.
pub const STAT_TABLE: &str = "stat_pageviews";

/// `stat_pageviews`: one anonymous row per page view (see `stats`); the
/// flags `is_bot` and `pageview` are 0 or 1, `t` is `ts` in Unix seconds.
pub const STAT_PAGEVIEWS: TableSpec = TableSpec {
    name: STAT_TABLE,
    columns: &[
        int("t"),
        text("day"),
        text("visitor_hash"),
        text("path"),
        text("number"),
        text("referrer"),
        text("utm_source"),
        text("browser"),
        text("os"),
        text("device"),
        text("country"),
        int("is_bot"),
        int("status"),
        int("pageview"),
    ],
};

/// The daily salts of the statistics (`day TEXT` key, `salt TEXT`): not an
/// event table, created by its migration.
pub const SALT_TABLE: &str = "stat_salts";

/// The audit log of operator actions (`AdminActionLogged`): not an event
/// table (an id of its own, no day partitions), created by its migration,
/// swept by `ts` like the others.
pub const AUDIT_TABLE: &str = "admin_audit";

/// Every event table (the log tables, then the statistics): all are
/// partitioned by day on Postgres and swept by `ts`.
pub const EVENT_TABLES: [&TableSpec; 4] = [
    &ACCESS_LOG,
    &CRASH_REPORTS,
    &CAPTCHA_EVENTS,
    &STAT_PAGEVIEWS,
];

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::ColumnType;
    use sea_orm::{ColumnTrait, EntityTrait, IdenStatic, Iterable};

    use super::*;
    use crate::entities::{access_log, captcha_event, crash_report};

    /// `(name, type)` of every column of entity `E`, in declaration order.
    fn entity_columns<E: EntityTrait>() -> Vec<(&'static str, ColumnType)> {
        E::Column::iter()
            .map(|c| (c.as_str(), c.def().get_column_type().clone()))
            .collect()
    }

    /// The columns of `spec` as an entity declares them.
    fn spec_columns(spec: &TableSpec) -> Vec<&'static str> {
        KEY_COLUMNS.into_iter().chain(spec.column_names()).collect()
    }

    fn assert_entity_matches<E: EntityTrait>(spec: &TableSpec) {
        assert_eq!(E::default().table_name(), spec.name);
        let columns = entity_columns::<E>();
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, spec_columns(spec), "{}", spec.name);
        for ((name, ty), column) in columns.iter().skip(KEY_COLUMNS.len()).zip(spec.columns) {
            let agrees = match column.ty {
                SqlType::Text => matches!(ty, ColumnType::String(_) | ColumnType::Text),
                SqlType::Integer => matches!(ty, ColumnType::BigInteger),
            };
            assert!(
                agrees,
                "{}.{name}: entity {ty:?}, spec {:?}",
                spec.name, column.ty
            );
        }
    }

    #[test]
    fn entities_have_the_columns_of_their_table_spec() {
        assert_entity_matches::<access_log::Entity>(Kind::Request.spec());
        assert_entity_matches::<crash_report::Entity>(Kind::Crash.spec());
        assert_entity_matches::<captcha_event::Entity>(Kind::Captcha.spec());
    }

    #[test]
    fn sqlite_tables_are_plain_and_postgres_tables_partitioned() {
        let pg = ACCESS_LOG.create_sql(DbBackend::Postgres);
        assert!(pg.contains("PRIMARY KEY (event_id, ts)"));
        assert!(pg.ends_with("PARTITION BY RANGE (ts)"));
        let lite = ACCESS_LOG.create_sql(DbBackend::Sqlite);
        assert!(lite.contains("event_id TEXT NOT NULL PRIMARY KEY"));
        assert!(!lite.contains("PARTITION"));
    }
}
