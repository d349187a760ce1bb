//! `ingest.persister = false`: a message-ingest process that only accepts
//! webhooks. What it accepts waits in the `SMS` stream, unstored, until a
//! message-ingest process with the persister on stores it, so webhook and
//! persister replicas scale apart. `cloudsms all`, which nothing else could
//! store for, refuses the setting.

use std::process::Stdio;
use std::time::Duration;

use cloudsms_tests::{Isolation, Mode, wait_until};

use crate::processes::{NUMBER, Ports, Proc, add_number, command, env_for, post_sms, wait_ready};

/// The bodies stored for [`NUMBER`], straight from the database.
async fn stored(store: &store::Store) -> Vec<String> {
    store
        .recent_messages(NUMBER, 100, None)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_only_process_accepts_and_a_persister_process_stores() {
    let iso = Isolation::new(Mode::Distributed).await;
    let ports = Ports::new();
    let mut env = env_for(&iso, &ports);
    add_number(&env);
    let client = reqwest::Client::new();
    let store = store::Store::connect(&iso.settings.database_url(), 2)
        .await
        .unwrap();
    let js = async_nats::jetstream::new(
        async_nats::connect(iso.settings.nats.servers())
            .await
            .unwrap(),
    );
    let sms_stream = bus::StreamKind::Sms.stream_name(&format!("{}.", iso.settings.bus.prefix));

    let mut webhooks_only = {
        let mut env = env.clone();
        env.push(("CLOUDSMS_INGEST__PERSISTER".into(), "false".into()));
        Proc::spawn("message-ingest", &[], &env)
    };
    // Ready without a persister: readiness checks what the webhooks use.
    wait_ready(&client, ports.ingest).await;
    let first = "Your Discord code is 401927 (accepted alone)";
    assert_eq!(post_sms(&client, &iso, ports.ingest, first).await, 202);

    // Twice the consumers' ack wait (2 s here): a persister stores within
    // milliseconds.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut stream = js.get_stream(&sms_stream).await.unwrap();
    let state = stream.info().await.unwrap().state.clone();
    assert_eq!(state.messages, 1, "the message waits in the stream");
    assert_eq!(state.consumer_count, 0, "no persister consumes the stream");
    assert!(
        stored(&store).await.is_empty(),
        "stored without a persister"
    );

    // A second process, persister on (the default), stores it; the first
    // keeps accepting, and the second stores that too.
    let persisting = {
        let ports = Ports::new();
        env = env_for(&iso, &ports);
        let proc = Proc::spawn("message-ingest", &[], &env);
        wait_ready(&client, ports.ingest).await;
        proc
    };
    let second = "Your Discord code is 582014 (accepted while the persister runs)";
    assert_eq!(post_sms(&client, &iso, ports.ingest, second).await, 202);
    wait_until(
        "both messages stored by the persister process",
        Duration::from_secs(20),
        async || {
            let bodies = stored(&store).await;
            if bodies.len() == 2
                && bodies.iter().any(|b| b == first)
                && bodies.iter().any(|b| b == second)
            {
                Ok(())
            } else {
                Err(format!("{bodies:?}"))
            }
        },
    )
    .await;
    assert!(webhooks_only.running());

    webhooks_only.terminate();
    persisting.terminate();
    iso.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudsms_all_refuses_to_run_without_its_persister() {
    let iso = Isolation::new(Mode::Embedded).await;
    let mut env = env_for(&iso, &Ports::new());
    env.push(("CLOUDSMS_INGEST__PERSISTER".into(), "false".into()));
    let mut child = command("cloudsms", &["all"], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cloudsms all still runs 20 s after being given ingest.persister = false");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("ingest.persister = false"), "{stderr}");
}
