//! What `make chaos` (one process per service, `bin/chaos.rs`) and
//! `make chaos-cluster` (replicas on a JetStream cluster and Redis with
//! Sentinels, `bin/chaos_cluster.rs`) share: the paced load (`load`), when
//! faults land and how long they take to heal (`faults`), and the checks
//! and table at the end (`verify`); and what the cluster run alone needs:
//! its replicas (`cluster`), live-stream watchers (`sse`) and captcha
//! probe (`captcha`).

pub mod captcha;
pub mod cluster;
pub mod faults;
pub mod load;
pub mod sse;
pub mod verify;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The folder of the running binary, where `cargo build --workspace --bins`
/// put the services next to it.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.parent()
        .map(Path::to_path_buf)
        .context("no directory for this binary")
}

/// Fails unless every binary of `names` is in `bins`.
pub fn require_bins(bins: &Path, names: &[&str]) -> anyhow::Result<()> {
    for name in names {
        if !bins.join(name).exists() {
            bail!(
                "{} is missing: run `cargo build --workspace --bins` first (make chaos does)",
                bins.join(name).display()
            );
        }
    }
    Ok(())
}

/// `cloudsms migrate`, then `cloudsms numbers add` of every number of the
/// load, with `env` (and `args` first, e.g. `--config <file>`).
pub fn prepare_database(
    bins: &Path,
    work: &Path,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<()> {
    for cmd in [vec!["migrate".to_owned()]].into_iter().chain(
        load::NUMBERS
            .iter()
            .map(|n| vec!["numbers".into(), "add".into(), (*n).to_owned()]),
    ) {
        let status = Command::new(bins.join("cloudsms"))
            .args(args)
            .args(&cmd)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(work)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("cloudsms {} failed", cmd.join(" "));
        }
    }
    Ok(())
}

/// A fresh id for one run (names its database, bus prefix, cache keys).
pub fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}
