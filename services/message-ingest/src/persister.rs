//! The persister: durable consumer of `SmsReceived` that stores each message
//! once, updates the hot lists and announces `MessageStored`. It takes the
//! messages that have arrived (up to `ingest.persister_batch`), stores them
//! with one statement and one commit, and acks each only after that commit.
//! When that statement fails, it stores them one by one, so a message the
//! database refuses is dead-lettered alone and the others are stored now.

use std::collections::HashSet;
use std::time::Duration;

use bus::{BatchMessage, BatchOptions, DeliveryInfo, HandlerError, StreamKind};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use domain::E164;
use platform::Infra;
use prost::Message;
use proto::events::v1::SmsReceived;
use store::{Inserted, NewMessage, Store, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Durable consumer name shared by every replica.
pub const CONSUMER: &str = "persister";

/// How far ahead of the persister's clock a provider's `received_at` is
/// still believed (its clock may run a little fast). A time further ahead
/// is replaced by the persister's: a claimed future never pins a message on
/// top of the inbox.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// The arrival time a message is stored with: the provider's `claimed` time
/// unless it lies more than [`MAX_CLOCK_SKEW`] after `now` (then `now`), and
/// never before its number was `registered`. One place for every path in
/// (webhooks, gRPC, events published by older releases). To the millisecond,
/// like every time on the bus (pages' cursors are taken from those), with
/// `registered` rounded up so the result is never before it.
pub fn believable_received_at(
    claimed: Option<DateTime<Utc>>,
    registered: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let millis = |at: DateTime<Utc>| at.trunc_subsecs(3);
    let now = millis(now);
    let believed = match claimed.map(millis) {
        Some(at) if at <= now + MAX_CLOCK_SKEW => at,
        _ => now,
    };
    let registered_ms = millis(registered);
    let registered = if registered_ms < registered {
        registered_ms + TimeDelta::milliseconds(1)
    } else {
        registered_ms
    };
    believed.max(registered)
}

/// What the persister did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Stored(i64),
    /// Stored before; side effects redone (redelivery after a crash).
    Restored(i64),
    /// Stored before by a provider retry outside the dedupe window; nothing to do.
    Duplicate(i64),
    /// The number is not (or no longer) registered; dropped.
    UnknownNumber,
}

/// Runs the persister until `shutdown`.
pub async fn run(infra: Infra, shutdown: CancellationToken) -> anyhow::Result<()> {
    let bus = infra.bus.clone();
    let options = BatchOptions {
        max_messages: infra.settings.ingest.persister_batch.max(1),
        // No waiting for more: what arrived while the last batch was being
        // stored makes the next one, so a quiet minute costs no latency and
        // a busy one gets large batches.
        max_wait: Duration::ZERO,
        max_bytes: 4 * 1024 * 1024,
    };
    bus.run_batch_consumer(
        StreamKind::Sms,
        CONSUMER,
        StreamKind::Sms.filter(),
        options,
        shutdown,
        |messages| {
            let infra = infra.clone();
            async move {
                process_batch(&infra, &messages)
                    .await
                    .into_iter()
                    .map(|outcome| outcome.map(|_| ()))
                    .collect()
            }
        },
    )
    .await?;
    Ok(())
}

/// Handles one `SmsReceived` as a batch of one: the whole persister step,
/// short of the ack.
pub async fn process(
    infra: &Infra,
    event: SmsReceived,
    info: DeliveryInfo,
) -> Result<Outcome, HandlerError> {
    let message = BatchMessage {
        subject: String::new(),
        payload: event.encode_to_vec().into(),
        delivered: info.delivered,
        span: tracing::Span::current(),
    };
    process_batch(infra, std::slice::from_ref(&message))
        .await
        .pop()
        .unwrap_or_else(|| Err(HandlerError::Transient("no outcome".into())))
}

