//! Authorization: the one place that answers "may this caller do this to this
//! object?" (DESIGN.md §2). Pure functions over an [`Actor`] and the facts of
//! the object; services call them as their first statement, and list queries
//! turn [`complaint_read_scope`] into SQL so lists and lookups agree.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::enums::{EscalationTrigger, Role};

/// The authenticated caller, as the database holds them now (read per request,
/// or reused until a change evicts it: `service::auth_cache`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
    pub team_id: Option<Uuid>,
    /// The compensation this user may grant without approval.
    pub authority_limit: Decimal,
    /// The currency of `authority_limit`; `None` is the configured authority currency.
    pub authority_currency: Option<String>,
}

impl Actor {
    /// The currency the actor's authority limit is expressed in.
    pub fn limit_currency<'a>(&'a self, authority: &'a Authority) -> &'a str {
        self.authority_currency.as_deref().unwrap_or(&authority.currency)
    }
}

/// The facts about a complaint that decide who may touch it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComplaintAccess {
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub sensitive: bool,
    pub legal_hold: bool,
    /// Teams with an open work item on the complaint: their members may read
    /// it (never work it) until the item is completed or declined.
    pub assisting_teams: Vec<Uuid>,
}

/// Which complaints a caller may read, in a form a query can apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadScope {
    /// Every complaint.
    All,
    /// None at all (administrators: separation of duties).
    Nothing,
    /// An agent: complaints assigned to them, plus their team's complaints that
    /// are neither sensitive nor on legal hold, plus those not on legal hold on
    /// which their team has an open work item (assisting).
    Agent { user_id: Uuid, team_id: Option<Uuid> },
}

/// What a caller's check answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The caller may see the object but not do this: `FORBIDDEN`.
    Deny,
    /// The caller may not even see the object: `NOT_FOUND`.
    Hide,
}

pub fn complaint_read_scope(actor: &Actor) -> ReadScope {
    match actor.role {
        Role::Supervisor | Role::Legal | Role::Auditor => ReadScope::All,
        Role::Admin => ReadScope::Nothing,
        Role::Agent => ReadScope::Agent { user_id: actor.user_id, team_id: actor.team_id },
    }
}

/// Statistics: over the complaints the caller may read (supervisors, legal and
/// auditors all; agents their own and their team's); administrators none.
pub fn stats_scope(actor: &Actor) -> Option<ReadScope> {
    match complaint_read_scope(actor) {
        ReadScope::Nothing => None,
        scope => Some(scope),
    }
}

pub fn can_read_complaint(actor: &Actor, complaint: &ComplaintAccess) -> bool {
    match complaint_read_scope(actor) {
        ReadScope::All => true,
        ReadScope::Nothing => false,
        ReadScope::Agent { user_id, team_id } => {
            !complaint.legal_hold
                && (complaint.assignee_id == Some(user_id)
                    || (!complaint.sensitive && team_id.is_some() && complaint.team_id == team_id)
                    || assists(team_id, complaint))
        }
    }
}

/// Whether `team` has an open work item on the complaint. A sensitive complaint
/// stays readable to the team asked to work on it (its reads are audited); a
/// legal hold ends it, as for the complaint's own agents.
fn assists(team: Option<Uuid>, complaint: &ComplaintAccess) -> bool {
    team.is_some_and(|team| complaint.assisting_teams.contains(&team))
}

/// Asking another team for work on a complaint: whoever may work the complaint.
pub fn request_work(actor: &Actor, complaint: &ComplaintAccess) -> Decision {
    work_complaint(actor, complaint)
}

/// Completing or declining a work item: members (agents and supervisors) of
/// the team it was asked of, while the complaint is not on legal hold.
pub fn act_on_work_item(actor: &Actor, item_team: Uuid, complaint: &ComplaintAccess) -> Decision {
    if !can_read_complaint(actor, complaint) {
        return Decision::Hide;
    }
    let member = matches!(actor.role, Role::Agent | Role::Supervisor) && actor.team_id == Some(item_team);
    if member && !complaint.legal_hold { Decision::Allow } else { Decision::Deny }
}

/// Whose open work items `workQueue` lists: the caller's team (agents and supervisors).
pub fn work_queue_team(actor: &Actor) -> Option<Uuid> {
    match actor.role {
        Role::Agent | Role::Supervisor => actor.team_id,
        Role::Legal | Role::Auditor | Role::Admin => None,
    }
}

/// Notes, evidence, findings and status changes.
pub fn work_complaint(actor: &Actor, complaint: &ComplaintAccess) -> Decision {
    if !can_read_complaint(actor, complaint) {
        return Decision::Hide;
    }
    let allowed = match actor.role {
        // Assigned to them, or unassigned in their team's queue (so they can pick it up).
        Role::Agent => {
            !complaint.legal_hold
                && (complaint.assignee_id == Some(actor.user_id)
                    || (complaint.assignee_id.is_none() && complaint.team_id == actor.team_id))
        }
        Role::Supervisor => !complaint.legal_hold,
        Role::Legal => complaint.legal_hold,
        Role::Auditor | Role::Admin => false,
    };
    if allowed { Decision::Allow } else { Decision::Deny }
}

