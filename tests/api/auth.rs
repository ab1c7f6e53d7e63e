//! Sign-in, tokens, sessions, users and the operator's commands.

use serde_json::json;

use crate::{
    fixtures,
    helpers::{DEMO_PASSWORD, JWT_SECRET, TestApp, first_error_code},
};

crate::on_both_databases!(
    every_demo_account_signs_in_and_sees_its_role,
    a_wrong_password_and_an_unknown_email_look_the_same,
    requests_without_a_valid_token_are_unauthenticated,
    refresh_rotates_and_reuse_revokes_the_session,
    logout_ends_the_session,
    admins_manage_users_and_others_cannot,
    a_deactivated_user_is_locked_out_at_once,
    stale_user_versions_conflict,
    repeated_failed_sign_ins_are_rate_limited,
);

const ME: &str = "{ me { email role displayName team { name tier } } }";

async fn every_demo_account_signs_in_and_sees_its_role(app: &TestApp) {
    for (email, role) in [
        ("agent@example.com", "AGENT"),
        ("agent2@example.com", "AGENT"),
        ("supervisor@example.com", "SUPERVISOR"),
        ("legal@example.com", "LEGAL"),
        ("auditor@example.com", "AUDITOR"),
        ("admin@example.com", "ADMIN"),
    ] {
        let token = app.login_as(email).await;
        let me = app.ok(&token, ME, json!({})).await;
        assert_eq!(me["me"]["email"], email);
        assert_eq!(me["me"]["role"], role, "{email}");
    }
    let agent = app.login_as("agent@example.com").await;
    let me = app.ok(&agent, ME, json!({})).await;
    assert_eq!(me["me"]["team"]["name"], "Frontline A");
    assert_eq!(me["me"]["team"]["tier"], "TIER1");
}

async fn a_wrong_password_and_an_unknown_email_look_the_same(app: &TestApp) {
    let wrong_password = app.login("agent@example.com", "not-the-password").await;
    let unknown_email = app.login("nobody@example.com", "not-the-password").await;
    assert_eq!(first_error_code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(wrong_password["errors"][0]["message"], unknown_email["errors"][0]["message"]);
    assert_eq!(wrong_password["errors"][0]["extensions"], unknown_email["errors"][0]["extensions"]);
    let malformed = app.login("not an email", "x").await;
    assert_eq!(malformed["errors"][0]["message"], wrong_password["errors"][0]["message"]);
}

async fn requests_without_a_valid_token_are_unauthenticated(app: &TestApp) {
    // No token at all.
    assert_eq!(app.error_code(None, ME, json!({})).await, "UNAUTHENTICATED");
    // Garbage.
    assert_eq!(app.error_code(Some("not-a-jwt"), ME, json!({})).await, "UNAUTHENTICATED");

    let token = app.login_as("agent@example.com").await;
    let user_id = {
        let claims = token.split('.').nth(1).unwrap();
        use base64::Engine;
        let claims: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        claims["sub"].as_str().unwrap().to_owned()
    };
    let sign = |secret: &str, iat: i64, exp: i64| {
        // `ver` (the user's token version) is required since tokens became revocable.
        let claims = json!({ "sub": user_id, "role": "ADMIN", "ver": 0, "iat": iat, "exp": exp, "iss": "casework", "aud": "casework-api" });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    // Forged: signed with another key.
    let forged = sign("someone-elses-secret-that-is-long-enough!!", now, now + 600);
    assert_eq!(app.error_code(Some(&forged), ME, json!({})).await, "UNAUTHENTICATED");
    // Expired, though correctly signed.
    let expired = sign(JWT_SECRET, now - 3600, now - 1800);
    assert_eq!(app.error_code(Some(&expired), ME, json!({})).await, "UNAUTHENTICATED");
    // A valid token's role claim is not trusted: the database says AGENT.
    let valid = sign(JWT_SECRET, now, now + 600);
    let me = app.ok(&valid, ME, json!({})).await;
    assert_eq!(me["me"]["role"], "AGENT");
    // Signing in still works while a stale token is sent along.
    let response = app
        .gql(
            Some(&expired),
            "mutation { login(email: \"agent@example.com\", password: \"casework-demo\") { accessToken } }",
            json!({}),
        )
        .await;
    assert!(response["data"]["login"]["accessToken"].is_string(), "{response:#}");
}

const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { email } } }";

