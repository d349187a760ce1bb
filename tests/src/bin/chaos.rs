//! `make chaos`: 20,000 signed Twilio webhooks and 20,000 server-log events
//! sent at a fixed rate (as a provider sends them) while, one at a time at
//! points of the load's progress, message-ingest (webhooks and persister)
//! and log-retention are `kill -9`ed and restarted, Redis is restarted
//! empty, NATS is restarted and Postgres drops every connection.
//! Afterwards every webhook that got a 2xx (the sender retries everything
//! else, as providers do) is stored exactly once and listed exactly once by
//! the API, every log event is stored exactly once, and every service is
//! up. A fault that lands after the last webhook went out fails the run.
//!
//! Runs its own `nats-server` (JetStream, file store) and `redis-server` on
//! free loopback ports, so restarting them disturbs nothing else, and its
//! own database on the Postgres at `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). The services are the
//! binaries next to this one (`cargo build --workspace --bins`).
//!
//! Environment: `CHAOS_WEBHOOKS` (20000), `CHAOS_LOG_EVENTS` (20000),
//! `CHAOS_SECONDS` (40: the load is spread over this long),
//! `CHAOS_SEED` (random; printed, to repeat a run).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use cloudsms_tests::chaos::faults::{FaultLog, Rng, progress_points, seed_from_env};
use cloudsms_tests::chaos::load::{self, Load, SendStats};
use cloudsms_tests::chaos::verify::{self, TempDb, ready};
use cloudsms_tests::chaos::{bin_dir, prepare_database, require_bins, run_id};
use cloudsms_tests::process::{Proc, free_ports, program, wait_port};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    KillIngest,
    KillRetention,
    RestartRedis,
    RestartNats,
    DropPostgres,
}

const FAULTS: [Fault; 5] = [
    Fault::KillIngest,
    Fault::KillRetention,
    Fault::RestartRedis,
    Fault::RestartNats,
    Fault::DropPostgres,
];

/// Longest a fault may take to heal.
const HEAL_WITHIN: Duration = Duration::from_secs(60);

struct Procs {
    nats: Proc,
    redis: Proc,
    ingest: Proc,
    retention: Proc,
    gateway: Proc,
}

impl Procs {
    fn all(&mut self) -> [&mut Proc; 5] {
        [
            &mut self.gateway,
            &mut self.ingest,
            &mut self.retention,
            &mut self.redis,
            &mut self.nats,
        ]
    }
}

/// Loopback ports of one run.
struct Ports {
    nats: u16,
    redis: u16,
    gateway: u16,
    ingest: u16,
    ingest_grpc: u16,
    retention: u16,
    retention_grpc: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let load = Load::from_env(40);
    let seed = seed_from_env();
    println!("chaos: seed {seed} (CHAOS_SEED={seed} repeats the fault schedule)");
    let mut rng = Rng(seed);

    let bins = bin_dir()?;
    require_bins(
        &bins,
        &["cloudsms", "gateway", "message-ingest", "log-retention"],
    )?;
    let work = tempfile::tempdir()?;
    let run = run_id();
    let db = TempDb::create("chaos", &run).await?;
    let result = run_chaos(&bins, work.path(), &run, &db, &load, &mut rng).await;
    db.drop_now().await;
    if result.is_err() {
        eprintln!(
            "chaos: logs of the services are in {}",
            work.path().display()
        );
        let _ = work.keep();
    }
    result
}

