//! On a three-node JetStream cluster (`nats.url` listing every node,
//! `bus.replicas = 3`): streams and consumers are set up by any number of
//! replicas at once, a service keeps taking webhooks when the server it is
//! connected to dies, and a stream leader's `kill -9` refuses no webhook a
//! provider sends (5 tries, 0.5 s apart) and stores each once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bus::{Bus, StreamKind};
use cloudsms_tests::nats_cluster::NatsCluster;
use cloudsms_tests::{Isolation, Mode, TestApp, nats_url, wait_until};
use proto::events::v1::{RequestLogged, RequestsLogged, RouteKind, SmsReceived};
use tokio_util::sync::CancellationToken;

/// A TestApp (gateway, message-ingest and its persister) on `cluster`,
/// with replicated streams and `extra` settings (TOML).
async fn cluster_app(cluster: &NatsCluster, extra: &str) -> TestApp {
    let iso = Isolation::with_overrides(
        Mode::Distributed,
        &format!(
            "nats.url = \"{}\"\n{extra}\n[bus]\nreplicas = 3\n",
            cluster.urls()
        ),
    )
    .await;
    TestApp::spawn_isolated(iso, Mode::Distributed, true).await
}

/// Sends webhook `id` to `to` as a provider does: up to 5 tries 0.5 s apart
/// until one is answered 2xx. False when it gave up.
async fn provider_send(app: &TestApp, to: &str, id: &str) -> bool {
    for attempt in 0..5 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let hook = app.signed(&TestApp::sms_json(to, "Bank", id, id));
        if app.post(&hook).await.status().is_success() {
            return true;
        }
    }
    false
}

/// What provider-like senders did while a fault ran: sent per number, and
/// the ids they gave up on.
struct Load {
    sent: Vec<usize>,
    given_up: Vec<String>,
}

/// Runs one provider-like sender per number of `numbers` (a webhook every
/// 25 ms each) until `fault` has finished, then reports.
async fn under_load(app: &Arc<TestApp>, numbers: &[&str], fault: impl Future<Output = ()>) -> Load {
    let done = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = numbers
        .iter()
        .enumerate()
        .map(|(s, number)| {
            let (app, done, number) = (app.clone(), done.clone(), (*number).to_owned());
            tokio::spawn(async move {
                let (mut sent, mut given_up) = (0, Vec::new());
                while !done.load(Ordering::Relaxed) {
                    let id = format!("s{s}-{sent}");
                    if !provider_send(&app, &number, &id).await {
                        given_up.push(id);
                    }
                    sent += 1;
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                (sent, given_up)
            })
        })
        .collect();
    fault.await;
    done.store(true, Ordering::Relaxed);
    let mut load = Load {
        sent: Vec::new(),
        given_up: Vec::new(),
    };
    for sender in senders {
        let (sent, given_up) = sender.await.unwrap();
        load.sent.push(sent);
        load.given_up.extend(given_up);
    }
    load
}

/// Every webhook the senders sent is stored for its number exactly once
/// (read from the database, all rows).
async fn assert_stored_once(app: &TestApp, numbers: &[&str], load: &Load) {
    for (number, sent) in numbers.iter().zip(&load.sent) {
        let rows = wait_until(
            format_args!("{sent} messages stored for {number}"),
            Duration::from_secs(30),
            async || {
                let rows = app
                    .infra
                    .store
                    .recent_messages(number, 100_000, None)
                    .await
                    .unwrap();
                if rows.len() >= *sent {
                    Ok(rows)
                } else {
                    Err(format!("{} stored", rows.len()))
                }
            },
        )
        .await;
        let mut bodies: Vec<_> = rows.iter().map(|r| r.body.clone()).collect();
        bodies.sort();
        bodies.dedup();
        assert_eq!(rows.len(), *sent, "{number}: stored vs sent");
        assert_eq!(bodies.len(), *sent, "{number}: a webhook stored twice");
    }
}

const NUMBERS: [&str; 4] = [
    "+33639980001",
    "+33639980002",
    "+33639980003",
    "+33639980004",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_stream_leader_refuses_no_webhook_and_stores_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(dir.path(), 3).await.unwrap();
    let app = Arc::new(cluster_app(&cluster, "").await);
    for number in NUMBERS {
        app.add_number(number).await;
    }
    let stream = StreamKind::Sms.stream_name(&format!("{}.", app.infra.settings.bus.prefix));
    let cluster_ref = &mut cluster;
    let load = under_load(&app, &NUMBERS, async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let leader = cluster_ref.stream_leader(&stream).await.unwrap();
        let i = cluster_ref.index_of(&leader).unwrap();
        cluster_ref.kill9(i);
        cluster_ref
            .wait_new_leader(&stream, &leader, Duration::from_secs(30))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        cluster_ref.restart(i).await.unwrap();
        cluster_ref
            .wait_jetstream(Duration::from_secs(30))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    })
    .await;
    let total: usize = load.sent.iter().sum();
    assert!(
        load.given_up.is_empty(),
        "{} of {total} webhooks given up on: {:?}",
        load.given_up.len(),
        load.given_up
    );
    // The persister's durable consumer carried on across the leader change.
    assert_stored_once(&app, &NUMBERS, &load).await;
    Arc::into_inner(app).unwrap().stop().await;
}

