//! A service binary's `main`: the same for the four services.

use std::future::Future;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};
use config::Settings;

/// The options every service binary takes.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML configuration file (default: ./cloudsms.toml when present).
    #[arg(long, env = "CLOUDSMS_CONFIG")]
    config: Option<PathBuf>,
}

/// Runs the service `name` (described by `about` in `--help`): parses
/// `--config` (or `CLOUDSMS_CONFIG`), loads and validates the settings,
/// starts telemetry under `name`, and runs `run_process` on a multi-threaded
/// runtime until it returns.
pub fn service_main<F, Fut>(
    name: &'static str,
    about: &'static str,
    run_process: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let matches = Args::command().name(name).about(about).get_matches();
    let args = Args::from_arg_matches(&matches)?;
    let settings = Settings::load(args.config.as_deref())?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let _telemetry = telemetry::init(&settings, name)?;
            run_process(settings).await
        })
}
