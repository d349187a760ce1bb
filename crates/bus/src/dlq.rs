//! The dead-letter stream (`DLQ`, subjects `<prefix>dlq.<original subject>`)
//! for operator tools: list what no handler could process, replay it to its
//! original subject once the cause is fixed, or delete it (`cloudsms dlq`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::{BusError, Envelope, PUBLISHED_HEADER, Published, StreamKind, Transport};

/// Header of a dead letter saying why it was dead-lettered.
pub const DEAD_REASON_HEADER: &str = "Cloudsms-Dead-Reason";

/// A message as a stream keeps it.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// Sequence number in its stream.
    pub seq: u64,
    /// When the stream stored it.
    pub time: SystemTime,
    /// Subject (with the installation prefix), payload and headers.
    pub envelope: Envelope,
}

/// One dead-lettered event.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Sequence number in the `DLQ` stream: what `replay` and `delete` take.
    pub seq: u64,
    /// The subject it was consumed from, without the installation prefix
    /// (`sms.received.au.61491570156`).
    pub subject: String,
    /// Why it was dead-lettered (`Cloudsms-Dead-Reason`), when given.
    pub reason: Option<String>,
    /// When it was dead-lettered.
    pub time: SystemTime,
    /// Its headers (trace context, publish time, the reason).
    pub headers: HashMap<String, String>,
    /// The encoded event, as it was consumed.
    pub payload: Bytes,
}

impl DeadLetter {
    fn from_stored(stored: StoredMessage, prefix: &str) -> Self {
        let StoredMessage {
            seq,
            time,
            envelope,
        } = stored;
        let dlq = format!("{prefix}dlq.");
        let subject = envelope
            .subject
            .strip_prefix(&dlq)
            .unwrap_or(&envelope.subject)
            .to_owned();
        let reason = envelope
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(DEAD_REASON_HEADER))
            .map(|(_, value)| value.clone());
        Self {
            seq,
            subject,
            reason,
            time,
            headers: envelope.headers,
            payload: envelope.payload,
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// Published to its original subject (acknowledged by its stream) and
    /// removed from the dead-letter stream.
    Published,
    /// The stream had already taken this dead letter's replay (a replay that
    /// stopped before the removal, repeated within the duplicate window); it
    /// was not published twice, and is now removed.
    AlreadyPublished,
}

/// The dead-letter stream of one installation (`bus.prefix`).
#[derive(Clone)]
pub struct DeadLetters {
    transport: Arc<dyn Transport>,
    prefix: String,
    stream: String,
    filter: String,
}

impl DeadLetters {
    pub(crate) fn new(transport: Arc<dyn Transport>, prefix: &str) -> Self {
        Self {
            transport,
            prefix: prefix.to_owned(),
            stream: StreamKind::DeadLetter.stream_name(prefix),
            filter: StreamKind::DeadLetter.subjects(prefix),
        }
    }

    /// Name of the stream (`DLQ`, or `<PREFIX>_DLQ`).
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// How many dead letters the stream holds.
    pub async fn count(&self) -> Result<u64, BusError> {
        self.transport.stored_count(&self.stream).await
    }

    /// Dead letters from sequence `from` on, oldest first, at most `limit`.
    pub async fn list(&self, from: u64, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
        Ok(self
            .transport
            .stored_messages(&self.stream, &self.filter, from, limit)
            .await?
            .into_iter()
            .map(|stored| DeadLetter::from_stored(stored, &self.prefix))
            .collect())
    }

    /// The dead letter with sequence `seq`, if the stream holds it.
    pub async fn get(&self, seq: u64) -> Result<Option<DeadLetter>, BusError> {
        Ok(self
            .transport
            .stored_message(&self.stream, seq)
            .await?
            .map(|stored| DeadLetter::from_stored(stored, &self.prefix)))
    }

    /// Publishes dead letter `seq` again to its original subject and, once
    /// its stream acknowledged it, removes it from the dead-letter stream.
    /// `None` when there is no such dead letter.
    ///
    /// The republished message carries the dead letter's headers (trace
    /// context) without the reason, a fresh publish time, and a
    /// `Nats-Msg-Id` of its own (`dlq-replay:<stream>:<seq>`): the original
    /// id may still be in the duplicate window, which would drop the replay,
    /// while a replay repeated after a failed removal is dropped once.
    pub async fn replay(&self, seq: u64) -> Result<Option<Replayed>, BusError> {
        let Some(dead) = self.get(seq).await? else {
            return Ok(None);
        };
        if crate::subject_matches("dlq.>", &dead.subject) {
            return Err(BusError::Publish(format!(
                "dead letter {seq} came from the dead-letter stream itself ({}); not replayed",
                dead.subject
            )));
        }
        let mut headers = dead.headers;
        headers.retain(|name, _| {
            !name.eq_ignore_ascii_case(DEAD_REASON_HEADER)
                && !name.eq_ignore_ascii_case(PUBLISHED_HEADER)
        });
        headers.insert(
            PUBLISHED_HEADER.to_owned(),
            crate::unix_millis().to_string(),
        );
        let envelope = Envelope {
            subject: format!("{}{}", self.prefix, dead.subject),
            payload: dead.payload,
            headers,
            msg_id: Some(format!("dlq-replay:{}:{seq}", self.stream)),
        };
        let Published { duplicate } = self.transport.publish_durable(envelope).await?;
        let deleted = self.delete(seq).await.map_err(|err| {
            BusError::Consume(format!(
                "dead letter {seq} was replayed but is still in the DLQ ({err}); a replay \
                 within the duplicate window will not publish it twice"
            ))
        })?;
        if !deleted {
            // Deleted meanwhile (another operator): the replay stands.
            tracing::warn!(seq, "dead letter gone before its removal after replay");
        }
        Ok(Some(if duplicate {
            Replayed::AlreadyPublished
        } else {
            Replayed::Published
        }))
    }

