//! Escalation rules: which requests make sense, which flags raise one by
//! themselves, and how soon a decision is due.

use chrono::{DateTime, Duration, Utc};

use super::{
    enums::{EscalationTrigger, Severity, Tier},
    validation::ValidationError,
};

fn rank(tier: Tier) -> u8 {
    match tier {
        Tier::Tier1 => 1,
        Tier::Tier2 => 2,
        Tier::Tier3 => 3,
    }
}

/// Checks a request made by a person. Escalating for no reason is as harmful
/// as not escalating: the target must be another tier, and only a technical
/// hand-back with findings may go down.
pub fn validate_request(trigger: EscalationTrigger, from: Tier, to: Tier) -> Result<(), ValidationError> {
    match trigger {
        EscalationTrigger::Overdue => {
            return Err(ValidationError::new("trigger", "OVERDUE requests are raised by the SLA monitor"));
        }
        EscalationTrigger::Legal => {
            return Err(ValidationError::new("trigger", "use referToLegal to refer a complaint to the legal team"));
        }
        _ => {}
    }
    if from == to {
        return Err(ValidationError::new("toTier", format!("the complaint is already at {to}")));
    }
    if rank(to) < rank(from) && trigger != EscalationTrigger::Technical {
        return Err(ValidationError::new(
            "toTier",
            "only a TECHNICAL request may hand a complaint back to a lower tier (with its findings)",
        ));
    }
    Ok(())
}

/// The tier above `tier`, if any.
pub fn next_tier(tier: Tier) -> Tier {
    match tier {
        Tier::Tier1 => Tier::Tier2,
        Tier::Tier2 | Tier::Tier3 => Tier::Tier3,
    }
}

/// The high-impact flags of a complaint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpactFlags {
    pub vulnerable_customer: bool,
    pub media_attention: bool,
    pub group_complaint: bool,
}

/// Whether a change of flags raises a `HIGH_IMPACT` request: some flag went
/// from clear to set. Saving the same flags again raises nothing.
pub fn raises_high_impact(before: ImpactFlags, after: ImpactFlags) -> bool {
    (after.vulnerable_customer && !before.vulnerable_customer)
        || (after.media_attention && !before.media_attention)
        || (after.group_complaint && !before.group_complaint)
}

/// When a decision on a request is due.
pub fn decision_due(requested_at: DateTime<Utc>, trigger: EscalationTrigger, severity: Severity) -> DateTime<Utc> {
    let minutes = match (trigger, severity) {
        (EscalationTrigger::Overdue | EscalationTrigger::HighImpact, _) | (_, Severity::Critical) => 30,
        (_, Severity::High) => 2 * 60,
        (EscalationTrigger::Legal, _) => 24 * 60,
        (_, Severity::Medium) => 8 * 60,
        (_, Severity::Low) => 24 * 60,
    };
    requested_at + Duration::minutes(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use EscalationTrigger::*;
    use Tier::*;

    #[test]
    fn requests_must_move_the_complaint_sensibly() {
        assert!(validate_request(CustomerRequest, Tier1, Tier2).is_ok());
        assert!(validate_request(Technical, Tier2, Tier3).is_ok());
        assert!(validate_request(Technical, Tier3, Tier1).is_ok(), "technical hand-back");
        assert_eq!(validate_request(CustomerRequest, Tier2, Tier2).unwrap_err().field, "toTier");
        assert_eq!(validate_request(CustomerRequest, Tier2, Tier1).unwrap_err().field, "toTier");
        assert_eq!(validate_request(Overdue, Tier1, Tier2).unwrap_err().field, "trigger");
        assert_eq!(validate_request(Legal, Tier1, Tier3).unwrap_err().field, "trigger");
        assert!(validate_request(ExceedsAuthority, Tier2, Tier3).is_ok(), "a supervisor passes it up");
    }

    #[test]
    fn only_a_newly_set_flag_raises_high_impact() {
        let none = ImpactFlags::default();
        let vulnerable = ImpactFlags { vulnerable_customer: true, ..none };
        assert!(raises_high_impact(none, vulnerable));
        assert!(!raises_high_impact(vulnerable, vulnerable), "saving again");
        assert!(!raises_high_impact(vulnerable, none), "clearing");
        assert!(raises_high_impact(vulnerable, ImpactFlags { media_attention: true, ..vulnerable }));
    }

    #[test]
    fn urgent_requests_are_due_sooner() {
        let now = Utc::now();
        assert_eq!(decision_due(now, Overdue, Severity::Low) - now, Duration::minutes(30));
        assert_eq!(decision_due(now, CustomerRequest, Severity::Critical) - now, Duration::minutes(30));
        assert_eq!(decision_due(now, CustomerRequest, Severity::Low) - now, Duration::hours(24));
        assert_eq!(next_tier(Tier1), Tier2);
    }
}