async fn refresh_rotates_and_reuse_revokes_the_session(app: &TestApp) {
    let login = app.login("agent@example.com", DEMO_PASSWORD).await;
    let first = login["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();

    let rotated = app.gql(None, REFRESH, json!({ "t": first })).await;
    let second = rotated["data"]["refreshSession"]["refreshToken"].as_str().expect("rotation").to_owned();
    assert_ne!(first, second);
    let access = rotated["data"]["refreshSession"]["accessToken"].as_str().unwrap();
    assert_eq!(app.ok(access, ME, json!({})).await["me"]["email"], "agent@example.com");

    // Once its successor has been used, the old token no longer works, and
    // using it is taken as theft: the whole family is revoked, including the
    // newest token. (Presenting it again before the successor is used is a
    // retry of a lost answer: see sessions::a_lost_refresh_can_be_retried…)
    let third = app.gql(None, REFRESH, json!({ "t": second })).await;
    let third = third["data"]["refreshSession"]["refreshToken"].as_str().expect("rotation").to_owned();
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": first })).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": third })).await, "UNAUTHENTICATED");

    // Another session of the same user is unaffected.
    let other = app.login("agent@example.com", DEMO_PASSWORD).await;
    let other = other["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
    assert!(app.gql(None, REFRESH, json!({ "t": other })).await["data"]["refreshSession"].is_object());
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": "made-up" })).await, "UNAUTHENTICATED");
}

async fn logout_ends_the_session(app: &TestApp) {
    let login = app.login("agent@example.com", DEMO_PASSWORD).await;
    let refresh = login["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
    let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
    assert_eq!(app.gql(None, logout, json!({ "t": refresh })).await["data"]["logout"], true);
    assert_eq!(app.gql(None, logout, json!({ "t": refresh })).await["data"]["logout"], false);
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": refresh })).await, "UNAUTHENTICATED");
}

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { id email role version authorityLimit team { name } } }";

async fn admins_manage_users_and_others_cannot(app: &TestApp) {
    let admin = app.login_as("admin@example.com").await;
    let team = fixtures::team_id(app, &admin, "Frontline B").await;
    let input = json!({ "input": {
        "email": "New.Agent@Example.com", "displayName": "New Agent", "role": "AGENT",
        "teamId": team,
    }});
    let created = app.ok(&admin, CREATE_USER, input.clone()).await["createUser"].clone();
    assert_eq!(created["email"], "new.agent@example.com");
    assert_eq!(created["team"]["name"], "Frontline B");
    assert_eq!(created["authorityLimit"], "500");

    // The new account signs in once its user chose a password with a reset token.
    let reset = fixtures::issue_reset(app, &admin, &created["id"]).await;
    let redeem = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
    let short = app.gql(None, redeem, json!({ "t": reset, "p": "short" })).await;
    assert_eq!(short["errors"][0]["extensions"]["field"], "newPassword", "{short}");
    let redeemed = app.gql(None, redeem, json!({ "t": reset, "p": "a-long-enough-password" })).await;
    assert_eq!(redeemed["data"]["resetPassword"], true, "{redeemed}");
    let token = app.login("new.agent@example.com", "a-long-enough-password").await;
    assert!(token["data"]["login"]["accessToken"].is_string());

    // Duplicates and bad input are validation errors naming their field.
    let duplicate = app.gql(Some(&admin), CREATE_USER, input.clone()).await;
    assert_eq!(first_error_code(&duplicate), "VALIDATION");
    assert_eq!(duplicate["errors"][0]["extensions"]["field"], "input.email");
    let mut bad = input.clone();
    bad["input"]["email"] = json!("not an email");
    let bad = app.gql(Some(&admin), CREATE_USER, bad).await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "input.email");

    // Everyone else is refused, before any validation.
    for email in ["agent@example.com", "supervisor@example.com", "legal@example.com", "auditor@example.com"] {
        let token = app.login_as(email).await;
        assert_eq!(app.error_code(Some(&token), CREATE_USER, input.clone()).await, "FORBIDDEN", "{email}");
        assert_eq!(app.error_code(Some(&token), "{ users { edges { node { email } } } }", json!({})).await, "FORBIDDEN");
    }

    // The admin lists users, a page at a time.
    let page = app.ok(&admin, "{ users(first: 3) { edges { cursor node { email } } pageInfo { hasNextPage endCursor } } }", json!({})).await;
    assert_eq!(page["users"]["edges"].as_array().unwrap().len(), 3);
    assert_eq!(page["users"]["pageInfo"]["hasNextPage"], true);
    let after = page["users"]["pageInfo"]["endCursor"].clone();
    let rest = app
        .ok(&admin, "query($after: String) { users(first: 50, after: $after) { edges { node { email } } } }", json!({ "after": after }))
        .await;
    assert_eq!(rest["users"]["edges"].as_array().unwrap().len(), 6, "9 users in all (8 demo accounts)");
}

