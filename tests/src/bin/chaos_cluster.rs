//! `make chaos-cluster`: the site as it runs when it outgrows one machine —
//! a three-node JetStream cluster (`bus.replicas = 3`), Redis with a replica
//! and three Sentinels, and two processes each of gateway, message-ingest,
//! log-retention and captcha-verification — takes 20,000 signed Twilio
//! webhooks (round-robin over both ingest replicas, at a fixed rate) and
//! 20,000 log events while, one at a time at points of the load's progress:
//! the SMS stream's leader is `kill -9`ed and restarted, a gateway replica
//! is killed (its visitors' live streams reopen on the other with
//! `Last-Event-ID`), an ingest replica is killed mid-batch, and the Redis
//! master is killed (the Sentinels promote the replica). A captcha probe
//! runs throughout.
//!
//! Passes when every accepted webhook is stored and listed exactly once,
//! every log event stored once, every live stream saw every message of its
//! number once, the captcha refused only during the Redis switch and never
//! accepted anything twice, every fault healed while the load ran, and every
//! process is up at the end. Prints each fault's heal time.
//!
//! Environment: `CHAOS_WEBHOOKS` (20000), `CHAOS_LOG_EVENTS` (20000),
//! `CHAOS_SECONDS` (90: the load is spread over this long), `CHAOS_SEED`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cloudsms_tests::chaos::captcha::{self, Probe};
use cloudsms_tests::chaos::cluster::{Backends, REPLICAS, Services};
use cloudsms_tests::chaos::faults::{FaultLog, Rng, progress_points, seed_from_env};
use cloudsms_tests::chaos::load::{self, Load, NUMBERS, SendStats};
use cloudsms_tests::chaos::sse::Watcher;
use cloudsms_tests::chaos::verify::{self, TempDb};
use cloudsms_tests::chaos::{bin_dir, prepare_database, require_bins, run_id};
use cloudsms_tests::nats_cluster::NatsCluster;
use cloudsms_tests::sentinel::{MASTER_NAME, RedisSentinels};
use tokio_util::sync::CancellationToken;

/// What is `kill -9`ed.
#[derive(Debug, Clone, Copy)]
enum Fault {
    StreamLeader,
    Gateway,
    Ingest,
    RedisMaster,
}

const FAULTS: [Fault; 4] = [
    Fault::StreamLeader,
    Fault::Gateway,
    Fault::Ingest,
    Fault::RedisMaster,
];

/// Longest a fault may take to heal.
const HEAL_WITHIN: Duration = Duration::from_secs(45);
/// Numbers with live streams open on every gateway.
const WATCHED: [&str; 2] = [NUMBERS[0], NUMBERS[1]];

/// What a run holds: its backends, services, watchers and probe.
struct Cluster {
    nats: NatsCluster,
    redis: RedisSentinels,
    services: Services,
    sms_stream: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let load = Load::from_env(90);
    let seed = seed_from_env();
    println!("chaos-cluster: seed {seed} (CHAOS_SEED={seed} repeats the fault order)");
    let mut rng = Rng(seed);
    let bins = bin_dir()?;
    require_bins(
        &bins,
        &[
            "cloudsms",
            "gateway",
            "message-ingest",
            "log-retention",
            "captcha-verification",
        ],
    )?;
    let work = tempfile::tempdir()?;
    let run = run_id();
    let db = TempDb::create("chaoscluster", &run).await?;
    let result = run_cluster(&bins, work.path(), &run, &db, &load, &mut rng).await;
    db.drop_now().await;
    if result.is_err() {
        eprintln!(
            "chaos-cluster: logs of every process are in {}",
            work.path().display()
        );
        let _ = work.keep();
    }
    result
}

/// A random hex string of `bytes` bytes (per-run keys and secrets).
fn random_hex(bytes: usize) -> String {
    (0..bytes.div_ceil(16))
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect::<String>()[..bytes * 2]
        .to_owned()
}

/// `[redis]` of the run's configuration file: the cache finds the master
/// through the Sentinels.
fn redis_toml(redis: &RedisSentinels) -> String {
    let sentinels = redis
        .sentinel_addrs()
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("[redis]\nsentinels = [{sentinels}]\nmaster_name = \"{MASTER_NAME}\"\n")
}

