//! `cloudsms healthcheck <url>`: a container health check without a shell
//! or curl (the image is distroless). Exit 0 when the URL answers 2xx, 1
//! otherwise (Docker reserves 2), with a one-line reason on stderr.

use std::process::ExitCode;
use std::time::Duration;

/// GETs `url` within `timeout`: no proxy, no redirect followed.
pub async fn run(url: &str, timeout: Duration) -> ExitCode {
    match check(url, timeout).await {
        Ok(status) => {
            println!("healthy: {url} answered {status}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("unhealthy: {url}: {reason}");
            ExitCode::from(1)
        }
    }
}

async fn check(url: &str, timeout: Duration) -> Result<reqwest::StatusCode, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| one_line(&e))?;
    let response = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("timed out after {} s", timeout.as_secs_f64())
        } else {
            one_line(&e.without_url())
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(status);
    }
    // The body of a failing /readyz names the failing check.
    let body = response.text().await.unwrap_or_default();
    let body = domain::log_safe(body.trim());
    Err(if body.is_empty() {
        format!("answered {status}")
    } else {
        format!("answered {status}: {body}")
    })
}

/// An error and its causes on one line.
fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    domain::log_safe_clipped(&line, 300)
}
