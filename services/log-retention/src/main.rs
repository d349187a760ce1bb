//! `log-retention`: runs the service on its own.

/// mimalloc: less time in malloc/free than glibc's under many small
/// allocations per request (see `make bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::Parser;

/// The cloudsms log-retention service.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (default: ./cloudsms.toml when present).
    #[arg(long, env = "CLOUDSMS_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = config::Settings::load(args.config.as_deref())?;
    let _telemetry = telemetry::init(&settings, "log-retention")?;
    log_retention::run_process(settings).await
}
