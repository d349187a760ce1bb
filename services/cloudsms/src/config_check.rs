//! `cloudsms config check`: loads the configuration as the services do
//! (defaults < file < `CLOUDSMS_*` environment), validates it, and prints
//! the effective configuration as TOML with every key and no secret.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use config::Settings;

#[derive(Subcommand)]
pub enum ConfigAction {
    /// Loads and validates the configuration and prints the effective one
    /// (secrets as "<redacted>", URL passwords as ***); an invalid one is
    /// an error naming its key.
    Check,
}

pub fn run(file: Option<&Path>, action: ConfigAction) -> anyhow::Result<()> {
    match action {
        ConfigAction::Check => check(file),
    }
}

fn check(file: Option<&Path>) -> anyhow::Result<()> {
    let settings = Settings::load(file)?;
    let body = toml::to_string_pretty(&settings).context("writing the configuration")?;
    let source = match file {
        Some(path) => path.display().to_string(),
        None if Path::new("cloudsms.toml").is_file() => "./cloudsms.toml".to_owned(),
        None => "no file".to_owned(),
    };
    let mut env: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with("CLOUDSMS_") && name != "CLOUDSMS_CONFIG")
        .collect();
    env.sort_unstable();
    let env = if env.is_empty() {
        "none".to_owned()
    } else {
        env.join(", ")
    };
    println!("# cloudsms: the configuration is valid.");
    println!("# Layers: built-in defaults < {source} < CLOUDSMS_* environment ({env}).");
    println!("# Secrets are shown as \"<redacted>\" (\"\" when unset), passwords in URLs as ***.");
    println!();
    print!("{body}");
    Ok(())
}
