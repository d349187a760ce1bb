//! `cloudsms.captcha.v1.CaptchaService`: the same operations as the HTTP
//! endpoints, for the gateway. `Verify` is authenticated by the site secret
//! it carries; `IssueChallenge` and `Redeem` are public operations anyway;
//! `ForgetVisitor` deletes the challenge counts kept under a visitor id (the
//! gateway calls it when a visitor deletes their data).
//!
//! `Redeem` trusts its caller for the `hostname` (checked against the site's
//! `hostnames` and written into the token): the caller is an internal
//! service (the gateway, which knows its own host), and this port is not
//! meant to be reachable from outside. Browsers redeem over HTTP, where the
//! hostname comes from the `Origin` header. `site_key` and `action`, when
//! given, must be those the challenge was issued for: the gate names its own
//! site and `gate`, so no other site's or action's solution buys a pass.

use proto::captcha::v1::captcha_service_server::{CaptchaService, CaptchaServiceServer};
use proto::captcha::v1::{
    ForgetVisitorRequest, ForgetVisitorResponse, IssueChallengeRequest, IssueChallengeResponse,
    RedeemRequest, RedeemResponse, VerifyRequest, VerifyResponse,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::service::{Captcha, Requester};

struct Service {
    captcha: Captcha,
}

fn requester(ip: &str, visitor_id: &str) -> Requester {
    Requester {
        ip: ip.trim().parse().ok(),
        visitor_id: visitor_id.to_owned(),
    }
}

#[tonic::async_trait]
impl CaptchaService for Service {
    #[tracing::instrument(name = "CaptchaService/IssueChallenge", skip_all, fields(rpc.system = "grpc"))]
    async fn issue_challenge(
        &self,
        request: Request<IssueChallengeRequest>,
    ) -> Result<Response<IssueChallengeResponse>, Status> {
        let req = request.into_inner();
        let puzzles = self
            .captcha
            .issue_puzzles(
                &req.site_key,
                &req.action,
                &requester(&req.ip, &req.visitor_id),
                u64::from(req.puzzles.max(1)),
            )
            .await
            .map_err(|_| {
                Status::invalid_argument("unknown site_key, invalid action or too many puzzles")
            })?;
        let puzzles_json = puzzles
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Status::internal("cannot encode the challenge"))?;
        Ok(Response::new(IssueChallengeResponse {
            challenge_json: puzzles_json.first().cloned().unwrap_or_default(),
            puzzles_json,
        }))
    }

    #[tracing::instrument(name = "CaptchaService/Redeem", skip_all, fields(rpc.system = "grpc"))]
    async fn redeem(
        &self,
        request: Request<RedeemRequest>,
    ) -> Result<Response<RedeemResponse>, Status> {
        let req = request.into_inner();
        let payloads: Vec<&str> = if req.payloads.is_empty() {
            vec![req.payload.as_str()]
        } else {
            req.payloads.iter().map(String::as_str).collect()
        };
        let result = self
            .captcha
            .redeem_puzzles(
                &payloads,
                &req.site_key,
                &req.hostname,
                &req.action,
                &requester(&req.ip, ""),
            )
            .await;
        Ok(Response::new(match result {
            Ok(token) => RedeemResponse {
                ok: true,
                token,
                error_codes: Vec::new(),
            },
            Err(code) => RedeemResponse {
                ok: false,
                token: String::new(),
                error_codes: vec![code.as_str().to_owned()],
            },
        }))
    }

    #[tracing::instrument(name = "CaptchaService/Verify", skip_all, fields(rpc.system = "grpc"))]
    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        let req = request.into_inner();
        let result = self
            .captcha
            .verify(&req.secret, &req.token, "", &requester(&req.remote_ip, ""))
            .await;
        Ok(Response::new(match result {
            Ok(v) => VerifyResponse {
                success: true,
                hostname: v.claims.hostname,
                action: v.claims.action,
                error_codes: Vec::new(),
            },
            Err(codes) => VerifyResponse {
                success: false,
                hostname: String::new(),
                action: String::new(),
                error_codes: codes.iter().map(|c| c.as_str().to_owned()).collect(),
            },
        }))
    }

    #[tracing::instrument(name = "CaptchaService/ForgetVisitor", skip_all, fields(rpc.system = "grpc"))]
    async fn forget_visitor(
        &self,
        request: Request<ForgetVisitorRequest>,
    ) -> Result<Response<ForgetVisitorResponse>, Status> {
        let visitor = request.into_inner().visitor_id;
        if !crate::pow::is_ident(&visitor, false) {
            return Err(Status::invalid_argument("visitor_id is not an identifier"));
        }
        let deleted = self.captcha.forget_visitor(&visitor).await.map_err(|err| {
            tracing::warn!(%err, "visitor's challenge counts not deleted");
            Status::unavailable("the cache did not answer")
        })?;
        Ok(Response::new(ForgetVisitorResponse { deleted }))
    }
}

/// Serves `CaptchaService` on `listener` until `shutdown`.
pub async fn serve(
    captcha: Captcha,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let routes = tonic::service::Routes::new(CaptchaServiceServer::new(Service { captcha }));
    platform::grpc::serve(routes, listener, shutdown).await
}
