//! Complaint queries and the lifecycle mutations.

use async_graphql::{Context, ID, Interface, Object, connection::{Connection, Edge}};
use sea_orm::Condition;
use uuid::Uuid;

use super::{
    connection::{self as cursor, page_size},
    context::ContextExt,
    loaders::{Loaders, distinct},
    types::{Complaint, Evidence, Note, Team, User},
};
use crate::{
    auth::Actor,
    domain::{LinkKind, NoteVisibility},
    error::AppResult,
    ids::{self, Kind},
    service::{
        complaints::{
            self as service, CallbackInput, ComplaintFilter, ComplaintOrder, CreateComplaintInput, Cursor, FindingInput,
            FlagsInput, PageRequest, ResolutionInput, UpdateComplaintInput,
        },
    },
};

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global ID."))]
pub enum Node {
    Complaint(Complaint),
    User(User),
    Team(Team),
    Escalation(super::escalations::Escalation),
    Evidence(Evidence),
    ComplaintGroup(super::groups::ComplaintGroup),
}

/// Fields of the complaint list beyond its edges.
pub struct ComplaintListInfo {
    pub(crate) actor: Actor,
    pub(crate) condition: Condition,
}

#[Object]
impl ComplaintListInfo {
    /// How many complaints match the filter (only counted when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<u64> {
        service::count(ctx.services()?, &self.actor, self.condition.clone()).await
    }
}

pub type ComplaintConnection = Connection<String, Complaint, ComplaintListInfo>;

#[derive(Default)]
pub struct ComplaintQuery;

