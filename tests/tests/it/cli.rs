//! The operator's commands of the `cloudsms` binary, run as processes:
//! `config check`, `healthcheck`, `dlq list|replay|drop` and `numbers`.

use std::collections::HashMap;
use std::process::Output;
use std::time::Duration;

use async_nats::HeaderMap;
use cloudsms_tests::{Isolation, Mode, TestApp, both_modes, wait_until};
use prost::Message;
use proto::events::v1::SmsReceived;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::processes::{NUMBER, command};

/// Runs `cloudsms <args>` with only `env` (the first pair is the data
/// folder, also the working directory) and waits for it.
async fn cloudsms(args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = command("cloudsms", args, env);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

#[track_caller]
fn assert_failure(out: &Output) {
    assert!(
        !out.status.success(),
        "expected a failure\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_owned(), value.into())
}

/// The environment of an operator command against `settings`' backends.
fn env_for(settings: &config::Settings) -> Vec<(String, String)> {
    let mut env = vec![
        pair("CLOUDSMS_DATA_DIR", settings.data_dir.display().to_string()),
        pair("CLOUDSMS_DATABASE__URL", settings.database_url()),
        pair("CLOUDSMS_BUS__PREFIX", settings.bus.prefix.clone()),
        pair("RUST_LOG", "warn"),
    ];
    if !settings.nats.url.is_empty() {
        env.push(pair("CLOUDSMS_NATS__URL", settings.nats.url.clone()));
    }
    env
}

/// Every dotted key of a TOML table (tables included), e.g. `gateway.live.max_streams`.
fn keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        if let toml::Value::Table(inner) = value {
            keys(inner, &format!("{path}."), out);
        }
        out.push(path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_prints_every_key_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.toml");
    std::fs::write(
        &file,
        "[gateway]\npage_size = 42\n[captcha]\nhmac_key = \"file-hmac-s3cret\"\n\
         [[captcha.sites]]\nsite_key = \"public-site\"\nsecret = \"site-s3cret-0123456789\"\nhostnames = []\n",
    )
    .unwrap();
    let env = [
        pair("CLOUDSMS_DATA_DIR", dir.path().display().to_string()),
        pair(
            "CLOUDSMS_DATABASE__URL",
            "postgres://cloudsms:db-pass-s3cret@db.internal:5432/cloudsms",
        ),
        pair(
            "CLOUDSMS_NATS__URL",
            "nats://bus-user:nats-s3cret@nats:4222",
        ),
        pair(
            "CLOUDSMS_INGEST__PROVIDERS__TWILIO__AUTH_TOKEN",
            "twilio-s3cret",
        ),
        pair(
            "CLOUDSMS_INGEST__PROVIDERS__JASMIN__PASSWORD",
            "jasmin-s3cret",
        ),
        pair("CLOUDSMS_GATEWAY__ADMIN_TOKEN", "admin-s3cret"),
        pair("CLOUDSMS_GATEWAY__HSTS", "true"),
    ];
    let out = cloudsms(
        &["--config", &file.display().to_string(), "config", "check"],
        &env,
    )
    .await;
    assert_success(&out);
    let text = stdout(&out);
    assert!(!text.contains("s3cret"), "a secret was printed:\n{text}");
    let printed: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}:\n{text}"));

    // Every key of the defaults, with the value the layers gave it.
    let defaults: toml::Table = config::DEFAULTS_TOML.parse().unwrap();
    let (mut want, mut got) = (Vec::new(), Vec::new());
    keys(&defaults, "", &mut want);
    keys(&printed, "", &mut got);
    let missing: Vec<&String> = want.iter().filter(|k| !got.contains(k)).collect();
    assert!(missing.is_empty(), "keys not printed: {missing:?}");
    let value = |path: &str| -> toml::Value {
        path.split('.')
            .fold(toml::Value::Table(printed.clone()), |v, k| v[k].clone())
    };
    assert_eq!(value("gateway.page_size").as_integer(), Some(42), "file");
    assert_eq!(value("gateway.hsts").as_bool(), Some(true), "environment");
    assert_eq!(value("bus.max_deliver").as_integer(), Some(5), "default");
    assert_eq!(
        value("ingest.providers.twilio.auth_token").as_str(),
        Some("<redacted>")
    );
    assert_eq!(value("captcha.hmac_key").as_str(), Some("<redacted>"));
    assert_eq!(value("gateway.admin_token").as_str(), Some("<redacted>"));
    assert_eq!(
        value("ingest.providers.generic.secret").as_str(),
        Some(""),
        "unset stays empty"
    );
    let sites = value("captcha.sites");
    assert_eq!(sites[0]["site_key"].as_str(), Some("public-site"));
    assert_eq!(sites[0]["secret"].as_str(), Some("<redacted>"));
    let db = value("database.url");
    let db = db.as_str().unwrap();
    assert!(
        db.contains("cloudsms:") && db.contains("@db.internal:5432/cloudsms"),
        "{db}"
    );
    assert!(value("nats.url").as_str().unwrap().ends_with("@nats:4222"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_names_the_key_of_an_invalid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let data = pair("CLOUDSMS_DATA_DIR", dir.path().display().to_string());

    let out = cloudsms(
        &["config", "check"],
        &[data.clone(), pair("CLOUDSMS_GATEWAY__PAGE_SIZE", "0")],
    )
    .await;
    assert_failure(&out);
    assert!(
        stderr(&out).contains("gateway.page_size"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "nothing printed as valid");

    let out = cloudsms(
        &["config", "check"],
        &[data.clone(), pair("CLOUDSMS_GATEWAY__LISTN", "0.0.0.0:1")],
    )
    .await;
    assert_failure(&out);
    assert!(stderr(&out).contains("listn"), "{}", stderr(&out));

    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[bus]\nmax_deliver = \"many\"\n").unwrap();
    let out = cloudsms(
        &["--config", &file.display().to_string(), "config", "check"],
        &[data],
    )
    .await;
    assert_failure(&out);
    assert!(stderr(&out).contains("max_deliver"), "{}", stderr(&out));
}

/// Answers every request with `status` (or never, when `None`).
async fn fixed_server(status: Option<&'static str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/readyz", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                match status {
                    Some(status) => {
                        let response = format!(
                            "HTTP/1.1 {status}\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot ready"
                        );
                        let _ = socket.write_all(response.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_exits_0_on_2xx_and_1_otherwise() {
    let app = TestApp::spawn(Mode::Embedded).await;
    // No configuration is needed, and a broken one does not matter.
    let env = [
        pair(
            "CLOUDSMS_DATA_DIR",
            app.infra.settings.data_dir.display().to_string(),
        ),
        pair("CLOUDSMS_GATEWAY__PAGE_SIZE", "0"),
    ];

    let out = cloudsms(
        &["healthcheck", &format!("{}/healthz", app.gateway_url)],
        &env,
    )
    .await;
    assert_success(&out);
    let out = cloudsms(
        &["healthcheck", &format!("{}/readyz", app.gateway_url)],
        &env,
    )
    .await;
    assert_success(&out);

    let not_found = format!("{}/no-such-page", app.gateway_url);
    let out = cloudsms(&["healthcheck", &not_found], &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));

    let unavailable = fixed_server(Some("503 Service Unavailable")).await;
    let out = cloudsms(&["healthcheck", &unavailable], &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("503"), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim_end().lines().count(), 1, "one line");

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/healthz", listener.local_addr().unwrap())
    };
    let out = cloudsms(&["healthcheck", &closed], &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end().lines().count(),
        1,
        "{}",
        stderr(&out)
    );

    let silent = fixed_server(None).await;
    let out = cloudsms(&["healthcheck", "--timeout", "1", &silent], &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));

    app.stop().await;
}

async fn dlq_json(env: &[(String, String)]) -> Vec<serde_json::Value> {
    let out = cloudsms(&["dlq", "list", "--json"], env).await;
    assert_success(&out);
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
        .as_array()
        .unwrap()
        .clone()
}

/// Polls `dlq list --json` until it holds `count` dead letters.
async fn wait_for_dead_letters(env: &[(String, String)], count: usize) -> Vec<serde_json::Value> {
    wait_until(
        format_args!("{count} dead letters"),
        Duration::from_secs(20),
        async || {
            let listed = dlq_json(env).await;
            if listed.len() == count {
                Ok(listed)
            } else {
                Err(format!("{} dead letters: {listed:?}", listed.len()))
            }
        },
    )
    .await
}

fn seq_of(entry: &serde_json::Value) -> String {
    entry["seq"].as_u64().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_lists_replays_and_drops_dead_letters_on_nats() {
    let app = TestApp::spawn(Mode::Distributed).await;
    app.add_number(NUMBER).await;
    let settings = &app.infra.settings;
    let env = env_for(settings);
    let js =
        async_nats::jetstream::new(async_nats::connect(settings.nats.servers()).await.unwrap());
    let subject = "sms.received.au.61491570156";

    // Dead-lettered for real: the persister cannot decode it.
    js.publish(
        format!("{}.{subject}", settings.bus.prefix),
        b"\xff\xffnot protobuf".as_slice().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let undecodable = wait_for_dead_letters(&env, 1).await.remove(0);
    assert_eq!(undecodable["subject"], subject);
    let reason = undecodable["reason"].as_str().unwrap();
    assert!(reason.contains("undecodable"), "{reason}");

    // A valid event the database once refused, with hostile text.
    let body = format!("Your code is 482913 \u{1b}[2J\u{202e} {}", "x".repeat(300));
    let event = SmsReceived {
        event_id: uuid::Uuid::now_v7().to_string(),
        provider: "generic".into(),
        provider_message_id: "dlq-replay-1".into(),
        to: NUMBER.into(),
        from: "+447700900123".into(),
        body: body.clone(),
        received_at: Some(proto::timestamp_from_unix_millis(
            chrono::Utc::now().timestamp_millis(),
        )),
        accepted_at: Some(proto::timestamp_from_unix_millis(
            chrono::Utc::now().timestamp_millis(),
        )),
        segments: 1,
        country: domain::E164::parse(NUMBER)
            .unwrap()
            .country()
            .iso2
            .to_owned(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "Cloudsms-Dead-Reason",
        "permanent: refused by the database: simulated",
    );
    js.publish_with_headers(
        format!("{}.dlq.{subject}", settings.bus.prefix),
        headers,
        event.encode_to_vec().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    let listed = wait_for_dead_letters(&env, 2).await;
    let refused = listed
        .iter()
        .find(|e| {
            e["type"] == "SmsReceived" && e["summary"].as_str().unwrap().contains("dlq-replay-1")
        })
        .unwrap_or_else(|| panic!("{listed:?}"))
        .clone();
    assert_eq!(refused["subject"], subject);
    assert_eq!(
        refused["reason"],
        "permanent: refused by the database: simulated"
    );
    let summary = refused["summary"].as_str().unwrap();
    assert!(summary.contains("482913"), "{summary}");
    assert!(
        !summary.contains('\u{1b}') && !summary.contains('\u{202e}'),
        "{summary}"
    );
    assert!(!summary.contains(&"x".repeat(100)), "clipped: {summary}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(refused["time"].as_str().unwrap()).is_ok(),
        "{refused}"
    );

    let out = cloudsms(&["dlq", "list"], &env).await;
    assert_success(&out);
    let text = stdout(&out);
    for entry in [&undecodable, &refused] {
        assert!(text.contains(&seq_of(entry)), "{text}");
    }
    assert!(
        text.contains(subject) && text.contains("undecodable"),
        "{text}"
    );
    assert!(text.contains("482913"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains(&"x".repeat(100)),
        "{text}"
    );

    // Replayed: consumed again by the persister, stored, and out of the DLQ.
    let out = cloudsms(&["dlq", "replay", &seq_of(&refused)], &env).await;
    assert_success(&out);
    let row = app.wait_for_provider_message(NUMBER, "dlq-replay-1").await;
    assert_eq!(row.body, body);
    let left = dlq_json(&env).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["seq"], undecodable["seq"]);
    let out = cloudsms(&["dlq", "replay", &seq_of(&refused)], &env).await;
    assert_failure(&out);
    assert!(stderr(&out).contains(&seq_of(&refused)), "{}", stderr(&out));

    let out = cloudsms(&["dlq", "drop", &seq_of(&undecodable)], &env).await;
    assert_success(&out);
    assert!(dlq_json(&env).await.is_empty());
    let out = cloudsms(&["dlq", "drop", &seq_of(&undecodable)], &env).await;
    assert_failure(&out);
    assert!(stderr(&out).contains("no dead letter"), "{}", stderr(&out));

    // `--all`: every dead letter at once.
    for n in 0..3 {
        js.publish(
            format!("{}.dlq.logs.requests", settings.bus.prefix),
            vec![n].into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    }
    assert_eq!(wait_for_dead_letters(&env, 3).await.len(), 3);
    let out = cloudsms(&["dlq", "drop", "--all"], &env).await;
    assert_success(&out);
    assert!(dlq_json(&env).await.is_empty());
    let out = cloudsms(&["dlq", "list"], &env).await;
    assert_success(&out);
    assert!(stdout(&out).contains("no dead letters"), "{}", stdout(&out));

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_says_the_embedded_bus_cannot_be_reached() {
    let iso = Isolation::new(Mode::Embedded).await;
    let out = cloudsms(&["dlq", "list"], &env_for(&iso.settings)).await;
    assert_failure(&out);
    assert!(stderr(&out).contains("in-process"), "{}", stderr(&out));
    assert!(stderr(&out).contains("nats.url"), "{}", stderr(&out));
}

async fn numbers_json(
    env: &[(String, String)],
    all: bool,
) -> Vec<HashMap<String, serde_json::Value>> {
    let args: &[&str] = if all {
        &["numbers", "list", "--all", "--json"]
    } else {
        &["numbers", "list", "--json"]
    };
    let out = cloudsms(args, env).await;
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

async fn numbers_add_says_what_it_did_and_list_speaks_json(mode: Mode) {
    let iso = Isolation::new(mode).await;
    let env = env_for(&iso.settings);
    let add = |args: &'static [&'static str]| {
        let env = env.clone();
        async move {
            let mut full = vec!["numbers", "add", NUMBER];
            full.extend_from_slice(args);
            cloudsms(&full, &env).await
        }
    };

    let out = add(&["--label", "SIM 1"]).await;
    assert_success(&out);
    assert!(
        stdout(&out).contains("added +61491570156 (Australia)"),
        "{}",
        stdout(&out)
    );

    let repeats: [&'static [&'static str]; 2] = [&["--label", "SIM 1"], &[]];
    for args in repeats {
        let out = add(args).await;
        assert_success(&out);
        assert!(
            stdout(&out).contains("already registered"),
            "{}",
            stdout(&out)
        );
        assert!(stdout(&out).contains("SIM 1"), "{}", stdout(&out));
    }

    // Another label: refused unless asked for, and the label stays.
    let out = add(&["--label", "SIM 2"]).await;
    assert_failure(&out);
    assert!(stderr(&out).contains("--relabel"), "{}", stderr(&out));
    assert!(stderr(&out).contains("SIM 1"), "{}", stderr(&out));
    assert_eq!(numbers_json(&env, false).await[0]["label"], "SIM 1");
    let out = add(&["--label", "SIM 2", "--relabel"]).await;
    assert_success(&out);
    assert!(stdout(&out).contains("relabelled"), "{}", stdout(&out));
    assert_eq!(numbers_json(&env, false).await[0]["label"], "SIM 2");

    // A retired number comes back.
    let out = cloudsms(&["numbers", "retire", NUMBER], &env).await;
    assert_success(&out);
    assert!(numbers_json(&env, false).await.is_empty());
    let out = add(&[]).await;
    assert_success(&out);
    assert!(stdout(&out).contains("re-activated"), "{}", stdout(&out));

    let out = cloudsms(&["numbers", "add", "+447700900461"], &env).await;
    assert_success(&out);
    let out = cloudsms(&["numbers", "retire", "+447700900461"], &env).await;
    assert_success(&out);

    let active = numbers_json(&env, false).await;
    assert_eq!(active.len(), 1, "{active:?}");
    let all = numbers_json(&env, true).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let au = &active[0];
    let mut fields: Vec<&str> = au.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "active",
            "country",
            "created_at",
            "e164",
            "keep_days",
            "label"
        ]
    );
    assert_eq!(au["keep_days"], serde_json::Value::Null);
    assert_eq!(au["e164"], NUMBER);
    assert_eq!(au["country"], "AU");
    assert_eq!(au["active"], true);
    assert_eq!(au["label"], "SIM 2");
    assert!(chrono::DateTime::parse_from_rfc3339(au["created_at"].as_str().unwrap()).is_ok());
    let gb = all.iter().find(|n| n["e164"] == "+447700900461").unwrap();
    assert_eq!(gb["active"], false);
    assert_eq!(gb["country"], "GB");
    iso.cleanup().await;
}
both_modes!(numbers_add_says_what_it_did_and_list_speaks_json);

async fn numbers_keep_their_messages_for_the_days_given(mode: Mode) {
    let iso = Isolation::new(mode).await;
    let env = env_for(&iso.settings);
    let out = cloudsms(&["numbers", "add", NUMBER, "--keep-days", "7"], &env).await;
    assert_success(&out);
    assert!(stdout(&out).contains("7 days"), "{}", stdout(&out));
    assert_eq!(numbers_json(&env, false).await[0]["keep_days"], 7);
    for bad in ["0", "36501", "-3", "seven", "7.5"] {
        let out = cloudsms(&["numbers", "keep-days", NUMBER, bad], &env).await;
        assert_failure(&out);
        assert!(stderr(&out).contains("days"), "{}", stderr(&out));
    }
    assert_eq!(numbers_json(&env, false).await[0]["keep_days"], 7);
    let out = cloudsms(&["numbers", "keep-days", NUMBER, "90"], &env).await;
    assert_success(&out);
    assert_eq!(numbers_json(&env, false).await[0]["keep_days"], 90);
    let out = cloudsms(&["numbers", "keep-days", NUMBER, "default"], &env).await;
    assert_success(&out);
    assert_eq!(
        numbers_json(&env, false).await[0]["keep_days"],
        serde_json::Value::Null
    );
    let out = cloudsms(&["numbers", "keep-days", "+447700900461", "5"], &env).await;
    assert_failure(&out);
    assert!(stderr(&out).contains("not registered"), "{}", stderr(&out));
    iso.cleanup().await;
}
both_modes!(numbers_keep_their_messages_for_the_days_given);
