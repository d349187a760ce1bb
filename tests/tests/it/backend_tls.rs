//! Managed backends: Redis over TLS (a CA file, a client certificate, the
//! `#insecure` development form) with a password from the settings, and
//! NATS over TLS with mutual TLS and user/password or NKey credentials, or
//! a `.creds` file against a server in operator mode (JWTs made here), each
//! against a local server started with a throwaway CA.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cloudsms_tests::pki::Pki;
use cloudsms_tests::wait_until;
use proto::events::v1::{MessageStored, RequestLogged};

use crate::processes::free_port;

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something listens on `port` (20 s at most).
async fn listening(port: u16) {
    wait_until(
        format_args!("something on port {port}"),
        Duration::from_secs(20),
        async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
}

/// `redis-server` with TLS only on a free port, a password, and client
/// certificates optional (so the CA and `#insecure` paths can both be tried).
async fn redis_tls(pki: &Pki, dir: &Path) -> (Server, u16) {
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", "0", "--tls-port", &port.to_string()])
        .arg("--tls-cert-file")
        .arg(&pki.server_cert)
        .arg("--tls-key-file")
        .arg(&pki.server_key)
        .arg("--tls-ca-cert-file")
        .arg(&pki.ca)
        .args(["--tls-auth-clients", "optional"])
        .args(["--requirepass", "redis-test-password"])
        .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("redis-server (Debian's is built with TLS)");
    listening(port).await;
    (Server(child), port)
}

async fn redis_cache(
    url: String,
    configure: impl FnOnce(&mut config::RedisSettings),
) -> Result<cache::RedisCache, cache::CacheError> {
    let settings = config::Settings::defaults().unwrap();
    let mut redis = settings.redis.clone();
    redis.url = url;
    configure(&mut redis);
    tokio::time::timeout(
        Duration::from_secs(10),
        cache::RedisCache::connect(&redis, &settings.cache),
    )
    .await
    .expect("connect answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_tls_with_a_ca_a_client_certificate_and_a_password() {
    use cache::HotCache as _;
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let (_server, port) = redis_tls(&pki, dir.path()).await;
    let url = format!("rediss://localhost:{port}");
    let password = |r: &mut config::RedisSettings| r.password = "redis-test-password".into();

    // The CA and a client certificate, the password from the settings.
    let cache = redis_cache(url.clone(), |r| {
        password(r);
        r.ca_file = pki.ca.display().to_string();
        r.cert_file = pki.client_cert.display().to_string();
        r.key_file = pki.client_key.display().to_string();
    })
    .await
    .unwrap();
    assert!(cache.ping().await);
    let message = MessageStored {
        id: 7,
        number: "+447700900123".into(),
        body: "over TLS".into(),
        ..Default::default()
    };
    cache
        .fill(
            cache::HotList::Number(&message.number),
            std::slice::from_ref(&message),
        )
        .await
        .unwrap();
    let read = cache
        .recent(cache::HotList::Number(&message.number))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read[0].body, "over TLS");

    // The CA alone (no client certificate) is enough for this server.
    let cache = redis_cache(url.clone(), |r| {
        password(r);
        r.ca_file = pki.ca.display().to_string();
    })
    .await
    .unwrap();
    assert!(cache.ping().await);

    // The development form skips the certificate check.
    let cache = redis_cache(format!("{url}/#insecure"), password)
        .await
        .unwrap();
    assert!(cache.ping().await);

    // Without the CA the server's certificate is not trusted; without the
    // password the server refuses.
    assert!(redis_cache(url.clone(), password).await.is_err());
    let no_password = redis_cache(url, |r| r.ca_file = pki.ca.display().to_string()).await;
    assert!(
        no_password.is_err() || !no_password.unwrap().ping().await,
        "a server with a password let us in without it"
    );
}

/// `nats-server` with JetStream, TLS that verifies client certificates, and
/// two users: one with a password, one with `nkey`.
async fn nats_tls(pki: &Pki, dir: &Path, nkey: &str) -> (Server, u16) {
    let port = free_port();
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\n\
             jetstream {{ store_dir: \"{store}\" }}\n\
             tls {{ cert_file: \"{cert}\", key_file: \"{key}\", ca_file: \"{ca}\", verify: true }}\n\
             authorization {{ users = [\n\
               {{ user: \"cloudsms\", password: \"nats-test-password\" }},\n\
               {{ nkey: \"{nkey}\" }}\n\
             ] }}\n",
            store = dir.join("js").display(),
            cert = pki.server_cert.display(),
            key = pki.server_key.display(),
            ca = pki.ca.display(),
        ),
    )
    .unwrap();
    let child = Command::new("nats-server")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server");
    listening(port).await;
    (Server(child), port)
}

/// Settings for a bus on `port` over TLS with the client certificate;
/// `configure` adds the credentials.
fn nats_settings(
    pki: &Pki,
    port: u16,
    configure: impl FnOnce(&mut config::NatsSettings),
) -> config::Settings {
    let mut settings = config::Settings::defaults().unwrap();
    settings.nats.url = format!("tls://localhost:{port}");
    settings.nats.ca_file = pki.ca.display().to_string();
    settings.nats.cert_file = pki.client_cert.display().to_string();
    settings.nats.key_file = pki.client_key.display().to_string();
    settings.bus.prefix = format!("tls{}", uuid::Uuid::new_v4().simple());
    configure(&mut settings.nats);
    settings
}

/// A durable publish and its delivery to a consumer, over `settings`.
async fn round_trip(settings: &config::Settings) {
    let bus = tokio::time::timeout(Duration::from_secs(10), bus::Bus::connect(settings))
        .await
        .expect("connect answers")
        .unwrap();
    let event = RequestLogged {
        event_id: "over-tls".into(),
        path: "/".into(),
        ..Default::default()
    };
    bus.publish(&event).await.unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let consumer = tokio::spawn({
        let (bus, seen, stop) = (bus.clone(), seen.clone(), stop.clone());
        async move {
            bus.run_batch_consumer(
                bus::StreamKind::Logs,
                "tls-test",
                "logs.>",
                bus::BatchOptions {
                    max_messages: 10,
                    max_wait: Duration::ZERO,
                    max_bytes: 1 << 20,
                },
                stop,
                move |batch| {
                    let seen = seen.clone();
                    async move {
                        seen.lock()
                            .unwrap()
                            .extend(batch.iter().map(|m| m.subject.clone()));
                        batch.iter().map(|_| Ok(())).collect()
                    }
                },
            )
            .await
        }
    });
    wait_until(
        "the event to come back",
        Duration::from_secs(10),
        async || !seen.lock().unwrap().is_empty(),
    )
    .await;
    stop.cancel();
    consumer.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_over_mutual_tls_with_a_password_or_an_nkey() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let user = nkeys::KeyPair::new_user();
    let (_server, port) = nats_tls(&pki, dir.path(), &user.public_key()).await;

    round_trip(&nats_settings(&pki, port, |n| {
        n.user = "cloudsms".into();
        n.password = "nats-test-password".into();
    }))
    .await;
    round_trip(&nats_settings(&pki, port, |n| {
        n.nkey_seed = user.seed().unwrap().as_str().into();
    }))
    .await;

    // A wrong password, or no client certificate, is refused, and the error
    // names the server without any credentials.
    let wrong = nats_settings(&pki, port, |n| {
        n.user = "cloudsms".into();
        n.password = "wrong".into();
    });
    let err = bus::Bus::connect(&wrong).await.err().expect("refused");
    assert!(!err.to_string().contains("wrong"), "{err}");
    let mut anonymous = nats_settings(&pki, port, |n| {
        n.user = "cloudsms".into();
        n.password = "nats-test-password".into();
    });
    anonymous.nats.cert_file.clear();
    anonymous.nats.key_file.clear();
    assert!(bus::Bus::connect(&anonymous).await.is_err());
}

/// A JWT of `claims` for `subject`, signed by `issuer` (the NATS JWT v2
/// format: ed25519-nkey over `<header>.<claims>`, base64url without padding).
fn nats_jwt(issuer: &nkeys::KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = serde_json::json!({
        "jti": uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
        "iat": chrono::Utc::now().timestamp(),
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let claims = b64.encode(claims.to_string());
    let signature = issuer
        .sign(format!("{header}.{claims}").as_bytes())
        .unwrap();
    format!("{header}.{claims}.{}", b64.encode(signature))
}

/// A `.creds` file, as `nsc` writes it.
fn creds_file(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_over_tls_with_a_creds_file_in_operator_mode() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    // An operator, an account with JetStream, a user of that account.
    let operator = nkeys::KeyPair::new_operator();
    let account = nkeys::KeyPair::new_account();
    let system = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let operator_jwt = nats_jwt(
        &operator,
        &operator.public_key(),
        "test-operator",
        serde_json::json!({
            "type": "operator", "version": 2,
            "system_account": system.public_key(),
        }),
    );
    // JetStream needs the server's system account.
    let system_jwt = nats_jwt(
        &operator,
        &system.public_key(),
        "SYS",
        serde_json::json!({ "type": "account", "version": 2 }),
    );
    let unlimited = serde_json::json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
        "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1,
    });
    let account_jwt = nats_jwt(
        &operator,
        &account.public_key(),
        "cloudsms",
        serde_json::json!({ "type": "account", "version": 2, "limits": unlimited }),
    );
    let user_jwt = nats_jwt(
        &account,
        &user.public_key(),
        "cloudsms",
        serde_json::json!({
            "type": "user", "version": 2,
            "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
        }),
    );
    let port = free_port();
    let conf = dir.path().join("operator.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\n\
             operator: {operator_jwt}\n\
             resolver: MEMORY\n\
             system_account: {system_pub}\n\
             resolver_preload: {{ {account_pub}: {account_jwt}, {system_pub}: {system_jwt} }}\n\
             jetstream {{ store_dir: \"{store}\" }}\n\
             tls {{ cert_file: \"{cert}\", key_file: \"{key}\" }}\n",
            account_pub = account.public_key(),
            system_pub = system.public_key(),
            store = dir.path().join("js-operator").display(),
            cert = pki.server_cert.display(),
            key = pki.server_key.display(),
        ),
    )
    .unwrap();
    let _server = Server(
        Command::new("nats-server")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server"),
    );
    listening(port).await;
    let creds = dir.path().join("cloudsms.creds");
    std::fs::write(&creds, creds_file(&user_jwt, &user.seed().unwrap())).unwrap();
    let mut settings = config::Settings::defaults().unwrap();
    settings.nats.url = format!("tls://localhost:{port}");
    settings.nats.ca_file = pki.ca.display().to_string();
    settings.nats.creds_file = creds.display().to_string();
    settings.bus.prefix = format!("creds{}", uuid::Uuid::new_v4().simple());
    round_trip(&settings).await;
    // Another user's creds (signed by no known account) are refused.
    let stranger = nkeys::KeyPair::new_user();
    let stranger_jwt = nats_jwt(
        &nkeys::KeyPair::new_account(),
        &stranger.public_key(),
        "stranger",
        serde_json::json!({ "type": "user", "version": 2 }),
    );
    std::fs::write(&creds, creds_file(&stranger_jwt, &stranger.seed().unwrap())).unwrap();
    assert!(bus::Bus::connect(&settings).await.is_err());
}
