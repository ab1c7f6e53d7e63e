//! `casework serve --demo`: teams, one account per role and a few complaints
//! taken from the worked cases of the complaint-handling manuals. Seeds only an
//! empty database, so restarting never duplicates anything.

use async_graphql::ID;
use rust_decimal::Decimal;

use super::{
    RequestContext, Services,
    auth::actor_of,
    complaints::{self, CallbackInput, CreateComplaintInput, CustomerInput, FindingInput, ResolutionInput, WorkRequestInput},
    users::{self, NewUser},
};
use crate::{
    domain::{Category, Channel, Demand, Emotion, Role, RootCause, Severity, Tier, WorkKind},
    error::AppResult,
};

/// The demo accounts: (email, display name, role, team).
pub const ACCOUNTS: &[(&str, &str, Role, Option<&str>)] = &[
    ("agent@example.com", "Wang Fang (agent)", Role::Agent, Some("Frontline A")),
    ("agent2@example.com", "Li Na (agent)", Role::Agent, Some("Frontline B")),
    ("supervisor@example.com", "Zhang Wei (supervisor)", Role::Supervisor, Some("Technical Support")),
    ("legal@example.com", "Chen Jing (legal)", Role::Legal, None),
    ("auditor@example.com", "Liu Yang (auditor)", Role::Auditor, None),
    ("admin@example.com", "Zhao Min (admin)", Role::Admin, None),
    // Role grants take a second administrator.
    ("admin2@example.com", "Sun Lei (admin)", Role::Admin, None),
    ("finance@example.com", "Qian Hui (finance)", Role::Agent, Some(FINANCE)),
];

/// The team that pays out refunds and compensation (work items of kind
/// REFUND_PAYOUT). Named after the tier's specialists, so escalations to TIER3
/// still reach "Specialists" first.
pub const FINANCE: &str = "Treasury (Finance)";

const TEAMS: &[(&str, Tier)] = &[
    ("Frontline A", Tier::Tier1),
    ("Frontline B", Tier::Tier1),
    ("Technical Support", Tier::Tier2),
    ("Specialists", Tier::Tier3),
    (FINANCE, Tier::Tier3),
];

