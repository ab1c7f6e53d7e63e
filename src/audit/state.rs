//! The business state an audit event says it produced: one function per
//! entity defines it, and the verifier compares the latest state hash of each
//! chain with the live row, so a direct `UPDATE complaint SET legal_hold = …`
//! (or of a compensation amount, or of a user's role) that leaves `version`
//! alone is caught.
//!
//! The hash is SHA-256 over a domain tag and the canonical JSON (RFC 8785) of
//! the state object. Timestamps are written at microsecond precision (what
//! both databases keep), so a row read back hashes like the row written.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{append::timestamp, canonical::to_canonical_json};
use entity::{app_user, complaint};

const STATE_DOMAIN: &[u8] = b"casework.state.v1\0";

fn hash(kind: &str, state: &Value) -> String {
    let canonical = to_canonical_json(state).expect("entity states hold no floats or huge integers");
    let mut hasher = Sha256::new();
    hasher.update(STATE_DOMAIN);
    hasher.update(kind.as_bytes());
    hasher.update([0u8]);
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

fn at(t: &Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// The hash of a complaint's canonical business state.
///
/// EVERY BUSINESS COLUMN OF `complaint` MUST BE LISTED HERE. The destructuring
/// below names every field (no `..`), so adding a column to the entity does
/// not compile until it is either hashed or explicitly left out with a reason.
/// Left out: `version` (checked against the chain head instead) and
/// `updated_at` (bookkeeping, moved by notes and links).
pub fn complaint_state(c: &complaint::Model) -> String {
    let complaint::Model {
        id,
        reference,
        status,
        channel,
        category,
        severity,
        title,
        description,
        customer_id,
        core_demand,
        requested_amount,
        currency,
        emotion,
        order_reference,
        occurred_at,
        tier,
        team_id,
        assignee_id,
        created_by,
        sensitive,
        vulnerable_customer,
        media_attention,
        group_complaint,
        legal_hold,
        root_cause,
        responsibility,
        finding_summary,
        resolution_summary,
        compensation_amount,
        compensation_currency,
        refund_amount,
        remedies,
        preventive_measures,
        customer_accepted,
        customer_decision_note,
        resolution_note,
        callback_reached,
        satisfied,
        satisfaction_score,
        callback_comment,
        close_reason,
        reopen_count,
        first_response_due,
        resolution_due,
        sla_breached,
        first_response_breached,
        resolution_breached,
        acknowledged_at,
        resolved_at,
        closed_at,
        created_at,
        repeat_of_id,
        urgent_reason,
        solution_due,
        solution_breached,
        proposed_at,
        cycle,
        cycle_started_at,
        callback_due,
        close_outcome,
        promised_by,
        promise_breached,
        next_update_due,
        update_overdue,
        last_update_at,
        delay_reason,
        expected_resolution_at,
        assisting_teams,
        product_or_service,
        location,
        group_id,
        updated_at: _,
        version: _,
    } = c;
    let mut fields: Vec<(&str, Value)> = vec![
        ("id", json!(id.to_string())),
        ("reference", json!(reference)),
        ("status", json!(status)),
        ("channel", json!(channel)),
        ("category", json!(category)),
        ("severity", json!(severity)),
        ("title", json!(title)),
        ("description", json!(description)),
        ("customer_id", json!(customer_id.to_string())),
        ("core_demand", json!(core_demand)),
        ("requested_amount", json!(requested_amount)),
        ("currency", json!(currency)),
        ("emotion", json!(emotion)),
        ("order_reference", json!(order_reference)),
        ("occurred_at", json!(at(occurred_at))),
        ("tier", json!(tier)),
        ("team_id", json!(team_id.map(|id| id.to_string()))),
        ("assignee_id", json!(assignee_id.map(|id| id.to_string()))),
        ("created_by", json!(created_by.to_string())),
        ("sensitive", json!(sensitive)),
        ("vulnerable_customer", json!(vulnerable_customer)),
        ("media_attention", json!(media_attention)),
        ("group_complaint", json!(group_complaint)),
        ("legal_hold", json!(legal_hold)),
        ("root_cause", json!(root_cause)),
        ("responsibility", json!(responsibility)),
        ("finding_summary", json!(finding_summary)),
        ("resolution_summary", json!(resolution_summary)),
        ("compensation_amount", json!(compensation_amount)),
        ("compensation_currency", json!(compensation_currency)),
        ("remedies", json!(remedies)),
        ("preventive_measures", json!(preventive_measures)),
        ("customer_accepted", json!(customer_accepted)),
        ("customer_decision_note", json!(customer_decision_note)),
        ("resolution_note", json!(resolution_note)),
        ("callback_reached", json!(callback_reached)),
        ("satisfied", json!(satisfied)),
        ("satisfaction_score", json!(satisfaction_score)),
        ("callback_comment", json!(callback_comment)),
        ("close_reason", json!(close_reason)),
        ("reopen_count", json!(reopen_count)),
        ("first_response_due", json!(timestamp(*first_response_due))),
        ("resolution_due", json!(timestamp(*resolution_due))),
        ("sla_breached", json!(sla_breached)),
        ("first_response_breached", json!(first_response_breached)),
        ("resolution_breached", json!(resolution_breached)),
        ("acknowledged_at", json!(at(acknowledged_at))),
        ("resolved_at", json!(at(resolved_at))),
        ("closed_at", json!(at(closed_at))),
        ("created_at", json!(timestamp(*created_at))),
        ("repeat_of_id", json!(repeat_of_id.map(|id| id.to_string()))),
        ("urgent_reason", json!(urgent_reason)),
        ("solution_due", json!(at(solution_due))),
        ("solution_breached", json!(solution_breached)),
        ("proposed_at", json!(at(proposed_at))),
        ("cycle", json!(cycle)),
        ("cycle_started_at", json!(at(cycle_started_at))),
        ("callback_due", json!(at(callback_due))),
        ("close_outcome", json!(close_outcome)),
        ("promised_by", json!(at(promised_by))),
        ("promise_breached", json!(promise_breached)),
        ("next_update_due", json!(at(next_update_due))),
        ("update_overdue", json!(update_overdue)),
        ("last_update_at", json!(at(last_update_at))),
        ("delay_reason", json!(delay_reason)),
        ("expected_resolution_at", json!(at(expected_resolution_at))),
        // Grants read access to the assisting teams: tampering with it must show.
    ];
    // Added later: hashed only when set, so the state hashes recorded before
    // each column existed still match the rows they describe (refund_amount
    // with issue 10; assisting teams, product, location and group with issue 12).
    if let Some(refund) = refund_amount {
        fields.push(("refund_amount", json!(refund)));
    }
    if !assisting_teams.is_empty() {
        fields.push(("assisting_teams", json!(assisting_teams)));
    }
    for (name, value) in [
        ("product_or_service", product_or_service.clone()),
        ("location", location.clone()),
        ("group_id", group_id.map(|id| id.to_string())),
    ] {
        if let Some(value) = value {
            fields.push((name, json!(value)));
        }
    }
    hash("complaint", &Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

/// The hash of a user's state that matters for authority: role, team, active
/// flag, authority limit and its currency (and identity). Profile fields, the password hash
/// and bookkeeping are left out on purpose: they grant nothing.
pub fn user_state(u: &app_user::Model) -> String {
    let mut state = json!({
        "id": u.id.to_string(),
        "email": u.email,
        "role": u.role,
        "team_id": u.team_id.map(|id| id.to_string()),
        "active": u.active,
        "authority_limit": u.authority_limit,
    });
    // Added later: hashed only when set, so states recorded before it existed still match.
    if let Some(currency) = &u.authority_currency {
        state["authority_currency"] = json!(currency);
    }
    hash("user", &state)
}
