//! Live updates: one bus subscription per gateway process fans new messages
//! out to every open Server-Sent Events stream of this replica.
//!
//! Each message is serialised once, into the bytes of its SSE frame, and
//! those bytes are shared by every stream (a clone is a reference count), so
//! a message costs the same however many streams are open. Streams are
//! bounded: per client network (counted in the cache, so every replica
//! shares the count), per process, and in time (`gateway.live.*`); past a
//! bound the answer is `429` with `Retry-After` and the page polls instead.
//! A stream that ends is reopened by the browser with `Last-Event-ID`, and
//! gets the messages it missed first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use proto::events::v1::MessageStored;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::client::ClientAddr;
use crate::views::MessageJson;
use crate::{AppState, PageError};

/// Generation key of the global feed in the page cache.
pub const LATEST: &str = "*latest*";

/// Hot-list pushes of announced messages in flight at most.
const MAX_REPUSHES: usize = 256;
/// Seconds between keep-alive comments on an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Missed messages replayed at most to a stream reopened with `Last-Event-ID`.
const MAX_REPLAY: usize = 20;
/// Milliseconds the browser waits before reopening an ended stream.
const RETRY_MS: u64 = 3000;

/// A stored message as every open stream of its number sends it.
#[derive(Debug)]
pub struct Frame {
    number: String,
    bytes: Bytes,
}

/// Fan-out of `MessageStored` within this process.
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Arc<Frame>>,
    closing: CancellationToken,
    /// Rendered pages, dropped as their numbers receive messages.
    pub pages: Arc<crate::page_cache::PageCache>,
    /// Open streams of this process (`gateway.live.max_streams`).
    streams: Arc<Semaphore>,
    /// Frames built by the forwarder: one per message, whatever the streams.
    frames_built: Arc<AtomicU64>,
}

/// The SSE frame of `message`: `event: message`, its id, and the JSON of
/// the API on one `data:` line (JSON text has no raw line breaks).
fn frame(message: &MessageStored) -> Bytes {
    let json = serde_json::to_string(&MessageJson::from_event(message)).unwrap_or_default();
    Bytes::from(format!(
        "event: message\nid: {}\ndata: {json}\n\n",
        message.id
    ))
}

impl Live {
    /// A fan-out allowing `max_streams` open streams in this process.
    pub fn new(max_streams: usize) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            tx,
            closing: CancellationToken::new(),
            pages: Arc::default(),
            streams: Arc::new(Semaphore::new(max_streams)),
            frames_built: Arc::default(),
        }
    }

    /// Frames serialised so far (one per message announced, however many
    /// streams were open).
    pub fn frames_built(&self) -> u64 {
        self.frames_built.load(Ordering::Relaxed)
    }

    /// Streams open in this process now.
    pub fn open_streams(&self, max_streams: usize) -> usize {
        max_streams.saturating_sub(self.streams.available_permits())
    }

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
        let live = self.clone();
        // Open streams end at shutdown, so the server can drain.
        let closing = self.closing.clone();
        let on_shutdown = shutdown.clone();
        let repushes = Arc::new(Semaphore::new(MAX_REPUSHES));
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
                                    live.announce(&event);
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

    /// A message was stored: its pages are stale, and every open stream of
    /// its number gets its frame (built here, once).
    fn announce(&self, message: &MessageStored) {
        self.pages.invalidate(&message.number);
        self.pages.invalidate(LATEST);
        if self.tx.receiver_count() == 0 {
            return;
        }
        self.frames_built.fetch_add(1, Ordering::Relaxed);
        let frame = Arc::new(Frame {
            number: message.number.clone(),
            bytes: frame(message),
        });
        // No open stream is not an error.
        let _ = self.tx.send(frame);
    }

    /// The frames of `number` from now on, until shutdown.
    fn for_number(&self, number: String) -> impl Stream<Item = Bytes> + use<> {
        let rx = self.tx.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(frame) => return Some((frame, rx)),
                    // A slow client missed some: the page's poll fallback catches up.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .filter_map(move |frame| {
            futures::future::ready((frame.number == number).then(|| frame.bytes.clone()))
        })
        .take_until(self.closing.clone().cancelled_owned())
    }
}

/// The slots one open stream holds; given back when the stream is dropped
/// (the client went away, the stream's time ran out, or shutdown).
struct Slots {
    _process: OwnedSemaphorePermit,
    network: Option<(Arc<dyn cache::HotCache>, String, String)>,
}

