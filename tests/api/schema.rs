//! `schema.graphql` is generated from the code; this fails when it is stale.
//! Regenerate with `UPDATE_SCHEMA=1 cargo test --test api schema` or
//! `cargo run -- schema > schema.graphql`.

#[test]
fn schema_graphql_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let current = casework::graphql::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(path, &current).expect("writing schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test --test api schema` and commit the result"
    );
}

/// Names fixed by DESIGN.md §3 are the public contract.
#[test]
fn the_contract_names_are_present() {
    let sdl = casework::graphql::sdl();
    for name in [
        "me: User!",
        "node(id: ID!): Node",
        "complaint(id: ID!): Complaint",
        "complaintByReference(reference: String!): Complaint",
        "login(email: String!, password: String!): AuthPayload!",
        "refreshSession(refreshToken: String!): AuthPayload!",
        "logout(refreshToken: String!): Boolean!",
        "createComplaint(input: CreateComplaintInput!): Complaint!",
        "updateComplaint(id: ID!, expectedVersion: Int!, input: UpdateComplaintInput!): Complaint!",
        // `promisedBy` was added by the closed loop (optional: old clients still work).
        "acknowledgeComplaint(id: ID!, expectedVersion: Int!, message: String, promisedBy: DateTime): Complaint!",
        "postProgressUpdate(id: ID!, expectedVersion: Int!, input: ProgressUpdateInput!): Complaint!",
        "recordContact(complaintId: ID!, input: ContactInput!): Contact!",
        "callbackQueue(first: Int, after: String): ComplaintConnection!",
        "recordFinding(id: ID!, expectedVersion: Int!, input: FindingInput!): Complaint!",
        "proposeResolution(id: ID!, expectedVersion: Int!, input: ResolutionInput!): Complaint!",
        "recordCustomerDecision(id: ID!, expectedVersion: Int!, accepted: Boolean!, note: String): Complaint!",
        "resolveComplaint(id: ID!, expectedVersion: Int!, summary: String!): Complaint!",
        "recordCallback(id: ID!, expectedVersion: Int!, input: CallbackInput!): Complaint!",
        // `outcome` was added by the closed loop (optional: old clients still work).
        "closeComplaint(id: ID!, expectedVersion: Int!, reason: String!, outcome: CloseOutcome): Complaint!",
        "resolveAtFirstContact(id: ID!, expectedVersion: Int!, summary: String!, satisfied: Boolean!): Complaint!",
        "customer(id: ID!): Customer",
        "isRepeat: Boolean!",
        "repeatOf: Complaint",
        "reopenComplaint(id: ID!, expectedVersion: Int!, reason: String!): Complaint!",
        "addNote(complaintId: ID!, body: String!, visibility: NoteVisibility!): Note!",
        "linkComplaints(ids: [ID!]!, kind: LinkKind!): [Complaint!]!",
        "setFlags(id: ID!, expectedVersion: Int!, input: FlagsInput!): Complaint!",
        "uploadEvidence(complaintId: ID!, kind: EvidenceKind!, file: Upload!, description: String): Evidence!",
        "createUser(input: CreateUserInput!): User!",
        "deactivateUser(id: ID!): User!",
        "teams: [Team!]!",
    ] {
        assert!(sdl.contains(name), "the schema lacks `{name}`");
    }
    for enum_value in ["ONLINE_CHAT", "SOCIAL_MEDIA", "PRODUCT_QUALITY", "FORCE_MAJEURE", "TIER3", "CUSTOMER_UPDATE", "PENDING_APPROVAL"] {
        assert!(sdl.contains(enum_value), "the schema lacks {enum_value}");
    }
}
