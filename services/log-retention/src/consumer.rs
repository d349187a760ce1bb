//! The LOGS consumer: one durable batch consumer on `logs.>` that decodes
//! request logs (batched per gateway, `logs.requests`, or single,
//! `logs.request`), crash reports and captcha events (batched,
//! `logs.captchas`, or single, `logs.captcha`) and stores each batch in
//! one transaction (`COPY` through staging tables on Postgres, multi-row
//! inserts on SQLite; see `LogStore::insert_batch`), acking only after the
//! commit. A crash mid-batch redelivers the batch; the unique `(event_id,
//! ts)` (SQLite: `event_id`) keeps the redelivered rows from being stored
//! twice. Operator actions (`logs.admin`) go to the audit log
//! (`LogStore::insert_audit`, one statement per batch, unique `event_id`).

use std::time::Duration;

use bus::{BatchMessage, BatchOptions, Event as _, HandlerError, StreamKind};
use chrono::{DateTime, Utc};
use prost::Message;
use proto::events::v1::{
    AdminActionLogged, CaptchaEvent, CaptchaEvents, CrashReported, RequestLogged, RequestsLogged,
};
use tokio_util::sync::CancellationToken;

use crate::logstore::{AuditRow, LogStore, cutoff};
use crate::rows::LogRow;
use platform::Clock;

/// Durable consumer name shared by every replica.
pub const CONSUMER: &str = "log-retention";

/// Longest wait for a batch to fill once its first message arrived.
pub const BATCH_WAIT: Duration = Duration::from_millis(200);

/// Most payload bytes gathered into one transaction (about 16,000 request
/// rows). Large transactions when a backlog is there: each table's rows go
/// in one `COPY` on Postgres, whose fixed costs (a commit's flush, and
/// about 40 ms per `COPY` on TCP: sqlx 0.9.0 leaves Nagle's algorithm on,
/// so its final `CopyDone` waits for the server's delayed ACK) are then
/// spread over many rows. A quiet stream still gets small, quick batches.
pub const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Single-row retries of a failed batch give up after this many failures in a row.
const MAX_FAILURES_IN_A_ROW: usize = 3;

/// Events stamped further ahead than this are refused (a bad producer clock).
pub const MAX_FUTURE: chrono::Duration = chrono::Duration::days(1);

