//! Visitor statistics for the operator: a generated month of traffic with
//! known answers, published on the LOGS stream and read back through
//! log-retention's `StatsService` and the gateway's `/admin/stats`; daily
//! salted visitor hashes that cannot be joined across days.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use cloudsms_tests::{Mode, TestApp, both_modes};
use log_retention::{Kind, LogRow, LogStore};
use proto::events::v1::{CrashReported, DeviceClass, RequestLogged, RouteKind};
use proto::retention::v1::stats_service_client::StatsServiceClient;
use proto::retention::v1::{Breakdown, StatsRequest, StatsResponse};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "operator-token-for-tests-0123456789";
const HOST: &str = "cloudsms.test";

/// A gateway whose `retention_url` points at a log-retention (consumer and
/// gRPC) running next to it; `token` is `gateway.admin_token`.
struct Setup {
    app: TestApp,
    store: LogStore,
    stats: StatsServiceClient<tonic::transport::Channel>,
    stop: CancellationToken,
}

impl Setup {
    async fn start(mode: Mode, token: &str) -> Self {
        let (app, store, url, stop) = cloudsms_tests::spawn_with_retention(
            mode,
            &format!("admin_token = \"{token}\""),
            false,
        )
        .await;
        let stats = StatsServiceClient::connect(url).await.unwrap();
        Self {
            app,
            store,
            stats,
            stop,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        self.app.stop().await;
    }

    /// Polls until the store holds `stat_rows` statistics rows and `crashes`
    /// crash reports; panics after 20 s.
    async fn wait_for_rows(&self, stat_rows: u64, crashes: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let rows = self.store.stat_rows().await.unwrap();
            let crash = self.store.count(Kind::Crash).await.unwrap();
            if rows >= stat_rows && crash >= crashes {
                assert_eq!(rows, stat_rows, "no more statistics rows than expected");
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{rows} statistics rows and {crash} crashes after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn report(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bots: bool,
    ) -> StatsResponse {
        self.stats
            .stats(StatsRequest {
                from_unix: from.timestamp(),
                to_unix: to.timestamp(),
                include_bots: bots,
                limit: 0,
            })
            .await
            .unwrap()
            .into_inner()
    }
}

fn ts(at: DateTime<Utc>) -> Option<proto::Timestamp> {
    Some(proto::timestamp_from_unix_millis(at.timestamp_millis()))
}

/// One page request as the gateway logs it.
struct Hit<'a> {
    visitor: &'a str,
    path: &'a str,
    status: u32,
    referrer: &'a str,
    utm: &'a str,
    browser: &'a str,
    os: &'a str,
    device: DeviceClass,
}

/// The route, its kind and its number, as the gateway logs them, of the
/// paths the generated traffic visits.
fn gateway_route(path: &str) -> (&'static str, RouteKind, &str) {
    match path {
        "/" => ("/", RouteKind::Page, ""),
        "/latest" => ("/latest", RouteKind::Page, ""),
        "/static/site.css" => ("/static/{file}", RouteKind::Asset, ""),
        "/api/v1/numbers" => ("/api/v1/numbers", RouteKind::Api, ""),
        "/admin/stats" => ("/admin/stats", RouteKind::Admin, ""),
        _ => match path.strip_prefix("/numbers/") {
            Some(number) => ("/numbers/{e164}", RouteKind::NumberPage, number),
            None => ("", RouteKind::NotFound, ""),
        },
    }
}

impl Hit<'_> {
    fn at(&self, id: String, at: DateTime<Utc>) -> RequestLogged {
        let (route, kind, number) = gateway_route(self.path);
        RequestLogged {
            event_id: id,
            ts: ts(at),
            visitor_id: self.visitor.into(),
            ip: "192.0.2.10".into(),
            method: "GET".into(),
            path: self.path.into(),
            status: self.status,
            latency_us: 900,
            referrer: self.referrer.into(),
            browser_family: self.browser.into(),
            os_family: self.os.into(),
            device_class: self.device.into(),
            utm_source: self.utm.into(),
            host: HOST.into(),
            route: route.into(),
            route_kind: kind.into(),
            number: number.into(),
            ..Default::default()
        }
    }
}

fn human<'a>(visitor: &'a str, path: &'a str) -> Hit<'a> {
    Hit {
        visitor,
        path,
        status: 200,
        referrer: "",
        utm: "",
        browser: "Firefox",
        os: "Linux",
        device: DeviceClass::Desktop,
    }
}

const VISITOR_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const N1: &str = "/numbers/+447700900001";
const N2: &str = "/numbers/+447700900002";
const DAYS: u64 = 30;

/// First day of the generated month: 35 days ago, so the whole month and
/// the day before it are inside the retention and before today.
fn month_start() -> NaiveDate {
    Utc::now().date_naive() - Days::new(35)
}

fn at(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    day.and_hms_opt(h, m, 0).unwrap().and_utc()
}

/// The generated month. Every day `i` of 30:
/// - visitor A (same cookie every day, Firefox on Linux): a visit of three
///   pages at 10:00, 10:05, 10:10 (entry `/` from google), a 404 at 10:02,
///   an asset, an API call and the operator page in between (none of which
///   count), then a one-page visit of `/latest` at 11:00 (gap 50 min);
/// - on even days visitor B_i (Chrome on Android): one page, N1, from
///   Hacker News with `utm_source=newsletter`;
/// - a crawler with a new cookie each day: two pages at 03:00 and 03:01.
///
/// Plus one page view the day before (the previous period), two visitors
/// now (current visitors) and three crash reports in the month.
/// Returns the events and the number of statistics rows they make.
fn month_of_traffic() -> (Vec<RequestLogged>, Vec<CrashReported>, u64) {
    let d0 = month_start();
    let mut events = Vec::new();
    let mut rows = 0;
    let mut n = 0;
    let mut id = || {
        n += 1;
        format!("gen-{n:05}")
    };
    for i in 0..DAYS {
        let day = d0 + Days::new(i);
        let a = |path| human(VISITOR_A, path);
        let mut from_google = a("/");
        from_google.referrer = "https://www.google.com";
        events.push(from_google.at(id(), at(day, 10, 0)));
        let mut internal = a(N1);
        internal.referrer = "https://cloudsms.test";
        events.push(internal.at(id(), at(day, 10, 5)));
        let mut missing = a("/nowhere");
        missing.status = 404;
        events.push(missing.at(id(), at(day, 10, 2)));
        events.push(a("/static/site.css").at(id(), at(day, 10, 3)));
        events.push(a("/api/v1/numbers").at(id(), at(day, 10, 4)));
        events.push(a("/admin/stats").at(id(), at(day, 10, 6)));
        events.push(a(N2).at(id(), at(day, 10, 10)));
        events.push(a("/latest").at(id(), at(day, 11, 0)));
        rows += 4; // three pages and /latest (a path no route matched is no page)
        if i % 2 == 0 {
            let visitor = format!("b{i:031}");
            let mut b = human(&visitor, N1);
            b.referrer = "https://news.ycombinator.com";
            b.utm = "newsletter";
            b.browser = "Chrome";
            b.os = "Android";
            b.device = DeviceClass::Mobile;
            events.push(b.at(id(), at(day, 12, 0)));
            rows += 1;
        }
        let bot_id = format!("c{i:031}");
        let mut bot = human(&bot_id, "/");
        bot.browser = "Bot";
        bot.os = "Other";
        bot.device = DeviceClass::Bot;
        events.push(bot.at(id(), at(day, 3, 0)));
        events.push(bot.at(id(), at(day, 3, 1)));
        rows += 2;
    }
    events.push(human(VISITOR_A, "/").at(id(), at(d0 - Days::new(1), 9, 0)));
    let now = Utc::now();
    events.push(human("d0000000000000000000000000000001", "/").at(id(), now));
    events.push(human("d0000000000000000000000000000002", N2).at(id(), now));
    rows += 3;
    let crashes = (0..3)
        .map(|k| CrashReported {
            event_id: id(),
            ts: ts(at(d0 + Days::new(k), 10, 7)),
            visitor_id: VISITOR_A.into(),
            page: "/".into(),
            message: "TypeError: x is undefined".into(),
            ..Default::default()
        })
        .collect();
    (events, crashes, rows)
}

fn entries(list: &[Breakdown]) -> Vec<(&str, u64)> {
    list.iter().map(|b| (b.key.as_str(), b.pageviews)).collect()
}

async fn publish_month(setup: &Setup) {
    let (events, crashes, rows) = month_of_traffic();
    for event in &events {
        setup.app.infra.bus.publish(event).await.unwrap();
    }
    for crash in &crashes {
        setup.app.infra.bus.publish(crash).await.unwrap();
    }
    setup.wait_for_rows(rows, 3).await;
}

async fn a_generated_month_has_the_known_statistics(mode: Mode) {
    let mut setup = Setup::start(mode, "").await;
    publish_month(&setup).await;
    let d0 = month_start();
    let from = at(d0, 0, 0);
    let to = at(d0 + Days::new(DAYS), 0, 0);
    let report = setup.report(from, to, false).await;
    let totals = report.totals.unwrap();
    // A every day (a new hash each day) + B on 15 days.
    assert_eq!(totals.visitors, 45, "{totals:?}");
    assert_eq!(totals.pageviews, 30 * 4 + 15);
    assert_eq!(totals.visits, 30 * 2 + 15);
    assert_eq!(totals.bounces, 30 + 15);
    assert!((totals.bounce_rate - 0.6).abs() < 1e-9);
    // Only A's first visit lasts: 600 s on 30 days over 75 visits.
    assert!((totals.mean_visit_secs - 240.0).abs() < 1e-9, "{totals:?}");
    assert_eq!(totals.bot_pageviews, 60);
    assert_eq!(totals.all_pageviews, 195);
    assert!((totals.crawler_share - 60.0 / 195.0).abs() < 1e-9);
    assert_eq!(totals.crashes, 3);
    let previous = report.previous.unwrap();
    assert_eq!(
        (previous.visitors, previous.visits, previous.pageviews),
        (1, 1, 1)
    );
    assert_eq!(report.previous_from_unix, (from - (to - from)).timestamp());
    assert_eq!(report.current_visitors, 2);

    assert_eq!(
        entries(&report.top_pages),
        [(N1, 45), ("/", 30), ("/latest", 30), (N2, 30)]
    );
    assert_eq!(
        entries(&report.top_numbers),
        [("+447700900001", 45), ("+447700900002", 30)]
    );
    assert_eq!(
        entries(&report.entry_pages),
        [("/", 30), ("/latest", 30), (N1, 15)]
    );
    // Internal navigation (the site's own host) is not a referrer.
    assert_eq!(
        entries(&report.referrers),
        [("google.com", 30), ("news.ycombinator.com", 15)]
    );
    assert_eq!(entries(&report.utm_sources), [("newsletter", 15)]);
    let visitors = |list: &[Breakdown]| -> Vec<(String, u64)> {
        list.iter().map(|b| (b.key.clone(), b.visitors)).collect()
    };
    assert_eq!(
        visitors(&report.browsers),
        [("Firefox".to_owned(), 30), ("Chrome".to_owned(), 15)]
    );
    assert_eq!(
        visitors(&report.operating_systems),
        [("Linux".to_owned(), 30), ("Android".to_owned(), 15)]
    );
    assert_eq!(
        visitors(&report.devices),
        [("desktop".to_owned(), 30), ("mobile".to_owned(), 15)]
    );
    assert!(report.countries.is_empty(), "no country database");
    assert_eq!(
        entries(&report.crash_messages),
        [("TypeError: x is undefined", 3)]
    );

    assert_eq!(report.days.len(), 30);
    for (i, day) in report.days.iter().enumerate() {
        let even = u64::from(i % 2 == 0);
        assert_eq!(
            day.start_unix,
            (from + chrono::Duration::days(i as i64)).timestamp()
        );
        assert_eq!(
            (day.visitors, day.pageviews),
            (1 + even, 4 + even),
            "day {i}"
        );
    }
    assert_eq!(report.hours.len(), 30 * 24);
    assert_eq!(report.hours.iter().map(|h| h.pageviews).sum::<u64>(), 135);
    let hour = |h: usize| (report.hours[h].visitors, report.hours[h].pageviews);
    assert_eq!(hour(3), (0, 0), "crawlers are left out");
    assert_eq!(hour(10), (1, 3));
    assert_eq!(hour(11), (1, 1));
    assert_eq!(hour(12), (1, 1));
    assert_eq!(hour(24 + 12), (0, 0), "B comes on even days");

    // With the crawlers.
    let with_bots = setup.report(from, to, true).await;
    let totals = with_bots.totals.unwrap();
    assert_eq!((totals.visitors, totals.pageviews), (75, 195));
    assert_eq!(entries(&with_bots.top_pages)[0], ("/", 90));

    // A redelivered batch counts once.
    let (events, _, _) = month_of_traffic();
    let rows: Vec<LogRow> = events
        .into_iter()
        .take(50)
        .map(|e| LogRow::from_request(e, Utc::now()))
        .collect();
    let before = setup.store.stat_rows().await.unwrap();
    assert_eq!(setup.store.insert_batch(&rows).await.unwrap(), 0);
    assert_eq!(setup.store.stat_rows().await.unwrap(), before);
    let again = setup.report(from, to, false).await;
    assert_eq!(again.totals, report.totals);

    // Bad ranges are refused, not answered.
    let err = setup
        .stats
        .stats(StatsRequest {
            from_unix: to.timestamp(),
            to_unix: from.timestamp(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    setup.stop().await;
}
both_modes!(a_generated_month_has_the_known_statistics);

fn request(id: &str, visitor: &str, at: DateTime<Utc>) -> LogRow {
    LogRow::from_request(human(visitor, "/latest").at(id.into(), at), at)
}

async fn visitor_hashes_cannot_be_joined_across_days(mode: Mode) {
    let app = TestApp::spawn_with(mode, false).await;
    let store = app.log_store().await;
    let d = Utc::now().date_naive() - Days::new(10);
    let d1 = d + Days::new(1);
    let rows = vec![
        request("h1", VISITOR_A, at(d, 10, 0)),
        request("h2", VISITOR_A, at(d, 18, 0)),
        request("h3", VISITOR_A, at(d1, 10, 0)),
    ];
    store.insert_batch(&rows).await.unwrap();
    let first = store.visitor_hashes(d).await.unwrap();
    let second = store.visitor_hashes(d1).await.unwrap();
    assert_eq!(first.len(), 1, "one visitor on one day is one hash");
    assert_eq!(second.len(), 1);
    assert_ne!(first, second, "the same visitor on two days: two hashes");
    assert!(!first[0].contains(VISITOR_A) && first[0].len() == 32);
    assert_eq!(store.salt_days().await.unwrap(), [d, d1]);

    // Two days after a day began its salt is gone; the day before keeps its own.
    let report = store.sweep(at(d + Days::new(2), 0, 30), 183).await.unwrap();
    assert_eq!(report.deleted_salts, 1);
    assert_eq!(store.salt_days().await.unwrap(), [d1]);
    assert!(report.dropped_partitions.is_empty() && report.stat_deleted_rows == 0);
    // A late event of that day gets a fresh salt: the old hashes cannot be
    // recomputed from the id any more.
    store
        .insert_batch(&[request("h4", VISITOR_A, at(d, 20, 0))])
        .await
        .unwrap();
    let now_hashes = store.visitor_hashes(d).await.unwrap();
    assert_eq!(now_hashes.len(), 2, "{now_hashes:?}");
    let report = store.sweep(at(d + Days::new(3), 0, 30), 183).await.unwrap();
    assert_eq!(report.deleted_salts, 2);
    assert!(store.salt_days().await.unwrap().is_empty());
    assert_eq!(store.stat_rows().await.unwrap(), 4, "counts survive");

    // The statistics rows follow the retention like the access log.
    let future = Utc::now() + chrono::Duration::days(1000);
    let report = store.sweep(future, 183).await.unwrap();
    assert_eq!(store.stat_rows().await.unwrap(), 0);
    match mode {
        Mode::Distributed => {
            for day in [d, d1] {
                let name = log_retention::logstore::table_partition_name("stat_pageviews", day);
                assert!(report.stat_dropped_partitions.contains(&name), "{report:?}");
            }
            assert_eq!(report.stat_deleted_rows, 0, "whole partitions dropped");
        }
        Mode::Embedded => assert_eq!(report.stat_deleted_rows, 4),
    }
    assert!(store.sweep(future, 183).await.unwrap().is_empty());
    app.stop().await;
}
both_modes!(visitor_hashes_cannot_be_joined_across_days);

/// During a rolling upgrade an older gateway logs requests without their
/// route: the access log keeps them, the statistics do not count them.
async fn an_older_gateways_requests_are_logged_but_not_counted(mode: Mode) {
    let app = TestApp::spawn_with(mode, false).await;
    let store = app.log_store().await;
    let now = Utc::now();
    let mut old = human(VISITOR_A, "/latest").at("old-1".into(), now);
    (old.route, old.route_kind, old.number) = (String::new(), 0, String::new());
    let new = human(VISITOR_A, "/latest").at("new-1".into(), now);
    let rows: Vec<LogRow> = [old, new]
        .into_iter()
        .map(|e| LogRow::from_request(e, now))
        .collect();
    assert_eq!(store.insert_batch(&rows).await.unwrap(), 2);
    assert_eq!(store.count(Kind::Request).await.unwrap(), 2);
    assert_eq!(store.stat_rows().await.unwrap(), 1, "only the new event");
    app.stop().await;
}
both_modes!(an_older_gateways_requests_are_logged_but_not_counted);

/// The gateway's own request logs: pages count by the route that answered
/// (a number's page under its number however its path was written), other
/// routes and unmatched paths do not.
async fn requests_through_the_gateway_count_by_their_route(mode: Mode) {
    let mut setup = Setup::start(mode, "").await;
    setup.app.add_number("+447700900001").await;
    let visits = [
        ("/", 200),
        ("/latest", 200),
        ("/numbers/+447700900001", 200),
        ("/numbers/%2B447700900001", 200),
        ("/numbers/+447700900001/feed.atom", 200),
        ("/privacy", 200),
        // Assets are served under fingerprinted names: an asset route's 404.
        ("/static/site.css", 404),
        ("/api/v1/numbers", 200),
        ("/robots.txt", 200),
        ("/my-data", 200),
        ("/nowhere", 404),
    ];
    let started = Utc::now() - chrono::Duration::seconds(1);
    for (path, status) in visits {
        let resp = browser(
            setup
                .app
                .client
                .get(format!("{}{path}", setup.app.gateway_url)),
        )
        .header("cookie", format!("{}={VISITOR_A}", gateway::VISITOR_COOKIE))
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), status, "{path}");
    }
    // Every request but the asset's is logged; its page views are stored
    // with it, in the same transaction.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while setup.store.count(Kind::Request).await.unwrap() < 10 {
        assert!(tokio::time::Instant::now() < deadline, "not logged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(setup.store.stat_rows().await.unwrap(), 5, "the five pages");
    let report = setup
        .report(started, Utc::now() + chrono::Duration::seconds(1), false)
        .await;
    assert_eq!(
        entries(&report.top_pages),
        [
            ("/", 1),
            ("/latest", 1),
            ("/numbers/%2B447700900001", 1),
            ("/numbers/+447700900001", 1),
            ("/privacy", 1),
        ]
    );
    assert_eq!(entries(&report.top_numbers), [("+447700900001", 2)]);
    setup.stop().await;
}
both_modes!(requests_through_the_gateway_count_by_their_route);

fn browser(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    req.header(
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    )
    .header("accept-language", "en")
}

async fn admin_pages_are_off_without_a_token(mode: Mode) {
    let setup = Setup::start(mode, "").await;
    for path in ["/admin/stats", "/admin/stats.csv"] {
        let resp = browser(
            setup
                .app
                .client
                .get(format!("{}{path}", setup.app.gateway_url)),
        )
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.headers()["x-robots-tag"], "noindex, nofollow");
    }
    let resp = browser(
        setup
            .app
            .client
            .post(format!("{}/admin/stats", setup.app.gateway_url)),
    )
    .form(&[("token", "")])
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);
    setup.stop().await;
}
both_modes!(admin_pages_are_off_without_a_token);

/// Splits one CSV line (quotes as RFC 4180).
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

async fn admin_stats_show_the_month_to_the_operator_only(mode: Mode) {
    let setup = Setup::start(mode, TOKEN).await;
    publish_month(&setup).await;
    let base = setup.app.gateway_url.clone();
    let client = cloudsms_tests::no_redirects();
    let d0 = month_start();
    let range = format!("from={d0}&to={}", d0 + Days::new(DAYS - 1));
    let page_url = format!("{base}/admin/stats?{range}");

    // Without the token: the login form, 401.
    let resp = browser(client.get(&page_url)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["x-robots-tag"], "noindex, nofollow");
    assert!(resp.text().await.unwrap().contains("name=\"token\""));
    let resp = browser(client.get(&page_url))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = browser(client.get(format!("{base}/admin/stats.csv?{range}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = browser(client.post(format!("{base}/admin/stats")))
        .form(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // The login form sets a strict, HttpOnly session cookie.
    let resp = browser(client.post(format!("{base}/admin/stats")))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(TOKEN), "the cookie never holds the token");
    let session = cookie.split(';').next().unwrap().to_owned();
    let resp = browser(client.get(&page_url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("style-src 'self'"), "{csp}");
    let html = resp.text().await.unwrap();
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "CSP-clean page"
    );
    for shown in [
        "<span class=\"value\">45</span>",  // visitors
        "<span class=\"value\">75</span>",  // visits
        "<span class=\"value\">135</span>", // pageviews
        "<span class=\"value\">60.0%</span>",
        "<span class=\"value\">4m 00s</span>",
        "<span class=\"value\">30.8%</span>", // crawler share
        "<svg class=\"chart\"",
        "google.com",
        "newsletter",
        "+447700900001",
    ] {
        assert!(html.contains(shown), "{shown} not on the page:\n{html}");
    }

    // With the bearer token: the CSV export.
    let resp = browser(client.get(format!("{base}/admin/stats.csv?{range}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    let rows: Vec<Vec<String>> = csv.lines().map(csv_cells).collect();
    assert_eq!(
        rows[0],
        ["section", "key", "visitors", "pageviews", "value"]
    );
    assert!(rows.iter().all(|r| r.len() == 5), "{csv}");
    let value = |section: &str, key: &str| {
        rows.iter()
            .find(|r| r[0] == section && r[1] == key)
            .unwrap_or_else(|| panic!("{section},{key} missing:\n{csv}"))
            .clone()
    };
    assert_eq!(value("total", "visitors")[4], "45");
    assert_eq!(value("total", "bounce_rate")[4], "0.6000");
    assert_eq!(value("previous", "pageviews")[4], "1");
    assert_eq!(rows.iter().filter(|r| r[0] == "day").count(), 30);
    assert_eq!(rows.iter().filter(|r| r[0] == "hour").count(), 720);
    assert_eq!(value("page", N1)[3], "45");
    assert_eq!(value("referrer", "google.com")[2], "30");

    // Bad input: a clear 400.
    for query in [
        "from=2026-02-30",
        "from=yesterday",
        "from=2026-11-02&to=2026-11-01",
        "from=2000-01-01&to=2026-01-01",
    ] {
        let resp = browser(client.get(format!("{base}/admin/stats?{query}")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{query}");
        assert!(resp.text().await.unwrap().contains("class=\"error\""));
        let resp = browser(client.get(format!("{base}/admin/stats.csv?{query}")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{query}");
    }

    // The operator's own requests (15 above) are logged but never counted.
    let (events, _, expected) = month_of_traffic();
    let want = events.len() as u64 + 15;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while setup.store.count(Kind::Request).await.unwrap() < want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "admin requests not logged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(setup.store.stat_rows().await.unwrap(), expected);
    setup.stop().await;
}
both_modes!(admin_stats_show_the_month_to_the_operator_only);
