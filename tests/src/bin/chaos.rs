//! `make chaos`: 20,000 signed Twilio webhooks and 20,000 server-log events
//! sent while, at random moments, message-ingest (webhooks and persister) and
//! log-retention are `kill -9`ed and restarted, Redis is restarted empty,
//! NATS is restarted and Postgres drops every connection. Afterwards every
//! webhook that got a 2xx (the sender retries everything else, as providers
//! do) is stored exactly once and listed exactly once by the API, every log
//! event is stored exactly once, and every service is up.
//!
//! Runs its own `nats-server` (JetStream, file store) and `redis-server` on
//! free loopback ports, so restarting them disturbs nothing else, and its
//! own database on the Postgres at `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). The services are the
//! binaries next to this one (`cargo build --workspace --bins`).
//!
//! Environment: `CHAOS_WEBHOOKS` (20000), `CHAOS_LOG_EVENTS` (20000),
//! `CHAOS_CONCURRENCY` (32), `CHAOS_SEED` (random; printed, to repeat a run).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cloudsms_tests::drive::env_or;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::Mutex;

const NUMBERS: [&str; 8] = [
    "+447700900101",
    "+447700900102",
    "+447700900103",
    "+447700900104",
    "+15005550101",
    "+15005550102",
    "+61491570101",
    "+61491570102",
];
const TWILIO_TOKEN: &str = "chaos-twilio-token-placeholder";

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// xorshift64*: enough randomness for when and what, repeatable by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.next() % (to - from))
    }
}

/// A process we start, kill and start again.
struct Proc {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    /// Starts after the first; each must come up again.
    restarts: usize,
}

impl Proc {
    fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits up to 10 s for the exit (SIGKILL after).
    fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self, hard: bool) -> anyhow::Result<()> {
        if hard {
            self.kill9();
        } else {
            self.terminate();
        }
        self.restarts += 1;
        self.start()
    }

    /// None while running, else how it exited.
    fn exited(&mut self) -> Option<String> {
        match self.child.as_mut().map(Child::try_wait) {
            None => Some("not running".into()),
            Some(Ok(None)) => None,
            Some(Ok(Some(status))) => Some(status.to_string()),
            Some(Err(e)) => Some(e.to_string()),
        }
    }
}

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

struct Procs {
    nats: Proc,
    redis: Proc,
    ingest: Proc,
    retention: Proc,
    gateway: Proc,
}

/// One signed Twilio webhook.
struct Hook {
    sid: String,
    to: &'static str,
    body: String,
    signature: String,
}

#[derive(Default)]
struct SendStats {
    accepted: AtomicUsize,
    first_try: AtomicUsize,
    server_errors: AtomicUsize,
    connection_errors: AtomicUsize,
    client_errors: AtomicUsize,
}

fn hooks(url: &str, run: &str, count: usize) -> Vec<Hook> {
    (0..count)
        .map(|i| {
            let to = NUMBERS[i % NUMBERS.len()];
            let sid = format!("SM{run}{i:08}");
            let (body, signature) = cloudsms_tests::drive::twilio_sms(
                url,
                TWILIO_TOKEN,
                &sid,
                to,
                &format!("chaos {sid}: your code is {i:06}"),
            );
            Hook {
                sid,
                to,
                body,
                signature,
            }
        })
        .collect()
}

