//! Vonage's multi-part messages (`concat=true`): each part is held in the
//! database until all have arrived, then the message is published as one;
//! a message whose parts never all arrive is published by the sweeper after
//! `ingest.concat_timeout_secs`, with a marker where the missing parts belong.

use std::time::Duration;

use chrono::{DateTime, Utc};
use store::{MessagePart, NewMessagePart, PartGroup};
use tokio_util::sync::CancellationToken;

use super::{Concat, Vonage};
use crate::accept::{AppState, InboundSms, accept};
use crate::error::IngestError;
use crate::providers::Provider;

/// How often stale part groups are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Most stale groups published per sweep, so one sweep stays short.
const SWEEP_BATCH: u64 = 100;

/// One part of a multi-part SMS, as Vonage described it.
#[derive(Debug)]
pub struct Part {
    /// Vonage's `messageId` of this part.
    pub message_id: String,
    /// Sender.
    pub msisdn: String,
    /// Receiving number as sent.
    pub to: String,
    /// Which part of which message.
    pub concat: Concat,
    /// This part's text.
    pub text: String,
    /// Arrival time, when Vonage says.
    pub received_at: Option<DateTime<Utc>>,
}

/// The provider message id of a reassembled message: the reference, the
/// sender and the `messageId` of its first part present. The same whichever
/// part completes it, so a retried part is a duplicate; and a later message
/// reusing the reference (one or two bytes in the SMS header, so it wraps)
/// is not.
pub fn concat_message_id(reference: &str, msisdn: &str, first_part_id: &str) -> String {
    format!("concat:{reference}:{msisdn}:{first_part_id}")
}

/// The text of a group: parts in order, a visible marker for each missing one.
pub fn assemble(parts: &[MessagePart], total: u32) -> String {
    let mut text = String::new();
    for n in 1..=total {
        match parts.iter().find(|p| u32::try_from(p.part).ok() == Some(n)) {
            Some(part) => text.push_str(&part.text),
            None => text.push_str(&format!("[part {n} of {total} missing]")),
        }
    }
    text
}

/// Publishes a group (complete or not) as one message.
async fn publish_group(
    state: &AppState,
    parts: &[MessagePart],
) -> Result<crate::accept::Accepted, IngestError> {
    let Some(first) = parts.first() else {
        return Err(IngestError::BadRequest("no parts".into()));
    };
    let total = u32::try_from(first.total).unwrap_or(1).max(1);
    let received_at = parts.iter().filter_map(|p| p.received_at).min();
    accept(
        state,
        InboundSms {
            provider: Vonage::NAME,
            provider_message_id: concat_message_id(
                &first.concat_ref,
                &first.from,
                &first.message_id,
            ),
            to: first.to.clone(),
            from: first.from.clone(),
            body: assemble(parts, total),
            received_at,
            segments: total,
        },
    )
    .await
}

fn store_error(e: store::StoreError) -> IngestError {
    IngestError::Unavailable(format!("message store unavailable, retry later ({e})"))
}

/// Publishes every incomplete part group older than `cutoff` (missing parts
/// marked) and deletes it, and forgets published groups that old. Safe on
/// several replicas at once: both publish the same provider message id and
/// the bus keeps one. Returns how many were published.
pub async fn flush_stale_parts(
    state: &AppState,
    cutoff: DateTime<Utc>,
) -> Result<usize, IngestError> {
    let groups = state
        .store
        .stale_message_part_groups(cutoff, SWEEP_BATCH)
        .await
        .map_err(store_error)?;
    let mut published = 0;
    for parts in groups {
        // A group already published is only forgotten.
        if parts.iter().all(|p| p.published_at.is_none()) {
            match publish_group(state, &parts).await {
                Ok(_) => published += 1,
                // Unroutable for good (number retired, bad id): drop it, or it
                // would be retried forever.
                Err(IngestError::Unprocessable(e) | IngestError::BadRequest(e)) => {
                    tracing::info!(error = %e, "incomplete multi-part SMS dropped");
                }
                Err(e) => return Err(e),
            }
        }
        let ids: Vec<i64> = parts.iter().map(|p| p.id).collect();
        state
            .store
            .delete_message_parts(&ids)
            .await
            .map_err(store_error)?;
    }
    Ok(published)
}

