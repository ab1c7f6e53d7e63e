//! Which complaint columns a selection needs (issue 14: a list page reads the
//! 13 columns it shows, not all 75).
//!
//! Every field of [`super::types::Complaint`] names the columns its resolver
//! reads in [`FIELD_COLUMNS`]; a field missing from the table (a new one, or
//! one selected through an unexpected path) makes the page read whole rows,
//! so a forgotten entry costs speed, never correctness. The columns the read
//! policy needs are always read (`service::complaints::required_columns`).
//! `tests/api/complaints.rs` (`every_complaint_field_reads_the_same_alone`)
//! selects each field alone on a list page and compares it with the whole row.

use std::{collections::HashMap, sync::LazyLock};

use async_graphql::SelectionField;

use crate::service::rows::{ColumnSet, FromRow};
use entity::{app_user, complaint, customer, escalation};

/// Each `Complaint` field and the columns its resolver reads besides the
/// always-read ones (`id`, `team_id`, `assignee_id`, `sensitive`,
/// `legal_hold`, `assisting_teams`).
pub const FIELD_COLUMNS: &[(&str, &[&str])] = &[
    ("__typename", &[]),
    ("id", &[]),
    ("reference", &["reference"]),
    ("status", &["status"]),
    ("channel", &["channel"]),
    ("category", &["category"]),
    ("severity", &["severity"]),
    ("title", &["title"]),
    ("description", &["description"]),
    ("auditTrail", &[]),
    ("isRepeat", &["repeat_of_id"]),
    ("repeatOf", &["repeat_of_id"]),
    ("urgentReason", &["urgent_reason"]),
    ("cycle", &["cycle"]),
    ("solutionDue", &["solution_due"]),
    ("solutionBreached", &["solution_breached"]),
    ("callbackDue", &["callback_due"]),
    ("closeOutcome", &["close_outcome"]),
    ("promisedBy", &["promised_by"]),
    ("promiseBreached", &["promise_breached"]),
    ("nextUpdateDue", &["next_update_due"]),
    ("updateOverdue", &["update_overdue"]),
    ("lastUpdateAt", &["last_update_at"]),
    ("delayReason", &["delay_reason"]),
    ("expectedResolutionAt", &["expected_resolution_at"]),
    ("contacts", &[]),
    ("callbacks", &[]),
    ("workItems", &[]),
    ("customer", &["customer_id"]),
    ("coreDemand", &["core_demand"]),
    ("requestedAmount", &["requested_amount"]),
    ("currency", &["currency"]),
    ("emotion", &["emotion"]),
    ("orderReference", &["order_reference"]),
    ("productOrService", &["product_or_service"]),
    ("location", &["location"]),
    ("group", &["group_id"]),
    ("occurredAt", &["occurred_at"]),
    ("tier", &["tier"]),
    ("team", &[]),
    ("assignee", &[]),
    ("createdBy", &["created_by"]),
    ("sensitive", &[]),
    ("vulnerableCustomer", &["vulnerable_customer"]),
    ("mediaAttention", &["media_attention"]),
    ("groupComplaint", &["group_complaint"]),
    ("legalHold", &[]),
    ("rootCause", &["root_cause"]),
    ("responsibility", &["responsibility"]),
    ("findingSummary", &["finding_summary"]),
    (
        "resolution",
        &["resolution_summary", "compensation_amount", "refund_amount", "compensation_currency", "remedies", "preventive_measures"],
    ),
    ("customerAccepted", &["customer_accepted"]),
    ("customerDecisionNote", &["customer_decision_note"]),
    ("resolutionNote", &["resolution_note"]),
    ("callbackReached", &["callback_reached"]),
    ("satisfied", &["satisfied"]),
    ("satisfactionScore", &["satisfaction_score"]),
    ("callbackComment", &["callback_comment"]),
    ("closeReason", &["close_reason"]),
    ("reopenCount", &["reopen_count"]),
    ("firstResponseDue", &["first_response_due"]),
    ("resolutionDue", &["resolution_due"]),
    ("slaBreached", &["sla_breached"]),
    ("viewerCan", &["status"]),
    ("overdue", &["status", "sla_breached", "resolution_due", "acknowledged_at", "first_response_due"]),
    ("acknowledgedAt", &["acknowledged_at"]),
    ("resolvedAt", &["resolved_at"]),
    ("closedAt", &["closed_at"]),
    ("createdAt", &["created_at"]),
    ("updatedAt", &["updated_at"]),
    ("version", &["version"]),
    ("notes", &[]),
    ("escalations", &[]),
    ("latestEscalation", &[]),
    ("firstResponseBreached", &["first_response_breached"]),
    ("resolutionBreached", &["resolution_breached"]),
    ("evidence", &[]),
    ("evidenceCount", &[]),
    ("links", &[]),
];