/// Uploading evidence is working the complaint.
pub fn upload_evidence(actor: &Actor, complaint: &ComplaintAccess) -> Decision {
    work_complaint(actor, complaint)
}

/// Downloading evidence: whoever may read the complaint (others must not learn it exists).
pub fn read_evidence(actor: &Actor, complaint: &ComplaintAccess) -> bool {
    can_read_complaint(actor, complaint)
}

/// Deleting evidence: supervisors only, and never while the complaint is under
/// legal hold (nothing may be deleted then, not even by legal).
pub fn delete_evidence(actor: &Actor, complaint: &ComplaintAccess) -> Decision {
    if !can_read_complaint(actor, complaint) {
        return Decision::Hide;
    }
    if actor.role == Role::Supervisor && !complaint.legal_hold { Decision::Allow } else { Decision::Deny }
}

/// Assigning a complaint: whoever may work it; an agent only within their own team.
pub fn assign_complaint(actor: &Actor, complaint: &ComplaintAccess, to_team: Option<Uuid>) -> Decision {
    match work_complaint(actor, complaint) {
        Decision::Allow if actor.role == Role::Agent && to_team != actor.team_id => Decision::Deny,
        decision => decision,
    }
}

pub fn can_create_complaint(actor: &Actor) -> bool {
    matches!(actor.role, Role::Agent | Role::Supervisor)
}

/// Marking a complaint sensitive (or clearing it): agents may only ask.
pub fn mark_sensitive(actor: &Actor, complaint: &ComplaintAccess) -> Decision {
    match work_complaint(actor, complaint) {
        Decision::Allow if actor.role == Role::Agent => Decision::Deny,
        decision => decision,
    }
}

/// The currency authority limits are expressed in, and the rates that convert
/// other currencies into it (`CASEWORK_AUTHORITY_CURRENCY`, `CASEWORK_FX_RATES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authority {
    pub currency: String,
    /// Units of `currency` per unit of the keyed currency (`GBP` → 9.12).
    pub rates: std::collections::HashMap<String, Decimal>,
}

impl Authority {
    /// `amount` of `currency` in the authority currency; `None` without a rate.
    pub fn convert(&self, amount: Decimal, currency: &str) -> Option<Decimal> {
        if currency.eq_ignore_ascii_case(&self.currency) {
            return Some(amount);
        }
        self.rates.get(&currency.to_ascii_uppercase()).and_then(|rate| amount.checked_mul(*rate))
    }
}

/// Whether a compensation is within the actor's authority (else it needs
/// someone else's approval). An amount in a currency without a configured
/// rate is never within authority: less control is never the fallback.
///
/// A per-user limit in its own currency is compared directly with an amount in
/// that currency; otherwise both sides are converted into the authority currency.
pub fn within_authority(actor: &Actor, amount: Decimal, currency: &str, authority: &Authority) -> bool {
    let limit_currency = actor.limit_currency(authority);
    if currency.eq_ignore_ascii_case(limit_currency) {
        return amount <= actor.authority_limit;
    }
    match (authority.convert(amount, currency), authority.convert(actor.authority_limit, limit_currency)) {
        (Some(amount), Some(limit)) => amount <= limit,
        _ => false,
    }
}

pub fn can_propose_compensation(actor: &Actor) -> bool {
    matches!(actor.role, Role::Agent | Role::Supervisor)
}

/// Customer phone and email are masked for roles that do not need them on
/// sensitive and legal-hold cases.
pub fn sees_customer_contact(actor: &Actor, complaint: &ComplaintAccess) -> bool {
    !(actor.role == Role::Auditor && (complaint.sensitive || complaint.legal_hold))
}

/// Reads of these complaints are themselves audited.
pub fn reads_are_audited(complaint: &ComplaintAccess) -> bool {
    complaint.sensitive || complaint.legal_hold
}

/// Requesting an escalation: whoever may work the complaint.
pub fn request_escalation(actor: &Actor, complaint: &ComplaintAccess) -> Decision {
    work_complaint(actor, complaint)
}

/// Deciding an escalation: supervisors decide all but legal referrals, which
/// the legal team decides; nobody decides their own request.
pub fn decide_escalation(
    actor: &Actor,
    trigger: EscalationTrigger,
    requested_by: Option<Uuid>,
    complaint: &ComplaintAccess,
) -> Decision {
    if !can_read_complaint(actor, complaint) {
        return Decision::Hide;
    }
    let may_decide = match trigger {
        EscalationTrigger::Legal => actor.role == Role::Legal,
        _ => actor.role == Role::Supervisor && !complaint.legal_hold,
    };
    if may_decide && requested_by != Some(actor.user_id) { Decision::Allow } else { Decision::Deny }
}

/// What a referral to legal does when this caller makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Referral {
    /// Supervisors and legal place the complaint under legal hold at once.
    Hold,
    /// Agents may only ask; legal's approval places the hold.
    Request,
}

