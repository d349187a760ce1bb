//! `/webhooks/jasmin`: `GET` query or form `POST` (raw `content` bytes in
//! any coding, `binary` hex), the shared secret and Basic auth, the client
//! address list.
#![no_main]

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cloudsms_fuzz::{self as h, JASMIN_PASSWORD, JASMIN_SECRET, JASMIN_USER, WRONG};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::jasmin;

fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;

    for coding in [None, Some(0), Some(1), Some(3), Some(4), Some(8)] {
        let text = jasmin::decode_text(body, coding);
        if matches!(coding, None | Some(0 | 1 | 3))
            && let Ok(utf8) = std::str::from_utf8(body)
        {
            assert_eq!(text, utf8);
        }
    }
    // Any client address against the query's values as allow-list entries.
    let octets: [u8; 16] = std::array::from_fn(|i| body.get(i).copied().unwrap_or(0));
    let entries: Vec<String> = input.query.iter().map(|(_, v)| v.clone()).collect();
    for ip in [
        IpAddr::from(octets),
        IpAddr::from([octets[0], octets[1], octets[2], octets[3]]),
    ] {
        let _ = jasmin::ip_allowed(ip, &entries);
    }

    // The secret rides in the query (where Jasmin's connector URL has it);
    // a `secret` in the body comes first and spoils it.
    let body_has_secret = form_urlencoded::parse(body).any(|(name, _)| name == "secret");
    let get = body.is_empty();
    let ingest = h::ingest();
    for (secret, password) in [(JASMIN_SECRET, JASMIN_PASSWORD), (WRONG, WRONG)] {
        let mut query = input.query.clone();
        query.retain(|(name, _)| name != "secret");
        query.push(("secret".to_owned(), secret.to_owned()));
        let path = h::path_and_query("/webhooks/jasmin", &h::encode(&query));
        let auth = vec![(
            "authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("{JASMIN_USER}:{password}"))
            ),
        )];
        let request = if get {
            h::request("GET", &path, "", &auth, Vec::new())
        } else {
            h::post(
                &path,
                "application/x-www-form-urlencoded",
                &auth,
                body.to_vec(),
            )
        };
        let (status, answer) = ingest.send(request);
        if secret == WRONG {
            h::check_refused("jasmin", status, &answer);
        } else {
            h::check_signed("jasmin", status, &answer, body_has_secret && !get);
        }
    }
});