/// Checks one decoded row: `Ok(None)` for an event already past the
/// retention (acked, never stored). The row's time is always the event's
/// own (never the consumer's clock), so a redelivery hits the unique key.
fn check(
    row: LogRow,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<Option<LogRow>, HandlerError> {
    Ok(admissible(row.event_id(), row.ts(), now, retention_days)?.then_some(row))
}

/// Whether an event with this id and time is stored: an error for one
/// without an id or a valid time or from the future, false for one already
/// past the retention.
fn admissible(
    event_id: &str,
    ts: DateTime<Utc>,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<bool, HandlerError> {
    if event_id.is_empty() {
        return Err(HandlerError::Permanent("event without event_id".into()));
    }
    if ts == MISSING_TS {
        return Err(HandlerError::Permanent("event without a valid ts".into()));
    }
    if ts > now + MAX_FUTURE {
        return Err(HandlerError::Permanent(format!(
            "event ts {ts} is in the future"
        )));
    }
    Ok(ts >= cutoff(now, retention_days))
}

/// Sentinel for a missing or unrepresentable timestamp, refused by `check`.
const MISSING_TS: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;

/// The rows of a batch message's events: an invalid event is left out (with
/// a warning) and the others are stored.
fn batch_rows<E>(
    events: Vec<E>,
    batch_id: &str,
    to_row: fn(E, DateTime<Utc>) -> LogRow,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Vec<LogRow> {
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        match check(to_row(event, MISSING_TS), now, retention_days) {
            Ok(row) => rows.extend(row),
            Err(err) => tracing::warn!(%err, batch = %batch_id, "log event left out of its batch"),
        }
    }
    rows
}

/// Decodes one message into the rows to store (none for events already
/// past the retention). A single event that is invalid fails its message;
/// in a `RequestsLogged` batch an invalid event is left out (with a
/// warning) and the others are stored.
pub fn decode(
    message: &BatchMessage,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<Vec<LogRow>, HandlerError> {
    let undecodable =
        |e: prost::DecodeError| HandlerError::Permanent(format!("undecodable payload: {e}"));
    let payload = message.payload.clone();
    let subject = message.subject.as_str();
    let row = if RequestsLogged::matches(subject) {
        let batch = RequestsLogged::decode(payload).map_err(undecodable)?;
        return Ok(batch_rows(
            batch.requests,
            &batch.batch_id,
            LogRow::from_request,
            now,
            retention_days,
        ));
    } else if CaptchaEvents::matches(subject) {
        let batch = CaptchaEvents::decode(payload).map_err(undecodable)?;
        return Ok(batch_rows(
            batch.events,
            &batch.batch_id,
            LogRow::from_captcha,
            now,
            retention_days,
        ));
    } else if RequestLogged::matches(subject) {
        LogRow::from_request(
            RequestLogged::decode(payload).map_err(undecodable)?,
            MISSING_TS,
        )
    } else if CrashReported::matches(subject) {
        LogRow::from_crash(
            CrashReported::decode(payload).map_err(undecodable)?,
            MISSING_TS,
        )
    } else if CaptchaEvent::matches(subject) {
        LogRow::from_captcha(
            CaptchaEvent::decode(payload).map_err(undecodable)?,
            MISSING_TS,
        )
    } else {
        return Err(HandlerError::Permanent(format!(
            "unknown log subject {subject}"
        )));
    };
    Ok(check(row, now, retention_days)?.into_iter().collect())
}

/// Handles one batch: the outcome of every message, in order. Operator
/// actions go to the audit log, the rest to the log tables.
pub async fn handle_batch(
    store: &LogStore,
    messages: Vec<BatchMessage>,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Vec<Result<(), HandlerError>> {
    if !messages
        .iter()
        .any(|m| AdminActionLogged::matches(&m.subject))
    {
        return handle_log_batch(store, messages, now, retention_days).await;
    }
    let count = messages.len();
    let (audit, logs): (Vec<_>, Vec<_>) = messages
        .into_iter()
        .enumerate()
        .partition(|(_, m)| AdminActionLogged::matches(&m.subject));
    let (audit_at, audit): (Vec<usize>, Vec<BatchMessage>) = audit.into_iter().unzip();
    let (logs_at, logs): (Vec<usize>, Vec<BatchMessage>) = logs.into_iter().unzip();
    let mut outcomes: Vec<Result<(), HandlerError>> = Vec::with_capacity(count);
    outcomes.resize_with(count, || Ok(()));
    let audit_outcomes = handle_audit_batch(store, &audit, now, retention_days).await;
    let log_outcomes = if logs.is_empty() {
        Vec::new()
    } else {
        handle_log_batch(store, logs, now, retention_days).await
    };
    for (at, outcome) in audit_at
        .into_iter()
        .zip(audit_outcomes)
        .chain(logs_at.into_iter().zip(log_outcomes))
    {
        outcomes[at] = outcome;
    }
    outcomes
}

/// The audit row of one `logs.admin` message: none for an action already
/// past the retention.
fn decode_audit(
    message: &BatchMessage,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<Option<AuditRow>, HandlerError> {
    let event = AdminActionLogged::decode(message.payload.clone())
        .map_err(|e| HandlerError::Permanent(format!("undecodable payload: {e}")))?;
    let row = AuditRow::from_event(event, MISSING_TS);
    Ok(admissible(&row.event_id, row.ts, now, retention_days)?.then_some(row))
}

/// Stores the operator actions of a batch in one statement (each once:
/// the unique event id); when that fails, one by one, so that one bad row
/// holds no other back.
async fn handle_audit_batch(
    store: &LogStore,
    messages: &[BatchMessage],
    now: DateTime<Utc>,
    retention_days: u32,
) -> Vec<Result<(), HandlerError>> {
    let decoded: Vec<Result<Option<AuditRow>, HandlerError>> = messages
        .iter()
        .map(|m| decode_audit(m, now, retention_days))
        .collect();
    let rows: Vec<AuditRow> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok().and_then(Clone::clone))
        .collect();
    let batch = store.insert_audit(&rows).await;
    let mut outcomes = Vec::with_capacity(decoded.len());
    for d in decoded {
        outcomes.push(match (d, &batch) {
            (Err(e), _) => Err(e),
            (Ok(None), _) | (Ok(Some(_)), Ok(_)) => Ok(()),
            (Ok(Some(row)), Err(err)) if rows.len() == 1 => {
                tracing::warn!(error = %err, event = %row.event_id, "audit entry not stored");
                Err(HandlerError::Transient(err.to_string()))
            }
            (Ok(Some(row)), Err(_)) => store
                .insert_audit(std::slice::from_ref(&row))
                .await
                .map(|_| ())
                .map_err(|e| HandlerError::Transient(e.to_string())),
        });
    }
    outcomes
}

/// Handles a batch of server-log messages: the outcome of every message, in order.
async fn handle_log_batch(
    store: &LogStore,
    messages: Vec<BatchMessage>,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Vec<Result<(), HandlerError>> {
    let started = std::time::Instant::now();
    // Every message's rows, in one vector (moved, not copied: a batch holds
    // thousands of rows); each message keeps the range of its own.
    let mut rows: Vec<LogRow> = Vec::new();
    let decoded: Vec<Result<std::ops::Range<usize>, HandlerError>> = messages
        .iter()
        .map(|m| {
            decode(m, now, retention_days).map(|mine| {
                let first = rows.len();
                rows.extend(mine);
                first..rows.len()
            })
        })
        .collect();
    let decoded_in = started.elapsed();
    match store.insert_batch(&rows).await {
        Ok(inserted) => {
            tracing::debug!(
                batch = messages.len(),
                inserted,
                decode_ms = decoded_in.as_secs_f64() * 1e3,
                total_ms = started.elapsed().as_secs_f64() * 1e3,
                "log batch stored"
            );
            decoded.into_iter().map(|d| d.map(|_| ())).collect()
        }
        Err(err) if decoded.len() > 1 => {
            // Find the messages that fail on their own; the others are stored.
            tracing::warn!(error = %err, "log batch failed; storing its messages one by one");
            // When the database itself is down every row fails: stop trying
            // after a few failures in a row and let the rest come back later.
            let mut failures_in_a_row = 0;
            let mut outcomes = Vec::with_capacity(decoded.len());
            for d in decoded {
                outcomes.push(match d {
                    Ok(range) if range.is_empty() => Ok(()),
                    Ok(_) if failures_in_a_row >= MAX_FAILURES_IN_A_ROW => {
                        Err(HandlerError::Transient(err.to_string()))
                    }
                    Ok(range) => match store.insert_batch(&rows[range]).await {
                        Ok(_) => {
                            failures_in_a_row = 0;
                            Ok(())
                        }
                        Err(e) => {
                            failures_in_a_row += 1;
                            Err(HandlerError::Transient(e.to_string()))
                        }
                    },
                    Err(e) => Err(e),
                });
            }
            outcomes
        }
        Err(err) => decoded
            .into_iter()
            .map(|d| match d {
                Ok(range) if !range.is_empty() => Err(HandlerError::Transient(err.to_string())),
                other => other.map(|_| ()),
            })
            .collect(),
    }
}

/// Runs the consumer until `shutdown`.
pub async fn run(
    bus: bus::Bus,
    store: LogStore,
    clock: Clock,
    retention_days: u32,
    batch_size: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let options = BatchOptions {
        max_messages: batch_size.max(1),
        max_wait: BATCH_WAIT,
        // A gateway's batch carries hundreds of events: bound the rows (and
        // the memory) of one transaction by size too.
        max_bytes: BATCH_BYTES,
    };
    bus.run_batch_consumer(
        StreamKind::Logs,
        CONSUMER,
        StreamKind::Logs.filter(),
        options,
        shutdown,
        |messages| {
            let store = store.clone();
            let now = clock.now();
            async move { handle_batch(&store, messages, now, retention_days).await }
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::schema::Kind;

    fn encode(m: &impl Message) -> Vec<u8> {
        m.encode_to_vec()
    }

    fn message(subject: &str, payload: Vec<u8>, delivered: i64) -> BatchMessage {
        BatchMessage {
            subject: subject.into(),
            payload: payload.into(),
            delivered,
            span: tracing::Span::none(),
        }
    }

    fn request(id: &str, ts: DateTime<Utc>) -> Vec<u8> {
        encode(&RequestLogged {
            event_id: id.into(),
            ts: Some(proto::timestamp_from_unix_millis(ts.timestamp_millis())),
            visitor_id: "v".into(),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn a_batch_is_stored_once_and_bad_messages_are_dead_lettered() {
        let (logs, _dir) = crate::testutil::sqlite().await;
        let now = Utc::now();
        let batch = || {
            vec![
                message("logs.request", request("a", now), 1),
                message("logs.request", vec![0xff, 0xff, 0xff], 1),
                message(
                    "logs.request",
                    request("old", now - chrono::Duration::days(400)),
                    1,
                ),
                message("logs.other", request("b", now), 1),
                message(
                    "logs.request",
                    request("future", now + chrono::Duration::days(30)),
                    1,
                ),
                message(
                    "logs.crash",
                    encode(&CrashReported {
                        event_id: "c".into(),
                        ts: Some(proto::timestamp_from_unix_millis(now.timestamp_millis())),
                        ..Default::default()
                    }),
                    1,
                ),
                message(
                    "logs.crash",
                    encode(&CrashReported {
                        event_id: "no-ts".into(),
                        ..Default::default()
                    }),
                    1,
                ),
            ]
        };
        let outcomes = handle_batch(&logs, batch(), now, 183).await;
        assert_eq!(outcomes.len(), 7);
        assert!(outcomes[0].is_ok());
        assert!(matches!(outcomes[1], Err(HandlerError::Permanent(_))));
        assert!(outcomes[2].is_ok(), "past the retention: acked, not stored");
        assert!(matches!(outcomes[3], Err(HandlerError::Permanent(_))));
        assert!(matches!(outcomes[4], Err(HandlerError::Permanent(_))));
        assert!(outcomes[5].is_ok());
        assert!(matches!(outcomes[6], Err(HandlerError::Permanent(_))));
        // The whole batch redelivered later (a crash before the acks): no duplicates.
        let later = now + chrono::Duration::seconds(5);
        let again = handle_batch(&logs, batch(), later, 183).await;
        assert!(again[0].is_ok() && again[5].is_ok());
        assert_eq!(logs.count(Kind::Request).await.unwrap(), 1);
        assert_eq!(logs.count(Kind::Crash).await.unwrap(), 1);
    }

    /// A batch message on `subject` holding five events (valid now, without
    /// an id, valid 30 s ago, past the retention, from the future): the two
    /// valid ones are stored, once even when the batch is redelivered, and an
    /// undecodable batch is dead-lettered.
    async fn batch_stores_its_valid_events_once(
        subject: &str,
        kind: Kind,
        encode_batch: impl Fn(Vec<(&'static str, DateTime<Utc>)>) -> Vec<u8>,
    ) {
        let (logs, _dir) = crate::testutil::sqlite().await;
        let now = Utc::now();
        let payload = encode_batch(vec![
            ("e1", now),
            ("", now),
            ("e2", now - chrono::Duration::seconds(30)),
            ("e-old", now - chrono::Duration::days(400)),
            ("e-future", now + chrono::Duration::days(30)),
        ]);
        let messages = || vec![message(subject, payload.clone(), 1)];
        let outcomes = handle_batch(&logs, messages(), now, 183).await;
        assert!(outcomes[0].is_ok(), "{outcomes:?}");
        assert_eq!(logs.count(kind).await.unwrap(), 2);
        // Redelivered (a crash before the ack): stored once.
        assert!(handle_batch(&logs, messages(), now, 183).await[0].is_ok());
        assert_eq!(logs.count(kind).await.unwrap(), 2);
        let garbage = handle_batch(&logs, vec![message(subject, vec![0xff; 3], 1)], now, 183).await;
        assert!(matches!(garbage[0], Err(HandlerError::Permanent(_))));
    }

    fn ts(at: DateTime<Utc>) -> Option<proto::Timestamp> {
        Some(proto::timestamp_from_unix_millis(at.timestamp_millis()))
    }

    fn audit(id: &str, at: Option<DateTime<Utc>>, action: &str) -> Vec<u8> {
        encode(&AdminActionLogged {
            event_id: id.into(),
            ts: at.and_then(ts),
            operator: "alice".into(),
            action: action.into(),
            target: "+447700900001".into(),
            detail: "rotation".into(),
            trace_id: "t".into(),
        })
    }

    #[tokio::test]
    async fn operator_actions_go_to_the_audit_log_once_beside_the_logs() {
        let (logs, _dir) = crate::testutil::sqlite().await;
        let now = Utc::now();
        let batch = || {
            vec![
                message("logs.request", request("r1", now), 1),
                message("logs.admin", audit("a1", Some(now), "number.add"), 1),
                message("logs.admin", vec![0xff, 0xff], 1),
                message(
                    "logs.admin",
                    audit("a-old", Some(now - chrono::Duration::days(400)), "x"),
                    1,
                ),
                message("logs.admin", audit("", Some(now), "x"), 1),
                message("logs.admin", audit("a-no-ts", None, "x"), 1),
                message(
                    "logs.admin",
                    audit(
                        "a2",
                        Some(now + chrono::Duration::seconds(1)),
                        "number.retire",
                    ),
                    1,
                ),
            ]
        };
        for _ in 0..2 {
            // The second time: the whole batch redelivered.
            let outcomes = handle_batch(&logs, batch(), now, 183).await;
            assert_eq!(outcomes.len(), 7);
            assert!(outcomes[0].is_ok() && outcomes[1].is_ok(), "{outcomes:?}");
            assert!(matches!(outcomes[2], Err(HandlerError::Permanent(_))));
            assert!(outcomes[3].is_ok(), "past the retention: acked, not stored");
            assert!(matches!(outcomes[4], Err(HandlerError::Permanent(_))));
            assert!(matches!(outcomes[5], Err(HandlerError::Permanent(_))));
            assert!(outcomes[6].is_ok());
        }
        assert_eq!(logs.count(Kind::Request).await.unwrap(), 1);
        assert_eq!(logs.count_audit().await.unwrap(), 2);
        let page = logs
            .audit_page(&crate::logstore::AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let got: Vec<(&str, &str, &str, &str, &str)> = page
            .entries
            .iter()
            .map(|e| {
                (
                    e.event_id.as_str(),
                    e.operator.as_str(),
                    e.action.as_str(),
                    e.target.as_str(),
                    e.detail.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a2", "alice", "number.retire", "+447700900001", "rotation"),
                ("a1", "alice", "number.add", "+447700900001", "rotation"),
            ]
        );
    }

    #[tokio::test]
    async fn a_gateway_batch_stores_its_valid_events_once() {
        batch_stores_its_valid_events_once("logs.requests", Kind::Request, |events| {
            encode(&RequestsLogged {
                batch_id: "b1".into(),
                requests: events
                    .into_iter()
                    .map(|(id, at)| RequestLogged {
                        event_id: id.into(),
                        ts: ts(at),
                        visitor_id: "v".into(),
                        ..Default::default()
                    })
                    .collect(),
            })
        })
        .await;
    }

    #[tokio::test]
    async fn a_captcha_batch_stores_its_valid_events_once() {
        batch_stores_its_valid_events_once("logs.captchas", Kind::Captcha, |events| {
            encode(&CaptchaEvents {
                batch_id: "c1".into(),
                events: events
                    .into_iter()
                    .map(|(id, at)| CaptchaEvent {
                        event_id: id.into(),
                        ts: ts(at),
                        outcome: proto::events::v1::CaptchaOutcome::Verified.into(),
                        ..Default::default()
                    })
                    .collect(),
            })
        })
        .await;
    }
}
