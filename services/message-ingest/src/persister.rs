//! The persister: durable consumer of `SmsReceived` that stores each message
//! once, updates the hot lists and announces `MessageStored`. It takes the
//! messages that have arrived (up to `ingest.persister_batch`), stores them
//! with one statement and one commit, and acks each only after that commit.

use std::collections::HashSet;
use std::time::Duration;

use bus::{BatchMessage, BatchOptions, DeliveryInfo, HandlerError, StreamKind};
use chrono::DateTime;
use domain::E164;
use platform::Infra;
use prost::Message;
use proto::events::v1::{MessageStored, SmsReceived};
use store::{Inserted, MessageRow, NewMessage};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Durable consumer name shared by every replica.
pub const CONSUMER: &str = "persister";

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
        "sms.received.>",
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

/// Converts a stored row into the event the gateway and the cache carry.
pub fn message_stored(row: &MessageRow) -> MessageStored {
    let country = E164::parse(&row.number)
        .map(|n| n.country().iso2.to_owned())
        .unwrap_or_default();
    MessageStored {
        id: row.id,
        provider: row.provider.clone(),
        provider_message_id: row.provider_message_id.clone(),
        number: row.number.clone(),
        country,
        from: row.sender.clone(),
        body: row.body.clone(),
        received_at: Some(proto::timestamp_from_unix_millis(
            row.received_at.timestamp_millis(),
        )),
        stored_at: Some(proto::timestamp_from_unix_millis(
            row.stored_at.timestamp_millis(),
        )),
        code: row.code.clone().unwrap_or_default(),
        service: row.service.clone().unwrap_or_default(),
    }
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
    // The messages to store, and beside each its place in the batch.
    let mut news = Vec::with_capacity(decoded.len());
    let mut owners = Vec::with_capacity(decoded.len());
    for (index, message, event, number) in decoded {
        if !active.contains(number.as_str()) {
            message.span.in_scope(|| {
                tracing::warn!(provider = %event.provider, "message for an unregistered number dropped");
            });
            outcomes[index] = Ok(Outcome::UnknownNumber);
            continue;
        }
        let received_at = event
            .received_at
            .as_ref()
            .and_then(|t| DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t)))
            .unwrap_or_else(chrono::Utc::now);
        news.push(NewMessage {
            number,
            provider: event.provider,
            provider_message_id: event.provider_message_id,
            sender: event.from,
            body: event.body,
            received_at,
        });
        owners.push((index, message));
    }
    let inserted = match infra.store.insert_messages(&news).await {
        Ok(inserted) => inserted,
        Err(e) => {
            for (index, _) in &owners {
                outcomes[*index] = Err(HandlerError::Transient(e.to_string()));
            }
            return outcomes;
        }
    };
    let mut stored = Vec::with_capacity(inserted.len());
    let mut announcers = Vec::with_capacity(inserted.len());
    for ((index, message), inserted) in owners.into_iter().zip(inserted) {
        let outcome = match &inserted {
            Inserted::New(row) => Outcome::Stored(row.id),
            // A redelivery means an earlier attempt may have died between
            // commit and ack: redo the side effects it may have missed.
            Inserted::Existing(row) if message.delivered > 1 => Outcome::Restored(row.id),
            Inserted::Existing(row) => {
                outcomes[index] = Ok(Outcome::Duplicate(row.id));
                continue;
            }
        };
        outcomes[index] = Ok(outcome);
        stored.push(message_stored(inserted.row()));
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
