//! `GET /numbers/{e164}/events`: one number's new messages as Server-Sent
//! Events (`GET /latest/events`: every number's, the same way), bounded: per client network (a slot in the cache, so every
//! replica shares the count; IPv4 /24, IPv6 /48 — a site, not one of its
//! 65,536 /64 subnets), per process and in time (`gateway.live.*`). Past a
//! bound the answer is `429` with `Retry-After`, and the page polls the API
//! instead. A stream that ends is reopened by the browser with
//! `Last-Event-ID` and first gets the kept frames it missed.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;

use crate::client::ClientAddr;
use crate::{AppState, PageError};

/// Time between heartbeats on a stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// The heartbeat: a named event (`event: heartbeat`, data `{}`, no id, so
/// `Last-Event-ID` stays the last message's), not a comment, so the page
/// sees it and can say "last checked hh:mm" — and notice a stream that went
/// silent. It also keeps proxies from closing an idle stream.
const HEARTBEAT_FRAME: &[u8] = b"event: heartbeat\ndata: {}\n\n";
/// Missed messages replayed at most to a stream reopened with `Last-Event-ID`.
const MAX_REPLAY: usize = 20;
/// Milliseconds the browser waits before reopening an ended stream.
const RETRY_MS: u64 = 3000;

/// The network a client's live streams are counted under: IPv4 /24, IPv6 /48.
fn stream_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        _ => platform::network_prefix(ip),
    }
}

/// The slots one open stream holds; given back when the stream is dropped
/// (the client went away, the stream's time ran out, or shutdown) — or when
/// the request is abandoned while its network slot is being taken.
struct Slots {
    _process: OwnedSemaphorePermit,
    network: Option<(std::sync::Arc<dyn cache::HotCache>, String, String)>,
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
/// 429 that says which bound was reached. When the cache cannot count, the
/// per-process bound alone holds (live updates stay up with the cache down).
async fn take_slots(state: &AppState, client: ClientAddr) -> Result<Slots, Response> {
    let settings = &state.settings.gateway.live;
    let Ok(process) = state.live.streams.clone().try_acquire_owned() else {
        return Err(too_many("too many live streams on this server", 30));
    };
    let mut slots = Slots {
        _process: process,
        network: None,
    };
    let Some(ip) = client.0 else {
        return Ok(slots);
    };
    let key = format!("live:n:{}", stream_network(ip));
    let holder = uuid::Uuid::new_v4().simple().to_string();
    // Held before the cache is asked: an abandoned request gives it back.
    slots.network = Some((state.cache.clone(), key.clone(), holder.clone()));
    // A little longer than a stream lives, so a crashed replica's slots lapse.
    let ttl = Duration::from_secs(settings.max_stream_secs.get().saturating_add(30));
    match state
        .cache
        .acquire_slot(&key, &holder, settings.max_streams_per_network.get(), ttl)
        .await
    {
        Ok(true) => Ok(slots),
        Ok(false) => {
            slots.network = None;
            Err(too_many("too many live streams from your network", 60))
        }
        Err(err) => {
            tracing::warn!(%err, "live streams: cannot count the network; allowing");
            slots.network = None;
            Ok(slots)
        }
    }
}

/// The id in `Last-Event-ID`, when the browser reopens a stream.
fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
}

/// `GET /numbers/{e164}/events`: new messages of one number as SSE
/// (`event: message`, JSON data as in the JSON API) and a heartbeat every
/// 15 s (`event: heartbeat`), for at most `gateway.live.max_stream_secs`.
pub async fn events(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    client: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let number = crate::pages::registered_number(&state, &raw).await?;
    Ok(open(
        &state,
        client,
        &headers,
        Some(number.as_str().to_owned()),
        None,
    )
    .await)
}

/// `?after=<id>` of `/latest/events`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct After {
    /// The newest message id the page shows.
    after: Option<i64>,
}

/// `GET /latest/events[?after=<id>]`: new messages of every number, as
/// [`events`] sends one number's (same frames, bounds, keep-alives and
/// `Last-Event-ID` replay), for the home page's cards and `/latest`. The
/// page names the newest message it shows in `?after=` and first gets the
/// kept ones after it: what arrived while the page loaded (a reopened
/// stream's `Last-Event-ID` comes first).
pub async fn all_events(
    State(state): State<AppState>,
    client: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
    Query(query): Query<After>,
) -> Response {
    open(&state, client, &headers, None, query.after).await
}

/// An SSE stream of `number`'s messages (every number's when `None`),
/// first those kept after `Last-Event-ID` (else `after`), or the 429 of a
/// bound reached.
async fn open(
    state: &AppState,
    client: Option<axum::Extension<ClientAddr>>,
    headers: &HeaderMap,
    number: Option<String>,
    after: Option<i64>,
) -> Response {
    let client = client.map_or(ClientAddr(None), |c| c.0);
    let slots = match take_slots(state, client).await {
        Ok(slots) => slots,
        Err(refused) => return refused,
    };
    let lifetime = Duration::from_secs(state.settings.gateway.live.max_stream_secs.get());
    // Subscribed before the replay is read: nothing falls in between.
    let live = state.live.frames_of(number.clone());
    let replay = last_event_id(headers)
        .or(after)
        .map(|last| state.live.missed(number.as_deref(), last, MAX_REPLAY))
        .unwrap_or_default();
    let start = Bytes::from(format!("retry: {RETRY_MS}\n\n"));
    let heartbeats = ticks(HEARTBEAT).map(|()| Bytes::from_static(HEARTBEAT_FRAME));
    let body = futures::stream::iter(std::iter::once(start).chain(replay))
        .chain(futures::stream::select(live, heartbeats))
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
    response
}

/// A tick every `period`, the first after one period.
fn ticks(period: Duration) -> impl Stream<Item = ()> {
    futures::stream::unfold(
        tokio::time::interval_at(tokio::time::Instant::now() + period, period),
        |mut interval| async move {
            interval.tick().await;
            Some(((), interval))
        },
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_counted_per_ipv4_24_and_ipv6_48() {
        let net = |s: &str| stream_network(s.parse().unwrap());
        assert_eq!(net("198.51.100.7"), "198.51.100.0/24");
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:ffff::9"));
        assert_ne!(net("2001:db8:1::1"), net("2001:db8:2::1"));
        assert_eq!(net("::ffff:198.51.100.7"), "198.51.100.0/24");
    }
}
