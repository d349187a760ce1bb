//! The captcha probe of the cluster chaos run: over and over, against each
//! captcha-verification replica in turn, a challenge is fetched, solved,
//! redeemed for a token, the token verified, and verified again (a replay,
//! which must fail). With the cache away the service must refuse (fail
//! closed), never accept: each probe is recorded with its outcome and time,
//! so the run can tell refusals outside the Redis switch, and any replay
//! accepted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use captcha_verification::pow::{self, Challenge};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

/// The site the probe solves for (`captcha.sites`).
pub const SITE_KEY: &str = "chaos-site";
/// The page origin the probe claims (the site has no `hostnames`: any).
const ORIGIN: &str = "https://chaos.test";

/// How one probe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Token issued, verified once, its replay refused.
    Works,
    /// Refused somewhere (`internal-error` or no answer): closed.
    Closed(String),
    /// Something single-use was accepted twice: open.
    Open(String),
}

/// Every probe, with when it started.
pub type Probes = Arc<Mutex<Vec<(Instant, Probe)>>>;

/// Probes `replicas` (their HTTP base URLs) in turn every `every` until
/// `stop`; `secret` is the site's.
pub fn spawn(
    replicas: Vec<String>,
    secret: String,
    every: Duration,
    stop: CancellationToken,
) -> (Probes, tokio::task::JoinHandle<()>) {
    let probes: Probes = Arc::default();
    let out = probes.clone();
    let task = tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                out.lock()
                    .push((Instant::now(), Probe::Closed(format!("no client: {e}"))));
                return;
            }
        };
        for i in 0.. {
            if stop.is_cancelled() {
                return;
            }
            let at = Instant::now();
            let result = once(&client, &replicas[i % replicas.len()], &secret).await;
            out.lock().push((at, result));
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    });
    (probes, task)
}

async fn once(client: &reqwest::Client, url: &str, secret: &str) -> Probe {
    let closed = |what: &str, e: &dyn std::fmt::Display| Probe::Closed(format!("{what}: {e}"));
    let challenge: Challenge = match async {
        client
            .get(format!("{url}/challenge?sitekey={SITE_KEY}"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
    .await
    {
        Ok(c) => c,
        Err(e) => return closed("challenge", &e),
    };
    let Some(number) = pow::solve(&challenge) else {
        return Probe::Closed("challenge without a solution".into());
    };
    let payload = pow::encode_payload(&challenge, number);
    let redeemed: serde_json::Value = match async {
        client
            .post(format!("{url}/redeem"))
            .header("origin", ORIGIN)
            .json(&serde_json::json!({ "payload": payload, "sitekey": SITE_KEY }))
            .send()
            .await?
            .json()
            .await
    }
    .await
    {
        Ok(v) => v,
        Err(e) => return closed("redeem", &e),
    };
    let Some(token) = redeemed["token"]
        .as_str()
        .filter(|_| redeemed["ok"] == true)
    else {
        return Probe::Closed(format!("redeem: {redeemed}"));
    };
    let verify = || async {
        let v: serde_json::Value = client
            .post(format!("{url}/siteverify"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("secret={secret}&response={token}"))
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(v["success"] == true)
    };
    match verify().await {
        Ok(true) => {}
        Ok(false) => return Probe::Closed("siteverify refused a fresh token".into()),
        Err(e) => return closed("siteverify", &e),
    }
    match verify().await {
        Ok(false) | Err(_) => {}
        Ok(true) => return Probe::Open("a token was verified twice".into()),
    }
    // The solution is single use too.
    match client
        .post(format!("{url}/redeem"))
        .header("origin", ORIGIN)
        .json(&serde_json::json!({ "payload": payload, "sitekey": SITE_KEY }))
        .send()
        .await
    {
        Ok(r) => match r.json::<serde_json::Value>().await {
            Ok(v) if v["ok"] == true => Probe::Open("a solution was redeemed twice".into()),
            _ => Probe::Works,
        },
        Err(_) => Probe::Works,
    }
}

/// Of `probes`: (working, closed within `windows`, closed outside them,
/// open) — a window is a fault's [start, end].
pub fn tally(
    probes: &[(Instant, Probe)],
    windows: &[(Instant, Instant)],
) -> (usize, usize, Vec<String>, Vec<String>) {
    let (mut works, mut closed_in) = (0, 0);
    let (mut closed_out, mut open) = (Vec::new(), Vec::new());
    for (at, probe) in probes {
        match probe {
            Probe::Works => works += 1,
            Probe::Closed(why) => {
                if windows.iter().any(|(from, to)| at >= from && at <= to) {
                    closed_in += 1;
                } else {
                    closed_out.push(why.clone());
                }
            }
            Probe::Open(why) => open.push(why.clone()),
        }
    }
    (works, closed_in, closed_out, open)
}
