//! `make bench` (message sweep): how long message-ingest's sweep
//! (`Store::sweep_expired`, what the service runs every
//! `messages.sweep_interval_secs`) takes to delete the same number of
//! expired messages (`BENCH_MESSAGES_EXPIRED`, default 100 000: about a
//! day of a busy site) from a small and a large `messages` table (default 1 M
//! and 20 M rows kept, `BENCH_MESSAGES_SMALL_ROWS`, `BENCH_MESSAGES_ROWS`).
//! It walks the `(received_at, id)` index from its oldest entry, so its
//! cost should follow the expired rows, not the table. Against it, in the
//! same run: one plain `DELETE ... WHERE received_at < cutoff` of the same
//! rows (the baseline). Meanwhile a writer stores one message every 5 ms as
//! the persister would; its slowest insert is reported for both.
//!
//! A Postgres database of its own (created and dropped here), migrated by
//! the store. Rows are generated inside Postgres (`generate_series`), a
//! thousand numbers, kept ones over the last 29 days, expired ones 31 to 32
//! days old; `VACUUM ANALYZE` and `CHECKPOINT` before each timing.
//!
//! Environment: `BENCH_ADMIN_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and the sizes above.
//! Prints a Markdown table on stdout; progress on stderr.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use cloudsms_tests::drive::env_or;
use sea_orm::{ConnectionTrait, Database};

const KEEP_DAYS: u32 = 30;
const BATCH: u64 = 1_000;

fn say(message: &str) {
    eprintln!("bench_messages: {message}");
}

/// `rows` messages received `from_days` to `to_days` ago, ids from `first`.
fn generate_sql(first: u64, rows: u64, from_days: u32, to_days: u32) -> String {
    let span_ms = u64::from(from_days - to_days) * 86_400_000;
    let step_ms = (span_ms / rows.max(1)).max(1);
    format!(
        "INSERT INTO messages (number, provider, provider_message_id, sender, body, received_at,
             stored_at, code, service, code_valid_secs)
         SELECT '+4477009' || lpad((i % 1000)::text, 5, '0'), 'bench', 'm-' || i,
                CASE WHEN i % 3 = 0 THEN 'WhatsApp' ELSE 'Telegram' END,
                'Your code is ' || lpad((i % 1000000)::text, 6, '0') || '. Do not share it.',
                now() - interval '{from_days} days' + ((i - {first}) * {step_ms}) * interval '1 millisecond',
                now(), lpad((i % 1000000)::text, 6, '0'),
                CASE WHEN i % 3 = 0 THEN 'WhatsApp' ELSE 'Telegram' END, 0
         FROM generate_series({first}::bigint, {last}::bigint) i",
        last = first + rows.max(1) - 1,
    )
}

/// One timing: the delete, the rows it removed and the writer's slowest insert.
struct Timing {
    took: Duration,
    deleted: u64,
    slowest_insert: Duration,
}

/// Runs `delete` while a writer stores a message every 5 ms.
async fn timed(
    store: &store::Store,
    delete: impl Future<Output = anyhow::Result<u64>>,
) -> anyhow::Result<Timing> {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move {
            let number = domain::E164::parse("+447700900001")?;
            let mut slowest = Duration::ZERO;
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                store
                    .insert_message(store::NewMessage {
                        number: number.clone(),
                        provider: "writer".into(),
                        provider_message_id: format!("w-{}-{i}", uuid::Uuid::new_v4().simple()),
                        sender: "Bank".into(),
                        body: "Your code is 123456".into(),
                        received_at: Utc::now(),
                    })
                    .await?;
                slowest = slowest.max(started.elapsed());
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            anyhow::Ok(slowest)
        }
    });
    let started = Instant::now();
    let deleted = delete.await;
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let slowest_insert = writer.await??;
    Ok(Timing {
        took,
        deleted: deleted?,
        slowest_insert,
    })
}

async fn settle(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    db.execute_unprepared("VACUUM ANALYZE messages").await?;
    db.execute_unprepared("CHECKPOINT").await?;
    Ok(())
}

