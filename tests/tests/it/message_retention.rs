//! Public message retention (`messages.keep_days`, a number's own period):
//! a message past its period is never shown (number page, feed, API,
//! `/latest`, live updates), even before the sweep; the sweep deletes it
//! from the database and drops the hot lists that held it, in batches while
//! webhooks are stored; the FAQ and the privacy policy state the period.
//! The store's clock is moved days ahead instead of waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use cache::HotList;
use chrono::{TimeDelta, Utc};
use cloudsms_tests::{Isolation, Mode, TestApp, both_modes, wait_until};
use sea_orm::{EntityTrait, PaginatorTrait};

/// Global period: 30 days.
const GLOBAL: &str = "+447700900501";
/// Its own period: 2 days.
const SHORT: &str = "+447700900502";
/// Its own period: 60 days.
const LONG: &str = "+447700900503";

/// A clock `days` ahead of the system's, moved by the test.
struct Days(Arc<AtomicI64>);

impl Days {
    fn new() -> (Self, platform::Clock) {
        let days = Arc::new(AtomicI64::new(0));
        let clock = platform::Clock::from_fn({
            let days = days.clone();
            move || Utc::now() + TimeDelta::days(days.load(Ordering::SeqCst))
        });
        (Self(days), clock)
    }

    fn set(&self, days: i64) {
        self.0.store(days, Ordering::SeqCst);
    }
}

async fn spawn(mode: Mode, overrides: &str) -> (TestApp, Days) {
    let (days, clock) = Days::new();
    let isolation = Isolation::with_overrides(mode, overrides).await;
    (
        TestApp::spawn_with_clock(isolation, mode, clock).await,
        days,
    )
}

/// Every message row of `number`, hidden or not.
async fn rows_in_database(app: &TestApp) -> u64 {
    store::entities::message::Entity::find()
        .count(app.infra.store.connection())
        .await
        .unwrap()
}

