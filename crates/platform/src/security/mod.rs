//! The security primitives every service uses, each written once:
//! HMAC-SHA256 signatures and constant-time comparison ([`sign`],
//! [`verify`], [`constant_time_eq`]), cookies ([`set_cookie`],
//! [`cookie`]) and host names as requests carry them ([`Authority`],
//! [`Origin`]).

mod cookies;
mod host;
mod mac;

pub use cookies::{CookieAttrs, SameSite, cookie, set_cookie};
pub use host::{Authority, Origin};
pub use mac::{MIN_TRUNCATED_TAG_LEN, TAG_LEN, constant_time_eq, sign, verify, verify_truncated};
