//! Takedown reports: a visitor opens a message's report form (in either
//! language), the page solves a proof-of-work challenge for one report and
//! posts it; the report reaches the operator's queue (admin API and
//! console) until dismissed. Without a fresh solution (none, a forged one,
//! the gate's own, or one already spent) nothing is stored; a visitor's
//! reports are rate-limited; unknown messages are 404.

use captcha_verification::pow::{self, Challenge};
use cloudsms_tests::{Isolation, Mode, TestApp, both_modes, no_redirects, unescape_html};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";
const TOKEN: &str = "operator-token-for-report-tests-0123";
const NUMBER: &str = "+447700900461";
const OTHER: &str = "+447700900462";

/// The site with the gate on (limits a test does not reach) and
/// captcha-verification beside it, one message on `NUMBER`.
struct Site {
    app: TestApp,
    stop: CancellationToken,
    message: i64,
}

impl Site {
    async fn spawn(mode: Mode) -> Self {
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let overrides = format!(
            "[captcha]\nhmac_key = \"test-captcha-hmac-key-0123456789\"\n\
             default_max_number = 2000\nsource_levels = []\nglobal_levels = []\n\
             [gateway]\nadmin_token = \"{TOKEN}\"\n\
             [gateway.gate]\nenabled = true\ncaptcha_url = \"http://{}\"\n\
             pass_key = \"test-pass-key\"\nvisitor = {{ per_minute = 600, burst = 200 }}\n\
             network = {{ per_minute = 600, burst = 400 }}\n",
            grpc.local_addr().unwrap()
        );
        let isolation = Isolation::with_overrides(mode, &overrides).await;
        let app = TestApp::spawn_isolated(isolation, mode, true).await;
        let stop = CancellationToken::new();
        tokio::spawn(captcha_verification::run(
            app.infra.with_store(()),
            captcha_verification::Listeners { http, grpc },
            stop.clone(),
        ));
        app.add_number(NUMBER).await;
        app.add_number(OTHER).await;
        let sent = app
            .send_sms(NUMBER, "Shop", "Your order for Ann Lee, 12 High St", "r-1")
            .await;
        assert!(sent.status().is_success());
        let message = app.wait_for_stored(NUMBER, 1).await[0].id;
        Self { app, stop, message }
    }

    fn form_path(&self) -> String {
        format!("/numbers/{NUMBER}/messages/{}/report", self.message)
    }

    async fn stored_reports(&self) -> usize {
        self.app
            .infra
            .store
            .list_reports(None, None, 100)
            .await
            .unwrap()
            .len()
    }

