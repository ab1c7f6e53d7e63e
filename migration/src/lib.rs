//! Database migrations for casework. One set serves SQLite and PostgreSQL: tables
//! are built with sea-query so each backend gets its own dialect, and the few
//! backend-specific pieces (audit immutability triggers, the reference sequence)
//! are written out for each.

pub use sea_orm_migration::prelude::*;
pub use m20261126_001201_closed_loop::{email_key, phone_key};

mod m20261125_000001_foundation;
mod m20261125_000002_complaints;
mod m20261125_000003_audit_checkpoints;
mod m20261125_000004_evidence;
mod m20261125_000005_escalations;
mod m20261126_000901_audit_mac_state;
mod m20261126_001001_sessions;
mod m20261126_001101_search_trigram;
mod m20261126_001201_closed_loop;
mod m20261126_001202_promises_contacts;
mod m20261126_001210_work_items;
mod m20261126_001203_complaint_groups;
mod m20261126_001301_stats_indexes;
mod m20261126_001302_stats_callback_index;
mod m20261126_001401_filter_indexes;
mod m20261126_001402_customer_history_order;
mod m20261126_001403_auth_notify;
mod m20261126_001002_login_attempts;
mod m20261126_001003_password_resets_role_grants;
mod m20261126_001004_refund_amount;
mod m20261126_001102_evidence_blobs;
mod m20261126_001103_search_fts;

/// The audit immutability triggers as (table, trigger); the server refuses to
/// start unless every one of them exists (and, on PostgreSQL, is enabled).
pub const AUDIT_TRIGGERS_POSTGRES: &[(&str, &str)] = &[
    ("audit_event", "audit_event_no_update"),
    ("audit_event", "audit_event_no_delete"),
    ("audit_event", "audit_event_no_truncate"),
    ("audit_checkpoint", "audit_checkpoint_no_update"),
    ("audit_checkpoint", "audit_checkpoint_no_delete"),
    ("audit_checkpoint", "audit_checkpoint_no_truncate"),
    ("audit_checkpoint_head", "audit_checkpoint_head_no_update"),
    ("audit_checkpoint_head", "audit_checkpoint_head_no_delete"),
    ("audit_checkpoint_head", "audit_checkpoint_head_no_truncate"),
];
/// See [`AUDIT_TRIGGERS_POSTGRES`]; SQLite has no TRUNCATE.
pub const AUDIT_TRIGGERS_SQLITE: &[(&str, &str)] = &[
    ("audit_event", "audit_event_no_update"),
    ("audit_event", "audit_event_no_delete"),
    ("audit_checkpoint", "audit_checkpoint_no_update"),
    ("audit_checkpoint", "audit_checkpoint_no_delete"),
    ("audit_checkpoint_head", "audit_checkpoint_head_no_update"),
    ("audit_checkpoint_head", "audit_checkpoint_head_no_delete"),
    ("audit_event", "audit_event_no_replace"),
    ("audit_checkpoint", "audit_checkpoint_no_replace"),
    ("audit_checkpoint_head", "audit_checkpoint_head_no_replace"),
];

/// The body of the PostgreSQL trigger function every audit trigger executes,
/// exactly as created; the server compares the live definition with it.
pub const AUDIT_REFUSE_FUNCTION: &str = "audit_event_refuse_change";
pub const AUDIT_REFUSE_FUNCTION_BODY: &str = "
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
";

/// The definition `pg_get_functiondef` prints for the trigger function in `schema`.
pub fn audit_refuse_function_definition(schema: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {schema}.{AUDIT_REFUSE_FUNCTION}()\n RETURNS trigger\n LANGUAGE plpgsql\nAS $function${AUDIT_REFUSE_FUNCTION_BODY}$function$\n"
    )
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_foundation::Migration),
            Box::new(m20261125_000002_complaints::Migration),
            Box::new(m20261125_000003_audit_checkpoints::Migration),
            Box::new(m20261125_000004_evidence::Migration),
            Box::new(m20261125_000005_escalations::Migration),
            Box::new(m20261126_000901_audit_mac_state::Migration),
            Box::new(m20261126_001001_sessions::Migration),
            Box::new(m20261126_001101_search_trigram::Migration),
            Box::new(m20261126_001201_closed_loop::Migration),
            Box::new(m20261126_001202_promises_contacts::Migration),
            Box::new(m20261126_001301_stats_indexes::Migration),
            Box::new(m20261126_001302_stats_callback_index::Migration),
            Box::new(m20261126_001401_filter_indexes::Migration),
            Box::new(m20261126_001002_login_attempts::Migration),
            Box::new(m20261126_001003_password_resets_role_grants::Migration),
            Box::new(m20261126_001004_refund_amount::Migration),
            Box::new(m20261126_001210_work_items::Migration),
            Box::new(m20261126_001102_evidence_blobs::Migration),
            Box::new(m20261126_001103_search_fts::Migration),
            Box::new(m20261126_001203_complaint_groups::Migration),
            Box::new(m20261126_001402_customer_history_order::Migration),
            Box::new(m20261126_001403_auth_notify::Migration),
        ]
    }
}
