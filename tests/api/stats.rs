//! Complaint analysis over HTTP: `complaintStats` by every dimension against a
//! known mix of complaints, `repeatComplaints`, who may see which figures, the
//! validation of ranges, and `casework report` in its three formats.
//!
//! The mix is recorded through the API (so flags, escalations, callbacks and
//! compensation are what the product really stores), then its timestamps are
//! moved to August and September 2026 with direct SQL, so the figures are known
//! exactly. The server buckets months in Asia/Shanghai: two complaints sit one
//! second apart on either side of 1 September 00:00 local (16:00 UTC on 31 August).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use entity::complaint;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    fixtures::ComplaintBuilder,
    helpers::{Backend, TestApp, spawn_app_with},
};

macro_rules! stats_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::spawn(crate::helpers::Backend::Sqlite).await.unwrap();
                    super::$name(&app).await;
                    app.finish().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = super::spawn(crate::helpers::Backend::Postgres).await else { return };
                    super::$name(&app).await;
                    app.finish().await;
                }
            )+
        }
    };
}

stats_tests!(
    every_figure_of_every_dimension_matches_the_known_mix,
    repeat_customers_are_found_within_the_callers_scope,
    who_sees_which_figures,
    ranges_are_validated,
    the_report_prints_the_same_figures_in_every_format,
);

/// A server that buckets in Asia/Shanghai and whose SLA monitor stays idle
/// (it would otherwise mark the backdated deadlines and raise escalations).
async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.report_timezone = chrono_tz::Asia::Shanghai;
        s.sla_scan_interval = std::time::Duration::from_secs(24 * 3600);
        // The USD compensation is judged by its CNY value (30 USD ≈ 213 CNY,
        // within the agent's 500): without a rate it would wait for approval.
        s.authority.rates.insert("USD".to_owned(), rust_decimal::Decimal::new(710, 2));
    })
    .await
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// 1 August 00:00 to 1 October 00:00 in Shanghai.
const FROM: &str = "2026-07-31T16:00:00Z";
const TO: &str = "2026-09-30T16:00:00Z";

