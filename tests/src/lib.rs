//! Test harness: spawns cloudsms services on random ports, in the embedded
//! mode (SQLite, in-process bus and cache) or the distributed mode (real NATS
//! JetStream, Redis and Postgres), each test with its own database, stream
//! prefix and key prefix so tests never collide.
//!
//! Where the infrastructure lives (defaults are the standard loopback ports):
//! `TEST_NATS_URL`, `TEST_REDIS_URL`,
//! `TEST_POSTGRES_URL` (an admin URL; a database is created per test).
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod admin;
pub mod chaos;
pub mod drive;
pub mod http;
pub mod live;
pub mod messages;
pub mod nats_cluster;
pub mod pki;
pub mod process;
pub mod sentinel;
pub mod wait;

pub use http::{
    console_csrf_token, content_type, cookie_value, csrf_token, error_of, json, linked_asset,
    no_redirects, send, text,
};
pub use wait::{wait_until, wait_until_blocking};

use std::time::Duration;

use config::Settings;
use platform::Infra;
use sea_orm::{ConnectionTrait, Database};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which implementation of the infrastructure a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQLite, in-process bus and cache: what `cloudsms all` uses by default.
    Embedded,
    /// NATS JetStream, Redis, Postgres.
    Distributed,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// NATS URL for tests.
pub fn nats_url() -> String {
    env_or("TEST_NATS_URL", "nats://127.0.0.1:4222")
}

/// Redis URL for tests.
pub fn redis_url() -> String {
    env_or("TEST_REDIS_URL", "redis://127.0.0.1:6379")
}

