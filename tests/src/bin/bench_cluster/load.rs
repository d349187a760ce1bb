//! The load of a round: signed Twilio webhooks posted round robin over the
//! ingest replicas, and request-log events in `RequestsLogged` messages.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use cloudsms_tests::drive::twilio_sms;
use proto::events::v1::{RequestLogged, RequestsLogged, RouteKind};

use crate::{EVENTS_PER_MESSAGE, NUMBERS, PUBLIC_URL, TWILIO_TOKEN};

/// Signed webhooks: `(body, signature)`, unique by `tag`.
pub(crate) fn webhooks(tag: &str, count: usize) -> Vec<(String, String)> {
    let url = format!("{PUBLIC_URL}/webhooks/twilio");
    (0..count)
        .map(|i| {
            twilio_sms(
                &url,
                TWILIO_TOKEN,
                &format!("SM{tag}{i:010}"),
                NUMBERS[i % NUMBERS.len()],
                &format!(
                    "Your verification code is {:06}. Do not share it.",
                    i % 1_000_000
                ),
            )
        })
        .collect()
}

/// Posts every webhook once, the i-th to replica `i % ports.len()`, with
/// `in_flight` requests outstanding; how long until the last answer.
pub(crate) async fn post_all(
    client: &reqwest::Client,
    ports: &[u16],
    hooks: Vec<(String, String)>,
    in_flight: usize,
) -> anyhow::Result<Duration> {
    let urls: Arc<Vec<String>> = Arc::new(
        ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}/webhooks/twilio"))
            .collect(),
    );
    let hooks = Arc::new(hooks);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (client, urls, hooks, next) =
            (client.clone(), urls.clone(), hooks.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, signature)) = hooks.get(i) else {
                    return refused;
                };
                let answer = client
                    .post(&urls[i % urls.len()])
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", signature)
                    .body(body.clone())
                    .send()
                    .await;
                if !answer.is_ok_and(|r| r.status().is_success()) {
                    refused += 1;
                }
            }
        }));
    }
    let mut refused = 0;
    for task in tasks {
        refused += task.await?;
    }
    let elapsed = started.elapsed();
    if refused > 0 {
        bail!("{refused} of {} webhooks not answered 2xx", hooks.len());
    }
    Ok(elapsed)
}

/// `count` request logs of number pages (mostly), their visitor ids marked
/// with `tag`, in 256-event messages.
pub(crate) fn log_batches(tag: &str, count: usize) -> Vec<RequestsLogged> {
    let now = proto::timestamp_from_unix_millis(chrono::Utc::now().timestamp_millis());
    (0..count)
        .collect::<Vec<_>>()
        .chunks(EVENTS_PER_MESSAGE)
        .map(|chunk| RequestsLogged {
            batch_id: uuid::Uuid::now_v7().to_string(),
            requests: chunk
                .iter()
                .map(|i| {
                    let number = NUMBERS[i % NUMBERS.len()];
                    let page = i % 10 != 0;
                    RequestLogged {
                        event_id: uuid::Uuid::now_v7().to_string(),
                        ts: Some(now),
                        visitor_id: format!("{tag}{:020}", i % 20_000),
                        ip: format!("203.0.113.{}", i % 250),
                        method: "GET".into(),
                        path: if page {
                            format!("/numbers/{number}")
                        } else {
                            "/".into()
                        },
                        status: 200,
                        latency_us: 800,
                        browser_family: "Firefox".into(),
                        browser_version: "133".into(),
                        os_family: "Linux".into(),
                        host: "sms.example".into(),
                        route: if page { "/numbers/{e164}" } else { "/" }.into(),
                        route_kind: if page {
                            RouteKind::NumberPage
                        } else {
                            RouteKind::Page
                        }
                        .into(),
                        number: if page {
                            number.to_owned()
                        } else {
                            String::new()
                        },
                        ..Default::default()
                    }
                })
                .collect(),
        })
        .collect()
}
