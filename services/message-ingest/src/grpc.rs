//! `cloudsms.ingest.v1.IngestService`: the same acceptance path as the
//! webhooks, for trusted producers inside the cluster (a modem bank, a
//! bridge). Every call must carry `authorization: Bearer <ingest.grpc_token>`;
//! with no token configured the API refuses every call.

use futures::future::join_all;
use platform::Infra;
use proto::ingest::v1::ingest_service_server::{IngestService, IngestServiceServer};
use proto::ingest::v1::{
    SubmitRequest, SubmitResponse, SubmitResult, SubmitSmsRequest, SubmitSmsResponse,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};

use crate::accept::{AppState, InboundSms, Shared, accept};
use crate::error::IngestError;

/// Messages from gRPC producers are stored under this provider name, with
/// `<source>:<source_message_id>` as their id.
pub const PROVIDER: &str = "grpc";

struct Service {
    state: AppState,
}

impl Service {
    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let expected = self.state.settings.ingest.grpc_token.expose();
        if expected.is_empty() {
            return Err(Status::permission_denied(
                "gRPC ingest is disabled: set ingest.grpc_token",
            ));
        }
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("missing authorization: Bearer <token>"))?;
        if !platform::constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return Err(Status::unauthenticated("invalid token"));
        }
        Ok(())
    }

    async fn submit_one(&self, req: SubmitSmsRequest) -> Result<SubmitSmsResponse, Status> {
        let source = req.source.trim();
        if source.is_empty()
            || source.len() > 32
            || !source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Status::invalid_argument(
                "source: 1 to 32 letters, digits, '-' or '_'",
            ));
        }
        // As accept() will store it: without U+0000.
        if domain::storable_text(&req.source_message_id)
            .trim()
            .is_empty()
        {
            return Err(Status::invalid_argument("source_message_id: required"));
        }
        let received_at = req.received_at.as_ref().and_then(|t| {
            chrono::DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t))
        });
        let sms = InboundSms {
            provider: PROVIDER,
            provider_message_id: format!("{source}:{}", req.source_message_id.trim()),
            to: req.to,
            from: req.from,
            body: req.body,
            received_at,
            segments: 0,
        };
        let accepted = accept(&self.state, sms).await.map_err(to_status)?;
        Ok(SubmitSmsResponse {
            event_id: accepted.event_id,
            duplicate: accepted.duplicate,
        })
    }
}

fn to_status(err: IngestError) -> Status {
    match err {
        IngestError::Unavailable(msg) => Status::unavailable(msg),
        IngestError::Unauthorized(msg) => Status::unauthenticated(msg),
        IngestError::ProviderDisabled(p) => Status::not_found(format!("{p} disabled")),
        IngestError::Unprocessable(msg) | IngestError::BadRequest(msg) => {
            Status::invalid_argument(msg)
        }
        other => Status::invalid_argument(other.to_string()),
    }
}

fn code_name(code: Code) -> String {
    format!("{code:?}")
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
            sep.into_iter()
                .chain(std::iter::once(c.to_ascii_uppercase()))
        })
        .collect()
}

#[tonic::async_trait]
impl IngestService for Service {
    #[tracing::instrument(name = "IngestService/SubmitSms", skip_all, fields(rpc.system = "grpc"))]
    async fn submit_sms(
        &self,
        request: Request<SubmitSmsRequest>,
    ) -> Result<Response<SubmitSmsResponse>, Status> {
        self.authorize(&request)?;
        Ok(Response::new(self.submit_one(request.into_inner()).await?))
    }

    #[tracing::instrument(name = "IngestService/Submit", skip_all, fields(rpc.system = "grpc"))]
    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        self.authorize(&request)?;
        let messages = request.into_inner().messages;
        let max = self.state.settings.ingest.max_batch;
        if messages.len() > max {
            return Err(Status::invalid_argument(format!(
                "batch of {} messages; at most {max}",
                messages.len()
            )));
        }
        let results = join_all(messages.into_iter().map(|item| async move {
            let source_message_id = item.source_message_id.clone();
            match self.submit_one(item).await {
                Ok(ok) => SubmitResult {
                    source_message_id,
                    accepted: true,
                    duplicate: ok.duplicate,
                    event_id: ok.event_id,
                    ..Default::default()
                },
                Err(status) => SubmitResult {
                    source_message_id,
                    error_code: code_name(status.code()),
                    error: status.message().to_owned(),
                    ..Default::default()
                },
            }
        }))
        .await;
        Ok(Response::new(SubmitResponse { results }))
    }
}

/// Serves `IngestService` until `shutdown`.
pub async fn serve(
    infra: &Infra,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let service = Service {
        state: Shared::new(infra),
    };
    let routes = tonic::service::Routes::new(IngestServiceServer::new(service));
    platform::grpc::serve(routes, listener, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_named_like_grpc() {
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::Unavailable), "UNAVAILABLE");
    }

    #[tokio::test]
    async fn only_the_exact_token_is_authorized() {
        let (infra, _dir) = crate::accept::test_infra("[ingest]\ngrpc_token = \"abc\"\n").await;
        let service = Service {
            state: Shared::new(&infra),
        };
        let call = |token: &str| {
            let mut request = Request::new(());
            let value = format!("Bearer {token}").parse();
            request
                .metadata_mut()
                .insert("authorization", value.expect("ASCII token"));
            service.authorize(&request).map_err(|status| status.code())
        };
        assert_eq!(call("abc"), Ok(()));
        for wrong in ["abd", "abcd", "ab", ""] {
            assert_eq!(call(wrong), Err(Code::Unauthenticated), "{wrong:?}");
        }
    }
}
