//! `casework report`: one month's complaint analysis for the operator, as
//! Markdown, CSV or JSON. Every figure comes from [`super::stats::compute`]
//! (the same SQL as `complaintStats`), so the report and the API agree; the
//! three formats print the same figures, formatted by one function ([`cells`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait,
    sea_query::{Expr, Query},
};

use super::stats::{self, Figures, Grouping, MoneyTotal, Range, StatsBucket, StatsDimension};
use crate::domain::periods;
use entity::complaint;

/// A month's report.
#[derive(serde::Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `2026-10`.
    pub month: String,
    pub timezone: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub previous_month: String,
    pub totals: StatsBucket,
    pub previous: StatsBucket,
    pub by_category: Vec<StatsBucket>,
    pub by_channel: Vec<StatsBucket>,
    pub by_severity: Vec<StatsBucket>,
    pub by_team: Vec<StatsBucket>,
    pub by_root_cause: Vec<StatsBucket>,
    pub top_root_causes: Vec<RootCauseEntry>,
}

/// One of the month's most frequent root causes and what was done to prevent it.
#[derive(serde::Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct RootCauseEntry {
    pub key: String,
    pub label: String,
    pub count: i64,
    /// The preventive measures recorded for it, most frequent first (at most three).
    pub preventive_measures: Vec<String>,
}

/// `2026-10` → (2026, 10).
pub fn parse_month(text: &str) -> anyhow::Result<(i32, u32)> {
    let (y, m) = text.trim().split_once('-').ok_or_else(|| anyhow::anyhow!("--month: expected YYYY-MM, got {text:?}"))?;
    let (year, month) = (y.parse::<i32>()?, m.parse::<u32>()?);
    if !(1..=12).contains(&month) || !(1970..=9999).contains(&year) {
        anyhow::bail!("--month: expected YYYY-MM, got {text:?}");
    }
    Ok((year, month))
}

/// Computes the report of `month` (`YYYY-MM` in `tz`) over every complaint.
pub async fn build(db: &sea_orm::DatabaseConnection, tz: Tz, month: &str) -> anyhow::Result<Report> {
    let txn = stats::snapshot(db).await?;
    let report = build_in(&txn, tz, month).await?;
    txn.commit().await?;
    Ok(report)
}

async fn build_in(db: &impl ConnectionTrait, tz: Tz, month: &str) -> anyhow::Result<Report> {
    let (year, m) = parse_month(month)?;
    let (py, pm) = if m == 1 { (year - 1, 12) } else { (year, m - 1) };
    let bounds = |y, m| periods::month(tz, y, m).ok_or_else(|| anyhow::anyhow!("--month: no such month"));
    let (from, to) = bounds(year, m)?;
    let (pfrom, pto) = bounds(py, pm)?;
    let range = Range { from, to };
    let now = super::now();
    let all = Condition::all;
    let by = |d| stats::compute(db, tz, range, Grouping::By(d), all(), now, Figures::ALL);
    let first = |mut v: Vec<StatsBucket>| v.pop().unwrap_or_default();
    let totals = first(stats::compute(db, tz, range, Grouping::Total, all(), now, Figures::ALL).await?);
    let previous = first(stats::compute(db, tz, Range { from: pfrom, to: pto }, Grouping::Total, all(), now, Figures::ALL).await?);
    let by_root_cause = by(StatsDimension::RootCause).await?;
    let measures = preventive_measures(db, range).await?;
    let top_root_causes = by_root_cause
        .iter()
        .filter(|b| b.key != "NONE")
        .take(5)
        .map(|b| RootCauseEntry {
            key: b.key.clone(),
            label: b.label.clone(),
            count: b.count,
            preventive_measures: measures.get(&b.key).cloned().unwrap_or_default(),
        })
        .collect();
    Ok(Report {
        month: format!("{year:04}-{m:02}"),
        timezone: tz.name().to_owned(),
        from,
        to,
        previous_month: format!("{py:04}-{pm:02}"),
        by_category: by(StatsDimension::Category).await?,
        by_channel: by(StatsDimension::Channel).await?,
        by_severity: by(StatsDimension::Severity).await?,
        by_team: by(StatsDimension::Team).await?,
        by_root_cause,
        top_root_causes,
        totals,
        previous,
    })
}

