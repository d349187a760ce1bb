//! The shipped binaries, as separate processes: the four services against
//! NATS, Redis and Postgres, and `cloudsms all --demo` on embedded defaults.
//! Each must become ready, carry an SMS to the page and exit cleanly on SIGTERM.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cloudsms_tests::{Isolation, Mode, TestApp};

const NUMBER: &str = "+61491570156";

fn bin(name: &str) -> PathBuf {
    // target/<profile>/deps/it-<hash> -> target/<profile>/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Ports {
    gateway: u16,
    ingest: u16,
    ingest_grpc: u16,
    captcha: u16,
    captcha_grpc: u16,
    retention: u16,
    retention_grpc: u16,
}

impl Ports {
    fn new() -> Self {
        Self {
            gateway: free_port(),
            ingest: free_port(),
            ingest_grpc: free_port(),
            captcha: free_port(),
            captcha_grpc: free_port(),
            retention: free_port(),
            retention_grpc: free_port(),
        }
    }
}

fn env_for(iso: &Isolation, ports: &Ports) -> Vec<(String, String)> {
    let s = &iso.settings;
    let mut env = vec![
        (
            "CLOUDSMS_DATA_DIR".into(),
            iso.dir.path().display().to_string(),
        ),
        ("CLOUDSMS_DATABASE__URL".into(), s.database_url()),
        ("CLOUDSMS_BUS__PREFIX".into(), s.bus.prefix.clone()),
        ("CLOUDSMS_BUS__ACK_WAIT_SECS".into(), "2".into()),
        (
            "CLOUDSMS_CACHE__KEY_PREFIX".into(),
            s.cache.key_prefix.clone(),
        ),
        (
            "CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET".into(),
            s.ingest.providers.generic.secret.clone(),
        ),
        (
            "CLOUDSMS_GATEWAY__LISTEN".into(),
            format!("127.0.0.1:{}", ports.gateway),
        ),
        (
            "CLOUDSMS_INGEST__LISTEN".into(),
            format!("127.0.0.1:{}", ports.ingest),
        ),
        (
            "CLOUDSMS_INGEST__GRPC_LISTEN".into(),
            format!("127.0.0.1:{}", ports.ingest_grpc),
        ),
        (
            "CLOUDSMS_CAPTCHA__LISTEN".into(),
            format!("127.0.0.1:{}", ports.captcha),
        ),
        (
            "CLOUDSMS_CAPTCHA__GRPC_LISTEN".into(),
            format!("127.0.0.1:{}", ports.captcha_grpc),
        ),
        (
            "CLOUDSMS_RETENTION__LISTEN".into(),
            format!("127.0.0.1:{}", ports.retention),
        ),
        (
            "CLOUDSMS_RETENTION__GRPC_LISTEN".into(),
            format!("127.0.0.1:{}", ports.retention_grpc),
        ),
        ("RUST_LOG".into(), "warn".into()),
    ];
    if !s.nats.url.is_empty() {
        env.push(("CLOUDSMS_NATS__URL".into(), s.nats.url.clone()));
        env.push(("CLOUDSMS_REDIS__URL".into(), s.redis.url.clone()));
    }
    env
}

fn command(name: &str, args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(bin(name));
    cmd.args(args).current_dir(env[0].1.clone());
    for (key, _) in std::env::vars() {
        if key.starts_with("CLOUDSMS_") || key.starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    fn spawn(name: &str, args: &[&str], env: &[(String, String)]) -> Self {
        let child = command(name, args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Self {
            name: format!("{name} {}", args.join(" ")),
            child,
        }
    }

    /// SIGTERM, then the exit status must be success within 20 s.
    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{} exited with {status} after SIGTERM",
                    self.name
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{} did not stop within 20 s of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    let url = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(resp) = client.get(&url).send().await
            && resp.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} not ready after 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send_and_see(client: &reqwest::Client, iso: &Isolation, ports: &Ports, text: &str) {
    let body = TestApp::sms_json(NUMBER, "Discord", text, &uuid::Uuid::new_v4().to_string());
    let ts = chrono::Utc::now().timestamp();
    let signature = message_ingest::providers::generic::sign(
        &iso.settings.ingest.providers.generic.secret,
        ts,
        body.as_bytes(),
    );
    let resp = client
        .post(format!(
            "http://127.0.0.1:{}/webhooks/generic",
            ports.ingest
        ))
        .header("content-type", "application/json")
        .header("x-cloudsms-timestamp", ts.to_string())
        .header("x-cloudsms-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let page = format!("http://127.0.0.1:{}/numbers/{NUMBER}", ports.gateway);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let html = client
            .get(&page)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if html.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} not on {page} after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn add_number(env: &[(String, String)]) {
    let out = command(
        "cloudsms",
        &["numbers", "add", NUMBER, "--label", "test"],
        env,
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("added +61491570156 (Australia)"));
    let out = command("cloudsms", &["numbers", "list"], env)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(NUMBER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_service_processes_carry_an_sms_to_the_page_and_stop_on_sigterm() {
    let iso = Isolation::new(Mode::Distributed).await;
    let ports = Ports::new();
    let env = env_for(&iso, &ports);
    add_number(&env);
    let procs = [
        Proc::spawn("message-ingest", &[], &env),
        Proc::spawn("gateway", &[], &env),
        Proc::spawn("captcha-verification", &[], &env),
        Proc::spawn("log-retention", &[], &env),
    ];
    let client = reqwest::Client::new();
    for port in [ports.ingest, ports.gateway, ports.captcha, ports.retention] {
        wait_ready(&client, port).await;
    }
    send_and_see(
        &client,
        &iso,
        &ports,
        "Your Discord verification code is: 918273",
    )
    .await;
    for proc in procs {
        proc.terminate();
    }
    iso.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_in_one_demo_serves_a_living_site_and_stops_on_sigterm() {
    let iso = Isolation::new(Mode::Embedded).await;
    let ports = Ports::new();
    let env = env_for(&iso, &ports);
    add_number(&env);
    let all = Proc::spawn("cloudsms", &["all", "--demo"], &env);
    let client = reqwest::Client::new();
    wait_ready(&client, ports.gateway).await;
    send_and_see(
        &client,
        &iso,
        &ports,
        "Your Discord verification code is: 564738",
    )
    .await;
    // The demo feeds its own numbers through the same webhook path.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let home = client
            .get(format!("http://127.0.0.1:{}/", ports.gateway))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if home.contains("+1 202 555 0143")
            && home.contains("last SMS")
            && home.matches("no SMS yet").count() < 3
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "demo numbers did not fill:\n{home}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    all.terminate();
}
