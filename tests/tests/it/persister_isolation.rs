//! A message the database refuses costs no other message anything: the
//! persister stores the rest of its batch at once and dead-letters only the
//! refused one. The refusal is made by a trigger, independent of what the
//! refused text holds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::{BatchMessage, BatchOptions, HandlerError, StreamKind};
use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};
use message_ingest::persister::Outcome;
use prost::Message as _;
use proto::events::v1::SmsReceived;
use sea_orm::ConnectionTrait;
use tokio_util::sync::CancellationToken;

const NUMBER: &str = "+447700900481";
const BUS_NUMBER: &str = "+447700900482";
/// Index of the refused message among the 41.
const POISON: usize = 17;

/// Makes the test's database refuse any message whose text holds `POISON`,
/// the way it refuses a value it cannot store: a data exception (22021) on
/// Postgres, a constraint error on SQLite.
async fn refuse_poison(app: &TestApp) {
    let db = app.infra.store.connection();
    let statements: &[&str] = match app.mode {
        Mode::Distributed => &[
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF NEW.body LIKE '%POISON%' THEN \
                 RAISE EXCEPTION 'poison' USING ERRCODE = '22021'; \
               END IF; \
               RETURN NEW; \
             END $$",
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages \
             FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        ],
        Mode::Embedded => &["CREATE TRIGGER refuse_poison BEFORE INSERT ON messages \
             WHEN NEW.body LIKE '%POISON%' \
             BEGIN SELECT RAISE(ABORT, 'poison'); END"],
    };
    for statement in statements {
        db.execute_unprepared(statement).await.unwrap();
    }
}

/// `event` as the persister's batch receives it the first time.
fn first_delivery(event: &SmsReceived) -> BatchMessage {
    BatchMessage {
        subject: "sms.received.gb.x".into(),
        payload: event.encode_to_vec().into(),
        delivered: 1,
        span: tracing::Span::none(),
    }
}

fn events(number: &str, prefix: &str) -> Vec<SmsReceived> {
    (0..41)
        .map(|i| SmsReceived {
            event_id: format!("evt-{prefix}-{i}"),
            provider: "generic".into(),
            provider_message_id: format!("{prefix}-{i}"),
            to: number.into(),
            from: "Bank".into(),
            body: if i == POISON {
                "POISON pill".into()
            } else {
                format!("innocent {prefix} {i}.")
            },
            ..Default::default()
        })
        .collect()
}

async fn a_refused_message_costs_its_batch_nothing(mode: Mode) {
    let app = TestApp::spawn_with(mode, false).await;
    app.add_number(NUMBER).await;
    refuse_poison(&app).await;

    // One batch, first delivery: every innocent message is stored now, the
    // refused one is permanent (dead-lettered at once, not retried).
    let batch: Vec<BatchMessage> = events(NUMBER, "batch").iter().map(first_delivery).collect();
    let outcomes = message_ingest::persister::process_batch(&app.infra, &batch).await;
    assert_eq!(outcomes.len(), 41);
    for (i, outcome) in outcomes.iter().enumerate() {
        if i == POISON {
            assert!(
                matches!(outcome, Err(HandlerError::Permanent(_))),
                "{i}: {outcome:?}"
            );
        } else {
            assert!(
                matches!(outcome, Ok(Outcome::Stored(_))),
                "{i}: {outcome:?}"
            );
        }
    }
    let stored = app.stored(NUMBER).await;
    assert_eq!(stored.len(), 40);
    assert!(stored.iter().all(|r| !r.body.contains("POISON")));
    app.stop().await;
}
both_modes!(a_refused_message_costs_its_batch_nothing);

