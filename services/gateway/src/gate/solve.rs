//! Solved challenges spent on something other than a pass: a visitor's
//! takedown report carries the solution of a challenge issued for the
//! gate's site key and the action `report` (`POST /gate/challenge?for=report`),
//! redeemed here through captcha-verification, single use like a pass's.

use axum::http::HeaderMap;
use base64::Engine;
use proto::captcha::v1::RedeemRequest;

use super::CAPTCHA;
use super::pages::hostname;
use crate::AppState;
use crate::client::ClientAddr;

/// The action a report's challenge is bound to: a solution of the gate's
/// own challenge (action `gate`) is no report's, nor the reverse.
pub const REPORT_ACTION: &str = "report";

/// Most sub-puzzle solutions one redemption carries.
const MAX_PAYLOADS: usize = 16;
/// Longest solution, base64.
const MAX_PAYLOAD_BYTES: usize = 4096;

/// What captcha-verification said of a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// Solved, and not spent before: it is spent now.
    Accepted,
    /// Missing, malformed, wrong, of another action, expired or spent
    /// already (the error codes say which).
    Refused(Vec<String>),
    /// The gate is off, or captcha-verification did not answer.
    Unavailable,
}

/// Whether solutions can be redeemed: the gate is on and knows where
/// captcha-verification is (else reports are refused, fail closed).
pub fn available(state: &AppState) -> bool {
    state.gate.captcha.is_some()
}

/// The solutions in a form field: base64 payloads separated by commas.
pub fn payloads(field: &str) -> Option<Vec<String>> {
    let payloads: Vec<String> = field
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let valid = |p: &String| {
        p.len() <= MAX_PAYLOAD_BYTES
            && base64::engine::general_purpose::STANDARD
                .decode(p.as_bytes())
                .is_ok()
    };
    (!payloads.is_empty() && payloads.len() <= MAX_PAYLOADS && payloads.iter().all(valid))
        .then_some(payloads)
}

/// Redeems `payloads` (every sub-puzzle of one challenge) for `action`.
pub async fn redeem(
    state: &AppState,
    headers: &HeaderMap,
    client_addr: &ClientAddr,
    payloads: Vec<String>,
    action: &str,
) -> Redeemed {
    let Some(mut client) = state.gate.captcha.clone() else {
        return Redeemed::Unavailable;
    };
    let request = RedeemRequest {
        payload: String::new(),
        payloads,
        hostname: hostname(&crate::pages::base_url(state, headers)),
        ip: client_addr.text(),
        site_key: state.settings.gateway.gate.site_key.clone(),
        action: action.to_owned(),
    };
    match platform::grpc::call(CAPTCHA, "Redeem", request, |r| client.redeem(r)).await {
        Ok(response) => {
            let response = response.into_inner();
            if response.ok {
                Redeemed::Accepted
            } else {
                Redeemed::Refused(response.error_codes)
            }
        }
        Err(status) => {
            tracing::warn!(%status, "captcha-verification did not answer a redemption");
            Redeemed::Unavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_fields_are_bounded_base64() {
        assert_eq!(
            payloads("YQ==,Yg=="),
            Some(vec!["YQ==".into(), "Yg==".into()])
        );
        assert_eq!(payloads(""), None);
        assert_eq!(payloads(" , "), None);
        assert_eq!(payloads("not base64!"), None);
        assert_eq!(payloads(&"YQ==,".repeat(17)), None);
        assert_eq!(payloads(&"A".repeat(4100)), None);
    }
}