/// Postgres admin URL for tests.
pub fn postgres_admin_url() -> String {
    env_or(
        "TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    )
}

/// Isolated resources of one test; cleaned up by [`Isolation::cleanup`].
pub struct Isolation {
    /// Settings pointing at the isolated resources.
    pub settings: Settings,
    /// Temporary folder (SQLite, data dir).
    pub dir: tempfile::TempDir,
    db_name: Option<String>,
}

impl Isolation {
    /// Fresh settings for `mode`: own database, stream prefix, key prefix, secret.
    pub async fn new(mode: Mode) -> Self {
        Self::with_overrides(mode, "").await
    }

    /// As [`Isolation::new`], then `overrides` (TOML) on top.
    pub async fn with_overrides(mode: Mode, overrides: &str) -> Self {
        telemetry::init_for_tests();
        let dir = tempfile::tempdir().unwrap();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let short = &id[..12];
        let secret = format!("test-secret-{short}");
        let (infra_toml, db_name) = match mode {
            Mode::Embedded => (
                format!(
                    "database.url = \"sqlite://{}/cloudsms.db?mode=rwc\"\n",
                    dir.path().display()
                ),
                None,
            ),
            Mode::Distributed => {
                let db_name = format!("cloudsms_t_{short}");
                let admin = Database::connect(postgres_admin_url()).await.unwrap();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
                    .await
                    .unwrap();
                let base = postgres_admin_url();
                let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
                (
                    format!(
                        "nats.url = \"{}\"\nredis.url = \"{}\"\ndatabase.url = \"{server}/{db_name}\"\n",
                        nats_url(),
                        redis_url()
                    ),
                    Some(db_name),
                )
            }
        };
        let toml = format!(
            "data_dir = \"{dir}\"\n{infra_toml}\
             [bus]\nprefix = \"t{short}\"\nack_wait_secs = 2\nmax_deliver = 5\n\
             [cache]\nkey_prefix = \"test:{short}:\"\n\
             [gateway.gate]\nenabled = false\n\
             [ingest.providers.generic]\nsecret = \"{secret}\"\n",
            dir = dir.path().display(),
        );
        let settings = Settings::from_toml_layers(&[&toml, overrides]).unwrap();
        Self {
            settings,
            dir,
            db_name,
        }
    }

    /// Drops the test's database, streams and keys.
    pub async fn cleanup(&self) {
        if !self.settings.nats.url.is_empty()
            && let Ok(client) = async_nats::connect(self.settings.nats.servers()).await
        {
            {
                let js = async_nats::jetstream::new(client);
                let prefix = format!("{}.", self.settings.bus.prefix);
                for kind in bus::StreamKind::ALL {
                    let _ = js.delete_stream(kind.stream_name(&prefix)).await;
                }
            }
        }
        if let Some(db_name) = &self.db_name
            && let Ok(admin) = Database::connect(postgres_admin_url()).await
        {
            {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
                    .await;
            }
        }
    }
}

/// Gateway and message-ingest running in this process.
pub struct TestApp {
    /// Which mode.
    pub mode: Mode,
    /// Shared infrastructure handles (for direct checks).
    pub infra: Infra,
    /// The gateway's live fan-out, shared with the server (to look inside).
    pub live: gateway::Live,
    /// `http://127.0.0.1:<port>` of the gateway.
    pub gateway_url: String,
    /// `http://127.0.0.1:<port>` of message-ingest's webhooks.
    pub ingest_url: String,
    /// `http://127.0.0.1:<port>` of message-ingest's gRPC `IngestService`.
    pub grpc_url: String,
    /// HTTP client.
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    persister_shutdown: CancellationToken,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    persister: Option<JoinHandle<anyhow::Result<()>>>,
    isolation: Isolation,
}

/// A signed generic webhook's parts.
pub struct Webhook {
    /// Raw body.
    pub body: String,
    /// `X-Cloudsms-Timestamp`.
    pub timestamp: i64,
    /// `X-Cloudsms-Signature`.
    pub signature: String,
}

impl TestApp {
    /// log-retention's tables on this app's database, migrated.
    pub async fn log_store(&self) -> log_retention::LogStore {
        log_retention::log_store(&self.infra.settings, self.infra.store.connection().clone())
            .await
            .unwrap()
    }

    /// Spawns gateway and message-ingest (with its persister).
    pub async fn spawn(mode: Mode) -> Self {
        Self::spawn_with(mode, true).await
    }

    /// Spawns gateway and message-ingest's webhook server, with or without the persister.
    pub async fn spawn_with(mode: Mode, persister: bool) -> Self {
        Self::spawn_isolated(Isolation::new(mode).await, mode, persister).await
    }

    /// Spawns on prepared isolation (custom settings).
    pub async fn spawn_isolated(isolation: Isolation, mode: Mode, persister: bool) -> Self {
        Self::spawn_on(isolation, mode, persister, None).await
    }

    /// As [`TestApp::spawn_isolated`] (with the persister), the store
    /// reading and sweeping messages by `clock` (`messages.keep_days`):
    /// a test moves it days ahead instead of waiting.
    pub async fn spawn_with_clock(
        isolation: Isolation,
        mode: Mode,
        clock: platform::Clock,
    ) -> Self {
        Self::spawn_on(isolation, mode, true, Some(clock)).await
    }

    async fn spawn_on(
        isolation: Isolation,
        mode: Mode,
        persister: bool,
        clock: Option<platform::Clock>,
    ) -> Self {
        let mut infra: Infra = Infra::connect(isolation.settings.clone()).await.unwrap();
        if let Some(clock) = clock {
            infra.store = infra.store.clone().with_retention(store::Retention::new(
                infra.settings.messages.keep_days.get(),
                move || clock.now(),
            ));
        }
        let gateway_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ingest_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_url = format!("http://{}", grpc_listener.local_addr().unwrap());
        let gateway_url = format!("http://{}", gateway_listener.local_addr().unwrap());
        let ingest_url = format!("http://{}", ingest_listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let gateway = gateway::Shared::new(&infra);
        let live = gateway.live.clone();
        let tasks = vec![
            tokio::spawn(gateway::serve(
                infra.clone(),
                gateway,
                gateway_listener,
                shutdown.clone(),
            )),
            tokio::spawn({
                let infra = infra.clone();
                let shutdown = shutdown.clone();
                async move { message_ingest::grpc::serve(&infra, grpc_listener, shutdown).await }
            }),
            tokio::spawn({
                let router = message_ingest::router(&infra);
                let limits = infra.settings.http.clone();
                let shutdown = shutdown.clone();
                async move {
                    platform::serve(
                        ingest_listener,
                        router,
                        &limits,
                        shutdown,
                        Duration::from_secs(5),
                    )
                    .await?;
                    Ok(())
                }
            }),
        ];
        let mut app = Self {
            mode,
            infra,
            live,
            gateway_url,
            ingest_url,
            grpc_url,
            client: reqwest::Client::new(),
            shutdown,
            persister_shutdown: CancellationToken::new(),
            tasks,
            persister: None,
            isolation,
        };
        if persister {
            app.start_persister();
        }
        app
    }

    /// Starts the persister (a fresh instance of the durable consumer).
    pub fn start_persister(&mut self) {
        self.persister_shutdown = CancellationToken::new();
        self.persister = Some(tokio::spawn(message_ingest::persister::run(
            self.infra.clone(),
            self.persister_shutdown.clone(),
        )));
    }

    /// The generic provider's secret.
    pub fn secret(&self) -> &str {
        &self.infra.settings.ingest.providers.generic.secret
    }

    /// Registers a number.
    pub async fn add_number(&self, e164: &str) {
        let number = domain::E164::parse(e164).unwrap();
        self.infra.store.add_number(&number, "test").await.unwrap();
    }

    /// A webhook signed with the app's secret, timestamped now.
    pub fn signed(&self, body: &str) -> Webhook {
        let timestamp = chrono::Utc::now().timestamp();
        Webhook {
            body: body.to_owned(),
            timestamp,
            signature: message_ingest::providers::generic::sign(
                self.secret(),
                timestamp,
                body.as_bytes(),
            ),
        }
    }

    /// JSON body of a generic webhook.
    pub fn sms_json(to: &str, from: &str, body: &str, id: &str) -> String {
        serde_json::json!({ "to": to, "from": from, "body": body, "id": id }).to_string()
    }

    /// Posts a webhook to `/webhooks/generic`.
    pub async fn post(&self, hook: &Webhook) -> reqwest::Response {
        self.client
            .post(format!("{}/webhooks/generic", self.ingest_url))
            .header("content-type", "application/json")
            .header("x-cloudsms-timestamp", hook.timestamp.to_string())
            .header("x-cloudsms-signature", &hook.signature)
            .body(hook.body.clone())
            .send()
            .await
            .unwrap()
    }

    /// Signs and posts an SMS; returns the response.
    pub async fn send_sms(&self, to: &str, from: &str, body: &str, id: &str) -> reqwest::Response {
        self.post(&self.signed(&Self::sms_json(to, from, body, id)))
            .await
    }

    /// GETs a gateway path: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.gateway_url))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Polls the number's page until it contains `needle`; panics after 20 s.
    pub async fn wait_for_page(&self, e164: &str, needle: &str) -> String {
        wait_until(
            format_args!("{needle:?} on the page of {e164}"),
            Duration::from_secs(20),
            async || {
                let (status, html) = self.get(&format!("/numbers/{e164}")).await;
                if status == 200 && html.contains(needle) {
                    Ok(html)
                } else {
                    Err(format!("status {status}:\n{html}"))
                }
            },
        )
        .await
    }

    /// Messages stored for `e164`, straight from the database.
    pub async fn stored(&self, e164: &str) -> Vec<store::MessageRow> {
        self.infra
            .store
            .recent_messages(e164, 500, None)
            .await
            .unwrap()
    }

    /// Polls the database until `e164` has `count` messages; panics after 20 s.
    pub async fn wait_for_stored(&self, e164: &str, count: usize) -> Vec<store::MessageRow> {
        wait_until(
            format_args!("{count} messages stored for {e164}"),
            Duration::from_secs(20),
            async || {
                let rows = self.stored(e164).await;
                if rows.len() >= count {
                    Ok(rows)
                } else {
                    Err(format!("{} messages", rows.len()))
                }
            },
        )
        .await
    }

    /// Stops the persister as a crash would: no drain, nothing acked.
    pub fn kill_persister(&mut self) {
        if let Some(task) = self.persister.take() {
            task.abort();
        }
    }

    /// Stops everything and drops the test's database, streams and keys.
    pub async fn stop(mut self) {
        self.persister_shutdown.cancel();
        self.shutdown.cancel();
        if let Some(task) = self.persister.take() {
            let _ = task.await;
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let _ = self.infra.cache.clear().await;
        self.isolation.cleanup().await;
    }
}

/// Runs `$body` (an async fn taking a [`Mode`]) as two tests, one per mode.
#[macro_export]
macro_rules! both_modes {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$name($crate::Mode::Embedded).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn distributed() {
                super::$name($crate::Mode::Distributed).await;
            }
        }
    };
}

/// Decodes HTML character references, to compare page text with what was sent.
pub fn unescape_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl TestApp {
    /// Spawns gateway and message-ingest (with persister) with `overrides`
    /// (TOML, e.g. provider secrets) on top of the test settings.
    pub async fn spawn_with_config(mode: Mode, overrides: &str) -> Self {
        Self::spawn_isolated(Isolation::with_overrides(mode, overrides).await, mode, true).await
    }

    /// Polls the database until the provider message id is stored; panics after 20 s.
    pub async fn wait_for_provider_message(
        &self,
        e164: &str,
        provider_message_id: &str,
    ) -> store::MessageRow {
        wait_until(
            format_args!("{provider_message_id} stored for {e164}"),
            Duration::from_secs(20),
            async || {
                self.stored(e164)
                    .await
                    .into_iter()
                    .find(|r| r.provider_message_id == provider_message_id)
            },
        )
        .await
    }
}

/// The gateway and message-ingest (with the persister when `persister`)
/// and, beside them, a log-retention (its gRPC service and its consumer)
/// that `gateway.retention_url` points at; `gateway_overrides` (TOML) go
/// under `[gateway]`. Returns the app, log-retention's store, its gRPC URL
/// and the token that stops log-retention.
pub async fn spawn_with_retention(
    mode: Mode,
    gateway_overrides: &str,
    persister: bool,
) -> (TestApp, log_retention::LogStore, String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let iso = Isolation::with_overrides(
        mode,
        &format!("[gateway]\nretention_url = \"{url}\"\n{gateway_overrides}\n"),
    )
    .await;
    let app = TestApp::spawn_isolated(iso, mode, persister).await;
    let store = app.log_store().await;
    let stop = CancellationToken::new();
    tokio::spawn(log_retention::grpc::serve(
        store.clone(),
        listener,
        stop.clone(),
    ));
    tokio::spawn(log_consumer(&app, &store, &stop));
    (app, store, url, stop)
}

/// log-retention's consumer of the LOGS stream on `app`'s bus, storing
/// into `store` until `stop`.
pub fn log_consumer(
    app: &TestApp,
    store: &log_retention::LogStore,
    stop: &CancellationToken,
) -> impl Future<Output = anyhow::Result<()>> + use<> {
    log_retention::consumer::run(
        app.infra.bus.clone(),
        store.clone(),
        platform::Clock::system(),
        app.infra.settings.retention.retention_days.get(),
        app.infra.settings.retention.batch_size,
        stop.clone(),
    )
}

/// The path of a workspace binary built beside the test binary
/// (`cargo build --workspace --bins`, which `make test` runs first).
pub fn binary(name: &str) -> std::path::PathBuf {
    // target/<profile>/deps/it-<hash> -> target/<profile>/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}

/// The Python interpreter that has the providers' SDKs (`make oracles`).
pub fn oracle_python() -> String {
    std::env::var("ORACLE_PYTHON")
        .unwrap_or_else(|_| "/var/tmp/cloudsms-oracles/bin/python".to_owned())
}

/// Runs `script` with the oracle interpreter, `args` as `sys.argv[1:]`, and
/// returns its stdout without the trailing newline. Panics with the script's
/// stderr when it fails, or with a hint when the SDKs are not installed.
pub fn oracle(script: &str, args: &[&str]) -> String {
    let python = oracle_python();
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}): run `make oracles` first"));
    assert!(
        out.status.success(),
        "oracle script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end_matches(['\n', '\r'])
        .to_owned()
}
