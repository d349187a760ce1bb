//! The cache through Redis Sentinel (`redis.sentinels`, `redis.master_name`)
//! across a failover: the master is `kill -9`ed, the Sentinels promote the
//! replica, and the cache follows without a restart: writes, reads and
//! scripts work on the new master, nothing is written to the old one when
//! it comes back as a replica, hot lists show a message the promoted
//! replica never received, and captcha fails closed during the switch only.

use std::time::Duration;

use cache::{HotCache, HotList, RedisCache};
use cloudsms_tests::sentinel::{MASTER_NAME, RedisSentinels};
use cloudsms_tests::{Isolation, Mode, TestApp, wait_until};
use redis::AsyncCommands;

use crate::captcha::{CaptchaApp, SECRET, codes};

/// How long the Sentinels (down after 2 s) and the cache may take to heal.
const HEAL: Duration = Duration::from_secs(30);

/// The `[redis]` settings that reach `group`'s master through its Sentinels.
fn through(group: &RedisSentinels) -> String {
    let sentinels = group
        .sentinel_addrs()
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("[redis]\nurl = \"\"\nsentinels = [{sentinels}]\nmaster_name = \"{MASTER_NAME}\"\n")
}

/// A connection straight to the data node on `port`.
async fn node(port: u16) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The role (`master`, `slave`) the node on `port` answers; an error
/// while it is reconfigured (a Sentinel's `REPLICAOF` drops its clients).
async fn role(port: u16) -> Result<String, String> {
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .map_err(|e| e.to_string())?
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let role: redis::Value = redis::cmd("ROLE")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    match role {
        redis::Value::Array(items) => match items.into_iter().next() {
            Some(redis::Value::BulkString(b)) => String::from_utf8(b).map_err(|e| e.to_string()),
            other => Err(format!("ROLE: {other:?}")),
        },
        other => Err(format!("ROLE: {other:?}")),
    }
}

/// True when the list `key` on the node on `port` holds a message with
/// `body` (its encoding contains the text); false while it does not answer.
async fn holds(port: u16, key: &str, body: &str) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}")) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    let items: Vec<Vec<u8>> = conn.lrange(key, 0, -1).await.unwrap_or_default();
    items
        .iter()
        .any(|item| item.windows(body.len()).any(|w| w == body.as_bytes()))
}

