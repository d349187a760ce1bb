//! sea-orm entities of the tables log-retention owns.

pub mod access_log;
pub mod admin_audit;
pub mod captcha_event;
pub mod crash_report;
