#![doc = include_str!("../README.md")]

mod batch;
mod batcher;
mod dlq;
mod error;
mod events;
mod memory;
mod metrics;
mod nats;
mod retry;
mod subject;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use batch::{BatchMessage, BatchOptions};
pub use batcher::{Batcher, Flush};
pub use dlq::{DEAD_REASON_HEADER, DeadLetter, DeadLetters, Replayed, StoredMessage};
pub use error::{BusError, Cause, HandlerError};
pub use events::{Event, Route, StreamKind};
pub use memory::MemoryTransport;
pub use nats::NatsTransport;
pub use subject::subject_matches;

/// Result of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// True when the stream had already seen this dedupe id and dropped it.
    pub duplicate: bool,
}

/// A message as the transport moves it: subject already prefixed.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Full subject.
    pub subject: String,
    /// Encoded protobuf.
    pub payload: Bytes,
    /// Headers (trace context; `Nats-Msg-Id` is carried separately).
    pub headers: HashMap<String, String>,
    /// Dedupe id, sent as `Nats-Msg-Id`.
    pub msg_id: Option<String>,
}

/// A delivered message and the means to settle it.
pub struct Incoming {
    /// The message.
    pub envelope: Envelope,
    /// How many times it has been delivered, this time included.
    pub delivered: i64,
    acker: Option<Box<dyn Acker>>,
}

impl Incoming {
    /// A message that needs no acknowledgement (broadcasts).
    pub fn unacked(envelope: Envelope) -> Self {
        Self {
            envelope,
            delivered: 1,
            acker: None,
        }
    }

    /// A message from a durable consumer.
    pub fn with_acker(envelope: Envelope, delivered: i64, acker: Box<dyn Acker>) -> Self {
        Self {
            envelope,
            delivered,
            acker: Some(acker),
        }
    }

    /// Acknowledges: the message will not be delivered again.
    pub async fn ack(&self) -> Result<(), BusError> {
        match &self.acker {
            Some(acker) => acker.ack().await,
            None => Ok(()),
        }
    }

    /// Asks for redelivery after `delay`.
    pub async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        match &self.acker {
            Some(acker) => acker.nak(delay).await,
            None => Ok(()),
        }
    }
}

/// Settles one delivered message.
#[async_trait::async_trait]
pub trait Acker: Send + Sync {
    /// Done: never deliver again.
    async fn ack(&self) -> Result<(), BusError>;
    /// Failed: deliver again after `delay`.
    async fn nak(&self, delay: Duration) -> Result<(), BusError>;
}

/// A bus implementation: JetStream or in-process.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Creates the streams when missing.
    async fn ensure_streams(&self, prefix: &str) -> Result<(), BusError>;
    /// Publishes into a stream and waits for its acknowledgement.
    async fn publish_durable(&self, env: Envelope) -> Result<Published, BusError>;
    /// Publishes to live subscribers only (no storage, no ack).
    async fn publish_broadcast(&self, env: Envelope) -> Result<(), BusError>;
    /// Pulls from a durable consumer of `stream`, created when missing.
    async fn consume(
        &self,
        stream: &str,
        durable: &str,
        filter: &str,
    ) -> Result<BoxStream<'static, Result<Incoming, BusError>>, BusError>;
    /// Receives broadcasts whose subject matches `filter`.
    async fn subscribe(&self, filter: &str) -> Result<BoxStream<'static, Incoming>, BusError>;
    /// True when the transport can currently move messages.
    fn is_connected(&self) -> bool;

    /// Changes at every (re)connection to the server: broadcasts published
    /// while the connection was away never reach this process's
    /// subscriptions. An in-process bus never changes it.
    fn connections(&self) -> tokio::sync::watch::Receiver<u64> {
        tokio::sync::watch::channel(0).1
    }

    /// How many messages `stream` holds (operator tools).
    async fn stored_count(&self, stream: &str) -> Result<u64, BusError> {
        Err(unsupported(stream))
    }

    /// Messages of `stream` whose subject matches `filter`, from sequence
    /// `from` on, oldest first, at most `limit` (operator tools).
    async fn stored_messages(
        &self,
        stream: &str,
        filter: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, BusError> {
        let _ = (filter, from, limit);
        Err(unsupported(stream))
    }

    /// Message `seq` of `stream`, if it holds it (operator tools).
    async fn stored_message(
        &self,
        stream: &str,
        seq: u64,
    ) -> Result<Option<StoredMessage>, BusError> {
        let _ = seq;
        Err(unsupported(stream))
    }

    /// Removes message `seq` from `stream`; false when it did not hold it
    /// (operator tools).
    async fn delete_stored(&self, stream: &str, seq: u64) -> Result<bool, BusError> {
        let _ = seq;
        Err(unsupported(stream))
    }
}

