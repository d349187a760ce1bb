//! captcha-verification end to end: challenge → solve → redeem → siteverify
//! over HTTP and gRPC, and every way a solution or token can be refused
//! (replay, expiry, forgery, wrong secret, hostname or action, garbage,
//! numbers above maxnumber), single use under concurrency, traffic levels
//! and bus events. `binding`: what a solution is bound to (site key,
//! action, hostname).

mod binding;

use std::time::Duration;

use captcha_verification::pow::{self, Challenge};
use cloudsms_tests::{Isolation, Mode, both_modes, json, send};
use platform::Infra;
use proto::captcha::v1::captcha_service_client::CaptchaServiceClient;
use proto::captcha::v1::{IssueChallengeRequest, RedeemRequest, VerifyRequest};
use proto::events::v1::{CaptchaEvents, CaptchaOutcome};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const KEY: &str = "test-captcha-hmac-key-0123456789";
pub(crate) const SITE: &str = "site-a";
pub(crate) const SECRET: &str = "site-a-secret-0123456789";
pub(crate) const OTHER_SITE: &str = "site-b";
pub(crate) const OTHER_SECRET: &str = "site-b-secret-0123456789";
pub(crate) const HOST: &str = "example.org";

/// The captcha service (HTTP and gRPC) on random ports (also used by
/// `held_up::captcha`).
pub(crate) struct CaptchaApp {
    pub(crate) infra: Infra<()>,
    pub(crate) url: String,
    pub(crate) grpc_url: String,
    pub(crate) client: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    isolation: Isolation,
}

impl CaptchaApp {
    pub(crate) async fn spawn(mode: Mode) -> Self {
        Self::spawn_with(mode, "source_levels = []\nglobal_levels = []").await
    }

    /// `levels`: the `captcha.source_levels` and `captcha.global_levels` lines.
    pub(crate) async fn spawn_with(mode: Mode, levels: &str) -> Self {
        Self::spawn_configured(mode, levels, "").await
    }