/// Posts every hook until it gets a 2xx, retrying 5xx and connection errors
/// with backoff as a provider would; a 4xx is final (and a failure).
async fn send_all(
    url: String,
    hooks: Vec<Hook>,
    concurrency: usize,
    stats: Arc<SendStats>,
) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let hooks = Arc::new(hooks);
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, hooks, next, stats, accepted) = (
            client.clone(),
            url.clone(),
            hooks.clone(),
            next.clone(),
            stats.clone(),
            accepted.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(hook) = hooks.get(i) else { break };
                let mut backoff = Duration::from_millis(50);
                for attempt in 0.. {
                    let sent = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("x-twilio-signature", &hook.signature)
                        .body(hook.body.clone())
                        .send()
                        .await;
                    match sent.map(|r| r.status()) {
                        Ok(status) if status.is_success() => {
                            stats.accepted.fetch_add(1, Ordering::Relaxed);
                            if attempt == 0 {
                                stats.first_try.fetch_add(1, Ordering::Relaxed);
                            }
                            accepted.lock().await.push(hook.sid.clone());
                            break;
                        }
                        Ok(status) if status.is_server_error() => {
                            stats.server_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(status) => {
                            stats.client_errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("chaos: {} answered {status}", hook.sid);
                            break;
                        }
                        Err(_) => {
                            stats.connection_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let accepted = std::mem::take(&mut *accepted.lock().await);
    Ok(accepted)
}

/// Publishes `count` request-log events in batches of 100, each batch until
/// JetStream acknowledges it (the dedupe id makes a repeat harmless).
async fn publish_logs(
    settings: config::Settings,
    run: String,
    count: usize,
) -> anyhow::Result<(usize, usize)> {
    let bus = loop {
        match bus::Bus::connect(&settings).await {
            Ok(bus) => break bus,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let mut retries = 0;
    let now = chrono::Utc::now().timestamp_millis();
    for (batch_no, chunk) in (0..count).collect::<Vec<_>>().chunks(100).enumerate() {
        let batch = proto::events::v1::RequestsLogged {
            batch_id: format!("chaos-{run}-{batch_no}"),
            requests: chunk
                .iter()
                .map(|i| proto::events::v1::RequestLogged {
                    event_id: format!("chaos-{run}-{i:08}"),
                    ts: Some(proto::timestamp_from_unix_millis(now)),
                    visitor_id: format!("visitor-{}", i % 500),
                    ip: "192.0.2.1".into(),
                    method: "GET".into(),
                    path: format!("/chaos/{run}/{i}"),
                    status: 200,
                    latency_us: 1000,
                    browser_family: "Firefox".into(),
                    os_family: "Linux".into(),
                    host: "chaos.test".into(),
                    ..Default::default()
                })
                .collect(),
        };
        while bus.publish(&batch).await.is_err() {
            retries += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Spread over the run, so faults land in the middle of it.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((count, retries))
}

async fn ready(url: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn wait_port(port: u16, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nothing listens on port {port}")
}

async fn query_pairs(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// Every message the API lists for `number`, newest first, paging through.
async fn listed(gateway: &str, number: &str) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut url = format!("{gateway}/api/v1/numbers/{number}/messages");
        if let Some(b) = &before {
            url.push_str(&format!("?before={b}"));
        }
        let page: serde_json::Value = client.get(&url).send().await?.json().await?;
        for m in page["messages"].as_array().context("no messages array")? {
            bodies.push(m["body"].as_str().unwrap_or_default().to_owned());
        }
        match page["next_before"].as_str() {
            Some(b) => before = Some(b.to_owned()),
            None => return Ok(bodies),
        }
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
    let webhooks = env_or("CHAOS_WEBHOOKS", 20_000usize);
    let log_events = env_or("CHAOS_LOG_EVENTS", 20_000usize);
    let concurrency = env_or("CHAOS_CONCURRENCY", 32usize);
    let seed = env_or(
        "CHAOS_SEED",
        u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .subsec_nanos(),
        ) | 1,
    );
    println!("chaos: seed {seed} (CHAOS_SEED={seed} repeats the fault schedule)");
    let mut rng = Rng(seed);

    let bins = bin_dir()?;
    for name in ["cloudsms", "gateway", "message-ingest", "log-retention"] {
        if !bins.join(name).exists() {
            bail!(
                "{} is missing: run `cargo build --workspace --bins` first (make chaos does)",
                bins.join(name).display()
            );
        }
    }
    let work = tempfile::tempdir()?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let server = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(s, _)| s)
        .to_owned();
    let db_name = format!("cloudsms_chaos_{run}");
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
        .await?;
    let db_url = format!("{server}/{db_name}");

    let result = run_chaos(
        &bins,
        work.path(),
        &run,
        &db_url,
        &db_name,
        &admin,
        webhooks,
        log_events,
        concurrency,
        &mut rng,
    )
    .await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .await;
    if result.is_err() {
        eprintln!(
            "chaos: logs of the services are in {}",
            work.path().display()
        );
        let _ = work.keep();
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn run_chaos(
    bins: &Path,
    work: &Path,
    run: &str,
    db_url: &str,
    db_name: &str,
    admin: &DatabaseConnection,
    webhooks: usize,
    log_events: usize,
    concurrency: usize,
    rng: &mut Rng,
) -> anyhow::Result<()> {
    let (nats_port, redis_port) = (free_port()?, free_port()?);
    let (gateway_port, ingest_port, ingest_grpc, retention_port, retention_grpc) = (
        free_port()?,
        free_port()?,
        free_port()?,
        free_port()?,
        free_port()?,
    );
    let nats_dir = work.join("nats");
    std::fs::create_dir_all(&nats_dir)?;
    let nats_bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nats-server"));
    let proc = |name: &'static str, program: PathBuf, args: Vec<String>, env| Proc {
        name,
        program,
        args,
        env,
        log: work.join(format!("{name}.log")),
        child: None,
        restarts: 0,
    };
    let env: Vec<(String, String)> = [
        ("RUST_LOG", "warn".to_owned()),
        ("CLOUDSMS_DATA_DIR", work.display().to_string()),
        (
            "CLOUDSMS_NATS__URL",
            format!("nats://127.0.0.1:{nats_port}"),
        ),
        (
            "CLOUDSMS_REDIS__URL",
            format!("redis://127.0.0.1:{redis_port}"),
        ),
        ("CLOUDSMS_DATABASE__URL", db_url.to_owned()),
        ("CLOUDSMS_BUS__PREFIX", format!("chaos{run}")),
        ("CLOUDSMS_BUS__ACK_WAIT_SECS", "5".to_owned()),
        ("CLOUDSMS_BUS__MAX_DELIVER", "1000".to_owned()),
        ("CLOUDSMS_CACHE__KEY_PREFIX", format!("chaos:{run}:")),
        (
            "CLOUDSMS_GATEWAY__LISTEN",
            format!("127.0.0.1:{gateway_port}"),
        ),
        ("CLOUDSMS_GATEWAY__GATE__ENABLED", "false".to_owned()),
        (
            "CLOUDSMS_GATEWAY__RETENTION_URL",
            format!("http://127.0.0.1:{retention_grpc}"),
        ),
        (
            "CLOUDSMS_INGEST__LISTEN",
            format!("127.0.0.1:{ingest_port}"),
        ),
        (
            "CLOUDSMS_INGEST__GRPC_LISTEN",
            format!("127.0.0.1:{ingest_grpc}"),
        ),
        (
            "CLOUDSMS_INGEST__PUBLIC_URL",
            format!("http://127.0.0.1:{ingest_port}"),
        ),
        (
            "CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN",
            TWILIO_TOKEN.to_owned(),
        ),
        (
            "CLOUDSMS_RETENTION__LISTEN",
            format!("127.0.0.1:{retention_port}"),
        ),
        (
            "CLOUDSMS_RETENTION__GRPC_LISTEN",
            format!("127.0.0.1:{retention_grpc}"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut procs = Procs {
        nats: proc(
            "nats",
            nats_bin,
            [
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &nats_port.to_string(),
                "-sd",
                &nats_dir.display().to_string(),
            ]
            .map(str::to_owned)
            .to_vec(),
            vec![],
        ),
        redis: proc(
            "redis",
            PathBuf::from("redis-server"),
            [
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .map(str::to_owned)
            .to_vec(),
            vec![],
        ),
        ingest: proc(
            "message-ingest",
            bins.join("message-ingest"),
            vec![],
            env.clone(),
        ),
        retention: proc(
            "log-retention",
            bins.join("log-retention"),
            vec![],
            env.clone(),
        ),
        gateway: proc("gateway", bins.join("gateway"), vec![], env.clone()),
    };
    let outcome = chaos_with(
        &mut procs,
        bins,
        work,
        run,
        db_name,
        admin,
        &env,
        (
            nats_port,
            redis_port,
            gateway_port,
            ingest_port,
            retention_port,
        ),
        (webhooks, log_events, concurrency),
        rng,
    )
    .await;
    for p in [
        &mut procs.gateway,
        &mut procs.ingest,
        &mut procs.retention,
        &mut procs.redis,
        &mut procs.nats,
    ] {
        p.terminate();
    }
    outcome
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
async fn chaos_with(
    procs: &mut Procs,
    bins: &Path,
    work: &Path,
    run: &str,
    db_name: &str,
    admin: &DatabaseConnection,
    env: &[(String, String)],
    (nats_port, redis_port, gateway_port, ingest_port, retention_port): (u16, u16, u16, u16, u16),
    (webhooks, log_events, concurrency): (usize, usize, usize),
    rng: &mut Rng,
) -> anyhow::Result<()> {
    procs.nats.start()?;
    procs.redis.start()?;
    wait_port(nats_port, Duration::from_secs(10)).await?;
    wait_port(redis_port, Duration::from_secs(10)).await?;
    for args in [vec!["migrate".to_owned()]].into_iter().chain(
        NUMBERS
            .iter()
            .map(|n| vec!["numbers".into(), "add".into(), (*n).to_owned()]),
    ) {
        let status = Command::new(bins.join("cloudsms"))
            .args(&args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(work)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("cloudsms {} failed", args.join(" "));
        }
    }
    procs.ingest.start()?;
    procs.retention.start()?;
    procs.gateway.start()?;
    let gateway = format!("http://127.0.0.1:{gateway_port}");
    let ingest = format!("http://127.0.0.1:{ingest_port}");
    let retention = format!("http://127.0.0.1:{retention_port}");
    for url in [&gateway, &ingest, &retention] {
        if !ready(&format!("{url}/readyz"), Duration::from_secs(30)).await {
            bail!("{url} did not become ready");
        }
    }

    let hook_url = format!("{ingest}/webhooks/twilio");
    let all_hooks = hooks(&hook_url, run, webhooks);
    let sid_to_number: HashMap<String, &'static str> =
        all_hooks.iter().map(|h| (h.sid.clone(), h.to)).collect();
    let stats = Arc::new(SendStats::default());
    let started = Instant::now();
    let sender = tokio::spawn(send_all(hook_url, all_hooks, concurrency, stats.clone()));
    let mut log_settings = config::Settings::from_toml_layers(&[&format!(
        "nats.url = \"nats://127.0.0.1:{nats_port}\"\n[bus]\nprefix = \"chaos{run}\"\n"
    )])?;
    log_settings.bus.publish_timeout_secs = 2;
    let logs = tokio::spawn(publish_logs(log_settings, run.to_owned(), log_events));

    // Faults at random moments until both senders are done: every kind at
    // least once, in a shuffled order, then again.
    let mut faults: BTreeMap<Fault, usize> = BTreeMap::new();
    let mut schedule: Vec<Fault> = Vec::new();
    while !(sender.is_finished() && logs.is_finished())
        || faults.len() < FAULTS.len() && started.elapsed() < Duration::from_secs(600)
    {
        tokio::time::sleep(rng.millis(700, 2500)).await;
        if schedule.is_empty() {
            schedule = FAULTS.to_vec();
            for i in (1..schedule.len()).rev() {
                let j = usize::try_from(rng.next() % (i as u64 + 1))?;
                schedule.swap(i, j);
            }
        }
        let Some(fault) = schedule.pop() else {
            continue;
        };
        let at = started.elapsed();
        match fault {
            Fault::KillIngest => {
                procs.ingest.kill9();
                tokio::time::sleep(rng.millis(100, 1500)).await;
                procs.ingest.restart(true)?;
            }
            Fault::KillRetention => {
                procs.retention.kill9();
                tokio::time::sleep(rng.millis(100, 1500)).await;
                procs.retention.restart(true)?;
            }
            Fault::RestartRedis => {
                // No persistence: it comes back empty (flushed).
                procs.redis.restart(true)?;
            }
            Fault::RestartNats => {
                procs.nats.restart(false)?;
            }
            Fault::DropPostgres => {
                admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{db_name}' AND pid <> pg_backend_pid()"
                    ))
                    .await?;
            }
        }
        println!(
            "chaos: {:>6.1} s  {fault:?}  ({} webhooks accepted)",
            at.as_secs_f64(),
            stats.accepted.load(Ordering::Relaxed)
        );
        *faults.entry(fault).or_default() += 1;
    }
    let accepted = sender.await??;
    let (log_sent, log_retries) = logs.await??;
    let send_time = started.elapsed();

    // Every accepted webhook stored once; every log event stored once.
    let db = Database::connect(env_value(env, "CLOUDSMS_DATABASE__URL")?).await?;
    let accepted_set: HashSet<&String> = accepted.iter().collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let (stored, log_rows) = loop {
        let stored = query_pairs(
            &db,
            "SELECT provider_message_id, COUNT(*) FROM messages \
             WHERE provider = 'twilio' GROUP BY provider_message_id",
        )
        .await?;
        let log_rows = query_pairs(
            &db,
            &format!(
                "SELECT event_id, COUNT(*) FROM access_log \
                 WHERE event_id LIKE 'chaos-{run}-%' GROUP BY event_id"
            ),
        )
        .await?;
        let have: HashSet<&String> = stored.iter().map(|(id, _)| id).collect();
        if accepted_set.is_subset(&have) && log_rows.len() >= log_sent || Instant::now() > deadline
        {
            break (stored, log_rows);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let settle_time = started.elapsed() - send_time;
    let have: HashSet<&String> = stored.iter().map(|(id, _)| id).collect();
    let lost: Vec<&&String> = accepted_set.difference(&have).collect();
    let stored_twice = stored.iter().filter(|(_, n)| *n > 1).count();
    let logs_twice = log_rows.iter().filter(|(_, n)| *n > 1).count();

    // Visible: the API lists each accepted message once.
    let mut listed_twice = 0;
    let mut not_listed = 0;
    let mut per_number: HashMap<&str, HashSet<&str>> = HashMap::new();
    for sid in &accepted {
        if let Some(n) = sid_to_number.get(sid) {
            per_number.entry(n).or_default().insert(sid.as_str());
        }
    }
    for number in NUMBERS {
        let bodies = listed(&gateway, number).await?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for body in &bodies {
            if let Some(sid) = body
                .strip_prefix("chaos ")
                .and_then(|b| b.split(':').next())
            {
                *seen.entry(sid.to_owned()).or_default() += 1;
            }
        }
        listed_twice += seen.values().filter(|n| **n > 1).count();
        not_listed += per_number.get(number).map_or(0, |want| {
            want.iter().filter(|s| !seen.contains_key(**s)).count()
        });
    }
    // The newest messages come from the hot list (Redis): no repeats there.
    let mut hot_repeats = 0;
    for number in NUMBERS {
        let page: serde_json::Value =
            reqwest::get(format!("{gateway}/api/v1/numbers/{number}/messages"))
                .await?
                .json()
                .await?;
        let ids: Vec<i64> = page["messages"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["id"].as_i64()).collect())
            .unwrap_or_default();
        hot_repeats += ids.len() - ids.iter().collect::<HashSet<_>>().len();
    }

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
    println!();
    println!("| chaos ({webhooks} webhooks, {log_sent} log events) | result |");
    println!("|---|---:|");
    for (fault, n) in &faults {
        println!("| fault: {fault:?} | {n}× |");
    }
    println!(
        "| restarts: message-ingest / log-retention / redis / nats | {} / {} / {} / {} |",
        procs.ingest.restarts, procs.retention.restarts, procs.redis.restarts, procs.nats.restarts
    );
    println!(
        "| webhooks answered 2xx | {} ({} at the first try) |",
        s.accepted.load(Ordering::Relaxed),
        s.first_try.load(Ordering::Relaxed)
    );
    println!(
        "| retried after 5xx / connection error | {} / {} |",
        s.server_errors.load(Ordering::Relaxed),
        s.connection_errors.load(Ordering::Relaxed)
    );
    println!(
        "| refused with 4xx | {} |",
        s.client_errors.load(Ordering::Relaxed)
    );
    println!("| accepted but not stored | {} |", lost.len());
    println!("| stored more than once | {stored_twice} |");
    println!("| accepted but not listed by the API | {not_listed} |");
    println!("| listed more than once | {listed_twice} (hot page: {hot_repeats}) |");
    println!(
        "| log events stored / published | {} / {log_sent} ({log_retries} publish retries) |",
        log_rows.len()
    );
    println!("| log events stored more than once | {logs_twice} |");
    println!(
        "| time: sending / settling | {:.1} s / {:.1} s |",
        send_time.as_secs_f64(),
        settle_time.as_secs_f64()
    );
    println!(
        "| services down at the end | {} |",
        if down.is_empty() {
            "none".to_owned()
        } else {
            down.join("; ")
        }
    );

    let mut failures = Vec::new();
    if s.accepted.load(Ordering::Relaxed) != webhooks {
        failures.push("not every webhook was accepted".to_owned());
    }
    if !lost.is_empty() {
        failures.push(format!(
            "{} accepted webhooks lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        ));
    }
    if stored_twice + listed_twice + hot_repeats + logs_twice > 0 {
        failures.push("duplicates".to_owned());
    }
    if not_listed > 0 {
        failures.push(format!("{not_listed} stored messages not listed"));
    }
    if log_rows.len() != log_sent {
        failures.push(format!(
            "{} of {log_sent} log events stored",
            log_rows.len()
        ));
    }
    if faults.len() < FAULTS.len() {
        failures.push("not every fault was injected".to_owned());
    }
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

fn env_value<'a>(env: &'a [(String, String)], key: &str) -> anyhow::Result<&'a str> {
    env.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .with_context(|| format!("{key} not set"))
}