#[Object]
impl ComplaintQuery {
    /// Any object by its global ID; null when it does not exist or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Node>> {
        let actor = ctx.actor()?;
        let services = ctx.services()?;
        let Some((kind, uuid)) = ids::parse(&id) else { return Ok(None) };
        Ok(match kind {
            Kind::Complaint => match service::find_visible(services, actor, uuid).await? {
                Some(c) => Some(Node::Complaint(Complaint::hand_out(ctx, c).await?)),
                None => None,
            },
            Kind::User => ctx.loaders()?.users.load_one(uuid).await?.map(|u| Node::User(User(u))),
            Kind::Team => ctx.loaders()?.teams.load_one(uuid).await?.map(|t| Node::Team(Team(t))),
            Kind::Escalation => crate::service::escalations::find_visible(services, ctx.request()?, uuid)
                .await?
                .map(|(e, _)| Node::Escalation(super::escalations::Escalation(e))),
            Kind::Evidence => {
                crate::service::evidence::find_visible(services, actor, uuid).await?.map(|e| Node::Evidence(Evidence(e)))
            }
            Kind::Group => crate::service::complaints::groups::find_visible(services, actor, uuid)
                .await?
                .map(|g| Node::ComplaintGroup(super::groups::ComplaintGroup(g))),
            _ => None,
        })
    }

    /// A complaint by ID; null when it does not exist or the caller may not see it.
    async fn complaint(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Complaint>> {
        let actor = ctx.actor()?;
        let Some((Kind::Complaint, id)) = ids::parse(&id) else { return Ok(None) };
        let look = ctx.look_ahead();
        let with = service::Neighbours {
            columns: super::projection::complaint_columns(look.selection_fields()),
            customer: look.field("customer").exists(),
            assignee: look.field("assignee").exists(),
            evidence_count: look.field("evidenceCount").exists(),
            latest_escalation: look.field("latestEscalation").exists(),
            notes: look.field("notes").exists(),
            escalations: look.field("escalations").exists(),
            customer_columns: super::projection::customer_columns(look.field("customer").selection_fields()),
            assignee_columns: super::projection::user_columns(look.field("assignee").selection_fields()),
            escalation_columns: super::projection::escalation_columns(look.field("latestEscalation").selection_fields()),
        };
        match service::find_visible_with(ctx.services()?, actor, id, with).await? {
            Some(found) => {
                let mut rows = feed(ctx.loaders()?, vec![found], with).await;
                Ok(Some(Complaint::hand_out(ctx, rows.remove(0)).await?))
            }
            None => Ok(None),
        }
    }

    /// A complaint by its human reference, e.g. `CMP-2026-000042`.
    async fn complaint_by_reference(&self, ctx: &Context<'_>, reference: String) -> AppResult<Option<Complaint>> {
        let actor = ctx.actor()?;
        match service::find_visible_by_reference(ctx.services()?, actor, &reference).await? {
            Some(c) => Ok(Some(Complaint::hand_out(ctx, c).await?)),
            None => Ok(None),
        }
    }

    /// Complaints the caller may see, as a Relay connection with keyset cursors.
    #[graphql(complexity = "5 + child_complexity * (first.or(last).unwrap_or(20).clamp(1, 100) as usize) \
        + filter.as_ref().and_then(|f| f.search.as_ref()).map_or(0, |_| crate::graphql::EXCLUSIVE_COST)")]
    #[allow(clippy::too_many_arguments)]
    async fn complaints(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComplaintFilter>,
        order_by: Option<ComplaintOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<ComplaintConnection> {
        let actor = ctx.actor()?.clone();
        let services = ctx.services()?;
        let (limit, from_end) = page_size(first, last)?;
        let order = order_by.unwrap_or_default();
        let page = PageRequest {
            order,
            after: after.as_deref().map(|c| cursor::decode("after", c)).transpose()?,
            before: before.as_deref().map(|c| cursor::decode("before", c)).transpose()?,
            limit,
            from_end,
        };
        let backend = sea_orm::ConnectionTrait::get_database_backend(&services.db);
        let condition = service::filter_condition(&filter.unwrap_or_default(), chrono::Utc::now(), backend)?;
        let look = ctx.look_ahead();
        let selected = |field: &str| look.field("edges").field("node").field(field).exists() || look.field("nodes").field(field).exists();
        let nodes = [look.field("edges").field("node"), look.field("nodes")];
        let with = service::Neighbours {
            columns: super::projection::complaint_columns(nodes.iter().flat_map(|l| l.selection_fields())),
            customer: selected("customer"),
            assignee: selected("assignee"),
            evidence_count: selected("evidenceCount"),
            latest_escalation: selected("latestEscalation"),
            customer_columns: super::projection::customer_columns(nodes.iter().flat_map(|l| l.field("customer").selection_fields())),
            assignee_columns: super::projection::user_columns(nodes.iter().flat_map(|l| l.field("assignee").selection_fields())),
            escalation_columns: super::projection::escalation_columns(nodes.iter().flat_map(|l| l.field("latestEscalation").selection_fields())),
            // A page reads these in one statement each for all its rows (`prime`).
            ..Default::default()
        };
        let (listed, more) = service::list_with(services, &actor, condition.clone(), &page, with).await?;
        let loaders = ctx.loaders()?;
        let rows = feed(loaders, listed, with).await;
        prime(ctx, loaders, &rows, with).await?;
        let keys: Vec<String> = rows.iter().map(|c| cursor::encode(Cursor { key: order.field.key(c), id: c.id })).collect();
        let rows = Complaint::hand_out_all(ctx, rows).await?;

        let (has_previous, has_next) = if from_end { (more, page.before.is_some()) } else { (page.after.is_some(), more) };
        let mut connection =
            Connection::with_additional_fields(has_previous, has_next, ComplaintListInfo { actor, condition });
        connection.edges = rows
            .into_iter()
            .zip(keys)
            .map(|(c, key)| Edge::new(key, c))
            .collect();
        Ok(connection)
    }
}

/// Hands the neighbours read with the page to the loaders, so the fields
/// that ask for them find them there.
async fn feed(loaders: &Loaders, listed: Vec<service::Listed>, with: service::Neighbours) -> Vec<entity::complaint::Model> {
    let mut customers = Vec::new();
    let mut users = Vec::new();
    let mut counts = Vec::new();
    let mut latest = Vec::new();
    let mut notes = Vec::new();
    let mut escalations = Vec::new();
    let mut rows = Vec::with_capacity(listed.len());
    for item in listed {
        let id = item.complaint.id;
        customers.extend(item.customer.map(|c| (c.id, c)));
        users.extend(item.assignee.map(|u| (u.id, u)));
        counts.extend(item.evidence_count.map(|n| (id, n)));
        if with.latest_escalation {
            latest.push((id, item.latest_escalation));
        }
        notes.extend(item.notes.map(|n| (id, n)));
        escalations.extend(item.escalations.map(|e| (id, e)));
        rows.push(item.complaint);
    }
    // Whole rows go to the shared loaders, partial ones only to the fields
    // that asked for them (`Loaders::folded`).
    use crate::service::rows::ColumnSet;
    if with.customer_columns == ColumnSet::ALL {
        loaders.customers.feed_many(customers).await;
    } else {
        loaders.folded.keep_customers(customers, with.customer_columns);
    }
    if with.assignee_columns == ColumnSet::ALL {
        loaders.users.feed_many(users).await;
    } else {
        loaders.folded.keep_users(users, with.assignee_columns);
    }
    if with.escalation_columns == ColumnSet::ALL {
        loaders.latest_escalations.feed_many(latest).await;
    } else {
        loaders.folded.keep_latest_escalations(latest, with.escalation_columns);
    }
    loaders.evidence_counts.feed_many(counts).await;
    loaders.notes.feed_many(notes).await;
    loaders.escalations.feed_many(escalations).await;
    rows
}

/// Loads, in one statement each, the nested objects that the query selects
/// for a page of complaints and that the page's own statement did not fold in.
async fn prime(
    ctx: &Context<'_>,
    loaders: &Loaders,
    rows: &[entity::complaint::Model],
    folded: service::Neighbours,
) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let look = ctx.look_ahead();
    let selected = |field: &str| look.field("edges").field("node").field(field).exists() || look.field("nodes").field(field).exists();
    let ids = || rows.iter().map(|c| c.id);
    let users = distinct(rows.iter().flat_map(|c| {
        let assignee = if selected("assignee") && !folded.assignee { c.assignee_id } else { None };
        let creator = if selected("createdBy") { Some(c.created_by) } else { None };
        assignee.into_iter().chain(creator)
    }));
    let customers = if selected("customer") && !folded.customer { distinct(rows.iter().map(|c| c.customer_id)) } else { Vec::new() };
    let teams = if selected("team") { distinct(rows.iter().filter_map(|c| c.team_id)) } else { Vec::new() };
    let notes = if selected("notes") { distinct(ids()) } else { Vec::new() };
    let links = if selected("links") { distinct(ids()) } else { Vec::new() };
    let escalations = if selected("escalations") { distinct(ids()) } else { Vec::new() };
    let evidence = if selected("evidence") { distinct(ids()) } else { Vec::new() };
    let evidence_counts = if selected("evidenceCount") && !folded.evidence_count { distinct(ids()) } else { Vec::new() };
    futures_util::try_join!(
        async { if users.is_empty() { Ok(()) } else { loaders.users.load_many(users).await.map(drop) } },
        async { if customers.is_empty() { Ok(()) } else { loaders.customers.load_many(customers).await.map(drop) } },
        async { if teams.is_empty() { Ok(()) } else { loaders.teams.load_many(teams).await.map(drop) } },
        async { if notes.is_empty() { Ok(()) } else { loaders.notes.load_many(notes).await.map(drop) } },
        async { if links.is_empty() { Ok(()) } else { loaders.links.load_many(links).await.map(drop) } },
        async { if escalations.is_empty() { Ok(()) } else { loaders.escalations.load_many(escalations).await.map(drop) } },
        async { if evidence.is_empty() { Ok(()) } else { loaders.evidence.load_many(evidence).await.map(drop) } },
        async {
            if evidence_counts.is_empty() { Ok(()) } else { loaders.evidence_counts.load_many(evidence_counts).await.map(drop) }
        },
    )?;
    Ok(())
}

