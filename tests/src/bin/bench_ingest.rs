//! `make bench` (ingest part), in two steps that `bench/run.sh` drives:
//!
//! - `bench_ingest webhooks FILE COUNT` writes COUNT signed Twilio webhooks
//!   (each with its own `MessageSid`), one per line as
//!   `<X-Twilio-Signature> <form body>`, for `wrk` (the load generator of
//!   the page figures too) to post to a running message-ingest, which
//!   answers each only after its JetStream ack. Prints the body size.
//! - `bench_ingest baseline SIZE` prints the baseline: async-nats JetStream
//!   publishes/s of SIZE-byte messages with 256 acks in flight, to a
//!   file-backed stream made for the run.
//! - `bench_ingest stream-messages NAME` prints how many messages the
//!   JetStream stream NAME holds (each accepted webhook once: the stream
//!   drops a repeated `Nats-Msg-Id`), the backlog a persister started later
//!   has to store.
//! - `bench_ingest consume NAME` reads every message the stream NAME holds
//!   through a pull consumer of its own and acks each (a plain ack, as the
//!   persister's), then deletes that consumer; prints the messages and the
//!   seconds taken. The floor under the persister's bus work: what taking
//!   the messages off JetStream costs before anything is done with them.
//!
//! Environment: `INGEST_URL` (message-ingest's base URL; the signature
//! covers it), `TWILIO_AUTH_TOKEN`, `BENCH_NUMBER` (a registered number) for
//! `webhooks`; `TEST_NATS_URL` (default `nats://127.0.0.1:4222`) and
//! `BENCH_PUBLISHES` (default 200000) for `baseline`; `TEST_NATS_URL` for
//! `stream-messages` and `consume`.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, bail};
use cloudsms_tests::drive::{bench_stream, env_or, required};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

/// Writes `count` signed webhooks to `path`; the size of the first body.
fn write_webhooks(path: &str, count: usize) -> anyhow::Result<usize> {
    let base = required("INGEST_URL")?;
    let token = required("TWILIO_AUTH_TOKEN")?;
    let number = required("BENCH_NUMBER")?;
    let url = format!("{}/webhooks/twilio", base.trim_end_matches('/'));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot write {path}"))?,
    );
    let mut size = 0;
    for i in 0..count {
        let (body, signature) = cloudsms_tests::drive::twilio_sms(
            &url,
            &token,
            &format!("SM{}{i:010}", &run[..22]),
            &number,
            &format!(
                "Your verification code is {:06}. Do not share it.",
                i % 1_000_000
            ),
        );
        if i == 0 {
            size = body.len();
        }
        writeln!(out, "{signature} {body}")?;
    }
    out.flush()?;
    Ok(size)
}

/// async-nats JetStream publishes/s of `size`-byte messages, `in_flight`
/// acks outstanding, to a file-backed stream made for the run.
async fn raw_publish(
    nats_url: &str,
    count: usize,
    size: usize,
    in_flight: usize,
) -> anyhow::Result<f64> {
    let (js, name, subject) = bench_stream(nats_url).await?;
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

/// The JetStream stream `name`.
async fn open_stream(
    nats_url: &str,
    name: &str,
) -> anyhow::Result<async_nats::jetstream::stream::Stream> {
    let client =
        async_nats::connect(nats_url.split(',').map(str::trim).collect::<Vec<_>>()).await?;
    async_nats::jetstream::new(client)
        .get_stream(name)
        .await
        .with_context(|| format!("no stream {name}"))
}

/// How many messages the stream `name` holds.
async fn stream_messages(nats_url: &str, name: &str) -> anyhow::Result<u64> {
    let mut stream = open_stream(nats_url, name).await?;
    Ok(stream.info().await?.state.messages)
}

/// Reads the `name` stream's messages through a pull consumer of its own,
/// acking each; (messages, seconds).
async fn consume(nats_url: &str, name: &str) -> anyhow::Result<(u64, f64)> {
    use async_nats::jetstream::consumer::{AckPolicy, pull};
    let mut stream = open_stream(nats_url, name).await?;
    let total = stream.info().await?.state.messages;
    let durable = format!("bench-floor-{}", uuid::Uuid::new_v4().simple());
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(durable.clone()),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        })
        .await?;
    let started = Instant::now();
    let mut messages = consumer.messages().await?;
    let mut read = 0;
    while read < total {
        let message = messages
            .next()
            .await
            .context("the consumer's messages ended")?
            .map_err(|e| anyhow::anyhow!("pulling: {e}"))?;
        message
            .ack()
            .await
            .map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        read += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(messages);
    stream.delete_consumer(&durable).await?;
    Ok((read, seconds))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nats_url =
        std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["webhooks", path, count] => {
            let count: usize = count.parse().context("COUNT must be a number")?;
            println!("{}", write_webhooks(path, count)?);
        }
        ["baseline", size] => {
            let size: usize = size.parse().context("SIZE must be a number")?;
            let count = env_or("BENCH_PUBLISHES", 200_000);
            println!("{:.0}", raw_publish(&nats_url, count, size, 256).await?);
        }
        ["stream-messages", name] => println!("{}", stream_messages(&nats_url, name).await?),
        ["consume", name] => {
            let (read, seconds) = consume(&nats_url, name).await?;
            println!("{read} {seconds:.3}");
        }
        _ => bail!(
            "usage: bench_ingest webhooks FILE COUNT | bench_ingest baseline SIZE | bench_ingest stream-messages NAME | bench_ingest consume NAME"
        ),
    }
    Ok(())
}
