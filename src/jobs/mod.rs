//! Background work. Every job is safe with several instances on one database.

pub mod blobs;
pub mod checkpoints;
pub mod sla;