/// The preventive measures per root cause in the range, most frequent first (one statement).
async fn preventive_measures(db: &impl ConnectionTrait, range: Range) -> anyhow::Result<HashMap<String, Vec<String>>> {
    use complaint::Column as C;
    let q = Query::select()
        .column(C::RootCause)
        .column(C::PreventiveMeasures)
        .expr(Expr::cust("COUNT(*)"))
        .from(complaint::Entity)
        .cond_where(
            Condition::all()
                .add(C::CreatedAt.gte(range.from))
                .add(C::CreatedAt.lt(range.to))
                .add(C::RootCause.is_not_null())
                .add(C::PreventiveMeasures.is_not_null()),
        )
        .group_by_col(C::RootCause)
        .group_by_col(C::PreventiveMeasures)
        .to_owned();
    let rows = db.query_all_raw(db.get_database_backend().build(&q)).await?;
    let mut found: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for row in rows {
        let cause: String = row.try_get_by_index(0)?;
        let measure: String = row.try_get_by_index(1)?;
        let count: i64 = row.try_get_by_index(2)?;
        found.entry(cause).or_default().push((count, measure));
    }
    Ok(found
        .into_iter()
        .map(|(cause, mut list)| {
            list.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            (cause, list.into_iter().take(3).map(|(_, m)| m).collect())
        })
        .collect())
}

/// The figures of a bucket, in the order of [`HEADERS`].
pub const HEADERS: [&str; 19] = [
    "count",
    "open",
    "closed",
    "avg first response (min)",
    "avg resolution (h)",
    "p90 resolution (h)",
    "SLA compliance",
    "first response breached",
    "resolution breached",
    "avg satisfaction",
    "satisfaction responses",
    "satisfied",
    "callback reached",
    "escalated",
    "reopened",
    "repeat",
    "first-contact resolution",
    "group complaints",
    "compensation",
];

/// A share as a percentage with one decimal: `66.7%`; empty when unmeasured.
pub fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_default()
}

/// A mean or duration with two decimals; empty when unmeasured.
pub fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}")).unwrap_or_default()
}

/// `120.50 CNY; 30.00 USD`.
pub fn money(totals: &[MoneyTotal]) -> String {
    totals.iter().map(|m| format!("{} {}", m.amount, m.currency)).collect::<Vec<_>>().join("; ")
}

/// The printed figures of a bucket, one per [`HEADERS`] entry.
pub fn cells(b: &StatsBucket) -> Vec<String> {
    vec![
        b.count.to_string(),
        b.open_count.to_string(),
        b.closed_count.to_string(),
        number(b.avg_first_response_minutes),
        number(b.avg_resolution_hours),
        number(b.p90_resolution_hours),
        percent(b.sla_compliance),
        b.first_response_breached_count.to_string(),
        b.resolution_breached_count.to_string(),
        number(b.avg_satisfaction),
        b.satisfaction_responses.to_string(),
        percent(b.satisfied_rate),
        percent(b.callback_reach_rate),
        percent(b.escalation_rate),
        percent(b.reopen_rate),
        percent(b.repeat_rate),
        percent(b.first_contact_resolution_rate),
        b.group_complaint_count.to_string(),
        money(&b.compensation_totals),
    ]
}

/// The change from `previous` to `current`: counts as signed differences,
/// shares in percentage points, means as signed differences.
pub fn change_cells(current: &StatsBucket, previous: &StatsBucket) -> Vec<String> {
    let int = |a: i64, b: i64| format!("{:+}", a - b);
    let pp = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:+.1} pp", (a - b) * 100.0),
        _ => String::new(),
    };
    let num = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:+.2}", a - b),
        _ => String::new(),
    };
    let (c, p) = (current, previous);
    vec![
        int(c.count, p.count),
        int(c.open_count, p.open_count),
        int(c.closed_count, p.closed_count),
        num(c.avg_first_response_minutes, p.avg_first_response_minutes),
        num(c.avg_resolution_hours, p.avg_resolution_hours),
        num(c.p90_resolution_hours, p.p90_resolution_hours),
        pp(c.sla_compliance, p.sla_compliance),
        int(c.first_response_breached_count, p.first_response_breached_count),
        int(c.resolution_breached_count, p.resolution_breached_count),
        num(c.avg_satisfaction, p.avg_satisfaction),
        int(c.satisfaction_responses, p.satisfaction_responses),
        pp(c.satisfied_rate, p.satisfied_rate),
        pp(c.callback_reach_rate, p.callback_reach_rate),
        pp(c.escalation_rate, p.escalation_rate),
        pp(c.reopen_rate, p.reopen_rate),
        pp(c.repeat_rate, p.repeat_rate),
        pp(c.first_contact_resolution_rate, p.first_contact_resolution_rate),
        int(c.group_complaint_count, p.group_complaint_count),
        String::new(),
    ]
}