/// Handles a batch of `SmsReceived`, one outcome per message in order: the
/// numbers checked with one query, the messages stored with one statement,
/// the hot lists updated with one Redis round trip, then one `MessageStored`
/// per message stored, inside that message's span. The shared calls (the
/// database's, Redis's) are traced under the first message's span, which
/// carries the batch's size (`messaging.batch.message_count`).
pub async fn process_batch(
    infra: &Infra,
    messages: &[BatchMessage],
) -> Vec<Result<Outcome, HandlerError>> {
    let span = messages
        .first()
        .map_or_else(tracing::Span::none, |m| m.span.clone());
    process_batch_in(infra, messages).instrument(span).await
}

async fn process_batch_in(
    infra: &Infra,
    messages: &[BatchMessage],
) -> Vec<Result<Outcome, HandlerError>> {
    crate::metrics::persister_batch(messages.len());
    let mut outcomes: Vec<Result<Outcome, HandlerError>> = messages
        .iter()
        .map(|_| Err(HandlerError::Transient("not handled".into())))
        .collect();
    let mut decoded = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let event = match SmsReceived::decode(message.payload.clone()) {
            Ok(event) => event,
            Err(e) => {
                outcomes[index] = Err(HandlerError::Permanent(format!("undecodable: {e}")));
                continue;
            }
        };
        match E164::parse(&event.to) {
            Ok(number) => decoded.push((index, message, event, number)),
            Err(e) => outcomes[index] = Err(HandlerError::Permanent(format!("to: {e}"))),
        }
    }
    let numbers: Vec<&str> = decoded
        .iter()
        .map(|(_, _, _, n)| n.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let active = match infra.store.active_numbers(&numbers).await {
        Ok(active) => active,
        Err(e) => {
            for (index, ..) in &decoded {
                outcomes[*index] = Err(HandlerError::Transient(e.to_string()));
            }
            return outcomes;
        }
    };
    let now = Utc::now();
    // The messages to store, and beside each its place in the batch.
    let mut news = Vec::with_capacity(decoded.len());
    let mut owners = Vec::with_capacity(decoded.len());
    for (index, message, event, number) in decoded {
        let Some(&registered) = active.get(number.as_str()) else {
            message.span.in_scope(|| {
                tracing::warn!(provider = %domain::log_safe(&event.provider), "message for an unregistered number dropped");
            });
            outcomes[index] = Ok(Outcome::UnknownNumber);
            continue;
        };
        let claimed = event
            .received_at
            .as_ref()
            .and_then(|t| DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t)));
        // Events published before accept() dropped U+0000 may still carry it.
        news.push(NewMessage {
            number,
            provider: crate::accept::storable(event.provider),
            provider_message_id: crate::accept::storable(event.provider_message_id),
            sender: crate::accept::storable(event.from),
            body: crate::accept::storable(event.body),
            received_at: believable_received_at(claimed, registered, now),
        });
        owners.push((index, message));
    }
    let (inserted, one_by_one) = insert_each(&infra.store, &news).await;
    let mut stored = Vec::with_capacity(inserted.len());
    let mut announcers = Vec::with_capacity(inserted.len());
    for ((index, message), inserted) in owners.into_iter().zip(inserted) {
        let inserted = match inserted {
            Ok(inserted) => inserted,
            Err(err) => {
                outcomes[index] = Err(err);
                continue;
            }
        };
        let outcome = match &inserted {
            Inserted::New(row) => {
                crate::metrics::stored(&row.number);
                Outcome::Stored(row.id)
            }
            // A redelivery means an earlier attempt may have died between
            // commit and ack: redo the side effects it may have missed. So
            // does a batch that failed after its insert committed (reading
            // back the rows that were there already): its messages are
            // `Existing` on their own, but nobody announced them yet.
            Inserted::Existing(row) if message.delivered > 1 || one_by_one => {
                Outcome::Restored(row.id)
            }
            Inserted::Existing(row) => {
                outcomes[index] = Ok(Outcome::Duplicate(row.id));
                continue;
            }
        };
        outcomes[index] = Ok(outcome);
        stored.push(inserted.row().to_event());
        announcers.push(message);
    }
    if let Err(err) = infra.cache.push_many(&stored).await {
        // The database has them; the hot lists heal when their fill TTL runs out.
        tracing::warn!(error = %err, "hot lists not updated");
    }
    for (stored, message) in stored.iter().zip(announcers) {
        async {
            if let Err(err) = infra.bus.publish(stored).await {
                tracing::warn!(error = %err, "live update not announced");
            }
            tracing::info!(message_id = stored.id, "message stored");
        }
        .instrument(message.span.clone())
        .await;
    }
    outcomes
}

