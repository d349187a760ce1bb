//! `cloudsms`: every service as a subcommand, `all` for the whole site in one
//! process, and the operator's commands (`migrate`, `numbers ...`, `config
//! check`, `healthcheck`, `dlq ...`).

platform::mimalloc!();

mod config_check;
mod demo;
mod dlq;
mod dlq_summary;
mod healthcheck;
mod numbers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::Settings;

/// cloudsms: receive SMS online.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (default: ./cloudsms.toml when present).
    #[arg(long, global = true, env = "CLOUDSMS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Configured(Configured),
    /// Checks the configuration.
    Config {
        #[command(subcommand)]
        action: config_check::ConfigAction,
    },
    /// GETs a URL (e.g. http://127.0.0.1:8080/readyz): exit 0 on 2xx, 1
    /// otherwise with the reason on stderr. For container health checks;
    /// reads no configuration.
    Healthcheck {
        /// http:// URL to fetch.
        url: String,
        /// Seconds to wait for the whole answer.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
    },
}

/// The commands that run with the loaded configuration.
#[derive(Subcommand)]
enum Configured {
    /// Runs the visitor site (HTTP :8080).
    Gateway,
    /// Runs the webhooks (HTTP :8081, gRPC :50051) and the persister.
    MessageIngest,
    /// Runs the captcha service (HTTP :8082, gRPC :50052).
    CaptchaVerification,
    /// Runs the log-retention service (health on HTTP :8083, gRPC :50053).
    LogRetention,
    /// Runs every service in one process (embedded defaults when no URLs are set).
    All {
        /// Seeds demo numbers and feeds them realistic messages through the
        /// real webhook path.
        #[arg(long)]
        demo: bool,
    },
    /// Applies database migrations and exits.
    Migrate,
    /// Manages the operator's numbers.
    Numbers {
        #[command(subcommand)]
        action: numbers::NumbersAction,
    },
    /// Dead-lettered events on NATS: list, replay, drop.
    Dlq {
        #[command(subcommand)]
        action: dlq::DlqAction,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Healthcheck { url, timeout } => {
            Ok(healthcheck::run(&url, Duration::from_secs(timeout)).await)
        }
        Command::Config { action } => {
            config_check::run(cli.config.as_deref(), action)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Configured(command) => {
            let settings = Settings::load(cli.config.as_deref())?;
            run(settings, command).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn run(mut settings: Settings, command: Configured) -> anyhow::Result<()> {
    match command {
        Configured::Gateway => {
            let _t = telemetry::init(&settings, "gateway")?;
            gateway::run_process(settings).await
        }
        Configured::MessageIngest => {
            let _t = telemetry::init(&settings, "message-ingest")?;
            message_ingest::run_process(settings).await
        }
        Configured::CaptchaVerification => {
            let _t = telemetry::init(&settings, "captcha-verification")?;
            captcha_verification::run_process(settings).await
        }
        Configured::LogRetention => {
            let _t = telemetry::init(&settings, "log-retention")?;
            log_retention::run_process(settings).await
        }
        Configured::All { demo } => {
            if demo && settings.ingest.providers.generic.secret.is_empty() {
                // The demo signs its own webhooks; a fresh key per run, never a fixed one.
                settings.ingest.providers.generic.secret = demo::random_secret();
            }
            let _t = telemetry::init(&settings, "cloudsms")?;
            run_all(settings, demo).await
        }
        Configured::Migrate => {
            let store = connect_store(&settings).await?;
            store.migrate().await?;
            // log-retention's tables, with their own migration history.
            log_retention::LogStore::new(store.connection().clone())
                .migrate()
                .await?;
            println!("migrations applied");
            Ok(())
        }
        Configured::Numbers { action } => numbers::run(&settings, action).await,
        Configured::Dlq { action } => dlq::run(&settings, action).await,
    }
}

async fn connect_store(settings: &Settings) -> anyhow::Result<store::Store> {
    let url = settings.database_url();
    store::Store::connect(&url, 2)
        .await
        .with_context(|| format!("database {}", platform::redact_url(&url)))
}

/// Every service in one process, sharing one bus, cache and store; it
/// drains for the longest of the services' `shutdown_delay_secs`.
async fn run_all(settings: Settings, demo: bool) -> anyhow::Result<()> {
    // Nothing else would store this process's messages (an embedded bus
    // reaches no other process).
    anyhow::ensure!(
        settings.ingest.persister,
        "ingest.persister = false is for message-ingest processes: `cloudsms all` stores its own messages"
    );
    let delay = [
        settings.gateway.shutdown_delay_secs,
        settings.ingest.shutdown_delay_secs,
        settings.captcha.shutdown_delay_secs,
        settings.retention.shutdown_delay_secs,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let lifecycle = platform::Lifecycle::on_signal(std::time::Duration::from_secs(delay));
    let shutdown = lifecycle.stopping();
    let gateway_listener = platform::bind(settings.gateway.listen).await?;
    let ingest = message_ingest::Listeners {
        http: platform::bind(settings.ingest.listen).await?,
        grpc: platform::bind(settings.ingest.grpc_listen).await?,
    };
    let captcha_listeners = captcha_verification::Listeners {
        http: platform::bind(settings.captcha.listen).await?,
        grpc: platform::bind(settings.captcha.grpc_listen).await?,
    };
    let retention_listeners = log_retention::Listeners {
        http: platform::bind(settings.retention.listen).await?,
        grpc: platform::bind(settings.retention.grpc_listen).await?,
    };
    // The gateway reaches this process's own log-retention.
    let mut settings = settings;
    let retention_addr = retention_listeners.grpc.local_addr()?;
    settings.gateway.retention_url = format!("http://127.0.0.1:{}", retention_addr.port());
    let captcha_addr = captcha_listeners.grpc.local_addr()?;
    settings.gateway.gate.captcha_url = format!("http://127.0.0.1:{}", captcha_addr.port());
    let site = gateway_listener.local_addr()?;
    let answer_on = [
        &gateway_listener,
        &ingest.http,
        &captcha_listeners.http,
        &retention_listeners.http,
    ];
    let Some(infra) = platform::start::<store::Store>(settings, &answer_on, &lifecycle).await
    else {
        return Ok(());
    };
    tracing::info!("site at http://{site}");

    let demo_task = demo.then(|| {
        let infra = infra.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Err(err) = demo::run(&infra, shutdown).await {
                tracing::error!(error = %err, "demo feeder stopped");
            }
        })
    });
    // Each service on its own storage over the process's one database pool.
    let logs = log_retention::log_store(&infra.settings, infra.store.connection().clone()).await?;
    let (g, i, c, r) = tokio::join!(
        gateway::run(infra.clone(), gateway_listener, shutdown.clone()),
        message_ingest::run(infra.clone(), ingest, shutdown.clone()),
        captcha_verification::run(infra.with_store(()), captcha_listeners, shutdown.clone()),
        log_retention::run(
            infra.with_store(logs),
            retention_listeners,
            shutdown.clone()
        ),
    );
    if let Some(task) = demo_task {
        task.abort();
    }
    g?;
    i?;
    c?;
    r?;
    Ok(())
}
