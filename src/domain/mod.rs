//! The rules of complaint handling as plain Rust: no database, no HTTP.
//!
//! - [`enums`]: the vocabulary of DESIGN.md §3 (channels, categories, roles, …).
//! - [`lifecycle`]: which status change each action may make.
//! - [`policy`]: who may do what to which object — the only place that decides it.
//! - [`validation`]: values parsed once at the edge (emails, money, text).
//! - [`escalation`]: which escalation requests make sense, and when they are due.
//! - [`sla`]: deadlines from a severity's policy, optionally in business hours.
//! - [`evidence`]: what an uploaded file really is, and whether it may be kept.
//! - [`work`]: work items asked of other teams: kinds, status, the assisting teams.
//! - [`periods`]: days, weeks and months of a time zone, as UTC instants (statistics).

pub mod enums;
pub mod escalation;
pub mod evidence;
pub mod lifecycle;
pub mod periods;
pub mod policy;
pub mod sla;
pub mod validation;
pub mod work;

pub use enums::*;
pub use lifecycle::{ComplaintStatus, Transition};
pub use validation::ValidationError;
pub use work::{WorkKind, WorkStatus};
