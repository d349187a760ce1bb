//! The in-process transport: JetStream semantics without a server.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use futures::stream::BoxStream;
use parking_lot::Mutex;
use tokio::sync::{Notify, broadcast};

use crate::{
    Acker, BusError, Envelope, Incoming, Published, StoredMessage, StreamKind, Transport,
    subject_matches,
};

/// Messages a stream keeps for consumers created later; the oldest go first.
const STREAM_CAPACITY: usize = 10_000;

/// In-process bus for the embedded mode and tests.
pub struct MemoryTransport {
    inner: Arc<Mutex<State>>,
    broadcast: broadcast::Sender<Envelope>,
    ack_wait: Duration,
    duplicate_window: Duration,
}

#[derive(Default)]
struct State {
    streams: HashMap<String, MemStream>,
}

struct MemStream {
    filter: String,
    next_seq: u64,
    /// Kept messages by sequence, with the time each was stored.
    log: VecDeque<(u64, SystemTime, Envelope)>,
    dedupe: HashMap<String, Instant>,
    /// The ids of `dedupe` in publish order, so expiry costs O(1) per publish.
    dedupe_order: VecDeque<(Instant, String)>,
    consumers: HashMap<String, Arc<Consumer>>,
}

struct Consumer {
    filter: String,
    queue: Mutex<ConsumerQueue>,
    notify: Notify,
    ack_wait: Duration,
}

#[derive(Default)]
struct ConsumerQueue {
    ready: VecDeque<Pending>,
    in_flight: HashMap<u64, (Pending, Instant)>,
}

#[derive(Clone)]
struct Pending {
    seq: u64,
    envelope: Envelope,
    delivered: i64,
}

impl MemoryTransport {
    /// A new, empty bus.
    pub fn new(settings: &config::BusSettings) -> Self {
        let (broadcast, _) = broadcast::channel(4096);
        Self {
            inner: Arc::new(Mutex::new(State::default())),
            broadcast,
            ack_wait: Duration::from_secs(settings.ack_wait_secs.max(1)),
            duplicate_window: Duration::from_secs(settings.duplicate_window_secs),
        }
    }
}

impl Consumer {
    fn offer(&self, seq: u64, envelope: &Envelope) {
        if subject_matches(&self.filter, &envelope.subject) {
            self.queue.lock().ready.push_back(Pending {
                seq,
                envelope: envelope.clone(),
                delivered: 0,
            });
            self.notify.notify_one();
        }
    }

    /// Next message to deliver, or how long to wait before looking again.
    fn take(&self) -> Result<Pending, Duration> {
        let now = Instant::now();
        let mut q = self.queue.lock();
        let expired: Vec<u64> = q
            .in_flight
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(seq, _)| *seq)
            .collect();
        let mut expired: Vec<Pending> = expired
            .into_iter()
            .filter_map(|seq| q.in_flight.remove(&seq).map(|(p, _)| p))
            .collect();
        expired.sort_by_key(|p| std::cmp::Reverse(p.seq));
        for p in expired {
            q.ready.push_front(p);
        }
        if let Some(mut p) = q.ready.pop_front() {
            p.delivered += 1;
            q.in_flight.insert(p.seq, (p.clone(), now + self.ack_wait));
            return Ok(p);
        }
        let wait = q
            .in_flight
            .values()
            .map(|(_, deadline)| deadline.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_secs(1));
        Err(wait.max(Duration::from_millis(5)))
    }
}

struct MemAcker {
    consumer: Arc<Consumer>,
    seq: u64,
}

#[async_trait::async_trait]
impl Acker for MemAcker {
    async fn ack(&self) -> Result<(), BusError> {
        self.consumer.queue.lock().in_flight.remove(&self.seq);
        Ok(())
    }

    async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        if let Some((_, deadline)) = self.consumer.queue.lock().in_flight.get_mut(&self.seq) {
            *deadline = Instant::now() + delay;
        }
        self.consumer.notify.notify_one();
        Ok(())
    }
}

#[async_trait::async_trait]
impl Transport for MemoryTransport {
    async fn ensure_streams(&self, prefix: &str) -> Result<(), BusError> {
        let mut state = self.inner.lock();
        for kind in StreamKind::ALL {
            state
                .streams
                .entry(kind.stream_name(prefix))
                .or_insert_with(|| MemStream {
                    filter: kind.subjects(prefix),
                    next_seq: 1,
                    log: VecDeque::new(),
                    dedupe: HashMap::new(),
                    dedupe_order: VecDeque::new(),
                    consumers: HashMap::new(),
                });
        }
        Ok(())
    }

    async fn publish_durable(&self, env: Envelope) -> Result<Published, BusError> {
        let mut state = self.inner.lock();
        let stream = state
            .streams
            .values_mut()
            .find(|s| subject_matches(&s.filter, &env.subject))
            .ok_or_else(|| BusError::Publish(format!("no stream for subject {}", env.subject)))?;
        let now = Instant::now();
        let window = self.duplicate_window;
        while let Some((at, _)) = stream.dedupe_order.front() {
            if now.duration_since(*at) < window {
                break;
            }
            if let Some((at, id)) = stream.dedupe_order.pop_front()
                && stream.dedupe.get(&id) == Some(&at)
            {
                stream.dedupe.remove(&id);
            }
        }
        if let Some(id) = &env.msg_id {
            if stream.dedupe.contains_key(id) {
                return Ok(Published { duplicate: true });
            }
            stream.dedupe.insert(id.clone(), now);
            stream.dedupe_order.push_back((now, id.clone()));
        }
        let seq = stream.next_seq;
        stream.next_seq += 1;
        for consumer in stream.consumers.values() {
            consumer.offer(seq, &env);
        }
        stream.log.push_back((seq, SystemTime::now(), env));
        if stream.log.len() > STREAM_CAPACITY {
            stream.log.pop_front();
        }
        Ok(Published { duplicate: false })
    }