pub fn refer_to_legal(actor: &Actor, complaint: &ComplaintAccess) -> Result<Referral, Decision> {
    if !can_read_complaint(actor, complaint) {
        return Err(Decision::Hide);
    }
    match actor.role {
        Role::Supervisor | Role::Legal => Ok(Referral::Hold),
        Role::Agent if work_complaint(actor, complaint) == Decision::Allow => Ok(Referral::Request),
        _ => Err(Decision::Deny),
    }
}

/// Which pending requests appear in a caller's approval queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueScope {
    /// Supervisors: every request but legal referrals.
    AllButLegal,
    /// Legal: legal referrals.
    LegalOnly,
}

pub fn escalation_queue(actor: &Actor) -> Option<QueueScope> {
    match actor.role {
        Role::Supervisor => Some(QueueScope::AllButLegal),
        Role::Legal => Some(QueueScope::LegalOnly),
        _ => None,
    }
}

/// Group complaints a caller may see: supervisors, legal and auditors all;
/// an agent those their team leads and those with a member the agent may read
/// (`has_readable_member`); administrators none (they read no case content).
pub fn can_read_group(actor: &Actor, lead_team: Uuid, has_readable_member: bool) -> bool {
    match complaint_read_scope(actor) {
        ReadScope::All => true,
        ReadScope::Nothing => false,
        ReadScope::Agent { team_id, .. } => team_id == Some(lead_team) || has_readable_member,
    }
}

/// Creating a group complaint led by `lead_team`, and running it (members,
/// group updates, closing): supervisors for any lead team, agents for groups
/// their own team leads. Legal, auditors and administrators run no groups.
/// Adding or removing a member is also a change of that complaint, so the
/// caller must in addition be allowed to work it ([`work_complaint`]).
pub fn manage_group(actor: &Actor, lead_team: Uuid) -> Decision {
    match actor.role {
        Role::Supervisor => Decision::Allow,
        Role::Agent if actor.team_id == Some(lead_team) => Decision::Allow,
        _ => Decision::Deny,
    }
}

/// Whether a group update posted by whoever may run the group reaches this
/// member: every open member but those under legal hold (only legal works them).
pub fn group_update_reaches(member: &ComplaintAccess) -> bool {
    !member.legal_hold
}

pub fn can_read_audit_trail(actor: &Actor) -> bool {
    matches!(actor.role, Role::Supervisor | Role::Legal | Role::Auditor)
}

pub fn can_verify_audit_trail(actor: &Actor) -> bool {
    matches!(actor.role, Role::Legal | Role::Auditor | Role::Admin)
}

/// Which audit events a caller may read, in a form a query can apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditScope {
    /// Every event (legal, auditors).
    All,
    /// A supervisor: the events of their team's complaints (and of those their
    /// team assists with an open work item), and the events they caused
    /// themselves. Not other users' sessions or administration.
    Team { user_id: Uuid, team_id: Option<Uuid> },
    Nothing,
}

pub fn audit_read_scope(actor: &Actor) -> AuditScope {
    match actor.role {
        Role::Legal | Role::Auditor => AuditScope::All,
        Role::Supervisor => AuditScope::Team { user_id: actor.user_id, team_id: actor.team_id },
        Role::Agent | Role::Admin => AuditScope::Nothing,
    }
}

/// Checkpoints carry no case content: whoever reads or verifies the trail may list them.
pub fn can_read_checkpoints(actor: &Actor) -> bool {
    can_read_audit_trail(actor) || can_verify_audit_trail(actor)
}

/// Whether the customer's personal data recorded in an audit event's changes
/// is shown, given how sensitive the complaint was when the event happened.
/// The same rule as the complaint's own customer contact.
pub fn sees_audited_personal_data(actor: &Actor, sensitive: bool, legal_hold: bool) -> bool {
    sees_customer_contact(actor, &ComplaintAccess { sensitive, legal_hold, ..ComplaintAccess::default() })
}

/// Users, teams and SLA policies.
pub fn can_administer(actor: &Actor) -> bool {
    actor.role == Role::Admin
}

/// Whether changing a user's role from `from` to `to` takes a second
/// administrator's approval: any move into a role that reads case content or
/// administers (SUPERVISOR, LEGAL, AUDITOR, ADMIN). Moving down to AGENT
/// applies at once.
pub fn role_change_needs_second_admin(from: Role, to: Role) -> bool {
    from != to && to != Role::Agent
}

/// Whether an authority limit change from `old` to `new` (amount, currency)
/// takes a second administrator's approval: a higher amount, or another
/// currency (not comparable without trusting a rate: never less control).
pub fn authority_change_needs_second_admin(old: (Decimal, &str), new: (Decimal, &str)) -> bool {
    !old.1.eq_ignore_ascii_case(new.1) || new.0 > old.0
}

