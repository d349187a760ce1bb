//! The persister: durable consumer of `SmsReceived` that stores each message
//! once, updates the hot lists and announces `MessageStored`. It acks only
//! after the database commit.

use bus::{DeliveryInfo, HandlerError};
use chrono::DateTime;
use domain::E164;
use platform::Infra;
use proto::events::v1::{MessageStored, SmsReceived};
use store::{Inserted, MessageRow, NewMessage};
use tokio_util::sync::CancellationToken;

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
    let concurrency = infra.settings.ingest.persister_concurrency;
    bus.run_consumer_concurrent::<SmsReceived, _, _>(
        CONSUMER,
        shutdown,
        concurrency,
        |event, info| {
            let infra = infra.clone();
            async move { process(&infra, event, info).await.map(|_| ()) }
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
    }
}

/// Handles one `SmsReceived`: the whole persister step, short of the ack.
pub async fn process(
    infra: &Infra,
    event: SmsReceived,
    info: DeliveryInfo,
) -> Result<Outcome, HandlerError> {
    let number = E164::parse(&event.to).map_err(|e| HandlerError::Permanent(format!("to: {e}")))?;
    let registered = infra
        .store
        .find_number(number.as_str())
        .await
        .map_err(|e| HandlerError::Transient(e.to_string()))?;
    if !registered.is_some_and(|n| n.active) {
        tracing::warn!(provider = %event.provider, "message for an unregistered number dropped");
        return Ok(Outcome::UnknownNumber);
    }
    let received_at = event
        .received_at
        .as_ref()
        .and_then(|t| DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t)))
        .unwrap_or_else(chrono::Utc::now);
    let inserted = infra
        .store
        .insert_message(NewMessage {
            number,
            provider: event.provider,
            provider_message_id: event.provider_message_id,
            sender: event.from,
            body: event.body,
            received_at,
        })
        .await
        .map_err(|e| HandlerError::Transient(e.to_string()))?;
    let outcome = match &inserted {
        Inserted::New(row) => Outcome::Stored(row.id),
        // A redelivery means an earlier attempt may have died between commit
        // and ack: redo the side effects it may have missed.
        Inserted::Existing(row) if info.delivered > 1 => Outcome::Restored(row.id),
        Inserted::Existing(row) => return Ok(Outcome::Duplicate(row.id)),
    };
    let stored = message_stored(inserted.row());
    if let Err(err) = infra.cache.push(&stored).await {
        // The database has it; the hot list heals when its fill TTL runs out.
        tracing::warn!(error = %err, "hot list not updated");
    }
    if let Err(err) = infra.bus.publish(&stored).await {
        tracing::warn!(error = %err, "live update not announced");
    }
    tracing::info!(message_id = stored.id, ?outcome, "message stored");
    Ok(outcome)
}
