//! Service-level deadlines. Defaults come from the manuals (DESIGN.md §1):
//! urgent cases are picked up within 10 minutes, ordinary ones within 30,
//! and a solution is promised within a day. A policy may count business hours
//! only, on a calendar of working days, hours, UTC offset and holidays.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

use super::enums::Severity;

/// Minutes to first response and to resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaTargets {
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

/// Handling starts within 30 minutes, whatever the severity (manual 002 §2.2).
pub const FIRST_RESPONSE_MINUTES: i64 = 30;
/// … and within 10 minutes when urgent: CRITICAL, a vulnerable customer, or an urgent reason.
pub const URGENT_FIRST_RESPONSE_MINUTES: i64 = 10;
/// A solution (a proposed resolution) is promised within 24 hours.
pub const SOLUTION_MINUTES: i64 = 24 * 60;

/// The default policy of a severity.
pub fn default_targets(severity: Severity) -> SlaTargets {
    let resolution_minutes = match severity {
        Severity::Critical => 4 * 60,
        Severity::High => 24 * 60,
        Severity::Medium => 72 * 60,
        Severity::Low => 7 * 24 * 60,
    };
    SlaTargets { first_response_minutes: FIRST_RESPONSE_MINUTES, resolution_minutes }
}

/// Whether a complaint is urgent: CRITICAL, a vulnerable customer, or a reason given at intake.
pub fn is_urgent(severity: Severity, vulnerable_customer: bool, urgent_reason: bool) -> bool {
    severity == Severity::Critical || vulnerable_customer || urgent_reason
}

/// The targets of one cycle: urgency caps the first response at 10 minutes.
pub fn cycle_targets(targets: SlaTargets, urgent: bool) -> SlaTargets {
    if urgent {
        SlaTargets { first_response_minutes: targets.first_response_minutes.min(URGENT_FIRST_RESPONSE_MINUTES), ..targets }
    } else {
        targets
    }
}

/// The deadlines of one handling cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub first_response: DateTime<Utc>,
    /// A resolution proposed by then: 24 hours, or the resolution deadline if sooner.
    pub solution: DateTime<Utc>,
    pub resolution: DateTime<Utc>,
}

/// The deadlines of a cycle opened at `opened`.
pub fn cycle_deadlines(opened: DateTime<Utc>, targets: SlaTargets, calendar: Option<&Calendar>) -> Deadlines {
    let (first_response, resolution) = deadlines(opened, targets, calendar);
    let solution_minutes = SOLUTION_MINUTES.min(targets.resolution_minutes);
    let solution = match calendar {
        None => opened + Duration::minutes(solution_minutes),
        Some(calendar) => calendar.add_working_minutes(opened, solution_minutes),
    };
    Deadlines { first_response, solution, resolution }
}

/// Working time: which weekdays, which hours, in which offset, minus holidays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    /// Monday = index 0.
    pub working_days: [bool; 7],
    /// Minutes after local midnight.
    pub day_start: u32,
    pub day_end: u32,
    pub utc_offset_minutes: i32,
    pub holidays: Vec<NaiveDate>,
}

impl Default for Calendar {
    /// Monday to Friday, 09:00–18:00 UTC.
    fn default() -> Self {
        Calendar {
            working_days: [true, true, true, true, true, false, false],
            day_start: 9 * 60,
            day_end: 18 * 60,
            utc_offset_minutes: 0,
            holidays: Vec::new(),
        }
    }
}

impl Calendar {
    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_minutes * 60).unwrap_or(FixedOffset::east_opt(0).expect("UTC"))
    }

    fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_days[date.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&date)
    }

    /// `start` plus `minutes` of working time. A calendar with no working time
    /// at all falls back to wall-clock time rather than never expiring.
    pub fn add_working_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        if self.day_end <= self.day_start || !self.working_days.iter().any(|d| *d) {
            return start + Duration::minutes(minutes);
        }
        let offset = self.offset();
        let mut local = start.with_timezone(&offset);
        let mut remaining = Duration::minutes(minutes.max(0));
        // At most ten years of days: bounded even with a calendar of holidays.
        for _ in 0..3660 {
            let date = local.date_naive();
            let at = |minute: u32| {
                let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).expect("minute of day");
                offset.from_local_datetime(&date.and_time(time)).single().expect("fixed offsets are unambiguous")
            };
            let (open, close) = (at(self.day_start), at(self.day_end));
            if self.is_working_day(date) && local < close {
                let from = if local < open { open } else { local };
                let available = close - from;
                if remaining <= available {
                    return (from + remaining).with_timezone(&Utc);
                }
                remaining -= available;
            }
            let next = date.succ_opt().expect("a date after this one");
            local = offset.from_local_datetime(&next.and_hms_opt(0, 0, 0).expect("midnight")).single().expect("fixed offset");
        }
        start + Duration::minutes(minutes)
    }
}

