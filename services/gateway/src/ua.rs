//! Just enough of the User-Agent for the privacy policy's "browser type and
//! operating system": a family, a major version, an OS family and a device
//! class. Nothing finer is kept. Also what marks a program rather than a
//! person's browser ([`AUTOMATED`]), for the log and the gate alike.

use proto::events::v1::DeviceClass;

/// Lower-case pieces of a User-Agent that mark a program rather than a
/// person's browser: crawlers, HTTP libraries and tools, headless and
/// driven browsers. The one list: the server log counts such a visit as a
/// bot ([`parse`]) and the gate challenges it (`crate::gate`).
pub const AUTOMATED: &[&str] = &[
    // Crawlers name themselves.
    "bot",
    "crawler",
    "spider",
    "slurp",
    "scrapy",
    // HTTP tools and libraries.
    "curl/",
    "wget/",
    "python",
    "aiohttp",
    "httpx",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "node-fetch",
    "axios",
    "undici",
    "reqwest",
    // Headless and driven browsers.
    "headless",
    "phantomjs",
    "selenium",
    "playwright",
    "puppeteer",
];

/// The user agent names a program (one of [`AUTOMATED`], in any case).
pub fn is_automated(ua: &str) -> bool {
    let lower = ua.to_ascii_lowercase();
    AUTOMATED.iter().any(|needle| lower.contains(needle))
}

/// What the server log keeps of a user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// "Chrome", "Firefox", "Safari", "Edge", "Opera", "Samsung Internet", "Bot", "Other".
    pub browser: &'static str,
    /// Major version, or empty.
    pub version: String,
    /// "Android", "iOS", "Windows", "macOS", "Linux", "ChromeOS", "Other".
    pub os: &'static str,
    /// Desktop, mobile, tablet or bot.
    pub device: DeviceClass,
}

fn major_after(ua: &str, marker: &str) -> String {
    ua.split(marker)
        .nth(1)
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default()
}

/// Classifies a User-Agent header (missing or odd ones are "Other").
pub fn parse(ua: &str) -> Agent {
    let lower = ua.to_ascii_lowercase();
    let is_bot = is_automated(ua);
    let (browser, version) = if is_bot {
        ("Bot", String::new())
    } else if ua.contains("Edg/") {
        ("Edge", major_after(ua, "Edg/"))
    } else if ua.contains("OPR/") {
        ("Opera", major_after(ua, "OPR/"))
    } else if ua.contains("SamsungBrowser/") {
        ("Samsung Internet", major_after(ua, "SamsungBrowser/"))
    } else if ua.contains("Firefox/") {
        ("Firefox", major_after(ua, "Firefox/"))
    } else if ua.contains("CriOS/") {
        ("Chrome", major_after(ua, "CriOS/"))
    } else if ua.contains("Chrome/") {
        ("Chrome", major_after(ua, "Chrome/"))
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        ("Safari", major_after(ua, "Version/"))
    } else {
        ("Other", String::new())
    };
    let os = if lower.contains("android") {
        "Android"
    } else if lower.contains("iphone") || lower.contains("ipad") || lower.contains("ipod") {
        "iOS"
    } else if lower.contains("windows") {
        "Windows"
    } else if lower.contains("cros") {
        "ChromeOS"
    } else if lower.contains("mac os x") || lower.contains("macintosh") {
        "macOS"
    } else if lower.contains("linux") {
        "Linux"
    } else {
        "Other"
    };
    let device = if is_bot {
        DeviceClass::Bot
    } else if lower.contains("ipad")
        || lower.contains("tablet")
        || (os == "Android" && !lower.contains("mobile"))
    {
        DeviceClass::Tablet
    } else if lower.contains("mobi") || lower.contains("iphone") {
        DeviceClass::Mobile
    } else if os == "Other" {
        DeviceClass::Unspecified
    } else {
        DeviceClass::Desktop
    };
    Agent {
        browser,
        version,
        os,
        device,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents_are_classified() {
        // (user agent, browser, major version, os, device)
        let cases = [
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                ("Chrome", "131", "Android", DeviceClass::Mobile),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                ("Safari", "18", "iOS", DeviceClass::Mobile),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                ("Edge", "131", "Windows", DeviceClass::Desktop),
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                ("Safari", "17", "iOS", DeviceClass::Tablet),
            ),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                ("Bot", "", "Other", DeviceClass::Bot),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                ("Firefox", "133", "Linux", DeviceClass::Desktop),
            ),
            ("", ("Other", "", "Other", DeviceClass::Unspecified)),
        ];
        for (agent, expected) in cases {
            let ua = parse(agent);
            assert_eq!(
                (ua.browser, ua.version.as_str(), ua.os, ua.device),
                expected,
                "{agent}"
            );
        }
    }
}
