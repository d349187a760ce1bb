//! `cloudsms dlq list|replay|drop`: the dead-lettered events of the
//! installation's NATS (stream `DLQ`, or `<PREFIX>_DLQ` with `bus.prefix`).
//! Payloads are summarised, never printed: SMS text is escaped and clipped.

use anyhow::Context;
use bus::{Bus, DeadLetter, DeadLetters, Replayed};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use config::Settings;

#[derive(Subcommand)]
pub enum DlqAction {
    /// Lists dead letters, oldest first: sequence, time, original subject,
    /// reason and a summary of the event.
    List {
        /// One JSON array of {seq, time, subject, reason, type, summary, bytes}.
        #[arg(long)]
        json: bool,
        /// Most dead letters shown.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// First sequence shown.
        #[arg(long, default_value_t = 1)]
        from: u64,
    },
    /// Publishes dead letters again to their original subjects (their
    /// consumers take them again) and removes each from the DLQ once its
    /// stream acknowledged it.
    Replay(Selection),
    /// Deletes dead letters.
    Drop(Selection),
}

/// Which dead letters.
#[derive(Args)]
pub struct Selection {
    /// Sequences, as `list` shows them.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    seqs: Vec<u64>,
    /// Every dead letter the DLQ holds now.
    #[arg(long)]
    all: bool,
}

/// Longest reason kept (dead-lettering keeps 200 characters).
const REASON_CHARS: usize = 200;

/// A page of `--all`.
const PAGE: usize = 1000;

pub async fn run(settings: &Settings, action: DlqAction) -> anyhow::Result<()> {
    if settings.nats.url.is_empty() {
        anyhow::bail!(
            "the bus is in-process (nats.url is not set): dead letters stay inside the \
             process that made them (`cloudsms all`), no other process can list them, and \
             they are gone when it stops; each one is logged (\"message dead-lettered\"). \
             Set nats.url (CLOUDSMS_NATS__URL) to reach an installation's DLQ on NATS."
        );
    }
    let bus = Bus::connect_existing(settings)
        .await
        .context("connecting to NATS")?;
    let dlq = bus.dead_letters();
    let hint = || {
        format!(
            "stream {} (is bus.prefix {:?} the installation's?)",
            dlq.stream_name(),
            settings.bus.prefix
        )
    };
    match action {
        DlqAction::List { json, limit, from } => {
            let total = dlq.count().await.with_context(hint)?;
            let listed = dlq.list(from, limit).await.with_context(hint)?;
            if json {
                let entries: Vec<serde_json::Value> = listed.iter().map(to_json).collect();
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                print_list(&dlq, total, &listed);
            }
            Ok(())
        }
        DlqAction::Replay(selection) => {
            let seqs = select(&dlq, selection).await.with_context(hint)?;
            settle(&seqs, ("replay", "replayed"), |seq| {
                let dlq = dlq.clone();
                async move {
                    match dlq.replay(seq).await? {
                        Some(Replayed::Published) => Ok(Some(format!("replayed {seq}"))),
                        Some(Replayed::AlreadyPublished) => Ok(Some(format!(
                            "replayed {seq} (its earlier replay had been published; not twice)"
                        ))),
                        None => Ok(None),
                    }
                }
            })
            .await
        }
        DlqAction::Drop(selection) => {
            let seqs = select(&dlq, selection).await.with_context(hint)?;
            settle(&seqs, ("drop", "dropped"), |seq| {
                let dlq = dlq.clone();
                async move { Ok(dlq.delete(seq).await?.then(|| format!("dropped {seq}"))) }
            })
            .await
        }
    }
}

/// The sequences `selection` names: as given, or every one held now.
async fn select(dlq: &DeadLetters, selection: Selection) -> anyhow::Result<Vec<u64>> {
    if !selection.all {
        return Ok(selection.seqs);
    }
    let mut seqs = Vec::new();
    let mut from = 1;
    loop {
        let page = dlq.list(from, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(seqs);
        };
        from = last.seq + 1;
        seqs.extend(page.iter().map(|d| d.seq));
    }
}

/// Runs `one` for every sequence, printing what each did; an error or a
/// sequence the DLQ does not hold fails the command after the others ran.
async fn settle<F, Fut>(seqs: &[u64], (verb, done): (&str, &str), one: F) -> anyhow::Result<()>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<Option<String>, bus::BusError>>,
{
    let mut failed = 0;
    for &seq in seqs {
        match one(seq).await {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {
                eprintln!("cannot {verb} {seq}: no dead letter {seq} in the DLQ");
                failed += 1;
            }
            Err(err) => {
                eprintln!("cannot {verb} {seq}: {err}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} dead letters not {done}", seqs.len());
    }
    if seqs.is_empty() {
        println!("no dead letters");
    }
    Ok(())
}

fn time(dead: &DeadLetter) -> String {
    DateTime::<Utc>::from(dead.time).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn reason(dead: &DeadLetter) -> Option<String> {
    dead.reason
        .as_deref()
        .map(|r| domain::log_safe_clipped(r, REASON_CHARS))
}

fn to_json(dead: &DeadLetter) -> serde_json::Value {
    let summary = crate::dlq_summary::summarise(dead);
    serde_json::json!({
        "seq": dead.seq,
        "time": time(dead),
        "subject": domain::log_safe_clipped(&dead.subject, REASON_CHARS),
        "reason": reason(dead),
        "type": summary.kind,
        "summary": summary.text,
        "bytes": dead.payload.len(),
    })
}

fn print_list(dlq: &DeadLetters, total: u64, listed: &[DeadLetter]) {
    if listed.is_empty() {
        if total == 0 {
            println!("no dead letters in stream {}", dlq.stream_name());
        } else {
            println!(
                "{total} dead letters in stream {}, none from that sequence on",
                dlq.stream_name()
            );
        }
        return;
    }
    println!(
        "{total} dead letters in stream {} (showing {})",
        dlq.stream_name(),
        listed.len()
    );
    for dead in listed {
        let summary = crate::dlq_summary::summarise(dead);
        println!();
        println!(
            "#{}  {}  {}",
            dead.seq,
            time(dead),
            domain::log_safe_clipped(&dead.subject, REASON_CHARS)
        );
        println!(
            "    reason: {}",
            reason(dead).unwrap_or_else(|| "(none given)".into())
        );
        println!(
            "    {} ({} bytes): {}",
            summary.kind,
            dead.payload.len(),
            summary.text
        );
    }
}