static BY_FIELD: LazyLock<HashMap<&'static str, ColumnSet>> = LazyLock::new(|| {
    FIELD_COLUMNS
        .iter()
        .map(|(field, columns)| {
            let set = ColumnSet::of::<complaint::Model>(columns)
                .unwrap_or_else(|| panic!("FIELD_COLUMNS: {field} names a column complaint does not have"));
            (*field, set)
        })
        .collect()
});

/// The columns of the neighbours a complaint page folds in, by the fields of
/// their GraphQL types (`Customer`, `User`, `Escalation`). The page reads
/// only these for its customer, assignee and newest request and hands them to
/// the resolver that asked through `Loaders::folded`, never to the shared
/// loaders (another field of the request may want other columns of the same
/// row).
pub const CUSTOMER_FIELDS: &[(&str, &[&str])] = &[
    ("__typename", &[]),
    ("id", &[]),
    ("name", &["name"]),
    ("phone", &["phone"]),
    ("email", &["email"]),
    ("masked", &[]),
    ("complaints", &[]),
];

/// See [`CUSTOMER_FIELDS`].
pub const USER_FIELDS: &[(&str, &[&str])] = &[
    ("__typename", &[]),
    ("id", &[]),
    ("email", &["email"]),
    ("displayName", &["display_name"]),
    ("role", &["role"]),
    ("team", &["team_id"]),
    ("authorityLimit", &["role", "authority_limit"]),
    ("authorityCurrency", &["authority_currency"]),
    ("active", &["active"]),
    ("createdAt", &["created_at"]),
    ("version", &["version"]),
];

/// See [`CUSTOMER_FIELDS`].
pub const ESCALATION_FIELDS: &[(&str, &[&str])] = &[
    ("__typename", &[]),
    ("id", &[]),
    ("complaint", &["complaint_id"]),
    ("fromTier", &["from_tier"]),
    ("toTier", &["to_tier"]),
    ("trigger", &["trigger"]),
    ("reason", &["reason"]),
    ("requestedBy", &["requested_by"]),
    ("requestedAt", &["requested_at"]),
    ("status", &["status"]),
    ("decidedBy", &["decided_by"]),
    ("decidedAt", &["decided_at"]),
    ("decisionNote", &["decision_note"]),
    ("dueBy", &["due_by"]),
    ("overdue", &["status", "due_by"]),
];

fn by_field<M: FromRow>(table: &'static [(&'static str, &'static [&'static str])]) -> HashMap<&'static str, ColumnSet> {
    table
        .iter()
        .map(|(field, columns)| {
            let set = ColumnSet::of::<M>(columns).unwrap_or_else(|| panic!("{field} names a column its table does not have"));
            (*field, set)
        })
        .collect()
}

static CUSTOMER_BY_FIELD: LazyLock<HashMap<&'static str, ColumnSet>> = LazyLock::new(|| by_field::<customer::Model>(CUSTOMER_FIELDS));
static USER_BY_FIELD: LazyLock<HashMap<&'static str, ColumnSet>> = LazyLock::new(|| by_field::<app_user::Model>(USER_FIELDS));
static ESCALATION_BY_FIELD: LazyLock<HashMap<&'static str, ColumnSet>> =
    LazyLock::new(|| by_field::<escalation::Model>(ESCALATION_FIELDS));

