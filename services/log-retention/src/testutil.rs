//! Helpers of the unit tests: a migrated log store on a fresh SQLite file,
//! and log rows to put in it.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use proto::events::v1::{CaptchaEvent, CrashReported, RequestLogged, RouteKind};

use crate::{Kind, LogRow, LogStore};

/// A migrated log store on a SQLite file in a temporary folder (kept
/// while the folder lives).
pub(crate) async fn sqlite() -> (LogStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/logs.db?mode=rwc", dir.path().display());
    let store = store::Store::connect(&url, 1).await.unwrap();
    let logs = LogStore::new(store.connection().clone());
    logs.migrate().await.unwrap();
    // Twice: the migrator is idempotent.
    logs.migrate().await.unwrap();
    (logs, dir)
}

/// `t` as an event's timestamp.
pub(crate) fn ts(t: DateTime<Utc>) -> Option<proto::Timestamp> {
    Some(proto::timestamp_from_unix_millis(t.timestamp_millis()))
}

/// One row of each kind at `t` for `visitor` (the request a page view).
pub(crate) fn rows_at(t: DateTime<Utc>, visitor: &str) -> Vec<LogRow> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    vec![
        LogRow::from_request(
            RequestLogged {
                event_id: format!("r-{id}"),
                ts: ts(t),
                visitor_id: visitor.into(),
                method: "GET".into(),
                path: "/latest".into(),
                status: 200,
                route: "/latest".into(),
                route_kind: RouteKind::Page.into(),
                ..Default::default()
            },
            t,
        ),
        LogRow::from_crash(
            CrashReported {
                event_id: format!("c-{id}"),
                ts: ts(t),
                visitor_id: visitor.into(),
                message: "boom, \"quoted\"".into(),
                ..Default::default()
            },
            t,
        ),
        LogRow::from_captcha(
            CaptchaEvent {
                event_id: format!("k-{id}"),
                ts: ts(t),
                visitor_id: visitor.into(),
                outcome: 2,
                max_number: 50_000,
                ..Default::default()
            },
            t,
        ),
    ]
}

/// A fixed "now" of the tests.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 6, 15, 12, 30, 0).unwrap()
}

/// Rows of every log table.
pub(crate) async fn total(store: &LogStore) -> u64 {
    let mut n = 0;
    for kind in Kind::ALL {
        n += store.count(kind).await.unwrap();
    }
    n
}