fn complaint_id(id: &ID) -> AppResult<Uuid> {
    ids::decode(Kind::Complaint, "id", id)
}

#[derive(Default)]
pub struct ComplaintMutation;

#[Object]
impl ComplaintMutation {
    /// Records a new complaint (agents and supervisors).
    async fn create_complaint(&self, ctx: &Context<'_>, input: CreateComplaintInput) -> AppResult<Complaint> {
        let (services, request) = (ctx.services()?, ctx.request()?);
        // A quota of API callers (CASEWORK_CREATIONS_PER_MINUTE), not of the demo seed or the CLI.
        services.guards.creations.take(request.actor()?.user_id, 1)?;
        Complaint::hand_out(ctx, service::create(services, request, input).await?).await
    }

    /// Corrects intake data. CONFLICT when `expectedVersion` is stale.
    async fn update_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: UpdateComplaintInput,
    ) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::update(ctx.services()?, ctx.request()?, id, expected_version, input).await?).await
    }

    /// Assigns the complaint to a user and/or team (the tier follows the team).
    async fn assign_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        assignee_id: Option<ID>,
        team_id: Option<ID>,
    ) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        let assignee = ids::decode_opt(Kind::User, "assigneeId", assignee_id.as_ref())?;
        let team = ids::decode_opt(Kind::Team, "teamId", team_id.as_ref())?;
        Complaint::hand_out(ctx, service::assign(ctx.services()?, ctx.request()?, id, expected_version, assignee, team).await?).await
    }

    /// Acknowledges the complaint to the customer (NEW → ACKNOWLEDGED), optionally
    /// with `promisedBy`, the time the customer is promised an answer (the monitor
    /// marks `promiseBreached` after it); a progress update is then owed within
    /// `CASEWORK_UPDATE_INTERVAL_HOURS`.
    async fn acknowledge_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        message: Option<String>,
        promised_by: Option<chrono::DateTime<chrono::Utc>>,
    ) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        let services = ctx.services()?;
        Complaint::hand_out(ctx, service::acknowledge(services, ctx.request()?, id, expected_version, message, promised_by).await?).await
    }

    /// Records what the investigation found (→ INVESTIGATING).
    async fn record_finding(&self, ctx: &Context<'_>, id: ID, expected_version: i32, input: FindingInput) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::record_finding(ctx.services()?, ctx.request()?, id, expected_version, input).await?).await
    }

    /// Proposes a resolution (→ RESOLUTION_PROPOSED, or PENDING_APPROVAL above the caller's authority).
    async fn propose_resolution(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: ResolutionInput,
    ) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::propose_resolution(ctx.services()?, ctx.request()?, id, expected_version, input).await?).await
    }

    /// Records whether the customer accepted the proposal (→ CUSTOMER_ACCEPTED, or back to INVESTIGATING).
    async fn record_customer_decision(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        accepted: bool,
        note: Option<String>,
    ) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        let services = ctx.services()?;
        Complaint::hand_out(ctx, service::record_customer_decision(services, ctx.request()?, id, expected_version, accepted, note).await?).await
    }

    /// Marks the accepted resolution as carried out (→ RESOLVED).
    async fn resolve_complaint(&self, ctx: &Context<'_>, id: ID, expected_version: i32, summary: String) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::resolve(ctx.services()?, ctx.request()?, id, expected_version, &summary).await?).await
    }

    /// Records the callback: satisfied closes, unsatisfied reopens, unreached records the attempt.
    async fn record_callback(&self, ctx: &Context<'_>, id: ID, expected_version: i32, input: CallbackInput) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::record_callback(ctx.services()?, ctx.request()?, id, expected_version, input).await?).await
    }

    /// Closes the complaint with a reason and an outcome. A RESOLVED complaint closes
    /// at a satisfied callback, or here once the allowed callback attempts went
    /// unreached (outcome UNREACHABLE by default); otherwise INVALID_TRANSITION.
    async fn close_complaint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        reason: String,
        outcome: Option<crate::domain::CloseOutcome>,
    ) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::close(ctx.services()?, ctx.request()?, id, expected_version, &reason, outcome).await?).await
    }

    /// Reopens a resolved or closed complaint.
    async fn reopen_complaint(&self, ctx: &Context<'_>, id: ID, expected_version: i32, reason: String) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::reopen(ctx.services()?, ctx.request()?, id, expected_version, &reason).await?).await
    }

    /// Adds a note: INTERNAL, or a CUSTOMER_UPDATE told to the customer.
    async fn add_note(&self, ctx: &Context<'_>, complaint_id: ID, body: String, visibility: NoteVisibility) -> AppResult<Note> {
        let id = ids::decode(Kind::Complaint, "complaintId", &complaint_id)?;
        Ok(Note(service::add_note(ctx.services()?, ctx.request()?, id, &body, visibility).await?))
    }

    /// Links complaints: the first is the primary, the others are linked to it.
    async fn link_complaints(&self, ctx: &Context<'_>, ids: Vec<ID>, kind: LinkKind) -> AppResult<Vec<Complaint>> {
        let ids = ids.iter().map(|id| crate::ids::decode(Kind::Complaint, "ids", id)).collect::<AppResult<Vec<_>>>()?;
        let (services, request) = (ctx.services()?, ctx.request()?);
        services.guards.links.take(request.actor()?.user_id, 1)?;
        let linked = service::link(services, request, &ids, kind).await?;
        Complaint::hand_out_all(ctx, linked).await
    }

    /// Sets or clears the complaint's flags.
    async fn set_flags(&self, ctx: &Context<'_>, id: ID, expected_version: i32, input: FlagsInput) -> AppResult<Complaint> {
        let id = complaint_id(&id)?;
        Complaint::hand_out(ctx, service::set_flags(ctx.services()?, ctx.request()?, id, expected_version, input).await?).await
    }
}

