//! sea-orm entities: the persisted shape of casework's data, and nothing else.
//!
//! Enumerations are stored as their GraphQL names (`"TIER1"`, `"AGENT"`) in text
//! columns and parsed by `casework::domain`; money is stored as exact decimal
//! text (`"2000.00"`), never as a float, so SQLite and PostgreSQL agree byte for byte.

pub mod app_user;
pub mod audit_chain;
pub mod audit_checkpoint;
pub mod audit_checkpoint_head;
pub mod audit_event;
pub mod callback_attempt;
pub mod complaint;
pub mod complaint_group;
pub mod complaint_link;
pub mod contact;
pub mod customer;
pub mod escalation;
pub mod evidence;
pub mod evidence_blob;
pub mod note;
pub mod password_reset;
pub mod refresh_token;
pub mod role_grant;
pub mod sla_policy;
pub mod team;
pub mod work_item;
