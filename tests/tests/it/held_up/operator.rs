//! Who may act: the operator's token is compared whole and guessing it is
//! throttled (without locking the operator out); `/my-data`'s delete only
//! follows a form of this site's own page.

use cloudsms_tests::{Isolation, Mode, TestApp, both_modes, csrf_token, no_redirects, text};

use super::spawn_with_retention;

const TOKEN: &str = "operator-token-for-tests-0123456789";
const VISITOR: &str = "00112233445566778899aabbccddeeff";

async fn the_admin_token_is_compared_whole_and_guessing_is_throttled(mode: Mode) {
    let iso =
        Isolation::with_overrides(mode, &format!("[gateway]\nadmin_token = \"{TOKEN}\"\n")).await;
    let app = TestApp::spawn_isolated(iso, mode, false).await;
    let client = no_redirects();
    // A bad range is answered only after the token was accepted.
    let stats = format!("{}/admin/stats?from=garbage", app.gateway_url);
    let with_bearer = |token: &str| client.get(&stats).bearer_auth(token).send();
    // No token is no guess.
    let r = client.get(&stats).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Close is not equal: a prefix, an extension, another case, a suffix.
    let close = [
        TOKEN[..TOKEN.len() - 1].to_owned(),
        format!("{TOKEN}0"),
        TOKEN.to_uppercase(),
        TOKEN[1..].to_owned(),
    ];
    for wrong in &close {
        assert_eq!(with_bearer(wrong).await.unwrap().status(), 401, "{wrong:?}");
    }
    // 20 wrong tokens a minute, then 429 with Retry-After, for the bearer
    // and the login form alike.
    for n in close.len()..20 {
        let r = with_bearer(&format!("guess-{n}")).await.unwrap();
        assert_eq!(r.status(), 401, "guess {n}");
    }
    let r = with_bearer("guess-21").await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "60");
    let r = client
        .post(format!("{}/admin/stats", app.gateway_url))
        .form(&[("token", "guess-22")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // The operator is not locked out by someone else's guessing.
    let r = with_bearer(TOKEN).await.unwrap();
    assert_eq!(r.status(), 400, "authenticated, then the range is refused");
    app.stop().await;
}
both_modes!(the_admin_token_is_compared_whole_and_guessing_is_throttled);

/// The delete form's token on `/my-data` for `visitor`.
async fn csrf_of(app: &TestApp, visitor: &str) -> String {
    csrf_token(&text(app.visitor_get("/my-data", visitor)).await)
}

async fn my_data_delete_follows_only_this_sites_own_form(mode: Mode) {
    let (app, stop) = spawn_with_retention(mode, "").await;
    let cookie = format!("{}={VISITOR}", gateway::VISITOR_COOKIE);
    let csrf = csrf_of(&app, VISITOR).await;
    let delete_url = format!("{}/my-data/delete", app.gateway_url);
    let port = app.gateway_url.rsplit(':').next().unwrap().to_owned();
    let post = |origin: Option<String>, body: String, content_type: &str| {
        let mut request = app
            .client
            .post(&delete_url)
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let form = format!("csrf={csrf}");
    let form_type = "application/x-www-form-urlencoded";
    // Cross-site or opaque origins, even with the right token.
    for origin in [
        "null".to_owned(),
        "https://evil.example".to_owned(),
        format!("http://127.0.0.1:{port}.evil.example"),
        format!("http://127.0.0.1.evil.example:{port}"),
        format!("https://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}"),
    ] {
        let r = post(Some(origin.clone()), form.clone(), form_type)
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{origin}");
    }
    // A token that is not this browser's, a repeated field, none, or a body
    // a cross-site form cannot send as a form.
    let other = csrf_of(&app, "ffeeddccbbaa99887766554433221100").await;
    for (body, content_type) in [
        (format!("csrf={other}"), form_type),
        (format!("csrf={}", csrf.to_uppercase()), form_type),
        (format!("csrf={}", &csrf[..csrf.len() - 1]), form_type),
        (String::new(), form_type),
        (format!("{{\"csrf\":\"{csrf}\"}}"), "application/json"),
    ] {
        let r = post(Some(app.gateway_url.clone()), body.clone(), content_type)
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{body}");
    }
    // Deleting is never a GET (a link or an image cannot do it).
    let r = app
        .client
        .get(format!("{delete_url}?csrf={csrf}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    // The page's own form goes through.
    let r = post(Some(app.gateway_url.clone()), form, form_type)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    stop.cancel();
    app.stop().await;
}
both_modes!(my_data_delete_follows_only_this_sites_own_form);