impl Report {
    /// The breakdown sections: (CSV section name, Markdown title, buckets).
    pub fn sections(&self) -> [(&'static str, &'static str, &[StatsBucket]); 5] {
        [
            ("category", "By category", &self.by_category),
            ("channel", "By channel", &self.by_channel),
            ("severity", "By severity", &self.by_severity),
            ("team", "By team", &self.by_team),
            ("root_cause", "By root cause", &self.by_root_cause),
        ]
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// One row per bucket: `section,key,label,<figures…>,preventive_measures`.
    /// Sections: `total`, `previous`, `change`, the breakdowns, `top_root_cause`,
    /// then `close_outcome` (the month's closed complaints per outcome, in `count`).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut row = |fields: Vec<String>| {
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push('\n');
        };
        let mut header = vec!["section".to_owned(), "key".to_owned(), "label".to_owned()];
        header.extend(HEADERS.iter().map(|h| (*h).to_owned()));
        header.push("preventive measures".to_owned());
        row(header);
        let line = |section: &str, key: &str, label: &str, cells: Vec<String>, extra: String| {
            let mut fields = vec![section.to_owned(), key.to_owned(), label.to_owned()];
            fields.extend(cells);
            fields.push(extra);
            fields
        };
        row(line("total", &self.month, "This month", cells(&self.totals), String::new()));
        row(line("previous", &self.previous_month, "Previous month", cells(&self.previous), String::new()));
        row(line("change", &self.month, "Change", change_cells(&self.totals, &self.previous), String::new()));
        for (section, _, buckets) in self.sections() {
            for b in buckets {
                row(line(section, &b.key, &b.label, cells(b), String::new()));
            }
        }
        for r in &self.top_root_causes {
            let mut figures = vec![String::new(); HEADERS.len()];
            figures[0] = r.count.to_string();
            row(line("top_root_cause", &r.key, &r.label, figures, r.preventive_measures.join("; ")));
        }
        for o in &self.totals.close_outcomes {
            let mut figures = vec![String::new(); HEADERS.len()];
            figures[0] = o.count.to_string();
            row(line("close_outcome", o.outcome.as_str(), &stats::humanize(o.outcome.as_str()), figures, String::new()));
        }
        out
    }

    /// A readable report: a summary against the previous month, then tables.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("# Complaint report {} ({})\n\n", self.month, self.timezone));
        out.push_str(&format!(
            "Complaints created from {} to {} (UTC), compared with {}.\n\n",
            self.from.format("%Y-%m-%d %H:%M"),
            self.to.format("%Y-%m-%d %H:%M"),
            self.previous_month
        ));
        out.push_str("## Summary\n\n| Figure | This month | Previous month | Change |\n|---|---:|---:|---:|\n");
        let (now, before, change) = (cells(&self.totals), cells(&self.previous), change_cells(&self.totals, &self.previous));
        for (i, h) in HEADERS.iter().enumerate() {
            out.push_str(&format!("| {} | {} | {} | {} |\n", h, md(&now[i]), md(&before[i]), md(&change[i])));
        }
        out.push('\n');
        for (_, title, buckets) in self.sections() {
            out.push_str(&format!("## {title}\n\n| key | name | {} |\n|---|---|{}\n", HEADERS.join(" | "), "---:|".repeat(HEADERS.len())));
            for b in buckets {
                let figures: Vec<String> = cells(b).iter().map(|c| md(c)).collect();
                out.push_str(&format!("| {} | {} | {} |\n", md(&b.key), md(&b.label), figures.join(" | ")));
            }
            if buckets.is_empty() {
                out.push_str("\nNo complaints.\n");
            }
            out.push('\n');
        }
        out.push_str("## Top root causes\n\n| key | root cause | complaints | preventive measures |\n|---|---|---:|---|\n");
        for r in &self.top_root_causes {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md(&r.key),
                md(&r.label),
                r.count,
                md(&r.preventive_measures.join("; "))
            ));
        }
        out.push_str("\n## Closure outcomes\n\n| outcome | name | this month | previous month |\n|---|---|---:|---:|\n");
        for (now, before) in self.totals.close_outcomes.iter().zip(&self.previous.close_outcomes) {
            let key = now.outcome.as_str();
            out.push_str(&format!("| {key} | {} | {} | {} |\n", stats::humanize(key), now.count, before.count));
        }
        out
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// A Markdown table cell: pipes escaped, line breaks flattened, `–` when empty.
fn md(value: &str) -> String {
    if value.is_empty() {
        return "–".to_owned();
    }
    value.replace('|', "\\|").replace(['\n', '\r'], " ")
}

