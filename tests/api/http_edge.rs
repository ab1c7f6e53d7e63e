//! The HTTP edge: bad bodies, limits, GET rules, health, GraphiQL.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

crate::on_both_databases!(
    malformed_json_is_a_json_error_never_a_500,
    oversized_bodies_are_refused_with_payload_too_large,
    mutations_never_run_over_get,
    queries_run_over_get,
    deep_and_expensive_queries_are_refused,
    health_and_readiness_answer,
    graphiql_is_served_to_browsers,
    unknown_routes_answer_json,
    invalid_arguments_carry_a_code,
    graphql_response_json_media_type_is_honoured,
);

async fn post_raw(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, json)
}

async fn malformed_json_is_a_json_error_never_a_500(app: &TestApp) {
    for body in ["{not json", "[]", "\"just a string\"", "{\"variables\": {}}", ""] {
        let (status, json) = post_raw(app, "application/json", body).await;
        assert!((400..500).contains(&status), "{body:?} gave {status}");
        assert_eq!(json["errors"][0]["extensions"]["code"], "VALIDATION", "{body:?}");
        let message = json["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("Error(") && !message.contains("line:"), "Debug text leaked: {message}");
    }
    // A batch is refused, not executed.
    let (status, json) = post_raw(app, "application/json", r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#).await;
    assert_eq!(status, 400);
    assert_eq!(json["errors"][0]["extensions"]["code"], "VALIDATION");
}

async fn oversized_bodies_are_refused_with_payload_too_large(app: &TestApp) {
    let padding = "x".repeat(2 * 1024 * 1024);
    let body = json!({ "query": "{ __typename }", "variables": { "padding": padding } }).to_string();
    let (status, json) = post_raw(app, "application/json", body).await;
    assert_eq!(status, 413);
    assert_eq!(json["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
}

async fn mutations_never_run_over_get(app: &TestApp) {
    let query = "mutation { login(email: \"agent@example.com\", password: \"casework-demo\") { accessToken } }";
    let response = app.client.get(app.url("/graphql")).query(&[("query", query)]).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["errors"][0]["extensions"]["code"], "VALIDATION");
    // Naming a mutation among several operations is refused too.
    let doc = "query A { __typename } mutation B { logout(refreshToken: \"x\") }";
    let response =
        app.client.get(app.url("/graphql")).query(&[("query", doc), ("operationName", "B")]).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

async fn queries_run_over_get(app: &TestApp) {
    let token = app.login_as("agent@example.com").await;
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { email } }")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["data"]["me"]["email"], "agent@example.com");
}

async fn deep_and_expensive_queries_are_refused(app: &TestApp) {
    let token = app.login_as("supervisor@example.com").await;
    let mut deep = String::from("id");
    for _ in 0..8 {
        deep = format!("links {{ complaint {{ {deep} }} }}");
    }
    let query = format!("{{ complaints(first: 1) {{ edges {{ node {{ {deep} }} }} }} }}");
    assert_eq!(app.error_code(Some(&token), &query, json!({})).await, "QUERY_TOO_COMPLEX");

    // 60 fields on each of 100 complaints: over the complexity budget.
    let fields: String = (0..60).map(|i| format!("f{i}: title ")).collect();
    let wide = format!("{{ complaints(first: 100) {{ edges {{ node {{ {fields} }} }} }} }}");
    assert_eq!(app.error_code(Some(&token), &wide, json!({})).await, "QUERY_TOO_COMPLEX");
    // The same fields on a small page are fine.
    let narrow = format!("{{ complaints(first: 5) {{ edges {{ node {{ {fields} }} }} }} }}");
    assert!(app.gql(Some(&token), &narrow, json!({})).await.get("errors").is_none());
}

async fn health_and_readiness_answer(app: &TestApp) {
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers().contains_key("x-request-id"), "{path} has no request id");
    }
    let metrics = app.metrics().await;
    assert!(metrics.contains("casework_db_statements_total"));
}

async fn graphiql_is_served_to_browsers(app: &TestApp) {
    let response = app.client.get(app.url("/graphql")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().to_lowercase().contains("graphiql"));
}

async fn unknown_routes_answer_json(app: &TestApp) {
    let response = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

async fn invalid_arguments_carry_a_code(app: &TestApp) {
    let token = app.login_as("agent@example.com").await;
    // An unknown enum value and a syntax error are rejected by GraphQL validation.
    let bad_enum = "{ complaints(filter: { severity: [SEVERE] }) { edges { node { id } } } }";
    assert_eq!(app.error_code(Some(&token), bad_enum, json!({})).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&token), "{ me { ", json!({})).await, "VALIDATION");
    assert_eq!(app.error_code(Some(&token), "{ noSuchField }", json!({})).await, "VALIDATION");
}

async fn graphql_response_json_media_type_is_honoured(app: &TestApp) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/graphql-response+json");
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_hides_graphiql_and_introspection() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.env = casework::config::Environment::Production;
        settings.demo = false;
    })
    .await
    .unwrap();
    let response = app.client.get(app.url("/graphql")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = app.gql(None, "{ __schema { types { name } } }", json!({})).await;
    assert!(response["data"]["__schema"].is_null(), "introspection answered: {response}");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let response = app.client.post(app.url("/graphql")).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    app.finish().await;
}
