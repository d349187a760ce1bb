//! What `/admin/stats` shows of a `StatsResponse`: headline numbers against
//! the previous period, SVG bar charts drawn on the server (no script, no
//! inline style: the CSP holds), top lists, and the same report as CSV.

use askama::Template;
use chrono::DateTime;
use proto::retention::v1::{Breakdown, SeriesPoint, StatsResponse, StatsTotals};

pub(super) struct Kpi {
    label: &'static str,
    value: String,
    previous: String,
    change: String,
    class: &'static str,
}

pub(super) struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    title: String,
}

pub(super) struct Label {
    x: String,
    y: String,
    anchor: &'static str,
    text: String,
}

pub(super) struct Chart {
    title: &'static str,
    bars: Vec<Bar>,
    line: String,
    area: String,
    labels: Vec<Label>,
    summary: String,
}

pub(super) struct Table {
    title: &'static str,
    key: &'static str,
    rows: Vec<Breakdown>,
    visitors: bool,
}

#[derive(Template)]
#[template(path = "admin_stats.html")]
pub(super) struct StatsPage {
    pub(super) css: String,
    pub(super) admin_css: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) bots: bool,
    pub(super) error: Option<String>,
    pub(super) period: String,
    pub(super) previous_period: String,
    pub(super) kpis: Vec<Kpi>,
    pub(super) charts: Vec<Chart>,
    pub(super) tables: Vec<Table>,
    pub(super) csv: String,
    /// The logout form's CSRF token (empty for a bearer token: no form).
    pub(super) logout_csrf: String,
}

fn duration(secs: f64) -> String {
    // Whole seconds are enough for a mean.
    let secs = secs.max(0.0).round() as u64;
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// Change of a count against the previous period.
fn change(now: f64, before: f64) -> (String, &'static str) {
    if before == 0.0 {
        return if now == 0.0 {
            (String::new(), "")
        } else {
            ("new".to_owned(), "up")
        };
    }
    let pct = (now - before) / before * 100.0;
    let class = if pct > 0.0 {
        "up"
    } else if pct < 0.0 {
        "down"
    } else {
        ""
    };
    (format!("{pct:+.0}%"), class)
}

pub(super) fn kpis(now: &StatsTotals, before: &StatsTotals, current: u64) -> Vec<Kpi> {
    let count = |label, a: u64, b: u64| {
        let (change, class) = change(a as f64, b as f64);
        Kpi {
            label,
            value: a.to_string(),
            previous: b.to_string(),
            change,
            class,
        }
    };
    let points = |a: f64, b: f64| {
        let diff = (a - b) * 100.0;
        if now.visits == 0 && before.visits == 0 {
            String::new()
        } else {
            format!("{diff:+.1} pt")
        }
    };
    vec![
        count("Unique visitors", now.visitors, before.visitors),
        count("Visits", now.visits, before.visits),
        count("Pageviews", now.pageviews, before.pageviews),
        Kpi {
            label: "Bounce rate",
            value: percent(now.bounce_rate),
            previous: percent(before.bounce_rate),
            change: points(now.bounce_rate, before.bounce_rate),
            class: "",
        },
        Kpi {
            label: "Visit duration",
            value: duration(now.mean_visit_secs),
            previous: duration(before.mean_visit_secs),
            change: change(now.mean_visit_secs, before.mean_visit_secs).0,
            class: "",
        },
        Kpi {
            label: "Current visitors",
            value: current.to_string(),
            previous: String::new(),
            change: String::new(),
            class: "",
        },
        Kpi {
            label: "Crawler share",
            value: percent(now.crawler_share),
            previous: percent(before.crawler_share),
            change: points(now.crawler_share, before.crawler_share),
            class: "",
        },
        count("Crashes", now.crashes, before.crashes),
    ]
}

const W: f64 = 720.0;
const H: f64 = 200.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

pub(super) fn day_label(unix: i64, with_hour: bool) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|t| {
            if with_hour {
                t.format("%Y-%m-%d %H:00").to_string()
            } else {
                t.format("%Y-%m-%d").to_string()
            }
        })
        .unwrap_or_default()
}

fn axis_labels(first: i64, last: i64, max: u64, hours: bool) -> Vec<Label> {
    vec![
        Label {
            x: fmt(LEFT - 4.0),
            y: fmt(TOP + 8.0),
            anchor: "end",
            text: max.to_string(),
        },
        Label {
            x: fmt(LEFT - 4.0),
            y: fmt(H - BOTTOM),
            anchor: "end",
            text: "0".to_owned(),
        },
        Label {
            x: fmt(LEFT),
            y: fmt(H - 6.0),
            anchor: "start",
            text: day_label(first, hours),
        },
        Label {
            x: fmt(W - RIGHT),
            y: fmt(H - 6.0),
            anchor: "end",
            text: day_label(last, hours),
        },
    ]
}

