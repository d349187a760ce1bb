//! `make bench` (cluster): do replicas share the work, and does the
//! throughput hold with two of them on the same machine?
//!
//! Starts its own message-ingest and log-retention processes (the release
//! binaries next to this one) on the local NATS, Redis and Postgres, with a
//! bus prefix and a database of its own, each replica with its own
//! Prometheus `/metrics` port. Three rounds: one replica of each, two of
//! each, one again (the machine's speed drifts over minutes: the one-replica
//! figure is the mean of the rounds around the two-replica one). In each
//! round, after a warm-up:
//!
//! - signed Twilio webhooks (as the ingest section's) are posted with
//!   `BENCH_IN_FLIGHT` requests in flight, alternating between the ingest
//!   replicas (a provider behind a round-robin load balancer: both sign for
//!   the same `ingest.public_url`); every one must be answered 2xx. Webhooks
//!   accepted/s run from the first post to the last answer; messages
//!   stored/s from the first post until the persisters' shared durable
//!   consumer has acked everything (the rows are then counted in Postgres);
//! - request-log events in 256-event `RequestsLogged` messages are published
//!   to JetStream (256 acks in flight); log events stored/s run from the
//!   first publish until log-retention's shared durable consumer has acked
//!   everything (the rows are then counted).
//!
//! The split is read from each replica's `/metrics` before and after the
//! round: `cloudsms_ingest_webhooks_total{outcome="accepted"}`,
//! `cloudsms_persister_stored_total` (new rows only) and, for log-retention,
//! `cloudsms_bus_consumer_lag_seconds_count` of `logs.requests` (messages
//! processed, redeliveries included) × 256 events.
//!
//! Environment: `TEST_NATS_URL`, `TEST_REDIS_URL`, `TEST_POSTGRES_URL` (an
//! admin database URL; defaults: the loopback ports), `BENCH_CLUSTER_WEBHOOKS`
//! (per round, 40000), `BENCH_CLUSTER_LOG_EVENTS` (per round, 300000),
//! `BENCH_IN_FLIGHT` (256). Prints Markdown tables on stdout; progress on
//! stderr; the services' logs stay in a temporary directory on failure.

mod load;
mod replica;
mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cloudsms_tests::drive::env_or;
use futures::StreamExt;
use proto::events::v1::RequestsLogged;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::load::{log_batches, post_all, webhooks};
use crate::replica::{Counts, Replica, counts};

pub(crate) const NUMBERS: [&str; 4] = [
    "+447700900301",
    "+447700900302",
    "+15005550301",
    "+61491570301",
];
pub(crate) const TWILIO_TOKEN: &str = "bench-cluster-twilio-token";
/// The load balancer's address, the one the provider signs.
pub(crate) const PUBLIC_URL: &str = "http://ingest.bench.test";
pub(crate) const EVENTS_PER_MESSAGE: usize = 256;

pub(crate) fn say(message: &str) {
    eprintln!("bench_cluster: {message}");
}

/// Waits (up to 5 minutes) until `durable` on `stream` has nothing left to
/// deliver and nothing unacknowledged.
async fn wait_idle(
    js: &async_nats::jetstream::Context,
    stream: &str,
    durable: &str,
) -> anyhow::Result<()> {
    let stream = js.get_stream(stream).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let info = stream.consumer_info(durable).await?;
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{durable}: {} pending, {} unacknowledged after 5 minutes",
                info.num_pending,
                info.num_ack_pending
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .context("no row")?;
    Ok(u64::try_from(row.try_get_by_index::<i64>(0)?)?)
}

/// One round's figures.
pub(crate) struct Round {
    pub(crate) replicas: usize,
    pub(crate) webhooks_per_s: f64,
    pub(crate) stored_per_s: f64,
    pub(crate) logs_per_s: f64,
    pub(crate) split: Vec<Counts>,
}

/// Everything a round needs.
struct Bench {
    client: reqwest::Client,
    js: async_nats::jetstream::Context,
    bus: bus::Bus,
    db: DatabaseConnection,
    prefix: String,
    run: String,
    webhooks: usize,
    log_events: usize,
    in_flight: usize,
}

