//! The visitor's country for the statistics: a lookup of a client address,
//! and the country database read from a CSV of address ranges
//! (`retention.geoip_csv`).

use std::fmt::Debug;
use std::net::IpAddr;
use std::path::Path;

/// Country of a client address: the hook for a GeoIP database.
pub trait CountryLookup: Send + Sync + Debug {
    /// ISO 3166-1 alpha-2 code, upper case, or `None`.
    fn country(&self, ip: IpAddr) -> Option<String>;
}

/// Errors loading a country database.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `first_ip,last_ip,CC`.
    #[error("{path} line {line}: expected first_ip,last_ip,country")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
}

/// A country database from a CSV of address ranges, one
/// `first_ip,last_ip,country_code` per line (the format of the free DB-IP
/// "IP to Country Lite" file); IPv4 and IPv6; a header line is skipped.
#[derive(Debug, Default)]
pub struct CsvCountries {
    /// `(first, last, code)`, sorted by `first`; IPv4 as IPv4-mapped IPv6.
    ranges: Vec<(u128, u128, String)>,
}

fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl CsvCountries {
    /// Parses the CSV text.
    pub fn parse(text: &str, path: &str) -> Result<Self, GeoError> {
        let mut ranges = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cells: Vec<&str> = line
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let parsed = match cells.as_slice() {
                [first, last, cc, ..] => first
                    .parse::<IpAddr>()
                    .ok()
                    .zip(last.parse::<IpAddr>().ok())
                    .map(|(a, b)| (ip_key(a), ip_key(b), cc.to_ascii_uppercase())),
                _ => None,
            };
            match parsed {
                Some(range) if range.2.len() == 2 => ranges.push(range),
                // A header line.
                None if n == 0 => {}
                _ => {
                    return Err(GeoError::Line {
                        path: path.to_owned(),
                        line: n + 1,
                    });
                }
            }
        }
        ranges.sort_by_key(|r| r.0);
        Ok(Self { ranges })
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, GeoError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| GeoError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    /// Ranges loaded.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when no range was loaded.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl CountryLookup for CsvCountries {
    fn country(&self, ip: IpAddr) -> Option<String> {
        let key = ip_key(ip);
        let at = self.ranges.partition_point(|r| r.0 <= key);
        let (_, last, cc) = self.ranges.get(at.checked_sub(1)?)?;
        (key <= *last).then(|| cc.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn csv_countries_find_ranges() {
        let db = CsvCountries::parse(
            "ip_start,ip_end,country\n1.0.0.0,1.0.0.255,au\n\
             2001:db8::,2001:db8::ffff,FR\n8.8.8.0,8.8.8.255,US\n",
            "test.csv",
        )
        .unwrap();
        assert_eq!(db.len(), 3);
        let c = |ip: &str| db.country(ip.parse().unwrap());
        assert_eq!(c("1.0.0.7").as_deref(), Some("AU"));
        assert_eq!(c("8.8.8.8").as_deref(), Some("US"));
        assert_eq!(c("2001:db8::1").as_deref(), Some("FR"));
        assert_eq!(c("9.9.9.9"), None);
        assert!(CsvCountries::parse("a,b,c\nnot,an,ip\n", "x").is_err());
    }
}
