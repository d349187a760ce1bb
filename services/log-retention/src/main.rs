//! `log-retention`: runs the service on its own.

platform::mimalloc!();

fn main() -> anyhow::Result<()> {
    platform::service_main(
        "log-retention",
        "The cloudsms log-retention service.",
        log_retention::run_process,
    )
}
