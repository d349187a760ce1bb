//! The JetStream transport.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::HeaderMap;
use async_nats::jetstream::stream::RawMessageErrorKind;
use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::{
    Acker, BusError, Cause, Envelope, Incoming, Published, StoredMessage, StreamKind, Transport,
};

const MSG_ID: &str = "Nats-Msg-Id";

mod setup;

/// NATS JetStream transport.
pub struct NatsTransport {
    client: async_nats::Client,
    js: jetstream::Context,
    settings: config::BusSettings,
    logs_max_age: Duration,
    connections: tokio::sync::watch::Receiver<u64>,
}

impl NatsTransport {
    /// Connects to one of the servers of `nats.url` (a cluster's are
    /// comma-separated); fails fast when none answers. Once connected, a
    /// lost server is replaced by another listed (or announced) one.
    pub async fn connect(
        nats: &config::NatsSettings,
        settings: &config::BusSettings,
        retention_days: u32,
    ) -> Result<Self, BusError> {
        let url = config::redact_url(&nats.url);
        let servers = nats
            .servers()
            .into_iter()
            .map(|server| {
                server
                    .parse::<async_nats::ServerAddr>()
                    .map_err(|e| connect_error(&config::redact_url(server), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let options = connect_options(nats)
            .await
            .map_err(|e| connect_error(&url, e))?;
        // Counts (re)connections: broadcasts sent while this connection was
        // away are lost to its subscriptions, which may catch up from storage.
        let (connected, connections) = tokio::sync::watch::channel(0u64);
        let client = options
            .name("cloudsms")
            .connection_timeout(Duration::from_secs(5))
            .event_callback(move |event| {
                if matches!(event, async_nats::Event::Connected) {
                    connected.send_modify(|n| *n += 1);
                }
                async {}
            })
            .connect(servers)
            .await
            .map_err(|e| connect_error(&url, e))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(Duration::from_secs(settings.publish_timeout_secs.max(1)));
        Ok(Self {
            client,
            js,
            settings: settings.clone(),
            logs_max_age: Duration::from_secs(u64::from(retention_days) * 86_400),
            connections,
        })
    }

    /// A handle on `stream` for the operator tools' reads and deletes
    /// (without fetching its info).
    async fn stored_stream(&self, stream: &str) -> Result<stream::Stream<()>, BusError> {
        self.js
            .get_stream_no_info(stream)
            .await
            .map_err(|e| stream_error(stream, e))
    }
}

/// Authentication and TLS of `nats`: user and password, an NKey seed or a
/// `.creds` file; a CA file (which requires TLS) and a client certificate.
async fn connect_options(
    nats: &config::NatsSettings,
) -> std::io::Result<async_nats::ConnectOptions> {
    let mut options = if !nats.creds_file.is_empty() {
        async_nats::ConnectOptions::with_credentials_file(&nats.creds_file).await?
    } else if !nats.nkey_seed.is_empty() {
        async_nats::ConnectOptions::with_nkey(nats.nkey_seed.expose().to_owned())
    } else if !nats.password.is_empty() {
        async_nats::ConnectOptions::with_user_and_password(
            nats.user.clone(),
            nats.password.expose().to_owned(),
        )
    } else {
        async_nats::ConnectOptions::new()
    };
    if !nats.ca_file.is_empty() {
        options = options
            .add_root_certificates(nats.ca_file.clone().into())
            .require_tls(true);
    }
    if !nats.cert_file.is_empty() {
        options = options
            .add_client_certificate(nats.cert_file.clone().into(), nats.key_file.clone().into())
            .require_tls(true);
    }
    Ok(options)
}

fn to_headers(env: &Envelope) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (k, v) in &env.headers {
        headers.insert(k.as_str(), v.as_str());
    }
    if let Some(id) = &env.msg_id {
        headers.insert(MSG_ID, id.as_str());
    }
    headers
}

fn from_message(msg: &async_nats::Message) -> Envelope {
    from_parts(&msg.subject, msg.headers.as_ref(), &msg.payload)
}

fn from_parts(subject: &str, map: Option<&HeaderMap>, payload: &bytes::Bytes) -> Envelope {
    let mut headers = HashMap::new();
    let mut msg_id = None;
    if let Some(map) = map {
        for (name, values) in map.iter() {
            let Some(value) = values.first() else {
                continue;
            };
            if AsRef::<str>::as_ref(name) == MSG_ID {
                msg_id = Some(value.as_str().to_owned());
            } else {
                headers.insert(name.to_string(), value.as_str().to_owned());
            }
        }
    }
    Envelope {
        subject: subject.to_owned(),
        payload: payload.clone(),
        headers,
        msg_id,
    }
}

fn from_stored(msg: &jetstream::message::StreamMessage) -> StoredMessage {
    // The stream's own time of storage; a time before 1970 is not one.
    let nanos = u64::try_from(msg.time.unix_timestamp_nanos()).unwrap_or(0);
    StoredMessage {
        seq: msg.sequence,
        time: SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos),
        envelope: from_parts(&msg.subject, Some(&msg.headers), &msg.payload),
    }
}

struct NatsAcker(jetstream::Message);

#[async_trait::async_trait]
impl Acker for NatsAcker {
    async fn ack(&self) -> Result<(), BusError> {
        // A plain ack: sent in order on the connection, unconfirmed. One
        // lost with a broken connection means a redelivery, which every
        // consumer of ours treats as such (stores once, redoes only the
        // side effects); waiting for the server's confirmation instead cost
        // a round trip per message before the next batch could start.
        self.0.ack().await.map_err(BusError::Ack)
    }

    async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        self.0
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(BusError::Ack)
    }
}

#[async_trait::async_trait]
impl Transport for NatsTransport {
    async fn ensure_streams(&self, prefix: &str) -> Result<(), BusError> {
        for kind in StreamKind::ALL {
            let max_age = match kind {
                StreamKind::Sms => Duration::from_secs(7 * 86_400),
                StreamKind::Logs => self.logs_max_age,
                StreamKind::DeadLetter => Duration::from_secs(30 * 86_400),
            };
            let config = stream::Config {
                name: kind.stream_name(prefix),
                subjects: vec![kind.subjects(prefix)],
                max_age,
                duplicate_window: Duration::from_secs(self.settings.duplicate_window_secs),
                num_replicas: self.settings.replicas.max(1),
                storage: stream::StorageType::File,
                ..Default::default()
            };
            self.ensure_stream(config).await?;
        }
        Ok(())
    }