/// The sweep and the plain delete of `expired` rows next to `kept` ones.
async fn measure(store: &store::Store, kept: u64, expired: u64) -> anyhow::Result<[Timing; 2]> {
    let db = store.connection();
    db.execute_unprepared("TRUNCATE messages").await?;
    let started = Instant::now();
    db.execute_unprepared(&generate_sql(0, kept, 29, 0)).await?;
    say(&format!(
        "{kept} kept rows in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    let mut timings = Vec::new();
    for (round, first) in [(0, 1_000_000_000), (1, 2_000_000_000)] {
        db.execute_unprepared(&generate_sql(first, expired, 32, 31))
            .await?;
        settle(db).await?;
        let timing = if round == 0 {
            timed(store, async {
                Ok(store.sweep_expired(BATCH, Duration::ZERO).await?.deleted)
            })
            .await?
        } else {
            timed(store, async {
                let cutoff = store::oldest_shown(Utc::now(), KEEP_DAYS);
                let result = db
                    .execute_raw(sea_orm::Statement::from_sql_and_values(
                        db.get_database_backend(),
                        "DELETE FROM messages WHERE received_at < $1",
                        [cutoff.into()],
                    ))
                    .await?;
                Ok(result.rows_affected())
            })
            .await?
        };
        if timing.deleted != expired {
            bail!("deleted {} of {expired} expired rows", timing.deleted);
        }
        say(&format!(
            "{} of {expired} expired rows: {:.3} s",
            if round == 0 { "sweep" } else { "plain DELETE" },
            timing.took.as_secs_f64()
        ));
        timings.push(timing);
    }
    let [sweep, plain]: [Timing; 2] = timings
        .try_into()
        .map_err(|_| anyhow::anyhow!("two timings"))?;
    Ok([sweep, plain])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let admin_url: String = env_or(
        "BENCH_ADMIN_URL",
        "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
    );
    let large: u64 = env_or("BENCH_MESSAGES_ROWS", 20_000_000);
    let small: u64 = env_or("BENCH_MESSAGES_SMALL_ROWS", 1_000_000).min(large);
    let expired: u64 = env_or("BENCH_MESSAGES_EXPIRED", 100_000).max(1);

    let (server, _) = admin_url.rsplit_once('/').context("admin URL")?;
    let name = format!(
        "cloudsms_bench_messages_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let result = async {
        let store = store::Store::connect(&format!("{server}/{name}"), 4)
            .await?
            .with_retention(store::Retention::new(KEEP_DAYS, Utc::now));
        store.migrate().await?;
        store
            .add_number(&domain::E164::parse("+447700900001")?, "bench")
            .await?;
        let mut measured = Vec::new();
        for kept in [small, large] {
            measured.push((kept, measure(&store, kept, expired).await?));
        }
        store.connection().clone().close().await?;
        anyhow::Ok(measured)
    }
    .await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    let measured = result?;

    println!(
        "| message sweep, {expired} messages past `messages.keep_days` | rows kept | deleted in | slowest insert meanwhile |"
    );
    println!("|---|---:|---:|---:|");
    for (kept, [sweep, plain]) in &measured {
        println!(
            "| `Store::sweep_expired` (batches of {BATCH}) | {kept} | {:.3} s | {:.1} ms |",
            sweep.took.as_secs_f64(),
            sweep.slowest_insert.as_secs_f64() * 1e3
        );
        println!(
            "| baseline: one `DELETE ... WHERE received_at < cutoff` | {kept} | {:.3} s | {:.1} ms |",
            plain.took.as_secs_f64(),
            plain.slowest_insert.as_secs_f64() * 1e3
        );
    }
    if let [
        (small_rows, [small_sweep, _]),
        (large_rows, [large_sweep, large_plain]),
    ] = measured.as_slice()
    {
        println!();
        println!(
            "Sweep at {small_rows} rows / at {large_rows} rows: {:.2} (target ≥ 0.5: the cost follows the expired rows, not the table). \
             Plain DELETE / sweep at {large_rows} rows: {:.2} (no target: the price of short transactions, which the persister's inserts do not wait behind; compare the slowest inserts).",
            small_sweep.took.as_secs_f64() / large_sweep.took.as_secs_f64().max(1e-9),
            large_plain.took.as_secs_f64() / large_sweep.took.as_secs_f64().max(1e-9),
        );
    }
    Ok(())
}