/// Deciding a pending role grant: administrators only, never the one who
/// requested it, never the user it grants to.
pub fn decide_role_grant(actor: &Actor, requested_by: Uuid, grantee: Uuid) -> Decision {
    if actor.role != Role::Admin || actor.user_id == requested_by || actor.user_id == grantee {
        Decision::Deny
    } else {
        Decision::Allow
    }
}

/// What the caller may do to a complaint now: the permission matrix and the
/// lifecycle together, so clients show only the allowed actions and never
/// duplicate the rules. Each flag is exactly "the mutation would not be refused
/// as FORBIDDEN, NOT_FOUND or INVALID_TRANSITION" (its input may still fail validation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct ComplaintActions {
    /// `updateComplaint`: correct intake data.
    pub update: bool,
    /// `assignComplaint`.
    pub assign: bool,
    /// `acknowledgeComplaint` (NEW).
    pub acknowledge: bool,
    /// `recordFinding` (ACKNOWLEDGED, INVESTIGATING, REOPENED).
    pub record_finding: bool,
    /// `proposeResolution` (INVESTIGATING; above the caller's authority it waits for approval).
    pub propose_resolution: bool,
    /// `recordCustomerDecision` (RESOLUTION_PROPOSED).
    pub record_customer_decision: bool,
    /// `resolveComplaint` (CUSTOMER_ACCEPTED).
    pub resolve: bool,
    /// `recordCallback` (RESOLVED).
    pub record_callback: bool,
    /// `postProgressUpdate` (while the complaint is open).
    pub post_progress_update: bool,
    /// `recordContact`.
    pub record_contact: bool,
    /// `resolveAtFirstContact` (NEW, ACKNOWLEDGED).
    pub resolve_at_first_contact: bool,
    /// `closeComplaint` with a reason.
    pub close: bool,
    /// `reopenComplaint` (RESOLVED, CLOSED).
    pub reopen: bool,
    /// `addNote`.
    pub add_note: bool,
    /// `uploadEvidence`.
    pub upload_evidence: bool,
    /// `deleteEvidence` (supervisors, never under legal hold).
    pub delete_evidence: bool,
    /// `setFlags` for vulnerableCustomer, mediaAttention, groupComplaint.
    pub set_flags: bool,
    /// `setFlags` with `sensitive` (supervisors and legal).
    pub mark_sensitive: bool,
    /// `requestEscalation`.
    pub request_escalation: bool,
    /// `referToLegal` (an agent's referral waits for legal).
    pub refer_to_legal: bool,
    /// `linkComplaints` with this complaint.
    pub link: bool,
    /// `requestWork` (asking another team; not on a closed complaint).
    pub request_work: bool,
}