    async fn publish_broadcast(&self, env: Envelope) -> Result<(), BusError> {
        // No subscriber is not an error: live pages may all be closed.
        let _ = self.broadcast.send(env);
        Ok(())
    }

    async fn consume(
        &self,
        stream: &str,
        durable: &str,
        filter: &str,
    ) -> Result<BoxStream<'static, Result<Incoming, BusError>>, BusError> {
        let consumer = {
            let mut state = self.inner.lock();
            let s = state
                .streams
                .get_mut(stream)
                .ok_or_else(|| BusError::Consume(format!("no stream {stream}")))?;
            match s.consumers.get(durable) {
                Some(existing) => existing.clone(),
                None => {
                    let consumer = Arc::new(Consumer {
                        filter: filter.to_owned(),
                        queue: Mutex::new(ConsumerQueue::default()),
                        notify: Notify::new(),
                        ack_wait: self.ack_wait,
                    });
                    // A new durable consumer starts from the first message kept.
                    for (seq, _, env) in &s.log {
                        consumer.offer(*seq, env);
                    }
                    s.consumers.insert(durable.to_owned(), consumer.clone());
                    consumer
                }
            }
        };
        let stream = futures::stream::unfold(consumer, |consumer| async move {
            loop {
                match consumer.take() {
                    Ok(p) => {
                        let acker = Box::new(MemAcker {
                            consumer: consumer.clone(),
                            seq: p.seq,
                        });
                        let incoming = Incoming::with_acker(p.envelope, p.delivered, acker);
                        return Some((Ok(incoming), consumer));
                    }
                    Err(wait) => {
                        let _ = tokio::time::timeout(wait, consumer.notify.notified()).await;
                    }
                }
            }
        });
        Ok(stream.boxed())
    }

    async fn subscribe(&self, filter: &str) -> Result<BoxStream<'static, Incoming>, BusError> {
        let filter = filter.to_owned();
        let rx = self.broadcast.subscribe();
        let stream = futures::stream::unfold(rx, move |mut rx| {
            let filter = filter.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok(env) if subject_matches(&filter, &env.subject) => {
                            return Some((Incoming::unacked(env), rx));
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
        Ok(stream.boxed())
    }

    fn is_connected(&self) -> bool {
        true
    }

    async fn stored_count(&self, stream: &str) -> Result<u64, BusError> {
        let state = self.inner.lock();
        let s = state.streams.get(stream).ok_or_else(|| no_stream(stream))?;
        Ok(s.log.len() as u64)
    }

    async fn stored_messages(
        &self,
        stream: &str,
        filter: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, BusError> {
        let state = self.inner.lock();
        let s = state.streams.get(stream).ok_or_else(|| no_stream(stream))?;
        Ok(s.log
            .iter()
            .filter(|(seq, _, env)| *seq >= from && subject_matches(filter, &env.subject))
            .take(limit)
            .map(stored)
            .collect())
    }

    async fn stored_message(
        &self,
        stream: &str,
        seq: u64,
    ) -> Result<Option<StoredMessage>, BusError> {
        let state = self.inner.lock();
        let s = state.streams.get(stream).ok_or_else(|| no_stream(stream))?;
        Ok(s.log.iter().find(|(at, _, _)| *at == seq).map(stored))
    }

    async fn delete_stored(&self, stream: &str, seq: u64) -> Result<bool, BusError> {
        let mut state = self.inner.lock();
        let s = state
            .streams
            .get_mut(stream)
            .ok_or_else(|| no_stream(stream))?;
        let Some(index) = s.log.iter().position(|(at, _, _)| *at == seq) else {
            return Ok(false);
        };
        s.log.remove(index);
        // As on JetStream, consumers no longer deliver a deleted message.
        for consumer in s.consumers.values() {
            consumer.queue.lock().ready.retain(|p| p.seq != seq);
        }
        Ok(true)
    }
}

fn no_stream(stream: &str) -> BusError {
    BusError::Consume(format!("no stream {stream}"))
}

fn stored((seq, time, envelope): &(u64, SystemTime, Envelope)) -> StoredMessage {
    StoredMessage {
        seq: *seq,
        time: *time,
        envelope: envelope.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn envelope(id: &str) -> Envelope {
        Envelope {
            subject: "t.logs.request".into(),
            payload: bytes::Bytes::from_static(b"x"),
            headers: HashMap::new(),
            msg_id: Some(id.to_owned()),
        }
    }

    #[tokio::test]
    async fn a_repeated_id_is_a_duplicate_within_the_window_only() {
        let mut settings = config::Settings::defaults().unwrap().bus;
        settings.duplicate_window_secs = 1;
        let bus = MemoryTransport::new(&settings);
        bus.ensure_streams("t.").await.unwrap();
        for i in 0..10_000 {
            let published = bus.publish_durable(envelope(&i.to_string())).await.unwrap();
            assert!(!published.duplicate);
        }
        assert!(bus.publish_durable(envelope("7")).await.unwrap().duplicate);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // Expired ids are forgotten (and published again), others still count.
        assert!(!bus.publish_durable(envelope("7")).await.unwrap().duplicate);
        assert!(bus.publish_durable(envelope("7")).await.unwrap().duplicate);
        let state = bus.inner.lock();
        let stream = state
            .streams
            .values()
            .find(|s| s.filter == "t.logs.>")
            .unwrap();
        assert_eq!(stream.dedupe.len(), 1, "expired ids are dropped");
        assert_eq!(stream.dedupe_order.len(), 1);
    }
}
