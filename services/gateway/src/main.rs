//! `gateway`: serves the visitor site.

fn main() -> anyhow::Result<()> {
    platform::service_main(
        "gateway",
        "The cloudsms visitor site.",
        gateway::run_process,
    )
}