    /// As [`CaptchaApp::spawn_with`], then the TOML `extra` on top (another
    /// Redis: `redis_failover`).
    pub(crate) async fn spawn_configured(mode: Mode, levels: &str, extra: &str) -> Self {
        let overrides = format!(
            "[captcha]\nhmac_key = \"{KEY}\"\ndefault_max_number = 1000\n{levels}\n\
             [[captcha.sites]]\nsite_key = \"{SITE}\"\nsecret = \"{SECRET}\"\nhostnames = [\"{HOST}\"]\n\
             [[captcha.sites]]\nsite_key = \"{OTHER_SITE}\"\nsecret = \"{OTHER_SECRET}\"\nhostnames = []\n\
             [gateway.gate]\nenabled = true\n{extra}"
        );
        let isolation = Isolation::with_overrides(mode, &overrides).await;
        let infra = Infra::connect(isolation.settings.clone()).await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", http.local_addr().unwrap());
        let grpc_url = format!("http://{}", grpc.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(captcha_verification::run(
            infra.clone(),
            captcha_verification::Listeners { http, grpc },
            shutdown.clone(),
        ));
        Self {
            infra,
            url,
            grpc_url,
            client: reqwest::Client::new(),
            shutdown,
            task,
            isolation,
        }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
        self.isolation.cleanup().await;
    }

    pub(crate) async fn challenge(&self, query: &str) -> (reqwest::StatusCode, Value) {
        let r = send(self.client.get(format!("{}/challenge?{query}", self.url))).await;
        (r.status(), r.json().await.unwrap())
    }

    /// A challenge for `query` (`sitekey=…&action=…`), and its solution.
    pub(crate) async fn solve(&self, query: &str) -> (Challenge, u64) {
        let (status, json) = self.challenge(query).await;
        assert_eq!(status, 200, "{json}");
        let challenge: Challenge = serde_json::from_value(json).unwrap();
        let number = pow::solve(&challenge).unwrap();
        (challenge, number)
    }

    /// A challenge of `SITE` for `action`, and the payload that solves it.
    pub(crate) async fn solved(&self, action: &str) -> (Challenge, String) {
        let (challenge, number) = self.solve(&format!("sitekey={SITE}&action={action}")).await;
        let payload = pow::encode_payload(&challenge, number);
        (challenge, payload)
    }

    /// `POST /redeem` from a page on `HOST` (its `Origin`).
    pub(crate) async fn redeem(&self, body: Value) -> Value {
        self.redeem_from(Some(&format!("https://{HOST}")), body)
            .await
    }

    /// `POST /redeem` with this `Origin` header, or none.
    pub(crate) async fn redeem_from(&self, origin: Option<&str>, body: Value) -> Value {
        let mut request = self.client.post(format!("{}/redeem", self.url));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        json(request.json(&body)).await
    }

    pub(crate) async fn redeem_payload(&self, payload: &str) -> Value {
        self.redeem(json!({ "payload": payload, "sitekey": SITE }))
            .await
    }

    pub(crate) async fn token(&self, action: &str) -> String {
        let (_, payload) = self.solved(action).await;
        let r = self.redeem_payload(&payload).await;
        assert_eq!(r["ok"], true, "{r}");
        r["token"].as_str().unwrap().to_owned()
    }

    /// `POST {path}` of `body` as `content_type`: the JSON answer.
    pub(crate) async fn post_raw(&self, path: &str, content_type: &str, body: String) -> Value {
        json(
            self.client
                .post(format!("{}{path}", self.url))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub(crate) async fn siteverify_form(&self, body: String) -> Value {
        self.post_raw("/siteverify", FORM, body).await
    }

    pub(crate) async fn siteverify(&self, secret: &str, token: &str) -> Value {
        self.siteverify_form(format!(
            "secret={secret}&response={token}&remoteip=192.0.2.7"
        ))
        .await
    }
}

pub(crate) fn codes(v: &Value) -> Vec<String> {
    v["error-codes"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

const FORM: &str = "application/x-www-form-urlencoded";

fn now() -> u64 {
    captcha_verification::service::now_unix()
}

async fn solve_redeem_verify_over_http(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let (status, json) = app.challenge(&format!("sitekey={SITE}&action=login")).await;
    assert_eq!(status, 200);
    for field in ["algorithm", "challenge", "maxnumber", "salt", "signature"] {
        assert!(json.get(field).is_some(), "{field}: {json}");
    }
    assert_eq!(json["algorithm"], "SHA-256");
    assert_eq!(json["maxnumber"], 1000);
    let (status, json) = app.challenge("sitekey=nope").await;
    assert_eq!(status, 400, "{json}");

    let token = app.token("login").await;
    // JSON body this time; form bodies are used elsewhere.
    let body = json!({ "secret": SECRET, "response": token });
    let r = app
        .post_raw("/siteverify", "application/json", body.to_string())
        .await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["hostname"], HOST);
    assert_eq!(r["action"], "login");
    assert_eq!(r["score"], 1.0);
    let ts = chrono::DateTime::parse_from_rfc3339(r["challenge_ts"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now().timestamp() - ts.timestamp()).abs() < 30);
    app.stop().await;
}
both_modes!(solve_redeem_verify_over_http);

async fn replays_are_refused(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let (_, payload) = app.solved("").await;
    let first = app.redeem_payload(&payload).await;
    assert_eq!(first["ok"], true, "{first}");
    let again = app.redeem_payload(&payload).await;
    assert_eq!(again["ok"], false);
    assert_eq!(codes(&again), ["timeout-or-duplicate"]);

    let token = first["token"].as_str().unwrap();
    assert_eq!(app.siteverify(SECRET, token).await["success"], true);
    let again = app.siteverify(SECRET, token).await;
    assert_eq!(again["success"], false);
    assert_eq!(codes(&again), ["timeout-or-duplicate"]);
    app.stop().await;
}
both_modes!(replays_are_refused);

async fn idempotency_key_gets_the_same_answer(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let token = app.token("").await;
    let with_key = |key: &str| format!("secret={SECRET}&response={token}&idempotency_key={key}");
    let a = app.siteverify_form(with_key("k-1")).await;
    assert_eq!(a["success"], true, "{a}");
    let b = app.siteverify_form(with_key("k-1")).await;
    assert_eq!(b["success"], true, "{b}");
    assert_eq!(a["hostname"], b["hostname"]);
    let other = app.siteverify_form(with_key("k-2")).await;
    assert_eq!(codes(&other), ["timeout-or-duplicate"]);
    assert_eq!(
        codes(&app.siteverify(SECRET, &token).await),
        ["timeout-or-duplicate"]
    );
    app.stop().await;
}
both_modes!(idempotency_key_gets_the_same_answer);

async fn expired_forged_and_oversized_solutions_are_refused(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let key = KEY.as_bytes();
    let salt = |expires: u64, max: u64| {
        format!("0123456789abcdef01234567?expires={expires}&site={SITE}&max={max}&")
    };
    let redeem = |challenge: &Challenge, number: u64| {
        let payload = pow::encode_payload(challenge, number);
        let app = &app;
        async move { app.redeem_payload(&payload).await }
    };

    // Expired: correctly signed and solved, but past its expiry.
    let expired = pow::challenge_for(key, salt(now() - 5, 1000), 42, 1000);
    assert_eq!(codes(&redeem(&expired, 42).await), ["timeout-or-duplicate"]);

    // Forged signature: right hash, signed with another key.
    let mut forged = pow::challenge_for(key, salt(now() + 60, 1000), 42, 1000);
    forged.signature = pow::hmac_hex(b"not the key", forged.challenge.as_bytes());
    assert_eq!(
        codes(&redeem(&forged, 42).await),
        ["invalid-input-response"]
    );

    // A number above the challenge's maxnumber, even with a matching hash.
    let above = pow::challenge_for(key, salt(now() + 60, 1000), 5000, 1000);
    assert_eq!(
        codes(&redeem(&above, 5000).await),
        ["invalid-input-response"]
    );

    // Wrong number for a real challenge.
    let (challenge, _) = app.solved("").await;
    let number = pow::solve(&challenge).unwrap();
    assert_eq!(
        codes(&redeem(&challenge, number + 1).await),
        ["invalid-input-response"]
    );
    // The challenge is still redeemable after those failures.
    assert_eq!(redeem(&challenge, number).await["ok"], true);
    app.stop().await;
}
both_modes!(expired_forged_and_oversized_solutions_are_refused);

async fn malformed_requests_are_refused_by_code(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let empty = app.redeem(json!({ "sitekey": SITE })).await;
    assert_eq!(codes(&empty), ["missing-input-response"]);
    for garbage in [
        "%%%".to_owned(),
        "bm90IGpzb24=".to_owned(),
        "e30=".to_owned(),
        "A".repeat(10_000),
        pow::encode_payload(
            &Challenge {
                algorithm: "SHA-1".into(),
                challenge: "zz".into(),
                maxnumber: 1,
                max_number_camel: 1,
                salt: "x".into(),
                signature: "y".into(),
            },
            1,
        ),
    ] {
        let r = app.redeem_payload(&garbage).await;
        assert_eq!(codes(&r), ["invalid-input-response"], "{garbage}: {r}");
    }
    let r = app
        .post_raw("/redeem", "application/json", "{not json".into())
        .await;
    assert_eq!(codes(&r), ["bad-request"]);

    let r = app.siteverify_form(String::new()).await;
    assert_eq!(r["success"], false);
    assert_eq!(
        codes(&r),
        ["missing-input-secret", "missing-input-response"]
    );
    let r = app.siteverify_form(format!("secret={SECRET}")).await;
    assert_eq!(codes(&r), ["missing-input-response"]);
    let r = app.siteverify(SECRET, "v1.garbage.token").await;
    assert_eq!(codes(&r), ["invalid-input-response"]);
    let r = app
        .siteverify_form(format!("secret={SECRET}&secret={SECRET}"))
        .await;
    assert_eq!(codes(&r), ["bad-request"]);
    let r = app
        .post_raw("/siteverify", "application/json", "[1,2]".into())
        .await;
    assert_eq!(codes(&r), ["bad-request"]);
    app.stop().await;
}
both_modes!(malformed_requests_are_refused_by_code);

async fn wrong_secret_hostname_and_action_are_refused(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let token = app.token("login").await;
    let r = app.siteverify("not-a-secret-of-any-site", &token).await;
    assert_eq!(codes(&r), ["invalid-input-secret"]);
    // Another site's secret: the token is not that site's.
    let r = app.siteverify(OTHER_SECRET, &token).await;
    assert_eq!(codes(&r), ["invalid-input-response"]);
    // Those refusals did not use the token up.
    assert_eq!(app.siteverify(SECRET, &token).await["success"], true);

    // A page on a hostname the site does not list (the Origin's host; the
    // body cannot claim one: see `binding`).
    let (_, payload) = app.solved("login").await;
    let r = app
        .redeem_from(
            Some("https://evil.example"),
            json!({ "payload": payload, "sitekey": SITE }),
        )
        .await;
    assert_eq!(codes(&r), ["invalid-input-response"]);
    let r = app
        .redeem_from(
            Some(&format!("https://{HOST}:8443")),
            json!({ "payload": payload, "sitekey": SITE }),
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");

    // An action other than the challenge's, or another site key.
    let (_, payload) = app.solved("login").await;
    let r = app
        .redeem(json!({ "payload": payload, "sitekey": SITE, "action": "signup" }))
        .await;
    assert_eq!(codes(&r), ["invalid-input-response"]);
    let r = app
        .redeem(json!({ "payload": payload, "sitekey": OTHER_SITE }))
        .await;
    assert_eq!(codes(&r), ["invalid-input-response"]);
    let r = app
        .redeem(json!({ "payload": payload, "sitekey": SITE, "action": "login" }))
        .await;
    assert_eq!(r["ok"], true, "{r}");
    app.stop().await;
}
both_modes!(wrong_secret_hostname_and_action_are_refused);

async fn a_token_verified_by_50_tasks_at_once_succeeds_once(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let token = app.token("").await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/siteverify", app.url);
            let body = format!("secret={SECRET}&response={token}");
            tokio::spawn(json::<Value>(
                client.post(url).header("content-type", FORM).body(body),
            ))
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        let r = task.await.unwrap();
        if r["success"] == true {
            successes += 1;
        } else {
            assert_eq!(codes(&r), ["timeout-or-duplicate"], "{r}");
        }
    }
    assert_eq!(successes, 1);
    app.stop().await;
}
both_modes!(a_token_verified_by_50_tasks_at_once_succeeds_once);

async fn grpc_issue_redeem_verify(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let mut client = CaptchaServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    let issued = client
        .issue_challenge(IssueChallengeRequest {
            site_key: SITE.into(),
            visitor_id: "0123abcd".into(),
            ip: "198.51.100.4".into(),
            action: "read".into(),
            puzzles: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let challenge: Challenge = serde_json::from_str(&issued.challenge_json).unwrap();
    let payload = pow::encode_payload(&challenge, pow::solve(&challenge).unwrap());
    let redeem = |hostname: &str| RedeemRequest {
        payload: payload.clone(),
        hostname: hostname.into(),
        ip: "198.51.100.4".into(),
        ..Default::default()
    };
    let bad = client
        .redeem(redeem("evil.example"))
        .await
        .unwrap()
        .into_inner();
    assert!(!bad.ok);
    assert_eq!(bad.error_codes, ["invalid-input-response"]);
    let redeemed = client.redeem(redeem(HOST)).await.unwrap().into_inner();
    assert!(redeemed.ok, "{:?}", redeemed.error_codes);
    let again = client.redeem(redeem(HOST)).await.unwrap().into_inner();
    assert_eq!(again.error_codes, ["timeout-or-duplicate"]);
    let verify = |secret: &str| VerifyRequest {
        secret: secret.into(),
        token: redeemed.token.clone(),
        remote_ip: String::new(),
    };
    let wrong = client.verify(verify("nope")).await.unwrap().into_inner();
    assert_eq!(wrong.error_codes, ["invalid-input-secret"]);
    let ok = client.verify(verify(SECRET)).await.unwrap().into_inner();
    assert!(ok.success);
    assert_eq!(ok.hostname, HOST);
    assert_eq!(ok.action, "read");
    let replay = client.verify(verify(SECRET)).await.unwrap().into_inner();
    assert_eq!(replay.error_codes, ["timeout-or-duplicate"]);
    let unknown = client
        .issue_challenge(IssueChallengeRequest {
            site_key: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);
    app.stop().await;
}
both_modes!(grpc_issue_redeem_verify);

async fn sub_puzzles_are_redeemed_together_or_not_at_all(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let mut client = CaptchaServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    let issue = |puzzles: u32| IssueChallengeRequest {
        site_key: OTHER_SITE.into(),
        action: "read".into(),
        puzzles,
        ..Default::default()
    };
    let issued = client.issue_challenge(issue(3)).await.unwrap().into_inner();
    let puzzles: Vec<Challenge> = issued
        .puzzles_json
        .iter()
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    // Three puzzles share the default difficulty (1000).
    assert_eq!(puzzles.len(), 3);
    assert!(puzzles.iter().all(|p| p.maxnumber == 333));
    let payloads: Vec<String> = puzzles
        .iter()
        .map(|p| pow::encode_payload(p, pow::solve(p).unwrap()))
        .collect();
    let redeem = |payloads: Vec<String>| RedeemRequest {
        payloads,
        hostname: HOST.into(),
        ..Default::default()
    };
    for partial in [
        vec![payloads[0].clone()],
        payloads[..2].to_vec(),
        vec![
            payloads[0].clone(),
            payloads[0].clone(),
            payloads[1].clone(),
        ],
    ] {
        let refused = client.redeem(redeem(partial)).await.unwrap().into_inner();
        assert_eq!(refused.error_codes, ["invalid-input-response"]);
    }
    // A part alone through the single-payload field is refused too.
    let alone = client
        .redeem(RedeemRequest {
            payload: payloads[2].clone(),
            hostname: HOST.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(alone.error_codes, ["invalid-input-response"]);
    let ok = client
        .redeem(redeem(payloads.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.ok, "{:?}", ok.error_codes);
    let again = client.redeem(redeem(payloads)).await.unwrap().into_inner();
    assert_eq!(again.error_codes, ["timeout-or-duplicate"]);
    let too_many = client.issue_challenge(issue(17)).await.unwrap_err();
    assert_eq!(too_many.code(), tonic::Code::InvalidArgument);
    app.stop().await;
}
both_modes!(sub_puzzles_are_redeemed_together_or_not_at_all);

async fn difficulty_rises_with_a_sources_requests(mode: Mode) {
    let app = CaptchaApp::spawn_with(
        mode,
        "source_levels = [{ requests = 4, max_number = 3000 }, { requests = 6, max_number = 9000 }]\n\
         global_levels = [{ requests = 1000, max_number = 50000 }]",
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..7 {
        let (_, json) = app.challenge(&format!("sitekey={SITE}")).await;
        seen.push(json["maxnumber"].as_u64().unwrap());
    }
    assert_eq!(seen, [1000, 1000, 1000, 3000, 3000, 9000, 9000]);
    app.stop().await;
}
both_modes!(difficulty_rises_with_a_sources_requests);

async fn every_step_publishes_a_captcha_event(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let consumer = tokio::spawn({
        let bus = app.infra.bus.clone();
        let stop = stop.clone();
        async move {
            // In batches (`CaptchaEvents`), each event as it was queued.
            bus.run_consumer::<CaptchaEvents, _, _>("test-captcha", stop, move |batch, _| {
                let tx = tx.clone();
                async move {
                    for event in batch.events {
                        let _ = tx.send(event);
                    }
                    Ok(())
                }
            })
            .await
        }
    });
    let token = app.token("").await;
    app.siteverify(SECRET, &token).await;
    app.siteverify(SECRET, &token).await;
    let mut outcomes = Vec::new();
    while outcomes.len() < 4 {
        let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await
        else {
            break;
        };
        assert!(!event.event_id.is_empty());
        outcomes.push(event.outcome());
    }
    // Published in the background: the order among them is not guaranteed.
    outcomes.sort_by_key(|o| *o as i32);
    assert_eq!(
        outcomes,
        [
            CaptchaOutcome::Issued,
            CaptchaOutcome::Solved,
            CaptchaOutcome::Verified,
            CaptchaOutcome::Replayed
        ]
    );
    stop.cancel();
    let _ = consumer.await;
    app.stop().await;
}
both_modes!(every_step_publishes_a_captcha_event);

/// A cache whose single-use claims fail, as when Redis is unreachable.
struct ClaimsDown(std::sync::Arc<dyn cache::HotCache>);

fn down() -> cache::CacheError {
    cache::CacheError::Redis(redis::RedisError::from((
        redis::ErrorKind::Io,
        "connection refused",
    )))
}

#[async_trait::async_trait]
impl cache::HotCache for ClaimsDown {
    async fn push(&self, m: &proto::events::v1::MessageStored) -> Result<(), cache::CacheError> {
        self.0.push(m).await
    }
    async fn recent(
        &self,
        list: cache::HotList<'_>,
    ) -> Result<Option<Vec<proto::events::v1::MessageStored>>, cache::CacheError> {
        self.0.recent(list).await
    }
    async fn fill(
        &self,
        list: cache::HotList<'_>,
        messages: &[proto::events::v1::MessageStored],
    ) -> Result<(), cache::CacheError> {
        self.0.fill(list, messages).await
    }
    async fn version(&self, list: cache::HotList<'_>) -> Result<u64, cache::CacheError> {
        self.0.version(list).await
    }
    async fn fill_unless_pushed(
        &self,
        list: cache::HotList<'_>,
        messages: &[proto::events::v1::MessageStored],
        seen: u64,
    ) -> Result<bool, cache::CacheError> {
        self.0.fill_unless_pushed(list, messages, seen).await
    }
    async fn forget_lists(&self, lists: &[cache::HotList<'_>]) -> Result<(), cache::CacheError> {
        self.0.forget_lists(lists).await
    }
    async fn ping(&self) -> bool {
        false
    }
    async fn clear(&self) -> Result<(), cache::CacheError> {
        self.0.clear().await
    }
    async fn claim(&self, _: &str, _: Duration) -> Result<bool, cache::CacheError> {
        Err(down())
    }
    async fn claim_as(&self, _: &str, _: &str, _: Duration) -> Result<bool, cache::CacheError> {
        Err(down())
    }
    async fn incr_window(&self, _: &str, _: Duration) -> Result<u64, cache::CacheError> {
        Err(down())
    }
    async fn throttle(
        &self,
        _: &str,
        _: Duration,
        _: u32,
    ) -> Result<Option<Duration>, cache::CacheError> {
        Err(down())
    }
    async fn forget(&self, _: &[String]) -> Result<u64, cache::CacheError> {
        Err(down())
    }
    async fn put(&self, _: &str, _: &str, _: Duration) -> Result<(), cache::CacheError> {
        Err(down())
    }
    async fn get_touch(&self, _: &str, _: Duration) -> Result<Option<String>, cache::CacheError> {
        Err(down())
    }
    async fn acquire_slot(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: Duration,
    ) -> Result<bool, cache::CacheError> {
        Err(down())
    }
    async fn release_slot(&self, _: &str, _: &str) -> Result<(), cache::CacheError> {
        Err(down())
    }
}

async fn cache_outage_fails_closed(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let token = app.token("").await;
    let (_, payload) = app.solved("").await;

    let mut infra = app.infra.clone();
    infra.cache = std::sync::Arc::new(ClaimsDown(app.infra.cache.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let router = captcha_verification::router(&infra);
    let limits = infra.settings.http.clone();
    let server = tokio::spawn({
        let stop = stop.clone();
        async move { platform::serve(listener, router, &limits, stop, Duration::from_secs(1)).await }
    });
    // Challenges are still issued (difficulty falls back to the default)...
    let r = send(app.client.get(format!("{url}/challenge?sitekey={SITE}"))).await;
    assert_eq!(r.status(), 200);
    // ...but nothing single-use is accepted without the cache.
    let r = send(
        app.client
            .post(format!("{url}/redeem"))
            .header("origin", format!("https://{HOST}"))
            .json(&json!({ "payload": payload, "sitekey": SITE })),
    )
    .await;
    assert_eq!(r.status(), 503);
    let r: Value = r.json().await.unwrap();
    assert_eq!(codes(&r), ["internal-error"]);
    let r: Value = json(
        app.client
            .post(format!("{url}/siteverify"))
            .header("content-type", FORM)
            .body(format!("secret={SECRET}&response={token}")),
    )
    .await;
    assert_eq!(r["success"], false);
    assert_eq!(codes(&r), ["internal-error"]);
    let r = send(app.client.get(format!("{url}/readyz"))).await;
    assert_eq!(r.status(), 503);
    stop.cancel();
    let _ = server.await;

    // The healthy service still accepts both: the outage consumed nothing.
    assert_eq!(app.redeem_payload(&payload).await["ok"], true);
    assert_eq!(app.siteverify(SECRET, &token).await["success"], true);
    app.stop().await;
}
both_modes!(cache_outage_fails_closed);

async fn widget_preflight_is_allowed(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let r = send(
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/redeem", app.url))
            .header("origin", format!("https://{HOST}"))
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    app.stop().await;
}
both_modes!(widget_preflight_is_allowed);
