//! `cloudsms numbers add|list|retire|keep-days`: the operator's numbers.

use anyhow::Context;
use chrono::SecondsFormat;
use clap::Subcommand;
use config::Settings;
use domain::E164;

#[derive(Subcommand)]
pub enum NumbersAction {
    /// Registers a number, or re-activates a retired one. A number already
    /// registered keeps its label unless --relabel is given: another
    /// --label alone is refused and changes nothing.
    Add {
        /// E.164, e.g. +14155550123.
        e164: String,
        /// A note for operators (carrier, SIM slot...).
        #[arg(long)]
        label: Option<String>,
        /// Replace the label of a number already registered.
        #[arg(long, requires = "label")]
        relabel: bool,
        /// Days this number's messages are shown and kept, instead of the
        /// global `messages.keep_days`.
        #[arg(long, value_parser = keep_days_arg)]
        keep_days: Option<u32>,
    },
    /// Lists numbers, by country then number.
    List {
        /// Also show retired numbers.
        #[arg(long)]
        all: bool,
        /// One JSON array of {e164, country, active, label, created_at,
        /// keep_days} (`keep_days` null: the global `messages.keep_days`).
        #[arg(long)]
        json: bool,
    },
    /// Sets how many days a number's messages are shown and kept
    /// (`default`: the global `messages.keep_days` again). Older messages
    /// disappear from the site at once; the next sweep deletes them.
    KeepDays {
        /// E.164 of the number.
        e164: String,
        /// Days (1 to 36500), or `default`.
        days: String,
    },
    /// Retires a number: it stops receiving and disappears from the site.
    Retire {
        /// E.164 of the number.
        e164: String,
    },
}

pub async fn run(settings: &Settings, action: NumbersAction) -> anyhow::Result<()> {
    let store = crate::connect_store(settings).await?;
    store.migrate().await?;
    match action {
        NumbersAction::Add {
            e164,
            label,
            relabel,
            keep_days,
        } => {
            if let Some(row) = add(&store, &e164, label, relabel).await?
                && row.active
            {
                announce(
                    settings,
                    &proto::events::v1::NumberRegistered {
                        e164: row.e164,
                        label: row.label,
                        provider: row.provider,
                        at: Some(now()),
                    },
                )
                .await;
            }
            if let Some(days) = keep_days {
                set_keep_days(&store, &parse(&e164)?, Some(days)).await?;
            }
        }
        NumbersAction::KeepDays { e164, days } => {
            let number = parse(&e164)?;
            let days = match days.as_str() {
                "default" => None,
                days => Some(keep_days_arg(days).map_err(anyhow::Error::msg)?),
            };
            set_keep_days(&store, &number, days).await?;
        }
        NumbersAction::List { all, json } => {
            let rows = store.list_numbers(all).await?;
            if json {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|row| {
                        serde_json::json!({
                            "e164": row.e164,
                            "country": row.country,
                            "active": row.active,
                            "label": row.label,
                            "created_at": row.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                            "keep_days": row.keep_days,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for row in rows {
                    let state = if row.active { "active" } else { "retired" };
                    let kept = row
                        .keep_days
                        .map(|days| format!("\tkeeps messages {days} days"))
                        .unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t{}{kept}",
                        row.e164, row.country, state, row.label
                    );
                }
            }
        }
        NumbersAction::Retire { e164 } => {
            let number = parse(&e164)?;
            if store.retire_number(&number).await? {
                println!("retired {number}");
                announce(
                    settings,
                    &proto::events::v1::NumberRetired {
                        e164: number.as_str().to_owned(),
                        at: Some(now()),
                    },
                )
                .await;
            } else {
                anyhow::bail!("{number} is not registered");
            }
        }
    }
    Ok(())
}

/// A number's own message period: whole days, 1 to [`config::MAX_KEEP_DAYS`].
fn keep_days_arg(raw: &str) -> Result<u32, String> {
    match raw.parse::<u32>() {
        Ok(days) if (1..=config::MAX_KEEP_DAYS).contains(&days) => Ok(days),
        _ => Err(format!(
            "{raw:?}: days must be a whole number from 1 to {} (or `default`)",
            config::MAX_KEEP_DAYS
        )),
    }
}

/// Gives `number` its own message period (`None`: the global one).
async fn set_keep_days(
    store: &store::Store,
    number: &E164,
    days: Option<u32>,
) -> anyhow::Result<()> {
    if !store.set_number_keep_days(number, days).await? {
        anyhow::bail!("{number} is not registered");
    }
    match days {
        Some(days) => println!("{number} keeps its messages {days} days"),
        None => println!("{number} keeps its messages the default messages.keep_days"),
    }
    Ok(())
}

fn now() -> proto::Timestamp {
    proto::timestamp_from_unix_millis(chrono::Utc::now().timestamp_millis())
}

/// Tells the running gateways and message-ingest replicas at once (they
/// would otherwise see the change after their registry cache time). Only
/// with NATS (`nats.url`): an embedded site runs in one process that asks
/// the database. A failure is reported, not fatal: the change is stored.
async fn announce<E: bus::Event>(settings: &Settings, event: &E) {
    if settings.nats.url.is_empty() {
        return;
    }
    let sent = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let bus = bus::Bus::connect_existing(settings).await?;
        bus.publish(event).await?;
        // A core NATS publish is buffered by the client: give it time to
        // leave before the process exits.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        Ok::<(), bus::BusError>(())
    })
    .await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(err)) => eprintln!(
            "warning: running services not told at once ({err}); they see it within their registry cache time"
        ),
        Err(_) => eprintln!(
            "warning: running services not told at once (NATS did not answer); they see it within their registry cache time"
        ),
    }
}

fn parse(e164: &str) -> anyhow::Result<E164> {
    E164::parse(e164).with_context(|| format!("{e164:?}"))
}

/// Registers `e164`, or says what it found: a number already registered is
/// re-activated when retired, and relabelled only with `relabel`.
async fn add(
    store: &store::Store,
    e164: &str,
    label: Option<String>,
    relabel: bool,
) -> anyhow::Result<Option<store::NumberRow>> {
    let number = parse(e164)?;
    let Some(existing) = store.find_number(number.as_str()).await? else {
        let row = store
            .add_number(&number, label.as_deref().unwrap_or_default())
            .await?;
        println!("added {} ({})", row.e164, number.country().name);
        return Ok(Some(row));
    };
    let new_label = label.filter(|label| *label != existing.label);
    if let Some(new_label) = &new_label
        && !relabel
    {
        anyhow::bail!(
            "{number} is already registered ({}) with label {:?}; nothing changed \
             (add --relabel to change its label to {new_label:?})",
            if existing.active { "active" } else { "retired" },
            existing.label,
        );
    }
    let mut done = Vec::new();
    let mut reactivated = None;
    if !existing.active {
        // Re-activates and keeps the label.
        reactivated = Some(store.add_number(&number, "").await?);
        done.push("re-activated".to_owned());
    }
    if let Some(new_label) = &new_label {
        store.set_number_label(&number, new_label).await?;
        done.push(format!("relabelled {:?} -> {new_label:?}", existing.label));
    }
    if done.is_empty() {
        println!(
            "{number} is already registered (active, label {:?}); nothing changed",
            existing.label
        );
    } else {
        println!("{number} was already registered: {}", done.join(", "));
    }
    Ok(reactivated)
}
