//! U+0000 in what a provider sends: Postgres refuses it in text (SQLSTATE
//! 22021), so it is dropped before anything is stored; one sender's NUL
//! never costs anyone else their message, whichever provider decoded it.

use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};
use proto::events::v1::SmsReceived;
use proto::ingest::v1::ingest_service_client::IngestServiceClient;

use crate::{
    grpc_ingest as grpc, provider_httpsms as httpsms, provider_jasmin as jasmin,
    provider_plivo as plivo, provider_sms_gateway as sms_gateway,
    provider_smsforwarder as smsforwarder, provider_telnyx as telnyx, provider_twilio as twilio,
    provider_vonage as vonage,
};

const NUMBER: &str = "+447700900471";

async fn one_nul_loses_no_one_elses_message(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let poison = 20;
    let sends = (0..41).map(|i| {
        let app = &app;
        async move {
            let body = if i == poison {
                "hello\u{0}world".to_owned()
            } else {
                format!("innocent message {i}.")
            };
            app.send_sms(NUMBER, "Bank", &body, &format!("nul-{i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");

    let rows = app.wait_for_stored(NUMBER, 41).await;
    assert_eq!(rows.len(), 41);
    let stored = rows
        .iter()
        .find(|r| r.provider_message_id == format!("nul-{poison}"))
        .unwrap();
    assert_eq!(stored.body, "helloworld");
    let html = app.wait_for_page(NUMBER, "helloworld").await;
    for i in (0..41).filter(|i| *i != poison) {
        assert!(
            html.contains(&format!("innocent message {i}.")),
            "message {i} is on the page"
        );
    }
    app.stop().await;
}
both_modes!(one_nul_loses_no_one_elses_message);

/// Every provider enabled, each with the secret its own tests sign with.
fn every_provider(telnyx_key: &str) -> String {
    format!(
        "[ingest]\npublic_url = \"{public}\"\ngrpc_token = \"{grpc}\"\n\
         [ingest.providers.twilio]\nauth_token = \"{twilio}\"\n\
         [ingest.providers.plivo]\nauth_token = \"{plivo}\"\n\
         [ingest.providers.vonage]\nsignature_secret = \"{vonage}\"\nsignature_method = \"sha256\"\n\
         [ingest.providers.telnyx]\npublic_key = \"{telnyx_key}\"\n\
         [ingest.providers.httpsms]\nsigning_key = \"{httpsms}\"\n\
         [ingest.providers.sms_gateway]\nsigning_key = \"{sms_gateway}\"\n\
         [ingest.providers.jasmin]\nshared_secret = \"{jasmin}\"\n\
         [ingest.providers.smsforwarder]\nsecret = \"{smsforwarder}\"\n",
        public = twilio::PUBLIC,
        grpc = grpc::TOKEN,
        twilio = twilio::TOKEN,
        plivo = plivo::TOKEN,
        vonage = vonage::SECRET,
        httpsms = httpsms::KEY,
        sms_gateway = sms_gateway::KEY,
        jasmin = jasmin::SECRET,
        smsforwarder = smsforwarder::SECRET,
    )
}

/// What must be stored: which number, provider and id (any id when `None`),
/// with which text.
struct Expected {
    number: &'static str,
    provider: &'static str,
    id: Option<String>,
    body: &'static str,
}

fn expect(number: &'static str, provider: &'static str, id: &str, body: &'static str) -> Expected {
    Expected {
        number,
        provider,
        id: Some(id.to_owned()),
        body,
    }
}

async fn every_decoding_path_stores_text_without_nul(mode: Mode) {
    let keys = telnyx::keypair();
    let app = TestApp::spawn_with_config(mode, &every_provider(&keys.public_b64)).await;
    for number in [
        NUMBER,
        twilio::NUMBER,
        plivo::NUMBER,
        vonage::NUMBER,
        telnyx::NUMBER,
        httpsms::NUMBER,
        sms_gateway::NUMBER,
        jasmin::NUMBER,
        smsforwarder::NUMBER,
        grpc::NUMBER,
    ] {
        app.add_number(number).await;
    }
    let mut expected = Vec::new();

    // Our own JSON webhook: `\u0000` in the id, the sender and the text.
    let resp = app
        .send_sms(
            NUMBER,
            "Ba\u{0}nk",
            "Generic code\u{0} 100001",
            "nul-\u{0}generic",
        )
        .await;
    assert_eq!(resp.status(), 202);
    expected.push(expect(
        NUMBER,
        "generic",
        "nul-generic",
        "Generic code 100001",
    ));

    // Form-encoded providers: `%00`.
    let (signature, body) = twilio::signed_form(
        &format!("{}/webhooks/twilio", twilio::PUBLIC),
        &twilio::params(
            "SMnul00000000000000000000000000001",
            twilio::NUMBER,
            "Twilio code\u{0} 100002",
        ),
        "HMAC_SHA1",
    );
    assert!(body.contains("%00"), "{body}");
    assert_eq!(
        twilio::post_form(&app, &signature, &body).await.status(),
        200
    );
    expected.push(expect(
        twilio::NUMBER,
        "twilio",
        "SMnul00000000000000000000000000001",
        "Twilio code 100002",
    ));

    let uuid = "a1b2c3d4-0000-11ee-8f3a-0242ac1100ff";
    let (signature, nonce, body) = plivo::signed_form(
        &plivo::url(),
        &plivo::params(uuid, plivo::TO, "Plivo code\u{0} 100003"),
    );
    assert_eq!(
        plivo::post_form(&app, &signature, &nonce, &body)
            .await
            .status(),
        200
    );
    expected.push(expect(plivo::NUMBER, "plivo", uuid, "Plivo code 100003"));

    let signed = vonage::sign(
        &vonage::sms("0Bnul00000000001", "Vonage code\u{0} 100004"),
        "sha256",
    );
    assert_eq!(vonage::get(&app, &signed.query).await.status(), 204);
    expected.push(expect(
        vonage::NUMBER,
        "vonage",
        "0Bnul00000000001",
        "Vonage code 100004",
    ));

    // A multi-part SMS: NUL in the parts' texts, their reference and an id,
    // all held in the database until the last part arrives.
    for (n, id, text) in [
        (1, "nul\u{0}part-1", "Vonage long \u{0}code "),
        (2, "nulpart-2", "is 100\u{0}005"),
    ] {
        let signed = vonage::sign(&vonage::part(id, text, "9\u{0}", n, 2), "sha256");
        assert_eq!(vonage::get(&app, &signed.query).await.status(), 204);
    }
    expected.push(expect(
        vonage::NUMBER,
        "vonage",
        &format!("concat:9:{}:nulpart-1", vonage::SENDER),
        "Vonage long code is 100005",
    ));

    // JSON providers: `\u0000`.
    let body = telnyx::event(
        "message.received",
        "nul-telnyx-1",
        telnyx::NUMBER,
        "Telnyx code\u{0} 100006",
    );
    assert!(body.contains("\\u0000"), "{body}");
    assert_eq!(telnyx::post_signed(&app, &keys, &body).await.status(), 200);
    expected.push(expect(
        telnyx::NUMBER,
        "telnyx",
        "nul-telnyx-1",
        "Telnyx code 100006",
    ));

    let token = httpsms::httpsms_token(&format!("{}/webhooks/httpsms", twilio::PUBLIC));
    let body = httpsms::event(
        "message.phone.received",
        "nul-httpsms-1",
        httpsms::NUMBER,
        "httpSMS code\u{0} 100007",
    );
    assert_eq!(
        httpsms::post(&app, Some("application/json"), Some(&token), &body)
            .await
            .status(),
        200
    );
    expected.push(expect(
        httpsms::NUMBER,
        "httpsms",
        "nul-httpsms-1",
        "httpSMS code 100007",
    ));

    let body = sms_gateway::received(
        "nul-event",
        "nul-message",
        "Gateway code\u{0} 100008",
        &chrono::Utc::now().to_rfc3339(),
    );
    assert_eq!(
        sms_gateway::post_signed(&app, &sms_gateway::to(sms_gateway::NUMBER), &body)
            .await
            .status(),
        200
    );
    expected.push(Expected {
        number: sms_gateway::NUMBER,
        provider: "sms-gateway",
        id: None,
        body: "Gateway code 100008",
    });

    // Jasmin: UCS-2 (coding 8) with a 0x0000 code unit, and `%00` in plain content.
    let ucs2 = jasmin::ucs2("Jasmin code\u{0} 100009");
    assert!(ucs2.windows(2).any(|w| w == [0, 0]));
    let resp = jasmin::get_ucs2(&app, "nul-jasmin-1", &ucs2).await;
    assert_eq!(resp.status(), 200);
    expected.push(expect(
        jasmin::NUMBER,
        "jasmin",
        "nul-jasmin-1",
        "Jasmin code 100009",
    ));
    let resp = jasmin::post(
        &app,
        &format!("secret={}", jasmin::SECRET),
        &jasmin::mo("nul-jasmin-2", "Jasmin plain\u{0} 100010"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    expected.push(expect(
        jasmin::NUMBER,
        "jasmin",
        "nul-jasmin-2",
        "Jasmin plain 100010",
    ));

    // SmsForwarder: `%00` in a form field.
    let timestamp = chrono::Utc::now().timestamp_millis().to_string();
    let resp = smsforwarder::post_default(
        &app,
        &format!("?to={}", smsforwarder::NUMBER),
        "SmsForwarder code\u{0} 100012",
        &timestamp,
    )
    .await;
    assert_eq!(resp.status(), 200);
    expected.push(Expected {
        number: smsforwarder::NUMBER,
        provider: "smsforwarder",
        id: None,
        body: "SmsForwarder code 100012",
    });

    // gRPC ingest goes through the same acceptance.
    let mut client = IngestServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    client
        .submit_sms(grpc::with_token(
            grpc::sms("nul-\u{0}grpc", grpc::NUMBER, "gRPC code\u{0} 100011"),
            grpc::TOKEN,
        ))
        .await
        .unwrap();
    expected.push(expect(
        grpc::NUMBER,
        "grpc",
        "modem-bank:nul-grpc",
        "gRPC code 100011",
    ));

    for want in &expected {
        let row = wait_for(&app, want).await;
        assert_eq!(row.body, want.body, "{}", want.provider);
        assert!(
            !row.sender.contains('\0'),
            "{}: {:?}",
            want.provider,
            row.sender
        );
        assert!(!row.provider_message_id.contains('\0'));
    }
    app.stop().await;
}
both_modes!(every_decoding_path_stores_text_without_nul);

/// The stored row `want` describes; panics after 20 s.
async fn wait_for(app: &TestApp, want: &Expected) -> store::MessageRow {
    wait_until(
        format_args!(
            "{} message {:?} stored for {}",
            want.provider, want.id, want.number
        ),
        std::time::Duration::from_secs(20),
        async || {
            app.stored(want.number).await.into_iter().find(|r| {
                r.provider == want.provider
                    && want
                        .id
                        .as_ref()
                        .is_none_or(|id| *id == r.provider_message_id)
            })
        },
    )
    .await
}

async fn a_legacy_event_with_nul_is_stored_without_it(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    // Published before accept() dropped NUL: straight onto the bus.
    let now = chrono::Utc::now().timestamp_millis();
    let legacy = SmsReceived {
        event_id: uuid::Uuid::now_v7().to_string(),
        provider: "generic".into(),
        provider_message_id: "legacy-\u{0}1".into(),
        to: NUMBER.into(),
        from: "Ba\u{0}nk".into(),
        body: "Legacy code\u{0} 200001".into(),
        received_at: Some(proto::timestamp_from_unix_millis(now)),
        accepted_at: Some(proto::timestamp_from_unix_millis(now)),
        segments: 1,
        // Before events carried the country.
        country: String::new(),
    };
    app.infra.bus.publish(&legacy).await.unwrap();
    let row = app.wait_for_provider_message(NUMBER, "legacy-1").await;
    assert_eq!(row.body, "Legacy code 200001");
    assert_eq!(row.sender, "Bank");
    app.wait_for_page(NUMBER, "Legacy code 200001").await;
    app.stop().await;
}
both_modes!(a_legacy_event_with_nul_is_stored_without_it);
