//! Service-level deadlines. Defaults come from the manuals (DESIGN.md §1):
//! urgent cases are picked up within 10 minutes, ordinary ones within 30,
//! and a solution is promised within a day.

use chrono::{DateTime, Duration, Utc};

use super::enums::Severity;

/// Minutes to first response and to resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaTargets {
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

/// The default policy of a severity.
pub fn default_targets(severity: Severity) -> SlaTargets {
    let (first_response_minutes, resolution_minutes) = match severity {
        Severity::Critical => (10, 4 * 60),
        Severity::High => (30, 24 * 60),
        Severity::Medium => (2 * 60, 72 * 60),
        Severity::Low => (8 * 60, 7 * 24 * 60),
    };
    SlaTargets { first_response_minutes, resolution_minutes }
}

/// The first-response and resolution deadlines of a complaint opened at `opened`.
pub fn deadlines(opened: DateTime<Utc>, targets: SlaTargets) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        opened + Duration::minutes(targets.first_response_minutes),
        opened + Duration::minutes(targets.resolution_minutes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_cases_are_picked_up_within_ten_minutes() {
        let opened = Utc::now();
        let (first, resolve) = deadlines(opened, default_targets(Severity::Critical));
        assert_eq!(first - opened, Duration::minutes(10));
        assert_eq!(resolve - opened, Duration::hours(4));
    }

    #[test]
    fn every_severity_promises_a_response_before_a_resolution() {
        for severity in Severity::ALL {
            let targets = default_targets(*severity);
            assert!(targets.first_response_minutes < targets.resolution_minutes, "{severity}");
        }
    }
}