async fn a_deactivated_user_is_locked_out_at_once(app: &TestApp) {
    let user = fixtures::create_user(app, "leaving@example.com", "AGENT", None).await;
    let password = DEMO_PASSWORD.repeat(2);
    let login = app.login("leaving@example.com", &password).await;
    let access = login["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
    let refresh = login["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
    assert!(app.ok(&access, ME, json!({})).await["me"].is_object());

    let admin = app.login_as("admin@example.com").await;
    let deactivated = app
        .ok(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { active } }", json!({ "id": user["id"] }))
        .await;
    assert_eq!(deactivated["deactivateUser"]["active"], false);

    assert_eq!(app.error_code(Some(&access), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": refresh })).await, "UNAUTHENTICATED");
    assert_eq!(first_error_code(&app.login("leaving@example.com", &password).await), "UNAUTHENTICATED");
}

async fn stale_user_versions_conflict(app: &TestApp) {
    let user = fixtures::create_user(app, "versioned@example.com", "AGENT", None).await;
    let admin = app.login_as("admin@example.com").await;
    let update = "mutation($id: ID!, $v: Int!, $name: String!) { updateUser(id: $id, expectedVersion: $v, input: { displayName: $name, authorityLimit: \"450.50\" }) { displayName version authorityLimit } }";
    let updated = app.ok(&admin, update, json!({ "id": user["id"], "v": 1, "name": "Renamed" })).await;
    assert_eq!(updated["updateUser"]["version"], 2);
    // A cut applies at once (a raise would wait for a second administrator).
    assert_eq!(updated["updateUser"]["authorityLimit"], "450.50");
    assert_eq!(app.error_code(Some(&admin), update, json!({ "id": user["id"], "v": 1, "name": "Again" })).await, "CONFLICT");
}

async fn repeated_failed_sign_ins_are_rate_limited(app: &TestApp) {
    for _ in 0..10 {
        assert_eq!(first_error_code(&app.login("supervisor@example.com", "guess").await), "UNAUTHENTICATED");
    }
    // Even the right password is refused for a while.
    assert_eq!(first_error_code(&app.login("supervisor@example.com", DEMO_PASSWORD).await), "RATE_LIMITED");
    // Other accounts are unaffected.
    assert!(app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].is_object());
}

#[test]
fn production_refuses_to_start_without_a_jwt_secret() {
    let dir = crate::helpers::tempfile_dir::TempDir::new();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_casework"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CASEWORK_ENV", "production")
        .env_remove("CASEWORK_JWT_SECRET")
        .env("DATABASE_URL", format!("sqlite://{}/prod.db?mode=rwc", dir.path()))
        .output()
        .expect("running casework");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CASEWORK_JWT_SECRET is required"), "stderr: {stderr}");
}

#[test]
fn production_refuses_the_demo() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_casework"))
        .args(["serve", "--demo"])
        .env("CASEWORK_ENV", "production")
        .env("CASEWORK_JWT_SECRET", "x".repeat(40))
        .output()
        .expect("running casework");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--demo is refused"));
}

#[test]
fn the_operator_adds_a_user_from_the_command_line() {
    let dir = crate::helpers::tempfile_dir::TempDir::new();
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path());
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_casework"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env_remove("CASEWORK_PASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running casework");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let added = run(&["user", "add", "--email", "ops@example.com", "--name", "Ops", "--role", "admin"], "a-password-from-stdin\n");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert!(String::from_utf8_lossy(&added.stdout).contains("created ops@example.com (ADMIN)"));
    let again = run(&["user", "add", "--email", "ops@example.com", "--name", "Ops", "--role", "admin"], "a-password-from-stdin\n");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let weak = run(&["user", "add", "--email", "weak@example.com", "--name", "W", "--role", "agent"], "short\n");
    assert!(!weak.status.success());
}
