//! The crawler gate in front of the site: past the rate limits (or at once
//! for clients that look automated) pages become an interstitial whose
//! proof-of-work, redeemed through captcha-verification's gRPC API, earns a
//! pass cookie; the JSON API answers 429 with `Retry-After`; visitors
//! without JavaScript wait for a shorter pass; verified crawlers pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use captcha_verification::pow::{self, Challenge};
use cloudsms_tests::{Isolation, Mode, TestApp, both_modes};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/// The site with the gate on (visitor burst 2) and captcha-verification
/// running beside it, on this test's infrastructure; the gate reads a clock
/// the test advances.
struct GatedSite {
    app: TestApp,
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>` of the gateway whose gate reads `clock`.
    url: String,
    /// The gate's time, Unix seconds.
    clock: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl GatedSite {
    async fn spawn(mode: Mode, gate: &str) -> Self {
        Self::spawn_with(mode, gate, "").await
    }

    /// As [`GatedSite::spawn`], with `top` (TOML keys and sections) before
    /// the gate's section.
    async fn spawn_with(mode: Mode, gate: &str, top: &str) -> Self {
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let overrides = format!(
            "{top}\n[captcha]\nhmac_key = \"test-captcha-hmac-key-0123456789\"\n\
             default_max_number = 2000\nsource_levels = []\nglobal_levels = []\n\
             [gateway.gate]\nenabled = true\ncaptcha_url = \"http://{}\"\n\
             pass_key = \"test-pass-key\"\nvisitor = {{ per_minute = 1, burst = 2 }}\n{gate}\n",
            grpc.local_addr().unwrap()
        )
        .replacen(
            "enabled = true\n",
            if gate.contains("enabled") {
                ""
            } else {
                "enabled = true\n"
            },
            1,
        );
        let isolation = Isolation::with_overrides(mode, &overrides).await;
        let app = TestApp::spawn_isolated(isolation, mode, true).await;
        let stop = CancellationToken::new();
        tokio::spawn(captcha_verification::run(
            app.infra.with_store(()),
            captcha_verification::Listeners { http, grpc },
            stop.clone(),
        ));
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
        let clock = Arc::new(AtomicU64::new(now));
        let gate_clock = platform::Clock::from_fn({
            let clock = clock.clone();
            move || {
                let secs = i64::try_from(clock.load(Ordering::SeqCst)).unwrap();
                chrono::DateTime::from_timestamp(secs, 0).unwrap()
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(gateway::serve(
            app.infra.clone(),
            gateway::Shared::with_gate_clock(&app.infra, gate_clock),
            listener,
            stop.clone(),
        ));
        app.add_number("+15555550123").await;
        let http = cloudsms_tests::no_redirects();
        Self {
            app,
            http,
            url,
            clock,
            stop,
        }
    }

    /// Moves the gate's clock on by `secs`.
    fn advance(&self, secs: u64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    async fn stop(self) {
        self.stop.cancel();
        self.app.stop().await;
    }
}

/// A browser: its user agent and the cookies it keeps.
#[derive(Clone)]
struct Browser {
    ua: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(ua: &str) -> Self {
        Self {
            ua: ua.to_owned(),
            cookies: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    fn request(
        &self,
        site: &GatedSite,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let cookie = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = site
            .http
            .request(method, format!("{}{path}", site.url))
            .header("user-agent", &self.ua)
            .header("accept-language", "en-GB,en;q=0.9");
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        request
    }

    /// GET: status, headers, body.
    async fn get(&mut self, site: &GatedSite, path: &str) -> (StatusCode, HeaderMap, String) {
        let response = self
            .request(site, reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        self.keep(&headers);
        (status, headers, response.text().await.unwrap())
    }

    async fn post_json(
        &mut self,
        site: &GatedSite,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let response = self
            .request(site, reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        self.keep(&response.headers().clone());
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Fetches the gate's challenge, solves every puzzle and redeems them:
    /// the answer of `/gate/pass`.
    async fn redeem_gate(&mut self, site: &GatedSite) -> (StatusCode, Value) {
        let (status, challenge) = self
            .post_json(site, "/gate/challenge", &serde_json::json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{challenge}");
        let puzzles: Vec<Challenge> = serde_json::from_value(challenge["puzzles"].clone()).unwrap();
        let payloads: Vec<String> = puzzles
            .iter()
            .map(|p| pow::encode_payload(p, pow::solve(p).unwrap()))
            .collect();
        self.post_json(
            site,
            "/gate/pass",
            &serde_json::json!({ "payloads": payloads }),
        )
        .await
    }

    /// What the interstitial's script does: fetch, solve, redeem. Returns
    /// the payloads it redeemed.
    async fn solve_gate(&mut self, site: &GatedSite) -> Vec<String> {
        let (status, challenge) = self
            .post_json(site, "/gate/challenge", &serde_json::json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{challenge}");
        let puzzles: Vec<Challenge> = serde_json::from_value(challenge["puzzles"].clone()).unwrap();
        // Four sub-puzzles (the default) share the difficulty (2000 here).
        assert_eq!(puzzles.len(), 4);
        let mut payloads = Vec::new();
        for puzzle in &puzzles {
            assert!(puzzle.salt.contains("site=cloudsms-gate&"));
            assert!(puzzle.salt.contains("action=gate&parts=4&"));
            assert_eq!(puzzle.maxnumber, 500);
            let number = pow::solve(puzzle).unwrap();
            payloads.push(pow::encode_payload(puzzle, number));
        }
        // Three of four are not enough, and no part passes alone.
        for partial in [&payloads[..3], &payloads[..1]] {
            let (status, body) = self
                .post_json(
                    site,
                    "/gate/pass",
                    &serde_json::json!({ "payloads": partial }),
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        }
        let (status, body) = self
            .post_json(
                site,
                "/gate/pass",
                &serde_json::json!({ "payloads": payloads }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        payloads
    }
}

const PAGE: &str = "/numbers/+15555550123";

async fn past_the_limit_the_interstitial_and_a_solved_challenge_let_the_visitor_through(
    mode: Mode,
) {
    let site = GatedSite::spawn(mode, "").await;
    let mut phone = Browser::new(PHONE);
    // The burst (2) and the sustained rate's first page go through.
    for _ in 0..3 {
        let (status, _, body) = phone.get(&site, PAGE).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("+1 555-555-0123") || body.contains("5555550123"));
    }
    let (status, headers, body) = phone.get(&site, PAGE).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(body.contains("id=\"gate\""), "{body}");
    assert!(
        body.contains("data-next=\"/numbers/+15555550123\""),
        "{body}"
    );
    assert!(body.contains("/static/gate-worker."), "{body}");
    assert!(
        body.contains("role=\"status\""),
        "accessible status: {body}"
    );
    // Other pages are gated too; the privacy policy and assets are not.
    assert_eq!(phone.get(&site, "/").await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(phone.get(&site, "/privacy").await.0, StatusCode::OK);

    let payload = phone.solve_gate(&site).await;
    assert!(phone.cookie(gateway::PASS_COOKIE).is_some());
    for _ in 0..5 {
        assert_eq!(phone.get(&site, PAGE).await.0, StatusCode::OK);
    }
    // The same solution cannot be redeemed again, by anyone.
    let mut other = Browser::new(PHONE);
    other.get(&site, "/privacy").await;
    let (status, body) = other
        .post_json(
            &site,
            "/gate/pass",
            &serde_json::json!({ "payloads": payload }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error-codes"][0], "timeout-or-duplicate");
    // A pass is bound to its visitor: copied to another browser it is worthless.
    let pass = phone.cookie(gateway::PASS_COOKIE).unwrap();
    let mut thief = Browser::new(PHONE);
    thief.cookies.push((gateway::PASS_COOKIE.to_owned(), pass));
    for _ in 0..3 {
        thief.get(&site, PAGE).await;
    }
    assert_eq!(
        thief.get(&site, PAGE).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Garbage is refused with a clear error, not a pass.
    let (status, body) = other
        .post_json(
            &site,
            "/gate/pass",
            &serde_json::json!({ "payload": "%%%" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = other
        .post_json(&site, "/gate/pass", &serde_json::json!({ "nothing": 1 }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(other.cookie(gateway::PASS_COOKIE).is_none());
    site.stop().await;
}
both_modes!(past_the_limit_the_interstitial_and_a_solved_challenge_let_the_visitor_through);

async fn api_clients_get_429_with_retry_after_and_a_challenge_link(mode: Mode) {
    let site = GatedSite::spawn(mode, "").await;
    let mut script = Browser::new("python-requests/2.32.3");
    // API clients are counted, not challenged for how they look.
    for _ in 0..3 {
        let (status, _, _) = script.get(&site, "/api/v1/numbers").await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) = script.get(&site, "/api/v1/numbers").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body["retry_after"].as_u64().unwrap() >= 1);
    let link = body["challenge"].as_str().unwrap();
    assert!(link.ends_with("/gate?next=%2Fapi%2Fv1%2Fnumbers"), "{link}");
    // The link opens the interstitial.
    let path = link.split_once("127.0.0.1").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let (status, _, page) = Browser::new(PHONE).get(&site, path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-next=\"/api/v1/numbers\""), "{page}");
    site.stop().await;
}
both_modes!(api_clients_get_429_with_retry_after_and_a_challenge_link);

async fn automated_clients_are_challenged_at_once_and_verified_crawlers_are_not(mode: Mode) {
    // LocalBot verifies: 127.0.0.1 resolves to localhost and back. "Googlebot"
    // from 127.0.0.1 claims to be Google but does not verify.
    let site = GatedSite::spawn(
        mode,
        "crawlers = [\n\
           { name = \"LocalBot\", user_agent = \"LocalBot\", domains = [\"localhost\"] },\n\
           { name = \"Googlebot\", user_agent = \"Googlebot\", domains = [\"googlebot.com\"] },\n\
         ]",
    )
    .await;
    let (status, _, body) = Browser::new("curl/8.5.0").get(&site, "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("id=\"gate\""));
    let (status, _, _) = Browser::new("Mozilla/5.0 HeadlessChrome/126.0")
        .get(&site, PAGE)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    let mut bot = Browser::new("Mozilla/5.0 (compatible; LocalBot/1.0)");
    for _ in 0..10 {
        assert_eq!(bot.get(&site, PAGE).await.0, StatusCode::OK);
    }
    let fake =
        Browser::new("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
    assert_eq!(
        fake.clone().get(&site, PAGE).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    site.stop().await;
}
both_modes!(automated_clients_are_challenged_at_once_and_verified_crawlers_are_not);

/// The `url=` of the interstitial's `<noscript>` refresh, unescaped.
fn refresh_url(page: &str) -> String {
    let start = page.find(";url=").unwrap() + 5;
    let end = start + page[start..].find('"').unwrap();
    cloudsms_tests::unescape_html(&page[start..end])
}

async fn without_javascript_a_wait_earns_a_short_pass_a_few_times_per_network(mode: Mode) {
    let site = GatedSite::spawn(mode, "nojs_wait_secs = 2\nnojs_per_hour = 1").await;
    let mut old_phone = Browser::new("curl/8.5.0");
    let (status, _, page) = old_phone.get(&site, PAGE).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.contains("<noscript><meta http-equiv=\"refresh\" content=\"2;url="),
        "{page}"
    );
    let wait = refresh_url(&page);
    assert!(wait.starts_with("/gate/wait?ticket="), "{wait}");
    // Too early: the interstitial again, with how long is left.
    let (status, headers, _) = old_phone.get(&site, &wait).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    site.advance(3);
    let (status, headers, _) = old_phone.get(&site, &wait).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/numbers/+15555550123");
    assert!(old_phone.cookie(gateway::PASS_COOKIE).is_some());
    assert_eq!(old_phone.get(&site, PAGE).await.0, StatusCode::OK);
    // A ticket is single use...
    let mut copy = old_phone.clone();
    copy.cookies.retain(|(n, _)| n != gateway::PASS_COOKIE);
    assert_eq!(copy.get(&site, &wait).await.0, StatusCode::FORBIDDEN);
    // ...bound to its visitor...
    let mut stranger = Browser::new("curl/8.5.0");
    assert_eq!(stranger.get(&site, &wait).await.0, StatusCode::FORBIDDEN);
    // ...and the network's hourly allowance (1) is spent.
    let (_, _, page) = stranger.get(&site, PAGE).await;
    let wait = refresh_url(&page);
    site.advance(3);
    let (status, headers, body) = stranger.get(&site, &wait).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers["retry-after"], "3600");
    assert!(body.contains("JavaScript"), "{body}");
    site.stop().await;
}
both_modes!(without_javascript_a_wait_earns_a_short_pass_a_few_times_per_network);

async fn the_gate_can_be_turned_off(mode: Mode) {
    let site = GatedSite::spawn(mode, "enabled = false").await;
    let mut bot = Browser::new("curl/8.5.0");
    for _ in 0..10 {
        assert_eq!(bot.get(&site, PAGE).await.0, StatusCode::OK);
    }
    let (status, _) = bot
        .post_json(&site, "/gate/challenge", &serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    site.stop().await;
}
both_modes!(the_gate_can_be_turned_off);

async fn passes_do_not_lift_a_network_past_its_budgets(mode: Mode) {
    // Every browser here is 127.0.0.1: one network.
    let site = GatedSite::spawn(
        mode,
        "passes_per_network_hour = 2\n\
         pass = { per_minute = 600, burst = 600 }\n\
         network_passed = { per_minute = 1, burst = 3 }",
    )
    .await;
    let mut solver = Browser::new(PHONE);
    solver.get(&site, "/privacy").await;
    let (status, body) = solver.redeem_gate(&site).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // With a pass, the network's pass-holder budget (burst 3) still applies.
    let mut served = 0;
    for _ in 0..10 {
        if solver.get(&site, PAGE).await.0 == StatusCode::OK {
            served += 1;
        }
    }
    assert!(
        served <= 4,
        "{served} pages served past the network's budget"
    );
    // Passes per network and hour (2): the third solver gets none.
    let mut second = Browser::new(PHONE);
    second.get(&site, "/privacy").await;
    assert_eq!(second.redeem_gate(&site).await.0, StatusCode::OK);
    let mut third = Browser::new(PHONE);
    third.get(&site, "/privacy").await;
    let (status, body) = third.redeem_gate(&site).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(third.cookie(gateway::PASS_COOKIE).is_none());
    site.stop().await;
}
both_modes!(passes_do_not_lift_a_network_past_its_budgets);

async fn only_the_gates_own_challenges_earn_a_pass(mode: Mode) {
    let site = GatedSite::spawn_with(
        mode,
        "",
        "[[captcha.sites]]\nsite_key = \"other-site\"\nsecret = \"other-site-secret-0123\"\nhostnames = []",
    )
    .await;
    let grpc = site.app.infra.settings.gateway.gate.captcha_url.clone();
    let mut captcha =
        proto::captcha::v1::captcha_service_client::CaptchaServiceClient::connect(grpc)
            .await
            .unwrap();
    for (site_key, action) in [("cloudsms-gate", "login"), ("other-site", "gate")] {
        let issued = captcha
            .issue_challenge(proto::captcha::v1::IssueChallengeRequest {
                site_key: site_key.into(),
                action: action.into(),
                puzzles: 4,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let payloads: Vec<String> = issued
            .puzzles_json
            .iter()
            .map(|json| {
                let puzzle: Challenge = serde_json::from_str(json).unwrap();
                pow::encode_payload(&puzzle, pow::solve(&puzzle).unwrap())
            })
            .collect();
        let mut visitor = Browser::new(PHONE);
        visitor.get(&site, "/privacy").await;
        let (status, body) = visitor
            .post_json(
                &site,
                "/gate/pass",
                &serde_json::json!({ "payloads": payloads }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{site_key}/{action}: {body}");
        assert_eq!(body["error-codes"][0], "invalid-input-response", "{body}");
        assert!(visitor.cookie(gateway::PASS_COOKIE).is_none());
    }
    // The gate's own challenge, solved the same way, does earn one.
    let mut visitor = Browser::new(PHONE);
    visitor.get(&site, "/privacy").await;
    let (status, body) = visitor.redeem_gate(&site).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(visitor.cookie(gateway::PASS_COOKIE).is_some());
    site.stop().await;
}
both_modes!(only_the_gates_own_challenges_earn_a_pass);
