//! Background work, safe with several instances.

pub mod checkpoints;