/// What a visitor can read of `number`: its page, feed and API, and `/latest`.
async fn everywhere(app: &TestApp, number: &str) -> String {
    let mut seen = String::new();
    for path in [
        format!("/numbers/{number}"),
        format!("/zh-CN/numbers/{number}"),
        format!("/numbers/{number}/feed.atom"),
        format!("/api/v1/numbers/{number}/messages"),
        "/latest".to_owned(),
        "/".to_owned(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        seen.push_str(&body);
    }
    seen
}

async fn messages_past_their_period_are_never_shown_and_are_swept(mode: Mode) {
    let (app, days) = spawn(mode, "[messages]\nkeep_days = 30\n").await;
    for number in [GLOBAL, SHORT, LONG] {
        app.add_number(number).await;
    }
    let store = &app.infra.store;
    let e164 = |n: &str| domain::E164::parse(n).unwrap();
    assert!(
        store
            .set_number_keep_days(&e164(SHORT), Some(2))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_number_keep_days(&e164(LONG), Some(60))
            .await
            .unwrap()
    );
    for (number, body) in [
        (GLOBAL, "old-global-8101"),
        (SHORT, "old-short-8102"),
        (LONG, "old-long-8103"),
    ] {
        app.accept_sms(number, "Bank", body, body).await;
        app.wait_for_page(number, body).await;
    }
    // Every list is in the cache now, and /latest too.
    assert!(everywhere(&app, GLOBAL).await.contains("old-global-8101"));

    // Three days on: only the 2-day number's message is past its period.
    days.set(3);
    let shown = everywhere(&app, SHORT).await;
    assert!(!shown.contains("old-short-8102"), "shown after 3 days");
    assert!(shown.contains("old-global-8101") && shown.contains("old-long-8103"));
    let shown = everywhere(&app, GLOBAL).await;
    assert!(shown.contains("old-global-8101"), "inside its 30 days");

    // 31 days on: the global one too, the 60-day number's stays.
    days.set(31);
    // A message inside the period, stored straight into the database.
    store
        .insert_messages(&[store::NewMessage {
            number: e164(GLOBAL),
            provider: "test".into(),
            provider_message_id: "fresh".into(),
            sender: "Bank".into(),
            body: "fresh-global-8104".into(),
            received_at: Utc::now() + TimeDelta::days(30),
        }])
        .await
        .unwrap();
    let shown = everywhere(&app, GLOBAL).await;
    assert!(!shown.contains("old-global-8101"), "shown after 31 days");
    assert!(!shown.contains("old-short-8102"));
    assert!(
        shown.contains("fresh-global-8104"),
        "the one inside is shown"
    );
    let shown = everywhere(&app, LONG).await;
    assert!(shown.contains("old-long-8103"), "its own 60 days");
    let (_, sitemap) = app.get("/sitemap.xml").await;
    assert!(sitemap.contains("urlset"), "{sitemap}");

    // The sweep deletes the two past their period, nothing else, and drops
    // the hot lists that held them.
    assert_eq!(rows_in_database(&app).await, 4);
    let swept =
        message_ingest::sweep::sweep_once(store, app.infra.cache.as_ref(), 1, Duration::ZERO)
            .await
            .unwrap();
    assert_eq!(swept.deleted, 2, "{swept:?}");
    assert_eq!(rows_in_database(&app).await, 2);
    for list in [
        HotList::Number(GLOBAL),
        HotList::Number(SHORT),
        HotList::Latest,
    ] {
        assert!(
            app.infra.cache.recent(list).await.unwrap().is_none(),
            "{list:?} still cached"
        );
    }
    let shown = everywhere(&app, GLOBAL).await;
    assert!(shown.contains("fresh-global-8104") && shown.contains("old-long-8103"));

    // 61 days on: the long one goes too.
    days.set(61);
    assert!(!everywhere(&app, LONG).await.contains("old-long-8103"));
    let swept =
        message_ingest::sweep::sweep_once(store, app.infra.cache.as_ref(), 100, Duration::ZERO)
            .await
            .unwrap();
    assert_eq!(swept.deleted, 2, "{swept:?}");
    assert_eq!(rows_in_database(&app).await, 0);
    app.stop().await;
}
both_modes!(messages_past_their_period_are_never_shown_and_are_swept);

async fn a_late_message_past_its_period_is_not_pushed_live(mode: Mode) {
    let (app, days) = spawn(mode, "").await;
    app.add_number(GLOBAL).await;
    app.add_number(LONG).await;
    assert!(
        app.infra
            .store
            .set_number_keep_days(&domain::E164::parse(LONG).unwrap(), Some(60))
            .await
            .unwrap()
    );
    let mut live = app.open_events("/latest/events").await;
    // Anything arriving now is 31 days old by the store's clock: past the
    // global 30 days, inside the other number's 60.
    days.set(31);
    app.accept_sms(GLOBAL, "Bank", "late-global-8201", "late-1")
        .await;
    wait_until(
        "the late message to be stored",
        Duration::from_secs(20),
        async || (rows_in_database(&app).await == 1).then_some(()),
    )
    .await;
    app.accept_sms(LONG, "Bank", "late-long-8202", "late-2")
        .await;
    live.wait_for_message("late-long-8202").await;
    assert!(!live.seen.contains("late-global-8201"), "{}", live.seen);
    let mut reopened = app.open_events("/latest/events?after=0").await;
    reopened.wait_for_message("late-long-8202").await;
    assert!(!reopened.seen.contains("late-global-8201"), "replayed");
    assert!(!everywhere(&app, GLOBAL).await.contains("late-global-8201"));
    drop((live, reopened));
    app.stop().await;
}
both_modes!(a_late_message_past_its_period_is_not_pushed_live);

async fn the_sweep_deletes_in_batches_while_webhooks_are_stored(mode: Mode) {
    let (app, _days) = spawn(mode, "[messages]\nkeep_days = 30\n").await;
    app.add_number(GLOBAL).await;
    let number = domain::E164::parse(GLOBAL).unwrap();
    // 600 messages 35 days old, stored in chunks.
    let old: Vec<store::NewMessage> = (0..600)
        .map(|i| store::NewMessage {
            number: number.clone(),
            provider: "test".into(),
            provider_message_id: format!("old-{i}"),
            sender: "Bank".into(),
            body: format!("old message {i}"),
            received_at: Utc::now() - TimeDelta::days(35) + TimeDelta::seconds(i),
        })
        .collect();
    for chunk in old.chunks(200) {
        app.infra.store.insert_messages(chunk).await.unwrap();
    }
    let sweep = {
        let store = app.infra.store.clone();
        let cache = app.infra.cache.clone();
        tokio::spawn(async move {
            message_ingest::sweep::sweep_once(&store, cache.as_ref(), 25, Duration::from_millis(5))
                .await
                .unwrap()
        })
    };
    // Webhooks meanwhile: each is stored and shown.
    for i in 0..20 {
        app.accept_sms(
            GLOBAL,
            "Bank",
            &format!("during sweep {i}"),
            &format!("new-{i}"),
        )
        .await;
    }
    let swept = sweep.await.unwrap();
    assert_eq!(swept.deleted, 600, "{swept:?}");
    assert!(swept.batches >= 600 / 25, "{swept:?}");
    let rows = app.wait_for_stored(GLOBAL, 20).await;
    assert!(
        rows.iter()
            .all(|r| r.provider_message_id.starts_with("new-"))
    );
    assert_eq!(rows_in_database(&app).await, 20);
    let shown = everywhere(&app, GLOBAL).await;
    assert!(shown.contains("during sweep 19") && !shown.contains("old message"));
    app.stop().await;
}
both_modes!(the_sweep_deletes_in_batches_while_webhooks_are_stored);

async fn the_faq_and_the_privacy_policy_state_the_period(mode: Mode) {
    let (app, _days) = spawn(mode, "[messages]\nkeep_days = 12\n").await;
    for (path, needle) in [
        ("/faq", "shown for 12 days"),
        ("/zh-CN/faq", "展示 12 天"),
        ("/privacy", "kept for 12 days"),
        ("/zh-CN/privacy", "保留 12 天"),
    ] {
        let (status, html) = app.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(needle), "{path} lacks {needle:?}");
        assert!(!html.contains("{messages_keep_days}"), "{path}");
    }
    app.stop().await;
}
both_modes!(the_faq_and_the_privacy_policy_state_the_period);