/// What a complaint of the mix is, and what its figures must be.
#[derive(Clone, Debug)]
struct Fact {
    name: &'static str,
    month: &'static str,
    day: &'static str,
    category: &'static str,
    channel: &'static str,
    severity: &'static str,
    /// "A" or "B": Frontline A (agent@) or Frontline B (agent2@).
    team: &'static str,
    root_cause: Option<&'static str>,
    demand: &'static str,
    emotion: &'static str,
    phone: &'static str,
    created: &'static str,
    /// Minutes to acknowledgement; hours to resolution; deadlines in minutes.
    ack_min: Option<i64>,
    res_h: Option<i64>,
    fr_due_min: i64,
    res_due_min: i64,
    open: bool,
    closed: bool,
    score: Option<i64>,
    satisfied: Option<bool>,
    /// Whether a callback attempt reached the customer (None: no attempt).
    reached: Option<bool>,
    escalated: bool,
    reopened: bool,
    repeat: bool,
    fcr: bool,
    group: bool,
    compensation: Option<(i64, &'static str)>,
    /// How it was closed (a `CloseOutcome`), when it is closed.
    outcome: Option<&'static str>,
}

impl Fact {
    fn fr_missed(&self) -> bool {
        self.ack_min.is_none_or(|m| m > self.fr_due_min)
    }
    fn res_missed(&self) -> bool {
        self.res_h.is_none_or(|h| h * 60 > self.res_due_min)
    }
    fn sla_reached(&self) -> bool {
        self.fr_missed() || self.res_missed() || (self.ack_min.is_some() && self.res_h.is_some())
    }
    fn sla_met(&self) -> bool {
        self.sla_reached() && !self.fr_missed() && !self.res_missed()
    }
}

fn mix() -> Vec<Fact> {
    let base = Fact {
        name: "",
        month: "2026-08",
        day: "",
        category: "PRODUCT_QUALITY",
        channel: "PHONE",
        severity: "MEDIUM",
        team: "A",
        root_cause: None,
        demand: "REFUND",
        emotion: "CALM",
        phone: "",
        created: "",
        ack_min: None,
        res_h: None,
        fr_due_min: 30,
        res_due_min: 24 * 60,
        open: true,
        closed: false,
        score: None,
        satisfied: None,
        reached: None,
        escalated: false,
        reopened: false,
        repeat: false,
        fcr: false,
        group: false,
        compensation: None,
        outcome: None,
    };
    vec![
        // The whole loop, closed satisfied at the callback, compensated in CNY.
        Fact {
            name: "c1",
            day: "2026-08-10",
            severity: "HIGH",
            root_cause: Some("PRODUCT_DEFECT"),
            phone: "+86 100 0001",
            created: "2026-08-10T02:00:00Z",
            ack_min: Some(20),
            res_h: Some(10),
            open: false,
            closed: true,
            score: Some(5),
            satisfied: Some(true),
            reached: Some(true),
            compensation: Some((12050, "CNY")),
            outcome: Some("RESOLVED_SATISFIED"),
            ..base.clone()
        },
        // The same customer again, late on both deadlines, unsatisfied: reopened; compensated in USD.
        Fact {
            name: "c2",
            day: "2026-08-20",
            category: "LOGISTICS",
            channel: "ONLINE_CHAT",
            root_cause: Some("EXTERNAL"),
            demand: "COMPENSATION",
            emotion: "ANGRY",
            phone: "+86 100 0001",
            created: "2026-08-20T03:00:00Z",
            ack_min: Some(45),
            res_h: Some(30),
            score: Some(2),
            satisfied: Some(false),
            reached: Some(true),
            reopened: true,
            repeat: true,
            compensation: Some((3000, "USD")),
            ..base.clone()
        },
        // 23:59:59 on 31 August in Shanghai: August. Escalated, never resolved.
        Fact {
            name: "c3",
            day: "2026-08-31",
            category: "LOGISTICS",
            channel: "EMAIL",
            severity: "LOW",
            team: "B",
            demand: "EXPLANATION",
            emotion: "AGITATED",
            phone: "+86 100 0003",
            created: "2026-08-31T15:59:59Z",
            ack_min: Some(10),
            escalated: true,
            ..base.clone()
        },
        // 00:00:00 on 1 September in Shanghai (still 31 August in UTC): September.
        // Same customer as c3; resolved, callback not reached; a group complaint.
        Fact {
            name: "c4",
            month: "2026-09",
            day: "2026-09-01",
            category: "BILLING",
            severity: "CRITICAL",
            team: "B",
            root_cause: Some("OPERATOR_ERROR"),
            demand: "REFUND",
            phone: "+86 100 0003",
            created: "2026-08-31T16:00:00Z",
            ack_min: Some(5),
            res_h: Some(4),
            fr_due_min: 10,
            open: false,
            reached: Some(false),
            escalated: true, // the group flag raises a HIGH_IMPACT request
            repeat: true,
            group: true,
            compensation: Some((20000, "CNY")),
            ..base.clone()
        },
        // The first callback does not reach the customer, the second does:
        // closed satisfied, then reopened by the customer (the outcome is gone).
        Fact {
            name: "c5",
            month: "2026-09",
            day: "2026-09-05",
            channel: "WEB_FORM",
            root_cause: Some("PRODUCT_DEFECT"),
            demand: "REPLACEMENT",
            phone: "+86 138 0013 8005",
            created: "2026-09-05T06:00:00Z",
            ack_min: Some(15),
            res_h: Some(20),
            score: Some(4),
            satisfied: Some(true),
            reached: Some(true),
            reopened: true,
            ..base.clone()
        },
        // Never acknowledged; its escalation request was rejected; withdrawn.
        Fact {
            name: "c6",
            month: "2026-09",
            day: "2026-09-10",
            category: "SERVICE_ATTITUDE",
            severity: "HIGH",
            demand: "APOLOGY",
            emotion: "ANGRY",
            phone: "+86 100 0006",
            created: "2026-09-10T01:00:00Z",
            open: false,
            closed: true,
            outcome: Some("WITHDRAWN"),
            ..base.clone()
        },
        // Compensation offered and declined: not counted.
        Fact {
            name: "c7",
            month: "2026-09",
            day: "2026-09-12",
            root_cause: Some("PRODUCT_DEFECT"),
            demand: "REPAIR",
            phone: "+86 100 0007",
            created: "2026-09-12T01:00:00Z",
            ack_min: Some(25),
            ..base.clone()
        },
        // c5's customer again, matched by phone only (written differently, and
        // another email), resolved at the first contact, satisfied.
        Fact {
            name: "c8",
            month: "2026-09",
            day: "2026-09-15",
            category: "SERVICE_DELAY",
            channel: "HOTLINE",
            demand: "EXPLANATION",
            phone: "138-0013-8005",
            created: "2026-09-15T08:00:00Z",
            ack_min: Some(3),
            res_h: Some(1),
            open: false,
            closed: true,
            satisfied: Some(true),
            repeat: true,
            fcr: true,
            outcome: Some("RESOLVED_AT_FIRST_CONTACT"),
            ..base.clone()
        },
    ]
}

const Q_STATS: &str = "query($from: DateTime!, $to: DateTime!, $by: StatsDimension!, $filter: ComplaintFilter) { \
    complaintStats(from: $from, to: $to, groupBy: $by, filter: $filter) { key label count openCount closedCount \
    avgFirstResponseMinutes avgResolutionHours p90ResolutionHours slaCompliance firstResponseBreachedCount \
    resolutionBreachedCount avgSatisfaction satisfactionResponses satisfiedRate callbackReachRate escalationRate \
    reopenRate repeatRate firstContactResolutionRate groupComplaintCount compensationTotals { amount currency } \
    closeOutcomes { outcome count } } }";

async fn stats(app: &TestApp, token: &str, by: &str, filter: Value) -> Vec<Value> {
    let data = app.ok(token, Q_STATS, json!({ "from": FROM, "to": TO, "by": by, "filter": filter })).await;
    data["complaintStats"].as_array().unwrap().clone()
}

fn uuid_of(id: &Value) -> uuid::Uuid {
    casework::ids::parse(&async_graphql::ID(id.as_str().unwrap().to_owned())).unwrap().1
}

async fn version(app: &TestApp, token: &str, id: &Value) -> i64 {
    app.ok(token, "query($id: ID!) { complaint(id: $id) { version } }", json!({ "id": id })).await["complaint"]["version"]
        .as_i64()
        .unwrap()
}

/// Runs a lifecycle mutation on the complaint's current version.
async fn step(app: &TestApp, token: &str, id: &Value, name: &str, params: &str, args: &str, mut vars: Value) {
    let v = version(app, token, id).await;
    vars["id"] = id.clone();
    vars["v"] = json!(v);
    let query = format!("mutation($id: ID!, $v: Int!{params}) {{ {name}(id: $id, expectedVersion: $v{args}) {{ id }} }}");
    app.ok(token, &query, vars).await;
}

async fn acknowledge(app: &TestApp, t: &str, id: &Value) {
    step(app, t, id, "acknowledgeComplaint", "", "", json!({})).await;
}
async fn finding(app: &TestApp, t: &str, id: &Value, cause: &str) {
    step(app, t, id, "recordFinding", ", $i: FindingInput!", ", input: $i", json!({ "i": { "rootCause": cause, "summary": "found" } }))
        .await;
}
async fn propose(app: &TestApp, t: &str, id: &Value, amount: Option<&str>, currency: &str, prevent: &str) {
    let input = json!({ "summary": "plan", "compensationAmount": amount, "currency": currency, "preventiveMeasures": prevent });
    step(app, t, id, "proposeResolution", ", $i: ResolutionInput!", ", input: $i", json!({ "i": input })).await;
}
async fn decide(app: &TestApp, t: &str, id: &Value, accepted: bool) {
    step(app, t, id, "recordCustomerDecision", ", $a: Boolean!", ", accepted: $a", json!({ "a": accepted })).await;
}
async fn resolve(app: &TestApp, t: &str, id: &Value) {
    step(app, t, id, "resolveComplaint", ", $s: String!", ", summary: $s", json!({ "s": "done" })).await;
}
async fn callback(app: &TestApp, t: &str, id: &Value, reached: bool, satisfied: bool, score: Option<i64>) {
    let input = json!({ "reached": reached, "satisfied": satisfied, "score": score });
    step(app, t, id, "recordCallback", ", $i: CallbackInput!", ", input: $i", json!({ "i": input })).await;
}

/// Records the mix through the API, then moves its clock; returns name → complaint id.
async fn record_mix(app: &TestApp) -> BTreeMap<&'static str, Value> {
    let agent = app.login_as("agent@example.com").await;
    let agent2 = app.login_as("agent2@example.com").await;
    let sup = app.login_as("supervisor@example.com").await;
    let mut ids = BTreeMap::new();
    for f in mix() {
        let token = if f.team == "A" { &agent } else { &agent2 };
        let c = ComplaintBuilder::new()
            .with("category", json!(f.category))
            .with("channel", json!(f.channel))
            .with("severity", json!(f.severity))
            .with("coreDemand", json!(f.demand))
            .with("emotion", json!(f.emotion))
            .with("customer", json!({ "name": f.name, "phone": f.phone, "email": format!("{}@example.com", f.phone.replace([' ', '+'], "")) }))
            .create(app, token)
            .await;
        ids.insert(f.name, c["id"].clone());
    }
    let (c1, c2, c3, c4, c5, c6, c7, c8) =
        (&ids["c1"], &ids["c2"], &ids["c3"], &ids["c4"], &ids["c5"], &ids["c6"], &ids["c7"], &ids["c8"]);
    // c1: the whole loop, satisfied.
    acknowledge(app, &agent, c1).await;
    finding(app, &agent, c1, "PRODUCT_DEFECT").await;
    propose(app, &agent, c1, Some("120.50"), "CNY", "QC at packing").await;
    decide(app, &agent, c1, true).await;
    resolve(app, &agent, c1).await;
    callback(app, &agent, c1, true, true, Some(5)).await;
    // c2: unsatisfied at callback: reopened.
    acknowledge(app, &agent, c2).await;
    finding(app, &agent, c2, "EXTERNAL").await;
    propose(app, &agent, c2, Some("30"), "USD", "Courier review").await;
    decide(app, &agent, c2, true).await;
    resolve(app, &agent, c2).await;
    callback(app, &agent, c2, true, false, Some(2)).await;
    // c3: acknowledged, escalated (pending).
    acknowledge(app, &agent2, c3).await;
    app.ok(
        &agent2,
        "mutation($c: ID!) { requestEscalation(complaintId: $c, toTier: TIER2, trigger: TECHNICAL, reason: \"needs tier 2\") { id } }",
        json!({ "c": c3 }),
    )
    .await;
    // c4: resolved, customer not reached; then flagged a group complaint.
    acknowledge(app, &agent2, c4).await;
    finding(app, &agent2, c4, "OPERATOR_ERROR").await;
    propose(app, &agent2, c4, Some("200"), "CNY", "Billing double-check").await;
    decide(app, &agent2, c4, true).await;
    resolve(app, &agent2, c4).await;
    callback(app, &agent2, c4, false, false, None).await;
    step(app, &sup, c4, "setFlags", ", $i: FlagsInput!", ", input: $i", json!({ "i": { "groupComplaint": true } })).await;
    // c5: closed satisfied, then reopened.
    acknowledge(app, &agent, c5).await;
    finding(app, &agent, c5, "PRODUCT_DEFECT").await;
    propose(app, &agent, c5, None, "CNY", "QC at packing").await;
    decide(app, &agent, c5, true).await;
    resolve(app, &agent, c5).await;
    callback(app, &agent, c5, false, false, None).await;
    callback(app, &agent, c5, true, true, Some(4)).await;
    step(app, &agent, c5, "reopenComplaint", ", $r: String!", ", reason: $r", json!({ "r": "broke again" })).await;
    // c6: an escalation request, rejected.
    let e = app
        .ok(
            &agent,
            "mutation($c: ID!) { requestEscalation(complaintId: $c, toTier: TIER2, trigger: CUSTOMER_REQUEST, reason: \"wants a manager\") { id } }",
            json!({ "c": c6 }),
        )
        .await["requestEscalation"]["id"]
        .clone();
    app.ok(&sup, "mutation($e: ID!) { rejectEscalation(id: $e, reason: \"no need\") { id } }", json!({ "e": e })).await;
    step(app, &agent, c6, "closeComplaint", ", $r: String!, $o: CloseOutcome", ", reason: $r, outcome: $o", json!({ "r": "withdrawn", "o": "WITHDRAWN" }))
        .await;
    // c7: compensation declined.
    acknowledge(app, &agent, c7).await;
    finding(app, &agent, c7, "PRODUCT_DEFECT").await;
    propose(app, &agent, c7, Some("99.99"), "CNY", "Supplier audit").await;
    decide(app, &agent, c7, false).await;
    // c8: handled during the first contact.
    step(app, &agent, c8, "resolveAtFirstContact", ", $s: String!", ", summary: $s, satisfied: true", json!({ "s": "explained" })).await;
    // c2 becomes sensitive: auditors see its customer masked.
    step(app, &sup, c2, "setFlags", ", $i: FlagsInput!", ", input: $i", json!({ "i": { "sensitive": true } })).await;

