//! `gateway`: serves the visitor site.

platform::mimalloc!();

fn main() -> anyhow::Result<()> {
    platform::service_main(
        "gateway",
        "The cloudsms visitor site.",
        gateway::run_process,
    )
}