/// Stores `news` with one statement; when that fails, each message on its
/// own, so whatever one message does to the statement (a value the database
/// refuses, a trigger, a conflict, even a dropped connection) costs the
/// others nothing. One result per message, in order, and whether the
/// messages were stored one by one: an error the database gives for the
/// message's own values is permanent (dead-lettered at once), any other
/// transient. When the database cannot be reached (it does not answer a
/// ping after a connection error), no further message is tried: each waits.
async fn insert_each(
    store: &Store,
    news: &[NewMessage],
) -> (Vec<Result<Inserted, HandlerError>>, bool) {
    let batch_error = match store.insert_messages(news).await {
        Ok(inserted) => return (inserted.into_iter().map(Ok).collect(), false),
        Err(err) => err,
    };
    let down = batch_error.is_unreachable() && !store.ping().await;
    if news.len() == 1 || down {
        let results = news
            .iter()
            .map(|_| Err(handler_error(&batch_error)))
            .collect();
        return (results, false);
    }
    tracing::warn!(
        error = %batch_error,
        messages = news.len(),
        "batch insert failed; storing its messages one by one"
    );
    let mut results = Vec::with_capacity(news.len());
    let mut down: Option<String> = None;
    for new in news {
        if let Some(reason) = &down {
            results.push(Err(HandlerError::Transient(reason.clone())));
            continue;
        }
        results.push(
            match store.insert_messages(std::slice::from_ref(new)).await {
                Ok(mut one) => one
                    .pop()
                    .ok_or_else(|| HandlerError::Transient("no row stored or found".into())),
                Err(err) => {
                    // This message may have broken its connection; the next
                    // is tried unless the database itself is gone.
                    if err.is_unreachable() && !store.ping().await {
                        down = Some(err.to_string());
                    }
                    Err(handler_error(&err))
                }
            },
        );
    }
    (results, true)
}

/// How the bus settles a message the store failed on.
fn handler_error(err: &StoreError) -> HandlerError {
    if err.is_permanent() {
        HandlerError::Permanent(format!("refused by the database: {err}"))
    } else {
        HandlerError::Transient(err.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    #[test]
    fn received_at_is_believed_only_within_bounds() {
        let registered = at("2026-12-01T00:00:00Z");
        let now = at("2026-12-03T12:00:00Z");
        let believe =
            |claimed: Option<&str>| believable_received_at(claimed.map(at), registered, now);
        assert_eq!(
            believe(Some("2026-12-02T08:00:00Z")),
            at("2026-12-02T08:00:00Z")
        );
        assert_eq!(believe(None), now);
        // A clock a little fast is believed; a claimed future is not.
        assert_eq!(
            believe(Some("2026-12-03T12:05:00Z")),
            at("2026-12-03T12:05:00Z")
        );
        assert_eq!(believe(Some("2026-12-03T12:05:01Z")), now);
        assert_eq!(believe(Some("2099-01-01T00:00:00Z")), now);
        // Nothing before the number was registered.
        assert_eq!(believe(Some("2020-01-01T00:00:00Z")), registered);
        // To the millisecond, and never before the registration.
        let registered = at("2026-12-01T00:00:00.000100Z");
        assert_eq!(
            believable_received_at(None, registered, at("2026-12-03T12:00:00.123456789Z")),
            at("2026-12-03T12:00:00.123Z")
        );
        assert_eq!(
            believable_received_at(Some(at("2020-01-01T00:00:00Z")), registered, now),
            at("2026-12-01T00:00:00.001Z")
        );
        assert_eq!(
            believable_received_at(None, at("2026-12-04T00:00:00Z"), now),
            at("2026-12-04T00:00:00Z")
        );
    }
}