    // Move the clock: creation, response, resolution and deadlines as the mix says.
    for f in mix() {
        let created = at(f.created);
        let mut update = complaint::Entity::update_many()
            .col_expr(complaint::Column::CreatedAt, Expr::value(created))
            .col_expr(complaint::Column::FirstResponseDue, Expr::value(created + Duration::minutes(f.fr_due_min)))
            .col_expr(complaint::Column::ResolutionDue, Expr::value(created + Duration::minutes(f.res_due_min)))
            .col_expr(complaint::Column::AcknowledgedAt, Expr::value(f.ack_min.map(|m| created + Duration::minutes(m))))
            .col_expr(complaint::Column::ResolvedAt, Expr::value(f.res_h.map(|h| created + Duration::hours(h))));
        update = update.filter(complaint::Column::Id.eq(uuid_of(&ids[f.name])));
        update.exec(&app.db).await.unwrap();
    }
    // Outside the range: just before it (a July complaint in Shanghai) and just after it.
    for (phone, created) in [("+86 100 0008", "2026-07-31T15:59:59Z"), ("+86 100 0009", "2026-09-30T16:00:00Z")] {
        let c = ComplaintBuilder::new()
            .with("customer", json!({ "name": "outside", "phone": phone }))
            .create(app, &agent)
            .await;
        let created = at(created);
        complaint::Entity::update_many()
            .col_expr(complaint::Column::CreatedAt, Expr::value(created))
            .col_expr(complaint::Column::FirstResponseDue, Expr::value(created + Duration::minutes(30)))
            .col_expr(complaint::Column::ResolutionDue, Expr::value(created + Duration::hours(24)))
            .filter(complaint::Column::Id.eq(uuid_of(&c["id"])))
            .exec(&app.db)
            .await
            .unwrap();
    }
    ids
}

