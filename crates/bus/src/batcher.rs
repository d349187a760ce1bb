//! Fire-and-forget events gathered into batch messages: a caller queues an
//! item with a channel send (never waits, never fails the caller's work) and
//! one task publishes up to `max` items, or what arrived within `linger`
//! after the first, as one bus message. Used for the LOGS stream's
//! high-rate events (the gateway's request log, the captcha's outcomes), so
//! one page view or one verification costs a channel send instead of a
//! JetStream round trip and one stored message.
//!
//! A traced batcher keeps the trace context of each item's caller, and
//! publishes a batch under its first item's trace (an `event batch` span,
//! the `publish` span under it), so that one request can be followed to
//! where its event was stored; the others' traces end at the queue.
//!
//! At most a linger's worth of items is lost if the process dies; a full
//! queue (the bus down for long) drops new items with a warning rather than
//! growing without bound. A batch that cannot be published after a few
//! attempts is dropped with an error.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::{Bus, Event};

/// Items waiting at most per batcher.
const QUEUE: usize = 10_000;
/// Attempts to publish one batch before it is dropped.
const ATTEMPTS: u32 = 3;

/// The sending side, cheap to clone; the batch task ends (after a last
/// flush) once every clone is dropped.
#[derive(Debug)]
pub struct Batcher<T> {
    tx: mpsc::Sender<(T, Option<Context>)>,
    what: &'static str,
    traced: bool,
}

impl<T> Clone for Batcher<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            what: self.what,
            traced: self.traced,
        }
    }
}

/// The batch task of a [`Batcher`], cheap to clone: awaited once every
/// clone of the batcher is dropped (the service's servers have stopped), it
/// publishes the last batch.
#[derive(Clone, Debug)]
pub struct Flush(Arc<Mutex<Option<JoinHandle<()>>>>);

impl Flush {
    /// Waits, at most `limit`, for the last batch to be published (the
    /// first call does; later ones return at once).
    pub async fn wait(&self, limit: Duration) {
        let task = self.0.lock().take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(limit, task).await;
        }
    }
}

impl<T: Send + 'static> Batcher<T> {
    /// Starts the batch task: `wrap` turns up to `max` items into the
    /// message published on `bus`; `what` names the items in log lines and
    /// spans; `traced` keeps each caller's trace context (see the module).
    /// Must run inside a tokio runtime.
    pub fn spawn<B, F>(
        bus: Bus,
        max: usize,
        linger: Duration,
        what: &'static str,
        traced: bool,
        wrap: F,
    ) -> (Self, Flush)
    where
        B: Event,
        F: Fn(Vec<T>) -> B + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(bus, rx, max.max(1), linger, what, wrap));
        (
            Self { tx, what, traced },
            Flush(Arc::new(Mutex::new(Some(task)))),
        )
    }

    /// Queues one item; never waits. A full queue drops it (counted in
    /// `cloudsms.bus.events_dropped`, and warned of at most every 10 s).
    pub fn push(&self, item: T) {
        static WARN: telemetry::Throttled = telemetry::Throttled::new(Duration::from_secs(10));
        let cx = self.traced.then(telemetry::current_context);
        if let Err(err) = self.tx.try_send((item, cx)) {
            crate::metrics::events_dropped(self.what, "queue_full", 1);
            if let Some(held) = WARN.allow() {
                tracing::warn!(%err, what = self.what, held_back = held, "event queue full or closed; event dropped");
            }
        }
    }
}

async fn run<T, B, F>(
    bus: Bus,
    mut rx: mpsc::Receiver<(T, Option<Context>)>,
    max: usize,
    linger: Duration,
    what: &'static str,
    wrap: F,
) where
    B: Event,
    F: Fn(Vec<T>) -> B,
{
    while let Some((first, cx)) = rx.recv().await {
        let mut items = Vec::with_capacity(max.min(1024));
        items.push(first);
        let deadline = tokio::time::Instant::now() + linger;
        while items.len() < max {
            // What is already queued is taken without touching the timer.
            match rx.try_recv() {
                Ok((item, _)) => {
                    items.push(item);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((item, _))) => items.push(item),
                Ok(None) | Err(_) => break,
            }
        }
        let count = items.len();
        let batch = wrap(items);
        match cx {
            Some(cx) => {
                let span = tracing::info_span!(
                    "event batch",
                    otel.name = %format!("{what} batch"),
                    messaging.batch.message_count = count,
                );
                telemetry::set_parent(&span, cx);
                publish(&bus, &batch, count, what).instrument(span).await;
            }
            None => publish(&bus, &batch, count, what).await,
        }
    }
}

async fn publish<B: Event>(bus: &Bus, batch: &B, count: usize, what: &'static str) {
    for attempt in 1..=ATTEMPTS {
        match bus.publish(batch).await {
            Ok(_) => return,
            Err(err) if attempt < ATTEMPTS => {
                tracing::warn!(%err, attempt, what, "event batch not published; retrying");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(err) => {
                crate::metrics::events_dropped(what, "publish_failed", count as u64);
                tracing::error!(%err, events = count, what, "event batch dropped");
            }
        }
    }
}
