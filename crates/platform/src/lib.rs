#![doc = include_str!("../README.md")]

/// Makes mimalloc the binary's allocator (one line in each shipped binary's
/// `main.rs`; libraries and the fuzz targets keep the system's): less time in
/// malloc/free than glibc's under many small allocations per request (see
/// `make bench`).
#[macro_export]
macro_rules! mimalloc {
    () => {
        #[global_allocator]
        static GLOBAL: $crate::MiMalloc = $crate::MiMalloc;
    };
}

#[doc(hidden)]
pub use mimalloc::MiMalloc;

mod clock;
pub mod grpc;
mod health;
mod infra;
mod lifecycle;
pub mod security;
mod serve;
mod service_main;
mod trace;

pub use clock::Clock;
pub use health::{Readiness, health_routes};
pub use infra::{Infra, Storage};
pub use lifecycle::{Lifecycle, run_process, start};
pub use security::constant_time_eq;
pub(crate) use serve::spawn_connection;
pub use serve::{bind, serve, spawn};
pub use service_main::service_main;
pub use trace::{carried_context, trace_requests};

/// The network a client address is counted under: IPv4 /24, IPv6 /64
/// (an IPv4-mapped IPv6 address counts as its IPv4 /24).
pub fn network_prefix(ip: std::net::IpAddr) -> String {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_prefix(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

pub use config::redact_url;
