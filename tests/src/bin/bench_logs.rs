//! `make bench` (log writes): request-log events stored per second in
//! Postgres by a running log-retention, against the baseline of `psql
//! \copy` of the same rows into identical tables, in the same run.
//!
//! The events are published as a gateway publishes them: `RequestsLogged`
//! batches of 256 on `<prefix>.logs.requests`, as fast as JetStream takes
//! them (256 acks in flight). The clock runs from the first publish until
//! log-retention's durable consumer has acked every message, which it does
//! only after the commit; then the stored rows are counted. The baseline
//! exports exactly the rows log-retention stored (`access_log` and the
//! statistics rows of the page views in `stat_pageviews`) and loads them with
//! one `psql` running `\copy` into a fresh database migrated by log-retention
//! itself (same partitioned tables, keys and indexes). A `CHECKPOINT` comes
//! before each of the two, so neither pays for the other's writes.
//!
//! Environment: `BENCH_DATABASE_URL` (log-retention's Postgres database,
//! required), `BENCH_BUS_PREFIX` (the services' `bus.prefix`, required),
//! `TEST_NATS_URL` (default `nats://127.0.0.1:4222`), `BENCH_LOG_EVENTS`
//! (default 500000), `BENCH_LOG_BATCH` (events per message, default 256).
//! Prints a Markdown table on stdout; progress on stderr.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cloudsms_tests::drive::{env_or, required};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use proto::events::v1::{DeviceClass, RequestLogged, RequestsLogged, RouteKind};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

fn say(message: &str) {
    eprintln!("bench_logs: {message}");
}

fn encode<E: bus::Event>(event: &E) -> bytes::Bytes {
    event.encode_to_vec().into()
}

/// splitmix64: cheap deterministic variety for the generated events.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const AGENTS: [(&str, &str, &str, DeviceClass); 5] = [
    ("Chrome", "131", "Android", DeviceClass::Mobile),
    ("Chrome", "131", "Windows", DeviceClass::Desktop),
    ("Safari", "18", "iOS", DeviceClass::Mobile),
    ("Firefox", "133", "Linux", DeviceClass::Desktop),
    ("Googlebot", "2", "Other", DeviceClass::Bot),
];

/// One request as the gateway logs it: mostly number pages, some home,
/// latest and API requests, a few 404s; visitors from a pool of 20,000.
fn request(run: &str, i: u64, ts: proto::Timestamp) -> RequestLogged {
    let r = mix(i);
    let visitor = mix(r % 20_000);
    let (browser, version, os, device) = AGENTS[usize::try_from(r % 5).unwrap_or(0)];
    let number = match r % 20 {
        0..=13 | 17 | 18 => format!("+4477009{:05}", r % 400),
        19 => format!("+1555{:07}", r % 10_000_000),
        _ => String::new(),
    };
    let (path, route, kind, status) = match r % 20 {
        0..=13 => (
            format!("/numbers/{number}"),
            "/numbers/{e164}",
            RouteKind::NumberPage,
            200,
        ),
        14 => ("/".to_owned(), "/", RouteKind::Page, 200),
        15 => ("/latest".to_owned(), "/latest", RouteKind::Page, 200),
        16 => (
            "/countries/gb".to_owned(),
            "/countries/{iso2}",
            RouteKind::CountryPage,
            200,
        ),
        17 | 18 => (
            format!("/api/v1/numbers/{number}/messages"),
            "/api/v1/numbers/{e164}/messages",
            RouteKind::Api,
            200,
        ),
        _ => (
            format!("/numbers/{number}"),
            "/numbers/{e164}",
            RouteKind::NumberPage,
            404,
        ),
    };
    RequestLogged {
        event_id: uuid::Uuid::now_v7().to_string(),
        ts: Some(ts),
        // The run's mark in the id lets the baseline export exactly these rows.
        visitor_id: format!("{run}{:024x}", u128::from(visitor) & ((1 << 96) - 1)),
        ip: format!("203.0.{}.{}", (r >> 8) % 256, (r >> 16) % 256),
        method: "GET".into(),
        path,
        status,
        latency_us: u32::try_from(300 + (r >> 24) % 4_000).unwrap_or(0),
        referrer: if r.is_multiple_of(7) {
            "https://www.google.com".into()
        } else {
            String::new()
        },
        browser_family: browser.into(),
        browser_version: version.into(),
        os_family: os.into(),
        device_class: device.into(),
        language: if r.is_multiple_of(3) { "zh-CN" } else { "en" }.into(),
        trace_id: format!("{:016x}{:016x}", mix(r), mix(r ^ 1)),
        utm_source: if r.is_multiple_of(11) {
            "newsletter".into()
        } else {
            String::new()
        },
        host: "sms.example".into(),
        route: route.into(),
        route_kind: kind.into(),
        number,
    }
}