impl Bench {
    fn stream(&self, kind: bus::StreamKind) -> String {
        kind.stream_name(&format!("{}.", self.prefix))
    }

    async fn persisters_idle(&self) -> anyhow::Result<()> {
        let durable = format!("{}_{}", self.prefix, message_ingest::persister::CONSUMER);
        wait_idle(&self.js, &self.stream(bus::StreamKind::Sms), &durable).await
    }

    async fn retention_idle(&self) -> anyhow::Result<()> {
        let durable = format!("{}_{}", self.prefix, log_retention::consumer::CONSUMER);
        wait_idle(&self.js, &self.stream(bus::StreamKind::Logs), &durable).await
    }

    async fn publish(&self, batches: Vec<RequestsLogged>) -> anyhow::Result<()> {
        let mut acks = futures::stream::iter(batches.iter().map(|b| self.bus.publish(b)))
            .buffer_unordered(256);
        while let Some(ack) = acks.next().await {
            ack?;
        }
        Ok(())
    }

    /// A round on `replicas`, named `name` (unique in the run).
    async fn round(&self, name: &str, replicas: &[Replica]) -> anyhow::Result<Round> {
        let ports: Vec<u16> = replicas.iter().map(|r| r.ingest_port).collect();
        let tag = format!("{}{name}", self.run);
        // Warm-up (not counted): connections, caches, every replica's consumers.
        post_all(
            &self.client,
            &ports,
            webhooks(&format!("{tag}w"), 2_000),
            self.in_flight,
        )
        .await?;
        self.publish(log_batches(&format!("{tag}w"), 20 * EVENTS_PER_MESSAGE))
            .await?;
        self.persisters_idle().await?;
        self.retention_idle().await?;

        let mut before = Vec::new();
        for r in replicas {
            before.push(counts(&self.client, r).await?);
        }
        let messages_before = count(&self.db, "SELECT count(*) FROM messages").await?;
        let hooks = webhooks(&tag, self.webhooks);
        say(&format!(
            "{name}: {} webhooks over {} ingest replica(s)",
            hooks.len(),
            ports.len()
        ));
        let started = Instant::now();
        let answered = post_all(&self.client, &ports, hooks, self.in_flight).await?;
        self.persisters_idle().await?;
        let stored_in = started.elapsed();
        let stored = count(&self.db, "SELECT count(*) FROM messages").await? - messages_before;
        if stored != self.webhooks as u64 {
            bail!(
                "{name}: {stored} of {} accepted webhooks stored",
                self.webhooks
            );
        }

        let batches = log_batches(&tag, self.log_events);
        say(&format!(
            "{name}: {} log events over {} log-retention replica(s)",
            self.log_events,
            replicas.len()
        ));
        let started = Instant::now();
        self.publish(batches).await?;
        self.retention_idle().await?;
        let logged_in = started.elapsed();
        let logged = count(
            &self.db,
            &format!("SELECT count(*) FROM access_log WHERE visitor_id LIKE '{tag}0%'"),
        )
        .await?;
        if logged != self.log_events as u64 {
            bail!("{name}: {logged} of {} log events stored", self.log_events);
        }

        let mut split = Vec::new();
        for (r, before) in replicas.iter().zip(before) {
            split.push(counts(&self.client, r).await? - before);
        }
        Ok(Round {
            replicas: replicas.len(),
            webhooks_per_s: self.webhooks as f64 / answered.as_secs_f64(),
            stored_per_s: self.webhooks as f64 / stored_in.as_secs_f64(),
            logs_per_s: self.log_events as f64 / logged_in.as_secs_f64(),
            split,
        })
    }
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.parent()
        .map(Path::to_path_buf)
        .context("no directory for this binary")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let nats_url =
        std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let redis_url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let webhooks = env_or("BENCH_CLUSTER_WEBHOOKS", 40_000usize).max(1);
    let log_events = env_or("BENCH_CLUSTER_LOG_EVENTS", 300_000usize).max(1);
    let in_flight = env_or("BENCH_IN_FLIGHT", 256usize).max(1);

