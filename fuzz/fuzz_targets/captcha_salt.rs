//! `pow::parse_salt` on any text: no panic; what it accepts is within
//! bounds, reads back from the salt we would issue with the same
//! parameters, and a solution over it verifies only while it is intact.
#![no_main]

use captcha_verification::pow;
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzz-captcha-key";

fuzz_target!(|data: &[u8]| {
    let Ok(salt) = std::str::from_utf8(data) else {
        return;
    };
    let Some(params) = pow::parse_salt(salt) else {
        return;
    };
    assert!(salt.len() <= 512 && salt.ends_with('&'), "{salt:?}");
    assert!((1..=pow::MAX_MAX_NUMBER).contains(&params.max), "{salt:?}");
    assert!((1..=pow::MAX_PARTS).contains(&params.parts), "{salt:?}");
    assert!(pow::is_ident(&params.site, false) && pow::is_ident(&params.action, true));

    // The salt create_challenge would issue with these parameters.
    let Some((random, _)) = salt.split_once('?') else {
        panic!("accepted salt without '?': {salt:?}");
    };
    let mut issued = format!(
        "{random}?expires={}&site={}&max={}&",
        params.expires, params.site, params.max
    );
    if !params.action.is_empty() {
        issued.push_str(&format!("action={}&", params.action));
    }
    if params.parts > 1 {
        issued.push_str(&format!("parts={}&", params.parts));
    }
    assert_eq!(
        pow::parse_salt(&issued).as_ref(),
        Some(&params),
        "{salt:?} vs {issued:?}"
    );

    // A solution over this very salt: verifies while unexpired, and no other
    // number, key or expiry passes.
    let number = 1 + (salt.len() as u64 % params.max);
    let challenge = pow::challenge_for(KEY, salt.to_owned(), number, params.max);
    let encoded = pow::encode_payload(&challenge, number);
    let payload = pow::decode_payload(&encoded)
        .unwrap_or_else(|e| panic!("our own payload does not decode: {e:?}"));
    let now = params.expires.saturating_sub(1);
    let verified = pow::verify_solution(KEY, &payload, now, 1);
    if params.expires == 0 {
        assert!(verified.is_err());
    } else {
        let verified =
            verified.unwrap_or_else(|e| panic!("{salt:?}: intact solution refused: {e:?}"));
        assert_eq!(verified.params, params);
        assert_eq!(verified.challenge, challenge.challenge);
    }
    assert!(pow::verify_solution(KEY, &payload, params.expires, 1).is_err());
    assert!(pow::verify_solution(b"other key", &payload, now, 1).is_err());
    let mut other = payload.clone();
    other.number = number % params.max + 1;
    if other.number != number {
        assert!(
            pow::verify_solution(KEY, &other, now, 1).is_err(),
            "{salt:?}"
        );
    }
});
