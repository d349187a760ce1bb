//! Live updates (`/numbers/{e164}/events`, `/latest/events`: server-sent
//! events), read the way the pages read them.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::HeaderMap;

use crate::{TestApp, send};

/// An open live-update stream and what it carried so far.
pub struct LiveEvents {
    /// The response's headers.
    pub headers: HeaderMap,
    /// Everything read so far, as text.
    pub seen: String,
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
}

impl TestApp {
    /// Opens the live updates of `e164` (answered 200) and gives the
    /// subscription a moment: it is live once the response started, but the
    /// bus may need a little longer.
    pub async fn open_live(&self, e164: &str) -> LiveEvents {
        self.open_events(&format!("/numbers/{e164}/events")).await
    }

    /// Opens the event stream at `path` (`/latest/events`: every number's
    /// new messages), as [`TestApp::open_live`] does a number's.
    pub async fn open_events(&self, path: &str) -> LiveEvents {
        let response = send(self.gateway_get(path)).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let stream = Box::pin(response.bytes_stream());
        tokio::time::sleep(Duration::from_millis(200)).await;
        LiveEvents {
            headers,
            seen: String::new(),
            stream,
        }
    }
}

impl LiveEvents {
    /// Reads until a `message` event has arrived and `needle` was seen;
    /// panics when that takes more than 15 s or the stream ends first.
    pub async fn wait_for_message(&mut self, needle: &str) {
        let seen = &mut self.seen;
        let stream = &mut self.stream;
        let found = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(chunk) = stream.next().await {
                seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
                if seen.contains("event: message") && seen.contains(needle) {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            found == Ok(true),
            "no live event with {needle:?} in 15 s; got {seen:?}",
            seen = self.seen
        );
    }

    /// Reads the next chunk into [`LiveEvents::seen`]; panics when the
    /// stream ends.
    pub async fn next_chunk(&mut self) {
        let chunk = self.stream.next().await.expect("the stream ended").unwrap();
        self.seen.push_str(&String::from_utf8_lossy(&chunk));
    }

    /// The JSON of every `data:` line read so far.
    pub fn data(&self) -> Vec<serde_json::Value> {
        self.seen
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect()
    }
}
