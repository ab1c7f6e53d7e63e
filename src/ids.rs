//! Opaque global IDs: `base64url("Complaint:<uuid>")`. Clients treat them as
//! strings; `node(id)` reads the type back out of them.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::AppError;

/// The object types that have global IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Complaint,
    Customer,
    User,
    Team,
    Note,
    Link,
    AuditEvent,
    Escalation,
    Evidence,
    Contact,
    RoleGrant,
    WorkItem,
    Group,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Complaint => "Complaint",
            Kind::Customer => "Customer",
            Kind::User => "User",
            Kind::Team => "Team",
            Kind::Note => "Note",
            Kind::Link => "ComplaintLink",
            Kind::AuditEvent => "AuditEvent",
            Kind::Escalation => "Escalation",
            Kind::Evidence => "Evidence",
            Kind::Contact => "Contact",
            Kind::RoleGrant => "RoleGrant",
            Kind::WorkItem => "WorkItem",
            Kind::Group => "ComplaintGroup",
        }
    }

    const ALL: [Kind; 13] = [
        Kind::Complaint,
        Kind::Customer,
        Kind::User,
        Kind::Team,
        Kind::Note,
        Kind::Link,
        Kind::AuditEvent,
        Kind::Escalation,
        Kind::Evidence,
        Kind::Contact,
        Kind::RoleGrant,
        Kind::WorkItem,
        Kind::Group,
    ];
}

pub fn encode(kind: Kind, id: Uuid) -> async_graphql::ID {
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.name(), id)))
}

/// The kind and UUID inside an ID, if it is one of ours.
pub fn parse(id: &str) -> Option<(Kind, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    let raw = std::str::from_utf8(&raw).ok()?;
    let (name, uuid) = raw.split_once(':')?;
    let kind = Kind::ALL.into_iter().find(|k| k.name() == name)?;
    Some((kind, Uuid::parse_str(uuid).ok()?))
}

/// Decodes an ID that must be of `kind`: a malformed ID is a `VALIDATION`
/// error on `field`; an ID of another type is `NOT_FOUND`.
pub fn decode(kind: Kind, field: &'static str, id: &async_graphql::ID) -> Result<Uuid, AppError> {
    match parse(id) {
        Some((found, uuid)) if found == kind => Ok(uuid),
        Some(_) => Err(AppError::NotFound(kind.name_lower())),
        None => Err(AppError::validation(field, "is not a valid ID")),
    }
}

/// Decodes an optional ID.
pub fn decode_opt(kind: Kind, field: &'static str, id: Option<&async_graphql::ID>) -> Result<Option<Uuid>, AppError> {
    id.map(|id| decode(kind, field, id)).transpose()
}

impl Kind {
    fn name_lower(self) -> &'static str {
        match self {
            Kind::Complaint => "complaint",
            Kind::Customer => "customer",
            Kind::User => "user",
            Kind::Team => "team",
            Kind::Note => "note",
            Kind::Link => "link",
            Kind::AuditEvent => "audit event",
            Kind::Escalation => "escalation",
            Kind::Evidence => "evidence",
            Kind::Contact => "contact",
            Kind::RoleGrant => "role grant",
            Kind::WorkItem => "work item",
            Kind::Group => "complaint group",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_type() {
        let uuid = Uuid::now_v7();
        let id = encode(Kind::Complaint, uuid);
        assert_eq!(decode(Kind::Complaint, "id", &id).unwrap(), uuid);
        assert!(matches!(decode(Kind::User, "id", &id), Err(AppError::NotFound(_))));
        assert!(matches!(decode(Kind::User, "id", &async_graphql::ID("nope!".into())), Err(AppError::Validation { .. })));
    }
}
