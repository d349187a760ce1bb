//! Live updates: one bus subscription per gateway process fans new messages
//! out to every open Server-Sent Events stream of this replica.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use proto::events::v1::MessageStored;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::views::MessageJson;
use crate::{AppState, PageError};

/// Generation key of the global feed in the page cache.
pub const LATEST: &str = "*latest*";

/// Hot-list pushes of announced messages in flight at most.
const MAX_REPUSHES: usize = 256;

/// Fan-out of `MessageStored` within this process.
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Arc<MessageStored>>,
    closing: CancellationToken,
    /// Rendered pages, dropped as their numbers receive messages.
    pub pages: Arc<crate::page_cache::PageCache>,
}

impl Default for Live {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            tx,
            closing: CancellationToken::new(),
            pages: Arc::default(),
        }
    }
}

impl Live {
    /// Forwards the bus's `MessageStored` events until `shutdown`, resubscribing
    /// after a bus failure.
    ///
    /// Each announced message is also pushed onto the hot lists again: a
    /// list refilled from the database just before the message was committed
    /// would otherwise miss it until its TTL ran out (reads drop repeats).
    pub fn spawn_forwarder(
        &self,
        bus: bus::Bus,
        cache: Arc<dyn cache::HotCache>,
        shutdown: CancellationToken,
    ) {
        let tx = self.tx.clone();
        let pages = self.pages.clone();
        // Open streams end at shutdown, so the server can drain.
        let closing = self.closing.clone();
        let on_shutdown = shutdown.clone();
        let repushes = Arc::new(tokio::sync::Semaphore::new(MAX_REPUSHES));
        tokio::spawn(async move {
            on_shutdown.cancelled().await;
            closing.cancel();
        });
        tokio::spawn(async move {
            loop {
                match bus.subscribe_traced::<MessageStored>().await {
                    Ok(mut events) => loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            next = events.next() => match next {
                                // No open page is not an error.
                                Some((event, headers)) => {
                                    // Continues the SMS's trace: webhook → persister → here.
                                    let span = tracing::info_span!(
                                        "sms.stored process",
                                        otel.kind = "consumer",
                                        messaging.system = "nats",
                                        messaging.operation.type = "process",
                                        messaging.destination.name = "sms.stored",
                                    );
                                    telemetry::set_parent_from(&span, &headers);
                                    let _entered = span.enter();
                                    pages.invalidate(&event.number);
                                    pages.invalidate(LATEST);
                                    let event = Arc::new(event);
                                    let _ = tx.send(event.clone());
                                    // Off the live path: open pages do not wait
                                    // for Redis. When too many are in flight
                                    // (Redis slow or away) the push is skipped;
                                    // the list heals when its fill TTL runs out.
                                    match repushes.clone().try_acquire_owned() {
                                        Ok(permit) => {
                                            let cache = cache.clone();
                                            tokio::spawn(
                                                async move {
                                                    if let Err(err) = cache.push(&event).await {
                                                        tracing::warn!(error = %err, "hot list not updated");
                                                    }
                                                    drop(permit);
                                                }
                                                .instrument(tracing::Span::current()),
                                            );
                                        }
                                        Err(_) => tracing::warn!("hot list update skipped: too many in flight"),
                                    }
                                }
                                None => break,
                            },
                        }
                    },
                    Err(err) => tracing::warn!(error = %err, "live updates unavailable; retrying"),
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
    }

    fn for_number(&self, number: String) -> impl Stream<Item = Arc<MessageStored>> + use<> {
        let rx = self.tx.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(message) => return Some((message, rx)),
                    // A slow client missed some: the page's poll fallback catches up.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .filter(move |m| futures::future::ready(m.number == number))
        .take_until(self.closing.clone().cancelled_owned())
    }
}

/// `GET /numbers/{e164}/events`: new messages of one number as SSE
/// (`event: message`, JSON data as in the JSON API).
pub async fn events(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let number = crate::pages::registered_number(&state, &raw).await?;
    let stream = state
        .live
        .for_number(number.as_str().to_owned())
        .map(|message| {
            let json = MessageJson::from_event(&message);
            let data = serde_json::to_string(&json).unwrap_or_default();
            Ok(Event::default()
                .event("message")
                .id(message.id.to_string())
                .data(data))
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