/// Publishes one-request `RequestsLogged` batches for `visitor` every
/// 25 ms (each retried until acknowledged) until `done`; returns how many.
async fn send_logs(bus: bus::Bus, visitor: String, done: Arc<AtomicBool>) -> usize {
    let mut sent = 0;
    while !done.load(Ordering::Relaxed) {
        let batch = RequestsLogged {
            batch_id: uuid::Uuid::now_v7().to_string(),
            requests: vec![RequestLogged {
                event_id: uuid::Uuid::now_v7().to_string(),
                ts: Some(proto::timestamp_from_unix_millis(
                    chrono::Utc::now().timestamp_millis(),
                )),
                visitor_id: visitor.clone(),
                method: "GET".into(),
                path: "/api/v1/numbers".into(),
                status: 200,
                route: "/api/v1/numbers".into(),
                route_kind: RouteKind::Api.into(),
                ..Default::default()
            }],
        };
        // A batch not acknowledged is sent again (same batch id), as the
        // gateway's batcher does a few times; here until it is, so what is
        // checked is the consumer, not the publisher.
        let began = std::time::Instant::now();
        while let Err(err) = bus.publish_within(&batch, Duration::from_secs(5)).await {
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "a log batch not acknowledged within 60 s: {err}"
            );
            tracing::warn!(error = %err, "log batch not acknowledged; again");
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_survives_the_loss_of_each_server_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(dir.path(), 3).await.unwrap();
    let app = Arc::new(cluster_app(&cluster, "").await);
    let numbers = &NUMBERS[..2];
    for number in numbers {
        app.add_number(number).await;
    }
    // log-retention's LOGS consumer, fed while the servers die too.
    let store = app.log_store().await;
    let stop = CancellationToken::new();
    let consumer = tokio::spawn(cloudsms_tests::log_consumer(&app, &store, &stop));
    let visitor = format!("cluster-{}", uuid::Uuid::new_v4().simple());
    let logs_done = Arc::new(AtomicBool::new(false));
    let logs = tokio::spawn(send_logs(
        app.infra.bus.clone(),
        visitor.clone(),
        logs_done.clone(),
    ));
    let cluster_ref = &mut cluster;
    let load = under_load(&app, numbers, async {
        // Every node dies once: the one the app is connected to, and the
        // leaders of every stream and consumer.
        for i in 0..3 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            cluster_ref.kill9(i);
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster_ref.restart(i).await.unwrap();
            cluster_ref
                .wait_jetstream(Duration::from_secs(30))
                .await
                .unwrap();
        }
    })
    .await;
    logs_done.store(true, Ordering::Relaxed);
    let logged = logs.await.unwrap();
    assert!(load.given_up.is_empty(), "given up on: {:?}", load.given_up);
    assert_stored_once(&app, numbers, &load).await;
    wait_until(
        format_args!("{logged} request logs stored"),
        Duration::from_secs(20),
        async || {
            let rows = store
                .summarize(&visitor)
                .await
                .unwrap()
                .iter()
                .find(|k| k.kind == log_retention::Kind::Request)
                .map_or(0, |k| k.rows);
            if usize::try_from(rows).is_ok_and(|rows| rows == logged) {
                Ok(())
            } else {
                Err(format!("{rows} stored"))
            }
        },
    )
    .await;
    stop.cancel();
    consumer.await.unwrap().unwrap();
    Arc::into_inner(app).unwrap().stop().await;
}