/// Every closure outcome, in the order of the `CloseOutcome` enum.
const OUTCOMES: [&str; 7] = [
    "RESOLVED_SATISFIED",
    "UNREACHABLE",
    "WITHDRAWN",
    "DUPLICATE",
    "EXPLAINED",
    "DEMAND_REFUSED",
    "RESOLVED_AT_FIRST_CONTACT",
];

/// The expected figures of a group of the mix, computed independently of the server.
fn expected(facts: &[&Fact], key: &str) -> Value {
    let n = facts.len() as i64;
    let count = |p: &dyn Fn(&Fact) -> bool| facts.iter().filter(|f| p(f)).count() as i64;
    let ratio = |a: i64, b: i64| if b > 0 { json!(a as f64 / b as f64) } else { Value::Null };
    let fr: Vec<i64> = facts.iter().filter_map(|f| f.ack_min.map(|m| m * 60)).collect();
    let mut res: Vec<i64> = facts.iter().filter_map(|f| f.res_h.map(|h| h * 3600)).collect();
    res.sort();
    let scores: Vec<i64> = facts.iter().filter_map(|f| f.score).collect();
    let mean = |v: &[i64], unit: f64| {
        if v.is_empty() { Value::Null } else { json!(v.iter().sum::<i64>() as f64 / v.len() as f64 / unit) }
    };
    let p90 = if res.is_empty() { Value::Null } else { json!(res[(res.len() * 9).div_ceil(10) - 1] as f64 / 3600.0) };
    let mut money: BTreeMap<&str, i64> = BTreeMap::new();
    for f in facts {
        if let Some((minor, cur)) = f.compensation {
            *money.entry(cur).or_default() += minor;
        }
    }
    let money: Vec<Value> = money
        .into_iter()
        .map(|(cur, minor)| json!({ "amount": rust_decimal::Decimal::new(minor, 2).to_string(), "currency": cur }))
        .collect();
    json!({
        "key": key,
        "count": n,
        "openCount": count(&|f| f.open),
        "closedCount": count(&|f| f.closed),
        "avgFirstResponseMinutes": mean(&fr, 60.0),
        "avgResolutionHours": mean(&res, 3600.0),
        "p90ResolutionHours": p90,
        "slaCompliance": ratio(count(&|f| f.sla_met()), count(&|f| f.sla_reached())),
        "firstResponseBreachedCount": count(&|f| f.fr_missed()),
        "resolutionBreachedCount": count(&|f| f.res_missed()),
        "avgSatisfaction": mean(&scores, 1.0),
        "satisfactionResponses": scores.len(),
        "satisfiedRate": ratio(count(&|f| f.satisfied == Some(true)), count(&|f| f.satisfied.is_some())),
        "callbackReachRate": ratio(count(&|f| f.reached == Some(true)), count(&|f| f.reached.is_some())),
        "escalationRate": ratio(count(&|f| f.escalated), n),
        "reopenRate": ratio(count(&|f| f.reopened), n),
        "repeatRate": ratio(count(&|f| f.repeat), n),
        "firstContactResolutionRate": ratio(count(&|f| f.fcr), n),
        "groupComplaintCount": count(&|f| f.group),
        "compensationTotals": money,
        "closeOutcomes": OUTCOMES
            .iter()
            .map(|o| json!({ "outcome": o, "count": count(&|f| f.outcome == Some(*o)) }))
            .collect::<Vec<_>>(),
    })
}

