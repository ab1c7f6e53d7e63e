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

/// Creates a user as the demo admin; returns the user.
pub async fn create_user(app: &TestApp, email: &str, role: &str, team_id: Option<&str>) -> Value {
    let admin = app.login_as("admin@example.com").await;
    let data = app
        .ok(
            &admin,
            "mutation($input: CreateUserInput!) { createUser(input: $input) { id email role version team { id } } }",
            json!({ "input": {
                "email": email, "displayName": email, "role": role, "teamId": team_id,
                "password": crate::helpers::DEMO_PASSWORD.repeat(2),
            }}),
        )
        .await;
    data["createUser"].clone()
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
