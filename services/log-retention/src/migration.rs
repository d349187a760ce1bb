//! log-retention's own schema, applied by its own migrator: the history is
//! kept in `seaql_migrations_retention`, apart from the store crate's.
//!
//! Each migration is the SQL statements it runs for a backend, the tables
//! made from `schema`'s specs. A shipped migration must go on making what
//! it made (databases exist that ran it, and new ones must end up the
//! same): `testdata/shipped_migrations.sql` holds every statement of every
//! shipped migration, and a test compares. A change of schema is a new
//! migration.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

use crate::logstore::VISITOR_HASH;
use crate::schema::{
    AUDIT_TABLE, EVENT_TABLES, Kind, SALT_TABLE, STAT_PAGEVIEWS, STAT_TABLE, TableSpec,
};

/// Runs log-retention's migrations.
pub struct Migrator;

#[derive(DeriveIden)]
enum SeaqlMigrationsRetention {
    Table,
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        MIGRATIONS
            .iter()
            .map(|m| Box::new(*m) as Box<dyn MigrationTrait>)
            .collect()
    }

    fn migration_table_name() -> DynIden {
        SeaqlMigrationsRetention::Table.into_iden()
    }
}

/// A migration as the statements it runs, made for the backend.
#[derive(Clone, Copy)]
struct SqlMigration {
    /// Its name in the history table.
    name: &'static str,
    /// The statements of `up`.
    up: fn(DbBackend) -> Vec<String>,
    /// The statements of `down`.
    down: fn(DbBackend) -> Vec<String>,
}

/// Every migration, oldest first.
const MIGRATIONS: [SqlMigration; 6] = [
    SqlMigration {
        name: "m20261129_000001_log_tables",
        up: log_tables,
        down: drop_log_tables,
    },
    SqlMigration {
        name: "m20261129_000002_stat_tables",
        up: stat_tables,
        down: drop_stat_tables,
    },
    SqlMigration {
        name: "m20261203_000003_byte_order_keys",
        up: byte_order_keys,
        down: locale_order_keys,
    },
    SqlMigration {
        name: "m20261203_000004_stat_time_key",
        up: stat_time_key,
        down: stat_event_key,
    },
    SqlMigration {
        name: "m20261204_000005_admin_audit",
        up: audit_table,
        down: drop_audit_table,
    },
    SqlMigration {
        name: "m20261204_000006_lean_page_view_indexes",
        up: lean_page_view_indexes,
        down: full_page_view_indexes,
    },
];

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, self.up).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, self.down).await
    }
}

