//! `cloudsms healthcheck <url>`: a container health check without a shell
//! or curl (the image is distroless). Exit 0 when the URL answers 2xx, 1
//! otherwise (Docker reserves 2), with a one-line reason on stderr.

use std::process::ExitCode;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

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

/// Most of a failing answer's body read for the reason line.
const BODY_LIMIT: usize = 16 * 1024;

async fn check(url: &str, timeout: Duration) -> Result<http::StatusCode, String> {
    let uri: http::Uri = url.parse().map_err(|e| one_line(&e))?;
    let request = http::Request::get(uri)
        .body(String::new())
        .map_err(|e| one_line(&e))?;
    // Plain HTTP only (the probes reach the pod directly); hyper follows no
    // redirect and knows no proxy.
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(timeout));
    let client = Client::builder(TokioExecutor::new()).build::<_, String>(connector);
    let exchange = async {
        let response = client.request(request).await.map_err(|e| one_line(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status);
        }
        // The body of a failing /readyz names the failing check.
        let body = Limited::new(response.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        let body = domain::log_safe(body.trim());
        Err(if body.is_empty() {
            format!("answered {status}")
        } else {
            format!("answered {status}: {body}")
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("timed out after {} s", timeout.as_secs_f64()))?
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
