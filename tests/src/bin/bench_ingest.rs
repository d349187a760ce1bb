//! `make bench` (ingest part): signed Twilio webhooks per second into a
//! running message-ingest (each answered only after its JetStream ack),
//! against the baseline of async-nats publishing messages of the same size
//! to a JetStream stream with 256 acks in flight, in the same run.
//!
//! Environment: `INGEST_URL` (message-ingest's base URL, required),
//! `TWILIO_AUTH_TOKEN` (required), `BENCH_NUMBER` (registered number,
//! required), `TEST_NATS_URL` (default `nats://127.0.0.1:4222`),
//! `BENCH_WEBHOOKS` (default 20000), `BENCH_IN_FLIGHT` (default 256).
//! Prints one Markdown table row pair on stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::bail;
use cloudsms_tests::drive::{env_or, required};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

/// One signed webhook: form body and `X-Twilio-Signature`.
struct Signed {
    body: String,
    signature: String,
}

fn webhooks(url: &str, token: &str, to: &str, count: usize) -> Vec<Signed> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    (0..count)
        .map(|i| {
            let (body, signature) = cloudsms_tests::drive::twilio_sms(
                url,
                token,
                &format!("SM{}{i:010}", &run[..22]),
                to,
                &format!(
                    "Your verification code is {:06}. Do not share it.",
                    i % 1_000_000
                ),
            );
            Signed { body, signature }
        })
        .collect()
}

/// Webhooks/s with `in_flight` requests open at once; all must be 2xx.
async fn post_all(
    client: &reqwest::Client,
    url: &str,
    hooks: Vec<Signed>,
    in_flight: usize,
) -> anyhow::Result<f64> {
    let hooks = Arc::new(hooks);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (client, hooks, next, url) =
            (client.clone(), hooks.clone(), next.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(hook) = hooks.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok::<_, anyhow::Error>(());
                };
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", &hook.signature)
                    .body(hook.body.clone())
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("webhook answered {}", response.status());
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(hooks.len() as f64 / started.elapsed().as_secs_f64())
}

/// async-nats JetStream publishes/s of `size`-byte messages, `in_flight`
/// acks outstanding, to a file-backed stream made for the run.
async fn raw_publish(
    nats_url: &str,
    count: usize,
    size: usize,
    in_flight: usize,
) -> anyhow::Result<f64> {
    let client = async_nats::connect(nats_url).await?;
    let js = async_nats::jetstream::new(client);
    let name = format!("BENCH_{}", uuid::Uuid::new_v4().simple());
    let subject = format!("bench.{name}");
    js.create_stream(async_nats::jetstream::stream::Config {
        name: name.clone(),
        subjects: vec![subject.clone()],
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    for _ in 0..count {
        if acks.len() >= in_flight
            && let Some(ack) = acks.next().await
        {
            let _: async_nats::jetstream::publish::PublishAck = ack?;
        }
        acks.push(
            js.publish(subject.clone(), payload.clone())
                .await?
                .into_future(),
        );
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    js.delete_stream(&name).await?;
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = required("INGEST_URL")?;
    let token = required("TWILIO_AUTH_TOKEN")?;
    let number = required("BENCH_NUMBER")?;
    let nats_url =
        std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let count = env_or("BENCH_WEBHOOKS", 20_000);
    let in_flight = env_or("BENCH_IN_FLIGHT", 256);
    let url = format!("{}/webhooks/twilio", base.trim_end_matches('/'));

    let hooks = webhooks(&url, &token, &number, count);
    // The event message-ingest publishes is about the webhook body's size.
    let size = hooks.first().map_or(300, |h| h.body.len());
    // One pool of connections for both runs, as a provider keeps its own:
    // the warm-up opens them (and fills caches), not counted.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(in_flight)
        .build()?;
    post_all(
        &client,
        &url,
        webhooks(&url, &token, &number, 500),
        in_flight,
    )
    .await?;
    let ours = post_all(&client, &url, hooks, in_flight).await?;
    let baseline = raw_publish(&nats_url, count.max(50_000), size, 256).await?;
    println!("| ingest | per second | baseline per second | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| signed Twilio webhooks, answered after the JetStream ack ({in_flight} in flight) vs async-nats publish of {size}-byte messages, 256 acks in flight | {ours:.0} | {baseline:.0} | {:.2} |",
        ours / baseline
    );
    Ok(())
}
