//! `IngestService` over gRPC: token required, per-item results in a batch,
//! the same dedupe and number checks as the webhooks.

use cloudsms_tests::{Mode, TestApp, both_modes};
use proto::ingest::v1::ingest_service_client::IngestServiceClient;
use proto::ingest::v1::{SubmitRequest, SubmitSmsRequest};
use tonic::Code;
use tonic::metadata::MetadataValue;

pub(crate) const NUMBER: &str = "+12025550143";
pub(crate) const TOKEN: &str = "test-grpc-token";

pub(crate) fn sms(id: &str, to: &str, body: &str) -> SubmitSmsRequest {
    SubmitSmsRequest {
        source: "modem-bank".into(),
        source_message_id: id.into(),
        to: to.into(),
        from: "+14155550199".into(),
        body: body.into(),
        received_at: None,
    }
}

pub(crate) fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

async fn grpc_needs_a_configured_token(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let mut client = IngestServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    let err = client
        .submit_sms(with_token(sms("a", NUMBER, "x"), "anything"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    app.stop().await;

    let app =
        TestApp::spawn_with_config(mode, &format!("[ingest]\ngrpc_token = \"{TOKEN}\"\n")).await;
    let mut client = IngestServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    let err = client.submit_sms(sms("a", NUMBER, "x")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = client
        .submit_sms(with_token(sms("a", NUMBER, "x"), "wrong-token"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    app.stop().await;
}
both_modes!(grpc_needs_a_configured_token);

async fn batch_submit_reports_each_item_and_shows_each_message_once(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        &format!("[ingest]\ngrpc_token = \"{TOKEN}\"\nmax_batch = 4\n"),
    )
    .await;
    app.add_number(NUMBER).await;
    let mut client = IngestServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();

    let single = client
        .submit_sms(with_token(sms("m-0", NUMBER, "modem says hello"), TOKEN))
        .await
        .unwrap()
        .into_inner();
    assert!(!single.duplicate);

    let batch = SubmitRequest {
        messages: vec![
            sms("m-1", NUMBER, "Your Viber code: 246810"),
            sms("m-2", "+12025550199", "to a number we do not have"),
            sms("m-0", NUMBER, "modem says hello"),
            sms("", NUMBER, "no id"),
        ],
    };
    let results = client
        .submit(with_token(batch, TOKEN))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(results.len(), 4);
    assert!(
        results[0].accepted && !results[0].duplicate,
        "{:?}",
        results[0]
    );
    assert!(!results[1].accepted);
    assert_eq!(results[1].error_code, "INVALID_ARGUMENT");
    assert!(results[1].error.contains("not a number of this site"));
    assert!(
        results[2].accepted && results[2].duplicate,
        "{:?}",
        results[2]
    );
    assert!(!results[3].accepted);
    assert!(results[3].error.contains("source_message_id"));

    let html = app.wait_for_page(NUMBER, "Your Viber code: 246810").await;
    assert_eq!(html.matches("modem says hello").count(), 1);
    app.wait_for_provider_message(NUMBER, "modem-bank:m-1")
        .await;
    assert_eq!(app.stored(NUMBER).await.len(), 2);

    let too_big = SubmitRequest {
        messages: (0..5)
            .map(|i| sms(&format!("b-{i}"), NUMBER, "x"))
            .collect(),
    };
    let err = client.submit(with_token(too_big, TOKEN)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("at most 4"));
    app.stop().await;
}
both_modes!(batch_submit_reports_each_item_and_shows_each_message_once);