fn unsupported(stream: &str) -> BusError {
    BusError::Consume(format!(
        "stream {stream}: this transport does not give access to stored messages"
    ))
}

/// Facts about one delivery, for handlers.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryInfo {
    /// Deliveries so far, this one included (1 = first time).
    pub delivered: i64,
}

/// The typed bus every service uses.
#[derive(Clone)]
pub struct Bus {
    transport: Arc<dyn Transport>,
    prefix: String,
    settings: config::BusSettings,
}

impl Bus {
    /// Connects to NATS when `nats.url` is set, else returns an in-process bus,
    /// and makes sure the streams exist.
    pub async fn connect(settings: &config::Settings) -> Result<Self, BusError> {
        Self::with_transport(Self::transport(settings).await?, &settings.bus).await
    }

    /// As [`Bus::connect`], without creating missing streams: for operator
    /// tools, to which a wrong `bus.prefix` shows as a missing stream rather
    /// than as new, empty ones.
    pub async fn connect_existing(settings: &config::Settings) -> Result<Self, BusError> {
        Ok(Self::wrap(Self::transport(settings).await?, &settings.bus))
    }

    async fn transport(settings: &config::Settings) -> Result<Arc<dyn Transport>, BusError> {
        Ok(if settings.nats.url.is_empty() {
            Arc::new(MemoryTransport::new(&settings.bus))
        } else {
            Arc::new(
                NatsTransport::connect(
                    &settings.nats,
                    &settings.bus,
                    settings.retention.retention_days.get(),
                )
                .await?,
            )
        })
    }

    /// Wraps a transport (tests share one in-process transport between services).
    pub async fn with_transport(
        transport: Arc<dyn Transport>,
        settings: &config::BusSettings,
    ) -> Result<Self, BusError> {
        let bus = Self::wrap(transport, settings);
        bus.transport.ensure_streams(&bus.prefix).await?;
        Ok(bus)
    }

    fn wrap(transport: Arc<dyn Transport>, settings: &config::BusSettings) -> Self {
        let prefix = if settings.prefix.is_empty() {
            String::new()
        } else {
            format!("{}.", settings.prefix.to_ascii_lowercase())
        };
        Self {
            transport,
            prefix,
            settings: settings.clone(),
        }
    }

    /// True when messages can be published now (readiness).
    pub fn is_connected(&self) -> bool {
        self.transport.is_connected()
    }