/// Seeds the demo data if the database has no users. Returns whether it did.
pub async fn seed(services: &Services) -> AppResult<bool> {
    if users::count_users(services).await? > 0 {
        return Ok(false);
    }
    let operator = RequestContext::operator();
    let mut teams = Vec::new();
    for (name, tier) in TEAMS {
        teams.push(users::insert_team(services, &operator, name, *tier).await?);
    }
    let password = services.settings.demo_password.expose().to_owned();
    let mut accounts = Vec::new();
    for (email, name, role, team) in ACCOUNTS {
        let team_id = team.and_then(|t| teams.iter().find(|m| m.name == t)).map(|m| m.id);
        // The demo password may be shorter than the policy asks of real users.
        let user = NewUser {
            email: crate::domain::validation::Email::parse("email", email)?,
            display_name: (*name).to_owned(),
            role: *role,
            team_id,
            password: Some(password.clone()),
            authority_limit: None,
            authority_currency: None,
        };
        accounts.push(users::create_user_as_operator(services, user).await?);
    }

    let agent = actor_of(services, &accounts[0])?;
    let agent2 = actor_of(services, &accounts[1])?;
    let as_agent = RequestContext { actor: Some(agent), ..RequestContext::operator() };
    let as_agent2 = RequestContext { actor: Some(agent2), ..RequestContext::operator() };
    let finance = accounts.iter().find(|u| u.email == "finance@example.com").ok_or_else(|| anyhow::anyhow!("no finance account"))?;
    let finance = actor_of(services, finance)?;
    let as_finance = RequestContext { actor: Some(finance), ..RequestContext::operator() };
    let team_named = |name: &str| teams.iter().find(|t| t.name == name).map(|t| crate::ids::encode(crate::ids::Kind::Team, t.id));

    let broadband = complaints::create(
        services,
        &as_agent,
        CreateComplaintInput {
            product_or_service: Some(OUTAGE_SERVICE.into()),
            location: Some(OUTAGE_BUILDING.into()),
            ..sample(
                Channel::Hotline,
                Category::SystemFailure,
                Severity::Critical,
                "Elderly customer without broadband for three days",
                "An 80-year-old customer living alone reports that her broadband has been down for three days. \
                 She relies on it for video calls with her doctor and is anxious.",
                ("Mrs. Zhou Lan", Some("+86 138 0013 8000"), None),
                Demand::Repair,
                None,
                Emotion::Agitated,
                Some("BB-2026-77812"),
            )
        },
    )
    .await?;
    complaints::acknowledge(
        services,
        &as_agent,
        broadband.id,
        broadband.version,
        Some("We are sorry. A technician will call you within 2 hours.".into()),
        Some(crate::service::now() + chrono::Duration::hours(2)),
    )
    .await?;
    // Manual 000 §4.1: the handling team asks technical support for the repair.
    complaints::request_work(
        services,
        &as_agent,
        broadband.id,
        WorkRequestInput {
            team_id: team_named("Technical Support").unwrap_or_default(),
            kind: WorkKind::Repair,
            request: "Send a technician to restore the line at the customer's flat today; call her first, she is hard of hearing."
                .into(),
            due_by: crate::service::now() + chrono::Duration::hours(4),
        },
    )
    .await?;

    // `000` §6.4: several households in one building lose broadband — one
    // group led by Frontline A, one update told to every household.
    let neighbour = complaints::create(
        services,
        &as_agent,
        outage(
            "No broadband since Monday evening",
            "The customer on the 12th floor has had no connection since Monday evening; the router shows no signal.",
            ("Mr. Deng Hao", Some("+86 138 0013 8123"), None),
            Severity::High,
        ),
    )
    .await?;
    let family = complaints::create(
        services,
        &as_agent,
        outage(
            "Children cannot attend online classes",
            "A family on the 3rd floor lost broadband on Monday; the children's online classes are interrupted.",
            ("Ms. Ma Ying", Some("+86 138 0013 8456"), Some("ma.ying@example.net")),
            Severity::High,
        ),
    )
    .await?;
    // The lead team's agent opens the group (raising HIGH_IMPACT on each
    // household); the supervisor keeps the handling with the lead team.
    let members = [broadband.id, neighbour.id, family.id];
    let group = complaints::groups::create(
        services,
        &as_agent,
        complaints::groups::ComplaintGroupInput {
            title: format!("Broadband outage, {OUTAGE_BUILDING}"),
            cause: "A fibre splitter in the building's basement failed after a power surge.".into(),
            lead_team_id: None,
            complaint_ids: Some(members.iter().map(|id| crate::ids::encode(crate::ids::Kind::Complaint, *id)).collect()),
        },
    )
    .await?;
    complaints::groups::post_update(
        services,
        &as_agent,
        group.id,
        complaints::ProgressUpdateInput {
            message: "An engineer is replacing the failed splitter in your building; service should return by this evening.".into(),
            delay_reason: Some(crate::domain::DelayReason::Technical),
            expected_resolution_at: Some(crate::service::now() + chrono::Duration::hours(8)),
        },
    )
    .await?;
    let supervisor = actor_of(services, &accounts[2])?;
    let as_supervisor = RequestContext { actor: Some(supervisor), ..RequestContext::operator() };
    for request in crate::service::escalations::by_complaints(services, &members).await? {
        if request.status == crate::domain::EscalationStatus::Pending.as_str() {
            let note = format!("Handled as group {} by Frontline A; no other tier needed.", group.reference);
            crate::service::escalations::reject(services, &as_supervisor, request.id, &note).await?;
        }
    }

    let parcel = complaints::create(
        services,
        &as_agent,
        sample(
            Channel::OnlineChat,
            Category::Logistics,
            Severity::High,
            "Pregnant customer's parcel delayed a week",
            "The customer, seven months pregnant, ordered maternity supplies with express delivery. \
             The parcel is a week late and tracking has not moved for four days.",
            ("Ms. Sun Mei", Some("+86 139 0000 1234"), Some("sun.mei@example.net")),
            Demand::Compensation,
            Some(Decimal::new(20000, 2)),
            Emotion::Angry,
            Some("ORD-88123401"),
        ),
    )
    .await?;
    let parcel = complaints::acknowledge(services, &as_agent, parcel.id, parcel.version, None, None).await?;
    complaints::record_finding(
        services,
        &as_agent,
        parcel.id,
        parcel.version,
        FindingInput {
            root_cause: RootCause::External,
            responsibility: Some("Carrier's regional hub".into()),
            summary: "The parcel was mis-sorted at the carrier's regional hub.".into(),
        },
    )
    .await?;

    complaints::create(
        services,
        &as_agent2,
        sample(
            Channel::InStore,
            Category::ProductQuality,
            Severity::Medium,
            "New fridge delivered with a scratched door",
            "The customer found a long scratch on the door of the fridge delivered yesterday and wants a replacement.",
            ("Mr. Huang Jun", Some("020 8888 6666"), Some("huang.jun@example.org")),
            Demand::Replacement,
            None,
            Emotion::Calm,
            Some("ORD-88120077"),
        ),
    )
    .await?;

    // The fridge customer again (matched by his phone): a repeat complaint,
    // refunded by finance and closed at the second callback attempt.
    let milk = complaints::create(
        services,
        &as_agent2,
        sample(
            Channel::Phone,
            Category::ProductQuality,
            Severity::High,
            "Milk powder tin leaking on arrival",
            "A tin of infant milk powder arrived with a broken seal and powder leaking; the customer worries about safety.",
            ("Mr. Huang Jun", Some("020 8888 6666"), None),
            Demand::Refund,
            Some(Decimal::new(32800, 2)),
            Emotion::Agitated,
            Some("ORD-88119954"),
        ),
    )
    .await?;
    refund_and_call_back(services, &as_agent2, &as_finance, milk, team_named(FINANCE).unwrap_or_default()).await?;

    complaints::create(
        services,
        &as_agent,
        sample(
            Channel::Email,
            Category::DataLoss,
            Severity::Critical,
            "Hosting customer lost a day of data after maintenance",
            "After last night's maintenance window the customer's database was restored from a backup a day old.",
            ("Gao Tech Ltd.", None, Some("ops@gaotech.example.com")),
            Demand::Compensation,
            Some(Decimal::new(200000, 2)),
            Emotion::Angry,
            Some("HOST-4471"),
        ),
    )
    .await?;
    Ok(true)
}

