//! Traces and metrics across the shipped binaries, through a real OTLP
//! receiver (tests/oracles/otlp_receiver.py): one SMS is one trace from the
//! webhook to the gateway's live push, one page request one trace through
//! three services; a 5xx and a failed call are error spans; a browser's
//! `traceparent` is linked, not continued; every metric arrives.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cloudsms_tests::{Isolation, Mode, wait_until};

use crate::processes::{
    Ports, Proc, add_number, env_for, free_port, pass_the_gate, post_sms, send_and_see, spawn_four,
    wait_ready,
};

/// A real OTLP receiver (tests/oracles/otlp_receiver.py) writing JSON lines.
struct Receiver {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Receiver {
    fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, None)
    }

    /// Serving OTLP over TLS with the PKI's server certificate, when given.
    fn start_with(dir: &std::path::Path, tls: Option<&cloudsms_tests::pki::Pki>) -> Self {
        let port = free_port();
        let out = dir.join("otlp.jsonl");
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oracles/otlp_receiver.py");
        let mut command = Command::new(cloudsms_tests::oracle_python());
        command.arg(script).arg(port.to_string()).arg(&out);
        if let Some(pki) = tls {
            command.arg(&pki.server_cert).arg(&pki.server_key);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("oracle python (make oracles)");
        let mut ready = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut ready).unwrap();
        assert_eq!(ready.trim(), "ready");
        Self { child, port, out }
    }

    fn records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The operator token of these tests' gateway.
const ADMIN_TOKEN: &str = "operator-token-traces-0123456789";
/// `Status.code` of an error span.
const ERROR: i64 = 2;

/// Waits (30 s at most) for a span `matches` accepts.
async fn wait_for_span(
    receiver: &Receiver,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    wait_until(
        "the span to be exported",
        Duration::from_secs(30),
        async || {
            receiver
                .records()
                .into_iter()
                .find(|r| r["type"] == "span" && matches(r))
        },
    )
    .await
}

const SERVER: i64 = 2;
const CONSUMER: i64 = 5;
const CLIENT: i64 = 3;
const PRODUCER: i64 = 4;

/// (service, name, kind) of each span from the root down to the leaf.
type Chain = Vec<(String, String, i64)>;

/// Waits (30 s at most) for a span `leaf` whose parents lead, within one
/// trace, up to a root span `root`; returns that chain, root first.
async fn wait_for_chain(
    receiver: &Receiver,
    leaf: (&str, &str, i64),
    root: (&str, &str, i64),
) -> Chain {
    let is = |s: &serde_json::Value, (service, name, kind): (&str, &str, i64)| {
        s["service"] == service && s["name"] == name && s["kind"] == kind
    };
    wait_until(
        format_args!("a trace from {root:?} to {leaf:?}"),
        Duration::from_secs(30),
        async || {
            let spans: Vec<serde_json::Value> = receiver
                .records()
                .into_iter()
                .filter(|r| r["type"] == "span")
                .collect();
            let by_id: std::collections::HashMap<&str, &serde_json::Value> = spans
                .iter()
                .map(|s| (s["span_id"].as_str().unwrap_or_default(), s))
                .collect();
            for start in spans.iter().filter(|s| is(s, leaf)) {
                let mut chain = vec![start];
                while let Some(parent) = chain
                    .last()
                    .and_then(|s| s["parent_span_id"].as_str())
                    .and_then(|id| by_id.get(id))
                {
                    assert_eq!(parent["trace_id"], start["trace_id"], "one trace");
                    chain.push(parent);
                }
                if chain.last().is_some_and(|top| is(top, root)) {
                    return Ok(chain
                        .iter()
                        .rev()
                        .map(|s| {
                            (
                                s["service"].as_str().unwrap_or_default().to_owned(),
                                s["name"].as_str().unwrap_or_default().to_owned(),
                                s["kind"].as_i64().unwrap_or_default(),
                            )
                        })
                        .collect());
                }
            }
            Err(format!(
                "spans: {:#?}",
                spans
                    .iter()
                    .map(|s| (s["service"].clone(), s["name"].clone(), s["kind"].clone()))
                    .collect::<Vec<_>>()
            ))
        },
    )
    .await
}

