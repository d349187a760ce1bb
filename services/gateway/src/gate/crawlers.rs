//! Search engines let through: a crawler that names itself in its user agent
//! passes when its address verifies by reverse DNS into the crawler's domains
//! and forward DNS back (what Google, Bing and Apple document); what was
//! learnt is remembered for an hour.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::Gate;

impl Gate {
    /// The crawler's name when `ip` resolves into the domains of the
    /// allow-listed `crawler` the user agent names, and back; remembered
    /// for an hour.
    pub(super) async fn verified_crawler(
        &self,
        crawler: &config::GateCrawler,
        ip: Option<IpAddr>,
    ) -> Option<String> {
        let key = (ip?, crawler.name.clone());
        let known = self
            .crawlers
            .lock()
            .get(&key)
            .filter(|(_, at)| at.elapsed() < Duration::from_secs(3600))
            .map(|(verified, _)| *verified);
        let verified = match known {
            Some(verified) => verified,
            None => {
                let verified = verify_by_dns(key.0, &crawler.domains).await;
                let mut known = self.crawlers.lock();
                if known.len() > 10_000 {
                    known.clear();
                }
                known.insert(key, (verified, Instant::now()));
                verified
            }
        };
        verified.then(|| crawler.name.clone())
    }
}

/// Reverse DNS of `ip` ends in one of `domains`, and that name resolves
/// back to `ip` (the check Google, Bing and Apple document).
async fn verify_by_dns(ip: IpAddr, domains: &[String]) -> bool {
    let Ok(Ok(Some(name))) = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::task::spawn_blocking(move || dns_lookup::lookup_addr(&ip).ok()),
    )
    .await
    else {
        return false;
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let in_domain = domains.iter().any(|d| {
        let d = d.trim_start_matches('.').to_ascii_lowercase();
        name == d || name.ends_with(&format!(".{d}"))
    });
    if !in_domain {
        return false;
    }
    match tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::lookup_host((name.as_str(), 0)),
    )
    .await
    {
        Ok(Ok(mut addrs)) => addrs.any(|a| a.ip() == ip),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_verifies_as_localhost_only() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // /etc/hosts maps 127.0.0.1 to localhost both ways.
        assert!(verify_by_dns(ip, &["localhost".to_owned()]).await);
        assert!(!verify_by_dns(ip, &["googlebot.com".to_owned()]).await);
    }
}
