//! End-to-end tests of cloudsms: one binary, a module per capability.
#![allow(clippy::unwrap_used)]

mod ingest_to_page;
mod processes;
