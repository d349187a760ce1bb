//! `make bench` (captcha part): gRPC `Verify` throughput of a real
//! captcha-verification server with the single-use check in Redis, against
//! `redis-benchmark`'s rate for the same `SET NX EX` on the same Redis in
//! the same run; and the throughput of rejecting forged tokens (the cheap
//! HMAC check that runs before any cache access).
//!
//! Prints one Markdown table on stdout. Loopback only, bounded in time.
//! Environment: `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`),
//! `BENCH_TOKENS` (default 30000), `BENCH_CONCURRENCY` (default 64),
//! `BENCH_CONNECTIONS` (HTTP/2 connections, default 4).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use captcha_verification::Captcha;
use captcha_verification::pow;
use captcha_verification::service::Requester;
use proto::captcha::v1::VerifyRequest;
use proto::captcha::v1::captcha_service_client::CaptchaServiceClient;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

// The server runs in this process, with the allocator the
// captcha-verification binary ships with.
platform::mimalloc!();

const SECRET: &str = "bench-secret-0123456789";
const SITE: &str = "bench";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Verifies every token over gRPC with `concurrency` tasks; verifies/s and
/// how many succeeded.
async fn verify_all(
    url: &str,
    tokens: Vec<String>,
    concurrency: usize,
    connections: usize,
) -> anyhow::Result<(f64, usize)> {
    // One connection per gateway replica.
    let mut channels = Vec::new();
    for _ in 0..connections.max(1) {
        channels.push(
            tonic::transport::Endpoint::from_shared(url.to_owned())?
                .connect()
                .await?,
        );
    }
    let tokens = Arc::new(tokens);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let mut client = CaptchaServiceClient::new(channels[task % channels.len()].clone());
        let (tokens, next) = (tokens.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(token) = tokens.get(i) else {
                    return Ok::<_, tonic::Status>(ok);
                };
                let response = client
                    .verify(VerifyRequest {
                        secret: SECRET.into(),
                        token: token.clone(),
                        remote_ip: String::new(),
                    })
                    .await?
                    .into_inner();
                ok += usize::from(response.success);
            }
        }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((tokens.len() as f64 / secs, ok))
}

/// `redis-benchmark`'s requests/s for `SET <random key> 1 NX EX 300` with
/// `concurrency` clients, on the same Redis.
fn redis_benchmark(redis_url: &str, requests: usize, concurrency: usize) -> anyhow::Result<f64> {
    let rest = redis_url
        .strip_prefix("redis://")
        .context("TEST_REDIS_URL must be redis://host:port")?;
    let hostport = rest.split('/').next().unwrap_or("127.0.0.1:6379");
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    let output = Command::new("redis-benchmark")
        .args([
            "-h",
            host,
            "-p",
            port,
            "-n",
            &requests.to_string(),
            "-c",
            &concurrency.to_string(),
            "-r",
            "100000000",
            "--csv",
            "SET",
            "bench:setnx:__rand_int__",
            "1",
            "NX",
            "EX",
            "300",
        ])
        .output()
        .context("redis-benchmark (Debian package redis-tools) is needed")?;
    let text = String::from_utf8_lossy(&output.stdout);
    // CSV: "test","rps",...; the second line holds the figures.
    let line = text
        .lines()
        .find(|l| !l.starts_with("\"test\""))
        .context("no result from redis-benchmark")?;
    let rps = line
        .split(',')
        .nth(1)
        .map(|f| f.trim_matches('"'))
        .and_then(|f| f.parse::<f64>().ok())
        .context("unreadable redis-benchmark output")?;
    Ok(rps)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis_url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let count = env_or("BENCH_TOKENS", 30_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 64);
    let connections = env_or("BENCH_CONNECTIONS", 4);
    let dir = tempfile::tempdir()?;
    let prefix = format!("bench:{}:", uuid::Uuid::new_v4().simple());
    let settings = config::Settings::from_toml_layers(&[&format!(
        "data_dir = \"{dir}\"\nredis.url = \"{redis_url}\"\n\
         [cache]\nkey_prefix = \"{prefix}\"\n\
         [captcha]\nhmac_key = \"bench-hmac-key-0123456789abcdef\"\ndefault_max_number = 1\n\
         source_levels = []\nglobal_levels = []\n\
         [[captcha.sites]]\nsite_key = \"{SITE}\"\nsecret = \"{SECRET}\"\nhostnames = []\n",
        dir = dir.path().display()
    )])?;
    let infra = platform::Infra::connect(settings).await?;
    if !infra.cache.ping().await {
        bail!("no Redis at {redis_url}");
    }
    let captcha = Captcha::new(&infra);

    // Tokens to verify (not timed): trivial challenges, solved and redeemed.
    let requester = Requester::default();
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count {
        let challenge = captcha
            .issue(SITE, "", &requester)
            .await
            .map_err(|e| anyhow::anyhow!("issue: {e:?}"))?;
        let number = pow::solve(&challenge).context("unsolvable challenge")?;
        let payload = pow::encode_payload(&challenge, number);
        let token = captcha
            .redeem(&payload, "", "bench.example", "", &requester)
            .await
            .map_err(|e| anyhow::anyhow!("redeem: {e:?}"))?;
        tokens.push(token);
    }
    let forged: Vec<String> = tokens
        .iter()
        .map(|t| {
            let mut t = t.clone().into_bytes();
            if let Some(last) = t.last_mut() {
                *last = if *last == b'A' { b'B' } else { b'A' };
            }
            String::from_utf8_lossy(&t).into_owned()
        })
        .collect();

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let server = tokio::spawn(captcha_verification::grpc::serve(
        captcha.clone(),
        listener,
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (rate, ok) = verify_all(&url, tokens.clone(), concurrency, connections).await?;
    if ok != count {
        bail!("{ok} of {count} tokens verified");
    }
    // Every token again: each must now be refused (single use).
    let (replay_rate, replay_ok) = verify_all(&url, tokens, concurrency, connections).await?;
    if replay_ok != 0 {
        bail!("{replay_ok} replayed tokens verified");
    }
    let (forged_rate, forged_ok) = verify_all(&url, forged, concurrency, connections).await?;
    if forged_ok != 0 {
        bail!("{forged_ok} forged tokens verified");
    }
    stop.cancel();
    let _ = server.await;
    let baseline = redis_benchmark(&redis_url, count.max(50_000), concurrency)?;

    println!(
        "| captcha (gRPC, {connections} connections, {concurrency} in flight, {count} tokens) | per second | vs `redis-benchmark` SET NX EX ({baseline:.0}/s) |"
    );
    println!("|---|---:|---:|");
    for (what, r) in [
        ("Verify, valid token (single-use claim in Redis)", rate),
        ("Verify, replayed token (claim refused)", replay_rate),
        ("Verify, forged token (HMAC refuses, no Redis)", forged_rate),
    ] {
        println!("| {what} | {r:.0} | {:.2} |", r / baseline);
    }
    Ok(())
}