async fn run_cluster(
    bins: &Path,
    work: &Path,
    run: &str,
    db: &TempDb,
    load: &Load,
    rng: &mut Rng,
) -> anyhow::Result<()> {
    let nats = NatsCluster::start(work, 3).await?;
    let redis = RedisSentinels::start(work).await?;
    let site_secret = random_hex(16);
    let config_file = work.join("cloudsms.toml");
    std::fs::write(
        &config_file,
        format!(
            "{}\n[captcha]\nsource_levels = []\nglobal_levels = []\n\
             [[captcha.sites]]\nsite_key = \"{}\"\nsecret = \"{site_secret}\"\nhostnames = []\n",
            redis_toml(&redis),
            captcha::SITE_KEY
        ),
    )?;
    let captcha_key = random_hex(32);
    let backends = Backends {
        // All three servers: a service moves to another when its server dies.
        nats_urls: [nats.urls(), nats.urls()],
        config_file: &config_file,
        database_url: &db.url,
        run,
        captcha_key: &captcha_key,
    };
    let mut services = Services::new(bins, work, &backends)?;
    let mut env = cloudsms_tests::chaos::cluster::common_env(work, &backends);
    env.push(("CLOUDSMS_NATS__URL".into(), backends.nats_urls[0].clone()));
    prepare_database(bins, work, &[], &env)?;
    services.start().await?;
    let mut cluster = Cluster {
        nats,
        redis,
        services,
        sms_stream: bus::StreamKind::Sms.stream_name(&format!("chaos{run}")),
    };
    let outcome = chaos_with(&mut cluster, run, db, load, &site_secret, rng).await;
    cluster.services.stop();
    outcome
}