/// Runs the statements `sql` makes for the connection's backend, in order.
async fn run(manager: &SchemaManager<'_>, sql: fn(DbBackend) -> Vec<String>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in sql(db.get_database_backend()) {
        db.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// The three log tables, each with an index on `(visitor_id, ts)` (a
/// visitor's export and deletion) and, on SQLite, one on `ts` (the sweep;
/// Postgres sweeps by partition).
fn log_tables(backend: DbBackend) -> Vec<String> {
    let mut sql = Vec::new();
    for kind in Kind::ALL {
        let t = kind.table();
        sql.push(kind.spec().create_sql(backend));
        sql.push(format!(
            "CREATE INDEX IF NOT EXISTS {t}_visitor_idx ON {t} (visitor_id, ts)"
        ));
        if backend != DbBackend::Postgres {
            sql.push(format!("CREATE INDEX IF NOT EXISTS {t}_ts_idx ON {t} (ts)"));
        }
    }
    sql
}

fn drop_log_tables(_: DbBackend) -> Vec<String> {
    drop_tables(Kind::ALL.map(Kind::table))
}

/// The statistics: `stat_pageviews` with an index on `ts`, and the daily
/// salts.
fn stat_tables(backend: DbBackend) -> Vec<String> {
    vec![
        STAT_PAGEVIEWS.create_sql(backend),
        format!("CREATE INDEX IF NOT EXISTS {STAT_TABLE}_ts_idx ON {STAT_TABLE} (ts)"),
        format!(
            "CREATE TABLE IF NOT EXISTS {SALT_TABLE} \
             (day TEXT NOT NULL PRIMARY KEY, salt TEXT NOT NULL)"
        ),
    ]
}

fn drop_stat_tables(_: DbBackend) -> Vec<String> {
    drop_tables([STAT_TABLE, SALT_TABLE])
}

fn drop_tables<const N: usize>(tables: [&str; N]) -> Vec<String> {
    tables
        .iter()
        .map(|table| format!("DROP TABLE IF EXISTS {table}"))
        .collect()
}

/// `statements` on Postgres; nothing on SQLite (the Postgres-only
/// migrations: collations, index layout).
fn on_postgres(backend: DbBackend, statements: impl FnOnce() -> Vec<String>) -> Vec<String> {
    if backend == DbBackend::Postgres {
        statements()
    } else {
        Vec::new()
    }
}

/// Postgres: the key columns compared byte by byte (`COLLATE "C"`) instead
/// of by the database's locale (often `C.UTF-8` or `en_US.UTF-8`, compared
/// with `strcoll`). They hold ids and hex digests, whose order means
/// nothing; byte order makes every index insert of a page view's two rows
/// cheaper (about a tenth of Postgres's CPU per row here). The column
/// types do not change: no table is rewritten, but the indexes on these
/// columns are rebuilt once. Day partitions made later inherit the
/// collation. SQLite compares bytes already.
fn byte_order_keys(backend: DbBackend) -> Vec<String> {
    on_postgres(backend, || keys_collated("C"))
}

fn locale_order_keys(backend: DbBackend) -> Vec<String> {
    on_postgres(backend, || keys_collated("default"))
}

/// The key columns' `ALTER TABLE`s of [`byte_order_keys`], to `collation`:
/// every event table's `event_id`, and its visitor column (`visitor_id`,
/// the statistics' `visitor_hash`).
fn keys_collated(collation: &str) -> Vec<String> {
    EVENT_TABLES
        .iter()
        .map(|spec: &&TableSpec| {
            let visitor = if spec.name == STAT_TABLE {
                "visitor_hash"
            } else {
                "visitor_id"
            };
            format!(
                "ALTER TABLE {table} \
                 ALTER COLUMN event_id TYPE TEXT COLLATE \"{collation}\", \
                 ALTER COLUMN {visitor} TYPE TEXT COLLATE \"{collation}\"",
                table = spec.name
            )
        })
        .collect()
}

/// Postgres: one index less per page view. `stat_pageviews` had a primary
/// key `(event_id, ts)` (the idempotency of a redelivered event) and an
/// index on `ts` (the statistics' time ranges): two index inserts per row.
/// The key `(ts, event_id)` is both: the same uniqueness (`ON CONFLICT
/// (event_id, ts)` still finds it), and time ranges read it in order. Rows
/// arrive in time order, so every insert lands at the index's right edge.
/// Measured on this kind of machine: `COPY` of 200,000 rows into the
/// statistics table 1.9 s before, 1.3 s after. The indexes of existing day
/// partitions are rebuilt once, at start-up. SQLite keeps its own indexes.
fn stat_time_key(backend: DbBackend) -> Vec<String> {
    on_postgres(backend, || stat_key(true))
}

/// The reversal of [`stat_time_key`]: the key `(event_id, ts)` and the
/// index on `ts` again.
fn stat_event_key(backend: DbBackend) -> Vec<String> {
    on_postgres(backend, || stat_key(false))
}

/// The primary key of `stat_pageviews` with its columns time first (and
/// the separate index on `ts` that this makes redundant dropped) or event
/// id first (and that index made again).
fn stat_key(time_first: bool) -> Vec<String> {
    let (key, index) = if time_first {
        (
            "ts, event_id",
            format!("DROP INDEX IF EXISTS {STAT_TABLE}_ts_idx"),
        )
    } else {
        (
            "event_id, ts",
            format!("CREATE INDEX IF NOT EXISTS {STAT_TABLE}_ts_idx ON {STAT_TABLE} (ts)"),
        )
    };
    vec![
        format!(
            "ALTER TABLE {STAT_TABLE} DROP CONSTRAINT IF EXISTS {STAT_TABLE}_pkey, \
             ADD CONSTRAINT {STAT_TABLE}_pkey PRIMARY KEY ({key})"
        ),
        index,
    ]
}

/// `admin_audit`: the operator actions (`AdminActionLogged`). Few rows, so
/// a plain table on both backends (no day partitions): an id in storage
/// order (the listing's cursor), the event id unique (a redelivered event
/// is stored once) and an index on `ts` (the sweep and the time filter).
fn audit_table(backend: DbBackend) -> Vec<String> {
    let (id, ts) = if backend == DbBackend::Postgres {
        ("id BIGSERIAL PRIMARY KEY", "ts TIMESTAMPTZ NOT NULL")
    } else {
        ("id INTEGER PRIMARY KEY AUTOINCREMENT", "ts TEXT NOT NULL")
    };
    let text = |name: &str| format!("{name} TEXT NOT NULL DEFAULT ''");
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} ({id}, event_id TEXT NOT NULL UNIQUE, {ts}, \
             {}, {}, {}, {}, {})",
            text("operator"),
            text("action"),
            text("target"),
            text("detail"),
            text("trace_id"),
        ),
        format!("CREATE INDEX IF NOT EXISTS {AUDIT_TABLE}_ts_idx ON {AUDIT_TABLE} (ts)"),
    ]
}

fn drop_audit_table(_: DbBackend) -> Vec<String> {
    drop_tables([AUDIT_TABLE])
}

