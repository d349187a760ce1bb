//! The services of the cluster chaos run: two processes each of gateway,
//! message-ingest, log-retention and captcha-verification, each replica on
//! its own loopback ports, all on one JetStream cluster (`bus.replicas = 3`),
//! one Redis with Sentinels and one database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;

use crate::chaos::load::TWILIO_TOKEN;
use crate::chaos::verify::ready;
use crate::process::{Proc, free_ports};

/// Replicas of each service.
pub const REPLICAS: usize = 2;
/// The address every ingest replica is reached under (a load balancer's):
/// what providers sign.
pub const INGEST_PUBLIC_URL: &str = "http://ingest.chaos.test";

/// The service kinds, as their binaries are named.
pub const KINDS: [&str; 4] = [
    "gateway",
    "message-ingest",
    "log-retention",
    "captcha-verification",
];

/// One replica of one service.
pub struct Replica {
    /// Its binary's name (one of [`KINDS`]).
    pub kind: &'static str,
    /// Which replica (0 or 1).
    pub index: usize,
    /// `http://127.0.0.1:<port>`: its HTTP listener (webhooks, pages,
    /// captcha, health).
    pub url: String,
    /// The process.
    pub proc: Proc,
}

/// Every replica of every service.
pub struct Services {
    /// In [`KINDS`] order, replica 0 before 1.
    pub replicas: Vec<Replica>,
}

/// Where the run's backends are.
pub struct Backends<'a> {
    /// `nats.url` of each replica (index 0 and 1).
    pub nats_urls: [String; REPLICAS],
    /// The configuration file every process reads (`CLOUDSMS_CONFIG`).
    pub config_file: &'a Path,
    /// `database.url`.
    pub database_url: &'a str,
    /// Run id: bus prefix and cache key prefix.
    pub run: &'a str,
    /// `captcha.hmac_key`, the same on every replica.
    pub captcha_key: &'a str,
}

