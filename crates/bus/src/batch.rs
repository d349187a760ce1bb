//! Batched durable consumers: the handler receives up to `max` messages at
//! once (several event types of one stream may be mixed), so it can write
//! them in one transaction, and every message is settled by its own outcome
//! only after the handler returned.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{Bus, BusError, HandlerError, Incoming, StreamKind};

/// One message handed to a batch handler.
#[derive(Debug, Clone)]
pub struct BatchMessage {
    /// Subject without the installation prefix, e.g. `logs.request`.
    pub subject: String,
    /// Encoded protobuf.
    pub payload: Bytes,
    /// Deliveries so far, this one included.
    pub delivered: i64,
    /// The message's consumer span (child of its publisher's): work done
    /// for this message alone, e.g. publishing what follows from it, goes
    /// inside it so the trace carries on.
    pub span: tracing::Span,
}

/// How a batch consumer gathers messages.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Most messages per batch.
    pub max_messages: usize,
    /// Longest wait for more messages once the first of a batch arrived.
    pub max_wait: Duration,
    /// Stop gathering once the batch's payloads reach this many bytes (a
    /// message may itself carry many events).
    pub max_bytes: usize,
}

impl Bus {
    /// Runs durable consumer `durable` on `stream` for subjects matching
    /// `filter` (without prefix, e.g. `logs.>`) until `shutdown`, handing
    /// batches to `handler`. The handler returns one outcome per message, in
    /// order (a missing outcome counts as a transient failure): `Ok` acks, a
    /// transient error naks with back-off, a permanent one (or too many
    /// deliveries) dead-letters. The messages of a batch are settled
    /// concurrently. Nothing is settled before the handler returns, so a
    /// crash mid-batch redelivers the whole batch. The handler runs as a task of its own: a consumer
    /// stopped mid-batch (its task aborted) does not cut the handler's
    /// writes off mid-stream (a cancelled `COPY` leaves its pooled connection
    /// to fail the next query); unsettled, the batch comes back.
    pub async fn run_batch_consumer<H, F>(
        &self,
        stream: StreamKind,
        durable: &str,
        filter: &str,
        options: BatchOptions,
        shutdown: CancellationToken,
        handler: H,
    ) -> Result<(), BusError>
    where
        H: Fn(Vec<BatchMessage>) -> F + Send + Sync,
        F: Future<Output = Vec<Result<(), HandlerError>>> + Send + 'static,
    {
        let durable = format!("{}{durable}", self.prefix.replace('.', "_"));
        let filter = format!("{}{filter}", self.prefix);
        let stream_name = stream.stream_name(&self.prefix);
        let mut messages = self
            .transport
            .consume(&stream_name, &durable, &filter)
            .await?;
        let max_messages = options.max_messages.max(1);
        tracing::info!(consumer = %durable, "batch consumer started");
        loop {
            let first = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                next = messages.next() => next,
            };
            let first = match first {
                Some(Ok(incoming)) => incoming,
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "consumer pull failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                None => return Err(BusError::Consume("consumer stream ended".into())),
            };
            let mut bytes = first.envelope.payload.len();
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + options.max_wait;
            while batch.len() < max_messages && bytes < options.max_bytes {
                match tokio::time::timeout_at(deadline, messages.next()).await {
                    Ok(Some(Ok(incoming))) => {
                        bytes += incoming.envelope.payload.len();
                        batch.push(incoming);
                    }
                    Ok(Some(Err(err))) => {
                        tracing::warn!(error = %err, "consumer pull failed mid-batch");
                        break;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            self.settle_batch(&batch, &handler).await;
        }
        tracing::info!(consumer = %durable, "batch consumer stopped");
        Ok(())
    }

    async fn settle_batch<H, F>(&self, batch: &[Incoming], handler: &H)
    where
        H: Fn(Vec<BatchMessage>) -> F + Send + Sync,
        F: Future<Output = Vec<Result<(), HandlerError>>> + Send + 'static,
    {
        // One consumer span per message, child of its publisher's span,
        // open from the batch's start until the message is settled.
        let (traced, measured) = (telemetry::spans_exported(), telemetry::metrics_exported());
        let spans: Vec<tracing::Span> = batch
            .iter()
            .map(|incoming| {
                let span = if traced || measured {
                    let destination =
                        crate::destination_of(&incoming.envelope.subject, &self.prefix);
                    crate::record_lag(incoming, &destination);
                    tracing::info_span!(
                        "process",
                        otel.name = %format!("{destination} process"),
                        otel.kind = "consumer",
                        messaging.system = "nats",
                        messaging.destination.name = %destination,
                        messaging.operation.type = "process",
                        messaging.operation.name = "process",
                        messaging.batch.message_count = batch.len(),
                        delivered = incoming.delivered,
                    )
                } else {
                    // Nothing exports spans or metrics: the span only
                    // carries the message's trace context (its log lines'
                    // trace id), so no name or attribute is built.
                    tracing::info_span!("process", otel.kind = "consumer")
                };
                telemetry::set_parent_from(&span, &incoming.envelope.headers);
                span
            })
            .collect();
        let items = batch
            .iter()
            .zip(&spans)
            .map(|(incoming, span)| BatchMessage {
                subject: incoming
                    .envelope
                    .subject
                    .strip_prefix(&self.prefix)
                    .unwrap_or(&incoming.envelope.subject)
                    .to_owned(),
                payload: incoming.envelope.payload.clone(),
                delivered: incoming.delivered,
                span: span.clone(),
            })
            .collect();
        let outcomes = tokio::spawn(handler(items)).await.unwrap_or_else(|err| {
            // No outcomes: every message counts as a transient failure.
            tracing::error!(error = %err, "batch handler failed");
            Vec::new()
        });
        let mut outcomes = outcomes.into_iter();
        // All at once: a dead-lettered message waits for the dead-letter
        // stream's ack, and the others need not wait behind it.
        let settling: Vec<_> = batch
            .iter()
            .zip(spans)
            .map(|(incoming, span)| {
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(HandlerError::Transient("no outcome from handler".into()))
                });
                self.settle_by(incoming, outcome).instrument(span)
            })
            .collect();
        futures::future::join_all(settling).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use proto::events::v1::{CrashReported, RequestLogged};

    use super::*;
    use crate::MemoryTransport;

    fn settings() -> config::BusSettings {
        config::BusSettings {
            prefix: "t".into(),
            replicas: 1,
            ack_wait_secs: 1,
            max_deliver: 3,
            duplicate_window_secs: 120,
            publish_timeout_secs: 5,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_mix_subjects_and_failed_messages_come_back() {
        let settings = settings();
        let bus = Bus::with_transport(Arc::new(MemoryTransport::new(&settings)), &settings)
            .await
            .unwrap();
        for i in 0..10 {
            bus.publish(&RequestLogged {
                event_id: format!("r{i}"),
                ..Default::default()
            })
            .await
            .unwrap();
        }
        bus.publish(&CrashReported {
            event_id: "c".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let seen: Arc<Mutex<Vec<(usize, String, i64)>>> = Arc::default();
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let bus = bus.clone();
            let seen = seen.clone();
            let stop = stop.clone();
            async move {
                bus.run_batch_consumer(
                    StreamKind::Logs,
                    "batch-test",
                    "logs.>",
                    BatchOptions {
                        max_messages: 4,
                        max_wait: Duration::from_millis(50),
                        max_bytes: usize::MAX,
                    },
                    stop,
                    move |batch| {
                        let seen = seen.clone();
                        async move {
                            let size = batch.len();
                            batch
                                .into_iter()
                                .map(|m| {
                                    seen.lock().unwrap().push((
                                        size,
                                        m.subject.clone(),
                                        m.delivered,
                                    ));
                                    // The crash report fails once, then succeeds.
                                    if m.subject == "logs.crash" && m.delivered == 1 {
                                        Err(HandlerError::Transient("db down".into()))
                                    } else {
                                        Ok(())
                                    }
                                })
                                .collect()
                        }
                    },
                )
                .await
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let done = seen
                .lock()
                .unwrap()
                .iter()
                .any(|(_, s, d)| s == "logs.crash" && *d == 2);
            if done {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no redelivery");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        task.await.unwrap().unwrap();
        let seen = seen.lock().unwrap();
        assert!(seen.iter().all(|(size, _, _)| *size <= 4));
        assert!(seen.iter().any(|(size, _, _)| *size > 1), "{seen:?}");
        let requests = seen.iter().filter(|(_, s, _)| s == "logs.request").count();
        assert_eq!(requests, 10, "acked messages are not delivered again");
        assert_eq!(seen.len(), 12);
    }
}