    /// Changes at every (re)connection to NATS (see
    /// [`Transport::connections`]): a subscriber that must not miss a
    /// broadcast catches up from storage when it changes.
    pub fn connections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.transport.connections()
    }

    /// The dead-letter stream of this installation, for operator tools
    /// (list, replay, delete).
    pub fn dead_letters(&self) -> DeadLetters {
        DeadLetters::new(self.transport.clone(), &self.prefix)
    }

    fn envelope<E: Event>(&self, event: &E) -> Envelope {
        let mut headers = telemetry::inject_current();
        headers.insert(PUBLISHED_HEADER.to_owned(), unix_millis().to_string());
        Envelope {
            subject: format!("{}{}", self.prefix, event.subject()),
            payload: Bytes::from(event.encode_to_vec()),
            headers,
            msg_id: event.dedupe_id(),
        }
    }

    /// Publishes an event along its route; durable routes return after the
    /// stream acknowledged it. The event carries the trace context: its
    /// consumers continue the publisher's trace (and their log lines carry
    /// its trace id).
    pub async fn publish<E: Event>(&self, event: &E) -> Result<Published, BusError> {
        if !telemetry::spans_exported() {
            // No span goes anywhere: a producer span would cost its
            // bookkeeping on every event and show nobody anything. The
            // carried context is the caller's span's, in the same trace.
            return self.send::<E>(self.envelope(event)).await;
        }
        let span = tracing::info_span!(
            "publish",
            otel.kind = "producer",
            messaging.system = "nats",
            messaging.destination.name = %E::subject_root(),
            messaging.operation.type = "publish",
            messaging.operation.name = "publish",
        );
        // The carried context is the producer span's: consumers are its children.
        let env = span.in_scope(|| self.envelope(event));
        self.send::<E>(env).instrument(span).await
    }

    async fn send<E: Event>(&self, env: Envelope) -> Result<Published, BusError> {
        match E::ROUTE {
            Route::Stream(_) => self.transport.publish_durable(env).await,
            Route::Broadcast => self
                .transport
                .publish_broadcast(env)
                .await
                .map(|()| Published { duplicate: false }),
        }
    }

    /// Receives broadcast events of type `E` (for live pages); undecodable
    /// messages are skipped.
    pub async fn subscribe<E: Event>(&self) -> Result<BoxStream<'static, E>, BusError> {
        let filter = format!("{}{}", self.prefix, E::subject_filter());
        let stream = self.transport.subscribe(&filter).await?;
        Ok(stream
            .filter_map(|incoming| async move { E::decode(incoming.envelope.payload).ok() })
            .boxed())
    }

    /// As [`Bus::subscribe`], with each event's carried headers (trace context).
    pub async fn subscribe_traced<E: Event>(
        &self,
    ) -> Result<BoxStream<'static, (E, HashMap<String, String>)>, BusError> {
        let filter = format!("{}{}", self.prefix, E::subject_filter());
        let stream = self.transport.subscribe(&filter).await?;
        Ok(stream
            .filter_map(|incoming| async move {
                let headers = incoming.envelope.headers;
                E::decode(incoming.envelope.payload)
                    .ok()
                    .map(|event| (event, headers))
            })
            .boxed())
    }

    /// Runs durable consumer `durable` for events of type `E` until `shutdown`
    /// fires, handing each to `handler` and settling it by the outcome.
    pub async fn run_consumer<E, H, F>(
        &self,
        durable: &str,
        shutdown: CancellationToken,
        handler: H,
    ) -> Result<(), BusError>
    where
        E: Event,
        H: Fn(E, DeliveryInfo) -> F + Send + Sync,
        F: Future<Output = Result<(), HandlerError>> + Send,
    {
        self.run_consumer_concurrent(durable, shutdown, 1, handler)
            .await
    }

    /// As [`Bus::run_consumer`], with up to `concurrency` messages handled
    /// at once (each settled on its own; order among them is not kept).
    /// At `shutdown` the ones in hand are finished and settled first.
    pub async fn run_consumer_concurrent<E, H, F>(
        &self,
        durable: &str,
        shutdown: CancellationToken,
        concurrency: usize,
        handler: H,
    ) -> Result<(), BusError>
    where
        E: Event,
        H: Fn(E, DeliveryInfo) -> F + Send + Sync,
        F: Future<Output = Result<(), HandlerError>> + Send,
    {
        let Route::Stream(stream) = E::ROUTE else {
            return Err(BusError::Consume(format!(
                "{} is broadcast-only; it has no durable consumer",
                E::subject_root()
            )));
        };
        let concurrency = concurrency.max(1);
        let durable = format!("{}{durable}", self.prefix.replace('.', "_"));
        let filter = format!("{}{}", self.prefix, E::subject_filter());
        let stream_name = stream.stream_name(&self.prefix);
        let mut messages = self
            .transport
            .consume(&stream_name, &durable, &filter)
            .await?;
        tracing::info!(consumer = %durable, concurrency, "consumer started");
        let handler = &handler;
        let mut in_hand = futures::stream::FuturesUnordered::new();
        let ended = loop {
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => break None,
                Some(()) = in_hand.next(), if !in_hand.is_empty() => continue,
                next = messages.next(), if in_hand.len() < concurrency => next,
            };
            match next {
                Some(Ok(incoming)) => {
                    in_hand.push(async move { self.settle(&incoming, handler).await });
                }
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "consumer pull failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                None => break Some(BusError::Consume("consumer stream ended".into())),
            }
        };
        while in_hand.next().await.is_some() {}
        if let Some(err) = ended {
            return Err(err);
        }
        tracing::info!(consumer = %durable, "consumer stopped");
        Ok(())
    }

    async fn settle<E, H, F>(&self, incoming: &Incoming, handler: &H)
    where
        E: Event,
        H: Fn(E, DeliveryInfo) -> F + Send + Sync,
        F: Future<Output = Result<(), HandlerError>> + Send,
    {
        let span = tracing::info_span!(
            "process",
            otel.kind = "consumer",
            messaging.system = "nats",
            messaging.destination.name = %E::subject_root(),
            messaging.operation.type = "process",
            messaging.operation.name = "process",
            delivered = incoming.delivered,
        );
        telemetry::set_parent_from(&span, &incoming.envelope.headers);
        record_lag(incoming, E::subject_root());
        async {
            let outcome = match E::decode(incoming.envelope.payload.clone()) {
                Ok(event) => {
                    handler(
                        event,
                        DeliveryInfo {
                            delivered: incoming.delivered,
                        },
                    )
                    .await
                }
                Err(err) => Err(HandlerError::Permanent(format!(
                    "undecodable payload: {err}"
                ))),
            };
            self.settle_by(incoming, outcome).await;
        }
        .instrument(span)
        .await;
    }

    /// Settles `incoming` by its handler's `outcome`: `Ok` acks, a transient
    /// error naks with back-off, a permanent one (or too many deliveries)
    /// dead-letters.
    async fn settle_by(&self, incoming: &Incoming, outcome: Result<(), HandlerError>) {
        let settled = match outcome {
            Ok(()) => incoming.ack().await,
            Err(HandlerError::Transient(reason))
                if incoming.delivered < self.settings.max_deliver =>
            {
                let delay = backoff(incoming.delivered);
                tracing::warn!(%reason, delivered = incoming.delivered, ?delay, "handler failed; will retry");
                incoming.nak(delay).await
            }
            Err(err) => self.dead_letter(incoming, &err.to_string()).await,
        };
        if let Err(err) = settled {
            // Not fatal: unsettled messages come back after ack_wait.
            tracing::warn!(error = %err, "could not settle message");
        }
    }

    async fn dead_letter(&self, incoming: &Incoming, reason: &str) -> Result<(), BusError> {
        tracing::error!(subject = %incoming.envelope.subject, %reason, "message dead-lettered");
        metrics::dead_lettered(&destination_of(&incoming.envelope.subject, &self.prefix));
        let mut headers = incoming.envelope.headers.clone();
        headers.insert(
            DEAD_REASON_HEADER.into(),
            reason.chars().take(200).collect(),
        );
        let original = incoming
            .envelope
            .subject
            .strip_prefix(&self.prefix)
            .unwrap_or(&incoming.envelope.subject);
        let env = Envelope {
            subject: format!("{}dlq.{original}", self.prefix),
            payload: incoming.envelope.payload.clone(),
            headers,
            msg_id: None,
        };
        // Only ack once the dead letter is stored: never drop silently.
        self.transport.publish_durable(env).await?;
        incoming.ack().await
    }
}