/// The environment every process of the run shares.
pub fn common_env(work: &Path, b: &Backends<'_>) -> Vec<(String, String)> {
    [
        ("RUST_LOG", "warn".to_owned()),
        ("CLOUDSMS_CONFIG", b.config_file.display().to_string()),
        ("CLOUDSMS_DATA_DIR", work.display().to_string()),
        ("CLOUDSMS_DATABASE__URL", b.database_url.to_owned()),
        ("CLOUDSMS_BUS__PREFIX", format!("chaos{}", b.run)),
        ("CLOUDSMS_BUS__REPLICAS", "3".to_owned()),
        ("CLOUDSMS_BUS__ACK_WAIT_SECS", "5".to_owned()),
        ("CLOUDSMS_BUS__MAX_DELIVER", "1000".to_owned()),
        ("CLOUDSMS_CACHE__KEY_PREFIX", format!("chaos:{}:", b.run)),
        ("CLOUDSMS_GATEWAY__GATE__ENABLED", "false".to_owned()),
        (
            "CLOUDSMS_GATEWAY__LIVE__MAX_STREAMS_PER_NETWORK",
            "1000".to_owned(),
        ),
        ("CLOUDSMS_GATEWAY__LIVE__MAX_STREAM_SECS", "3600".to_owned()),
        ("CLOUDSMS_INGEST__PUBLIC_URL", INGEST_PUBLIC_URL.to_owned()),
        (
            "CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN",
            TWILIO_TOKEN.to_owned(),
        ),
        ("CLOUDSMS_CAPTCHA__HMAC_KEY", b.captcha_key.to_owned()),
        ("CLOUDSMS_CAPTCHA__DEFAULT_MAX_NUMBER", "1000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The ports of replica `i` of every service.
struct ReplicaPorts {
    gateway: u16,
    ingest: u16,
    ingest_grpc: u16,
    retention: u16,
    retention_grpc: u16,
    captcha: u16,
    captcha_grpc: u16,
}

impl ReplicaPorts {
    fn new() -> anyhow::Result<Self> {
        let [
            gateway,
            ingest,
            ingest_grpc,
            retention,
            retention_grpc,
            captcha,
            captcha_grpc,
        ] = free_ports()?;
        Ok(Self {
            gateway,
            ingest,
            ingest_grpc,
            retention,
            retention_grpc,
            captcha,
            captcha_grpc,
        })
    }

    fn env(&self, nats_url: &str) -> Vec<(String, String)> {
        let addr = |p: u16| format!("127.0.0.1:{p}");
        [
            ("CLOUDSMS_NATS__URL", nats_url.to_owned()),
            ("CLOUDSMS_GATEWAY__LISTEN", addr(self.gateway)),
            (
                "CLOUDSMS_GATEWAY__RETENTION_URL",
                format!("http://{}", addr(self.retention_grpc)),
            ),
            (
                "CLOUDSMS_GATEWAY__GATE__CAPTCHA_URL",
                format!("http://{}", addr(self.captcha_grpc)),
            ),
            ("CLOUDSMS_INGEST__LISTEN", addr(self.ingest)),
            ("CLOUDSMS_INGEST__GRPC_LISTEN", addr(self.ingest_grpc)),
            ("CLOUDSMS_RETENTION__LISTEN", addr(self.retention)),
            ("CLOUDSMS_RETENTION__GRPC_LISTEN", addr(self.retention_grpc)),
            ("CLOUDSMS_CAPTCHA__LISTEN", addr(self.captcha)),
            ("CLOUDSMS_CAPTCHA__GRPC_LISTEN", addr(self.captcha_grpc)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn http(&self, kind: &str) -> u16 {
        match kind {
            "gateway" => self.gateway,
            "message-ingest" => self.ingest,
            "log-retention" => self.retention,
            _ => self.captcha,
        }
    }
}

impl Services {
    /// The replicas of every service (not started), logging under `work`.
    pub fn new(bins: &Path, work: &Path, b: &Backends<'_>) -> anyhow::Result<Self> {
        let common = common_env(work, b);
        let mut replicas = Vec::new();
        let ports: Vec<ReplicaPorts> = (0..REPLICAS)
            .map(|_| ReplicaPorts::new())
            .collect::<anyhow::Result<_>>()?;
        for kind in KINDS {
            for (index, p) in ports.iter().enumerate() {
                let mut env = common.clone();
                env.extend(p.env(&b.nats_urls[index]));
                let program: PathBuf = bins.join(kind);
                replicas.push(Replica {
                    kind,
                    index,
                    url: format!("http://127.0.0.1:{}", p.http(kind)),
                    proc: Proc::new(
                        format!("{kind}-{index}"),
                        program,
                        vec![],
                        env,
                        work.join(format!("{kind}-{index}.log")),
                    ),
                });
            }
        }
        Ok(Self { replicas })
    }

    /// Starts every replica and waits until each is ready.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        for r in &mut self.replicas {
            r.proc.start()?;
        }
        for r in &self.replicas {
            if !ready(&format!("{}/readyz", r.url), Duration::from_secs(60)).await {
                bail!("{} did not become ready", r.proc.name);
            }
        }
        Ok(())
    }

    /// Replica `index` of `kind`.
    pub fn get(&mut self, kind: &str, index: usize) -> &mut Replica {
        let at = self
            .replicas
            .iter()
            .position(|r| r.kind == kind && r.index == index)
            .unwrap_or(0);
        &mut self.replicas[at]
    }

    /// The HTTP URLs of every replica of `kind`, replica 0 first.
    pub fn urls(&self, kind: &str) -> Vec<String> {
        self.replicas
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.url.clone())
            .collect()
    }

    /// SIGTERM to every replica.
    pub fn stop(&mut self) {
        for r in &mut self.replicas {
            r.proc.terminate();
        }
    }

    /// Replicas not running or not ready, each with why.
    pub async fn down(&mut self) -> Vec<String> {
        let mut down = Vec::new();
        for r in &mut self.replicas {
            if let Some(how) = r.proc.exited() {
                down.push(format!("{} exited: {how}", r.proc.name));
            } else if !ready(&format!("{}/readyz", r.url), Duration::from_secs(20)).await {
                down.push(format!("{} not ready", r.proc.name));
            }
        }
        down
    }
}
