//! The request log's way to the LOGS stream: events are gathered per
//! gateway and published as one `RequestsLogged` per batch (up to
//! `gateway.request_log_batch` events, or what arrived within
//! `gateway.request_log_linger_ms`), so a page view costs a channel send,
//! not a JetStream round trip. At most a linger's worth of events is lost
//! if the process dies; a full queue (the bus down for long) drops new
//! events with a warning rather than growing without bound.

use std::time::Duration;

use bus::Bus;
use proto::events::v1::{RequestLogged, RequestsLogged};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Events waiting at most (about 2 MB).
const QUEUE: usize = 10_000;
/// Attempts to publish one batch before it is dropped.
const ATTEMPTS: u32 = 3;

/// The sending side, cheap to clone; the batch task ends (after a last
/// flush) once every clone is dropped.
#[derive(Clone, Debug)]
pub struct RequestLog {
    tx: mpsc::Sender<RequestLogged>,
}

impl RequestLog {
    /// Starts the batch task on `bus`.
    pub fn spawn(bus: Bus, max_batch: usize, linger: Duration) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(bus, rx, max_batch.max(1), linger));
        (Self { tx }, task)
    }

    /// Queues one event; never waits.
    pub fn log(&self, event: RequestLogged) {
        if let Err(err) = self.tx.try_send(event) {
            tracing::warn!(%err, "request log queue full or closed; event dropped");
        }
    }
}

async fn run(bus: Bus, mut rx: mpsc::Receiver<RequestLogged>, max: usize, linger: Duration) {
    while let Some(first) = rx.recv().await {
        let mut requests = vec![first];
        let deadline = tokio::time::Instant::now() + linger;
        while requests.len() < max {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(event)) => requests.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        publish(
            &bus,
            RequestsLogged {
                batch_id: uuid::Uuid::now_v7().to_string(),
                requests,
            },
        )
        .await;
    }
}

async fn publish(bus: &Bus, batch: RequestsLogged) {
    for attempt in 1..=ATTEMPTS {
        match bus.publish(&batch).await {
            Ok(_) => return,
            Err(err) if attempt < ATTEMPTS => {
                tracing::warn!(%err, attempt, "request log batch not published; retrying");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(err) => {
                tracing::error!(%err, events = batch.requests.len(), "request log batch dropped");
            }
        }
    }
}
