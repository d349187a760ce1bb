//! `cloudsms.ingest.v1.IngestService`: the same acceptance path as the
//! webhooks, for trusted producers inside the cluster.

use platform::Infra;
use proto::ingest::v1::ingest_service_server::{IngestService, IngestServiceServer};
use proto::ingest::v1::{SubmitSmsRequest, SubmitSmsResponse};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::accept::{AppState, InboundSms, accept};
use crate::error::IngestError;

/// Producer names become provider names: keep them short and plain.
fn source_name(raw: &str) -> Result<&'static str, Status> {
    // Provider names are static in events; map known producers, refuse others.
    match raw {
        "modem" => Ok("modem"),
        "operator" => Ok("operator"),
        "demo" => Ok("demo"),
        other => Err(Status::invalid_argument(format!(
            "source {other:?} is not one of modem, operator, demo"
        ))),
    }
}

struct Service {
    state: AppState,
}

#[tonic::async_trait]
impl IngestService for Service {
    #[tracing::instrument(name = "IngestService/SubmitSms", skip_all, fields(otel.kind = "server", rpc.system = "grpc"))]
    async fn submit_sms(
        &self,
        request: Request<SubmitSmsRequest>,
    ) -> Result<Response<SubmitSmsResponse>, Status> {
        let req = request.into_inner();
        let received_at = req.received_at.as_ref().and_then(|t| {
            chrono::DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t))
        });
        let sms = InboundSms {
            provider: source_name(&req.source)?,
            provider_message_id: req.source_message_id,
            to: req.to,
            from: req.from,
            body: req.body,
            received_at,
            segments: 0,
        };
        let accepted = accept(&self.state, sms).await.map_err(|err| match err {
            IngestError::Unavailable(msg) => Status::unavailable(msg),
            IngestError::Unauthorized(msg) => Status::unauthenticated(msg),
            IngestError::ProviderDisabled(p) => Status::not_found(format!("{p} disabled")),
            IngestError::BadRequest(msg) | IngestError::Unprocessable(msg) => {
                Status::invalid_argument(msg)
            }
            other @ (IngestError::TooLarge(_)
            | IngestError::NoRoute
            | IngestError::UnsupportedMediaType(_)) => Status::invalid_argument(other.to_string()),
        })?;
        Ok(Response::new(SubmitSmsResponse {
            event_id: accepted.event_id,
            duplicate: accepted.duplicate,
        }))
    }
}

/// Serves `IngestService` until `shutdown`.
pub async fn serve(
    infra: &Infra,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "grpc listening");
    let service = Service {
        state: AppState::new(infra),
    };
    tonic::transport::Server::builder()
        .add_service(IngestServiceServer::new(service))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown.cancelled_owned(),
        )
        .await?;
    Ok(())
}