impl Drop for Slots {
    fn drop(&mut self) {
        if let Some((cache, key, holder)) = self.network.take() {
            // The stream is already gone; the cache call need not hold it up.
            tokio::spawn(async move {
                if let Err(err) = cache.release_slot(&key, &holder).await {
                    // The slot lapses by itself after the stream's lifetime.
                    tracing::debug!(error = %err, "live stream slot not released");
                }
            });
        }
    }
}

fn too_many(reason: &'static str, retry_secs: u64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({ "error": reason, "retry_after": retry_secs })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_secs));
    response
}

/// Takes a slot in this process and one in the client's network, or the
/// 429 that says which bound was reached.
async fn take_slots(state: &AppState, client: ClientAddr) -> Result<Slots, Response> {
    let settings = &state.settings.gateway.live;
    let Ok(process) = state.live.streams.clone().try_acquire_owned() else {
        return Err(too_many("too many live streams on this server", 30));
    };
    let Some(ip) = client.0 else {
        return Ok(Slots {
            _process: process,
            network: None,
        });
    };
    let key = format!("live:n:{}", platform::network_prefix(ip));
    let holder = uuid::Uuid::new_v4().simple().to_string();
    // A little longer than a stream lives, so a crashed replica's slots lapse.
    let ttl = Duration::from_secs(settings.max_stream_secs.saturating_add(30));
    match state
        .cache
        .acquire_slot(&key, &holder, settings.max_streams_per_network, ttl)
        .await
    {
        Ok(true) => Ok(Slots {
            _process: process,
            network: Some((state.cache.clone(), key, holder)),
        }),
        Ok(false) => Err(too_many("too many live streams from your network", 60)),
        Err(err) => {
            // The per-process bound still holds; the cache being away must
            // not take live updates down with it.
            tracing::warn!(%err, "live streams: cannot count the network; allowing");
            Ok(Slots {
                _process: process,
                network: None,
            })
        }
    }
}

/// Messages of `number` newer than the id in `Last-Event-ID`, oldest first,
/// as frames (a reopened stream misses nothing that is still hot).
async fn missed(state: &AppState, number: &str, headers: &HeaderMap) -> Vec<Bytes> {
    let Some(last) = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
    else {
        return Vec::new();
    };
    let Ok(recent) = crate::pages::recent(state, number).await else {
        return Vec::new();
    };
    let mut newer: Vec<&MessageStored> = recent.iter().filter(|m| m.id > last).collect();
    newer.sort_by_key(|m| m.id);
    let skip = newer.len().saturating_sub(MAX_REPLAY);
    newer.into_iter().skip(skip).map(frame).collect()
}

/// `GET /numbers/{e164}/events`: new messages of one number as SSE
/// (`event: message`, JSON data as in the JSON API), for at most
/// `gateway.live.max_stream_secs`.
pub async fn events(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    client: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let number = crate::pages::registered_number(&state, &raw).await?;
    let client = client.map_or(ClientAddr(None), |c| c.0);
    let slots = match take_slots(&state, client).await {
        Ok(slots) => slots,
        Err(refused) => return Ok(refused),
    };
    let lifetime = Duration::from_secs(state.settings.gateway.live.max_stream_secs);
    let live = state.live.for_number(number.as_str().to_owned());
    let replay = missed(&state, number.as_str(), &headers).await;
    let start = Bytes::from(format!("retry: {RETRY_MS}\n\n"));
    let keep_alive = tokio_stream_interval(KEEP_ALIVE).map(|()| Bytes::from_static(b":\n\n"));
    let body = futures::stream::iter(std::iter::once(start).chain(replay))
        .chain(futures::stream::select(live, keep_alive))
        .take_until(tokio::time::sleep(lifetime))
        .map(move |bytes| {
            // The slots live as long as the stream does.
            let _held = &slots;
            Ok::<_, std::convert::Infallible>(bytes)
        });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies that buffer (nginx) would hold the frames back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// A tick every `period`, the first after one period.
fn tokio_stream_interval(period: Duration) -> impl Stream<Item = ()> {
    futures::stream::unfold(
        tokio::time::interval_at(tokio::time::Instant::now() + period, period),
        |mut interval| async move {
            interval.tick().await;
            Some(((), interval))
        },
    )
}