/// [`ComplaintActions`] for `actor` on a complaint in `status`.
pub fn complaint_actions(
    actor: &Actor,
    complaint: &ComplaintAccess,
    status: super::lifecycle::ComplaintStatus,
) -> ComplaintActions {
    use super::lifecycle::Transition;
    let work = work_complaint(actor, complaint) == Decision::Allow;
    let step = |t: Transition| work && status.apply(t).is_ok();
    ComplaintActions {
        update: work,
        assign: work,
        acknowledge: step(Transition::Acknowledge),
        record_finding: step(Transition::RecordFinding),
        propose_resolution: can_propose_compensation(actor) && step(Transition::Propose),
        record_customer_decision: step(Transition::CustomerAccepts),
        resolve: step(Transition::Resolve),
        record_callback: step(Transition::CallbackSatisfied),
        post_progress_update: work && status.is_open(),
        record_contact: work,
        resolve_at_first_contact: step(Transition::ResolveAtFirstContact),
        close: step(Transition::Close),
        reopen: step(Transition::Reopen),
        add_note: work,
        upload_evidence: upload_evidence(actor, complaint) == Decision::Allow,
        delete_evidence: delete_evidence(actor, complaint) == Decision::Allow,
        set_flags: work,
        mark_sensitive: mark_sensitive(actor, complaint) == Decision::Allow,
        request_escalation: request_escalation(actor, complaint) == Decision::Allow,
        refer_to_legal: refer_to_legal(actor, complaint).is_ok() && !complaint.legal_hold,
        link: work,
        request_work: request_work(actor, complaint) == Decision::Allow && status != super::lifecycle::ComplaintStatus::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Uuid = Uuid::from_u128(1);
    const SOMEONE: Uuid = Uuid::from_u128(2);
    const MY_TEAM: Uuid = Uuid::from_u128(10);
    const OTHER_TEAM: Uuid = Uuid::from_u128(11);

    fn actor(role: Role) -> Actor {
        Actor { user_id: ME, role, team_id: Some(MY_TEAM), authority_limit: Decimal::from(500), authority_currency: None }
    }

    fn complaint(team: Uuid, assignee: Option<Uuid>, sensitive: bool, legal_hold: bool) -> ComplaintAccess {
        ComplaintAccess { team_id: Some(team), assignee_id: assignee, sensitive, legal_hold, assisting_teams: Vec::new() }
    }

    /// (case, complaint) for the four situations of the permission matrix.
    fn situations() -> [(&'static str, ComplaintAccess); 6] {
        [
            ("own team, assigned to me", complaint(MY_TEAM, Some(ME), false, false)),
            ("own team, someone else's", complaint(MY_TEAM, Some(SOMEONE), false, false)),
            ("other team", complaint(OTHER_TEAM, Some(SOMEONE), false, false)),
            ("sensitive, assigned to me", complaint(OTHER_TEAM, Some(ME), true, false)),
            ("sensitive, own team", complaint(MY_TEAM, Some(SOMEONE), true, false)),
            ("legal hold, assigned to me", complaint(MY_TEAM, Some(ME), false, true)),
        ]
    }

    #[test]
    fn stats_scope_matrix() {
        for (role, expected) in [
            (Role::Supervisor, Some(ReadScope::All)),
            (Role::Legal, Some(ReadScope::All)),
            (Role::Auditor, Some(ReadScope::All)),
            (Role::Agent, Some(ReadScope::Agent { user_id: ME, team_id: Some(MY_TEAM) })),
            (Role::Admin, None),
        ] {
            assert_eq!(stats_scope(&actor(role)), expected, "{role:?}");
        }
    }

    #[test]
    fn read_matrix() {
        // Expected reads per situation, in the order of `situations()`.
        let expected: &[(Role, [bool; 6])] = &[
            (Role::Agent, [true, true, false, true, false, false]),
            (Role::Supervisor, [true; 6]),
            (Role::Legal, [true; 6]),
            (Role::Auditor, [true; 6]),
            (Role::Admin, [false; 6]),
        ];
        for (role, reads) in expected {
            for ((case, c), read) in situations().iter().zip(reads) {
                assert_eq!(can_read_complaint(&actor(*role), c), *read, "{role} reading {case}");
            }
        }
    }

    #[test]
    fn work_matrix() {
        use Decision::*;
        let expected: &[(Role, [Decision; 6])] = &[
            (Role::Agent, [Allow, Deny, Hide, Allow, Hide, Hide]),
            (Role::Supervisor, [Allow, Allow, Allow, Allow, Allow, Deny]),
            (Role::Legal, [Deny, Deny, Deny, Deny, Deny, Allow]),
            (Role::Auditor, [Deny; 6]),
            (Role::Admin, [Hide; 6]),
        ];
        for (role, decisions) in expected {
            for ((case, c), decision) in situations().iter().zip(decisions) {
                assert_eq!(work_complaint(&actor(*role), c), *decision, "{role} working {case}");
            }
        }
    }

    #[test]
    fn evidence_matrix() {
        use Decision::*;
        // Deletion, per situation of `situations()`: supervisors only, never under legal hold.
        let expected: &[(Role, [Decision; 6])] = &[
            (Role::Agent, [Deny, Deny, Hide, Deny, Hide, Hide]),
            (Role::Supervisor, [Allow, Allow, Allow, Allow, Allow, Deny]),
            (Role::Legal, [Deny; 6]),
            (Role::Auditor, [Deny; 6]),
            (Role::Admin, [Hide; 6]),
        ];
        for (role, decisions) in expected {
            for ((case, c), decision) in situations().iter().zip(decisions) {
                assert_eq!(delete_evidence(&actor(*role), c), *decision, "{role} deleting evidence of {case}");
                assert_eq!(upload_evidence(&actor(*role), c), work_complaint(&actor(*role), c), "{role} uploading to {case}");
                assert_eq!(read_evidence(&actor(*role), c), can_read_complaint(&actor(*role), c), "{role} downloading from {case}");
            }
        }
    }

    #[test]
    fn an_agent_may_pick_up_an_unassigned_complaint_of_their_team() {
        let queue = complaint(MY_TEAM, None, false, false);
        assert_eq!(work_complaint(&actor(Role::Agent), &queue), Decision::Allow);
        let elsewhere = complaint(OTHER_TEAM, None, false, false);
        assert_eq!(work_complaint(&actor(Role::Agent), &elsewhere), Decision::Hide);
    }

    #[test]
    fn agents_assign_only_within_their_team() {
        let mine = complaint(MY_TEAM, Some(ME), false, false);
        assert_eq!(assign_complaint(&actor(Role::Agent), &mine, Some(MY_TEAM)), Decision::Allow);
        assert_eq!(assign_complaint(&actor(Role::Agent), &mine, Some(OTHER_TEAM)), Decision::Deny);
        assert_eq!(assign_complaint(&actor(Role::Supervisor), &mine, Some(OTHER_TEAM)), Decision::Allow);
    }

    #[test]
    fn agents_may_only_request_the_sensitive_mark() {
        let mine = complaint(MY_TEAM, Some(ME), false, false);
        assert_eq!(mark_sensitive(&actor(Role::Agent), &mine), Decision::Deny);
        assert_eq!(mark_sensitive(&actor(Role::Supervisor), &mine), Decision::Allow);
    }

    #[test]
    fn who_creates_and_who_audits() {
        let creates = [(Role::Agent, true), (Role::Supervisor, true), (Role::Legal, false), (Role::Auditor, false), (Role::Admin, false)];
        for (role, allowed) in creates {
            assert_eq!(can_create_complaint(&actor(role)), allowed, "{role} creating");
        }
        let reads_audit = [(Role::Agent, false), (Role::Supervisor, true), (Role::Legal, true), (Role::Auditor, true), (Role::Admin, false)];
        for (role, allowed) in reads_audit {
            assert_eq!(can_read_audit_trail(&actor(role)), allowed, "{role} reading the audit trail");
        }
        let verifies = [(Role::Agent, false), (Role::Supervisor, false), (Role::Legal, true), (Role::Auditor, true), (Role::Admin, true)];
        for (role, allowed) in verifies {
            assert_eq!(can_verify_audit_trail(&actor(role)), allowed, "{role} verifying");
        }
        for role in Role::ALL {
            assert_eq!(can_administer(&actor(*role)), *role == Role::Admin);
        }
    }

    #[test]
    fn escalations_are_decided_by_someone_else_of_the_right_role() {
        use EscalationTrigger::*;
        let open = complaint(MY_TEAM, Some(SOMEONE), false, false);
        let held = complaint(MY_TEAM, Some(SOMEONE), false, true);
        let supervisor = actor(Role::Supervisor);
        assert_eq!(decide_escalation(&supervisor, CustomerRequest, Some(SOMEONE), &open), Decision::Allow);
        assert_eq!(decide_escalation(&supervisor, CustomerRequest, Some(ME), &open), Decision::Deny, "own request");
        assert_eq!(decide_escalation(&supervisor, Overdue, None, &open), Decision::Allow, "system request");
        assert_eq!(decide_escalation(&supervisor, Legal, Some(SOMEONE), &open), Decision::Deny);
        assert_eq!(decide_escalation(&actor(Role::Legal), Legal, Some(SOMEONE), &held), Decision::Allow);
        assert_eq!(decide_escalation(&actor(Role::Legal), Technical, Some(SOMEONE), &open), Decision::Deny);
        assert_eq!(decide_escalation(&actor(Role::Agent), Technical, Some(SOMEONE), &open), Decision::Deny);
        assert_eq!(decide_escalation(&actor(Role::Admin), Technical, Some(SOMEONE), &open), Decision::Hide);
        assert_eq!(decide_escalation(&actor(Role::Auditor), Technical, Some(SOMEONE), &open), Decision::Deny);
    }

    #[test]
    fn agents_ask_for_legal_others_place_the_hold() {
        let mine = complaint(MY_TEAM, Some(ME), false, false);
        assert_eq!(refer_to_legal(&actor(Role::Agent), &mine), Ok(Referral::Request));
        assert_eq!(refer_to_legal(&actor(Role::Supervisor), &mine), Ok(Referral::Hold));
        assert_eq!(refer_to_legal(&actor(Role::Legal), &mine), Ok(Referral::Hold));
        assert_eq!(refer_to_legal(&actor(Role::Auditor), &mine), Err(Decision::Deny));
        assert_eq!(refer_to_legal(&actor(Role::Admin), &mine), Err(Decision::Hide));
        assert_eq!(escalation_queue(&actor(Role::Agent)), None);
        assert_eq!(escalation_queue(&actor(Role::Legal)), Some(QueueScope::LegalOnly));
    }

    #[test]
    fn groups_are_run_by_supervisors_and_the_lead_team() {
        let lead = Uuid::now_v7();
        let other = Uuid::now_v7();
        let agent_of = |team| Actor { team_id: Some(team), ..actor(Role::Agent) };
        assert_eq!(manage_group(&actor(Role::Supervisor), lead), Decision::Allow);
        assert_eq!(manage_group(&agent_of(lead), lead), Decision::Allow);
        assert_eq!(manage_group(&agent_of(other), lead), Decision::Deny);
        for role in [Role::Legal, Role::Auditor, Role::Admin] {
            assert_eq!(manage_group(&actor(role), lead), Decision::Deny, "{role:?}");
        }
        // Reading: the lead team, or through a member the agent may read.
        assert!(can_read_group(&agent_of(lead), lead, false));
        assert!(!can_read_group(&agent_of(other), lead, false));
        assert!(can_read_group(&agent_of(other), lead, true));
        assert!(can_read_group(&actor(Role::Auditor), lead, false));
        assert!(!can_read_group(&actor(Role::Admin), lead, true));
        // Group updates skip members under legal hold.
        assert!(group_update_reaches(&complaint(lead, None, true, false)));
        assert!(!group_update_reaches(&complaint(lead, None, false, true)));
    }

    #[test]
    fn audit_scopes_and_masking() {
        let scopes = [
            (Role::Agent, AuditScope::Nothing),
            (Role::Supervisor, AuditScope::Team { user_id: ME, team_id: Some(MY_TEAM) }),
            (Role::Legal, AuditScope::All),
            (Role::Auditor, AuditScope::All),
            (Role::Admin, AuditScope::Nothing),
        ];
        for (role, scope) in scopes {
            assert_eq!(audit_read_scope(&actor(role)), scope, "{role} reading audit events");
        }
        let checkpoints = [(Role::Agent, false), (Role::Supervisor, true), (Role::Legal, true), (Role::Auditor, true), (Role::Admin, true)];
        for (role, allowed) in checkpoints {
            assert_eq!(can_read_checkpoints(&actor(role)), allowed, "{role} listing checkpoints");
        }
        // (sensitive, legal hold) -> auditor sees personal data?
        for ((sensitive, hold), sees) in [((false, false), true), ((true, false), false), ((false, true), false)] {
            assert_eq!(sees_audited_personal_data(&actor(Role::Auditor), sensitive, hold), sees);
            assert!(sees_audited_personal_data(&actor(Role::Legal), sensitive, hold));
        }
    }

    #[test]
    fn authority_converts_currencies_and_refuses_unknown_ones() {
        let agent = actor(Role::Agent);
        let authority = Authority {
            currency: "CNY".into(),
            rates: [("GBP".to_owned(), Decimal::new(912, 2))].into_iter().collect(),
        };
        assert!(within_authority(&agent, Decimal::from(500), "CNY", &authority));
        assert!(!within_authority(&agent, Decimal::from(500), "GBP", &authority), "500 GBP ≈ 4560 CNY");
        assert!(within_authority(&agent, Decimal::from(50), "gbp", &authority), "50 GBP ≈ 456 CNY");
        assert!(!within_authority(&agent, Decimal::from(1), "USD", &authority), "no rate: approval");
    }

    #[test]
    fn authority_limits_are_inclusive() {
        let agent = actor(Role::Agent);
        let authority = Authority { currency: "CNY".into(), ..Authority::default() };
        assert!(within_authority(&agent, Decimal::from(500), "CNY", &authority));
        assert!(!within_authority(&agent, Decimal::new(50001, 2), "CNY", &authority));
    }

    #[test]
    fn auditors_see_masked_contacts_on_sensitive_cases() {
        let sensitive = complaint(MY_TEAM, None, true, false);
        assert!(!sees_customer_contact(&actor(Role::Auditor), &sensitive));
        assert!(sees_customer_contact(&actor(Role::Supervisor), &sensitive));
        assert!(sees_customer_contact(&actor(Role::Auditor), &complaint(MY_TEAM, None, false, false)));
    }
    #[test]
    fn viewer_can_follows_policy_and_lifecycle() {
        use super::super::lifecycle::ComplaintStatus;
        let mine = complaint(MY_TEAM, Some(ME), false, false);
        let agent = actor(Role::Agent);
        let new = complaint_actions(&agent, &mine, ComplaintStatus::New);
        assert!(new.acknowledge && new.add_note && new.upload_evidence && new.close);
        assert!(!new.record_finding && !new.propose_resolution && !new.resolve && !new.reopen);
        assert!(!new.mark_sensitive && !new.delete_evidence, "agents only ask");
        assert!(new.post_progress_update && new.record_contact && new.resolve_at_first_contact);
        let investigating = complaint_actions(&agent, &mine, ComplaintStatus::Investigating);
        assert!(investigating.propose_resolution && investigating.record_finding && !investigating.acknowledge);
        let pending = complaint_actions(&agent, &mine, ComplaintStatus::PendingApproval);
        assert!(!pending.propose_resolution && !pending.close && !pending.record_customer_decision);
        assert!(complaint_actions(&agent, &mine, ComplaintStatus::Closed).reopen);
        let resolved = complaint_actions(&agent, &mine, ComplaintStatus::Resolved);
        assert!(resolved.record_callback && resolved.record_contact);
        assert!(!resolved.post_progress_update && !resolved.resolve_at_first_contact, "no updates once resolved");
        assert!(!investigating.resolve_at_first_contact, "only at the first contact");
        // Someone else's complaint in my team: readable, not workable.
        let theirs = complaint(MY_TEAM, Some(SOMEONE), false, false);
        assert_eq!(complaint_actions(&agent, &theirs, ComplaintStatus::New), ComplaintActions::default());
        // Auditors and admins do nothing; legal works only legal-hold cases.
        for role in [Role::Auditor, Role::Admin] {
            assert_eq!(complaint_actions(&actor(role), &mine, ComplaintStatus::New), ComplaintActions::default());
        }
        let held = complaint(MY_TEAM, Some(ME), false, true);
        assert_eq!(complaint_actions(&agent, &held, ComplaintStatus::Investigating), ComplaintActions::default());
        let legal = complaint_actions(&actor(Role::Legal), &held, ComplaintStatus::Investigating);
        assert!(legal.record_finding && !legal.propose_resolution && !legal.delete_evidence && !legal.refer_to_legal);
        let supervisor = complaint_actions(&actor(Role::Supervisor), &theirs, ComplaintStatus::New);
        assert!(supervisor.acknowledge && supervisor.mark_sensitive && supervisor.delete_evidence && supervisor.refer_to_legal);
    }

    #[test]
    fn privilege_grants_take_a_second_admin() {
        for to in [Role::Supervisor, Role::Legal, Role::Auditor, Role::Admin] {
            assert!(role_change_needs_second_admin(Role::Agent, to), "{to:?}");
        }
        assert!(role_change_needs_second_admin(Role::Supervisor, Role::Admin));
        assert!(!role_change_needs_second_admin(Role::Supervisor, Role::Agent));
        assert!(!role_change_needs_second_admin(Role::Admin, Role::Admin));
        let d = |n: i64| Decimal::from(n);
        assert!(authority_change_needs_second_admin((d(500), "CNY"), (d(501), "CNY")));
        assert!(authority_change_needs_second_admin((d(500), "CNY"), (d(100), "GBP")));
        assert!(!authority_change_needs_second_admin((d(500), "CNY"), (d(100), "cny")));
        let admin = actor(Role::Admin);
        let other = Uuid::from_u128(99);
        assert_eq!(decide_role_grant(&admin, other, Uuid::from_u128(98)), Decision::Allow);
        assert_eq!(decide_role_grant(&admin, ME, Uuid::from_u128(98)), Decision::Deny);
        assert_eq!(decide_role_grant(&admin, other, ME), Decision::Deny);
        assert_eq!(decide_role_grant(&actor(Role::Supervisor), other, Uuid::from_u128(98)), Decision::Deny);
    }

    #[test]
    fn a_per_user_limit_is_judged_in_its_own_currency() {
        let authority = Authority {
            currency: "CNY".into(),
            rates: [("GBP".to_owned(), Decimal::from(9))].into_iter().collect(),
        };
        let gbp = Actor { authority_currency: Some("GBP".into()), ..actor(Role::Agent) }; // 500 GBP ≈ 4500 CNY
        assert!(within_authority(&gbp, Decimal::from(500), "GBP", &authority));
        assert!(within_authority(&gbp, Decimal::from(4000), "CNY", &authority));
        assert!(!within_authority(&gbp, Decimal::from(4600), "CNY", &authority));
        assert!(!within_authority(&gbp, Decimal::from(10), "USD", &authority), "no USD rate: approval");
        let eur = Actor { authority_currency: Some("EUR".into()), ..actor(Role::Agent) };
        assert!(!within_authority(&eur, Decimal::from(1), "CNY", &authority), "no EUR rate: approval");
        assert!(within_authority(&eur, Decimal::from(500), "EUR", &authority));
    }

    #[test]
    fn an_assisting_team_reads_while_the_item_is_open_but_never_works() {
        use Decision::*;
        let assisted = |sensitive: bool, legal_hold: bool, teams: Vec<Uuid>| ComplaintAccess {
            assisting_teams: teams,
            ..complaint(OTHER_TEAM, Some(SOMEONE), sensitive, legal_hold)
        };
        let agent = actor(Role::Agent);
        let open = assisted(false, false, vec![MY_TEAM]);
        assert!(can_read_complaint(&agent, &open));
        assert_eq!(work_complaint(&agent, &open), Deny, "reading is all an assisting member may do to the complaint");
        assert_eq!(complaint_actions(&agent, &open, super::super::lifecycle::ComplaintStatus::Investigating), ComplaintActions::default());
        assert_eq!(act_on_work_item(&agent, MY_TEAM, &open), Allow);
        assert_eq!(act_on_work_item(&agent, OTHER_TEAM, &open), Deny, "another team's item");
        assert!(can_read_complaint(&agent, &assisted(true, false, vec![MY_TEAM])), "sensitive: readable, reads audited");
        assert!(!can_read_complaint(&agent, &assisted(false, true, vec![MY_TEAM])), "legal hold ends it");
        // Completed or declined: the team is no longer listed, and sight is gone.
        let done = assisted(false, false, vec![]);
        assert!(!can_read_complaint(&agent, &done));
        assert_eq!(act_on_work_item(&agent, MY_TEAM, &done), Hide);
        let elsewhere = assisted(false, false, vec![Uuid::from_u128(99)]);
        assert!(!can_read_complaint(&agent, &elsewhere), "another team assists");
        let teamless = Actor { team_id: None, ..actor(Role::Agent) };
        assert!(!can_read_complaint(&teamless, &open));
        assert!(!can_read_complaint(&actor(Role::Admin), &open), "separation of duties holds");
        assert_eq!(act_on_work_item(&actor(Role::Auditor), MY_TEAM, &open), Deny);
        assert_eq!(act_on_work_item(&actor(Role::Supervisor), MY_TEAM, &open), Allow);
        assert_eq!(act_on_work_item(&actor(Role::Supervisor), MY_TEAM, &assisted(false, true, vec![MY_TEAM])), Deny);
        assert_eq!(work_queue_team(&agent), Some(MY_TEAM));
        assert_eq!(work_queue_team(&actor(Role::Auditor)), None);
    }
}
