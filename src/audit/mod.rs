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
mod pipeline;
pub mod state;
mod sqlite_scan;
pub mod verify;

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

pub use append::{append, append_opening};

/// The version of the hashed encoding; stored with every event. Format 2
/// hashes `state_hash` too and always carries a MAC.
pub const FORMAT_VERSION: i32 = 2;

/// The key of the events' HMAC-SHA-256 (`CASEWORK_AUDIT_MAC_KEY`, or derived
/// from the checkpoint signing seed). It is never stored in the database, so
/// someone who can write there cannot forge an event that verifies.
#[derive(Clone)]
pub struct MacKey(std::sync::Arc<hmac::Hmac<sha2::Sha256>>);

/// Domain separation for event MACs.
const MAC_DOMAIN: &[u8] = b"casework.audit.mac.v1\0";

impl MacKey {
    /// At least 32 bytes, hex-encoded.
    pub fn parse(hex_text: &str) -> Result<MacKey, String> {
        let bytes = hex::decode(hex_text.trim()).map_err(|_| "must be hexadecimal".to_owned())?;
        if bytes.len() < 32 {
            return Err("must be at least 32 bytes (64 hexadecimal digits)".into());
        }
        Ok(MacKey::from_bytes(&bytes))
    }

    /// Keys the HMAC once and feeds it the domain: each event's MAC then
    /// starts from a copy of that state (issue 14: keying per event was a
    /// fifth of `audit verify`).
    pub fn from_bytes(bytes: &[u8]) -> MacKey {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(bytes).expect("HMAC takes keys of any length");
        mac.update(MAC_DOMAIN);
        MacKey(std::sync::Arc::new(mac))
    }

    fn hmac(&self) -> hmac::Hmac<sha2::Sha256> {
        (*self.0).clone()
    }

    /// The MAC (hex) of an event, computed over its entry hash (which commits
    /// to every hashed column and to the predecessor).
    pub fn sign(&self, entry_hash: &str) -> String {
        use hmac::Mac;
        let mut mac = self.hmac();
        mac.update(entry_hash.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `mac_hex` is the MAC of `entry_hash` (constant time).
    pub fn check(&self, entry_hash: &str, mac_hex: &str) -> bool {
        use hmac::Mac;
        let mut expected = [0u8; 32];
        if hex::decode_to_slice(mac_hex, &mut expected).is_err() {
            return false;
        }
        let mut mac = self.hmac();
        mac.update(entry_hash.as_bytes());
        mac.verify_slice(&expected).is_ok()
    }
}

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(…)")
    }
}

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
    /// A group complaint's own changes (members' changes stay on their complaints' chains).
    Group(Uuid),
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
            ChainKey::Group(id) => write!(f, "group:{id}"),
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
    /// The entity's business state after the change ([`state`]), when the
    /// chain is an entity's (complaint, user).
    pub state_hash: Option<String>,
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
            state_hash: None,
        }
    }

    pub fn changes(mut self, changes: Changes) -> NewEvent {
        self.changes = changes;
        self
    }

    /// Records the state the change produced (see [`state`]).
    pub fn state(mut self, state_hash: String) -> NewEvent {
        self.state_hash = Some(state_hash);
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

#[cfg(test)]
mod tests {
    use super::MacKey;

    #[test]
    fn a_mac_checks_only_for_its_key_and_hash() {
        let key = MacKey::from_bytes(&[7; 32]);
        let hash = "ab".repeat(32);
        let mac = key.sign(&hash);
        assert_eq!(mac.len(), 64);
        assert!(key.check(&hash, &mac));
        // The keyed state is copied, never consumed: the same key checks twice.
        assert!(key.clone().check(&hash, &mac));
        assert!(key.check(&hash, &mac.to_uppercase()), "hex in either case");
        assert!(!key.check(&"cd".repeat(32), &mac), "another hash");
        assert!(!MacKey::from_bytes(&[8; 32]).check(&hash, &mac), "another key");
        assert!(!key.check(&hash, &mac[..62]), "a cut MAC");
        assert!(!key.check(&hash, &format!("{mac}00")), "a longer MAC");
        assert!(!key.check(&hash, &"zz".repeat(32)), "not hex");
        let parsed = MacKey::parse(&hex::encode([7u8; 32])).unwrap();
        assert_eq!(parsed.sign(&hash), mac, "a parsed key is the same key");
    }
}