/// `span` descends from a span `ancestor` (service, name, kind).
fn has_ancestor(
    spans: &[serde_json::Value],
    span: &serde_json::Value,
    ancestor: (&str, &str, i64),
) -> bool {
    let mut current = span;
    for _ in 0..32 {
        let Some(parent) = spans.iter().find(|s| {
            s["span_id"] == current["parent_span_id"] && s["trace_id"] == current["trace_id"]
        }) else {
            return false;
        };
        if parent["service"] == ancestor.0
            && parent["name"] == ancestor.1
            && parent["kind"] == ancestor.2
        {
            return true;
        }
        current = parent;
    }
    false
}

/// `expected` appear in `chain` in this order (other spans may sit between).
fn assert_in_order(chain: &Chain, expected: &[(&str, &str, i64)]) {
    let mut rest = chain.iter();
    for (service, name, kind) in expected {
        assert!(
            rest.any(|(s, n, k)| s == service && n == name && k == kind),
            "{service} {name} ({kind}) missing or out of order in {chain:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_follow_an_sms_and_a_page_request_across_services() {
    let iso = Isolation::new(Mode::Distributed).await;
    let receiver = Receiver::start(iso.dir.path());
    let ports = Ports::new();
    let mut env = env_for(&iso, &ports);
    env.push((
        "CLOUDSMS_TELEMETRY__OTLP_ENDPOINT".into(),
        format!("http://127.0.0.1:{}", receiver.port),
    ));
    env.push(("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()));
    env.push(("CLOUDSMS_GATEWAY__ADMIN_TOKEN".into(), ADMIN_TOKEN.into()));
    env.push(("OTEL_METRIC_EXPORT_INTERVAL".into(), "500".into()));
    add_number(&env);
    let client = reqwest::Client::new();
    let [ingest, gateway, captcha, retention] = spawn_four(&env, &ports, &client).await;
    send_and_see(
        &client,
        &iso,
        &ports,
        "Your Discord verification code is: 271828",
    )
    .await;
    // A page request that reaches two more services: the gateway asks the
    // captcha service for a challenge over gRPC, whose event log-retention
    // stores.
    pass_the_gate(&client, &ports).await;

    // One trace per SMS: the webhook's server span → the JetStream publish →
    // the persister's consumer span → the MessageStored publish → the
    // gateway's live-push span.
    let sms_chain = wait_for_chain(
        &receiver,
        ("gateway", "sms.stored process", CONSUMER),
        ("message-ingest", "POST /webhooks/generic", SERVER),
    )
    .await;
    assert_in_order(
        &sms_chain,
        &[
            ("message-ingest", "POST /webhooks/generic", SERVER),
            ("message-ingest", "publish", PRODUCER),
            ("message-ingest", "sms.received process", CONSUMER),
            ("message-ingest", "publish", PRODUCER),
            ("gateway", "sms.stored process", CONSUMER),
        ],
    );
    let spans: Vec<serde_json::Value> = receiver
        .records()
        .into_iter()
        .filter(|r| r["type"] == "span")
        .collect();
    // Database and Redis calls are client spans (semantic-convention
    // attributes) under the persister's and the page request's spans.
    for (ancestor, call, system) in [
        (
            ("message-ingest", "sms.received process", CONSUMER),
            "INSERT messages",
            "postgresql",
        ),
        (
            ("message-ingest", "sms.received process", CONSUMER),
            "LPUSHX",
            "redis",
        ),
        (
            ("gateway", "GET /numbers/{e164}", SERVER),
            "SELECT numbers",
            "postgresql",
        ),
    ] {
        let found = spans.iter().find(|s| {
            s["name"] == call
                && s["kind"] == CLIENT
                && s["service"] == ancestor.0
                && has_ancestor(&spans, s, ancestor)
        });
        let found = found.unwrap_or_else(|| panic!("no {call} under {ancestor:?}"));
        // The receiver writes attribute values as protobuf text: `string_value: "redis"`.
        let value = found["attributes"]["db.system.name"]
            .as_str()
            .unwrap_or_default();
        assert!(value.contains(&format!("\"{system}\"")), "{found}");
    }
    // One trace per page request across three services: the gateway's
    // server span → its gRPC client span → captcha-verification's server
    // span → its publish of the captcha event → log-retention's consumer span.
    let rpc = "cloudsms.captcha.v1.CaptchaService/IssueChallenge";
    let page_chain = wait_for_chain(
        &receiver,
        ("log-retention", "logs.captchas process", CONSUMER),
        ("gateway", "POST /gate/challenge", SERVER),
    )
    .await;
    assert_in_order(
        &page_chain,
        &[
            ("gateway", "POST /gate/challenge", SERVER),
            ("gateway", rpc, CLIENT),
            ("captcha-verification", rpc, SERVER),
            ("captcha-verification", "publish", PRODUCER),
            ("log-retention", "logs.captchas process", CONSUMER),
        ],
    );
    assert_eq!(
        page_chain[1].1, rpc,
        "the client span is the request's child"
    );
    assert_eq!(
        page_chain[2].0, "captcha-verification",
        "the server span is the client's child"
    );

    // No phone number or message text in any attribute.
    for span in &spans {
        let text = span["attributes"].to_string();
        assert!(
            !text.contains("61491570156") && !text.contains("271828"),
            "{text}"
        );
    }

    // A browser's traceparent is linked from the gateway's span, not
    // continued: a visitor does not pick our trace ids.
    let theirs = "4bf92f3577b34da6a3ce929d0e0e4736";
    let home = client
        .get(format!("http://127.0.0.1:{}/privacy", ports.gateway))
        .header("traceparent", format!("00-{theirs}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    let privacy = wait_for_span(&receiver, |s| {
        s["service"] == "gateway" && s["name"] == "GET /privacy" && s["kind"] == SERVER
    })
    .await;
    assert_ne!(privacy["trace_id"], theirs, "{privacy}");
    assert!(
        privacy["links"]
            .as_array()
            .is_some_and(|links| links.iter().any(|l| l == theirs)),
        "{privacy}"
    );
    // With log-retention gone, the operator's page fails: a 5xx server span
    // and a failed gRPC client span, both marked as errors.
    retention.terminate();
    let stats = client
        .get(format!("http://127.0.0.1:{}/admin/stats", ports.gateway))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 503);
    for (name, kind) in [
        ("GET /admin/stats", SERVER),
        ("cloudsms.retention.v1.StatsService/Stats", CLIENT),
    ] {
        let span = wait_for_span(&receiver, |s| {
            s["service"] == "gateway" && s["name"] == name && s["kind"] == kind
        })
        .await;
        assert_eq!(span["status"], ERROR, "{span}");
    }

    for proc in [ingest, gateway, captcha] {
        proc.terminate();
    }
    // Webhook outcomes are counted (flushed at shutdown at the latest).
    let metrics: Vec<serde_json::Value> = receiver
        .records()
        .into_iter()
        .filter(|r| r["type"] == "metric")
        .collect();
    for (service, name) in [
        ("message-ingest", "cloudsms.ingest.webhooks"),
        ("message-ingest", "http.server.request.duration"),
        ("message-ingest", "cloudsms.bus.consumer_lag"),
        ("gateway", "http.server.request.duration"),
        ("gateway", "rpc.client.call.duration"),
        ("gateway", "cloudsms.cache.lookups"),
        ("captcha-verification", "rpc.server.call.duration"),
        ("captcha-verification", "cloudsms.captcha.outcomes"),
        ("log-retention", "cloudsms.bus.consumer_lag"),
    ] {
        assert!(
            metrics
                .iter()
                .any(|m| m["service"] == service && m["name"] == name),
            "{service} {name} not in {metrics:?}"
        );
    }
    iso.cleanup().await;
}

/// JSON log lines carry the trace and span ids of the request they are
/// about (and a refused webhook's line its provider); with no OTLP endpoint
/// as well, an accepted SMS's lines share one trace id from the webhook to
/// the persister.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_trace_and_span_ids() {
    let iso = Isolation::new(Mode::Embedded).await;
    let ports = Ports::new();
    let mut env = env_for(&iso, &ports);
    env.push(("CLOUDSMS_TELEMETRY__LOG_FORMAT".into(), "json".into()));
    env.push(("RUST_LOG".into(), "info".into()));
    // The webhook's own line ("number auto-registered") beside the persister's.
    env.push((
        "CLOUDSMS_INGEST__AUTO_REGISTER_NUMBERS".into(),
        "true".into(),
    ));
    let log = iso.dir.path().join("ingest.log");
    let mut child = crate::processes::command("message-ingest", &[], &env)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    wait_ready(&client, ports.ingest).await;
    let rejected = client
        .post(format!(
            "http://127.0.0.1:{}/webhooks/generic",
            ports.ingest
        ))
        .header("content-type", "application/json")
        .header(
            "x-cloudsms-timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .header("x-cloudsms-signature", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 401);
    assert_eq!(
        post_sms(&client, &iso, ports.ingest, "code 123456").await,
        202
    );
    let line_of = |message: &str| {
        let text = std::fs::read_to_string(&log).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["fields"]["message"] == message)
    };
    let stored = wait_until(
        "the persister's 'message stored' line",
        Duration::from_secs(20),
        async || line_of("message stored"),
    )
    .await;
    let registered = line_of("number auto-registered").expect("the webhook's line");
    assert!(registered["trace_id"].is_string(), "{registered}");
    assert_eq!(stored["trace_id"], registered["trace_id"], "{stored}");
    assert_ne!(stored["span_id"], registered["span_id"], "{stored}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let line: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "webhook rejected")
        .unwrap_or_else(|| panic!("no 'webhook rejected' line in:\n{text}"));
    let hex = |v: &serde_json::Value, len: usize| {
        v.as_str()
            .is_some_and(|s| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    assert!(hex(&line["trace_id"], 32), "{line}");
    assert!(hex(&line["span_id"], 16), "{line}");
    // The refusal names the provider whose webhook it was.
    assert_eq!(line["fields"]["provider"], "generic", "{line}");
    iso.cleanup().await;
}

/// Spans go to an `https://` collector whose CA is not in the system's
/// roots, given as `telemetry.otlp_ca_file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_https_collector_with_a_private_ca() {
    let iso = Isolation::new(Mode::Embedded).await;
    let pki = cloudsms_tests::pki::Pki::new(iso.dir.path());
    let receiver = Receiver::start_with(iso.dir.path(), Some(&pki));
    let ports = Ports::new();
    let mut env = env_for(&iso, &ports);
    env.push((
        "CLOUDSMS_TELEMETRY__OTLP_ENDPOINT".into(),
        format!("https://localhost:{}", receiver.port),
    ));
    env.push((
        "CLOUDSMS_TELEMETRY__OTLP_CA_FILE".into(),
        pki.ca.display().to_string(),
    ));
    env.push(("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()));
    let gateway = Proc::spawn("gateway", &[], &env);
    let client = reqwest::Client::new();
    wait_ready(&client, ports.gateway).await;
    let privacy = client
        .get(format!("http://127.0.0.1:{}/privacy", ports.gateway))
        .send()
        .await
        .unwrap();
    assert_eq!(privacy.status(), 200);
    wait_for_span(&receiver, |s| {
        s["service"] == "gateway" && s["name"] == "GET /privacy"
    })
    .await;
    gateway.terminate();
    iso.cleanup().await;
}
