//! A visitor's live updates in the cluster chaos run: a Server-Sent Events
//! stream of one number on one gateway that, when its gateway goes away,
//! reopens on the next gateway with `Last-Event-ID` (as a browser behind a
//! load balancer does) and keeps every message frame it got, so the run
//! can tell a gap or a repeat.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use parking_lot::Mutex;

use crate::chaos::load::sid_of_body;

/// One reopening of the stream.
#[derive(Debug, Clone)]
pub struct Reopened {
    /// When the old stream ended.
    pub lost: Instant,
    /// When the new one answered.
    pub opened: Instant,
    /// The gateway it now reads (index into the watcher's list).
    pub gateway: usize,
}

/// What a watcher saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// The gateway it reads now (index).
    pub gateway: usize,
    /// Open (answered 200) now.
    pub open: bool,
    /// Frames of `event: message` by `MessageSid` (count: more than 1 is a repeat).
    pub sids: HashMap<String, usize>,
    /// The last `id:` received.
    pub last_id: Option<i64>,
    /// Every reopening.
    pub reopened: Vec<Reopened>,
}

/// A reconnecting SSE reader of `/numbers/<number>/events`.
pub struct Watcher {
    /// The number it watches.
    pub number: String,
    /// The gateway it started on.
    pub first_gateway: usize,
    /// What it saw so far.
    pub seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    /// Starts reading `number`'s stream on `gateways[first]`.
    pub fn start(gateways: Vec<String>, first: usize, number: &str) -> Self {
        let seen = Arc::new(Mutex::new(Seen {
            gateway: first,
            ..Seen::default()
        }));
        let task = tokio::spawn(read(gateways, number.to_owned(), seen.clone()));
        Self {
            number: number.to_owned(),
            first_gateway: first,
            seen,
            task,
        }
    }

    /// Waits until the stream is open.
    pub async fn wait_open(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.seen.lock().open {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Waits until the stream was reopened after `since` on another
    /// gateway; the reopening.
    pub async fn wait_reopened(&self, since: Instant, within: Duration) -> Option<Reopened> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(r) = self
                .seen
                .lock()
                .reopened
                .iter()
                .find(|r| r.lost >= since)
                .cloned()
            {
                return Some(r);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops reading.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// One SSE frame's `event`, `id` and `data`.
fn parse_frame(block: &str) -> (Option<&str>, Option<i64>, Option<&str>) {
    let (mut event, mut id, mut data) = (None, None, None);
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event: ") {
            event = Some(v);
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = Some(v);
        }
    }
    (event, id, data)
}

async fn read(gateways: Vec<String>, number: String, seen: Arc<Mutex<Seen>>) {
    let client = reqwest::Client::new();
    let mut lost: Option<Instant> = None;
    let mut at = seen.lock().gateway;
    loop {
        let last = seen.lock().last_id;
        let mut request = client.get(format!("{}/numbers/{number}/events", gateways[at]));
        if let Some(last) = last {
            request = request.header("last-event-id", last.to_string());
        }
        let response = match request.send().await {
            Ok(r) if r.status().is_success() => r,
            _ => {
                // Not there (killed) or refusing: the next gateway.
                lost.get_or_insert_with(Instant::now);
                at = (at + 1) % gateways.len();
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        {
            let mut s = seen.lock();
            s.open = true;
            s.gateway = at;
            if let Some(lost) = lost.take() {
                s.reopened.push(Reopened {
                    lost,
                    opened: Instant::now(),
                    gateway: at,
                });
            }
        }
        let mut body = response.bytes_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let (event, id, data) = parse_frame(&block);
                if event != Some("message") {
                    continue;
                }
                let sid = data
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                    .and_then(|v| v["body"].as_str().and_then(sid_of_body).map(str::to_owned));
                let mut s = seen.lock();
                if let Some(id) = id {
                    s.last_id = Some(id);
                }
                if let Some(sid) = sid {
                    *s.sids.entry(sid).or_default() += 1;
                }
            }
        }
        // The stream ended: its gateway went away.
        seen.lock().open = false;
        lost = Some(Instant::now());
        at = (at + 1) % gateways.len();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_frame;

    #[test]
    fn frames_give_their_event_id_and_data() {
        let (event, id, data) = parse_frame("event: message\nid: 42\ndata: {\"body\":\"x\"}\n\n");
        assert_eq!(event, Some("message"));
        assert_eq!(id, Some(42));
        assert_eq!(data, Some("{\"body\":\"x\"}"));
        assert_eq!(parse_frame("event: heartbeat\ndata: {}\n\n").1, None);
    }
}