/// The whole loop on one complaint: finding, a refund within the agent's
/// authority, finance pays it out (a REFUND_PAYOUT work item), resolution, an
/// unreached callback, then a reached and satisfied one that closes it.
async fn refund_and_call_back(
    services: &Services,
    agent: &RequestContext,
    finance: &RequestContext,
    c: entity::complaint::Model,
    finance_team: ID,
) -> AppResult<()> {
    let c = complaints::acknowledge(services, agent, c.id, c.version, None, None).await?;
    let finding = FindingInput {
        root_cause: RootCause::ProductDefect,
        responsibility: Some("Supplier's sealing line".into()),
        summary: "The tin's seal was faulty from the factory; the batch is being recalled.".into(),
    };
    let c = complaints::record_finding(services, agent, c.id, c.version, finding).await?;
    let plan = ResolutionInput {
        summary: "Refund the tin in full and collect it for the recall.".into(),
        compensation_amount: Some(Decimal::new(32800, 2)),
        refund_amount: None,
        currency: None,
        remedies: Some("Courier collects the tin.".into()),
        preventive_measures: Some("Supplier checks seals batch by batch.".into()),
    };
    let c = complaints::propose_resolution(services, agent, c.id, c.version, plan).await?;
    let c = complaints::record_customer_decision(services, agent, c.id, c.version, true, None).await?;
    let payout = WorkRequestInput {
        team_id: finance_team,
        kind: WorkKind::RefundPayout,
        request: "Refund 328.00 CNY for order ORD-88119954 to the original payment method.".into(),
        due_by: crate::service::now() + chrono::Duration::hours(24),
    };
    let item = complaints::request_work(services, agent, c.id, payout).await?;
    complaints::complete_work(services, finance, item.id, "Refunded 328.00 CNY to the customer's card.").await?;
    // Requesting and completing the work moved the complaint on.
    let c = complaints::load_for_work(services, agent.actor()?, c.id).await?;
    let c = complaints::resolve(services, agent, c.id, c.version, "Refund paid; the tin was collected.").await?;
    let unreached = CallbackInput { reached: false, satisfied: false, score: None, comment: Some("No answer; try again in the afternoon.".into()) };
    let c = complaints::record_callback(services, agent, c.id, c.version, unreached).await?;
    let reached = CallbackInput { reached: true, satisfied: true, score: Some(5), comment: Some("Happy with the quick refund.".into()) };
    complaints::record_callback(services, agent, c.id, c.version, reached).await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn sample(
    channel: Channel,
    category: Category,
    severity: Severity,
    title: &str,
    description: &str,
    customer: (&str, Option<&str>, Option<&str>),
    core_demand: Demand,
    requested_amount: Option<Decimal>,
    emotion: Emotion,
    order_reference: Option<&str>,
) -> CreateComplaintInput {
    CreateComplaintInput {
        channel,
        category,
        severity,
        title: title.into(),
        description: description.into(),
        customer: CustomerInput {
            name: customer.0.into(),
            phone: customer.1.map(Into::into),
            email: customer.2.map(Into::into),
        },
        core_demand,
        requested_amount,
        currency: None,
        emotion,
        order_reference: order_reference.map(Into::into),
        occurred_at: None,
        team_id: None::<ID>,
        assignee_id: None,
        customer_id: None,
        urgent_reason: None,
        product_or_service: None,
        location: None,
    }
}

/// Where the demo's broadband outage happened, and what failed.
const OUTAGE_BUILDING: &str = "Building 7, Riverside Estate";
const OUTAGE_SERVICE: &str = "Home broadband 200M";

/// One household of the building reporting the outage.
fn outage(title: &str, description: &str, customer: (&str, Option<&str>, Option<&str>), severity: Severity) -> CreateComplaintInput {
    CreateComplaintInput {
        product_or_service: Some(OUTAGE_SERVICE.into()),
        location: Some(OUTAGE_BUILDING.into()),
        ..sample(Channel::Hotline, Category::SystemFailure, severity, title, description, customer, Demand::Repair, None, Emotion::Agitated, None)
    }
}