    /// The admin API's queue for `status`.
    async fn queue(&self, status: &str) -> Vec<Value> {
        let response = self
            .app
            .client
            .get(format!(
                "{}/admin/api/v1/reports?status={status}",
                self.app.gateway_url
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["reports"].as_array().unwrap().clone()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.app.stop().await;
    }
}

/// A phone's browser: its cookies (the visitor id).
struct Visitor {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Visitor {
    fn new() -> Self {
        Self {
            http: no_redirects(),
            cookies: Vec::new(),
        }
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    fn request(&self, site: &Site, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", site.app.gateway_url))
            .header("user-agent", PHONE)
            .header("accept-language", "en-GB,en;q=0.9");
        let cookie = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        request
    }

    async fn get(&mut self, site: &Site, path: &str) -> (StatusCode, String) {
        let response = self
            .request(site, reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        self.keep(&response.headers().clone());
        (response.status(), response.text().await.unwrap())
    }

    /// A challenge from `/gate/challenge` (`?for=report`, or the gate's own
    /// with `purpose` empty), solved: the form's `pow` field.
    async fn solve(&mut self, site: &Site, purpose: &str) -> String {
        let path = if purpose.is_empty() {
            "/gate/challenge".to_owned()
        } else {
            format!("/gate/challenge?for={purpose}")
        };
        let response = self
            .request(site, reqwest::Method::POST, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let puzzles: Vec<Challenge> = serde_json::from_value(body["puzzles"].clone()).unwrap();
        puzzles
            .iter()
            .map(|p| pow::encode_payload(p, pow::solve(p).unwrap()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Posts the report form at `path`: status, `Location`, body.
    async fn report(
        &mut self,
        site: &Site,
        path: &str,
        reason: &str,
        note: &str,
        pow: &str,
    ) -> (StatusCode, String, String) {
        let response = self
            .request(site, reqwest::Method::POST, path)
            .form(&[("reason", reason), ("note", note), ("pow", pow)])
            .send()
            .await
            .unwrap();
        self.keep(&response.headers().clone());
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), location, response.text().await.unwrap())
    }
}

async fn a_solved_report_reaches_the_queue_until_dismissed(mode: Mode) {
    let site = Site::spawn(mode).await;
    let mut visitor = Visitor::new();
    // The number page links every message to its form.
    let (status, page) = visitor.get(&site, &format!("/numbers/{NUMBER}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("href=\"{}\"", site.form_path())),
        "{page}"
    );
    // The form, in both languages, not indexed.
    let (status, form) = visitor.get(&site, &site.form_path()).await;
    assert_eq!(status, 200);
    for needle in [
        "value=\"personal_data\"",
        "value=\"abuse\"",
        "value=\"other\"",
        "name=\"note\"",
        "maxlength=\"500\"",
        "Reporting needs JavaScript",
        "noindex",
    ] {
        assert!(form.contains(needle), "{needle}: {form}");
    }
    assert!(unescape_html(&form).contains("12 High St"));
    let (status, zh) = visitor
        .get(&site, &format!("/zh-CN{}", site.form_path()))
        .await;
    assert_eq!(status, 200);
    assert!(
        zh.contains("举报这条消息") && zh.contains("lang=\"zh-CN\""),
        "{zh}"
    );

    let pow = visitor.solve(&site, "report").await;
    let (status, location, _) = visitor
        .report(
            &site,
            &site.form_path(),
            "personal_data",
            "It shows my address",
            &pow,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("{}?sent=1", site.form_path()));
    let (status, thanks) = visitor.get(&site, &location).await;
    assert_eq!(status, 200);
    assert!(
        unescape_html(&thanks).contains("Your report is in the operator's queue"),
        "{thanks}"
    );

    // The operator's queue has it, with its message as stored.
    let open = site.queue("open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let report = &open[0];
    assert_eq!(report["reason"], "personal_data");
    assert_eq!(report["note"], "It shows my address");
    assert_eq!(report["status"], "open");
    assert_eq!(report["message"]["id"], site.message);
    assert_eq!(report["message"]["number"], NUMBER);
    assert_eq!(report["message"]["from"], "Shop");
    assert_eq!(
        report["message"]["body"],
        "Your order for Ann Lee, 12 High St"
    );
    assert!(report["message"]["received_at"].is_string());
    let id = report["id"].as_i64().unwrap();

    // The console lists it too, with its forms for a logged-in operator.
    let http = no_redirects();
    let login = http
        .post(format!("{}/admin/stats", site.app.gateway_url))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let session =
        cloudsms_tests::cookie_value(login.headers().get(SET_COOKIE).unwrap().to_str().unwrap())
            .to_owned();
    let console = http
        .get(format!("{}/admin/reports", site.app.gateway_url))
        .header("cookie", format!("cloudsms_admin={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 200);
    let console = console.text().await.unwrap();
    assert!(console.contains("It shows my address"), "{console}");
    assert!(console.contains(&format!("action=\"/admin/messages/{}\"", site.message)));
    assert!(console.contains("name=\"action\" value=\"hide\""));
    let csrf = cloudsms_tests::console_csrf_token(&console);
    let dismiss = |csrf: String| {
        let http = http.clone();
        let session = session.clone();
        let url = format!("{}/admin/reports/{id}/dismiss", site.app.gateway_url);
        async move {
            http.post(url)
                .header("cookie", format!("cloudsms_admin={session}"))
                .form(&[("csrf", csrf)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(dismiss("0".repeat(32)).await, StatusCode::FORBIDDEN);
    assert_eq!(
        site.queue("open").await.len(),
        1,
        "a forged form dismissed nothing"
    );
    assert_eq!(dismiss(csrf).await, StatusCode::SEE_OTHER);
    assert!(site.queue("open").await.is_empty());
    let dismissed = site.queue("dismissed").await;
    assert_eq!(dismissed.len(), 1);
    assert_eq!(dismissed[0]["resolved_by"], "admin");
    assert_eq!(site.queue("all").await.len(), 1);

    // The API dismisses too: a second report, dismissed with a note.
    let pow = visitor.solve(&site, "report").await;
    let (status, _, _) = visitor
        .report(&site, &site.form_path(), "abuse", "", &pow)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let second = site.queue("open").await[0]["id"].as_i64().unwrap();
    let api = |path: String, token: Option<&str>| {
        let mut request = site
            .app
            .client
            .post(format!("{}{path}", site.app.gateway_url))
            .json(&serde_json::json!({ "note": "not personal data" }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status() }
    };
    let path = format!("/admin/api/v1/reports/{second}/dismiss");
    assert_eq!(api(path.clone(), None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(api(path.clone(), Some(TOKEN)).await, StatusCode::OK);
    assert_eq!(api(path, Some(TOKEN)).await, StatusCode::CONFLICT);
    assert_eq!(
        api("/admin/api/v1/reports/999999/dismiss".into(), Some(TOKEN)).await,
        StatusCode::NOT_FOUND
    );
    assert!(site.queue("open").await.is_empty());
    let bad = site
        .app
        .client
        .get(format!(
            "{}/admin/api/v1/reports?status=closed",
            site.app.gateway_url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // Documented in the OpenAPI file under the tag admin.
    let (_, spec) = site.app.get("/api/openapi.json").await;
    let spec: Value = serde_json::from_str(&spec).unwrap();
    assert_eq!(
        spec["paths"]["/admin/api/v1/reports"]["get"]["tags"][0],
        "admin"
    );
    assert!(spec["paths"]["/admin/api/v1/reports/{id}/dismiss"]["post"].is_object());

    // A third report, answered by hiding the message from the queue's form:
    // the report is resolved, and a hidden message can no longer be reported.
    let pow = visitor.solve(&site, "report").await;
    let (status, _, _) = visitor
        .report(&site, &site.form_path(), "personal_data", "", &pow)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(site.queue("open").await.len(), 1);
    let console = http
        .get(format!("{}/admin/reports", site.app.gateway_url))
        .header("cookie", format!("cloudsms_admin={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = cloudsms_tests::console_csrf_token(&console);
    let hidden = http
        .post(format!(
            "{}/admin/messages/{}",
            site.app.gateway_url, site.message
        ))
        .header("cookie", format!("cloudsms_admin={session}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "hide"),
            ("reason", "personal data"),
            ("back", "/admin/reports"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        hidden.headers().get("location").unwrap(),
        "/admin/reports?done=hidden"
    );
    assert!(site.queue("open").await.is_empty());
    let resolved = site.queue("resolved").await;
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["resolved_by"], "admin");
    let (status, _) = visitor.get(&site, &site.form_path()).await;
    assert_eq!(status, 404, "a hidden message is no visitor's to report");
    site.stop().await;
}
both_modes!(a_solved_report_reaches_the_queue_until_dismissed);

async fn reports_without_a_fresh_solution_are_refused_and_store_nothing(mode: Mode) {
    let site = Site::spawn(mode).await;
    let mut visitor = Visitor::new();
    let form = site.form_path();
    // No JavaScript: no solution.
    let (status, _, body) = visitor.report(&site, &form, "abuse", "", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("needs a freshly solved puzzle"), "{body}");
    // A flood of forged solutions.
    for i in 0..20 {
        let forged = base64_of(&format!("{{\"number\":{i}}}"));
        let (status, _, _) = visitor
            .report(&site, &form, "abuse", "flood", &forged)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // The gate's own challenge buys a pass, not a report.
    let gate = visitor.solve(&site, "").await;
    let (status, _, _) = visitor.report(&site, &form, "abuse", "", &gate).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(site.stored_reports().await, 0, "nothing stored");

    // A solution buys one report, once.
    let pow = visitor.solve(&site, "report").await;
    let (status, _, _) = visitor.report(&site, &form, "other", "", &pow).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = visitor.report(&site, &form, "other", "", &pow).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a spent solution is refused");
    assert_eq!(site.stored_reports().await, 1);

    // Bad input is refused before any solution is spent.
    let pow = visitor.solve(&site, "report").await;
    let (status, _, _) = visitor.report(&site, &form, "spam", "", &pow).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = visitor
        .report(&site, &form, "other", &"x".repeat(501), &pow)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Unknown messages, or another number's, have no form.
    for path in [
        format!("/numbers/{NUMBER}/messages/999999/report"),
        format!("/numbers/{OTHER}/messages/{}/report", site.message),
        format!("/numbers/{NUMBER}/messages/abc/report"),
        format!("/zh-CN/numbers/{NUMBER}/messages/999999/report"),
    ] {
        let (status, _) = visitor.get(&site, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let (status, _, _) = visitor.report(&site, &path, "abuse", "", &pow).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // The unspent solution still works: the refusals above spent nothing.
    let (status, _, _) = visitor.report(&site, &form, "other", "", &pow).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(site.stored_reports().await, 2);
    site.stop().await;
}
both_modes!(reports_without_a_fresh_solution_are_refused_and_store_nothing);

async fn a_visitors_reports_are_rate_limited(mode: Mode) {
    let site = Site::spawn(mode).await;
    let mut visitor = Visitor::new();
    let (status, _) = visitor.get(&site, &site.form_path()).await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        let pow = visitor.solve(&site, "report").await;
        let (status, _, _) = visitor
            .report(&site, &site.form_path(), "abuse", "", &pow)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let pow = visitor.solve(&site, "report").await;
    let response = visitor
        .request(&site, reqwest::Method::POST, &site.form_path())
        .form(&[("reason", "abuse"), ("note", ""), ("pow", pow.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert!(response.text().await.unwrap().contains("Too many reports"));
    assert_eq!(site.stored_reports().await, 5);
    site.stop().await;
}
both_modes!(a_visitors_reports_are_rate_limited);

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn without_captcha_verification_reporting_is_unavailable(mode: Mode) {
    // The gate is off in the default test settings: nothing can redeem a
    // solution, so the form says so and a post is refused (fail closed).
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let sent = app.send_sms(NUMBER, "Shop", "hello", "u-1").await;
    assert!(sent.status().is_success());
    let id = app.wait_for_stored(NUMBER, 1).await[0].id;
    let path = format!("/numbers/{NUMBER}/messages/{id}/report");
    let (status, form) = app.get(&path).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("Reporting is unavailable right now"),
        "{form}"
    );
    let response = app
        .client
        .post(format!("{}{path}", app.gateway_url))
        .form(&[("reason", "abuse"), ("note", ""), ("pow", "YQ==")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let stored = app.infra.store.list_reports(None, None, 10).await.unwrap();
    assert!(stored.is_empty());
    app.stop().await;
}
both_modes!(without_captcha_verification_reporting_is_unavailable);
