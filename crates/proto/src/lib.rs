#![doc = include_str!("../README.md")]
#![allow(clippy::all, missing_docs)] // generated code

/// `cloudsms.events.v1`: events carried by the bus.
pub mod events {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("cloudsms.events.v1");
    }
}

/// `cloudsms.ingest.v1`: message-ingest's gRPC API.
pub mod ingest {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("cloudsms.ingest.v1");
    }
}

/// `cloudsms.captcha.v1`: captcha-verification's gRPC API.
pub mod captcha {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("cloudsms.captcha.v1");
    }
}

/// `cloudsms.retention.v1`: log-retention's gRPC API.
pub mod retention {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("cloudsms.retention.v1");
    }
}

pub use prost_types::Timestamp;

/// Converts a UTC time into a protobuf `Timestamp`.
pub fn timestamp_from_unix_millis(millis: i64) -> Timestamp {
    Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Converts a protobuf `Timestamp` into Unix milliseconds (saturating).
pub fn timestamp_to_unix_millis(ts: &Timestamp) -> i64 {
    ts.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(ts.nanos) / 1_000_000)
}