/// Every 30 s, publishes multi-part messages that waited longer than
/// `ingest.concat_timeout_secs` for their missing parts; until `shutdown`.
pub async fn run_concat_sweeper(
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let timeout = state.settings.ingest.concat_timeout_secs;
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        let cutoff = Utc::now()
            - chrono::Duration::seconds(i64::try_from(timeout).unwrap_or(i64::MAX / 1000));
        match flush_stale_parts(&state, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "incomplete multi-part SMS published"),
            Err(e) => tracing::warn!(error = %e, "multi-part sweep failed; retrying later"),
        }
    }
}

/// Holds a part until its group is complete; the part that completes it
/// publishes the whole message.
pub(super) async fn receive(state: &AppState, part: Part) -> Result<(), IngestError> {
    let Part {
        message_id,
        msisdn,
        to,
        concat,
        text,
        received_at,
    } = part;
    if msisdn.trim().is_empty() || msisdn.chars().count() > 64 {
        return Err(IngestError::BadRequest(
            "msisdn: must be 1 to 64 characters".into(),
        ));
    }
    // Checked before holding the part, so a part for a number we do not serve
    // is refused now (and Vonage sees it) rather than dropped at the timeout.
    let e164 =
        domain::E164::parse(&to).map_err(|e| IngestError::Unprocessable(format!("to: {e}")))?;
    match state
        .registry
        .lookup(&state.store, e164.as_str())
        .await
        .map_err(store_error)?
    {
        store::Registration::Active => {}
        store::Registration::Unknown if state.settings.ingest.auto_register_numbers => {}
        _ => {
            return Err(IngestError::Unprocessable(format!(
                "to: {e164} is not a number of this site"
            )));
        }
    }
    if to.chars().count() > 64 {
        return Err(IngestError::Unprocessable("to: too long".into()));
    }
    // Bounded so the reassembled message's id stays within accept()'s limit.
    if message_id.trim().is_empty() || message_id.chars().count() > 36 {
        return Err(IngestError::BadRequest(
            "messageId: must be 1 to 36 characters".into(),
        ));
    }
    let part = i32::try_from(concat.part).unwrap_or(i32::MAX);
    let total = i32::try_from(concat.total).unwrap_or(i32::MAX);
    let group = state
        .store
        .insert_message_part(NewMessagePart {
            provider: Vonage::NAME.to_owned(),
            to,
            from: msisdn,
            concat_ref: concat.reference,
            part,
            total,
            text,
            received_at,
            message_id,
        })
        .await
        .map_err(store_error)?;
    let parts = match group {
        PartGroup::Pending => return Ok(()),
        PartGroup::Published => {
            tracing::info!(
                provider = Vonage::NAME,
                "retried part of a published message dropped"
            );
            return Ok(());
        }
        PartGroup::Complete(parts) => parts,
    };
    // Published before marked: if marking fails, the provider's retry of this
    // part publishes again, which the bus drops as a duplicate.
    publish_group(state, &parts).await?;
    let ids: Vec<i64> = parts.iter().map(|p| p.id).collect();
    state
        .store
        .mark_message_parts_published(&ids)
        .await
        .map_err(store_error)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn assembly_orders_parts_and_marks_missing_ones() {
        let part = |n: i32, text: &str| MessagePart {
            id: i64::from(n),
            provider: "vonage".into(),
            to: "t".into(),
            from: "f".into(),
            concat_ref: "1".into(),
            part: n,
            total: 3,
            text: text.into(),
            received_at: None,
            created_at: Utc::now(),
            message_id: format!("m{n}"),
            published_at: None,
        };
        assert_eq!(
            assemble(&[part(3, "c"), part(1, "a"), part(2, "b")], 3),
            "abc"
        );
        assert_eq!(
            assemble(&[part(1, "a"), part(3, "c")], 3),
            "a[part 2 of 3 missing]c"
        );
        assert_eq!(
            concat_message_id("7", "447700900999", "0B0001"),
            "concat:7:447700900999:0B0001"
        );
    }
}
