//! `extract_code` on any SMS text: no panic, and a code it finds has the
//! shape of a code and was in the message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // SMS bodies are text; lossy decoding lets every input count.
    let body = String::from_utf8_lossy(data);
    let Some(code) = domain::extract_code(&body) else {
        return;
    };
    assert!(
        (4..=12).contains(&code.chars().count()),
        "{code:?} from {body:?}"
    );
    assert!(
        code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{code:?} from {body:?}"
    );
    assert!(
        code.chars().any(|c| c.is_ascii_digit()),
        "{code:?} from {body:?}"
    );
    // Every character of the code is in the message, in order (a code
    // written in two halves only loses its separator; a prefixed code's dash
    // may be printed differently).
    let mut rest = body.chars();
    for wanted in code.chars().filter(|c| *c != '-') {
        assert!(rest.any(|c| c == wanted), "{code:?} is not in {body:?}");
    }
    assert_eq!(domain::extract_code(&body).as_deref(), Some(code.as_str()));
});