    /// Removes dead letter `seq`; false when the stream did not hold it.
    pub async fn delete(&self, seq: u64) -> Result<bool, BusError> {
        self.transport.delete_stored(&self.stream, seq).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::{Bus, MemoryTransport};
    use proto::events::v1::SmsReceived;

    async fn bus() -> Bus {
        let settings = config::Settings::from_toml_overrides("[bus]\nprefix = \"t1\"").unwrap();
        let transport = Arc::new(MemoryTransport::new(&settings.bus));
        Bus::with_transport(transport, &settings.bus).await.unwrap()
    }

    fn dead(subject: &str, payload: Vec<u8>, reason: &str) -> Envelope {
        Envelope {
            subject: format!("t1.dlq.{subject}"),
            payload: Bytes::from(payload),
            headers: HashMap::from([(DEAD_REASON_HEADER.to_owned(), reason.to_owned())]),
            msg_id: None,
        }
    }

    fn sms(body: &str) -> SmsReceived {
        SmsReceived {
            provider: "generic".into(),
            provider_message_id: "m-1".into(),
            to: "+61491570156".into(),
            from: "Bank\u{1b}[31m".into(),
            body: body.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn lists_replays_and_deletes_by_sequence() {
        let bus = bus().await;
        let subject = "sms.received.au.61491570156";
        let transport = bus.transport.clone();
        transport
            .publish_durable(dead(
                subject,
                b"\xff\xff".to_vec(),
                "permanent: undecodable",
            ))
            .await
            .unwrap();
        let event = sms(&format!("code 123456 {}", "x".repeat(500)));
        transport
            .publish_durable(dead(subject, event.encode_to_vec(), "permanent: refused"))
            .await
            .unwrap();
        let dlq = bus.dead_letters();
        assert_eq!(dlq.stream_name(), "T1_DLQ");
        assert_eq!(dlq.count().await.unwrap(), 2);
        let listed = dlq.list(0, 10).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].subject, subject);
        assert_eq!(listed[0].reason.as_deref(), Some("permanent: undecodable"));
        assert_eq!(listed[1].payload, event.encode_to_vec());
        assert_eq!(dlq.list(listed[1].seq, 10).await.unwrap().len(), 1);

        // Replayed onto its subject, where a consumer of the SMS stream sees it.
        let mut consumed = transport
            .consume("T1_SMS", "replayed", "t1.sms.received.>")
            .await
            .unwrap();
        let replayed = dlq.replay(listed[1].seq).await.unwrap();
        assert_eq!(replayed, Some(Replayed::Published));
        let got = futures::StreamExt::next(&mut consumed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.envelope.subject, format!("t1.{subject}"));
        assert_eq!(SmsReceived::decode(got.envelope.payload).unwrap(), event);
        assert!(!got.envelope.headers.contains_key(DEAD_REASON_HEADER));
        assert!(
            dlq.get(listed[1].seq).await.unwrap().is_none(),
            "left the DLQ"
        );
        assert_eq!(dlq.replay(listed[1].seq).await.unwrap(), None);

        // A replay whose removal failed, repeated: not published twice.
        let again = transport
            .publish_durable(dead(subject, event.encode_to_vec(), "permanent: refused"))
            .await
            .unwrap();
        assert!(!again.duplicate);
        let seq = dlq.list(0, 10).await.unwrap().last().unwrap().seq;
        transport
            .publish_durable(Envelope {
                subject: format!("t1.{subject}"),
                payload: Bytes::from(event.encode_to_vec()),
                headers: HashMap::new(),
                msg_id: Some(format!("dlq-replay:T1_DLQ:{seq}")),
            })
            .await
            .unwrap();
        let _first = futures::StreamExt::next(&mut consumed).await;
        assert_eq!(
            dlq.replay(seq).await.unwrap(),
            Some(Replayed::AlreadyPublished)
        );
        assert!(dlq.get(seq).await.unwrap().is_none());
        let nothing = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            futures::StreamExt::next(&mut consumed),
        )
        .await;
        assert!(nothing.is_err(), "published once only");

        assert!(dlq.delete(listed[0].seq).await.unwrap());
        assert!(!dlq.delete(listed[0].seq).await.unwrap());
        assert_eq!(dlq.count().await.unwrap(), 0);
        assert!(dlq.list(0, 10).await.unwrap().is_empty());
    }
}
