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

use crate::service::rows::ColumnSet;
use entity::complaint;

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

/// The complaint columns that the selections `objects` (each a selection
/// of `Complaint` objects, e.g. the `node` of a connection) need; every
/// column when one of them selects a field the table does not know.
pub fn complaint_columns<'a>(objects: impl IntoIterator<Item = SelectionField<'a>>) -> ColumnSet {
    let mut set = ColumnSet::key_only();
    for object in objects {
        for field in object.selection_set() {
            match BY_FIELD.get(field.name()) {
                Some(columns) => set = set.union(*columns),
                None => return ColumnSet::ALL,
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::rows::FromRow;

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