/// Waits until `counter` exceeds `before`.
async fn advanced(counter: &AtomicUsize, before: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while counter.load(Ordering::Relaxed) <= before {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Waits for the first working captcha probe that started after `since`.
async fn captcha_works(
    probes: &captcha::Probes,
    since: Instant,
    within: Duration,
) -> Option<Instant> {
    let deadline = Instant::now() + within;
    loop {
        if let Some((at, _)) = probes
            .lock()
            .iter()
            .find(|(at, p)| *at >= since && *p == Probe::Works)
        {
            return Some(*at);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[allow(clippy::too_many_lines)]
async fn chaos_with(
    c: &mut Cluster,
    run: &str,
    db: &TempDb,
    load: &Load,
    site_secret: &str,
    rng: &mut Rng,
) -> anyhow::Result<()> {
    let gateways = c.services.urls("gateway");
    let ingests = c.services.urls("message-ingest");
    let mut watchers = Vec::new();
    for number in WATCHED {
        for g in 0..REPLICAS {
            watchers.push(Watcher::start(gateways.clone(), g, number));
        }
    }
    for w in &watchers {
        if !w.wait_open(Duration::from_secs(20)).await {
            bail!("the live stream of {} did not open", w.number);
        }
    }
    let stop_probe = CancellationToken::new();
    let (probes, probe_task) = captcha::spawn(
        c.services.urls("captcha-verification"),
        site_secret.to_owned(),
        Duration::from_millis(250),
        stop_probe.clone(),
    );

    let all_hooks = load::hooks(
        cloudsms_tests::chaos::cluster::INGEST_PUBLIC_URL,
        run,
        load.webhooks,
    );
    let numbers = load::numbers_by_sid(&all_hooks);
    let stats = Arc::new(SendStats::new(load.webhooks, ingests.len()));
    let rate = load.webhooks as f64 / load.over.as_secs_f64();
    println!(
        "chaos-cluster: {} webhooks at {rate:.0}/s over {} ingest replicas and {} log events over {} s",
        load.webhooks,
        ingests.len(),
        load.log_events,
        load.over.as_secs()
    );
    let started = Instant::now();
    let sender = tokio::spawn(load::send_paced(
        ingests.clone(),
        all_hooks,
        rate,
        stats.clone(),
    ));
    let mut log_settings = config::Settings::from_toml_layers(&[&format!(
        "nats.url = \"{}\"\n[bus]\nprefix = \"chaos{run}\"\nreplicas = 3\n",
        c.nats.urls()
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

    let mut schedule = FAULTS.to_vec();
    rng.shuffle(&mut schedule);
    let mut log = FaultLog::new(started);
    let mut redis_windows = Vec::new();
    for (fault, point) in schedule.into_iter().zip(progress_points(FAULTS.len())) {
        stats.reached(point).await;
        match fault {
            Fault::StreamLeader => {
                let leader = c.nats.stream_leader(&c.sms_stream).await?;
                let i = c.nats.index_of(&leader).context("leader not ours")?;
                let t = log.land(format!("kill -9 NATS stream leader {leader}"), &stats);
                c.nats.kill9(i);
                let elected = c
                    .nats
                    .wait_new_leader(&c.sms_stream, &leader, HEAL_WITHIN)
                    .await;
                let took = t.elapsed();
                let before = stats.accepted.load(Ordering::Relaxed);
                let accepting = advanced(&stats.accepted, before, HEAL_WITHIN).await;
                tokio::time::sleep(rng.millis(500, 2000)).await;
                c.nats.restart(i).await?;
                c.nats.wait_jetstream(Duration::from_secs(30)).await?;
                match elected {
                    Ok(new) if accepting => log.healed(
                        t,
                        format!(
                            "new leader {new} in {:.2} s, then a webhook accepted; {leader} restarted",
                            took.as_secs_f64()
                        ),
                    ),
                    Ok(new) => log.not_healed(format!("new leader {new}, but no webhook accepted")),
                    Err(e) => log.not_healed(e.to_string()),
                }
            }
            Fault::Gateway => {
                let k = usize::try_from(rng.next_u64() % REPLICAS as u64)?;
                let on_it: Vec<&Watcher> = watchers
                    .iter()
                    .filter(|w| w.seen.lock().gateway == k)
                    .collect();
                let t = log.land(format!("kill -9 gateway-{k}"), &stats);
                c.services.get("gateway", k).proc.kill9();
                let mut reopened = Vec::new();
                for w in on_it {
                    reopened.push(w.wait_reopened(t, HEAL_WITHIN).await);
                }
                let all = reopened.iter().all(Option::is_some);
                let slowest = reopened
                    .iter()
                    .flatten()
                    .map(|r| r.opened - t)
                    .max()
                    .unwrap_or_default();
                tokio::time::sleep(rng.millis(500, 2000)).await;
                let gateway = c.services.get("gateway", k);
                gateway.proc.restart(true)?;
                let url = gateway.url.clone();
                let up = verify::ready(&format!("{url}/readyz"), HEAL_WITHIN).await;
                if all && up {
                    log.healed(
                        t,
                        format!(
                            "{} live streams reopened on the other gateway within {:.2} s; gateway-{k} restarted",
                            reopened.len(),
                            slowest.as_secs_f64()
                        ),
                    );
                } else {
                    log.not_healed(format!("streams reopened: {all}, gateway-{k} ready: {up}"));
                }
            }
            Fault::Ingest => {
                let k = usize::try_from(rng.next_u64() % REPLICAS as u64)?;
                let t = log.land(format!("kill -9 message-ingest-{k} mid-batch"), &stats);
                let ingest = c.services.get("message-ingest", k);
                ingest.proc.kill9();
                tokio::time::sleep(rng.millis(100, 1500)).await;
                ingest.proc.restart(true)?;
                let before = stats.by_target[k].load(Ordering::Relaxed);
                let url = ingest.url.clone();
                let up = verify::ready(&format!("{url}/readyz"), HEAL_WITHIN).await
                    && advanced(&stats.by_target[k], before, HEAL_WITHIN).await;
                if up {
                    log.healed(t, format!("message-ingest-{k} restarted and accepting"));
                } else {
                    log.not_healed(format!("message-ingest-{k} not accepting again"));
                }
            }
            Fault::RedisMaster => {
                let m = c.redis.master_index().await?;
                let old = c.redis.nodes[m].port;
                let t = log.land(format!("kill -9 Redis master redis-{m}"), &stats);
                c.redis.kill9(m);
                let promoted = c.redis.wait_failover(old, HEAL_WITHIN).await;
                let took = t.elapsed();
                // Restarted as a pod would be: it comes back as the new
                // master's replica, which captcha claims wait for (a claim
                // counts once a replica acknowledged it).
                tokio::time::sleep(rng.millis(500, 2000)).await;
                c.redis.restart(m).await?;
                let back = captcha_works(&probes, t, HEAL_WITHIN).await;
                // Closed is fine from a probe begun just before the kill
                // until the first that worked again.
                redis_windows.push((
                    t - Duration::from_secs(2),
                    back.unwrap_or_else(Instant::now) + Duration::from_millis(500),
                ));
                match (promoted, back) {
                    (Ok(port), Some(_)) => log.healed(
                        t,
                        format!(
                            "replica on port {port} promoted in {:.2} s; redis-{m} restarted as its replica, then the captcha worked again",
                            took.as_secs_f64()
                        ),
                    ),
                    (Ok(_), None) => log.not_healed("promoted, but the captcha did not work again"),
                    (Err(e), _) => log.not_healed(e.to_string()),
                }
            }
        }
    }
    let accepted = sender.await??;
    let logs_sent = logs.await??;
    let load_time = started.elapsed();

    let outcome = verify::check(
        &db.url,
        &gateways[0],
        run,
        &accepted,
        &numbers,
        logs_sent.events,
    )
    .await?;
    stop_probe.cancel();
    let _ = probe_task.await;

    // Every live stream saw every accepted message of its number, once.
    let mut wanted: HashMap<&str, Vec<&String>> = HashMap::new();
    for sid in &accepted {
        if let Some(n) = numbers.get(sid) {
            wanted.entry(n).or_default().push(sid);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut live_rows = Vec::new();
    let mut live_failures = Vec::new();
    for w in &watchers {
        let want = wanted.get(w.number.as_str()).cloned().unwrap_or_default();
        let missing = loop {
            let missing = {
                let seen = w.seen.lock();
                want.iter().filter(|s| !seen.sids.contains_key(**s)).count()
            };
            if missing == 0 || Instant::now() > deadline {
                break missing;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        w.stop();
        let seen = w.seen.lock();
        let repeats = seen.sids.values().filter(|n| **n > 1).count();
        let moves = seen
            .reopened
            .iter()
            .map(|r| {
                format!(
                    "gateway-{} after {:.2} s",
                    r.gateway,
                    (r.opened - r.lost).as_secs_f64()
                )
            })
            .collect::<Vec<_>>();
        live_rows.push((
            format!("live stream {} from gateway-{}", w.number, w.first_gateway),
            format!(
                "{} of {} messages, {missing} missing, {repeats} repeated; reopened: {}",
                want.len() - missing,
                want.len(),
                if moves.is_empty() {
                    "never".to_owned()
                } else {
                    moves.join(", ")
                }
            ),
        ));
        if missing + repeats > 0 {
            live_failures.push(format!(
                "live stream of {} (from gateway-{}): {missing} missing, {repeats} repeated",
                w.number, w.first_gateway
            ));
        }
    }

    let (works, closed_in, closed_out, open) = captcha::tally(&probes.lock(), &redis_windows);

    let mut down = c.services.down().await;
    for node in &mut c.nats.nodes {
        if let Some(how) = node.proc.exited() {
            down.push(format!("{} exited: {how}", node.proc.name));
        }
    }
    for p in c.redis.procs_mut() {
        if let Some(how) = p.exited() {
            down.push(format!("{} exited: {how}", p.name));
        }
    }

    let s = &stats;
    let mut rows = log.rows();
    rows.push((
        "webhooks answered 2xx".to_owned(),
        format!(
            "{} ({} at the first try; by ingest replica: {})",
            s.accepted.load(Ordering::Relaxed),
            s.first_try.load(Ordering::Relaxed),
            s.by_target
                .iter()
                .map(|n| n.load(Ordering::Relaxed).to_string())
                .collect::<Vec<_>>()
                .join(" / ")
        ),
    ));
    rows.push((
        "retried after 5xx / connection error; refused with 4xx".to_owned(),
        format!(
            "{} / {}; {}",
            s.server_errors.load(Ordering::Relaxed),
            s.connection_errors.load(Ordering::Relaxed),
            s.client_errors.load(Ordering::Relaxed)
        ),
    ));
    rows.extend(outcome.rows(logs_sent.events));
    rows.push((
        "log publish retries".to_owned(),
        logs_sent.retries.to_string(),
    ));
    rows.extend(live_rows);
    rows.push((
        "captcha probes: working / refused in the Redis switch / refused outside it / accepted twice".to_owned(),
        format!("{works} / {closed_in} / {} / {}", closed_out.len(), open.len()),
    ));
    rows.push((
        "time: load (paced)".to_owned(),
        format!("{:.1} s", load_time.as_secs_f64()),
    ));
    rows.push((
        "processes down at the end".to_owned(),
        if down.is_empty() {
            "none".to_owned()
        } else {
            down.join("; ")
        },
    ));
    verify::print_table(
        &format!(
            "chaos-cluster ({} webhooks, {} log events; 3 NATS, Redis + replica + 3 Sentinels, 2 × 4 services)",
            load.webhooks, logs_sent.events
        ),
        &rows,
    );

    let mut failures = log.failures();
    if s.accepted.load(Ordering::Relaxed) != load.webhooks {
        failures.push("not every webhook was accepted".to_owned());
    }
    failures.extend(outcome.failures(logs_sent.events));
    failures.extend(live_failures);
    if !closed_out.is_empty() {
        failures.push(format!(
            "captcha refused outside the Redis switch {} times, e.g. {}",
            closed_out.len(),
            closed_out[0]
        ));
    }
    if !open.is_empty() {
        failures.push(format!("captcha failed open: {}", open[0]));
    }
    if works == 0 {
        failures.push("the captcha never worked".to_owned());
    }
    if !down.is_empty() {
        failures.push(format!("processes down: {}", down.join("; ")));
    }
    if failures.is_empty() {
        println!("\nchaos-cluster: passed");
        Ok(())
    } else {
        bail!("chaos-cluster failed: {}", failures.join("; "))
    }
}
