//! The life of a service process, on the shipped binaries: a rolling update
//! loses nothing (on SIGTERM readiness fails at once, webhooks are still
//! accepted for the drain delay, and every accepted one is stored once), and
//! a service whose backends are not reachable yet waits for them, alive and
//! not ready, instead of exiting; captcha-verification, which keeps nothing
//! in the database, does not wait for it, nor log-retention for Redis.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudsms_tests::{Isolation, Mode, TestApp, json, wait_until};
use tokio::net::TcpListener;

use crate::processes::{NUMBER, Ports, Proc, add_number, env_for, wait_ready};

/// One signed generic webhook to the ingest port: its id and the status
/// (`None` when no answer came: refused or cut).
async fn send_webhook(client: &reqwest::Client, secret: &str, port: u16, id: &str) -> Option<u16> {
    let body = TestApp::sms_json(NUMBER, "Bank", &format!("drain {id}"), id);
    let ts = chrono::Utc::now().timestamp();
    let signature = message_ingest::providers::generic::sign(secret, ts, body.as_bytes());
    client
        .post(format!("http://127.0.0.1:{port}/webhooks/generic"))
        .header("content-type", "application/json")
        .header("x-cloudsms-timestamp", ts.to_string())
        .header("x-cloudsms-signature", signature)
        .body(body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_ingest_keeps_accepting_until_it_stops_and_loses_nothing() {
    let iso = Isolation::new(Mode::Distributed).await;
    let ports = Ports::new();
    let mut env = env_for(&iso, &ports);
    env.push(("CLOUDSMS_INGEST__SHUTDOWN_DELAY_SECS".into(), "2".into()));
    add_number(&env);
    let client = reqwest::Client::new();
    let mut ingest = Proc::spawn("message-ingest", &[], &env);
    wait_ready(&client, ports.ingest).await;

    // A steady stream of webhooks, each with the time it was answered.
    type Sent = Vec<(String, Option<u16>, Instant)>;
    let sent: Arc<Mutex<Sent>> = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let sender = tokio::spawn({
        let (client, sent, stop, secret) = (
            client.clone(),
            sent.clone(),
            stop.clone(),
            iso.settings.ingest.providers.generic.secret.clone(),
        );
        let port = ports.ingest;
        async move {
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let id = format!("drain-{n}");
                let status = send_webhook(&client, &secret, port, &id).await;
                sent.lock().unwrap().push((id, status, Instant::now()));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    ingest.signal_term();
    // Not ready at once, while it still serves.
    let readyz = format!("http://127.0.0.1:{}/readyz", ports.ingest);
    let not_ready = loop {
        let status = client
            .get(&readyz)
            .send()
            .await
            .map(|r| r.status().as_u16());
        if let Ok(503) = status {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "/readyz still {status:?} after the drain delay began"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(not_ready < Duration::from_secs(2), "{not_ready:?}");
    while ingest.running() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ingest.wait_success();
    stop.cancel();
    sender.await.unwrap();

    let sent = sent.lock().unwrap().clone();
    // During the delay every webhook was accepted.
    let in_delay: Vec<_> = sent
        .iter()
        .filter(|(_, _, at)| {
            *at > signalled + Duration::from_millis(100)
                && *at < signalled + Duration::from_millis(1800)
        })
        .collect();
    assert!(
        in_delay.len() >= 10,
        "{} webhooks in the delay",
        in_delay.len()
    );
    assert!(
        in_delay.iter().all(|(_, status, _)| *status == Some(202)),
        "{in_delay:?}"
    );
    // Everything accepted is stored once, by the next replica's persister.
    let accepted: HashSet<String> = sent
        .iter()
        .filter(|(_, status, _)| *status == Some(202))
        .map(|(id, ..)| id.clone())
        .collect();
    assert!(accepted.len() > in_delay.len());
    let next = Proc::spawn("message-ingest", &[], &env);
    // Ready (its signal handler installed) before it is stopped below.
    wait_ready(&client, ports.ingest).await;
    let store = store::Store::connect(&iso.settings.database_url(), 2)
        .await
        .unwrap();
    wait_until(
        "every accepted webhook to be stored",
        Duration::from_secs(30),
        async || {
            let rows = store.recent_messages(NUMBER, 100_000, None).await.unwrap();
            let ids: Vec<&str> = rows
                .iter()
                .map(|r| r.provider_message_id.as_str())
                .collect();
            let unique: HashSet<&str> = ids.iter().copied().collect();
            assert_eq!(unique.len(), ids.len(), "a message stored twice");
            let stored = accepted
                .iter()
                .filter(|id| unique.contains(id.as_str()))
                .count();
            if stored == accepted.len() {
                Ok(())
            } else {
                Err(format!("{stored} of {} stored", accepted.len()))
            }
        },
    )
    .await;
    next.terminate();
    iso.cleanup().await;
}

/// Forwards every connection on `listener` to `target` (the database),
/// from when it is called.
async fn forward(listener: TcpListener, target: &'static str) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// The test database's URL on `port`, where nothing listens yet.
fn unreachable_database(iso: &Isolation, port: u16) -> String {
    let real = iso.settings.database_url();
    let (_, db_name) = real.rsplit_once('/').unwrap();
    format!("postgres://postgres@127.0.0.1:{port}/{db_name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_waits_for_its_database_alive_and_not_ready() {
    let iso = Isolation::new(Mode::Distributed).await;
    let (ports, database_port) = Ports::with_spare();
    let mut env = env_for(&iso, &ports);
    env.push((
        "CLOUDSMS_DATABASE__URL".into(),
        unreachable_database(&iso, database_port),
    ));
    let mut retention = Proc::spawn("log-retention", &[], &env);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", ports.retention);
    wait_until("/healthz to answer", Duration::from_secs(20), async || {
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    for _ in 0..3 {
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        assert!(ready.text().await.unwrap().contains("starting"));
        assert!(
            retention.running(),
            "the service exited without its database"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // The database comes up: the service becomes ready by itself.
    let listener = TcpListener::bind(("127.0.0.1", database_port))
        .await
        .unwrap();
    let proxy = tokio::spawn(forward(listener, "127.0.0.1:5432"));
    wait_ready(&client, ports.retention).await;
    retention.terminate();
    proxy.abort();
    iso.cleanup().await;
}

/// captcha-verification keeps nothing in the database: with Postgres
/// unreachable it becomes ready, and a solved challenge is redeemed and
/// verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captcha_verification_needs_no_database() {
    use captcha_verification::pow::{self, Challenge};
    let iso = Isolation::new(Mode::Distributed).await;
    let (ports, database_port) = Ports::with_spare();
    let mut env = env_for(&iso, &ports);
    env.push((
        "CLOUDSMS_DATABASE__URL".into(),
        unreachable_database(&iso, database_port),
    ));
    let config = iso.dir.path().join("captcha.toml");
    std::fs::write(
        &config,
        "[captcha]\nhmac_key = \"a-test-key-of-enough-length-0123456789\"\n\
         [[captcha.sites]]\nsite_key = \"site-a\"\nsecret = \"site-secret-1234\"\n\
         hostnames = [\"example.org\"]\n",
    )
    .unwrap();
    let captcha = Proc::spawn(
        "captcha-verification",
        &["--config", config.to_str().unwrap()],
        &env,
    );
    let client = reqwest::Client::new();
    wait_ready(&client, ports.captcha).await;
    let base = format!("http://127.0.0.1:{}", ports.captcha);
    let challenge: Challenge =
        json(client.get(format!("{base}/challenge?sitekey=site-a&action=login"))).await;
    let payload = pow::encode_payload(&challenge, pow::solve(&challenge).unwrap());
    let redeemed: serde_json::Value = json(
        client
            .post(format!("{base}/redeem"))
            .header("origin", "https://example.org")
            .json(&serde_json::json!({ "payload": payload, "sitekey": "site-a" })),
    )
    .await;
    assert_eq!(redeemed["ok"], true, "{redeemed}");
    let token = redeemed["token"].as_str().unwrap();
    let verified: serde_json::Value = json(
        client
            .post(format!("{base}/siteverify"))
            .form(&[("secret", "site-secret-1234"), ("response", token)]),
    )
    .await;
    assert_eq!(verified["success"], true, "{verified}");
    assert_eq!(verified["hostname"], "example.org", "{verified}");
    captcha.terminate();
    iso.cleanup().await;
}

/// log-retention keeps nothing in the hot cache: with Redis unreachable it
/// becomes ready, its readiness checking its database and bus only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_retention_needs_no_redis() {
    let iso = Isolation::new(Mode::Distributed).await;
    let (ports, nowhere) = Ports::with_spare();
    let mut env = env_for(&iso, &ports);
    env.retain(|(key, _)| key != "CLOUDSMS_REDIS__URL");
    env.push((
        "CLOUDSMS_REDIS__URL".into(),
        format!("redis://127.0.0.1:{nowhere}"),
    ));
    let retention = Proc::spawn("log-retention", &[], &env);
    let client = reqwest::Client::new();
    wait_ready(&client, ports.retention).await;
    let ready: serde_json::Value =
        json(client.get(format!("http://127.0.0.1:{}/readyz", ports.retention))).await;
    assert_eq!(ready["checks"]["database"], true, "{ready}");
    assert!(ready["checks"].get("cache").is_none(), "{ready}");
    retention.terminate();
    iso.cleanup().await;
}
