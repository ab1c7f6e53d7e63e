//! DataLoaders, one set per request: every nested field of a list is loaded in
//! one statement per kind, whatever the page size. List resolvers prime them
//! with all the keys of the page (`prime_*`), so batching never depends on timing.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use uuid::Uuid;

use crate::{
    error::AppError,
    service::{Services, complaints, escalations, evidence as evidence_service, rows::ColumnSet, users},
};
use entity::{app_user, complaint, complaint_group, complaint_link, customer, escalation, evidence, note, team};

macro_rules! by_id_loader {
    ($name:ident, $model:ty, $fetch:path) => {
        pub struct $name(Services);

        impl Loader<Uuid> for $name {
            type Value = $model;
            type Error = AppError;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, $model>, AppError> {
                Ok($fetch(&self.0, keys).await?.into_iter().map(|m| (m.id, m)).collect())
            }
        }
    };
}

by_id_loader!(UserLoader, app_user::Model, users::users_by_ids);
by_id_loader!(TeamLoader, team::Model, users::teams_by_ids);
by_id_loader!(CustomerLoader, customer::Model, complaints::customers_by_ids);
by_id_loader!(ComplaintLoader, complaint::Model, complaints::complaints_by_ids);
by_id_loader!(GroupLoader, complaint_group::Model, complaints::groups::groups_by_ids);

/// Notes of each complaint, oldest first.
pub struct NotesLoader(Services);

impl Loader<Uuid> for NotesLoader {
    type Value = Vec<note::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<note::Model>>, AppError> {
        let mut grouped: HashMap<Uuid, Vec<note::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for note in complaints::notes_by_complaints(&self.0, keys).await? {
            grouped.entry(note.complaint_id).or_default().push(note);
        }
        Ok(grouped)
    }
}

/// Links touching each complaint, from either side.
pub struct LinksLoader(Services);

impl Loader<Uuid> for LinksLoader {
    type Value = Vec<complaint_link::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<complaint_link::Model>>, AppError> {
        let mut grouped: HashMap<Uuid, Vec<complaint_link::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for link in complaints::links_by_complaints(&self.0, keys).await? {
            for side in [link.complaint_id, link.linked_id] {
                if let Some(list) = grouped.get_mut(&side) {
                    list.push(link.clone());
                }
            }
        }
        Ok(grouped)
    }
}

/// Escalation requests of each complaint, oldest first.
pub struct EscalationsLoader(Services);

impl Loader<Uuid> for EscalationsLoader {
    type Value = Vec<escalation::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<escalation::Model>>, AppError> {
        let mut grouped: HashMap<Uuid, Vec<escalation::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for request in escalations::by_complaints(&self.0, keys).await? {
            grouped.entry(request.complaint_id).or_default().push(request);
        }
        Ok(grouped)
    }
}

/// The newest escalation request of each complaint (list pages fold it into
/// their own statement and feed it here).
pub struct LatestEscalationLoader(Services);

impl Loader<Uuid> for LatestEscalationLoader {
    type Value = Option<escalation::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Option<escalation::Model>>, AppError> {
        let mut latest: HashMap<Uuid, Option<escalation::Model>> = keys.iter().map(|k| (*k, None)).collect();
        // Oldest first: the last one seen per complaint is the newest.
        for request in escalations::by_complaints(&self.0, keys).await? {
            latest.insert(request.complaint_id, Some(request));
        }
        Ok(latest)
    }
}

/// Evidence of each complaint (deleted entries included), oldest first.
pub struct EvidenceLoader(Services);

impl Loader<Uuid> for EvidenceLoader {
    type Value = Vec<evidence::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<evidence::Model>>, AppError> {
        let mut grouped: HashMap<Uuid, Vec<evidence::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for item in evidence_service::by_complaints(&self.0, keys).await? {
            grouped.entry(item.complaint_id).or_default().push(item);
        }
        Ok(grouped)
    }
}

/// How many live pieces of evidence each complaint has (one grouped COUNT).
pub struct EvidenceCountLoader(Services);

impl Loader<Uuid> for EvidenceCountLoader {
    type Value = i64;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, i64>, AppError> {
        let mut counts: HashMap<Uuid, i64> = keys.iter().map(|k| (*k, 0)).collect();
        counts.extend(evidence_service::counts_by_complaints(&self.0, keys).await?);
        Ok(counts)
    }
}

type Cached<L> = DataLoader<L, HashMapCache>;

/// The loaders of one request.
pub struct Loaders {
    pub users: Cached<UserLoader>,
    pub teams: Cached<TeamLoader>,
    pub customers: Cached<CustomerLoader>,
    pub complaints: Cached<ComplaintLoader>,
    pub groups: Cached<GroupLoader>,
    pub notes: Cached<NotesLoader>,
    pub links: Cached<LinksLoader>,
    pub escalations: Cached<EscalationsLoader>,
    pub latest_escalations: Cached<LatestEscalationLoader>,
    pub evidence: Cached<EvidenceLoader>,
    pub evidence_counts: Cached<EvidenceCountLoader>,
    pub folded: Folded,
}

