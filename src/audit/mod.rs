//! The audit trail: every change writes one event in the same transaction, and
//! events form SHA-256 hash chains per complaint (or per user, team, system).
//!
//! - [`canonical`]: the canonical JSON (RFC 8785) that is hashed and stored.
//! - [`append`]: add an event to its chain inside the caller's transaction.
//! - [`checkpoint`]: signed Merkle checkpoints over every chain head, and the anchor file.
//! - [`verify`]: recompute the chains and checkpoints; name the first failure.
//! - [`export`]: the trail as JSON Lines, verifiable offline.

pub mod append;
pub mod canonical;
pub mod checkpoint;
pub mod export;
pub mod verify;

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

pub use append::append;

/// The version of the hashed encoding; stored with every event.
pub const FORMAT_VERSION: i32 = 1;

/// The hash that precedes the first event of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Which hash chain an event belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainKey {
    /// Changes of a complaint; its head seq equals the complaint's version.
    Complaint(Uuid),
    /// Audited reads of a sensitive or legal-hold complaint and its evidence,
    /// kept apart so reads never move the complaint's version.
    ComplaintAccess(Uuid),
    User(Uuid),
    Team(Uuid),
    System,
    /// Failed sign-ins and lock-outs (no user to hang them on: the email may be unknown).
    Security,
}

impl std::fmt::Display for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainKey::Complaint(id) => write!(f, "complaint:{id}"),
            ChainKey::ComplaintAccess(id) => write!(f, "complaint-access:{id}"),
            ChainKey::User(id) => write!(f, "user:{id}"),
            ChainKey::Team(id) => write!(f, "team:{id}"),
            ChainKey::System => f.write_str("system"),
            ChainKey::Security => f.write_str("security"),
        }
    }
}

/// How sensitive the audited object was when the event happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sensitivity {
    Normal,
    Sensitive,
    LegalHold,
}

impl Sensitivity {
    pub fn of(sensitive: bool, legal_hold: bool) -> Sensitivity {
        match (sensitive, legal_hold) {
            (_, true) => Sensitivity::LegalHold,
            (true, false) => Sensitivity::Sensitive,
            (false, false) => Sensitivity::Normal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Normal => "NORMAL",
            Sensitivity::Sensitive => "SENSITIVE",
            Sensitivity::LegalHold => "LEGAL_HOLD",
        }
    }
}

/// The changed fields of an event: name -> [before, after].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes(BTreeMap<String, [Value; 2]>);

impl Changes {
    pub fn new() -> Changes {
        Changes::default()
    }

    /// Records a field whose value went from `before` to `after`; unchanged
    /// values are left out.
    pub fn field(mut self, name: &str, before: impl Into<Value>, after: impl Into<Value>) -> Changes {
        let (before, after) = (before.into(), after.into());
        if before != after {
            self.0.insert(name.to_owned(), [before, after]);
        }
        self
    }

    /// Records a newly set field (before: null).
    pub fn set(self, name: &str, after: impl Into<Value>) -> Changes {
        self.field(name, Value::Null, after)
    }

    /// Adds the fields of `other` (which win on a clash).
    pub fn merge(mut self, other: Changes) -> Changes {
        self.0.extend(other.0);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.0.iter().map(|(k, [a, b])| (k.clone(), Value::Array(vec![a.clone(), b.clone()]))).collect())
    }
}

/// An event about to be appended.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub chain: ChainKey,
    /// `complaint.created`, `user.deactivated`, …
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub complaint_id: Option<Uuid>,
    pub sensitivity: Sensitivity,
    pub reason: Option<String>,
    pub changes: Changes,
}

impl NewEvent {
    pub fn new(chain: ChainKey, action: &'static str, target_type: &'static str, target_id: impl ToString) -> NewEvent {
        NewEvent {
            chain,
            action,
            target_type,
            target_id: Some(target_id.to_string()),
            complaint_id: None,
            sensitivity: Sensitivity::Normal,
            reason: None,
            changes: Changes::new(),
        }
    }

    pub fn changes(mut self, changes: Changes) -> NewEvent {
        self.changes = changes;
        self
    }

    pub fn reason(mut self, reason: Option<String>) -> NewEvent {
        self.reason = reason;
        self
    }
}

/// Who caused an event, from the request.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<&'static str>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}
