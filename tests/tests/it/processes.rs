//! The shipped binaries, as separate processes: the four services against
//! NATS, Redis and Postgres, and `cloudsms all --demo` on embedded defaults.
//! Each must become ready, carry an SMS to the page and exit cleanly on SIGTERM.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cloudsms_tests::{Isolation, Mode, TestApp, wait_until, wait_until_blocking};

pub(crate) const NUMBER: &str = "+61491570156";

fn bin(name: &str) -> PathBuf {
    cloudsms_tests::binary(name)
}

pub(crate) fn free_port() -> u16 {
    cloudsms_tests::process::free_port().expect("a free port")
}

pub(crate) struct Ports {
    pub(crate) gateway: u16,
    pub(crate) ingest: u16,
    pub(crate) ingest_grpc: u16,
    pub(crate) captcha: u16,
    pub(crate) captcha_grpc: u16,
    pub(crate) retention: u16,
    pub(crate) retention_grpc: u16,
}

impl Ports {
    pub(crate) fn new() -> Self {
        Self::with_spare().0
    }

    /// The service's ports and one more, all different (for a backend the
    /// test starts later on a known port).
    pub(crate) fn with_spare() -> (Self, u16) {
        let [
            gateway,
            ingest,
            ingest_grpc,
            captcha,
            captcha_grpc,
            retention,
            retention_grpc,
            spare,
        ] = cloudsms_tests::process::free_ports().expect("free ports");
        let ports = Self {
            gateway,
            ingest,
            ingest_grpc,
            captcha,
            captcha_grpc,
            retention,
            retention_grpc,
        };
        (ports, spare)
    }
}

pub(crate) fn env_for(iso: &Isolation, ports: &Ports) -> Vec<(String, String)> {
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
        (
            "CLOUDSMS_GATEWAY__GATE__CAPTCHA_URL".into(),
            format!("http://127.0.0.1:{}", ports.captcha_grpc),
        ),
        // These tests poll pages like a script; the gate's own tests cover that.
        (
            "CLOUDSMS_GATEWAY__GATE__CHALLENGE_AUTOMATED".into(),
            "false".into(),
        ),
        ("RUST_LOG".into(), "warn".into()),
    ];
    if !s.nats.url.is_empty() {
        env.push(("CLOUDSMS_NATS__URL".into(), s.nats.url.clone()));
        env.push(("CLOUDSMS_REDIS__URL".into(), s.redis.url.clone()));
    }
    env
}

pub(crate) fn command(name: &str, args: &[&str], env: &[(String, String)]) -> Command {
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

pub(crate) struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    /// A process started elsewhere, killed when dropped like the others.
    pub(crate) fn adopt(name: &str, child: Child) -> Self {
        Self {
            name: name.to_owned(),
            child,
        }
    }

    /// Its process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn spawn(name: &str, args: &[&str], env: &[(String, String)]) -> Self {
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
    pub(crate) fn terminate(self) {
        self.signal_term();
        self.wait_success();
    }

    /// Sends SIGTERM and returns at once.
    pub(crate) fn signal_term(&self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Still running.
    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to exit, successfully, within 20 s.
    pub(crate) fn wait_success(mut self) {
        // On time-out the panic drops `self`, which kills the process.
        let status = wait_until_blocking(
            format!("{} to stop after SIGTERM", self.name),
            Duration::from_secs(20),
            || self.child.try_wait().unwrap(),
        );
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM",
            self.name
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn wait_ready(client: &reqwest::Client, port: u16) {
    let url = format!("http://127.0.0.1:{port}/readyz");
    wait_until(
        format_args!("{url} to be ready"),
        Duration::from_secs(60),
        async || match client.get(&url).send().await {
            Ok(resp) if resp.status() == 200 => Ok(()),
            Ok(resp) => Err(resp.status().to_string()),
            Err(err) => Err(err.to_string()),
        },
    )
    .await;
}

/// The body of `GET url`.
async fn text_of(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Posts a signed generic webhook carrying `text` to the message-ingest
/// listening on `port`; its status.
pub(crate) async fn post_sms(
    client: &reqwest::Client,
    iso: &Isolation,
    port: u16,
    text: &str,
) -> u16 {
    let body = TestApp::sms_json(NUMBER, "Discord", text, &uuid::Uuid::new_v4().to_string());
    let ts = chrono::Utc::now().timestamp();
    let signature = message_ingest::providers::generic::sign(
        &iso.settings.ingest.providers.generic.secret,
        ts,
        body.as_bytes(),
    );
    client
        .post(format!("http://127.0.0.1:{port}/webhooks/generic"))
        .header("content-type", "application/json")
        .header("x-cloudsms-timestamp", ts.to_string())
        .header("x-cloudsms-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub(crate) async fn send_and_see(
    client: &reqwest::Client,
    iso: &Isolation,
    ports: &Ports,
    text: &str,
) {
    assert_eq!(post_sms(client, iso, ports.ingest, text).await, 202);
    let page = format!("http://127.0.0.1:{}/numbers/{NUMBER}", ports.gateway);
    wait_until(
        format_args!("{text:?} on {page}"),
        Duration::from_secs(20),
        async || text_of(client, &page).await.contains(text),
    )
    .await;
}

/// The gateway process gets a challenge from the captcha process over gRPC,
/// and redeems its solution there for a pass cookie.
pub(crate) async fn pass_the_gate(client: &reqwest::Client, ports: &Ports) {
    let gateway = format!("http://127.0.0.1:{}", ports.gateway);
    let response = client
        .post(format!("{gateway}/gate/challenge"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let puzzles: Vec<captcha_verification::pow::Challenge> =
        serde_json::from_value(body["puzzles"].clone()).unwrap();
    let payloads: Vec<String> = puzzles
        .iter()
        .map(|puzzle| {
            assert!(puzzle.salt.contains("site=cloudsms-gate&"));
            let number = captcha_verification::pow::solve(puzzle).unwrap();
            captcha_verification::pow::encode_payload(puzzle, number)
        })
        .collect();
    let response = client
        .post(format!("{gateway}/gate/pass"))
        .json(&serde_json::json!({ "payloads": payloads }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("cloudsms_pass=v1.s."))
    );
}

/// The four services as separate processes, each ready: ingest, gateway,
/// captcha-verification, log-retention.
pub(crate) async fn spawn_four(
    env: &[(String, String)],
    ports: &Ports,
    client: &reqwest::Client,
) -> [Proc; 4] {
    let procs = [
        Proc::spawn("message-ingest", &[], env),
        Proc::spawn("gateway", &[], env),
        Proc::spawn("captcha-verification", &[], env),
        Proc::spawn("log-retention", &[], env),
    ];
    for port in [ports.ingest, ports.gateway, ports.captcha, ports.retention] {
        wait_ready(client, port).await;
    }
    procs
}

pub(crate) fn add_number(env: &[(String, String)]) {
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
    let client = reqwest::Client::new();
    let procs = spawn_four(&env, &ports, &client).await;
    send_and_see(
        &client,
        &iso,
        &ports,
        "Your Discord verification code is: 918273",
    )
    .await;
    pass_the_gate(&client, &ports).await;
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
    wait_until(
        "the demo numbers to fill",
        Duration::from_secs(30),
        async || {
            let home = text_of(&client, &format!("http://127.0.0.1:{}/", ports.gateway)).await;
            if home.contains("+1 202-555-0143")
                && home.contains("last SMS")
                && home.matches("no SMS yet").count() < 3
            {
                Ok(())
            } else {
                Err(format!("\n{home}"))
            }
        },
    )
    .await;
    all.terminate();
}
