//! `captcha-verification`: runs the service on its own.

platform::mimalloc!();

fn main() -> anyhow::Result<()> {
    platform::service_main(
        "captcha-verification",
        "The cloudsms captcha service.",
        captcha_verification::run_process,
    )
}
