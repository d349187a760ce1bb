//! The Prometheus scrape endpoint of a real `cloudsms all` process on NATS,
//! Redis and Postgres: after traffic, durations come in the semantic
//! conventions' buckets (5 ms to 10 s) and the operator's series exist —
//! webhooks, persister batch sizes, consumer lag and pending, dead letters,
//! retention sweeps — with the instance's id on `target_info`.

use std::time::Duration;

use cloudsms_tests::{Isolation, Mode, wait_until};

use crate::processes::{Ports, Proc, add_number, env_for, pass_the_gate, send_and_see, wait_ready};

/// Series the shipped dashboard and alerts query that only exist after a
/// rare event (a dropped log event, a failed sweep): their names are
/// checked against the documentation instead of a scrape.
const ON_EVENT_ONLY: [(&str, &str); 2] = [
    (
        "cloudsms_bus_events_dropped_total",
        "cloudsms.bus.events_dropped",
    ),
    (
        "cloudsms_retention_sweep_failures_total",
        "cloudsms.retention.sweep.failures",
    ),
];

/// Every series name the dashboards and alert rules in `deploy/` query.
fn queried_series() -> std::collections::BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut text = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("deploy/grafana")).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let starts = ["cloudsms_", "http_server_", "rpc_", "target_info"]
            .iter()
            .any(|p| rest.starts_with(p))
            // Not inside a longer name, nor a label in a template (`$labels.x`, `{{x}}`).
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || matches!(bytes[i - 1], b'_' | b'.' | b'{')));
        if starts {
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
                .count();
            // Label names (cloudsms_number, ...) are followed by `=`, `)` or `,`.
            let next = rest.as_bytes().get(len).copied().unwrap_or(b' ');
            if matches!(next, b'{' | b'[' | b' ' | b'\n') {
                names.insert(rest[..len].to_owned());
            }
            i += len.max(1);
        } else {
            i += 1;
        }
    }
    names
}

/// `GET /metrics` until `ready(text)` holds; the text. Panics after 30 s.
async fn scrape_until(
    client: &reqwest::Client,
    url: &str,
    what: &str,
    ready: impl Fn(&str) -> bool,
) -> String {
    wait_until(
        format_args!("{what} scraped from {url}"),
        Duration::from_secs(30),
        async || {
            let Ok(response) = client.get(url).send().await else {
                return Err("no answer".to_owned());
            };
            let text = response.text().await.unwrap_or_default();
            if ready(&text) {
                Ok(text)
            } else {
                Err(format!("\n{text}"))
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scrape_endpoint_has_semantic_buckets_and_the_operators_series() {
    let iso = Isolation::new(Mode::Distributed).await;
    // The scrape port is chosen with the services' ports, all different.
    let (ports, metrics_port) = Ports::with_spare();
    let mut env = env_for(&iso, &ports);
    env.push((
        "CLOUDSMS_TELEMETRY__PROMETHEUS_LISTEN".into(),
        format!("127.0.0.1:{metrics_port}"),
    ));
    env.push(("CLOUDSMS_TELEMETRY__INSTANCE_ID".into(), "pod-7".into()));
    add_number(&env);
    let all = Proc::spawn("cloudsms", &["all"], &env);
    let client = reqwest::Client::new();
    wait_ready(&client, ports.gateway).await;
    send_and_see(&client, &iso, &ports, "Your code is 314159").await;
    // A page that asks log-retention over gRPC.
    let my_data = client
        .get(format!("http://127.0.0.1:{}/my-data", ports.gateway))
        .header(
            "cookie",
            format!("{}={}", gateway::VISITOR_COOKIE, "ab".repeat(16)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(my_data.status(), 200);
    // The gate's challenge: captcha outcomes.
    pass_the_gate(&client, &ports).await;
    // An event no handler can read: dead-lettered at once.
    let nats = async_nats::connect(iso.settings.nats.servers())
        .await
        .unwrap();
    let js = async_nats::jetstream::new(nats);
    js.publish(
        format!("{}.sms.received.x", iso.settings.bus.prefix),
        bytes::Bytes::from_static(b"\xff\xff not protobuf"),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let text = scrape_until(&client, &url, "the dead letter and the first sweep", |t| {
        t.contains("cloudsms_bus_dead_lettered_total")
            && t.contains("cloudsms_retention_sweep_duration_seconds_bucket")
    })
    .await;
    // Durations: the semantic conventions' buckets, not the SDK's 0..10000.
    for bound in ["0.005", "0.1", "2.5", "10"] {
        assert!(
            text.lines().any(|l| {
                l.starts_with("http_server_request_duration_seconds_bucket")
                    && l.contains(&format!("le=\"{bound}\""))
            }),
            "no le={bound} bucket:\n{text}"
        );
    }
    assert!(
        !text
            .lines()
            .any(|l| l.contains("_seconds_bucket") && l.contains("le=\"5000\"")),
        "SDK default buckets left:\n{text}"
    );
    for series in [
        "cloudsms_ingest_webhooks_total",
        "cloudsms_persister_batch_size_bucket",
        "cloudsms_bus_consumer_lag_seconds_bucket",
        "cloudsms_bus_consumer_pending",
        "cloudsms_retention_sweep_duration_seconds_bucket",
        "rpc_server_call_duration_seconds_bucket",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(series)),
            "{series} missing:\n{text}"
        );
    }
    // Every series the shipped dashboards and alerts query exists.
    let queried = queried_series();
    assert!(queried.len() >= 10, "{queried:?}");
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"),
    )
    .unwrap();
    for name in &queried {
        if let Some((_, documented)) = ON_EVENT_ONLY.iter().find(|(n, _)| n == name) {
            assert!(docs.contains(documented), "{documented} is not documented");
            continue;
        }
        assert!(
            text.lines().any(|l| l.starts_with(name.as_str())),
            "deploy/ queries {name}, which the services do not serve:\n{text}"
        );
    }
    let target = text
        .lines()
        .find(|l| l.starts_with("target_info"))
        .unwrap_or_default();
    assert!(target.contains("service_instance_id=\"pod-7\""), "{target}");
    all.terminate();
    iso.cleanup().await;
}
