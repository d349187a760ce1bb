//! sea-orm entities.

pub mod message;
pub mod number;
