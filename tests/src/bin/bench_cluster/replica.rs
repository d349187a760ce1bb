//! The replicas of message-ingest and log-retention the bench starts, and
//! what each one did, read from its Prometheus `/metrics`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use cloudsms_tests::process::{Proc, free_ports, wait_port};

/// One replica of each service that shares work.
pub(crate) struct Replica {
    ingest: Proc,
    retention: Proc,
    pub(crate) ingest_port: u16,
    ingest_metrics: u16,
    retention_port: u16,
    retention_metrics: u16,
}

impl Replica {
    pub(crate) fn new(
        bins: &Path,
        work: &Path,
        env: &[(String, String)],
        i: usize,
    ) -> anyhow::Result<Self> {
        let [
            ingest_port,
            ingest_grpc,
            ingest_metrics,
            retention_port,
            retention_grpc,
            retention_metrics,
        ] = free_ports()?;
        let with = |extra: Vec<(&str, String)>| {
            let mut env = env.to_vec();
            env.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
            env
        };
        let ingest_env = with(vec![
            (
                "CLOUDSMS_INGEST__LISTEN",
                format!("127.0.0.1:{ingest_port}"),
            ),
            (
                "CLOUDSMS_INGEST__GRPC_LISTEN",
                format!("127.0.0.1:{ingest_grpc}"),
            ),
            (
                "CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN",
                format!("127.0.0.1:{ingest_metrics}"),
            ),
            ("CLOUDSMS_TELEMETRY__INSTANCE_ID", format!("ingest-{i}")),
        ]);
        let retention_env = with(vec![
            (
                "CLOUDSMS_RETENTION__LISTEN",
                format!("127.0.0.1:{retention_port}"),
            ),
            (
                "CLOUDSMS_RETENTION__GRPC_LISTEN",
                format!("127.0.0.1:{retention_grpc}"),
            ),
            (
                "CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN",
                format!("127.0.0.1:{retention_metrics}"),
            ),
            ("CLOUDSMS_TELEMETRY__INSTANCE_ID", format!("retention-{i}")),
        ]);
        let proc = |program: &str, env| {
            let name = format!("{program}-{i}");
            let log = work.join(format!("{name}.log"));
            Proc::new(name, bins.join(program), vec![], env, log)
        };
        Ok(Self {
            ingest: proc("message-ingest", ingest_env),
            retention: proc("log-retention", retention_env),
            ingest_port,
            ingest_metrics,
            retention_port,
            retention_metrics,
        })
    }

    pub(crate) async fn start(&mut self) -> anyhow::Result<()> {
        self.ingest.start()?;
        self.retention.start()?;
        for port in [self.ingest_port, self.retention_port] {
            ready(port).await?;
        }
        for port in [self.ingest_metrics, self.retention_metrics] {
            wait_port(port, Duration::from_secs(10)).await?;
        }
        Ok(())
    }

    pub(crate) fn stop(&mut self) {
        self.ingest.terminate();
        self.retention.terminate();
    }
}

async fn ready(port: u16) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(&url).await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} not ready in 60 s")
}

/// What one replica did, read from its `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) accepted: f64,
    pub(crate) stored: f64,
    pub(crate) log_messages: f64,
}

impl std::ops::Sub for Counts {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self {
            accepted: self.accepted - rhs.accepted,
            stored: self.stored - rhs.stored,
            log_messages: self.log_messages - rhs.log_messages,
        }
    }
}

/// The sum of the samples of `name` whose labels contain every `filter`.
fn series(text: &str, name: &str, filters: &[&str]) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                && filters.iter().all(|f| l.contains(f))
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

async fn scrape(client: &reqwest::Client, port: u16) -> anyhow::Result<String> {
    let url = format!("http://127.0.0.1:{port}/metrics");
    Ok(client
        .get(&url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

pub(crate) async fn counts(client: &reqwest::Client, replica: &Replica) -> anyhow::Result<Counts> {
    let ingest = scrape(client, replica.ingest_metrics).await?;
    let retention = scrape(client, replica.retention_metrics).await?;
    Ok(Counts {
        accepted: series(
            &ingest,
            "cloudsms_ingest_webhooks_total",
            &["outcome=\"accepted\""],
        ),
        stored: series(&ingest, "cloudsms_persister_stored_total", &[]),
        log_messages: series(
            &retention,
            "cloudsms_bus_consumer_lag_seconds_count",
            &["messaging_destination_name=\"logs.requests\""],
        ),
    })
}