    async fn publish_durable(&self, env: Envelope) -> Result<Published, BusError> {
        let headers = to_headers(&env);
        let ack = self
            .js
            .publish_with_headers(env.subject, headers, env.payload)
            .await
            .map_err(|e| BusError::PublishFailed(e.into()))?
            .await
            .map_err(|e| BusError::PublishFailed(e.into()))?;
        Ok(Published {
            duplicate: ack.duplicate,
        })
    }

    async fn publish_broadcast(&self, env: Envelope) -> Result<(), BusError> {
        let headers = to_headers(&env);
        self.client
            .publish_with_headers(env.subject, headers, env.payload)
            .await
            .map_err(|e| BusError::PublishFailed(e.into()))
    }

    async fn consume(
        &self,
        stream: &str,
        durable: &str,
        filter: &str,
    ) -> Result<BoxStream<'static, Result<Incoming, BusError>>, BusError> {
        let stream = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| stream_error(stream, e))?;
        let consumer = self
            .ensure_consumer(
                &stream,
                pull::Config {
                    durable_name: Some(durable.to_owned()),
                    filter_subject: filter.to_owned(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(self.settings.ack_wait_secs.max(1)),
                    // Redelivery is unbounded on the server; we dead-letter ourselves
                    // after bus.max_deliver, so nothing is parked silently.
                    max_deliver: -1,
                    ..Default::default()
                },
            )
            .await?;
        let messages = pulling(consumer.clone(), durable.to_owned());
        // Reported while the consumer's stream of messages lives.
        let alive = Arc::new(());
        tokio::spawn(poll_pending(
            consumer,
            stream.cached_info().config.name.clone(),
            durable.to_owned(),
            Arc::downgrade(&alive),
        ));
        Ok(messages
            .map(move |item| {
                let _alive = &alive;
                let msg = item?;
                let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
                let envelope = from_message(&msg.message);
                Ok(Incoming::with_acker(
                    envelope,
                    delivered,
                    Box::new(NatsAcker(msg)),
                ))
            })
            .boxed())
    }

    async fn subscribe(&self, filter: &str) -> Result<BoxStream<'static, Incoming>, BusError> {
        let sub = self
            .client
            .subscribe(filter.to_owned())
            .await
            .map_err(|e| BusError::ConsumeFailed {
                what: format!("subscription {filter}"),
                source: e.into(),
            })?;
        Ok(sub.map(|msg| Incoming::unacked(from_message(&msg))).boxed())
    }

    fn connections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.connections.clone()
    }

    fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    async fn stored_count(&self, stream: &str) -> Result<u64, BusError> {
        let info = self
            .stored_stream(stream)
            .await?
            .get_info()
            .await
            .map_err(|e| stream_error(stream, e))?;
        Ok(info.state.messages)
    }

    async fn stored_messages(
        &self,
        stream: &str,
        filter: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, BusError> {
        let handle = self.stored_stream(stream).await?;
        // One request per message, from the stream leader (no consumer is
        // created): an operator's look at a small stream such as the DLQ.
        let mut out = Vec::new();
        let mut next = from.max(1);
        while out.len() < limit {
            match handle.get_first_raw_message_by_subject(filter, next).await {
                Ok(msg) => {
                    next = msg.sequence + 1;
                    out.push(from_stored(&msg));
                }
                Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => break,
                Err(e) => return Err(stream_error(stream, e)),
            }
        }
        Ok(out)
    }

    async fn stored_message(
        &self,
        stream: &str,
        seq: u64,
    ) -> Result<Option<StoredMessage>, BusError> {
        let handle = self.stored_stream(stream).await?;
        match handle.get_raw_message(seq).await {
            Ok(msg) => Ok(Some(from_stored(&msg))),
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(stream_error(stream, e)),
        }
    }

    async fn delete_stored(&self, stream: &str, seq: u64) -> Result<bool, BusError> {
        let handle = self.stored_stream(stream).await?;
        match handle.delete_message(seq).await {
            Ok(deleted) => Ok(deleted),
            Err(e) if is_no_message(&e) => Ok(false),
            Err(e) => Err(stream_error(stream, e)),
        }
    }
}