async fn message_ingest_sweeps_at_start_up_one_replica_at_a_time(mode: Mode) {
    let (app, _days) = spawn(
        mode,
        "[messages]\nkeep_days = 30\nsweep_interval_secs = 3600\n",
    )
    .await;
    app.add_number(GLOBAL).await;
    let old = |id: &str| store::NewMessage {
        number: domain::E164::parse(GLOBAL).unwrap(),
        provider: "test".into(),
        provider_message_id: id.into(),
        sender: "Bank".into(),
        body: format!("old {id}"),
        received_at: Utc::now() - TimeDelta::days(40),
    };
    app.infra
        .store
        .insert_messages(&[old("a"), old("b")])
        .await
        .unwrap();
    // Two replicas: the first to claim the interval sweeps.
    let stop = tokio_util::sync::CancellationToken::new();
    let replicas: Vec<_> = (0..2)
        .map(|_| tokio::spawn(message_ingest::sweep::run(app.infra.clone(), stop.clone())))
        .collect();
    wait_until("the start-up sweep", Duration::from_secs(20), async || {
        (rows_in_database(&app).await == 0).then_some(())
    })
    .await;
    // The interval is claimed in the cache, for every replica.
    assert!(
        !app.infra
            .cache
            .claim(message_ingest::sweep::CLAIM_KEY, Duration::from_secs(5))
            .await
            .unwrap(),
        "the sweep's claim is not held"
    );
    // Nothing more until the next tick, an interval later.
    app.infra.store.insert_messages(&[old("c")]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rows_in_database(&app).await, 1);
    stop.cancel();
    for replica in replicas {
        replica.await.unwrap();
    }
    app.stop().await;
}
both_modes!(message_ingest_sweeps_at_start_up_one_replica_at_a_time);
