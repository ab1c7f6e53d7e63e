//! Builders for test data, named after what they make.

use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const COMPLAINT_FIELDS: &str = "id reference status version severity tier sensitive legalHold \
    team { id name } assignee { id email } customer { name phone email masked }";

/// A complaint to record, with sensible defaults.
pub struct ComplaintBuilder {
    input: Value,
}

impl ComplaintBuilder {
    pub fn new() -> ComplaintBuilder {
        ComplaintBuilder {
            input: json!({
                "channel": "PHONE",
                "category": "LOGISTICS",
                "severity": "MEDIUM",
                "title": "Parcel arrived late",
                "description": "The parcel arrived five days after the promised date.",
                "customer": { "name": "Li Lei", "phone": "+86 138 0000 0000", "email": "li.lei@example.com" },
                "coreDemand": "APOLOGY",
                "emotion": "CALM",
            }),
        }
    }

    pub fn with(mut self, field: &str, value: Value) -> ComplaintBuilder {
        self.input[field] = value;
        self
    }

    pub fn input(&self) -> Value {
        self.input.clone()
    }

    /// Records it as `token`'s user; returns the complaint.
    pub async fn create(self, app: &TestApp, token: &str) -> Value {
        let data = app
            .ok(
                token,
                &format!("mutation($input: CreateComplaintInput!) {{ createComplaint(input: $input) {{ {COMPLAINT_FIELDS} }} }}"),
                json!({ "input": self.input }),
            )
            .await;
        data["createComplaint"].clone()
    }
}

/// Creates a user as the demo admin, as a real administrator would: no
/// password (the user redeems a reset token for `DEMO_PASSWORD` twice), and a
/// privileged role approved by the second admin. Returns the user.
pub async fn create_user(app: &TestApp, email: &str, role: &str, team_id: Option<&str>) -> Value {
    const FIELDS: &str = "id email role version active team { id }";
    let admin = app.login_as("admin@example.com").await;
    let data = app
        .ok(
            &admin,
            &format!("mutation($input: CreateUserInput!) {{ createUser(input: $input) {{ {FIELDS} }} }}"),
            json!({ "input": { "email": email, "displayName": email, "role": role, "teamId": team_id } }),
        )
        .await;
    let mut user = data["createUser"].clone();
    let token = issue_reset(app, &admin, &user["id"]).await;
    let reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
    let redeemed = app.gql(None, reset, json!({ "t": token, "p": crate::helpers::DEMO_PASSWORD.repeat(2) })).await;
    assert_eq!(redeemed["data"]["resetPassword"], true, "{redeemed}");
    if user["active"] == false {
        let grant = pending_grant_of(app, &admin, &user["id"]).await;
        let second = app.login_as("admin2@example.com").await;
        let approved = app
            .ok(&second, &format!("mutation($id: ID!) {{ approveRoleGrant(id: $id) {{ user {{ {FIELDS} }} }} }}"), json!({ "id": grant }))
            .await;
        user = approved["approveRoleGrant"]["user"].clone();
    }
    user
}

/// A one-time password-reset token for `user`, issued by `admin`.
pub async fn issue_reset(app: &TestApp, admin: &str, user: &Value) -> String {
    let issue = "mutation($id: ID!) { issuePasswordReset(userId: $id) { token expiresAt } }";
    app.ok(admin, issue, json!({ "id": user })).await["issuePasswordReset"]["token"].as_str().unwrap().to_owned()
}

/// The id of the pending role grant of `user`.
pub async fn pending_grant_of(app: &TestApp, admin: &str, user: &Value) -> String {
    let grants = app.ok(admin, "{ roleGrants(first: 100) { edges { node { id user { id } } } } }", json!({})).await;
    grants["roleGrants"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["user"]["id"] == *user)
        .unwrap_or_else(|| panic!("no pending grant for {user}: {grants}"))["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The id of a demo team by name.
pub async fn team_id(app: &TestApp, token: &str, name: &str) -> String {
    let data = app.ok(token, "{ teams { id name } }", json!({})).await;
    data["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no team {name}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
