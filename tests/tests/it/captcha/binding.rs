//! What a solution is bound to: the site key and action it was issued for
//! (enforced when the redeemer names them, as the gateway's gate does over
//! gRPC) and, over HTTP, the hostname of the page it was solved on, taken
//! from the `Origin` header and never from the request body.

use captcha_verification::pow::{self, Challenge};
use cloudsms_tests::{Mode, both_modes};
use proto::captcha::v1::captcha_service_client::CaptchaServiceClient;
use proto::captcha::v1::{IssueChallengeRequest, RedeemRequest};
use serde_json::json;

use super::{CaptchaApp, HOST, OTHER_SECRET, OTHER_SITE, SITE, codes};

/// A solved challenge of `site_key` and `action`, issued over gRPC.
async fn solved(
    client: &mut CaptchaServiceClient<tonic::transport::Channel>,
    site_key: &str,
    action: &str,
) -> String {
    let issued = client
        .issue_challenge(IssueChallengeRequest {
            site_key: site_key.into(),
            action: action.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let challenge: Challenge = serde_json::from_str(&issued.challenge_json).unwrap();
    pow::encode_payload(&challenge, pow::solve(&challenge).unwrap())
}

async fn grpc_redeem_holds_a_solution_to_the_gates_site_and_action(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let gate_site = app.infra.settings.gateway.gate.site_key.clone();
    let mut client = CaptchaServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    // What the gateway's gate sends: its site key and action `gate`.
    let redeem = |payload: String| RedeemRequest {
        payload,
        ip: "198.51.100.4".into(),
        site_key: gate_site.clone(),
        action: "gate".into(),
        ..Default::default()
    };
    for (site, action) in [
        (OTHER_SITE, "gate"),
        (SITE, "gate"),
        (gate_site.as_str(), "login"),
        (gate_site.as_str(), ""),
    ] {
        let payload = solved(&mut client, site, action).await;
        let refused = client.redeem(redeem(payload)).await.unwrap().into_inner();
        assert!(!refused.ok, "{site}/{action} redeemed as the gate's");
        assert_eq!(
            refused.error_codes,
            ["invalid-input-response"],
            "{site}/{action}"
        );
    }
    let payload = solved(&mut client, &gate_site, "gate").await;
    let accepted = client.redeem(redeem(payload)).await.unwrap().into_inner();
    assert!(accepted.ok, "{:?}", accepted.error_codes);
    assert!(accepted.token.starts_with("v1."));
    app.stop().await;
}
both_modes!(grpc_redeem_holds_a_solution_to_the_gates_site_and_action);

async fn the_hostname_is_the_origins_never_the_bodys(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    // SITE may only be solved on HOST.
    let claim_good_host =
        |payload: &str| json!({ "payload": payload, "sitekey": SITE, "hostname": HOST });

    // The body claims the good host; the browser says the page was elsewhere.
    let (_, payload) = app.solved("login").await;
    let r = app
        .redeem_from(Some("https://evil.example"), claim_good_host(&payload))
        .await;
    assert_eq!(codes(&r), ["invalid-input-response"], "{r}");
    // No Origin and nothing else to prove where it ran: refused for a
    // restricted site, whatever the body says.
    let r = app.redeem_from(None, claim_good_host(&payload)).await;
    assert_eq!(codes(&r), ["invalid-input-response"], "{r}");
    let r = app
        .redeem_from(Some("null"), claim_good_host(&payload))
        .await;
    assert_eq!(codes(&r), ["invalid-input-response"], "{r}");
    // From a page on the good host (any port, any case) it passes.
    let r = app
        .redeem_from(
            Some("HTTPS://Example.ORG:8443"),
            json!({ "payload": payload, "sitekey": SITE }),
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");

    // An unrestricted site: the token names the Origin's host, so a site's
    // backend can trust `hostname` in /siteverify's answer.
    let payload = other_site_solution(&app).await;
    let r = app
        .redeem_from(
            Some("https://real.example"),
            json!({ "payload": payload, "sitekey": OTHER_SITE, "hostname": "spoofed.example" }),
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    let verified = app
        .siteverify(OTHER_SECRET, r["token"].as_str().unwrap())
        .await;
    assert_eq!(verified["success"], true, "{verified}");
    assert_eq!(verified["hostname"], "real.example");
    app.stop().await;
}
both_modes!(the_hostname_is_the_origins_never_the_bodys);

async fn other_site_solution(app: &CaptchaApp) -> String {
    let (status, json) = app
        .challenge(&format!("sitekey={OTHER_SITE}&action=login"))
        .await;
    assert_eq!(status, 200, "{json}");
    let challenge: Challenge = serde_json::from_value(json).unwrap();
    pow::encode_payload(&challenge, pow::solve(&challenge).unwrap())
}

async fn grpc_redeem_takes_the_hostname_its_trusted_caller_gives(mode: Mode) {
    // Over gRPC the caller is the gateway (an internal service): the
    // hostname it passes is the one checked and recorded.
    let app = CaptchaApp::spawn(mode).await;
    let mut client = CaptchaServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    let payload = solved(&mut client, SITE, "").await;
    let redeem = |hostname: &str| RedeemRequest {
        payload: payload.clone(),
        hostname: hostname.into(),
        ..Default::default()
    };
    let refused = client.redeem(redeem("")).await.unwrap().into_inner();
    assert_eq!(refused.error_codes, ["invalid-input-response"]);
    let refused = client
        .redeem(redeem("evil.example"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refused.error_codes, ["invalid-input-response"]);
    let accepted = client.redeem(redeem(HOST)).await.unwrap().into_inner();
    assert!(accepted.ok, "{:?}", accepted.error_codes);
    app.stop().await;
}
both_modes!(grpc_redeem_takes_the_hostname_its_trusted_caller_gives);
