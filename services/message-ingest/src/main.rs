//! `message-ingest`: runs the webhook server, gRPC server and persister.

platform::mimalloc!();

fn main() -> anyhow::Result<()> {
    platform::service_main(
        "message-ingest",
        "Provider webhooks in, stored messages out.",
        message_ingest::run_process,
    )
}
