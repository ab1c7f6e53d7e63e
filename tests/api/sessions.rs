//! Sessions under misuse: forged and stale access tokens, refresh-token reuse
//! and retries, the absolute session lifetime, `logoutAll`, and the
//! WebSocket endpoint's re-checks and protocol close codes.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{
    fixtures::{self, ComplaintBuilder},
    helpers::{Backend, DEMO_PASSWORD, JWT_SECRET, TestApp, WsClient, first_error_code, spawn_another, spawn_app_with},
};

crate::on_both_databases!(
    forged_and_stale_access_tokens_are_refused_over_http_and_websocket,
    a_password_change_ends_every_access_token,
    logout_all_ends_every_session_at_once,
    sequential_refresh_reuse_revokes_the_family_and_is_audited,
    concurrent_refresh_reuse_revokes_the_family,
    a_lost_refresh_can_be_retried_once_for_the_same_tokens,
    logout_with_a_rotated_token_revokes_the_family,
    queries_and_mutations_are_refused_over_websocket,
    a_deactivated_supervisors_subscription_stops_within_one_event,
    a_demoted_supervisors_subscription_stops_within_one_event,
    the_websocket_protocol_close_codes,
    every_server_drops_a_changed_caller_at_once,
);

const ME: &str = "{ me { email } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
const EVENTS: &str = "subscription { complaintEvents { action complaint { id } } }";

// --- tokens -----------------------------------------------------------------

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&inner).chain_update(message).finalize();
    Sha256::new().chain_update(&outer).chain_update(inner).finalize().to_vec()
}

/// A token with this header and these claims, signed HMAC-SHA256 with the
/// server's secret whatever the header says.
fn signed(header: Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(&header), b64(claims));
    let signature = hmac_sha256(JWT_SECRET.as_bytes(), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn with_alg(alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), claims, &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()))
        .unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn raw_socket(app: &TestApp) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = app.address.replace("http://", "ws://") + "/graphql/ws";
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    tokio_tungstenite::connect_async(request).await.expect("websocket handshake").0
}

/// Reads until the server closes; the close code (None: closed without one or
/// not within 10 s). Non-close messages are collected into `seen`.
async fn close_code(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    seen: &mut Vec<Value>,
) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await.ok()? {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(Message::Text(text))) => seen.push(serde_json::from_str(text.as_str()).unwrap_or(Value::Null)),
            Some(Ok(_)) => {}
            _ => return None,
        }
    }
}

/// What `connection_init` with this token gets: `Ok` for an ack, the close code otherwise.
async fn init_with(app: &TestApp, token: &str) -> Result<(), Option<u16>> {
    let mut socket = raw_socket(app).await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let mut seen = Vec::new();
    match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        Ok(Some(Ok(Message::Text(text)))) if text.contains("connection_ack") => {
            let _ = socket.close(None).await;
            Ok(())
        }
        Ok(Some(Ok(Message::Close(frame)))) => Err(frame.map(|f| u16::from(f.code))),
        _ => Err(close_code(&mut socket, &mut seen).await),
    }
}

