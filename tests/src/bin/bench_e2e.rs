//! `make bench` (end to end): latency from a provider's webhook to the
//! message on an open Server-Sent Events stream of the gateway
//! (`/numbers/{e164}/events`), at a fixed rate.
//!
//! One SSE stream per number is opened first. Then signed Twilio webhooks
//! are sent open loop: message `i` is due at `start + i / rate`, each on a
//! task of its own, whatever the earlier ones are doing, spread round robin
//! over the numbers. Every body carries a unique token; the latency of a
//! message is from its due time (its send time, or earlier when the sender
//! fell behind, so a stall is never hidden) to the moment its SSE event is
//! read. A message not seen on its stream by the time none has arrived for
//! 10 s is lost.
//!
//! Environment: `INGEST_URL`, `GATEWAY_URL`, `TWILIO_AUTH_TOKEN`,
//! `BENCH_NUMBERS` (registered numbers, comma-separated), all required;
//! `BENCH_E2E_SECONDS` (default 60), `BENCH_E2E_RATE` (messages per second,
//! default 1000); with `BENCH_BUS_PREFIX` (the services' `bus.prefix`) and
//! `TEST_NATS_URL` it first waits for the persister to be idle (the earlier
//! benchmarks' messages stored). Prints a Markdown table on stdout; progress
//! on stderr.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use cloudsms_tests::drive::{self, env_or, required};
use futures::StreamExt;

/// A message not seen on its stream by the time none arrived for this long
/// is lost.
const QUIET: Duration = Duration::from_secs(10);

fn say(message: &str) {
    eprintln!("bench_e2e: {message}");
}

/// One signed webhook: form body and `X-Twilio-Signature`.
struct Signed {
    body: String,
    signature: String,
}

fn webhook(url: &str, token: &str, run: &str, to: &str, i: usize) -> Signed {
    let (body, signature) = drive::twilio_sms(
        url,
        token,
        &format!("SM{run}{i:012}"),
        to,
        &format!(
            "Your verification code is {:06}. Do not share it. [{run}-{i}]",
            (i * 7919) % 1_000_000
        ),
    );
    Signed { body, signature }
}

/// The message index in an SSE `data:` line of this run, if any.
fn token_of(line: &str, marker: &str) -> Option<usize> {
    let data = line.strip_prefix("data:")?;
    let json: serde_json::Value = serde_json::from_str(data.trim()).ok()?;
    let body = json.get("body")?.as_str()?;
    let rest = &body[body.find(marker)? + marker.len()..];
    rest.split(']').next()?.parse().ok()
}