/// `kill -STOP` (`stop`) or `kill -CONT` of data node `i`.
fn signal(group: &RedisSentinels, i: usize, stop: bool) {
    let pid = group.nodes[i].proc.pid().unwrap();
    let status = std::process::Command::new("kill")
        .args([if stop { "-STOP" } else { "-CONT" }, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Freezes the replica and cuts its link, so that what the master writes
/// from now on never reaches it (asynchronous replication's worst case).
async fn cut_replication(group: &RedisSentinels, master: usize, replica: usize) {
    signal(group, replica, true);
    let _: redis::Value = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query_async(&mut node(group.nodes[master].port).await)
        .await
        .unwrap();
}

/// A cache on `group` with a key prefix of its own.
async fn cache(group: &RedisSentinels) -> RedisCache {
    let settings = config::Settings::from_toml_layers(&[
        &through(group),
        &format!(
            "[cache]\nkey_prefix = \"failover:{}:\"\n",
            uuid::Uuid::new_v4().simple()
        ),
    ])
    .unwrap();
    RedisCache::connect(&settings.redis, &settings.cache)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_follows_a_failover_and_never_writes_to_the_old_master() {
    let dir = tempfile::tempdir().unwrap();
    let mut group = RedisSentinels::start(dir.path()).await.unwrap();
    let busy = cache(&group).await;
    // Another replica of a service, idle during the whole switch.
    let idle = cache(&group).await;
    let day = Duration::from_secs(86_400);
    busy.put("before", "1", day).await.unwrap();
    assert!(busy.claim_as("owned", "a", day).await.unwrap());
    assert_eq!(
        busy.throttle("rate", Duration::from_secs(60), 0)
            .await
            .unwrap(),
        None
    );
    assert!(idle.ping().await);

    let old = group.master_index().await.unwrap();
    let old_port = group.nodes[old].port;
    group.kill9(old);
    let new_port = group.wait_failover(old_port, HEAL).await.unwrap();
    wait_until("writes on the new master", HEAL, async || {
        busy.put("after", "2", day).await.map_err(|e| e.to_string())
    })
    .await;
    assert_eq!(
        busy.get_touch("after", day).await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(
        busy.get_touch("before", day).await.unwrap().as_deref(),
        Some("1")
    );
    // Scripts: the new master's script cache is empty (NOSCRIPT), they are
    // loaded again, and what the old master counted was replicated.
    assert!(
        busy.throttle("rate", Duration::from_secs(60), 0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(busy.acquire_slot("slots", "h", 1, day).await.unwrap());
    assert!(!busy.claim_as("owned", "b", day).await.unwrap());
    // A claim needs a replica to have it: none until the old master is back.
    assert!(matches!(
        busy.claim("single", day).await,
        Err(cache::CacheError::NotReplicated)
    ));

    // The old master comes back empty; the Sentinels make it a replica.
    group.restart(old).await.unwrap();
    wait_until("the old master is a replica", HEAL, async || {
        role(old_port).await.as_deref() == Ok("slave")
    })
    .await;
    wait_until("a claim replicated again", HEAL, async || {
        busy.claim_as("owned", "a", day)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    for (i, cache) in [&busy, &idle].into_iter().enumerate() {
        for n in 0..20 {
            let key = format!("back:{i}:{n}");
            wait_until("a write after the restart", HEAL, async || {
                cache.put(&key, "3", day).await.map_err(|e| e.to_string())
            })
            .await;
        }
    }
    // Every write landed on the new master.
    let mut master = node(new_port).await;
    let keys: Vec<String> = master.keys("failover:*:back:*").await.unwrap();
    assert_eq!(keys.len(), 40, "{keys:?}");
    assert_eq!(role(new_port).await.as_deref(), Ok("master"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_promoted_replica_missed_is_shown_after_the_failover() {
    let dir = tempfile::tempdir().unwrap();
    let mut group = RedisSentinels::start(dir.path()).await.unwrap();
    let isolation = Isolation::with_overrides(
        Mode::Distributed,
        &format!("{}[cache]\nfill_ttl_secs = 600\n", through(&group)),
    )
    .await;
    let app = TestApp::spawn_isolated(isolation, Mode::Distributed, true).await;
    let number = "+15550107001";
    app.add_number(number).await;
    assert_eq!(
        app.send_sms(number, "+1999", "first message", "f-1")
            .await
            .status(),
        202
    );
    app.wait_for_page(number, "first message").await;

    let old = group.master_index().await.unwrap();
    let replica = 1 - old;
    let old_port = group.nodes[old].port;
    // The number's list, filled by a read (the page may come from the page
    // cache, or its fill lose to a push: the API reads the list again),
    // reaches the replica; then the replica is cut off.
    let list = format!("{}hot:15550107001", app.infra.settings.cache.key_prefix);
    let api = format!("{}/api/v1/numbers/{number}/messages", app.gateway_url);
    wait_until("the list replicated", HEAL, async || {
        if !holds(group.nodes[old].port, &list, "first message").await {
            let _ = app.client.get(&api).send().await;
        }
        holds(group.nodes[replica].port, &list, "first message").await
    })
    .await;
    cut_replication(&group, old, replica).await;
    assert_eq!(
        app.send_sms(number, "+1999", "second message", "s-2")
            .await
            .status(),
        202
    );
    // Pushed to the old master's list only.
    wait_until("the push on the old master", HEAL, async || {
        holds(old_port, &list, "second message").await
    })
    .await;
    group.kill9(old);
    signal(&group, replica, false);
    group.wait_failover(old_port, HEAL).await.unwrap();

    // Once the app's cache answers from the new master, the list there is
    // gone (refilled from the database on the next read) or complete.
    let cached = wait_until("the cache on the new master", HEAL, async || {
        app.infra
            .cache
            .recent(HotList::Number(number))
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    if let Some(messages) = cached {
        assert!(
            messages.iter().any(|m| m.body == "second message"),
            "the promoted replica's list hides the message: {messages:?}"
        );
    }
    app.wait_for_page(number, "second message").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captcha_fails_closed_during_the_switch_and_works_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut group = RedisSentinels::start(dir.path()).await.unwrap();
    let app = CaptchaApp::spawn_configured(
        Mode::Distributed,
        "source_levels = []\nglobal_levels = []",
        &through(&group),
    )
    .await;
    let used = app.token("login").await;
    let r = app.siteverify(SECRET, &used).await;
    assert_eq!(r["success"], true, "{r}");
    let fresh = app.token("login").await;
    let (_, payload) = app.solved("login").await;

    let old = group.master_index().await.unwrap();
    let old_port = group.nodes[old].port;
    group.kill9(old);
    // The claims cannot be stored: refused, never a success.
    let r = app.siteverify(SECRET, &used).await;
    assert_eq!(r["success"], false, "{r}");
    let r = app.siteverify(SECRET, &fresh).await;
    assert_eq!(r["success"], false, "{r}");
    let r = app.redeem_payload(&payload).await;
    assert_ne!(r["ok"], true, "{r}");
    group.wait_failover(old_port, HEAL).await.unwrap();
    // Until the old master is back as a replica no claim can reach one:
    // still refused.
    let r = app.siteverify(SECRET, &used).await;
    assert_eq!(r["success"], false, "{r}");
    group.restart(old).await.unwrap();

    // After the switch: the used token stays used, the others work once.
    let r = wait_until("a verify on the new master", HEAL, async || {
        let r = app.siteverify(SECRET, &fresh).await;
        if r["success"] == true {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    })
    .await;
    assert_eq!(r["success"], true);
    for token in [&used, &fresh] {
        let r = app.siteverify(SECRET, token).await;
        assert_eq!(r["success"], false, "{r}");
        assert!(!codes(&r).is_empty(), "{r}");
    }
    // A claim waits for the rejoined replica (it may still be syncing).
    wait_until("a redeem on the new master", HEAL, async || {
        let r = app.redeem_payload(&payload).await;
        if r["ok"] == true {
            Ok(())
        } else {
            Err(r.to_string())
        }
    })
    .await;
    let token = app.token("login").await;
    let r = app.siteverify(SECRET, &token).await;
    assert_eq!(r["success"], true, "{r}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_claim_the_promoted_replica_missed_is_not_accepted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut group = RedisSentinels::start(dir.path()).await.unwrap();
    let app = CaptchaApp::spawn_configured(
        Mode::Distributed,
        "source_levels = []\nglobal_levels = []",
        &through(&group),
    )
    .await;
    let token = app.token("login").await;
    let old = group.master_index().await.unwrap();
    let replica = 1 - old;
    let old_port = group.nodes[old].port;
    cut_replication(&group, old, replica).await;
    let mut accepted = 0;
    if app.siteverify(SECRET, &token).await["success"] == true {
        accepted += 1;
    }
    group.kill9(old);
    signal(&group, replica, false);
    group.wait_failover(old_port, HEAL).await.unwrap();
    group.restart(old).await.unwrap();
    // Once the cache works again (a fresh token verifies), the first one
    // has been accepted at most once over both masters.
    wait_until("a verify after the failover", HEAL, async || {
        let (_, payload) = app.solved("login").await;
        let r = app.redeem_payload(&payload).await;
        let Some(fresh) = r["token"].as_str() else {
            return false;
        };
        app.siteverify(SECRET, fresh).await["success"] == true
    })
    .await;
    for _ in 0..2 {
        if app.siteverify(SECRET, &token).await["success"] == true {
            accepted += 1;
        }
    }
    assert!(accepted <= 1, "accepted {accepted} times");
    app.stop().await;
}