    let bins = bin_dir()?;
    for name in ["cloudsms", "message-ingest", "log-retention"] {
        if !bins.join(name).exists() {
            bail!(
                "{} is missing: build the workspace's binaries first",
                bins.join(name).display()
            );
        }
    }
    let work = tempfile::tempdir()?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let prefix = format!("benchc{run}");
    let (server, _) = admin_url.rsplit_once('/').context("TEST_POSTGRES_URL")?;
    let db_name = format!("cloudsms_bench_cluster_{run}");
    let db_url = format!("{server}/{db_name}");
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
        .await?;
    let env: Vec<(String, String)> = [
        ("RUST_LOG", "warn".to_owned()),
        ("CLOUDSMS_DATA_DIR", work.path().display().to_string()),
        ("CLOUDSMS_NATS__URL", nats_url.clone()),
        ("CLOUDSMS_REDIS__URL", redis_url),
        ("CLOUDSMS_DATABASE__URL", db_url.clone()),
        ("CLOUDSMS_BUS__PREFIX", prefix.clone()),
        ("CLOUDSMS_CACHE__KEY_PREFIX", format!("benchc:{run}:")),
        ("CLOUDSMS_INGEST__PUBLIC_URL", PUBLIC_URL.to_owned()),
        (
            "CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN",
            TWILIO_TOKEN.to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let result = bench(
        &bins,
        work.path(),
        &env,
        &nats_url,
        &db_url,
        &prefix,
        &run,
        (webhooks, log_events, in_flight),
    )
    .await;
    // This run's streams and database go; the services have stopped.
    if let Ok(client) = async_nats::connect(&nats_url).await {
        let js = async_nats::jetstream::new(client);
        for kind in [
            bus::StreamKind::Sms,
            bus::StreamKind::Logs,
            bus::StreamKind::DeadLetter,
        ] {
            let _ = js
                .delete_stream(kind.stream_name(&format!("{prefix}.")))
                .await;
        }
    }
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .await;
    if result.is_err() {
        say(&format!(
            "the services' logs are in {}",
            work.path().display()
        ));
        let _ = work.keep();
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn bench(
    bins: &Path,
    work: &Path,
    env: &[(String, String)],
    nats_url: &str,
    db_url: &str,
    prefix: &str,
    run: &str,
    (webhooks, log_events, in_flight): (usize, usize, usize),
) -> anyhow::Result<()> {
    for args in [vec!["migrate"]]
        .into_iter()
        .chain(NUMBERS.iter().map(|n| vec!["numbers", "add", n]))
    {
        let status = std::process::Command::new(bins.join("cloudsms"))
            .args(&args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(work)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("cloudsms {} failed", args.join(" "));
        }
    }
    let mut first = Replica::new(bins, work, env, 1)?;
    let mut second = Replica::new(bins, work, env, 2)?;
    first.start().await?;
    let settings = config::Settings::from_toml_layers(&[&format!(
        "nats.url = \"{nats_url}\"\n[bus]\nprefix = \"{prefix}\"\n"
    )])?;
    let bench = Bench {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(in_flight)
            .build()?,
        js: async_nats::jetstream::new(async_nats::connect(nats_url).await?),
        bus: bus::Bus::connect(&settings).await?,
        db: Database::connect(db_url).await?,
        prefix: prefix.to_ascii_lowercase(),
        run: run.to_owned(),
        webhooks,
        log_events,
        in_flight,
    };
    let mut rounds = Vec::new();
    rounds.push(bench.round("a", std::slice::from_ref(&first)).await?);
    say("starting the second replica of message-ingest and log-retention");
    second.start().await?;
    let both = [first, second];
    rounds.push(bench.round("b", &both).await?);
    let [mut first, mut second] = both;
    second.stop();
    rounds.push(bench.round("c", std::slice::from_ref(&first)).await?);
    first.stop();
    report::report(&rounds, webhooks, log_events, in_flight)
}
