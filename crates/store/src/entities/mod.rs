//! sea-orm entities.

pub mod message;
pub mod number;
pub mod report;
