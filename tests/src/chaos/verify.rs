//! After a chaos run: every accepted webhook stored exactly once and listed
//! exactly once by the API, every log event stored exactly once, and the
//! table that says so.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::chaos::load::{NUMBERS, sid_of_body};

/// A database of its own on the test Postgres, dropped by [`TempDb::drop_now`].
pub struct TempDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// A connection to the server's `postgres` database.
    pub admin: DatabaseConnection,
}

impl TempDb {
    /// Creates `cloudsms_<kind>_<run>` on the Postgres at `TEST_POSTGRES_URL`
    /// (default `postgres://postgres@127.0.0.1:5432/postgres`).
    pub async fn create(kind: &str, run: &str) -> anyhow::Result<Self> {
        let admin_url = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let server = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(s, _)| s)
            .to_owned();
        let name = format!("cloudsms_{kind}_{run}");
        let admin = Database::connect(&admin_url).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(Self {
            url: format!("{server}/{name}"),
            name,
            admin,
        })
    }

    /// Closes every connection to it (a Postgres fault).
    pub async fn drop_connections(&self) -> anyhow::Result<()> {
        self.admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ))
            .await?;
        Ok(())
    }

    /// Drops it.
    pub async fn drop_now(&self) {
        let _ = self
            .admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await;
    }
}

async fn query_pairs(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// Every message the API lists for `number`, newest first, paging through:
/// (id, text).
pub async fn listed(gateway: &str, number: &str) -> anyhow::Result<Vec<(i64, String)>> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut url = format!("{gateway}/api/v1/numbers/{number}/messages");
        if let Some(b) = &before {
            url.push_str(&format!("?before={b}"));
        }
        let page: serde_json::Value = client.get(&url).send().await?.json().await?;
        for m in page["messages"].as_array().context("no messages array")? {
            out.push((
                m["id"].as_i64().unwrap_or_default(),
                m["body"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        match page["next_before"].as_str() {
            Some(b) => before = Some(b.to_owned()),
            None => return Ok(out),
        }
    }
}

/// What ended up stored and shown.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Accepted webhooks not stored.
    pub lost: Vec<String>,
    /// Webhooks stored more than once.
    pub stored_twice: usize,
    /// Accepted webhooks the API does not list.
    pub not_listed: usize,
    /// Webhooks the API lists more than once (the hot first page: `hot_repeats`).
    pub listed_twice: usize,
    /// Repeats on the first pages (the hot lists, from Redis).
    pub hot_repeats: usize,
    /// Log events stored.
    pub log_rows: usize,
    /// Log events stored more than once.
    pub logs_twice: usize,
    /// From the end of the load until everything was stored.
    pub settle: Duration,
}

impl Outcome {
    /// Why the run fails on what was stored and shown.
    pub fn failures(&self, log_sent: usize) -> Vec<String> {
        let mut out = Vec::new();
        if !self.lost.is_empty() {
            out.push(format!(
                "{} accepted webhooks lost, e.g. {:?}",
                self.lost.len(),
                &self.lost[..self.lost.len().min(5)]
            ));
        }
        if self.stored_twice + self.listed_twice + self.hot_repeats + self.logs_twice > 0 {
            out.push("duplicates".to_owned());
        }
        if self.not_listed > 0 {
            out.push(format!("{} stored messages not listed", self.not_listed));
        }
        if self.log_rows != log_sent {
            out.push(format!("{} of {log_sent} log events stored", self.log_rows));
        }
        out
    }

    /// Its rows of the report table.
    pub fn rows(&self, log_sent: usize) -> Vec<(String, String)> {
        vec![
            (
                "accepted but not stored".into(),
                self.lost.len().to_string(),
            ),
            (
                "stored more than once".into(),
                self.stored_twice.to_string(),
            ),
            (
                "accepted but not listed by the API".into(),
                self.not_listed.to_string(),
            ),
            (
                "listed more than once".into(),
                format!("{} (hot page: {})", self.listed_twice, self.hot_repeats),
            ),
            (
                "log events stored / published".into(),
                format!("{} / {log_sent}", self.log_rows),
            ),
            (
                "log events stored more than once".into(),
                self.logs_twice.to_string(),
            ),
            (
                "settling after the load".into(),
                format!("{:.1} s", self.settle.as_secs_f64()),
            ),
        ]
    }
}

/// Waits (up to 4 minutes) until every accepted webhook and log event of
/// run `run` is stored, then checks stored and listed (through `gateway`)
/// for repeats and gaps.
pub async fn check(
    db_url: &str,
    gateway: &str,
    run: &str,
    accepted: &[String],
    numbers: &HashMap<String, &'static str>,
    log_sent: usize,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let db = Database::connect(db_url).await?;
    let accepted_set: HashSet<&String> = accepted.iter().collect();
    let deadline = Instant::now() + Duration::from_secs(240);
    let (stored, log_rows) = loop {
        let stored = query_pairs(
            &db,
            "SELECT provider_message_id, COUNT(*) FROM messages \
             WHERE provider = 'twilio' GROUP BY provider_message_id",
        )
        .await?;
        let log_rows = query_pairs(
            &db,
            &format!(
                "SELECT event_id, COUNT(*) FROM access_log \
                 WHERE event_id LIKE 'chaos-{run}-%' GROUP BY event_id"
            ),
        )
        .await?;
        let have: HashSet<&String> = stored.iter().map(|(id, _)| id).collect();
        if accepted_set.is_subset(&have) && log_rows.len() >= log_sent || Instant::now() > deadline
        {
            break (stored, log_rows);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut outcome = Outcome {
        settle: started.elapsed(),
        ..Outcome::default()
    };
    let have: HashSet<&String> = stored.iter().map(|(id, _)| id).collect();
    outcome.lost = accepted_set
        .difference(&have)
        .map(|s| (*s).clone())
        .collect();
    outcome.stored_twice = stored.iter().filter(|(_, n)| *n > 1).count();
    outcome.log_rows = log_rows.len();
    outcome.logs_twice = log_rows.iter().filter(|(_, n)| *n > 1).count();

    let mut per_number: HashMap<&str, HashSet<&str>> = HashMap::new();
    for sid in accepted {
        if let Some(n) = numbers.get(sid) {
            per_number.entry(n).or_default().insert(sid.as_str());
        }
    }
    for number in NUMBERS {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (_, body) in listed(gateway, number).await? {
            if let Some(sid) = sid_of_body(&body) {
                *seen.entry(sid.to_owned()).or_default() += 1;
            }
        }
        outcome.listed_twice += seen.values().filter(|n| **n > 1).count();
        outcome.not_listed += per_number.get(number).map_or(0, |want| {
            want.iter().filter(|s| !seen.contains_key(**s)).count()
        });
        // The newest messages come from the hot list (Redis): no repeats there.
        let page: serde_json::Value =
            reqwest::get(format!("{gateway}/api/v1/numbers/{number}/messages"))
                .await?
                .json()
                .await?;
        let ids: Vec<i64> = page["messages"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["id"].as_i64()).collect())
            .unwrap_or_default();
        outcome.hot_repeats += ids.len() - ids.iter().collect::<HashSet<_>>().len();
    }
    Ok(outcome)
}

/// Prints `rows` as a Markdown table headed `title` | result.
pub fn print_table(title: &str, rows: &[(String, String)]) {
    println!();
    println!("| {title} | result |");
    println!("|---|---:|");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
}

/// Waits up to `within` for `url` to answer 2xx.
pub async fn ready(url: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