/// `logs.request` of `<prefix>logs.request`: the subject's first two
/// tokens, without the installation prefix (bounded label values).
pub(crate) fn destination_of(subject: &str, prefix: &str) -> String {
    let subject = subject.strip_prefix(prefix).unwrap_or(subject);
    subject.splitn(3, '.').take(2).collect::<Vec<_>>().join(".")
}

/// Header carrying the publish time (Unix milliseconds), for the consumer lag.
const PUBLISHED_HEADER: &str = "cloudsms-published-ms";

fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Records `cloudsms.bus.consumer_lag`: seconds from publish to processing
/// (redeliveries included), by destination.
fn record_lag(incoming: &Incoming, destination: &str) {
    static LAG: std::sync::OnceLock<opentelemetry::metrics::Histogram<f64>> =
        std::sync::OnceLock::new();
    let Some(published) = incoming
        .envelope
        .headers
        .get(PUBLISHED_HEADER)
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return;
    };
    let lag = (unix_millis() - published).max(0) as f64 / 1000.0;
    LAG.get_or_init(|| {
        telemetry::duration_histogram(
            &telemetry::meter(),
            "cloudsms.bus.consumer_lag",
            "Time from publishing an event to processing it",
        )
    })
    .record(
        lag,
        &[opentelemetry::KeyValue::new(
            "messaging.destination.name",
            destination.to_owned(),
        )],
    );
}

/// Redelivery delay after `delivered` failed attempts: 0.5 s doubling, at most 30 s.
fn backoff(delivered: i64) -> Duration {
    let exp = u32::try_from(delivered.clamp(1, 7) - 1).unwrap_or(0);
    Duration::from_millis(500 * 2u64.pow(exp)).min(Duration::from_secs(30))
}
