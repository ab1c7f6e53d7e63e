//! Use cases. Each public function follows one shape: authorize (policy) →
//! validate → one transaction that applies the change and appends its audit
//! event ([`UnitOfWork`]). Resolvers and CLI commands call these; nothing else
//! touches the database for writes.

pub mod audit;
pub mod auth;
pub mod auth_cache;
pub mod complaints;
pub mod customers;
pub mod demo;
pub mod escalations;
pub mod evidence;
pub mod guards;
pub mod passwords;
pub mod read_log;
pub mod report;
pub mod role_grants;
pub mod rows;
pub mod sla;
pub mod stats;
pub mod users;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::{
    audit::{NewEvent, Origin},
    auth::{Actor, jwt::JwtKeys},
    config::Settings,
    error::{AppError, AppResult},
    events::{BusEvent, EventBus},
};

/// Shared handles of the running service; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
    pub login_limiter: Arc<auth::LoginLimiter>,
    pub bus: EventBus,
    /// Signs audit checkpoints and knows the anchor directory.
    pub checkpoints: Arc<audit::CheckpointWriter>,
    /// Where evidence files are kept.
    pub evidence: Arc<dyn crate::storage::EvidenceStore>,
    /// Per-user quotas, blob checks and download-audit windows (issue 11).
    pub guards: Arc<guards::Guards>,
    /// Verified callers, reused until a change evicts them (PostgreSQL).
    pub auth_cache: Arc<auth_cache::AuthCache>,
    /// Audited reads, committed together ([`read_log`]).
    pub read_log: Arc<read_log::ReadLog>,
}

impl Services {
    /// Fails only when the evidence store is misconfigured.
    pub fn new(db: DatabaseConnection, settings: Arc<Settings>) -> anyhow::Result<Services> {
        let jwt = Arc::new(JwtKeys::new(settings.jwt_secret.expose().as_bytes(), settings.access_token_ttl));
        let login_limiter = Arc::new(auth::LoginLimiter::new(&settings));
        let bus = EventBus::new(sea_orm::ConnectionTrait::get_database_backend(&db));
        let checkpoints = Arc::new(audit::CheckpointWriter {
            mac_key: settings.audit_mac_key(),
            ..audit::CheckpointWriter::new(settings.audit_signing_key.clone(), settings.audit_anchor_dir.clone())
        });
        let evidence = crate::storage::from_settings(&settings)?;
        let guards = Arc::new(guards::Guards::new(&settings.edge));
        let auth_cache = Arc::new(auth_cache::AuthCache::new(settings.auth_cache_ttl));
        let read_log = Arc::new(read_log::ReadLog::new(db.clone(), checkpoints.mac_key.clone()));
        Ok(Services { db, settings, jwt, login_limiter, bus, checkpoints, evidence, guards, auth_cache, read_log })
    }
}

/// Facts about the request being served: who, which request, from where.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub actor: Option<Actor>,
    /// The sign-in session (refresh-token family) of the caller's access token.
    pub session: Option<uuid::Uuid>,
    /// Why a bearer token was refused, reported when an operation needs a caller.
    pub auth_error: Option<AppError>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    /// Complaints whose read this request already audited (once per request, not per field).
    pub audited_reads: Arc<std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>>,
}

impl RequestContext {
    /// The signed-in caller, or `UNAUTHENTICATED`.
    pub fn actor(&self) -> AppResult<&Actor> {
        match (&self.actor, &self.auth_error) {
            (Some(actor), _) => Ok(actor),
            (None, Some(error)) => Err(error.clone()),
            (None, None) => Err(AppError::Unauthenticated("sign in first: send Authorization: Bearer <access token>")),
        }
    }

    /// The context of an operator's CLI command (no signed-in user).
    pub fn operator() -> RequestContext {
        RequestContext { client_addr: Some("cli".to_owned()), ..RequestContext::default() }
    }

    /// The context of background work such as the SLA monitor.
    pub fn system(component: &str) -> RequestContext {
        RequestContext { client_addr: Some(component.to_owned()), ..RequestContext::default() }
    }

    pub fn origin(&self) -> Origin {
        Origin {
            actor_id: self.actor.as_ref().map(|a| a.user_id),
            actor_role: self.actor.as_ref().map(|a| a.role.as_str()),
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
        }
    }
}

/// One transaction holding a change and its audit events. Commit refuses a unit
/// of work that recorded no event: no audit row, no change.
pub struct UnitOfWork {
    txn: DatabaseTransaction,
    origin: Origin,
    mac_key: crate::audit::MacKey,
    events: usize,
    bus: EventBus,
    notifications: Vec<BusEvent>,
    auth_cache: Arc<auth_cache::AuthCache>,
    /// Who may sign in differently once this commits (see [`Identities`]).
    identities: Identities,
}

/// Callers whose cached sign-in a unit of work may change: the users of the
/// user chains it wrote to, or everyone once it touched a team, the security
/// or the system chain. Complaint and group chains change nobody's sign-in.
#[derive(Default)]
enum Identities {
    #[default]
    None,
    Users(Vec<uuid::Uuid>),
    All,
}

