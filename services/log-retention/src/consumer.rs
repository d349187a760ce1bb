//! The LOGS consumer: one durable batch consumer on `logs.>` that decodes
//! request logs, crash reports and captcha events and stores each batch in
//! one transaction of multi-row inserts, acking only after the commit. A crash
//! mid-batch redelivers the batch; the unique `(event_id, ts)` (SQLite:
//! `event_id`) keeps the redelivered rows from being stored twice.

use std::sync::Arc;
use std::time::Duration;

use bus::{BatchMessage, BatchOptions, HandlerError, StreamKind};
use chrono::{DateTime, Utc};
use prost::Message;
use proto::events::v1::{CaptchaEvent, CrashReported, RequestLogged};
use tokio_util::sync::CancellationToken;

use crate::Clock;
use crate::logstore::{LogStore, cutoff};
use crate::tables::LogRow;

/// Durable consumer name shared by every replica.
pub const CONSUMER: &str = "log-retention";

/// Longest wait for a batch to fill once its first message arrived.
pub const BATCH_WAIT: Duration = Duration::from_millis(200);

/// Single-row retries of a failed batch give up after this many failures in a row.
const MAX_FAILURES_IN_A_ROW: usize = 3;

/// Events stamped further ahead than this are refused (a bad producer clock).
pub const MAX_FUTURE: chrono::Duration = chrono::Duration::days(1);

/// Decodes one message into a row; `Ok(None)` for an event already past
/// the retention (acked, never stored). The row's time is always the event's
/// own (never the consumer's clock), so a redelivery hits the unique key.
pub fn decode(
    message: &BatchMessage,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<Option<LogRow>, HandlerError> {
    let undecodable =
        |e: prost::DecodeError| HandlerError::Permanent(format!("undecodable payload: {e}"));
    let payload = message.payload.clone();
    // Sentinel for a missing or unrepresentable timestamp, refused below.
    let missing = DateTime::<Utc>::MIN_UTC;
    let row = match message.subject.as_str() {
        "logs.request" => LogRow::from_request(
            RequestLogged::decode(payload).map_err(undecodable)?,
            missing,
        ),
        "logs.crash" => LogRow::from_crash(
            CrashReported::decode(payload).map_err(undecodable)?,
            missing,
        ),
        "logs.captcha" => {
            LogRow::from_captcha(CaptchaEvent::decode(payload).map_err(undecodable)?, missing)
        }
        other => {
            return Err(HandlerError::Permanent(format!(
                "unknown log subject {other}"
            )));
        }
    };
    if row.event_id().is_empty() {
        return Err(HandlerError::Permanent("event without event_id".into()));
    }
    if row.ts() == missing {
        return Err(HandlerError::Permanent("event without a valid ts".into()));
    }
    if row.ts() > now + MAX_FUTURE {
        return Err(HandlerError::Permanent(format!(
            "event ts {} is in the future",
            row.ts()
        )));
    }
    if row.ts() < cutoff(now, retention_days) {
        return Ok(None);
    }
    Ok(Some(row))
}

/// Handles one batch: the outcome of every message, in order.
pub async fn handle_batch(
    store: &LogStore,
    messages: Vec<BatchMessage>,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Vec<Result<(), HandlerError>> {
    let decoded: Vec<Result<Option<LogRow>, HandlerError>> = messages
        .iter()
        .map(|m| decode(m, now, retention_days))
        .collect();
    let rows: Vec<LogRow> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok().and_then(Clone::clone))
        .collect();
    match store.insert_batch(&rows).await {
        Ok(inserted) => {
            tracing::debug!(batch = messages.len(), inserted, "log batch stored");
            decoded.into_iter().map(|d| d.map(|_| ())).collect()
        }
        Err(err) if rows.len() > 1 => {
            // Find the rows that fail on their own; the others are stored.
            tracing::warn!(error = %err, "log batch failed; storing its rows one by one");
            // When the database itself is down every row fails: stop trying
            // after a few failures in a row and let the rest come back later.
            let mut failures_in_a_row = 0;
            let mut outcomes = Vec::with_capacity(decoded.len());
            for d in decoded {
                outcomes.push(match d {
                    Ok(Some(_)) if failures_in_a_row >= MAX_FAILURES_IN_A_ROW => {
                        Err(HandlerError::Transient(err.to_string()))
                    }
                    Ok(Some(row)) => match store.insert_batch(std::slice::from_ref(&row)).await {
                        Ok(_) => {
                            failures_in_a_row = 0;
                            Ok(())
                        }
                        Err(e) => {
                            failures_in_a_row += 1;
                            Err(HandlerError::Transient(e.to_string()))
                        }
                    },
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                });
            }
            outcomes
        }
        Err(err) => decoded
            .into_iter()
            .map(|d| match d {
                Ok(Some(_)) => Err(HandlerError::Transient(err.to_string())),
                other => other.map(|_| ()),
            })
            .collect(),
    }
}

/// Runs the consumer until `shutdown`.
pub async fn run(
    bus: bus::Bus,
    store: LogStore,
    clock: Arc<dyn Clock>,
    retention_days: u32,
    batch_size: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let options = BatchOptions {
        max_messages: batch_size.max(1),
        max_wait: BATCH_WAIT,
    };
    bus.run_batch_consumer(
        StreamKind::Logs,
        CONSUMER,
        "logs.>",
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
    use crate::tables::Kind;

    fn encode(m: &impl Message) -> Vec<u8> {
        m.encode_to_vec()
    }

    fn message(subject: &str, payload: Vec<u8>, delivered: i64) -> BatchMessage {
        BatchMessage {
            subject: subject.into(),
            payload: payload.into(),
            delivered,
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
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/logs.db?mode=rwc", dir.path().display());
        let db = store::Store::connect(&url, 1).await.unwrap();
        let logs = LogStore::new(db.connection().clone());
        logs.migrate().await.unwrap();
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
}