async fn forged_and_stale_access_tokens_are_refused_over_http_and_websocket(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let good = claims_of(&agent);
    let hs256 = json!({ "alg": "HS256", "typ": "JWT" });
    // The forging itself is right: a token made the same way with good claims is accepted.
    let control = signed(hs256.clone(), &good);
    assert_eq!(app.ok(&control, ME, json!({})).await["me"]["email"], "agent@example.com");
    assert_eq!(init_with(app, &control).await, Ok(()));

    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        edit(&mut claims);
        claims
    };
    let login = app.login("agent@example.com", DEMO_PASSWORD).await;
    let refresh_token = login["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
    let mut flipped = agent.clone().into_bytes();
    let last = flipped.len() - 3;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();

    // A user who was deactivated, and one whose password changed, after the token was issued.
    let admin = app.login_as("admin@example.com").await;
    let leaving = fixtures::create_user(app, "leaving@example.com", "AGENT", None).await;
    let leaving_token = app.login("leaving@example.com", &DEMO_PASSWORD.repeat(2)).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { active } }", json!({ "id": leaving["id"] })).await;
    let moved = fixtures::create_user(app, "moved@example.com", "AGENT", None).await;
    let moved_token = app.login("moved@example.com", &DEMO_PASSWORD.repeat(2)).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    change_password(app, &admin, &moved).await;

    let cases: Vec<(&str, String)> = vec![
        ("alg none", format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&good))),
        ("HS384", with_alg(jsonwebtoken::Algorithm::HS384, &good)),
        ("HS512", with_alg(jsonwebtoken::Algorithm::HS512, &good)),
        ("RS256 with the secret as public key", signed(json!({ "alg": "RS256", "typ": "JWT" }), &good)),
        ("unknown kid", signed(json!({ "alg": "HS256", "typ": "JWT", "kid": "rotated-2019" }), &good)),
        ("jku header", signed(json!({ "alg": "HS256", "typ": "JWT", "jku": "https://attacker.example/jwks.json" }), &good)),
        ("expired beyond leeway", signed(hs256.clone(), &claims(&|c| { c["iat"] = json!(now() - 3600); c["exp"] = json!(now() - 60); }))),
        ("issued in the future", signed(hs256.clone(), &claims(&|c| { c["iat"] = json!(now() + 3600); c["exp"] = json!(now() + 4000); }))),
        ("wrong aud", signed(hs256.clone(), &claims(&|c| c["aud"] = json!("another-api")))),
        ("wrong iss", signed(hs256.clone(), &claims(&|c| c["iss"] = json!("someone-else")))),
        ("missing exp", signed(hs256.clone(), &claims(&|c| { c.as_object_mut().unwrap().remove("exp"); }))),
        ("missing sub", signed(hs256.clone(), &claims(&|c| { c.as_object_mut().unwrap().remove("sub"); }))),
        ("missing token version", signed(hs256.clone(), &claims(&|c| { c.as_object_mut().unwrap().remove("ver"); }))),
        ("a later token version", signed(hs256.clone(), &claims(&|c| c["ver"] = json!(c["ver"].as_i64().unwrap() + 1)))),
        ("flipped signature bit", flipped),
        ("refresh token as access token", refresh_token),
        ("deactivated user", leaving_token),
        ("older than a password change", moved_token),
    ];
    for (case, token) in &cases {
        let response = app.gql(Some(token), ME, json!({})).await;
        assert_eq!(first_error_code(&response), "UNAUTHENTICATED", "{case}: {response}");
        assert_eq!(init_with(app, token).await, Err(Some(4403)), "{case} over connection_init");
    }
}

/// A new password through a reset token the admin issues and the user redeems.
async fn change_password(app: &TestApp, admin: &str, user: &Value) {
    let token = fixtures::issue_reset(app, admin, &user["id"]).await;
    let reset = "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a-brand-new-password\") }";
    assert_eq!(app.gql(None, reset, json!({ "t": token })).await["data"]["resetPassword"], true);
}