async fn only_the_refused_message_is_dead_lettered(mode: Mode) {
    let mut app = TestApp::spawn_with(mode, false).await;
    app.add_number(BUS_NUMBER).await;
    refuse_poison(&app).await;

    // What reaches the dead-letter stream.
    let dead: Arc<Mutex<Vec<SmsReceived>>> = Arc::default();
    let stop = CancellationToken::new();
    let collector = tokio::spawn({
        let bus = app.infra.bus.clone();
        let dead = dead.clone();
        let stop = stop.clone();
        async move {
            bus.run_batch_consumer(
                StreamKind::DeadLetter,
                "test-dead-letters",
                "dlq.>",
                BatchOptions {
                    max_messages: 100,
                    max_wait: Duration::ZERO,
                    max_bytes: usize::MAX,
                },
                stop,
                move |batch| {
                    let dead = dead.clone();
                    async move {
                        batch
                            .iter()
                            .map(|m| {
                                let event = SmsReceived::decode(m.payload.clone()).unwrap();
                                dead.lock().unwrap().push(event);
                                Ok(())
                            })
                            .collect()
                    }
                },
            )
            .await
        }
    });

    // All published before the persister starts, so they share its batches.
    let bus = app.infra.bus.clone();
    let published = futures::future::join_all(events(BUS_NUMBER, "bus").into_iter().map(|event| {
        let bus = bus.clone();
        async move { bus.publish(&event).await }
    }))
    .await;
    assert!(published.iter().all(Result::is_ok));
    app.start_persister();

    let rows = app.wait_for_stored(BUS_NUMBER, 40).await;
    assert_eq!(rows.len(), 40);
    wait_until(
        "something dead-lettered",
        Duration::from_secs(20),
        async || !dead.lock().unwrap().is_empty(),
    )
    .await;
    // Longer than ack_wait: a message left unsettled would be back by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ids: Vec<String> = dead
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.provider_message_id.clone())
        .collect();
    assert_eq!(ids, [format!("bus-{POISON}")], "the refused message alone");
    assert_eq!(app.stored(BUS_NUMBER).await.len(), 40);
    stop.cancel();
    collector.await.unwrap().unwrap();
    app.stop().await;
}
both_modes!(only_the_refused_message_is_dead_lettered);

/// A message whose row is already there (a batch that committed, then
/// failed before its messages were announced) is announced when its batch
/// falls back to one by one, even on its first delivery: stored is not
/// enough, it must reach the hot list and the open pages.
async fn a_stored_but_unannounced_message_is_announced_by_the_fallback(mode: Mode) {
    let app = TestApp::spawn_with(mode, false).await;
    app.add_number(NUMBER).await;
    refuse_poison(&app).await;
    let all = events(NUMBER, "half");
    let row = |event: &SmsReceived| store::NewMessage {
        number: domain::E164::parse(NUMBER).unwrap(),
        provider: event.provider.clone(),
        provider_message_id: event.provider_message_id.clone(),
        sender: event.from.clone(),
        body: event.body.clone(),
        received_at: chrono::Utc::now(),
    };
    // An earlier message, and a page read: the number's hot list exists.
    app.infra.store.insert_message(row(&all[0])).await.unwrap();
    let (status, _) = app.get(&format!("/api/v1/numbers/{NUMBER}/messages")).await;
    assert_eq!(status, 200);
    // Then a batch committed this one and died before announcing it.
    let committed = &all[3];
    app.infra
        .store
        .insert_message(row(committed))
        .await
        .unwrap();
    let batch: Vec<BatchMessage> = all[..5]
        .iter()
        .chain(std::iter::once(&all[POISON]))
        .map(first_delivery)
        .collect();
    let outcomes = message_ingest::persister::process_batch(&app.infra, &batch).await;
    assert!(
        matches!(outcomes[3], Ok(Outcome::Restored(_))),
        "{:?}",
        outcomes[3]
    );
    let hot = app
        .infra
        .cache
        .recent(cache::HotList::Number(NUMBER))
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        hot.iter()
            .any(|m| m.provider_message_id == committed.provider_message_id),
        "the committed message is on the hot list: {:?}",
        hot.iter()
            .map(|m| &m.provider_message_id)
            .collect::<Vec<_>>()
    );
    app.stop().await;
}
both_modes!(a_stored_but_unannounced_message_is_announced_by_the_fallback);