/// Postgres: the cheaper indexes of a page view's two rows (its
/// `access_log` row and its `stat_pageviews` row): two index inserts
/// instead of three, on smaller keys.
///
/// - `stat_pageviews` loses its primary key: a statistics row is stored
///   only with its access-log row, when that row is new (the batch writer,
///   `logstore::copy`), so the access log's unique `(event_id, ts)` keeps
///   it once. Its time ranges are read through a BRIN index on `ts` (rows
///   arrive in time order; a few bytes per 128 pages, summarized as
///   ranges fill) within the day partitions.
/// - Each log table's visitor index `(visitor_id, ts)` becomes a B-tree on
///   a 64-bit hash of the visitor id ([`VISITOR_HASH`]), for non-empty ids
///   only: the same lookups for a visitor's export and deletion (which
///   then sort that visitor's rows by time), on an 8-byte key instead of a
///   41-byte one, so fewer pages to split and to write to the WAL at
///   random places (visitor ids are random). A hash index would be smaller
///   still, but one visitor with many rows (a crawler keeping its cookie)
///   makes its inserts walk an ever longer overflow chain.
/// - Each log table's primary key becomes `(ts, event_id)`: the same
///   uniqueness (`ON CONFLICT (event_id, ts)` still finds it), compared on
///   the time first (8 bytes) instead of the 36-character event id.
///
/// Measured with `COPY` of 300,000 page views (each an access-log row and
/// a statistics row) into day partitions already holding 1.2 million, one
/// new visitor id per view: Postgres CPU 3.57 s before, 2.39 s after (11.9
/// to 8.0 µs per view), WAL 305 to 184 MB.
///
/// On an existing database this rebuilds the keys and visitor indexes of
/// every day partition once, at start-up (the rows are kept, the tables not
/// rewritten). SQLite keeps its indexes and keys.
fn lean_page_view_indexes(backend: DbBackend) -> Vec<String> {
    on_postgres(backend, || page_view_indexes(true))
}

/// The reversal of [`lean_page_view_indexes`]: the log tables keyed
/// `(event_id, ts)` with their visitor indexes on `(visitor_id, ts)` again,
/// and `stat_pageviews` keyed `(ts, event_id)` (a repeat of a statistics
/// row, if any, deleted first).
fn full_page_view_indexes(backend: DbBackend) -> Vec<String> {
    on_postgres(backend, || page_view_indexes(false))
}

fn page_view_indexes(lean: bool) -> Vec<String> {
    let mut sql = Vec::new();
    if lean {
        sql.push(format!(
            "ALTER TABLE {STAT_TABLE} DROP CONSTRAINT IF EXISTS {STAT_TABLE}_pkey"
        ));
        sql.push(format!(
            "CREATE INDEX IF NOT EXISTS {STAT_TABLE}_ts_brin ON {STAT_TABLE} \
             USING brin (ts) WITH (autosummarize = on)"
        ));
    }
    let key = if lean { "ts, event_id" } else { "event_id, ts" };
    for kind in Kind::ALL {
        let t = kind.table();
        sql.push(format!(
            "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {t}_pkey, \
             ADD CONSTRAINT {t}_pkey PRIMARY KEY ({key})"
        ));
        if lean {
            sql.push(format!("DROP INDEX IF EXISTS {t}_visitor_idx"));
            sql.push(format!(
                "CREATE INDEX IF NOT EXISTS {t}_visitor_hash_idx ON {t} ({VISITOR_HASH}) \
                 WHERE visitor_id <> ''"
            ));
        } else {
            sql.push(format!("DROP INDEX IF EXISTS {t}_visitor_hash_idx"));
            sql.push(format!(
                "CREATE INDEX IF NOT EXISTS {t}_visitor_idx ON {t} (visitor_id, ts)"
            ));
        }
    }
    if !lean {
        sql.push(format!("DROP INDEX IF EXISTS {STAT_TABLE}_ts_brin"));
        sql.push(format!(
            "DELETE FROM {STAT_TABLE} a USING {STAT_TABLE} b \
             WHERE a.event_id = b.event_id AND a.ts = b.ts AND a.ctid > b.ctid"
        ));
        sql.push(format!(
            "ALTER TABLE {STAT_TABLE} ADD CONSTRAINT {STAT_TABLE}_pkey PRIMARY KEY (ts, event_id)"
        ));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_keep_their_shipped_names() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "m20261129_000001_log_tables",
                "m20261129_000002_stat_tables",
                "m20261203_000003_byte_order_keys",
                "m20261203_000004_stat_time_key",
                "m20261204_000005_admin_audit",
                "m20261204_000006_lean_page_view_indexes"
            ]
        );
    }

    /// Every statement of every migration, up and down, on both backends,
    /// in the layout of `testdata/shipped_migrations.sql`.
    fn every_statement() -> String {
        let mut out = String::new();
        for m in MIGRATIONS {
            for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
                for (way, sql) in [("up", m.up), ("down", m.down)] {
                    out += &format!("-- {} {way} {backend:?}\n", m.name);
                    out += &sql(backend).join("\n");
                    out.push('\n');
                }
            }
        }
        out
    }

    #[test]
    fn shipped_migrations_make_what_they_made() {
        let shipped = include_str!("../testdata/shipped_migrations.sql");
        let now = every_statement();
        // Only what shipped is frozen: a newer migration may follow it.
        assert!(
            now.starts_with(shipped),
            "a shipped migration's SQL changed (write a new migration instead):\n{now}"
        );
    }
}