async fn a_password_change_ends_every_access_token(app: &TestApp) {
    let user = fixtures::create_user(app, "changing@example.com", "AGENT", None).await;
    let access = app.login("changing@example.com", &DEMO_PASSWORD.repeat(2)).await["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(app.ok(&access, ME, json!({})).await["me"].is_object());
    let admin = app.login_as("admin@example.com").await;
    change_password(app, &admin, &user).await;
    assert_eq!(app.error_code(Some(&access), ME, json!({})).await, "UNAUTHENTICATED");
    // A fresh sign-in with the new password works.
    let fresh = app.login("changing@example.com", "a-brand-new-password").await;
    let fresh = fresh["data"]["login"]["accessToken"].as_str().unwrap();
    assert!(app.ok(fresh, ME, json!({})).await["me"].is_object());
}

async fn logout_all_ends_every_session_at_once(app: &TestApp) {
    let first = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
    let second = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
    let access = first["accessToken"].as_str().unwrap();
    assert_eq!(app.ok(access, "mutation { logoutAll }", json!({})).await["logoutAll"], true);
    for session in [&first, &second] {
        assert_eq!(app.error_code(session["accessToken"].as_str(), ME, json!({})).await, "UNAUTHENTICATED");
        assert_eq!(app.error_code(None, REFRESH, json!({ "t": session["refreshToken"] })).await, "UNAUTHENTICATED");
    }
    // Signing in again works, and without a caller there is nothing to sign out.
    app.login_as("agent@example.com").await;
    assert_eq!(app.error_code(None, "mutation { logoutAll }", json!({})).await, "UNAUTHENTICATED");
    assert_eq!(audit_count(app, "session.ended_everywhere").await, 1);
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM audit_event WHERE action = '{action}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn rotate(app: &TestApp, token: &str) -> Value {
    let rotated = app.gql(None, REFRESH, json!({ "t": token })).await;
    assert!(rotated["data"]["refreshSession"].is_object(), "{rotated:#}");
    rotated["data"]["refreshSession"].clone()
}

async fn sequential_refresh_reuse_revokes_the_family_and_is_audited(app: &TestApp) {
    let login = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
    let first = login["refreshToken"].as_str().unwrap().to_owned();
    let second = rotate(app, &first).await;
    let third = rotate(app, second["refreshToken"].as_str().unwrap()).await;
    let access = third["accessToken"].as_str().unwrap().to_owned();
    assert!(app.ok(&access, ME, json!({})).await["me"].is_object());

    // `first` was rotated long ago (its successor was used): this is a stolen copy.
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": first })).await, "UNAUTHENTICATED");
    // The whole family is gone, and so is every access token of the user.
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": third["refreshToken"] })).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&access), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(audit_count(app, "session.token_reused").await, 1);
    let metrics = app.metrics().await;
    assert!(metrics.contains("casework_refresh_token_reuse_total"), "reuse is counted in /metrics");
}

async fn concurrent_refresh_reuse_revokes_the_family(app: &TestApp) {
    let login = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
    let first = login["refreshToken"].as_str().unwrap().to_owned();
    let second = rotate(app, &first).await;
    let third = rotate(app, second["refreshToken"].as_str().unwrap()).await;
    // A burst of presentations of the stolen, long-rotated token.
    let burst = (0..8).map(|_| app.gql(None, REFRESH, json!({ "t": first })));
    let answers = futures_util::future::join_all(burst).await;
    for answer in &answers {
        assert_eq!(first_error_code(answer), "UNAUTHENTICATED", "{answer}");
    }
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": third["refreshToken"] })).await, "UNAUTHENTICATED");
    assert!(audit_count(app, "session.token_reused").await >= 1);

    // Concurrent exchanges of a live token: exactly one new token comes out
    // (the others are retries of the same answer), never two sessions.
    let login = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
    let live = login["refreshToken"].as_str().unwrap().to_owned();
    let answers = futures_util::future::join_all((0..6).map(|_| app.gql(None, REFRESH, json!({ "t": live })))).await;
    let issued: std::collections::HashSet<&str> =
        answers.iter().filter_map(|a| a["data"]["refreshSession"]["refreshToken"].as_str()).collect();
    assert_eq!(issued.len(), 1, "one successor, whatever the race: {answers:#?}");
}

async fn a_lost_refresh_can_be_retried_once_for_the_same_tokens(app: &TestApp) {
    let login = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
    let first = login["refreshToken"].as_str().unwrap().to_owned();
    let lost = rotate(app, &first).await;
    // The answer was lost: the client retries with the same token.
    let retried = rotate(app, &first).await;
    assert_eq!(retried["refreshToken"], lost["refreshToken"], "the retry gets the same refresh token");
    // Once the successor is used, the old token is no longer a retry but reuse.
    rotate(app, lost["refreshToken"].as_str().unwrap()).await;
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": first })).await, "UNAUTHENTICATED");
    assert_eq!(audit_count(app, "session.token_reused").await, 1);
}

async fn logout_with_a_rotated_token_revokes_the_family(app: &TestApp) {
    let login = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
    let first = login["refreshToken"].as_str().unwrap().to_owned();
    let second = rotate(app, &first).await;
    let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
    app.gql(None, logout, json!({ "t": first })).await;
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": second["refreshToken"] })).await, "UNAUTHENTICATED");
    assert_eq!(audit_count(app, "session.token_reused").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_at_its_absolute_lifetime_whatever_the_rotations() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |s| s.session_max = Duration::from_secs(3)).await else { continue };
        let login = app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].clone();
        let mut token = login["refreshToken"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            token = rotate(&app, &token).await["refreshToken"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(app.error_code(None, REFRESH, json!({ "t": token })).await, "UNAUTHENTICATED", "{backend:?}");
        app.finish().await;
    }
}

// --- WebSocket --------------------------------------------------------------

async fn queries_and_mutations_are_refused_over_websocket(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let mut ws = WsClient::connect(app, &agent).await;
    ws.subscribe("q", ME, json!({})).await;
    let refused = ws.next(Duration::from_secs(10)).await.expect("an answer");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "VALIDATION");
    let create = "mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }";
    ws.subscribe("m", create, json!({ "input": ComplaintBuilder::new().input() })).await;
    let refused = ws.next(Duration::from_secs(10)).await.expect("an answer");
    assert_eq!(refused["type"], "error", "{refused}");
    // Nothing was created.
    let count = "{ complaints(first: 100) { nodes { id } } }";
    let before = app.ok(&agent, count, json!({})).await["complaints"]["nodes"].as_array().unwrap().len();
    // An upload literal in the variables is refused, not a panic.
    ws.subscribe("u", EVENTS, json!({ "file": "#__graphql_file__:0" })).await;
    assert_eq!(ws.next(Duration::from_secs(10)).await.expect("an answer")["type"], "error");
    // The connection still serves subscriptions.
    ws.subscribe("s", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ComplaintBuilder::new().create(app, &agent).await;
    let event = ws.next(Duration::from_secs(10)).await.expect("an event");
    assert_eq!(event["type"], "next", "{event}");
    let after = app.ok(&agent, count, json!({})).await["complaints"]["nodes"].as_array().unwrap().len();
    assert_eq!(after, before + 1, "only the complaint created over HTTP");
    ws.close().await;
}

async fn subscribed_supervisor(app: &TestApp, email: &str) -> (Value, tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>) {
    let user = fixtures::create_user(app, email, "SUPERVISOR", None).await;
    let token = app.login(email, &DEMO_PASSWORD.repeat(2)).await["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
    let mut socket = raw_socket(app).await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.unwrap().unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"));
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": EVENTS } });
    socket.send(Message::text(subscribe.to_string())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    (user, socket)
}

async fn next_event(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("an event in time");
    serde_json::from_str(message.unwrap().unwrap().to_text().unwrap()).unwrap()
}

async fn a_deactivated_supervisors_subscription_stops_within_one_event(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let (user, mut socket) = subscribed_supervisor(app, "watching@example.com").await;
    ComplaintBuilder::new().create(app, &agent).await;
    assert_eq!(next_event(&mut socket).await["type"], "next");

    let admin = app.login_as("admin@example.com").await;
    app.ok(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { active } }", json!({ "id": user["id"] })).await;
    ComplaintBuilder::new().create(app, &agent).await;
    let mut seen = Vec::new();
    assert_eq!(close_code(&mut socket, &mut seen).await, Some(4403));
    assert!(seen.iter().all(|m| m["type"] != "next"), "no event after deactivation: {seen:?}");
}

async fn a_demoted_supervisors_subscription_stops_within_one_event(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let (user, mut socket) = subscribed_supervisor(app, "demoted@example.com").await;
    ComplaintBuilder::new().create(app, &agent).await;
    assert_eq!(next_event(&mut socket).await["type"], "next");

    let admin = app.login_as("admin@example.com").await;
    let demote = "mutation($id: ID!, $v: Int!) { updateUser(id: $id, expectedVersion: $v, input: { role: AGENT }) { role } }";
    app.ok(&admin, demote, json!({ "id": user["id"], "v": user["version"] })).await;
    ComplaintBuilder::new().create(app, &agent).await;
    let mut seen = Vec::new();
    assert_eq!(close_code(&mut socket, &mut seen).await, Some(4403));
    assert!(seen.iter().all(|m| m["type"] != "next"), "no event after demotion: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_ends_the_subscription() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |s| s.access_token_ttl = Duration::from_secs(2)).await else { continue };
        let supervisor = app.login_as("supervisor@example.com").await;
        let mut ws = WsClient::connect(&app, &supervisor).await;
        ws.subscribe("1", EVENTS, json!({})).await;
        let started = std::time::Instant::now();
        let mut socket = ws.into_socket();
        let mut seen = Vec::new();
        assert_eq!(close_code(&mut socket, &mut seen).await, Some(4403), "{backend:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        app.finish().await;
    }
}

async fn the_websocket_protocol_close_codes(app: &TestApp) {
    let agent = app.login_as("agent@example.com").await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {agent}") } }).to_string();
    let mut seen = Vec::new();

    // 4400: not a protocol message.
    let mut socket = raw_socket(app).await;
    socket.send(Message::text("{\"hello\": 1}")).await.unwrap();
    assert_eq!(close_code(&mut socket, &mut seen).await, Some(4400));

    // 4401: subscribe before the ack.
    let mut socket = raw_socket(app).await;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": EVENTS } }).to_string();
    socket.send(Message::text(subscribe.clone())).await.unwrap();
    assert_eq!(close_code(&mut socket, &mut seen).await, Some(4401));

    // 4403: a bad token.
    assert_eq!(init_with(app, "forged").await, Err(Some(4403)));

    // 4409: the same id twice.
    let mut socket = raw_socket(app).await;
    socket.send(Message::text(init.clone())).await.unwrap();
    socket.next().await.unwrap().unwrap();
    socket.send(Message::text(subscribe.clone())).await.unwrap();
    socket.send(Message::text(subscribe.clone())).await.unwrap();
    assert_eq!(close_code(&mut socket, &mut seen).await, Some(4409));

    // 4429: a second connection_init.
    let mut socket = raw_socket(app).await;
    socket.send(Message::text(init.clone())).await.unwrap();
    socket.next().await.unwrap().unwrap();
    socket.send(Message::text(init.clone())).await.unwrap();
    assert_eq!(close_code(&mut socket, &mut seen).await, Some(4429));

    // A message above CASEWORK_MAX_BODY_BYTES ends the connection.
    let mut socket = raw_socket(app).await;
    socket.send(Message::text(init.clone())).await.unwrap();
    socket.next().await.unwrap().unwrap();
    let huge = json!({ "id": "big", "type": "subscribe", "payload": { "query": "x".repeat(2 * 1024 * 1024) } }).to_string();
    let _ = socket.send(Message::text(huge)).await;
    let code = close_code(&mut socket, &mut seen).await;
    assert!(code.is_none() || code == Some(1009), "closed for size: {code:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_limits_init_timeout_and_subscription_caps() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.ws_init_timeout = Duration::from_secs(1);
        s.ws_max_subscriptions = 2;
        s.ws_max_subscriptions_per_user = 3;
    })
    .await
    else {
        return;
    };
    // 4408: no connection_init in time.
    let mut socket = raw_socket(&app).await;
    let mut seen = Vec::new();
    assert_eq!(close_code(&mut socket, &mut seen).await, Some(4408));

    let supervisor = app.login_as("supervisor@example.com").await;
    let mut first = WsClient::connect(&app, &supervisor).await;
    for id in ["a", "b"] {
        first.subscribe(id, EVENTS, json!({})).await;
    }
    first.subscribe("c", EVENTS, json!({})).await;
    let refused = first.next(Duration::from_secs(10)).await.expect("an answer");
    assert_eq!(refused["id"], "c");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    let mut second = WsClient::connect(&app, &supervisor).await;
    second.subscribe("d", EVENTS, json!({})).await;
    second.subscribe("e", EVENTS, json!({})).await;
    let refused = second.next(Duration::from_secs(10)).await.expect("an answer");
    assert_eq!(refused["id"], "e", "the user's fourth subscription is refused: {refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    first.close().await;
    second.close().await;
    app.finish().await;
}

/// The `graphql-ws` npm client (`.ci/ws-client`): what front ends actually use.
/// Skipped with a notice when node or the client's packages are missing,
/// unless `CASEWORK_TEST_REQUIRE_NODE=1` (CI), which installs them with `npm ci`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_ws_npm_client_sees_every_close_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/ws-client");
    let require = std::env::var("CASEWORK_TEST_REQUIRE_NODE").is_ok_and(|v| v == "1");
    if !dir.join("node_modules/graphql-ws").exists() {
        if !require {
            eprintln!("NOTE: .ci/ws-client/node_modules missing; skipping the graphql-ws client test (run npm ci there)");
            return;
        }
        let status = tokio::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .await
            .expect("running npm ci");
        assert!(status.success(), "npm ci in .ci/ws-client");
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| s.ws_init_timeout = Duration::from_secs(1)).await else { return };
    let config = json!({
        "http": app.url("/graphql"),
        "ws": app.address.replace("http://", "ws://") + "/graphql/ws",
        "agent": app.login_as("agent@example.com").await,
        "supervisor": app.login_as("supervisor@example.com").await,
        "complaint": ComplaintBuilder::new().with("title", json!("seen by graphql-ws")).input(),
    });
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node").arg(dir.join("client.mjs")).arg(config.to_string()).output(),
    )
    .await
    .expect("the client finished in time")
    .expect("running node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "node failed: {stdout} {}", String::from_utf8_lossy(&output.stderr));
    let results: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("JSON from the client: {stdout}"));
    assert_eq!(results["event"]["next"]["data"]["complaintEvents"]["complaint"]["title"], "seen by graphql-ws", "{results:#}");
    assert_eq!(results["mutation"]["errors"][0]["extensions"]["code"], "VALIDATION", "{results:#}");
    for (scenario, code) in
        [("forbidden", 4403), ("invalid", 4400), ("unauthorized", 4401), ("init_timeout", 4408), ("duplicate", 4409)]
    {
        assert_eq!(results[scenario]["closed"], code, "{scenario}: {results:#}");
    }
    app.finish().await;
}

// --- sign-in ----------------------------------------------------------------

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }";

async fn login_from(app: &TestApp, forwarded_for: Option<&str>, email: &str, password: &str) -> Value {
    let mut request = app.client.post(app.url("/graphql")).json(&json!({ "query": LOGIN, "variables": { "email": email, "password": password } }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// This process's resident set in KiB (`VmRSS`, or `VmHWM` for the peak).
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn security_events(app: &TestApp, action: &str) -> i64 {
    audit_count(app, action).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_burst_of_wrong_passwords_is_held_to_the_limit() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |s| s.password_hash_wait = Duration::from_secs(60)).await else { continue };
        let burst = (0..50).map(|i| login_from(&app, None, "supervisor@example.com", if i % 2 == 0 { "guess" } else { "Guess" }));
        let answers = futures_util::future::join_all(burst).await;
        let checked = answers.iter().filter(|a| first_error_code(a) == "UNAUTHENTICATED").count();
        let limited = answers.iter().filter(|a| first_error_code(a) == "RATE_LIMITED").count();
        assert_eq!(checked + limited, 50, "{backend:?}");
        assert!(checked <= 10, "{backend:?}: {checked} passwords were checked, the limit is 10");
        assert_eq!(security_events(&app, "security.sign_in_failed").await, checked as i64);
        assert_eq!(security_events(&app, "security.sign_in_locked").await, 1, "one lock-out recorded");
        // Even the right password waits for the window.
        assert_eq!(first_error_code(&login_from(&app, None, "supervisor@example.com", DEMO_PASSWORD).await), "RATE_LIMITED");
        let metrics = app.metrics().await;
        assert!(metrics.contains("casework_login_failures_total"), "failures counted in /metrics");
        assert!(metrics.contains("casework_login_rate_limited_total"));
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.login_attempts_per_address_per_minute = 3;
        s.edge.trusted_proxies = casework::http::client_addr::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await
    else {
        return;
    };
    for i in 0..3 {
        let answer = login_from(&app, Some("198.51.100.1"), &format!("nobody{i}@example.com"), "guess").await;
        assert_eq!(first_error_code(&answer), "UNAUTHENTICATED");
    }
    // A fourth failure from that address, whatever the email, is refused…
    assert_eq!(first_error_code(&login_from(&app, Some("198.51.100.1"), "other@example.com", "guess").await), "RATE_LIMITED");
    // …while another address behind the same proxy is not.
    assert_eq!(first_error_code(&login_from(&app, Some("198.51.100.2"), "other@example.com", "guess").await), "UNAUTHENTICATED");
    app.finish().await;

    // Without trusted proxies the header is ignored: every request is 127.0.0.1.
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| s.login_attempts_per_address_per_minute = 3).await else { return };
    for i in 0..3 {
        login_from(&app, Some(&format!("198.51.100.{i}")), &format!("nobody{i}@example.com"), "guess").await;
    }
    assert_eq!(first_error_code(&login_from(&app, Some("198.51.100.9"), "x@example.com", "guess").await), "RATE_LIMITED");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sign_in_per_document_and_bounded_inputs() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else { return };
    let two = "mutation { a: login(email: \"agent@example.com\", password: \"x\") { accessToken } b: login(email: \"supervisor@example.com\", password: \"x\") { accessToken } }";
    assert_eq!(app.error_code(None, two, json!({})).await, "VALIDATION");
    let hidden = "mutation { ...F } fragment F on Mutation { a: login(email: \"a@example.com\", password: \"x\") { accessToken } refreshSession(refreshToken: \"t\") { accessToken } }";
    assert_eq!(app.error_code(None, hidden, json!({})).await, "VALIDATION");
    // Nothing was even checked.
    assert_eq!(security_events(&app, "security.sign_in_failed").await, 0);
    let long = format!("{}@example.com", "a".repeat(250));
    assert_eq!(first_error_code(&login_from(&app, None, &long, "x").await), "VALIDATION");
    assert_eq!(first_error_code(&login_from(&app, None, "agent@example.com", &"p".repeat(2000)).await), "VALIDATION");
    app.finish().await;
}

/// Memory figures of the issue. They read the RSS of the whole test process,
/// so they only mean something alone: ignored in the parallel run, and run by
/// `.ci/run` as `cargo test --test api memory_ -- --ignored --test-threads=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures the process RSS: run alone (see .ci/run)"]
async fn memory_huge_emails_answer_validation_and_leave_rss_flat() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| s.max_body_bytes = 2 * 1024 * 1024).await else { return };
    let email = format!("{}@example.com", "a".repeat(1024 * 1024));
    assert_eq!(first_error_code(&login_from(&app, None, &email, "x").await), "VALIDATION");
    let count = std::env::var("CASEWORK_TEST_HUGE_EMAILS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000usize);
    let body = serde_json::to_vec(&json!({ "query": LOGIN, "variables": { "email": email, "password": "x" } })).unwrap();
    let flood = |n: usize| {
        futures_util::stream::iter(0..n).for_each_concurrent(8, |_| {
            let request = app.client.post(app.url("/graphql")).header("content-type", "application/json").body(body.clone());
            async move {
                let answer: Value = request.send().await.unwrap().json().await.unwrap();
                assert_eq!(first_error_code(&answer), "VALIDATION");
            }
        })
    };
    // The first hundred warm the allocators of client and server (8 requests
    // of 1 MiB in flight); what follows must not grow with the count.
    flood(100).await;
    let before = rss_kib("VmRSS:");
    flood(count).await;
    let after = rss_kib("VmRSS:");
    let growth = after.saturating_sub(before) / 1024;
    eprintln!("{count} more emails of 1 MiB after 100: RSS {} MiB -> {} MiB", before / 1024, after / 1024);
    assert!(growth < 20, "RSS grew by {growth} MiB");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures the process RSS: run alone (see .ci/run)"]
async fn memory_two_hundred_concurrent_logins_stay_under_150_mb() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else { return };
    // The test process holds client and server: its growth during the burst
    // bounds the server's. Sampled every 5 ms.
    let before = rss_kib("VmRSS:");
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib("VmRSS:"));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let answers = futures_util::future::join_all((0..200).map(|_| login_from(&app, None, "agent@example.com", DEMO_PASSWORD))).await;
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap().saturating_sub(before) / 1024;
    eprintln!("RSS before the burst {} MiB", before / 1024);
    let signed_in = answers.iter().filter(|a| a["data"]["login"].is_object()).count();
    let limited = answers.iter().filter(|a| a.get("errors").is_some() && first_error_code(a) == "RATE_LIMITED").count();
    eprintln!("200 concurrent logins: {signed_in} signed in, {limited} RATE_LIMITED, RSS growth at peak {peak} MiB");
    assert_eq!(signed_in + limited, 200, "every answer is a session or RATE_LIMITED");
    assert!(signed_in > 0);
    assert!(peak < 150, "RSS grew by {peak} MiB");
    app.finish().await;
}