/// Waits until `durable` on `stream` has acked every message up to
/// `sequence` (0: everything in the stream now); returns when that was seen.
async fn wait_acked(
    js: &async_nats::jetstream::Context,
    stream: &str,
    durable: &str,
    sequence: u64,
    timeout: Duration,
) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + timeout;
    let stream = js.get_stream(stream).await?;
    loop {
        let info = stream.consumer_info(durable).await?;
        let done = if sequence == 0 {
            info.num_pending == 0 && info.num_ack_pending == 0
        } else {
            info.ack_floor.stream_sequence >= sequence
        };
        if done {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!(
                "{durable}: not done after {timeout:?} (pending {}, ack pending {}, ack floor {}, want {sequence})",
                info.num_pending,
                info.num_ack_pending,
                info.ack_floor.stream_sequence
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .context("no row")?;
    Ok(u64::try_from(row.try_get::<i64>("", "n")?)?)
}

fn psql(url: &str, commands: &[String]) -> anyhow::Result<Duration> {
    let mut cmd = Command::new("psql");
    cmd.arg(url).args(["-q", "-v", "ON_ERROR_STOP=1"]);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    let started = Instant::now();
    let out = cmd.output().context("psql")?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(elapsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db_url = required("BENCH_DATABASE_URL")?;
    let prefix = required("BENCH_BUS_PREFIX")?.to_ascii_lowercase();
    let nats_url =
        std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let events = env_or("BENCH_LOG_EVENTS", 500_000).max(1);
    let per_message = env_or("BENCH_LOG_BATCH", 256).max(1);

    let client =
        async_nats::connect(nats_url.split(',').map(str::trim).collect::<Vec<_>>()).await?;
    let js = async_nats::jetstream::new(client);
    let stream = bus::StreamKind::Logs.stream_name(&format!("{prefix}."));
    let durable = format!("{prefix}_{}", log_retention::consumer::CONSUMER);
    let subject = format!("{prefix}.logs.requests");

    // Earlier benchmarks' request logs first: the run starts on an idle consumer.
    say("waiting for log-retention to store the earlier benchmarks' request logs");
    wait_acked(&js, &stream, &durable, 0, Duration::from_secs(900)).await?;

    let db = Database::connect(&db_url).await?;
    // Both runs start with the earlier writes flushed (superuser only; else
    // as it comes).
    let _ = db.execute_unprepared("CHECKPOINT").await;

    let run = format!("bl{:06x}", mix(u64::from(std::process::id())) & 0xff_ffff);
    let now = proto::timestamp_from_unix_millis(chrono::Utc::now().timestamp_millis());
    let mut payloads = Vec::new();
    let mut total = 0u64;
    let mut first = 0usize;
    while first < events {
        let n = per_message.min(events - first);
        let requests = (first..first + n)
            .map(|i| request(&run, i as u64, now))
            .collect();
        payloads.push(encode(&RequestsLogged {
            batch_id: uuid::Uuid::now_v7().to_string(),
            requests,
        }));
        total += n as u64;
        first += n;
    }
    let bytes: usize = payloads.iter().map(bytes::Bytes::len).sum();
    say(&format!(
        "publishing {total} events in {} messages ({} MB)",
        payloads.len(),
        bytes / 1_000_000
    ));

    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    let mut last_sequence = 0u64;
    for payload in payloads {
        if acks.len() >= 256
            && let Some(ack) = acks.next().await
        {
            let ack: async_nats::jetstream::publish::PublishAck = ack?;
            last_sequence = last_sequence.max(ack.sequence);
        }
        acks.push(js.publish(subject.clone(), payload).await?.into_future());
    }
    while let Some(ack) = acks.next().await {
        last_sequence = last_sequence.max(ack?.sequence);
    }
    let published = started.elapsed();
    say(&format!(
        "published in {:.2} s; waiting for the acks of log-retention",
        published.as_secs_f64()
    ));
    let done = wait_acked(
        &js,
        &stream,
        &durable,
        last_sequence,
        Duration::from_secs(900),
    )
    .await?;
    let ours_secs = (done - started).as_secs_f64();
    let ours = total as f64 / ours_secs;

    let mark = format!("visitor_id LIKE '{run}%'");
    let stored = count(
        &db,
        &format!("SELECT COUNT(*) AS n FROM access_log WHERE {mark}"),
    )
    .await?;
    let stats_query = format!(
        "SELECT s.* FROM stat_pageviews s JOIN access_log a USING (event_id, ts) WHERE a.{mark}"
    );
    let stat_rows = count(&db, &format!("SELECT COUNT(*) AS n FROM ({stats_query}) q")).await?;
    if stored != total {
        bail!("log-retention stored {stored} of {total} events");
    }
    say(&format!(
        "log-retention: {total} events ({stat_rows} statistics rows) in {ours_secs:.2} s"
    ));

    // Baseline: the same rows, \copy'd into a fresh database with the same schema.
    let dir = tempfile::tempdir()?;
    let logs_file = dir.path().join("access_log.tsv");
    let stats_file = dir.path().join("stat_pageviews.tsv");
    psql(
        &db_url,
        &[
            format!(
                "\\copy (SELECT * FROM access_log WHERE {mark}) TO '{}'",
                logs_file.display()
            ),
            format!("\\copy ({stats_query}) TO '{}'", stats_file.display()),
        ],
    )?;
    let (server, _) = db_url.rsplit_once('/').context("database URL")?;
    let copy_db = format!("cloudsms_bench_copy_{run}");
    db.execute_unprepared(&format!("CREATE DATABASE {copy_db}"))
        .await?;
    let copy_url = format!("{server}/{copy_db}");
    let baseline = async {
        let store = store::Store::connect(&copy_url, 2).await?;
        let copy_store = log_retention::LogStore::new(store.connection().clone());
        copy_store.migrate().await?;
        let today = chrono::Utc::now().date_naive();
        copy_store
            .prepare_days(today.pred_opt().unwrap_or(today), 3)
            .await?;
        store.connection().clone().close().await?;
        let _ = db.execute_unprepared("CHECKPOINT").await;
        let elapsed = psql(
            &copy_url,
            &[
                format!("\\copy access_log FROM '{}'", logs_file.display()),
                format!("\\copy stat_pageviews FROM '{}'", stats_file.display()),
            ],
        )?;
        anyhow::Ok(elapsed)
    }
    .await;
    db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {copy_db} WITH (FORCE)"))
        .await?;
    let baseline_secs = baseline?.as_secs_f64();
    let baseline = total as f64 / baseline_secs;
    say(&format!("psql \\copy: {baseline_secs:.2} s"));

    println!("| log writes | events/s | baseline events/s | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| {total} request logs in {per_message}-event `RequestsLogged` messages, published to JetStream → stored by log-retention (`access_log` + {stat_rows} `stat_pageviews` rows), vs `psql \\copy` of the same rows into identical tables | {ours:.0} | {baseline:.0} | {:.2} |",
        ours / baseline
    );
    println!();
    println!(
        "log-retention: {ours_secs:.2} s from the first publish to the last ack (publishing took {:.2} s); `psql \\copy`: {baseline_secs:.2} s.",
        published.as_secs_f64()
    );
    Ok(())
}