/// Neighbours that a page read in its own statement with only the columns
/// its selection needs (`projection`): a complaint page's customers and
/// assignees by their id and newest requests by their complaint's, an
/// escalation queue's complaints by id. A resolver takes one
/// only when it holds every column that resolver's own selection needs, and
/// asks the loader otherwise; partial rows never reach the shared loaders,
/// where another field of the request could read a column left out.
#[derive(Default)]
pub struct Folded {
    customers: Mutex<HashMap<Uuid, (ColumnSet, customer::Model)>>,
    users: Mutex<HashMap<Uuid, (ColumnSet, app_user::Model)>>,
    latest_escalations: Mutex<HashMap<Uuid, (ColumnSet, Option<escalation::Model>)>>,
    /// The complaints of an escalation queue page, by id.
    complaints: Mutex<HashMap<Uuid, (ColumnSet, complaint::Model)>>,
}

fn keep<T>(map: &Mutex<HashMap<Uuid, (ColumnSet, T)>>, rows: impl IntoIterator<Item = (Uuid, T)>, set: ColumnSet) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    for (id, row) in rows {
        // A wider row already there stays.
        if !map.get(&id).is_some_and(|(held, _)| held.covers(set)) {
            map.insert(id, (set, row));
        }
    }
}

fn take<T: Clone>(map: &Mutex<HashMap<Uuid, (ColumnSet, T)>>, id: Uuid, need: impl FnOnce() -> ColumnSet) -> Option<T> {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    let (held, row) = map.get(&id)?;
    held.covers(need()).then(|| row.clone())
}

impl Folded {
    pub fn keep_customers(&self, rows: Vec<(Uuid, customer::Model)>, set: ColumnSet) {
        keep(&self.customers, rows, set);
    }
    pub fn keep_users(&self, rows: Vec<(Uuid, app_user::Model)>, set: ColumnSet) {
        keep(&self.users, rows, set);
    }
    pub fn keep_latest_escalations(&self, rows: Vec<(Uuid, Option<escalation::Model>)>, set: ColumnSet) {
        keep(&self.latest_escalations, rows, set);
    }
    pub fn keep_complaints(&self, rows: Vec<(Uuid, complaint::Model)>, set: ColumnSet) {
        keep(&self.complaints, rows, set);
    }
    pub fn complaint(&self, id: Uuid, need: impl FnOnce() -> ColumnSet) -> Option<complaint::Model> {
        take(&self.complaints, id, need)
    }
    /// The customer `id`, if held with the columns `need` gives.
    pub fn customer(&self, id: Uuid, need: impl FnOnce() -> ColumnSet) -> Option<customer::Model> {
        take(&self.customers, id, need)
    }
    pub fn user(&self, id: Uuid, need: impl FnOnce() -> ColumnSet) -> Option<app_user::Model> {
        take(&self.users, id, need)
    }
    /// The newest request of the complaint `id` (`Some(None)`: it has none).
    pub fn latest_escalation(&self, id: Uuid, need: impl FnOnce() -> ColumnSet) -> Option<Option<escalation::Model>> {
        take(&self.latest_escalations, id, need)
    }
    fn clear(&self) {
        self.customers.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.users.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.latest_escalations.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.complaints.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

fn loader<L: Loader<Uuid>>(inner: L) -> Cached<L> {
    // The default 1 ms wait per hop is pure latency here: list resolvers prime
    // the loaders with whole pages.
    DataLoader::with_cache(inner, tokio::spawn, HashMapCache::default()).delay(Duration::ZERO)
}

impl Loaders {
    pub fn new(services: &Services) -> Loaders {
        Loaders {
            users: loader(UserLoader(services.clone())),
            teams: loader(TeamLoader(services.clone())),
            customers: loader(CustomerLoader(services.clone())),
            complaints: loader(ComplaintLoader(services.clone())),
            groups: loader(GroupLoader(services.clone())),
            notes: loader(NotesLoader(services.clone())),
            links: loader(LinksLoader(services.clone())),
            escalations: loader(EscalationsLoader(services.clone())),
            latest_escalations: loader(LatestEscalationLoader(services.clone())),
            evidence: loader(EvidenceLoader(services.clone())),
            evidence_counts: loader(EvidenceCountLoader(services.clone())),
            folded: Folded::default(),
        }
    }

    /// Forgets cached rows (a subscription reuses its loaders across events).
    pub fn clear(&self) {
        self.users.clear::<Uuid>();
        self.teams.clear::<Uuid>();
        self.customers.clear::<Uuid>();
        self.complaints.clear::<Uuid>();
        self.groups.clear::<Uuid>();
        self.notes.clear::<Uuid>();
        self.links.clear::<Uuid>();
        self.escalations.clear::<Uuid>();
        self.latest_escalations.clear::<Uuid>();
        self.evidence.clear::<Uuid>();
        self.evidence_counts.clear::<Uuid>();
        self.folded.clear();
    }
}

/// Distinct keys, for priming a loader in one call.
pub fn distinct(keys: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
    let mut keys: Vec<Uuid> = keys.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}