fn connect_error(url: &str, err: impl Into<Cause>) -> BusError {
    BusError::Connect {
        url: url.to_owned(),
        source: err.into(),
    }
}

fn stream_error(stream: &str, err: impl Into<Cause>) -> BusError {
    BusError::ConsumeFailed {
        what: format!("stream {stream}"),
        source: err.into(),
    }
}

fn consumer_error(durable: &str, err: impl Into<Cause>) -> BusError {
    BusError::ConsumeFailed {
        what: format!("consumer {durable}"),
        source: err.into(),
    }
}

/// A `STREAM.MSG.DELETE` of a sequence the stream does not hold.
fn is_no_message(err: &stream::DeleteMessageError) -> bool {
    match err.kind() {
        stream::DeleteMessageErrorKind::JetStream(e) => {
            let code = e.error_code();
            code == jetstream::ErrorCode::SEQUENCE_NOT_FOUND
                || code == jetstream::ErrorCode::NO_MESSAGE_FOUND
                // What servers answer: "stream msg delete failed: no message found".
                || (code == jetstream::ErrorCode::STREAM_MESSAGE_DELETE_FAILED
                    && e.to_string().contains("no message found"))
        }
        _ => false,
    }
}

/// How often the server sends an idle pull consumer a heartbeat; two
/// missed mean its pull request is gone (the consumer's leader died).
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);

/// The messages of `consumer`, pulled for as long as the stream is polled.
/// A pull request lives on the consumer's leader: when that server dies
/// the client would wait for its expiry (35 s) before asking the new
/// leader. So after any error (a missed heartbeat first of all) or an end,
/// the next poll starts a fresh stream with a fresh request; the error is
/// still handed on (the caller pauses before polling again).
fn pulling(
    consumer: jetstream::consumer::Consumer<pull::Config>,
    durable: String,
) -> BoxStream<'static, Result<jetstream::Message, BusError>> {
    let state = (consumer, durable, None::<pull::Stream>);
    futures::stream::unfold(state, |(consumer, durable, current)| async move {
        let mut messages = match current {
            Some(messages) => messages,
            None => match consumer.stream().heartbeat(PULL_HEARTBEAT).messages().await {
                Ok(messages) => messages,
                Err(e) => {
                    let err = consumer_error(&durable, e);
                    return Some((Err(err), (consumer, durable, None)));
                }
            },
        };
        match messages.next().await {
            Some(Ok(msg)) => Some((Ok(msg), (consumer, durable, Some(messages)))),
            Some(Err(e)) => {
                tracing::debug!(consumer = %durable, error = %e, "pulling anew");
                let err = consumer_error(&durable, e);
                Some((Err(err), (consumer, durable, None)))
            }
            None => {
                let err = BusError::Consume(format!(
                    "consumer {durable}: its messages ended; pulling anew"
                ));
                Some((Err(err), (consumer, durable, None)))
            }
        }
    })
    .boxed()
}

/// How often a consumer's pending count is read from the server.
const PENDING_POLL: Duration = Duration::from_secs(15);

/// Reads `consumer`'s pending count (not yet delivered plus delivered and
/// not yet acked) every [`PENDING_POLL`] into `cloudsms.bus.consumer.pending`,
/// until `alive` is gone (the consumer stopped in this process).
async fn poll_pending(
    consumer: jetstream::consumer::Consumer<pull::Config>,
    stream: String,
    durable: String,
    alive: std::sync::Weak<()>,
) {
    while alive.upgrade().is_some() {
        match consumer.get_info().await {
            Ok(info) => {
                let pending = info.num_pending + info.num_ack_pending as u64;
                crate::metrics::set_pending(&stream, &durable, pending);
            }
            Err(err) => {
                tracing::debug!(error = %err, consumer = %durable, "consumer info not read")
            }
        }
        tokio::time::sleep(PENDING_POLL).await;
    }
    crate::metrics::forget_pending(&stream, &durable);
}