fn without_label(bucket: &Value) -> Value {
    let mut b = bucket.clone();
    b.as_object_mut().unwrap().remove("label");
    b
}

async fn every_figure_of_every_dimension_matches_the_known_mix(app: &TestApp) {
    let ids = record_mix(app).await;
    let auditor = app.login_as("auditor@example.com").await;
    let facts = mix();
    let team_a = crate::fixtures::team_id(app, &auditor, "Frontline A").await;
    let team_b = crate::fixtures::team_id(app, &auditor, "Frontline B").await;
    let users = app.ok(&app.login_as("admin@example.com").await, "{ users(first: 50) { edges { node { id email } } } }", json!({})).await;
    let user = |email: &str| {
        users["users"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["email"] == email).unwrap()["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (agent_a, agent_b) = (user("agent@example.com"), user("agent2@example.com"));
    assert_eq!(ids.len(), 8);

    type KeyOf = Box<dyn Fn(&Fact) -> String>;
    let dimensions: Vec<(&str, KeyOf)> = vec![
        ("CATEGORY", Box::new(|f: &Fact| f.category.to_owned())),
        ("CHANNEL", Box::new(|f: &Fact| f.channel.to_owned())),
        ("SEVERITY", Box::new(|f: &Fact| f.severity.to_owned())),
        ("TEAM", Box::new({ let (a, b) = (team_a.clone(), team_b.clone()); move |f: &Fact| if f.team == "A" { a.clone() } else { b.clone() } })),
        ("ASSIGNEE", Box::new({ let (a, b) = (agent_a.clone(), agent_b.clone()); move |f: &Fact| if f.team == "A" { a.clone() } else { b.clone() } })),
        ("ROOT_CAUSE", Box::new(|f: &Fact| f.root_cause.unwrap_or("NONE").to_owned())),
        ("TIER", Box::new(|_: &Fact| "TIER1".to_owned())),
        ("DEMAND", Box::new(|f: &Fact| f.demand.to_owned())),
        ("EMOTION", Box::new(|f: &Fact| f.emotion.to_owned())),
        ("MONTH", Box::new(|f: &Fact| f.month.to_owned())),
    ];
    for (dimension, key_of) in &dimensions {
        let got = stats(app, &auditor, dimension, Value::Null).await;
        let mut groups: BTreeMap<String, Vec<&Fact>> = BTreeMap::new();
        for f in &facts {
            groups.entry(key_of(f)).or_default().push(f);
        }
        let mut want: Vec<Value> = groups.iter().map(|(k, fs)| expected(fs, k)).collect();
        if *dimension != "MONTH" {
            // Largest first, then by key.
            want.sort_by(|a, b| b["count"].as_i64().cmp(&a["count"].as_i64()).then(a["key"].as_str().cmp(&b["key"].as_str())));
        }
        let got_figures: Vec<Value> = got.iter().map(without_label).collect();
        assert_eq!(got_figures, want, "by {dimension}");
    }

    // The month boundary in Shanghai, by hand: c3 (15:59:59 UTC) is August, c4 (16:00 UTC) September.
    let months = stats(app, &auditor, "MONTH", Value::Null).await;
    assert_eq!(months.len(), 2);
    assert_eq!((months[0]["key"].as_str(), months[0]["count"].as_i64()), (Some("2026-08"), Some(3)));
    assert_eq!((months[1]["key"].as_str(), months[1]["count"].as_i64()), (Some("2026-09"), Some(5)));
    assert_eq!(months[0]["avgFirstResponseMinutes"], json!(25.0));
    assert_eq!(months[0]["avgResolutionHours"], json!(20.0));
    assert_eq!(months[0]["p90ResolutionHours"], json!(30.0));
    assert_eq!(months[0]["slaCompliance"], json!(1.0 / 3.0));
    assert_eq!(months[0]["compensationTotals"], json!([{ "amount": "120.50", "currency": "CNY" }, { "amount": "30.00", "currency": "USD" }]));
    assert_eq!(months[1]["compensationTotals"], json!([{ "amount": "200.00", "currency": "CNY" }]));
    // September: c4 (one attempt, unreached) and c5 (unreached, then reached)
    // had callbacks: one complaint of two reached, though one attempt of three.
    assert_eq!(months[1]["callbackReachRate"], json!(0.5));
    assert_eq!(months[1]["groupComplaintCount"], json!(1));
    // c4 and c8 are repeats of September's five; c8 alone was resolved at the first contact.
    assert_eq!(months[1]["repeatRate"], json!(0.4));
    assert_eq!(months[1]["firstContactResolutionRate"], json!(0.2));
    assert_eq!(months[0]["repeatRate"], json!(1.0 / 3.0));
    assert_eq!(months[0]["firstContactResolutionRate"], json!(0.0));
    let outcomes = |m: &Value| -> Vec<(String, i64)> {
        m["closeOutcomes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["count"] != 0)
            .map(|o| (o["outcome"].as_str().unwrap().to_owned(), o["count"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(outcomes(&months[0]), [("RESOLVED_SATISFIED".to_owned(), 1)]);
    assert_eq!(outcomes(&months[1]), [("WITHDRAWN".to_owned(), 1), ("RESOLVED_AT_FIRST_CONTACT".to_owned(), 1)]);

    // Days and weeks: every period listed, empty ones with zeros.
    let days = stats(app, &auditor, "DAY", Value::Null).await;
    assert_eq!(days.len(), 61);
    let day = |key: &str| days.iter().find(|d| d["key"] == key).unwrap()["count"].as_i64().unwrap();
    assert_eq!((day("2026-08-31"), day("2026-09-01"), day("2026-08-01"), day("2026-09-30")), (1, 1, 0, 0));
    assert_eq!(days.iter().map(|d| d["count"].as_i64().unwrap()).sum::<i64>(), 8);
    for d in &days {
        let key = d["key"].as_str().unwrap();
        let of_day: Vec<&Fact> = facts.iter().filter(|f| f.day == key).collect();
        assert_eq!(without_label(d), expected(&of_day, key), "day {key}");
    }
    assert!(days.iter().filter(|d| d["count"] == 0).all(|d| d["slaCompliance"].is_null() && d["compensationTotals"] == json!([])));
    let weeks = stats(app, &auditor, "WEEK", Value::Null).await;
    assert_eq!(weeks.first().unwrap()["key"], "2026-W31");
    assert_eq!(weeks.last().unwrap()["key"], "2026-W40");
    assert_eq!(weeks.iter().map(|w| w["count"].as_i64().unwrap()).sum::<i64>(), 8);
    // 31 August is a Monday: c3 (Monday 23:59:59), c4 (Tuesday 00:00) and c5 (Saturday) share week 36.
    assert_eq!(weeks.iter().find(|w| w["key"] == "2026-W36").unwrap()["count"], 3);

    // Labels are readable.
    let teams = stats(app, &auditor, "TEAM", Value::Null).await;
    assert_eq!(teams[0]["label"], "Frontline A");
    let causes = stats(app, &auditor, "ROOT_CAUSE", Value::Null).await;
    let label = |key: &str| causes.iter().find(|c| c["key"] == key).unwrap()["label"].clone();
    assert_eq!((label("PRODUCT_DEFECT"), label("NONE")), (json!("Product defect"), json!("Not yet determined")));

    // A filter narrows the figures.
    let logistics = stats(app, &auditor, "MONTH", json!({ "category": ["LOGISTICS"] })).await;
    assert_eq!((logistics[0]["count"].as_i64(), logistics[1]["count"].as_i64()), (Some(2), Some(0)));

    // A constant number of statements, whatever the grouping or the number of periods.
    let mut costs = Vec::new();
    for dimension in ["MONTH", "DAY", "CATEGORY", "TEAM"] {
        app.until_caller_cached(&auditor).await;
        let before = app.statements().await;
        stats(app, &auditor, dimension, Value::Null).await;
        costs.push(app.statements().await - before);
    }
    assert!(costs.iter().all(|c| *c <= costs[0] + 1), "statements per request: {costs:?}");
}

async fn repeat_customers_are_found_within_the_callers_scope(app: &TestApp) {
    record_mix(app).await;
    let q = "query($from: DateTime!, $to: DateTime!, $first: Int! = 20, $after: String) { \
        repeatComplaints(from: $from, to: $to, minCount: 2, first: $first, after: $after) { \
        edges { cursor node { complaintCount customer { phone masked } complaints { reference isRepeat customer { phone masked } } } } \
        pageInfo { hasNextPage hasPreviousPage } } }";
    let vars = json!({ "from": FROM, "to": TO });
    let nodes = |found: &Value| -> Vec<Value> {
        found["repeatComplaints"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
    };
    let phones = |nodes: &[Value]| -> Vec<String> {
        let mut p: Vec<String> = nodes.iter().map(|n| n["customer"]["phone"].as_str().unwrap().to_owned()).collect();
        p.sort();
        p
    };
    let sup = app.login_as("supervisor@example.com").await;
    let found = app.ok(&sup, q, vars.clone()).await;
    let all = nodes(&found);
    // c1 + c2 and c3 + c4 (same phone and email), c5 + c8 (the same phone written differently).
    assert_eq!(phones(&all), ["+86 100 0001", "+86 100 0003", "+86 138 0013 8005"], "{found:#}");
    assert!(all.iter().all(|r| r["complaintCount"] == 2 && r["complaints"].as_array().unwrap().len() == 2));
    // Newest first: the later complaint of each pair is the one intake marked as a repeat.
    assert!(all.iter().all(|r| r["complaints"][0]["isRepeat"] == true && r["complaints"][1]["isRepeat"] == false), "{found:#}");
    assert_eq!(found["repeatComplaints"]["pageInfo"]["hasNextPage"], false);

    // Page by page: the same customers, each once, in the same order.
    let mut paged = Vec::new();
    let mut after = Value::Null;
    for page in 0.. {
        let found = app.ok(&sup, q, json!({ "from": FROM, "to": TO, "first": 1, "after": after })).await;
        let edges = found["repeatComplaints"]["edges"].as_array().unwrap().clone();
        assert_eq!(edges.len(), 1, "page {page}: {found:#}");
        assert_eq!(found["repeatComplaints"]["pageInfo"]["hasPreviousPage"], page > 0);
        paged.push(edges[0]["node"].clone());
        if found["repeatComplaints"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = edges[0]["cursor"].clone();
    }
    assert_eq!(paged, all);

    // The agent of Frontline A sees only its own customers' complaints.
    let agent = app.login_as("agent@example.com").await;
    let mine = nodes(&app.ok(&agent, q, vars.clone()).await);
    assert_eq!(phones(&mine), ["+86 100 0001", "+86 138 0013 8005"]);
    // Frontline B's agent sees its one customer, and another team's cursor shows nothing more.
    let agent2 = app.login_as("agent2@example.com").await;
    let theirs = app.ok(&agent2, q, json!({ "from": FROM, "to": TO, "first": 1 })).await;
    assert_eq!(phones(&nodes(&theirs)), ["+86 100 0003"]);
    assert_eq!(theirs["repeatComplaints"]["pageInfo"]["hasNextPage"], false);

    // The auditor sees the sensitive complaint's customer masked.
    let auditor = app.login_as("auditor@example.com").await;
    let seen = nodes(&app.ok(&auditor, q, vars.clone()).await);
    let p1 = seen.iter().find(|r| r["customer"]["masked"] == true).expect("a masked customer");
    assert_ne!(p1["customer"]["phone"], "+86 100 0001");

    // Three complaints are needed: nobody qualifies.
    let q3 = "query($from: DateTime!, $to: DateTime!) { repeatComplaints(from: $from, to: $to, minCount: 3) { edges { node { complaintCount } } } }";
    assert_eq!(app.ok(&sup, q3, vars.clone()).await["repeatComplaints"]["edges"], json!([]));
    // minCount below 2, pages beyond 100 and forged cursors are refused; administrators see nothing.
    let q1 = "query($from: DateTime!, $to: DateTime!) { repeatComplaints(from: $from, to: $to, minCount: 1) { edges { cursor } } }";
    let response = app.gql(Some(&sup), q1, vars.clone()).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "VALIDATION");
    assert_eq!(response["errors"][0]["extensions"]["field"], "minCount");
    let light = "query($from: DateTime!, $to: DateTime!, $first: Int!, $after: String) { \
        repeatComplaints(from: $from, to: $to, first: $first, after: $after) { edges { cursor } } }";
    for (first, after, field) in [(json!(101), Value::Null, "first"), (json!(0), Value::Null, "first"), (json!(5), json!("bm9wZQ"), "after")] {
        let response = app.gql(Some(&sup), light, json!({ "from": FROM, "to": TO, "first": first, "after": after })).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "VALIDATION", "{response:#}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
    // A hundred customers with all their complaints is priced before it runs.
    let heavy = app.gql(Some(&sup), q, json!({ "from": FROM, "to": TO, "first": 100 })).await;
    assert_eq!(heavy["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{heavy:#}");
    let admin = app.login_as("admin@example.com").await;
    assert_eq!(app.error_code(Some(&admin), q, vars).await, "FORBIDDEN");
}

async fn who_sees_which_figures(app: &TestApp) {
    record_mix(app).await;
    let total = |buckets: &[Value]| buckets.iter().map(|b| b["count"].as_i64().unwrap()).sum::<i64>();
    for (email, seen) in [
        ("supervisor@example.com", 8),
        ("legal@example.com", 8),
        ("auditor@example.com", 8),
        // Frontline A: c1, c2, c5, c6, c7, c8 (c2 is sensitive but assigned to them).
        ("agent@example.com", 6),
        // Frontline B: c3, c4.
        ("agent2@example.com", 2),
    ] {
        let token = app.login_as(email).await;
        assert_eq!(total(&stats(app, &token, "MONTH", Value::Null).await), seen, "{email}");
        assert_eq!(total(&stats(app, &token, "CATEGORY", Value::Null).await), seen, "{email}");
    }
    // A teammate does not see the sensitive c2 assigned to someone else.
    let mate = crate::fixtures::create_user(app, "mate@example.com", "AGENT", Some(&crate::fixtures::team_id(app, &app.login_as("supervisor@example.com").await, "Frontline A").await)).await;
    assert_eq!(mate["role"], "AGENT");
    let mate = app.login("mate@example.com", &crate::helpers::DEMO_PASSWORD.repeat(2)).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(total(&stats(app, &mate, "MONTH", Value::Null).await), 5);

    let admin = app.login_as("admin@example.com").await;
    let vars = json!({ "from": FROM, "to": TO, "by": "MONTH" });
    assert_eq!(app.error_code(Some(&admin), Q_STATS, vars.clone()).await, "FORBIDDEN");
    assert_eq!(app.error_code(None, Q_STATS, vars).await, "UNAUTHENTICATED");
}

async fn ranges_are_validated(app: &TestApp) {
    let sup = app.login_as("supervisor@example.com").await;
    let token = sup.as_str();
    let check = |from: &'static str, to: &'static str| {
        let vars = json!({ "from": from, "to": to, "by": "DAY" });
        async move { app.gql(Some(token), Q_STATS, vars).await }
    };
    for (from, to) in [(TO, FROM), (FROM, FROM), ("2025-01-01T00:00:00Z", "2026-02-05T00:00:01Z")] {
        let response = check(from, to).await;
        assert_eq!(response["errors"][0]["extensions"]["code"], "VALIDATION", "{from} {to}: {response:#}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "to");
    }
    // Exactly 400 days is accepted, with one bucket per local day.
    let response = check("2025-01-01T00:00:00Z", "2026-02-05T00:00:00Z").await;
    assert!(response.get("errors").is_none(), "{response:#}");
    assert_eq!(response["data"]["complaintStats"].as_array().unwrap().len(), 401);
    // A malformed date is the GraphQL layer's error, never an internal one.
    let response = app.gql(Some(&sup), Q_STATS, json!({ "from": "yesterday", "to": TO, "by": "DAY" })).await;
    assert!(response["errors"].is_array());
}

async fn the_report_prints_the_same_figures_in_every_format(app: &TestApp) {
    use casework::service::report::{number, percent};
    record_mix(app).await;
    let run = |format: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_casework"))
            .args(["--database-url", &app.database_url, "report", "--month", "2026-08", "--timezone", "Asia/Shanghai", "--format", format])
            .env_remove("CASEWORK_REPORT_TIMEZONE")
            .output()
            .expect("running casework report");
        assert!(output.status.success(), "casework report --format {format}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let csv = run("csv");
    let md = run("md");

    // The JSON holds the figures of the API.
    let auditor = app.login_as("auditor@example.com").await;
    let months = stats(app, &auditor, "MONTH", Value::Null).await;
    assert_eq!(without_label(&json["totals"]).as_object().unwrap().len(), without_label(&months[0]).as_object().unwrap().len());
    for field in ["count", "openCount", "slaCompliance", "avgSatisfaction", "repeatRate", "compensationTotals", "p90ResolutionHours"] {
        assert_eq!(json["totals"][field], months[0][field], "{field}");
    }
    assert_eq!(json["previous"]["count"], 1, "the July complaint just before the range");
    assert_eq!(json["topRootCauses"][0]["key"], "EXTERNAL");
    let by_category = stats(app, &auditor, "CATEGORY", json!({ "createdTo": "2026-08-31T16:00:00Z" })).await;
    let json_categories: Vec<(&str, i64)> =
        json["byCategory"].as_array().unwrap().iter().map(|b| (b["key"].as_str().unwrap(), b["count"].as_i64().unwrap())).collect();
    let api_categories: Vec<(&str, i64)> = by_category.iter().map(|b| (b["key"].as_str().unwrap(), b["count"].as_i64().unwrap())).collect();
    assert_eq!(json_categories, api_categories);

    // Every breakdown row of the JSON appears with the same printed figures in the CSV and the Markdown.
    let printed = |b: &Value| -> Vec<String> {
        let int = |f: &str| b[f].as_i64().unwrap().to_string();
        let rate = |f: &str| percent(b[f].as_f64());
        let num = |f: &str| number(b[f].as_f64());
        let money = b["compensationTotals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{} {}", m["amount"].as_str().unwrap(), m["currency"].as_str().unwrap()))
            .collect::<Vec<_>>()
            .join("; ");
        vec![
            int("count"), int("openCount"), int("closedCount"), num("avgFirstResponseMinutes"), num("avgResolutionHours"),
            num("p90ResolutionHours"), rate("slaCompliance"), int("firstResponseBreachedCount"), int("resolutionBreachedCount"),
            num("avgSatisfaction"), int("satisfactionResponses"), rate("satisfiedRate"), rate("callbackReachRate"),
            rate("escalationRate"), rate("reopenRate"), rate("repeatRate"), rate("firstContactResolutionRate"),
            int("groupComplaintCount"), money,
        ]
    };
    let csv_rows: Vec<Vec<String>> = csv.lines().skip(1).map(split_csv).collect();
    let csv_row = |section: &str, key: &str| -> Vec<String> {
        csv_rows.iter().find(|r| r[0] == section && r[1] == key).unwrap_or_else(|| panic!("csv {section} {key}:\n{csv}"))[3..22].to_vec()
    };
    let md_row = |title: &str, key: &str| -> Vec<String> {
        let section = md.split(&format!("## {title}\n")).nth(1).unwrap_or_else(|| panic!("md {title}:\n{md}"));
        let line = section.lines().find(|l| l.starts_with(&format!("| {key} |"))).unwrap_or_else(|| panic!("md {title} {key}:\n{md}"));
        line.trim_matches('|').split(" | ").skip(2).map(|c| c.trim().replace('–', "")).collect()
    };
    let mut compared = 0;
    for (field, section, title) in [
        ("byCategory", "category", "By category"),
        ("byChannel", "channel", "By channel"),
        ("bySeverity", "severity", "By severity"),
        ("byTeam", "team", "By team"),
        ("byRootCause", "root_cause", "By root cause"),
    ] {
        for b in json[field].as_array().unwrap() {
            let key = b["key"].as_str().unwrap();
            assert_eq!(csv_row(section, key), printed(b), "csv {section} {key}");
            assert_eq!(md_row(title, key), printed(b), "md {title} {key}");
            compared += 1;
        }
    }
    assert!(compared >= 12, "compared {compared} rows");
    // The totals: the CSV's total row and the Markdown summary's "This month" column.
    assert_eq!(csv_row("total", "2026-08"), printed(&json["totals"]));
    let summary = md.split("## Summary\n").nth(1).unwrap();
    let this_month: Vec<String> = summary
        .lines()
        .skip(3)
        .take(19)
        .map(|l| l.trim_matches('|').split(" | ").nth(1).unwrap().trim().replace('–', ""))
        .collect();
    assert_eq!(this_month, printed(&json["totals"]));
    assert!(md.contains("| PRODUCT_DEFECT | Product defect | 1 | QC at packing |"), "{md}");
    // Closure outcomes: the JSON's counts in the CSV and in the Markdown (this month, then the previous).
    let outcomes = md.split("## Closure outcomes\n").nth(1).unwrap_or_else(|| panic!("md outcomes:\n{md}"));
    for (now, before) in json["totals"]["closeOutcomes"].as_array().unwrap().iter().zip(json["previous"]["closeOutcomes"].as_array().unwrap()) {
        let (key, count) = (now["outcome"].as_str().unwrap(), now["count"].as_i64().unwrap());
        let row = csv_rows.iter().find(|r| r[0] == "close_outcome" && r[1] == key).unwrap_or_else(|| panic!("csv outcome {key}"));
        assert_eq!(row[3], count.to_string(), "csv outcome {key}");
        assert!(outcomes.lines().any(|l| l.starts_with(&format!("| {key} |")) && l.ends_with(&format!("| {count} | {} |", before["count"]))), "md outcome {key}:\n{md}");
    }
    assert_eq!(json["totals"]["closeOutcomes"][0], json!({ "outcome": "RESOLVED_SATISFIED", "count": 1 }));
    assert!(!md.contains('{'), "the Markdown holds no raw JSON");
}

/// Splits one CSV line (quoted fields may hold commas and doubled quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}