// --- separation of duties ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_self_promotion_is_forbidden() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |_| {}).await else { continue };
        let admin = app.login_as("admin@example.com").await;
        let me = app.ok(&admin, "{ me { id version } }", json!({})).await["me"].clone();
        for input in [json!({ "role": "SUPERVISOR" }), json!({ "authorityLimit": "999999" }), json!({ "clearTeam": true })] {
            let update = "mutation($id: ID!, $v: Int!, $input: UpdateUserInput!) { updateUser(id: $id, expectedVersion: $v, input: $input) { role } }";
            let code = app.error_code(Some(&admin), update, json!({ "id": me["id"], "v": me["version"], "input": input })).await;
            assert_eq!(code, "FORBIDDEN", "{backend:?} {input}");
        }
        assert_eq!(app.ok(&admin, "{ me { role } }", json!({})).await["me"]["role"], "ADMIN");
        app.finish().await;
    }
}

// --- deadlines -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_supervisor_lowers_severity_and_the_audit_names_the_deadlines() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |_| {}).await else { continue };
        let agent = app.login_as("agent@example.com").await;
        let supervisor = app.login_as("supervisor@example.com").await;
        let c = ComplaintBuilder::new().with("severity", json!("HIGH")).create(&app, &agent).await;
        let update = "mutation($id: ID!, $v: Int!, $i: UpdateComplaintInput!) { updateComplaint(id: $id, expectedVersion: $v, input: $i) { id version severity } }";
        for input in [json!({ "severity": "LOW" }), json!({ "category": "BILLING" })] {
            let code = app.error_code(Some(&agent), update, json!({ "id": c["id"], "v": c["version"], "i": input })).await;
            assert_eq!(code, "FORBIDDEN", "{backend:?} {input}");
        }
        // Agents may raise it; a supervisor may lower it.
        let raised = app.ok(&agent, update, json!({ "id": c["id"], "v": c["version"], "i": { "severity": "CRITICAL" } })).await;
        let raised = raised["updateComplaint"].clone();
        let lowered = app.ok(&supervisor, update, json!({ "id": raised["id"], "v": raised["version"], "i": { "severity": "LOW" } })).await;
        assert_eq!(lowered["updateComplaint"]["severity"], "LOW");
        use sea_orm::{ConnectionTrait, Statement};
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT changes FROM audit_event WHERE action = 'complaint.updated' ORDER BY occurred_at DESC LIMIT 1".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        let changes: String = row.try_get("", "changes").unwrap_or_else(|_| {
            row.try_get::<serde_json::Value>("", "changes").map(|v| v.to_string()).unwrap()
        });
        assert!(changes.contains("resolutionDue") && changes.contains("firstResponseDue"), "{changes}");
        app.finish().await;
    }
}

