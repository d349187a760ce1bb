//! `captcha-verification`: runs the service on its own.

// The service's future, with the Sentinel-following cache inside, is deeper
// than the default limit lets rustc lay out ("queries overflow the depth
// limit" building this binary).
#![recursion_limit = "256"]

platform::mimalloc!();

fn main() -> anyhow::Result<()> {
    platform::service_main(
        "captcha-verification",
        "The cloudsms captcha service.",
        captcha_verification::run_process,
    )
}
