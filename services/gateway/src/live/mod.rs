//! Live updates: one bus subscription per gateway process fans new messages
//! out to every open Server-Sent Events stream of this replica.
//!
//! Each message is serialised once, into the bytes of its SSE frame, and
//! those bytes are shared by every stream (a clone is a reference count) and
//! kept a few minutes for streams that reopen (`Last-Event-ID`), so a
//! message costs the same however many streams are open or come back. The
//! streams themselves, and their bounds, are `stream`'s.

mod catch_up;
mod stream;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use parking_lot::Mutex;
use proto::events::v1::MessageStored;
use tokio::sync::{Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

pub use stream::{all_events, events};

use crate::views::MessageJson;

/// Generation key of the global feed in the page cache.
pub const LATEST: &str = "*latest*";

/// How long frames are kept for streams that reopen.
const REPLAY_WINDOW: Duration = Duration::from_secs(300);
/// Most bytes of frames kept for streams that reopen.
const REPLAY_BYTES: usize = 4 << 20;

/// A stored message as every open stream of its number sends it.
#[derive(Debug)]
pub struct Frame {
    number: String,
    id: i64,
    at: Instant,
    bytes: Bytes,
}

/// The frames of the last few minutes, oldest first, within
/// [`REPLAY_BYTES`], and the message ids they carry.
#[derive(Default)]
struct Recent {
    frames: VecDeque<Arc<Frame>>,
    bytes: usize,
    ids: HashSet<i64>,
    /// The newest message id announced (or stored at start).
    newest: i64,
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
    /// Frames serialised: one per message, whatever the streams.
    frames_built: Arc<AtomicU64>,
    recent: Arc<Mutex<Recent>>,
    /// `gateway.masking`, applied to the text of every frame.
    masking: crate::masking::Masking,
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
            recent: Arc::default(),
            masking: crate::masking::Masking::default(),
        }
    }

    /// The same fan-out, masking message texts with `masking`.
    #[must_use]
    pub fn with_masking(mut self, masking: crate::masking::Masking) -> Self {
        self.masking = masking;
        self
    }

    /// Messages serialised into frames so far: one per message announced,
    /// however many streams were open or reopened.
    pub fn frames_built(&self) -> u64 {
        self.frames_built.load(Ordering::Relaxed)
    }

    /// The SSE frame of `message`: `event: message`, its id, and the JSON of
    /// the API on one `data:` line (JSON text has no raw line breaks).
    fn frame(&self, message: &MessageStored) -> Frame {
        self.frames_built.fetch_add(1, Ordering::Relaxed);
        let json = serde_json::to_string(&MessageJson::from_event(message, &self.masking))
            .unwrap_or_default();
        Frame {
            number: message.number.clone(),
            id: message.id,
            at: Instant::now(),
            bytes: Bytes::from(format!(
                "event: message\nid: {}\ndata: {json}\n\n",
                message.id
            )),
        }
    }

    /// Forwards the bus's `MessageStored` events until `shutdown`, resubscribing
    /// after a bus failure.
    ///
    /// The hot lists are the persister's to write (once per message): a
    /// list refilled from the database while a message was being stored is
    /// refused by its change counter (`HotCache::fill_unless_pushed`), so
    /// the gateway does not write announced messages again. A message
    /// already past its period (a provider's very late delivery) is neither
    /// announced nor kept for replays.
    pub fn spawn_forwarder(&self, bus: bus::Bus, store: store::Store, shutdown: CancellationToken) {
        let live = self.clone();
        // Open streams end at shutdown, so the server can drain.
        let closing = self.closing.clone();
        let on_shutdown = shutdown.clone();
        tokio::spawn(async move {
            on_shutdown.cancelled().await;
            closing.cancel();
        });
        self.spawn_catch_up(&bus, store.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                match bus.subscribe_traced::<MessageStored>().await {
                    Ok(mut events) => loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            next = events.next() => match next {
                                Some((event, headers)) => {
                                    let cutoffs = store.cutoffs().await;
                                    if !crate::views::within_period(&cutoffs, &event) {
                                        continue;
                                    }
                                    // Continues the SMS's trace: webhook → persister → here.
                                    let span = tracing::info_span!(
                                        "sms.stored process",
                                        otel.kind = "consumer",
                                        messaging.system = "nats",
                                        messaging.operation.type = "process",
                                        messaging.operation.name = "process",
                                        messaging.destination.name = "sms.stored",
                                    );
                                    telemetry::set_parent_from(&span, &headers);
                                    let _entered = span.enter();
                                    live.announce(&event);
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
    /// its number gets its frame (built here, once, and kept a while for
    /// streams that reopen). A message announced again (the persister
    /// repeats the announcement of a redelivered message, whose first one
    /// may have died with the process that stored it) while its frame is
    /// kept reaches no stream twice.
    fn announce(&self, message: &MessageStored) {
        self.pages.invalidate(&message.number);
        self.pages.invalidate(LATEST);
        if self.recent.lock().ids.contains(&message.id) {
            return;
        }
        let frame = Arc::new(self.frame(message));
        {
            let mut recent = self.recent.lock();
            if !recent.ids.insert(frame.id) {
                return;
            }
            recent.newest = recent.newest.max(frame.id);
            recent.bytes += frame.bytes.len();
            recent.frames.push_back(frame.clone());
            while recent.bytes > REPLAY_BYTES
                || recent
                    .frames
                    .front()
                    .is_some_and(|f| f.at.elapsed() > REPLAY_WINDOW)
            {
                let Some(old) = recent.frames.pop_front() else {
                    break;
                };
                recent.bytes -= old.bytes.len();
                recent.ids.remove(&old.id);
            }
        }
        // No open stream is not an error.
        let _ = self.tx.send(frame);
    }

    /// An operator hid message `id` of `number` (`hidden` false: showed it
    /// again). Its pages are stale either way. A hidden message is no
    /// longer replayed to reopened streams, and every open stream of its
    /// number (and the site-wide one) gets `event: hidden` with its id (no
    /// `id:` line: `Last-Event-ID` stays the last message's), on which the
    /// page removes it.
    pub fn hide(&self, number: &str, id: i64, hidden: bool) {
        self.pages.invalidate(number);
        self.pages.invalidate(LATEST);
        if !hidden {
            return;
        }
        {
            let mut recent = self.recent.lock();
            let before = recent.frames.len();
            recent
                .frames
                .retain(|f| !(f.id == id && f.number == number));
            if recent.frames.len() != before {
                recent.bytes = recent.frames.iter().map(|f| f.bytes.len()).sum();
                recent.ids.remove(&id);
            }
        }
        let frame = Arc::new(Frame {
            number: number.to_owned(),
            id,
            at: Instant::now(),
            bytes: Bytes::from(format!("event: hidden\ndata: {{\"id\":{id}}}\n\n")),
        });
        let _ = self.tx.send(frame);
    }

    /// The kept frames of `number` (of every number when `None`) after
    /// message `last` (ids above it), oldest first, at most `most`: what a
    /// reopened stream missed.
    fn missed(&self, number: Option<&str>, last: i64, most: usize) -> Vec<Bytes> {
        let recent = self.recent.lock();
        let mut frames: Vec<&Arc<Frame>> = recent
            .frames
            .iter()
            .filter(|f| {
                number.is_none_or(|n| f.number == n)
                    && f.id > last
                    && f.at.elapsed() <= REPLAY_WINDOW
            })
            .collect();
        frames.sort_by_key(|f| f.id);
        let skip = frames.len().saturating_sub(most);
        frames
            .into_iter()
            .skip(skip)
            .map(|f| f.bytes.clone())
            .collect()
    }

    /// The frames of `number` (of every number when `None`: the site-wide
    /// stream of `/` and `/latest`) from now on, until shutdown. Every
    /// stream reads the one broadcast; the filter is a comparison.
    fn frames_of(&self, number: Option<String>) -> impl Stream<Item = Bytes> + use<> {
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
            let wanted = number.as_ref().is_none_or(|n| frame.number == *n);
            futures::future::ready(wanted.then(|| frame.bytes.clone()))
        })
        .take_until(self.closing.clone().cancelled_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(id: i64, number: &str, body: &str) -> MessageStored {
        MessageStored {
            id,
            number: number.into(),
            body: body.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_message_is_serialised_once_and_kept_for_reopened_streams() {
        let live = Live::new(10);
        live.announce(&message(5, "+1", "five"));
        live.announce(&message(6, "+2", "six"));
        live.announce(&message(7, "+1", "seven"));
        assert_eq!(live.frames_built(), 3);
        let missed = live.missed(Some("+1"), 5, 20);
        assert_eq!(missed.len(), 1);
        assert!(String::from_utf8_lossy(&missed[0]).contains("seven"));
        assert_eq!(live.missed(Some("+1"), 0, 20).len(), 2);
        assert_eq!(live.missed(None, 5, 20).len(), 2, "six and seven");
        assert_eq!(
            live.missed(Some("+1"), 0, 1).len(),
            1,
            "the newest within the bound"
        );
        assert_eq!(live.frames_built(), 3, "replays reuse the frames");
    }

    #[tokio::test]
    async fn the_site_wide_stream_gets_every_number_from_the_same_frames() {
        let live = Live::new(10);
        let all = live.frames_of(None);
        let one = live.frames_of(Some("+1".into()));
        live.announce(&message(2, "+2", "two"));
        live.announce(&message(1, "+1", "one"));
        let all: Vec<Bytes> = all.take(2).collect().await;
        let one: Vec<Bytes> = one.take(1).collect().await;
        assert!(String::from_utf8_lossy(&all[0]).contains("two"));
        assert!(String::from_utf8_lossy(&all[1]).contains("one"));
        assert!(String::from_utf8_lossy(&one[0]).contains("one"));
        assert_eq!(all[1].as_ptr(), one[0].as_ptr(), "one frame, shared");
        assert_eq!(live.frames_built(), 2);
    }

    #[tokio::test]
    async fn a_hidden_message_is_removed_from_open_streams_and_never_replayed() {
        let live = Live::new(10);
        live.announce(&message(8, "+1", "eight"));
        live.announce(&message(9, "+1", "nine"));
        let one = live.frames_of(Some("+1".into()));
        let other = live.frames_of(Some("+2".into()));
        live.hide("+1", 8, true);
        live.announce(&message(10, "+2", "ten"));
        let got: Vec<Bytes> = one.take(1).collect().await;
        assert_eq!(&got[0][..], b"event: hidden\ndata: {\"id\":8}\n\n");
        let got: Vec<Bytes> = other.take(1).collect().await;
        assert!(
            String::from_utf8_lossy(&got[0]).contains("ten"),
            "not told of +1"
        );
        let missed = live.missed(Some("+1"), 0, 20);
        assert_eq!(missed.len(), 1);
        assert!(String::from_utf8_lossy(&missed[0]).contains("nine"));
    }

    #[tokio::test]
    async fn a_reconnection_catches_up_on_what_was_stored_meanwhile_once() {
        // Announced live: 20 and 21. While the bus was away 22 and 23 were
        // stored; the database read after the reconnection also returns 21
        // (announced) and 19 (older than anything kept: not news).
        let live = Live::new(10);
        live.announce(&message(20, "+1", "twenty"));
        let one = live.frames_of(Some("+1".into()));
        live.announce(&message(21, "+1", "twenty-one"));
        let stored = vec![
            message(23, "+1", "twenty-three"),
            message(22, "+1", "twenty-two"),
            message(21, "+1", "twenty-one"),
            message(19, "+1", "nineteen"),
        ];
        let missed = live.unannounced(stored);
        assert_eq!(missed.iter().map(|m| m.id).collect::<Vec<_>>(), [22, 23]);
        for m in &missed {
            live.announce(m);
        }
        // A second read finds nothing new.
        assert!(
            live.unannounced(vec![message(23, "+1", "twenty-three")])
                .is_empty()
        );
        let got: Vec<Bytes> = one.take(3).collect().await;
        let got: Vec<String> = got
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert!(got[0].contains("\"twenty-one\""), "{got:?}");
        assert!(got[1].contains("\"twenty-two\""), "{got:?}");
        assert!(got[2].contains("\"twenty-three\""), "{got:?}");
    }

    #[test]
    fn with_nothing_kept_only_messages_newer_than_the_last_announced_are_news() {
        let live = Live::new(10);
        live.recent.lock().newest = 40;
        let missed = live.unannounced(vec![message(41, "+1", "a"), message(40, "+1", "b")]);
        assert_eq!(missed.iter().map(|m| m.id).collect::<Vec<_>>(), [41]);
    }

    #[tokio::test]
    async fn a_message_announced_again_reaches_streams_once() {
        // The persister announces a redelivered message again (its first
        // announcement may have been lost with the process that stored it):
        // open streams and reopened ones get it once.
        let live = Live::new(10);
        let one = live.frames_of(Some("+1".into()));
        live.announce(&message(11, "+1", "eleven"));
        live.announce(&message(11, "+1", "eleven"));
        live.announce(&message(12, "+1", "twelve"));
        let got: Vec<Bytes> = one.take(2).collect().await;
        assert!(String::from_utf8_lossy(&got[0]).contains("eleven"));
        assert!(
            String::from_utf8_lossy(&got[1]).contains("twelve"),
            "eleven repeated: {:?}",
            String::from_utf8_lossy(&got[1])
        );
        assert_eq!(live.missed(Some("+1"), 0, 20).len(), 2);
    }

    #[test]
    fn kept_frames_are_bounded_in_bytes() {
        let live = Live::new(10);
        let body = "x".repeat(64 * 1024);
        for id in 0..200 {
            live.announce(&message(id, "+1", &body));
        }
        let recent = live.recent.lock();
        assert!(recent.bytes <= REPLAY_BYTES, "{}", recent.bytes);
        assert!(recent.frames.len() < 200);
        assert_eq!(recent.frames.back().unwrap().id, 199);
    }
}