impl Identities {
    fn touched(&mut self, chain: &str) {
        if ["complaint:", "complaint-access:", "group:"].iter().any(|prefix| chain.starts_with(prefix)) {
            return;
        }
        match (chain.strip_prefix("user:").and_then(|id| id.parse().ok()), &mut *self) {
            (Some(user), Identities::None) => *self = Identities::Users(vec![user]),
            (Some(user), Identities::Users(users)) => users.push(user),
            (Some(_), Identities::All) => {}
            (None, _) => *self = Identities::All,
        }
    }

    fn evict(self, cache: &auth_cache::AuthCache) {
        match self {
            Identities::None => {}
            Identities::Users(users) => users.into_iter().for_each(|user| cache.evict_user(user)),
            Identities::All => cache.clear(),
        }
    }
}

impl UnitOfWork {
    /// Opens a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue instead of failing.
    pub async fn begin(services: &Services, ctx: &RequestContext) -> AppResult<UnitOfWork> {
        let txn = crate::db::begin_write(&services.db).await?;
        Ok(UnitOfWork {
            txn,
            origin: ctx.origin(),
            mac_key: services.checkpoints.mac_key.clone(),
            events: 0,
            bus: services.bus.clone(),
            notifications: Vec::new(),
            auth_cache: services.auth_cache.clone(),
            identities: Identities::None,
        })
    }

    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Appends an audit event to its chain within this transaction. Changes of
    /// a complaint are also announced to subscribers once committed.
    pub async fn record(&mut self, event: NewEvent) -> AppResult<entity::audit_event::Model> {
        let event = crate::audit::append(&self.txn, &self.origin, &self.mac_key, event).await?;
        self.recorded(event)
    }

    /// [`UnitOfWork::record`] for the first event of a chain whose entity this
    /// transaction creates (one statement fewer; fails if the chain exists).
    pub async fn record_opening(&mut self, event: NewEvent) -> AppResult<entity::audit_event::Model> {
        let event = crate::audit::append_opening(&self.txn, &self.origin, &self.mac_key, event).await?;
        self.recorded(event)
    }

    fn recorded(&mut self, event: entity::audit_event::Model) -> AppResult<entity::audit_event::Model> {
        self.events += 1;
        self.identities.touched(&event.chain_key);
        if let (Some(complaint_id), false) = (event.complaint_id, event.chain_key.starts_with("complaint-access:")) {
            self.notifications.push(BusEvent {
                complaint_id,
                action: event.action.clone(),
                escalation_requested: None,
                at: event.occurred_at,
            });
        }
        Ok(event)
    }

    /// Marks the last recorded change as having raised an escalation request.
    pub fn escalation_raised(&mut self, escalation: uuid::Uuid) {
        if let Some(last) = self.notifications.last_mut() {
            last.escalation_requested = Some(escalation);
        }
    }

    pub async fn commit(self) -> AppResult<()> {
        if self.events == 0 {
            return Err(AppError::internal(anyhow::anyhow!("refusing to commit a change without an audit event")));
        }
        self.bus.publish_in(&self.txn, &self.notifications).await?;
        self.txn.commit().await?;
        // Before the answer leaves: the caller's next request must not meet
        // the old sign-in, even if the trigger's notification is still on its way.
        self.identities.evict(&self.auth_cache);
        self.bus.published(self.notifications);
        Ok(())
    }
}

/// The current time at the precision both databases store (microseconds), so
/// a value read back equals the value written — keyset cursors depend on it.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// Whether a database error is a unique-key violation (turned into a client
/// error at the persistence edge).
pub fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::{
        Identities,
        auth_cache::{AuthCache, Lookup},
    };

    fn cached(cache: &AuthCache, user: Uuid) -> bool {
        matches!(cache.lookup(&(user, 0, None)), Lookup::Hit(_))
    }

    /// What a committed unit of work evicts, by the chains it wrote to.
    #[test]
    fn a_commit_evicts_the_callers_its_chains_name() {
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let evicted = |chains: &[String]| {
            let cache = AuthCache::listening_for_tests(Duration::from_secs(60), &[alice, bob]);
            let mut identities = Identities::default();
            chains.iter().for_each(|chain| identities.touched(chain));
            identities.evict(&cache);
            (!cached(&cache, alice), !cached(&cache, bob))
        };
        let complaint = format!("complaint:{}", Uuid::now_v7());
        let access = format!("complaint-access:{}", Uuid::now_v7());
        let group = format!("group:{}", Uuid::now_v7());
        assert_eq!(evicted(&[complaint.clone(), access, group]), (false, false));
        assert_eq!(evicted(&[complaint.clone(), format!("user:{alice}")]), (true, false));
        assert_eq!(evicted(&[format!("user:{alice}"), format!("user:{bob}")]), (true, true));
        for everyone in ["security", "system", &format!("team:{}", Uuid::now_v7()), "user:not-a-uuid"] {
            assert_eq!(evicted(&[format!("user:{alice}"), everyone.to_owned()]), (true, true), "{everyone}");
        }
    }
}