fn columns<'a>(by_field: &HashMap<&'static str, ColumnSet>, objects: impl IntoIterator<Item = SelectionField<'a>>) -> ColumnSet {
    let mut set = ColumnSet::key_only();
    for object in objects {
        for field in object.selection_set() {
            match by_field.get(field.name()) {
                Some(columns) => set = set.union(*columns),
                None => return ColumnSet::ALL,
            }
        }
    }
    set
}

/// The customer columns that the selections `objects` of `Customer` need.
pub fn customer_columns<'a>(objects: impl IntoIterator<Item = SelectionField<'a>>) -> ColumnSet {
    columns(&CUSTOMER_BY_FIELD, objects)
}

/// The user columns that the selections `objects` of `User` need.
pub fn user_columns<'a>(objects: impl IntoIterator<Item = SelectionField<'a>>) -> ColumnSet {
    columns(&USER_BY_FIELD, objects)
}

/// The escalation columns that the selections `objects` of `Escalation` need.
pub fn escalation_columns<'a>(objects: impl IntoIterator<Item = SelectionField<'a>>) -> ColumnSet {
    columns(&ESCALATION_BY_FIELD, objects)
}

/// The complaint columns that the selections `objects` (each a selection
/// of `Complaint` objects, e.g. the `node` of a connection) need; every
/// column when one of them selects a field the table does not know.
pub fn complaint_columns<'a>(objects: impl IntoIterator<Item = SelectionField<'a>>) -> ColumnSet {
    columns(&BY_FIELD, objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of `Complaint`, from the schema's SDL.
    fn complaint_fields() -> Vec<String> {
        crate::graphql::sdl_objects()["Complaint"].iter().map(|f| f.node.name.node.to_string()).collect()
    }

    #[test]
    fn every_complaint_field_is_in_the_table() {
        // A field added without an entry would make every page that selects
        // it read whole rows, silently.
        let fields = complaint_fields();
        assert!(fields.len() > 60, "{fields:?}");
        for field in &fields {
            assert!(BY_FIELD.contains_key(field.as_str()), "Complaint.{field} has no entry in FIELD_COLUMNS");
        }
        // And no entry outlives its field.
        for (field, _) in FIELD_COLUMNS.iter().filter(|(f, _)| *f != "__typename") {
            assert!(fields.iter().any(|f| f == field), "FIELD_COLUMNS lists {field}, which Complaint no longer has");
        }
    }

    #[test]
    fn every_neighbour_field_is_in_its_table() {
        let objects = crate::graphql::sdl_objects();
        for (object, table) in [("Customer", CUSTOMER_FIELDS), ("User", USER_FIELDS), ("Escalation", ESCALATION_FIELDS)] {
            let fields: Vec<String> = objects[object].iter().map(|f| f.node.name.node.to_string()).collect();
            for field in &fields {
                assert!(table.iter().any(|(f, _)| f == field), "{object}.{field} has no entry in its table");
            }
            for (field, _) in table.iter().filter(|(f, _)| *f != "__typename") {
                assert!(fields.iter().any(|f| f == field), "the table of {object} lists {field}, which it no longer has");
            }
        }
        // Every name is a column (the maps panic otherwise).
        assert_eq!(CUSTOMER_BY_FIELD.len() + USER_BY_FIELD.len() + ESCALATION_BY_FIELD.len(),
            CUSTOMER_FIELDS.len() + USER_FIELDS.len() + ESCALATION_FIELDS.len());
    }

    #[test]
    fn column_sets_fit_the_complaint_table() {
        assert!(complaint::Model::COLUMNS.len() <= 128);
        assert_eq!(BY_FIELD.len(), FIELD_COLUMNS.len(), "a field listed twice");
        let page = ColumnSet::of::<complaint::Model>(&["title", "status"]).unwrap();
        assert!(!page.is_all::<complaint::Model>());
        assert_eq!(page.names::<complaint::Model>().collect::<Vec<_>>(), ["id", "status", "title"]);
        assert!(ColumnSet::ALL.is_all::<complaint::Model>());
        assert_eq!(ColumnSet::of::<complaint::Model>(&["no_such_column"]), None);
    }
}
