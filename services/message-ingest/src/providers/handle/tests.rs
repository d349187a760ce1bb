//! The steps every provider's route shares, checked on all nine through the
//! router (in process, on an in-process bus and a throw-away database).
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt as _;

use super::super::{
    generic::Generic, httpsms::Httpsms, jasmin::Jasmin, plivo::Plivo, sms_gateway::SmsGateway,
    smsforwarder::SmsForwarder, telnyx::Telnyx, twilio::Twilio, vonage::Vonage,
};
use super::*;
use crate::accept::test_infra;

/// What the table needs of a provider.
struct Case {
    name: &'static str,
    content_type: &'static str,
    takes_get: bool,
    body_checked_first: bool,
}

fn case<P: Provider>() -> Case {
    Case {
        name: P::NAME,
        content_type: P::CONTENT_TYPES[0],
        takes_get: P::TAKES_GET,
        body_checked_first: P::BODY_CHECKED_FIRST,
    }
}

fn all() -> [Case; 9] {
    [
        case::<Generic>(),
        case::<Twilio>(),
        case::<Vonage>(),
        case::<Telnyx>(),
        case::<Plivo>(),
        case::<SmsGateway>(),
        case::<Httpsms>(),
        case::<Jasmin>(),
        case::<SmsForwarder>(),
    ]
}

/// Every provider enabled, bodies limited to 1 KiB.
const ENABLED: &str = "[ingest]\nmax_body_bytes = 1024\n\
    [ingest.providers.generic]\nsecret = \"s\"\n\
    [ingest.providers.twilio]\nauth_token = \"t\"\n\
    [ingest.providers.vonage]\nsignature_secret = \"v\"\n\
    [ingest.providers.telnyx]\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n\
    [ingest.providers.plivo]\nauth_token = \"p\"\n\
    [ingest.providers.sms_gateway]\nsigning_key = \"g\"\n\
    [ingest.providers.httpsms]\nsigning_key = \"h\"\n\
    [ingest.providers.jasmin]\nshared_secret = \"j\"\n\
    [ingest.providers.smsforwarder]\nsecret = \"f\"\n";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    error: String,
}

async fn send(
    router: &Router,
    method: Method,
    name: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("/webhooks/{name}"));
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let error = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default();
    Answer {
        status,
        headers,
        error,
    }
}

