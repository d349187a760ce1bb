//! NATS goes away: webhooks get 503 (so providers retry) instead of a 2xx for
//! something we could not keep, readiness says so, and once NATS is back the
//! retried message is stored and shown once.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cloudsms_tests::{Isolation, Mode, TestApp, wait_until, wait_until_blocking};

const NUMBER: &str = "+33639981234";

struct NatsServer {
    child: Child,
}

impl NatsServer {
    fn start(port: u16, store: &std::path::Path) -> Self {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on PATH (make services installs it)");
        wait_until_blocking("nats-server to start", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Self { child }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_outage_answers_503_and_the_retry_lands_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(port, store.path());
    let iso = Isolation::with_overrides(
        Mode::Distributed,
        &format!("nats.url = \"nats://127.0.0.1:{port}\"\n[bus]\npublish_timeout_secs = 1\n"),
    )
    .await;
    let app = TestApp::spawn_isolated(iso, Mode::Distributed, true).await;
    app.add_number(NUMBER).await;
    app.accept_sms(NUMBER, "Bank", "before the outage", "o-1")
        .await;
    app.wait_for_page(NUMBER, "before the outage").await;

    nats.kill();
    let hook = app.signed(&TestApp::sms_json(
        NUMBER,
        "Bank",
        "during the outage",
        "o-2",
    ));
    let resp = app.post(&hook).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(
        err["error"].as_str().unwrap().contains("retry later"),
        "{err}"
    );

    let body: serde_json::Value = wait_until(
        "readyz to answer 503 without NATS",
        Duration::from_secs(15),
        async || {
            let resp =
                cloudsms_tests::send(app.client.get(format!("{}/readyz", app.ingest_url))).await;
            match resp.status().as_u16() {
                503 => Ok(resp.json().await.unwrap()),
                status => Err(status),
            }
        },
    )
    .await;
    assert_eq!(body["checks"]["bus"], false);

    // The provider retries (same id, fresh signature) until we accept.
    let _nats = NatsServer::start(port, store.path());
    wait_until(
        "webhooks accepted again after NATS came back",
        Duration::from_secs(30),
        async || match app.post(&app.signed(&hook.body)).await.status().as_u16() {
            202 => Ok(()),
            status => Err(status),
        },
    )
    .await;
    app.assert_shown_once(NUMBER, "during the outage", "during the outage", 2)
        .await;
    app.stop().await;
}
