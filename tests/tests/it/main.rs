//! End-to-end tests of cloudsms: one binary, a module per capability.
#![allow(clippy::unwrap_used)]

mod backend_tls;
mod bus_outage;
mod captcha;
mod cli;
mod csv_injection;
mod gate;
mod grpc_ingest;
mod hardening;
mod held_up;
mod ingest_errors;
mod ingest_to_page;
mod lifecycle;
mod live_limits;
mod metrics_scrape;
mod migrations;
mod my_data;
mod nul_text;
mod number_registry;
mod persister_isolation;
mod processes;
mod provider_httpsms;
mod provider_jasmin;
mod provider_plivo;
mod provider_sms_gateway;
mod provider_telnyx;
mod provider_twilio;
mod provider_vonage;
mod received_at;
mod request_log;
mod retention;
mod site;
mod site_attacks;
mod stats;
mod stored_codes;
mod traces;