/// The first-response and resolution deadlines of a complaint opened at
/// `opened`, in wall-clock time or on `calendar`.
pub fn deadlines(opened: DateTime<Utc>, targets: SlaTargets, calendar: Option<&Calendar>) -> (DateTime<Utc>, DateTime<Utc>) {
    match calendar {
        None => (
            opened + Duration::minutes(targets.first_response_minutes),
            opened + Duration::minutes(targets.resolution_minutes),
        ),
        Some(calendar) => (
            calendar.add_working_minutes(opened, targets.first_response_minutes),
            calendar.add_working_minutes(opened, targets.resolution_minutes),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn critical_cases_are_picked_up_within_ten_minutes() {
        let opened = Utc::now();
        let urgent = is_urgent(Severity::Critical, false, false);
        let d = cycle_deadlines(opened, cycle_targets(default_targets(Severity::Critical), urgent), None);
        assert_eq!(d.first_response - opened, Duration::minutes(10));
        assert_eq!(d.solution - opened, Duration::hours(4), "the solution is never due after the resolution");
        assert_eq!(d.resolution - opened, Duration::hours(4));
    }

    #[test]
    fn every_severity_starts_within_thirty_minutes_and_urgency_within_ten() {
        let opened = Utc::now();
        for severity in [Severity::Low, Severity::Medium, Severity::High] {
            let plain = cycle_deadlines(opened, cycle_targets(default_targets(severity), false), None);
            assert_eq!(plain.first_response - opened, Duration::minutes(30), "{severity}");
            assert_eq!(plain.solution - opened, Duration::hours(24), "{severity}");
            let vulnerable = is_urgent(severity, true, false);
            let urgent = cycle_deadlines(opened, cycle_targets(default_targets(severity), vulnerable), None);
            assert_eq!(urgent.first_response - opened, Duration::minutes(10), "{severity}");
            assert!(is_urgent(severity, false, true));
            assert!(!is_urgent(severity, false, false));
        }
    }

    #[test]
    fn every_severity_promises_a_response_before_a_resolution() {
        for severity in Severity::ALL {
            let targets = default_targets(*severity);
            assert!(targets.first_response_minutes < targets.resolution_minutes, "{severity}");
        }
    }

    #[test]
    fn business_hours_skip_nights_weekends_and_holidays() {
        let calendar = Calendar::default();
        // Friday 17:30 + 60 working minutes = Monday 09:30.
        assert_eq!(calendar.add_working_minutes(utc("2026-11-27T17:30:00Z"), 60), utc("2026-11-30T09:30:00Z"));
        // Saturday night + 30 minutes = Monday 09:30.
        assert_eq!(calendar.add_working_minutes(utc("2026-11-28T23:00:00Z"), 30), utc("2026-11-30T09:30:00Z"));
        // Within the day.
        assert_eq!(calendar.add_working_minutes(utc("2026-11-25T10:00:00Z"), 120), utc("2026-11-25T12:00:00Z"));
        // A holiday Monday pushes to Tuesday.
        let holiday = Calendar { holidays: vec![NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()], ..Calendar::default() };
        assert_eq!(holiday.add_working_minutes(utc("2026-11-27T17:30:00Z"), 60), utc("2026-12-01T09:30:00Z"));
    }

    #[test]
    fn calendars_have_a_time_zone() {
        // 09:00–18:00 at UTC+8 is 01:00–10:00 UTC.
        let shanghai = Calendar { utc_offset_minutes: 8 * 60, ..Calendar::default() };
        assert_eq!(shanghai.add_working_minutes(utc("2026-11-25T00:00:00Z"), 30), utc("2026-11-25T01:30:00Z"));
    }

    #[test]
    fn a_calendar_without_working_time_falls_back_to_the_clock() {
        let never = Calendar { working_days: [false; 7], ..Calendar::default() };
        let start = utc("2026-11-25T10:00:00Z");
        assert_eq!(never.add_working_minutes(start, 10), start + Duration::minutes(10));
    }
}