/// Visitors per day as bars.
pub(super) fn day_chart(days: &[SeriesPoint]) -> Chart {
    let max = days.iter().map(|d| d.visitors).max().unwrap_or(0).max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let step = plot_w / days.len().max(1) as f64;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h = d.visitors as f64 / max as f64 * plot_h;
            Bar {
                x: fmt(LEFT + i as f64 * step + step * 0.1),
                y: fmt(TOP + plot_h - h),
                w: fmt((step * 0.8).max(0.5)),
                h: fmt(h),
                title: format!(
                    "{}: {} visitors, {} pageviews",
                    day_label(d.start_unix, false),
                    d.visitors,
                    d.pageviews
                ),
            }
        })
        .collect();
    let first = days.first().map_or(0, |d| d.start_unix);
    let last = days.last().map_or(0, |d| d.start_unix);
    Chart {
        title: "Visitors per day",
        bars,
        line: String::new(),
        area: String::new(),
        labels: axis_labels(first, last, max, false),
        summary: format!(
            "{} visitors over {} days",
            days.iter().map(|d| d.visitors).sum::<u64>(),
            days.len()
        ),
    }
}

/// Pageviews per hour as a line over an area.
pub(super) fn hour_chart(hours: &[SeriesPoint]) -> Chart {
    let max = hours.iter().map(|h| h.pageviews).max().unwrap_or(0).max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let step = plot_w / (hours.len().max(2) - 1) as f64;
    let points: Vec<String> = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let y = TOP + plot_h - h.pageviews as f64 / max as f64 * plot_h;
            format!("{},{}", fmt(LEFT + i as f64 * step), fmt(y))
        })
        .collect();
    let line = points.join(" ");
    let base = fmt(TOP + plot_h);
    let last_x = fmt(LEFT + (hours.len().max(1) - 1) as f64 * step);
    let area = if points.is_empty() {
        String::new()
    } else {
        format!("{},{base} {line} {last_x},{base}", fmt(LEFT))
    };
    let first = hours.first().map_or(0, |h| h.start_unix);
    let last = hours.last().map_or(0, |h| h.start_unix);
    Chart {
        title: "Pageviews per hour",
        bars: Vec::new(),
        line,
        area,
        labels: axis_labels(first, last, max, true),
        summary: format!(
            "{} pageviews over {} hours, at most {max} in one hour",
            hours.iter().map(|h| h.pageviews).sum::<u64>(),
            hours.len()
        ),
    }
}

pub(super) fn tables(r: &StatsResponse) -> Vec<Table> {
    let t = |title, key, rows: &Vec<Breakdown>, visitors| Table {
        title,
        key,
        rows: rows.clone(),
        visitors,
    };
    vec![
        t("Top pages", "Page", &r.top_pages, true),
        t("Top numbers", "Number", &r.top_numbers, true),
        t("Entry pages", "Page", &r.entry_pages, true),
        t("Referrers", "Site", &r.referrers, true),
        t("utm_source", "Source", &r.utm_sources, true),
        t("Browsers", "Browser", &r.browsers, true),
        t("Operating systems", "OS", &r.operating_systems, true),
        t("Devices", "Device", &r.devices, true),
        t("Countries", "Country", &r.countries, true),
        t("Crashes", "Message", &r.crash_messages, false),
    ]
}

pub(super) fn period(from: i64, to: i64) -> String {
    let last = to - 86_400;
    format!(
        "{} to {} (UTC)",
        day_label(from, false),
        day_label(last.max(from), false)
    )
}

/// The report as CSV: `section,key,visitors,pageviews,value`.
pub(super) fn csv_text(r: &StatsResponse) -> String {
    let mut out = String::from("section,key,visitors,pageviews,value\n");
    let mut line = |section: &str, key: &str, visitors: &str, views: &str, value: &str| {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            domain::csv_cell(section),
            domain::csv_cell(key),
            visitors,
            views,
            domain::csv_cell(value)
        ));
    };
    for (section, t) in [("total", r.totals), ("previous", r.previous)] {
        let t = t.unwrap_or_default();
        for (key, value) in [
            ("visitors", t.visitors.to_string()),
            ("visits", t.visits.to_string()),
            ("pageviews", t.pageviews.to_string()),
            ("bounces", t.bounces.to_string()),
            ("bounce_rate", format!("{:.4}", t.bounce_rate)),
            ("mean_visit_secs", format!("{:.1}", t.mean_visit_secs)),
            ("bot_pageviews", t.bot_pageviews.to_string()),
            ("all_pageviews", t.all_pageviews.to_string()),
            ("crawler_share", format!("{:.4}", t.crawler_share)),
            ("crashes", t.crashes.to_string()),
        ] {
            line(section, key, "", "", &value);
        }
    }
    line(
        "total",
        "current_visitors",
        "",
        "",
        &r.current_visitors.to_string(),
    );
    for d in &r.days {
        line(
            "day",
            &day_label(d.start_unix, false),
            &d.visitors.to_string(),
            &d.pageviews.to_string(),
            "",
        );
    }
    for h in &r.hours {
        line(
            "hour",
            &DateTime::from_timestamp(h.start_unix, 0)
                .map(|t| t.format("%Y-%m-%dT%H:00Z").to_string())
                .unwrap_or_default(),
            &h.visitors.to_string(),
            &h.pageviews.to_string(),
            "",
        );
    }
    for (section, list) in [
        ("page", &r.top_pages),
        ("number", &r.top_numbers),
        ("entry_page", &r.entry_pages),
        ("referrer", &r.referrers),
        ("utm_source", &r.utm_sources),
        ("browser", &r.browsers),
        ("os", &r.operating_systems),
        ("device", &r.devices),
        ("country", &r.countries),
        ("crash", &r.crash_messages),
    ] {
        for b in list {
            line(
                section,
                &b.key,
                &b.visitors.to_string(),
                &b.pageviews.to_string(),
                "",
            );
        }
    }
    out
}