// --- the cached caller (service::auth_cache) ---------------------------------

/// Asks `app` with `token` until `seen` holds of the response, for at most
/// two seconds (a change that reaches this server by notification); returns
/// how many requests that took.
async fn asked_until(app: &TestApp, token: &str, query: &str, seen: impl Fn(&Value) -> bool) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    for attempt in 1.. {
        let response = app.gql(Some(token), query, json!({})).await;
        if seen(&response) {
            return attempt;
        }
        assert!(std::time::Instant::now() < deadline, "still answered after 2 s: {response}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    unreachable!()
}

fn refused(response: &Value) -> bool {
    response["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
}

/// PostgreSQL servers reuse a verified caller (within the 60 s the tests
/// configure), yet every change to a user or their sessions reaches it: on
/// the server that made the change before its answer, and on every other
/// server by the triggers' notification; a change made in the database
/// directly, with no server involved, as well. SQLite reads the caller on
/// every request, so there each change shows on the first request.
async fn every_server_drops_a_changed_caller_at_once(app: &TestApp) {
    let other = spawn_another(app, |_| {}).await;
    let admin = app.login_as("admin@example.com").await;
    let demoted = fixtures::create_user(app, "cached-demoted@example.com", "SUPERVISOR", None).await;
    let deactivated = fixtures::create_user(app, "cached-deactivated@example.com", "AGENT", None).await;
    fixtures::create_user(app, "cached-logout@example.com", "AGENT", None).await;
    let mut sessions = Vec::new();
    for email in ["cached-demoted@example.com", "cached-deactivated@example.com", "cached-logout@example.com"] {
        sessions.push(app.login(email, &DEMO_PASSWORD.repeat(2)).await["data"]["login"].clone());
    }
    let supervisor = app.login_as("supervisor@example.com").await;
    let agent = app.login_as("agent@example.com").await;
    let tokens: Vec<String> = sessions.iter().map(|s| s["accessToken"].as_str().unwrap().to_owned()).chain([supervisor.clone(), agent.clone()]).collect();
    for token in &tokens {
        app.until_caller_cached(token).await;
        other.until_caller_cached(token).await;
    }
    let immediately = |attempts: usize, what: &str| {
        if app.backend == Backend::Sqlite {
            assert_eq!(attempts, 1, "{what}: SQLite reads the caller on every request");
        }
    };

    // Through the API on the first server: refused there at once, and on the other by notification.
    let demote = "mutation($id: ID!, $v: Int!) { updateUser(id: $id, expectedVersion: $v, input: { role: AGENT }) { role } }";
    app.ok(&admin, demote, json!({ "id": demoted["id"], "v": demoted["version"] })).await;
    assert_eq!(app.error_code(Some(&tokens[0]), ME, json!({})).await, "UNAUTHENTICATED", "demoted, same server");
    immediately(asked_until(&other, &tokens[0], ME, refused).await, "demoted");

    app.ok(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { active } }", json!({ "id": deactivated["id"] })).await;
    assert_eq!(app.error_code(Some(&tokens[1]), ME, json!({})).await, "UNAUTHENTICATED", "deactivated, same server");
    immediately(asked_until(&other, &tokens[1], ME, refused).await, "deactivated");

    let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
    assert_eq!(app.ok(&tokens[2], logout, json!({ "t": sessions[2]["refreshToken"] })).await["logout"], true);
    assert_eq!(app.error_code(Some(&tokens[2]), ME, json!({})).await, "UNAUTHENTICATED", "logged out, same server");
    immediately(asked_until(&other, &tokens[2], ME, refused).await, "logged out");

    // In the database directly (an operator at a prompt): a role changed
    // without a new token version, and a session revoked.
    app.sql("UPDATE app_user SET role = 'AGENT' WHERE email = 'supervisor@example.com'").await;
    for server in [app, &other] {
        let role = |r: &Value| r["data"]["me"]["role"] == "AGENT";
        immediately(asked_until(server, &supervisor, "{ me { role } }", role).await, "role changed in the database");
        let queue = "{ escalationQueue(first: 1) { edges { node { id } } } }";
        assert_eq!(server.error_code(Some(&supervisor), queue, json!({})).await, "FORBIDDEN", "acts as an agent");
    }
    app.sql("UPDATE refresh_token SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = (SELECT id FROM app_user WHERE email = 'agent@example.com')").await;
    for server in [app, &other] {
        immediately(asked_until(server, &agent, ME, refused).await, "session revoked in the database");
    }
    other.finish().await;
}