fn service_env(work: &Path, run: &str, db: &TempDb, p: &Ports) -> Vec<(String, String)> {
    [
        ("RUST_LOG", "warn".to_owned()),
        ("CLOUDSMS_DATA_DIR", work.display().to_string()),
        ("CLOUDSMS_NATS__URL", format!("nats://127.0.0.1:{}", p.nats)),
        (
            "CLOUDSMS_REDIS__URL",
            format!("redis://127.0.0.1:{}", p.redis),
        ),
        ("CLOUDSMS_DATABASE__URL", db.url.clone()),
        ("CLOUDSMS_BUS__PREFIX", format!("chaos{run}")),
        ("CLOUDSMS_BUS__ACK_WAIT_SECS", "5".to_owned()),
        ("CLOUDSMS_BUS__MAX_DELIVER", "1000".to_owned()),
        ("CLOUDSMS_CACHE__KEY_PREFIX", format!("chaos:{run}:")),
        (
            "CLOUDSMS_GATEWAY__LISTEN",
            format!("127.0.0.1:{}", p.gateway),
        ),
        ("CLOUDSMS_GATEWAY__GATE__ENABLED", "false".to_owned()),
        (
            "CLOUDSMS_GATEWAY__RETENTION_URL",
            format!("http://127.0.0.1:{}", p.retention_grpc),
        ),
        ("CLOUDSMS_INGEST__LISTEN", format!("127.0.0.1:{}", p.ingest)),
        (
            "CLOUDSMS_INGEST__GRPC_LISTEN",
            format!("127.0.0.1:{}", p.ingest_grpc),
        ),
        (
            "CLOUDSMS_INGEST__PUBLIC_URL",
            format!("http://127.0.0.1:{}", p.ingest),
        ),
        (
            "CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN",
            load::TWILIO_TOKEN.to_owned(),
        ),
        (
            "CLOUDSMS_RETENTION__LISTEN",
            format!("127.0.0.1:{}", p.retention),
        ),
        (
            "CLOUDSMS_RETENTION__GRPC_LISTEN",
            format!("127.0.0.1:{}", p.retention_grpc),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn run_chaos(
    bins: &Path,
    work: &Path,
    run: &str,
    db: &TempDb,
    load: &Load,
    rng: &mut Rng,
) -> anyhow::Result<()> {
    let [
        nats,
        redis,
        gateway,
        ingest,
        ingest_grpc,
        retention,
        retention_grpc,
    ] = free_ports()?;
    let ports = Ports {
        nats,
        redis,
        gateway,
        ingest,
        ingest_grpc,
        retention,
        retention_grpc,
    };
    let nats_dir = work.join("nats");
    std::fs::create_dir_all(&nats_dir)?;
    let env = service_env(work, run, db, &ports);
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let log = |name: &str| work.join(format!("{name}.log"));
    let mut procs = Procs {
        nats: Proc::new(
            "nats",
            program(
                "nats-server",
                &["/usr/sbin/nats-server", "/usr/bin/nats-server"],
            ),
            args(&[
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &ports.nats.to_string(),
                "-sd",
                &nats_dir.display().to_string(),
            ]),
            vec![],
            log("nats"),
        ),
        redis: Proc::new(
            "redis",
            "redis-server",
            args(&[
                "--port",
                &ports.redis.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]),
            vec![],
            log("redis"),
        ),
        ingest: Proc::new(
            "message-ingest",
            bins.join("message-ingest"),
            vec![],
            env.clone(),
            log("message-ingest"),
        ),
        retention: Proc::new(
            "log-retention",
            bins.join("log-retention"),
            vec![],
            env.clone(),
            log("log-retention"),
        ),
        gateway: Proc::new(
            "gateway",
            bins.join("gateway"),
            vec![],
            env.clone(),
            log("gateway"),
        ),
    };
    let outcome = chaos_with(&mut procs, bins, work, run, db, &env, &ports, load, rng).await;
    for p in procs.all() {
        p.terminate();
    }
    outcome
}

/// Waits until every URL of `urls` answers 2xx and a webhook was accepted
/// after `accepted_before` were: served again.
async fn served_again(stats: &SendStats, accepted_before: usize, urls: &[String]) -> bool {
    let deadline = Instant::now() + HEAL_WITHIN;
    for url in urls {
        if !ready(url, deadline.saturating_duration_since(Instant::now())).await {
            return false;
        }
    }
    while stats.accepted.load(Ordering::Relaxed) <= accepted_before {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
async fn chaos_with(
    procs: &mut Procs,
    bins: &Path,
    work: &Path,
    run: &str,
    db: &TempDb,
    env: &[(String, String)],
    ports: &Ports,
    load: &Load,
    rng: &mut Rng,
) -> anyhow::Result<()> {
    procs.nats.start()?;
    procs.redis.start()?;
    wait_port(ports.nats, Duration::from_secs(10)).await?;
    wait_port(ports.redis, Duration::from_secs(10)).await?;
    prepare_database(bins, work, &[], env)?;
    procs.ingest.start()?;
    procs.retention.start()?;
    procs.gateway.start()?;
    let gateway = format!("http://127.0.0.1:{}", ports.gateway);
    let ingest = format!("http://127.0.0.1:{}", ports.ingest);
    let retention = format!("http://127.0.0.1:{}", ports.retention);
    for url in [&gateway, &ingest, &retention] {
        if !ready(&format!("{url}/readyz"), Duration::from_secs(30)).await {
            bail!("{url} did not become ready");
        }
    }

    let all_hooks = load::hooks(&ingest, run, load.webhooks);
    let numbers = load::numbers_by_sid(&all_hooks);
    let stats = Arc::new(SendStats::new(load.webhooks, 1));
    let rate = load.webhooks as f64 / load.over.as_secs_f64();
    println!(
        "chaos: {} webhooks at {rate:.0}/s and {} log events over {} s",
        load.webhooks,
        load.log_events,
        load.over.as_secs()
    );
    let started = Instant::now();
    let sender = tokio::spawn(load::send_paced(
        vec![ingest.clone()],
        all_hooks,
        rate,
        stats.clone(),
    ));
    let mut log_settings = config::Settings::from_toml_layers(&[&format!(
        "nats.url = \"nats://127.0.0.1:{}\"\n[bus]\nprefix = \"chaos{run}\"\n",
        ports.nats
    )])?;
    log_settings.bus.publish_timeout_secs = 2;
    let published = Arc::new(AtomicUsize::new(0));
    let logs = tokio::spawn(load::publish_logs(
        log_settings,
        run.to_owned(),
        load.log_events,
        load.over,
        published.clone(),
    ));

    // Every kind once, in an order of the seed, at points of the progress.
    let mut schedule = FAULTS.to_vec();
    rng.shuffle(&mut schedule);
    let mut log = FaultLog::new(started);
    for (fault, point) in schedule.into_iter().zip(progress_points(FAULTS.len())) {
        stats.reached(point).await;
        let at = log.land(format!("{fault:?}"), &stats);
        let urls: Vec<String> = match fault {
            Fault::KillIngest => {
                procs.ingest.kill9();
                tokio::time::sleep(rng.millis(100, 1500)).await;
                procs.ingest.restart(true)?;
                vec![format!("{ingest}/readyz")]
            }
            Fault::KillRetention => {
                procs.retention.kill9();
                tokio::time::sleep(rng.millis(100, 1500)).await;
                procs.retention.restart(true)?;
                vec![format!("{retention}/readyz")]
            }
            Fault::RestartRedis => {
                // No persistence: it comes back empty (flushed).
                procs.redis.restart(true)?;
                vec![format!("{gateway}/readyz")]
            }
            Fault::RestartNats => {
                procs.nats.restart(false)?;
                vec![format!("{ingest}/readyz")]
            }
            Fault::DropPostgres => {
                db.drop_connections().await?;
                vec![format!("{retention}/readyz")]
            }
        };
        let before = stats.accepted.load(Ordering::Relaxed);
        if served_again(&stats, before, &urls).await {
            log.healed(at, "ready and a webhook accepted again");
        } else {
            log.not_healed(format!("not served again within {HEAL_WITHIN:?}"));
        }
    }
    let accepted = sender.await??;
    let logs_sent = logs.await??;
    let send_time = started.elapsed();

    let outcome = verify::check(
        &db.url,
        &gateway,
        run,
        &accepted,
        &numbers,
        logs_sent.events,
    )
    .await?;

    // Every service up, the restarted ones included.
    let mut down = Vec::new();
    for (p, url) in [
        (&mut procs.gateway, &gateway),
        (&mut procs.ingest, &ingest),
        (&mut procs.retention, &retention),
    ] {
        if let Some(how) = p.exited() {
            down.push(format!("{} exited: {how}", p.name));
        } else if !ready(&format!("{url}/readyz"), Duration::from_secs(20)).await {
            down.push(format!("{} not ready", p.name));
        }
    }
    for p in [&mut procs.nats, &mut procs.redis] {
        if let Some(how) = p.exited() {
            down.push(format!("{} exited: {how}", p.name));
        }
    }

    let s = &stats;
    let mut rows = log.rows();
    rows.extend([
        (
            "restarts: message-ingest / log-retention / redis / nats".to_owned(),
            format!(
                "{} / {} / {} / {}",
                procs.ingest.restarts,
                procs.retention.restarts,
                procs.redis.restarts,
                procs.nats.restarts
            ),
        ),
        (
            "webhooks answered 2xx".to_owned(),
            format!(
                "{} ({} at the first try)",
                s.accepted.load(Ordering::Relaxed),
                s.first_try.load(Ordering::Relaxed)
            ),
        ),
        (
            "retried after 5xx / connection error".to_owned(),
            format!(
                "{} / {}",
                s.server_errors.load(Ordering::Relaxed),
                s.connection_errors.load(Ordering::Relaxed)
            ),
        ),
        (
            "refused with 4xx".to_owned(),
            s.client_errors.load(Ordering::Relaxed).to_string(),
        ),
    ]);
    rows.extend(outcome.rows(logs_sent.events));
    rows.extend([
        (
            "log publish retries".to_owned(),
            logs_sent.retries.to_string(),
        ),
        (
            "time: load (paced)".to_owned(),
            format!("{:.1} s", send_time.as_secs_f64()),
        ),
        (
            "services down at the end".to_owned(),
            if down.is_empty() {
                "none".to_owned()
            } else {
                down.join("; ")
            },
        ),
    ]);
    verify::print_table(
        &format!(
            "chaos ({} webhooks, {} log events)",
            load.webhooks, logs_sent.events
        ),
        &rows,
    );

    let mut failures = log.failures();
    if s.accepted.load(Ordering::Relaxed) != load.webhooks {
        failures.push("not every webhook was accepted".to_owned());
    }
    failures.extend(outcome.failures(logs_sent.events));
    if !down.is_empty() {
        failures.push(format!("services down: {}", down.join("; ")));
    }
    if failures.is_empty() {
        println!("\nchaos: passed");
        Ok(())
    } else {
        bail!("chaos failed: {}", failures.join("; "))
    }
}