/// Reads one number's SSE stream, recording when each message of the run
/// arrives (nanoseconds after `origin`, stored + 1 so 0 means "not yet").
async fn read_stream(
    response: reqwest::Response,
    marker: String,
    origin: Instant,
    seen: Arc<Vec<AtomicU64>>,
    received: Arc<AtomicUsize>,
) {
    let mut body = response.bytes_stream();
    let mut pending = Vec::new();
    while let Some(Ok(chunk)) = body.next().await {
        let now = origin.elapsed().as_nanos() as u64 + 1;
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let Ok(line) = std::str::from_utf8(&line) else {
                continue;
            };
            if let Some(slot) = token_of(line, &marker).and_then(|i| seen.get(i))
                && slot
                    .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                received.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Waits until the durable consumer `durable` of `stream` has nothing
/// pending and nothing unacknowledged.
async fn wait_idle(nats_url: &str, stream: &str, durable: &str) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(
        async_nats::connect(nats_url.split(',').map(str::trim).collect::<Vec<_>>()).await?,
    );
    let stream = js.get_stream(stream).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let info = stream.consumer_info(durable).await?;
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{durable} still busy: {} pending", info.num_pending);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ingest = required("INGEST_URL")?;
    let gateway = required("GATEWAY_URL")?;
    let token = required("TWILIO_AUTH_TOKEN")?;
    let numbers: Vec<String> = required("BENCH_NUMBERS")?
        .split(',')
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    if numbers.is_empty() {
        bail!("BENCH_NUMBERS is empty");
    }
    let seconds = env_or("BENCH_E2E_SECONDS", 60).max(1);
    let rate = env_or("BENCH_E2E_RATE", 1000).max(1);
    let total = seconds * rate;
    let url = format!("{}/webhooks/twilio", ingest.trim_end_matches('/'));
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let marker = format!("[{run}-");

    if let Ok(prefix) = std::env::var("BENCH_BUS_PREFIX") {
        let prefix = prefix.to_ascii_lowercase();
        let nats_url =
            std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
        say("waiting for the persister to store the earlier benchmarks' messages");
        wait_idle(
            &nats_url,
            &bus::StreamKind::Sms.stream_name(&format!("{prefix}.")),
            &format!("{prefix}_{}", message_ingest::persister::CONSUMER),
        )
        .await?;
    }

    let hooks: Vec<Signed> = (0..total)
        .map(|i| webhook(&url, &token, &run, &numbers[i % numbers.len()], i))
        .collect();
    let hooks = Arc::new(hooks);

    // The streams first: a stream is subscribed once its headers arrived.
    let origin = Instant::now();
    let seen: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let received = Arc::new(AtomicUsize::new(0));
    let sse = reqwest::Client::builder().build()?;
    let mut readers = Vec::new();
    for number in &numbers {
        let response = sse
            .get(format!(
                "{}/numbers/{number}/events",
                gateway.trim_end_matches('/')
            ))
            .header("accept", "text/event-stream")
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("SSE stream of {number} answered {}", response.status());
        }
        readers.push(tokio::spawn(read_stream(
            response,
            marker.clone(),
            origin,
            seen.clone(),
            received.clone(),
        )));
    }

    // Warm-up: one message per number, on its way through the whole path.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    for (i, number) in numbers.iter().enumerate() {
        let hook = webhook(&url, &token, &format!("w{run}"), number, i);
        let response = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", &hook.signature)
            .body(hook.body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("warm-up webhook answered {}", response.status());
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    say(&format!(
        "{rate} SMS/s for {seconds} s over {} numbers",
        numbers.len()
    ));
    let failed = Arc::new(AtomicUsize::new(0));
    // How long each webhook took to be answered (202 after the JetStream ack).
    let answered: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let start = Instant::now() + Duration::from_millis(100);
    let start_ns = (start - origin).as_nanos() as u64;
    let interval_ns = 1_000_000_000 / rate as u64;
    let mut behind_max = Duration::ZERO;
    let mut senders = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + Duration::from_nanos(interval_ns * i as u64);
        tokio::time::sleep_until(due.into()).await;
        behind_max = behind_max.max(Instant::now().saturating_duration_since(due));
        let (client, hooks, url, failed, answered) = (
            client.clone(),
            hooks.clone(),
            url.clone(),
            failed.clone(),
            answered.clone(),
        );
        senders.push(tokio::spawn(async move {
            let hook = &hooks[i];
            let sent = Instant::now();
            let ok = client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", &hook.signature)
                .body(hook.body.clone())
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                answered[i].store(sent.elapsed().as_nanos() as u64, Ordering::Relaxed);
            } else {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let sending = start.elapsed();
    for sender in senders {
        sender.await?;
    }
    // The late ones: until all are in, or none came for 10 s (at most 5 min).
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut last = (received.load(Ordering::Relaxed), Instant::now());
    while last.0 < total && Instant::now() < deadline && last.1.elapsed() < QUIET {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = received.load(Ordering::Relaxed);
        if now > last.0 {
            last = (now, Instant::now());
        }
    }
    for reader in readers {
        reader.abort();
    }

    let mut latencies: Vec<f64> = seen
        .iter()
        .enumerate()
        .filter_map(|(i, at)| {
            let at = at.load(Ordering::Relaxed);
            (at > 0).then(|| {
                let due = start_ns + interval_ns * i as u64;
                (at - 1).saturating_sub(due) as f64 / 1e6
            })
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let lost = total - latencies.len();
    let failed = failed.load(Ordering::Relaxed);
    let achieved = total as f64 / sending.as_secs_f64();
    say(&format!(
        "sent {total} in {:.1} s ({achieved:.0}/s, at most {:.1} ms behind schedule); {failed} webhooks failed; {lost} lost",
        sending.as_secs_f64(),
        behind_max.as_secs_f64() * 1e3
    ));
    let (p50, p90, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
    let mut answers: Vec<f64> = answered
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .filter(|&a| a > 0)
        .map(|a| a as f64 / 1e6)
        .collect();
    answers.sort_by(f64::total_cmp);
    let met = p50 < 20.0 && p99 < 100.0 && lost == 0;
    println!(
        "| webhook → SSE, {rate} SMS/s for {seconds} s | p50 ms | p90 ms | p99 ms | max ms | lost | target met |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    println!(
        "| signed Twilio webhooks, open loop, {} numbers with one SSE stream each, {total} messages | {p50:.1} | {p90:.1} | {p99:.1} | {max:.1} | {lost} | {} |",
        numbers.len(),
        if met { "yes" } else { "no" }
    );
    println!();
    println!(
        "Sent {total} in {:.1} s ({achieved:.0}/s; the sender was at most {:.1} ms behind its schedule); {failed} webhooks not answered 2xx. The webhooks themselves were answered (202 after the JetStream ack) in p50 {:.1} ms, p99 {:.1} ms: the rest is the persister, `MessageStored` and the gateway.",
        sending.as_secs_f64(),
        behind_max.as_secs_f64() * 1e3,
        percentile(&answers, 50.0),
        percentile(&answers, 99.0)
    );
    Ok(())
}