/// Eight replicas start at once on a fresh prefix: every one connects, each
/// stream exists once with the configured replicas and duplicate window, a
/// later start with another window updates it, and eight consumers of one
/// durable start at once and share it.
async fn racing_replicas_set_up_streams_and_consumers(url: &str, replicas: usize) {
    let prefix = format!("race{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let settings = |window: u64| {
        config::Settings::from_toml_overrides(&format!(
            "nats.url = \"{url}\"\n[bus]\nprefix = \"{prefix}\"\nreplicas = {replicas}\n\
             duplicate_window_secs = {window}\n"
        ))
        .unwrap()
    };
    let first = settings(60);
    let connected = futures::future::join_all((0..8).map(|_| Bus::connect(&first))).await;
    for bus in &connected {
        assert!(
            bus.is_ok(),
            "a racing replica failed: {:?}",
            bus.as_ref().err()
        );
    }
    let client = async_nats::connect(first.nats.servers()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let stream_prefix = format!("{prefix}.");
    let config_of = async |kind: StreamKind| {
        let mut stream = js
            .get_stream(kind.stream_name(&stream_prefix))
            .await
            .unwrap();
        stream.info().await.unwrap().config.clone()
    };
    for kind in StreamKind::ALL {
        let config = config_of(kind).await;
        assert_eq!(config.num_replicas, replicas, "{}", config.name);
        assert_eq!(
            config.duplicate_window,
            Duration::from_secs(60),
            "{}",
            config.name
        );
    }
    let mut names: Vec<String> = Vec::new();
    let mut listed = js.stream_names();
    while let Some(name) = futures::StreamExt::next(&mut listed).await {
        let name = name.unwrap();
        if name.ends_with(&prefix.to_ascii_uppercase())
            || name.starts_with(&prefix.to_ascii_uppercase())
        {
            names.push(name);
        }
    }
    assert_eq!(names.len(), StreamKind::ALL.len(), "{names:?}");

    let later = settings(90);
    Bus::connect(&later).await.unwrap();
    for kind in StreamKind::ALL {
        let config = config_of(kind).await;
        assert_eq!(
            config.duplicate_window,
            Duration::from_secs(90),
            "{}",
            config.name
        );
    }

    let buses = futures::future::join_all((0..8).map(|_| Bus::connect(&later))).await;
    let handled = Arc::new(AtomicUsize::new(0));
    let shutdown = CancellationToken::new();
    let consumers: Vec<_> = buses
        .into_iter()
        .map(|bus| {
            let (bus, handled, shutdown) = (bus.unwrap(), handled.clone(), shutdown.clone());
            tokio::spawn(async move {
                bus.run_consumer("race", shutdown, |_: SmsReceived, _| {
                    let handled = handled.clone();
                    async move {
                        handled.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                })
                .await
            })
        })
        .collect();
    let publisher = Bus::connect(&later).await.unwrap();
    for i in 0..16 {
        publisher
            .publish(&SmsReceived {
                provider: "race".into(),
                provider_message_id: format!("m{i}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    wait_until(
        "16 events handled by the racing consumers",
        Duration::from_secs(20),
        async || match handled.load(Ordering::Relaxed) {
            16 => Ok(()),
            n => Err(format!("{n} handled")),
        },
    )
    .await;
    shutdown.cancel();
    for consumer in consumers {
        consumer.await.unwrap().expect("a racing consumer failed");
    }
    for kind in StreamKind::ALL {
        let _ = js.delete_stream(kind.stream_name(&stream_prefix)).await;
    }
}

/// Sixteen connected replicas ask for the same fresh streams at the same
/// instant, twenty times over: none fails. (CI saw a racing create answered
/// "subjects overlap with an existing stream", the server's answer while
/// the winner's create of that very stream is being applied.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_asked_for_at_the_same_instant_are_made_once_without_an_error() {
    use bus::Transport;
    let settings =
        config::Settings::from_toml_overrides(&format!("nats.url = \"{}\"\n", nats_url())).unwrap();
    let transports = futures::future::join_all(
        (0..16).map(|_| bus::NatsTransport::connect(&settings.nats, &settings.bus, 1)),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .unwrap();
    let client = async_nats::connect(settings.nats.servers()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    for _ in 0..20 {
        let prefix = format!("race{}.", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let made =
            futures::future::join_all(transports.iter().map(|t| t.ensure_streams(&prefix))).await;
        for kind in StreamKind::ALL {
            let _ = js.delete_stream(kind.stream_name(&prefix)).await;
        }
        for result in made {
            assert!(
                result.is_ok(),
                "a racing replica failed: {:?}",
                result.err()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_replicas_set_up_streams_and_consumers_on_one_server() {
    racing_replicas_set_up_streams_and_consumers(&nats_url(), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_replicas_set_up_streams_and_consumers_on_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = NatsCluster::start(dir.path(), 3).await.unwrap();
    racing_replicas_set_up_streams_and_consumers(&cluster.urls(), 3).await;
}