#[tokio::test]
async fn disabled_providers_answer_404_naming_themselves() {
    let (infra, _dir) = test_infra("[ingest]\nmax_body_bytes = 1024\n").await;
    let router = crate::router(&infra);
    for case in all() {
        let answer = send(
            &router,
            Method::POST,
            case.name,
            Some(case.content_type),
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", case.name);
        assert_eq!(
            answer.error,
            format!("provider {} is not enabled", case.name)
        );
        // Two routes have always answered an oversize body before saying so.
        let oversize = send(
            &router,
            Method::POST,
            case.name,
            Some(case.content_type),
            vec![b'a'; 2000],
        )
        .await;
        let expected = if case.body_checked_first {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(oversize.status, expected, "{}", case.name);
    }
}

#[tokio::test]
async fn enabled_providers_share_the_checks_before_their_own() {
    let (infra, _dir) = test_infra(ENABLED).await;
    let router = crate::router(&infra);
    for case in all() {
        let name = case.name;
        let post = |content_type: Option<&'static str>, body: Vec<u8>| {
            send(&router, Method::POST, name, content_type, body)
        };

        let answer = post(Some("text/plain"), b"{}".to_vec()).await;
        assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}");
        assert!(
            answer
                .error
                .starts_with("content type `text/plain` is not accepted; send "),
            "{name}: {}",
            answer.error
        );

        let answer = post(Some(case.content_type), vec![b'a'; 2000]).await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{name}");
        assert_eq!(answer.error, "body larger than 1024 bytes");

        // Nothing unsigned gets past `verify`.
        let answer = post(Some(case.content_type), b"{}".to_vec()).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{name}");

        let answer = send(&router, Method::PUT, name, None, Vec::new()).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{name}");
        let allow = answer.headers.get(header::ALLOW).unwrap();
        if case.takes_get {
            assert_eq!(allow, "GET, POST");
            assert_eq!(answer.error, "use GET or POST");
            // A `GET` carries its parameters in the query: no content type.
            let answer = send(&router, Method::GET, name, None, Vec::new()).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{name}");
        } else {
            assert_eq!(allow, "POST");
        }
    }
    // Older httpSMS releases send no content type: read as JSON.
    let answer = send(&router, Method::POST, "httpsms", None, b"{}".to_vec()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // Anyone else must say what it sends.
    let answer = send(&router, Method::POST, "telnyx", None, b"{}".to_vec()).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// Status, content type and body of `P`'s answer to `outcome`.
async fn answer<P: Provider>(
    settings: &config::IngestSettings,
    outcome: Result<Option<Accepted>, IngestError>,
) -> (u16, String, String) {
    let response = P::answer(settings, outcome);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn each_provider_is_answered_as_it_expects() {
    let settings = config::Settings::from_toml_overrides("").unwrap().ingest;
    let accepted = || {
        Ok(Some(Accepted {
            event_id: "e1".into(),
            duplicate: false,
        }))
    };
    let json = "application/json";
    let accepted_json = r#"{"duplicate":false,"event_id":"e1","status":"accepted"}"#;
    let ignored_json = r#"{"status":"ignored"}"#;
    assert_eq!(
        answer::<Generic>(&settings, accepted()).await,
        (202, json.into(), accepted_json.into())
    );
    assert_eq!(
        answer::<Twilio>(&settings, accepted()).await,
        (200, "text/xml".into(), "<Response/>".into())
    );
    assert_eq!(
        answer::<Vonage>(&settings, accepted()).await,
        (204, String::new(), String::new())
    );
    assert_eq!(
        answer::<Vonage>(&settings, Ok(None)).await,
        (204, String::new(), String::new())
    );
    assert_eq!(
        answer::<Plivo>(&settings, accepted()).await,
        (200, String::new(), String::new())
    );
    assert_eq!(
        answer::<Jasmin>(&settings, accepted()).await,
        (200, "text/plain".into(), "ACK/Jasmin".into())
    );
    assert_eq!(
        answer::<Telnyx>(&settings, accepted()).await,
        (200, json.into(), accepted_json.into())
    );
    for ignored in [
        answer::<Telnyx>(&settings, Ok(None)).await,
        answer::<SmsGateway>(&settings, Ok(None)).await,
        answer::<Httpsms>(&settings, Ok(None)).await,
        answer::<SmsForwarder>(&settings, Ok(None)).await,
    ] {
        assert_eq!(ignored, (200, json.into(), ignored_json.into()));
    }
    // Errors are the same JSON everywhere.
    let refused = || Err(IngestError::Unauthorized("signature does not match".into()));
    let refusal = (
        401,
        json.into(),
        r#"{"error":"signature does not match"}"#.into(),
    );
    assert_eq!(answer::<Twilio>(&settings, refused()).await, refusal);
    assert_eq!(answer::<Jasmin>(&settings, refused()).await, refusal);
}

#[tokio::test]
async fn jasmin_with_basic_auth_asks_for_it() {
    let mut settings = config::Settings::from_toml_overrides("").unwrap().ingest;
    let refused = || {
        Err(IngestError::Unauthorized(
            "wrong username or password".into(),
        ))
    };
    let response = Jasmin::answer(&settings, refused());
    assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));
    settings.providers.jasmin.username = "jasmin".into();
    let response = Jasmin::answer(&settings, refused());
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Basic realm=\"cloudsms\""
    );
    let response = Jasmin::answer(&settings, Err(IngestError::BadRequest("x".into())));
    assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));
}
