//! Calendar periods (days, ISO weeks, months) in a time zone, as UTC instants.
//!
//! Statistics group complaints by the local calendar of `CASEWORK_REPORT_TIMEZONE`.
//! The boundaries are computed here, in Rust, and handed to the database as
//! plain instants, so SQLite and PostgreSQL agree to the microsecond and no
//! database time-zone function (nor its tz data) is involved. A local day is
//! not always 24 hours: across a DST change it has 23 or 25, and the next
//! period starts at the first instant of the next local date.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The length of a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodUnit {
    Day,
    /// ISO week, Monday to Sunday.
    Week,
    Month,
}

/// One period, clipped to the requested range: `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// `2026-10-31`, `2026-W44`, `2026-10`.
    pub key: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The first instant of a local date in `tz`. When midnight does not exist
/// (a DST change at midnight), the first local time that does.
pub fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut local: NaiveDateTime = date.and_time(NaiveTime::MIN);
    // A gap is at most a few hours; step through it a quarter-hour at a time.
    for _ in 0..(4 * 24) {
        if let Some(at) = tz.from_local_datetime(&local).earliest() {
            return at.with_timezone(&Utc);
        }
        local += chrono::Duration::minutes(15);
    }
    // Unreachable with real tz data; fall back to the UTC reading.
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

fn period_start_date(unit: PeriodUnit, date: NaiveDate) -> NaiveDate {
    match unit {
        PeriodUnit::Day => date,
        PeriodUnit::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
        PeriodUnit::Month => date.with_day(1).unwrap_or(date),
    }
}

fn next_start_date(unit: PeriodUnit, start: NaiveDate) -> NaiveDate {
    match unit {
        PeriodUnit::Day => start + Days::new(1),
        PeriodUnit::Week => start + Days::new(7),
        PeriodUnit::Month => start + Months::new(1),
    }
}

fn key(unit: PeriodUnit, start: NaiveDate) -> String {
    match unit {
        PeriodUnit::Day => start.format("%Y-%m-%d").to_string(),
        PeriodUnit::Week => {
            let week = start.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        PeriodUnit::Month => start.format("%Y-%m").to_string(),
    }
}

/// The periods of `unit` in `tz` that overlap `[from, to)`, in order, each
/// clipped to the range; empty when `from >= to`.
pub fn periods(unit: PeriodUnit, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Period> {
    let mut out = Vec::new();
    if from >= to {
        return out;
    }
    let mut date = period_start_date(unit, from.with_timezone(&tz).date_naive());
    loop {
        let next = next_start_date(unit, date);
        let start = start_of_day(tz, date).max(from);
        let end = start_of_day(tz, next).min(to);
        if start < end {
            out.push(Period { key: key(unit, date), start, end });
        }
        if end >= to {
            return out;
        }
        date = next;
    }
}

/// The month `2026-10` in `tz`, as `[start, end)`.
pub fn month(tz: Tz, year: i32, month: u32) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    Some((start_of_day(tz, first), start_of_day(tz, first + Months::new(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn shanghai_months_start_at_sixteen_hundred_utc() {
        let (start, end) = month(chrono_tz::Asia::Shanghai, 2026, 10).unwrap();
        assert_eq!(start, utc("2026-09-30T16:00:00Z"));
        assert_eq!(end, utc("2026-10-31T16:00:00Z"));
    }

    #[test]
    fn days_across_a_dst_change_last_23_and_25_hours() {
        let tz = chrono_tz::Europe::Berlin;
        let days = periods(PeriodUnit::Day, tz, utc("2026-03-28T23:00:00Z"), utc("2026-03-30T22:00:00Z"));
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].key, "2026-03-29");
        assert_eq!((days[0].end - days[0].start).num_hours(), 23);
        let days = periods(PeriodUnit::Day, tz, utc("2026-10-24T22:00:00Z"), utc("2026-10-26T23:00:00Z"));
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].key, "2026-10-25");
        assert_eq!((days[0].end - days[0].start).num_hours(), 25);
        assert_eq!((days[1].end - days[1].start).num_hours(), 24);
    }

    #[test]
    fn periods_are_clipped_to_the_range_and_contiguous() {
        let from = utc("2026-10-15T12:00:00Z");
        let to = utc("2026-12-02T00:00:00Z");
        let months = periods(PeriodUnit::Month, chrono_tz::UTC, from, to);
        let keys: Vec<_> = months.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["2026-10", "2026-11", "2026-12"]);
        assert_eq!(months[0].start, from);
        assert_eq!(months[2].end, to);
        for pair in months.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
    }

    #[test]
    fn weeks_are_iso_weeks_starting_monday() {
        let weeks = periods(PeriodUnit::Week, chrono_tz::UTC, utc("2026-11-25T00:00:00Z"), utc("2026-12-01T00:00:00Z"));
        assert_eq!(weeks[0].key, "2026-W48");
        assert_eq!(weeks[1].key, "2026-W49");
        assert_eq!(weeks[1].start, utc("2026-11-30T00:00:00Z"));
    }

    #[test]
    fn a_midnight_gap_starts_the_day_at_one() {
        // Santiago skipped 2022-09-11 00:00-01:00 local.
        let start = start_of_day(chrono_tz::America::Santiago, NaiveDate::from_ymd_opt(2022, 9, 11).unwrap());
        assert_eq!(start, utc("2022-09-11T04:00:00Z"));
    }
}
