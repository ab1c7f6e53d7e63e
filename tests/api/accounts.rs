//! Accounts under separation of duties (issue 10): passwords only their owner
//! chooses (`changePassword`, one-time reset tokens), privileges that wait for
//! a second administrator (role grants), and access tokens that die with
//! their sign-in session.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    fixtures,
    helpers::{Backend, DEMO_PASSWORD, TestApp, first_error_code, spawn_app_with},
};

crate::on_both_databases!(
    an_admin_cannot_set_or_choose_a_password,
    a_reset_token_works_once_and_ends_every_session,
    change_password_needs_the_old_password_and_ends_other_sessions,
    logout_kills_the_access_token_of_that_session_only,
    a_role_grant_waits_for_a_second_admin,
    a_stale_grant_is_refused_and_lowering_applies_at_once,
    a_new_privileged_account_is_inactive_until_approved,
);

const ME: &str = "{ me { email role } }";
const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
const CHANGE: &str =
    "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) { accessToken refreshToken } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $i: UpdateUserInput!) { updateUser(id: $id, expectedVersion: $v, input: $i) { id role version authorityLimit authorityCurrency } }";
const APPROVE: &str = "mutation($id: ID!) { approveRoleGrant(id: $id) { status user { role active authorityLimit } decidedBy { email } } }";
const REJECT: &str = "mutation($id: ID!) { rejectRoleGrant(id: $id, reason: \"no\") { status } }";

async fn session(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let login = app.login(email, password).await;
    let login = &login["data"]["login"];
    assert!(login.is_object(), "{email} signs in");
    (login["accessToken"].as_str().unwrap().to_owned(), login["refreshToken"].as_str().unwrap().to_owned())
}

async fn events(app: &TestApp, action: &str) -> u64 {
    entity::audit_event::Entity::find().filter(entity::audit_event::Column::Action.eq(action)).count(&app.db).await.unwrap()
}

async fn an_admin_cannot_set_or_choose_a_password(app: &TestApp) {
    let user = fixtures::create_user(app, "victim@example.com", "AGENT", None).await;
    let admin = app.login_as("admin@example.com").await;
    let set = json!({ "id": user["id"], "v": user["version"], "i": { "password": "chosen-by-the-admin" } });
    assert_eq!(app.error_code(Some(&admin), UPDATE, set).await, "FORBIDDEN");
    let create = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }";
    let input = json!({ "i": { "email": "new@example.com", "displayName": "New", "role": "AGENT", "password": "chosen-by-the-admin" } });
    assert_eq!(app.error_code(Some(&admin), create, input).await, "FORBIDDEN");
    assert_eq!(first_error_code(&app.login("victim@example.com", "chosen-by-the-admin").await), "UNAUTHENTICATED");
    // Only an admin issues resets, and never for themselves.
    let issue = "mutation($id: ID!) { issuePasswordReset(userId: $id) { token } }";
    let supervisor = app.login_as("supervisor@example.com").await;
    assert_eq!(app.error_code(Some(&supervisor), issue, json!({ "id": user["id"] })).await, "FORBIDDEN");
    let me = app.ok(&admin, "{ me { id } }", json!({})).await["me"]["id"].clone();
    assert_eq!(app.error_code(Some(&admin), issue, json!({ "id": me })).await, "FORBIDDEN");
    assert_eq!(app.error_code(None, issue, json!({ "id": user["id"] })).await, "UNAUTHENTICATED");
}

async fn a_reset_token_works_once_and_ends_every_session(app: &TestApp) {
    let user = fixtures::create_user(app, "forgetful@example.com", "AGENT", None).await;
    let (access, refresh) = session(app, "forgetful@example.com", &DEMO_PASSWORD.repeat(2)).await;
    let admin = app.login_as("admin@example.com").await;
    let first = fixtures::issue_reset(app, &admin, &user["id"]).await;
    // A newer token supersedes the first.
    let token = fixtures::issue_reset(app, &admin, &user["id"]).await;
    assert_eq!(app.error_code(None, RESET, json!({ "t": first, "p": "a-long-new-password" })).await, "UNAUTHENTICATED");

    let weak = app.gql(None, RESET, json!({ "t": token, "p": "short" })).await;
    assert_eq!(weak["errors"][0]["extensions"]["field"], "newPassword", "{weak}");
    let done = app.gql(None, RESET, json!({ "t": token, "p": "a-long-new-password" })).await;
    assert_eq!(done["data"]["resetPassword"], true, "{done}");
    // Single use.
    assert_eq!(app.error_code(None, RESET, json!({ "t": token, "p": "yet-another-password" })).await, "UNAUTHENTICATED");
    // Every earlier token of the user is dead; the new password signs in, the old one not.
    assert_eq!(app.error_code(Some(&access), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": refresh })).await, "UNAUTHENTICATED");
    assert_eq!(first_error_code(&app.login("forgetful@example.com", &DEMO_PASSWORD.repeat(2)).await), "UNAUTHENTICATED");
    session(app, "forgetful@example.com", "a-long-new-password").await;
    // Every step is audited, the refusals on the security chain.
    assert_eq!(events(app, "user.password_reset_issued").await, 3, "the fixture's, and two here");
    assert_eq!(events(app, "user.password_reset").await, 2);
    assert_eq!(events(app, "security.password_reset_refused").await, 2);
    // The database holds only digests.
    let stored = entity::password_reset::Entity::find().all(&app.db).await.unwrap();
    assert!(stored.iter().all(|r| r.token_hash != token && r.token_hash.len() == 64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_reset_token_is_refused() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |s| s.reset_token_ttl = Duration::from_secs(1)).await else { continue };
        let admin = app.login_as("admin@example.com").await;
        let agent = app.ok(&admin, "{ users(role: AGENT, first: 1) { edges { node { id } } } }", json!({})).await;
        let token = fixtures::issue_reset(&app, &admin, &agent["users"]["edges"][0]["node"]["id"]).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let code = app.error_code(None, RESET, json!({ "t": token, "p": "a-long-new-password" })).await;
        assert_eq!(code, "UNAUTHENTICATED", "{backend:?}");
        // The old password still works: nothing changed.
        assert!(app.login("agent@example.com", DEMO_PASSWORD).await["data"]["login"].is_object());
        app.finish().await;
    }
}

async fn change_password_needs_the_old_password_and_ends_other_sessions(app: &TestApp) {
    fixtures::create_user(app, "changer@example.com", "AGENT", None).await;
    let old = DEMO_PASSWORD.repeat(2);
    let (access, _) = session(app, "changer@example.com", &old).await;
    let (other, other_refresh) = session(app, "changer@example.com", &old).await;
    assert_eq!(app.error_code(None, CHANGE, json!({ "o": old, "n": "a-long-new-password" })).await, "UNAUTHENTICATED");
    // A stolen access token alone cannot take the account over.
    let wrong = app.gql(Some(&access), CHANGE, json!({ "o": "not-the-password", "n": "a-long-new-password" })).await;
    assert_eq!(first_error_code(&wrong), "VALIDATION");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "oldPassword");
    let weak = app.gql(Some(&access), CHANGE, json!({ "o": old, "n": "short" })).await;
    assert_eq!(weak["errors"][0]["extensions"]["field"], "newPassword");
    let same = app.gql(Some(&access), CHANGE, json!({ "o": old, "n": old })).await;
    assert_eq!(same["errors"][0]["extensions"]["field"], "newPassword");
    assert_eq!(events(app, "security.password_change_failed").await, 1);

    let changed = app.ok(&access, CHANGE, json!({ "o": old, "n": "a-long-new-password" })).await["changePassword"].clone();
    // Every earlier token dies, the caller's own included; the answer is a fresh session.
    for token in [&access, &other] {
        assert_eq!(app.error_code(Some(token), ME, json!({})).await, "UNAUTHENTICATED");
    }
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": other_refresh })).await, "UNAUTHENTICATED");
    let fresh = changed["accessToken"].as_str().unwrap();
    assert_eq!(app.ok(fresh, ME, json!({})).await["me"]["email"], "changer@example.com");
    assert!(app.gql(None, REFRESH, json!({ "t": changed["refreshToken"] })).await["data"]["refreshSession"].is_object());
    assert_eq!(events(app, "security.password_changed").await, 1);
    session(app, "changer@example.com", "a-long-new-password").await;

    // Guessing the old password is limited like sign-ins.
    let codes = futures_util::future::join_all(
        (0..12).map(|_| app.gql(Some(fresh), CHANGE, json!({ "o": "guess-guess-guess", "n": "a-long-new-password-2" }))),
    )
    .await;
    assert!(codes.iter().any(|r| first_error_code(r) == "RATE_LIMITED"), "{codes:?}");
}

async fn logout_kills_the_access_token_of_that_session_only(app: &TestApp) {
    let (access, refresh) = session(app, "agent@example.com", DEMO_PASSWORD).await;
    let (other, _) = session(app, "agent@example.com", DEMO_PASSWORD).await;
    let logout = "mutation($t: String!) { logout(refreshToken: $t) }";
    assert_eq!(app.gql(None, logout, json!({ "t": refresh })).await["data"]["logout"], true);
    assert_eq!(app.error_code(Some(&access), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.ok(&other, ME, json!({})).await["me"]["email"], "agent@example.com");

    // Logging out with a rotated token ends its whole session, the live access token included.
    let (_, refresh) = session(app, "agent2@example.com", DEMO_PASSWORD).await;
    let rotate = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
    let rotated = app.gql(None, rotate, json!({ "t": refresh })).await["data"].clone();
    let live = rotated["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.gql(None, logout, json!({ "t": refresh })).await["data"]["logout"], true);
    assert_eq!(app.error_code(Some(&live), ME, json!({})).await, "UNAUTHENTICATED");
    let successor = rotated["refreshSession"]["refreshToken"].clone();
    assert_eq!(app.error_code(None, REFRESH, json!({ "t": successor })).await, "UNAUTHENTICATED");
}

async fn pending(app: &TestApp, admin: &str) -> Vec<Value> {
    let page = app
        .ok(admin, "{ roleGrants(first: 10) { edges { node { id role authorityLimit activatesAccount status user { email } requestedBy { email } } } } }", json!({}))
        .await;
    page["roleGrants"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

async fn a_role_grant_waits_for_a_second_admin(app: &TestApp) {
    let user = fixtures::create_user(app, "rising@example.com", "AGENT", None).await;
    let (access, _) = session(app, "rising@example.com", &DEMO_PASSWORD.repeat(2)).await;
    let admin = app.login_as("admin@example.com").await;
    let admin2 = app.login_as("admin2@example.com").await;
    let updated = app.ok(&admin, UPDATE, json!({ "id": user["id"], "v": user["version"], "i": { "role": "SUPERVISOR" } })).await;
    // Nothing changed yet.
    assert_eq!(updated["updateUser"]["role"], "AGENT");
    assert_eq!(app.ok(&access, ME, json!({})).await["me"]["role"], "AGENT");
    let grants = pending(app, &admin2).await;
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!((grants[0]["role"].as_str(), grants[0]["requestedBy"]["email"].as_str()), (Some("SUPERVISOR"), Some("admin@example.com")));
    let grant = grants[0]["id"].clone();

    // Not the requester, not a non-admin, not the grantee.
    assert_eq!(app.error_code(Some(&admin), APPROVE, json!({ "id": grant })).await, "FORBIDDEN");
    for email in ["supervisor@example.com", "auditor@example.com"] {
        let token = app.login_as(email).await;
        assert_eq!(app.error_code(Some(&token), APPROVE, json!({ "id": grant })).await, "FORBIDDEN", "{email}");
        assert_eq!(app.error_code(Some(&token), "{ roleGrants { edges { node { id } } } }", json!({})).await, "FORBIDDEN");
    }
    assert_eq!(app.error_code(Some(&access), APPROVE, json!({ "id": grant })).await, "FORBIDDEN");

    let approved = app.ok(&admin2, APPROVE, json!({ "id": grant })).await["approveRoleGrant"].clone();
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["user"]["role"], "SUPERVISOR");
    assert_eq!(approved["decidedBy"]["email"], "admin2@example.com");
    // A new role ends the tokens issued for the old one.
    assert_eq!(app.error_code(Some(&access), ME, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.error_code(Some(&admin2), APPROVE, json!({ "id": grant })).await, "INVALID_TRANSITION");
    assert!(pending(app, &admin).await.is_empty());
    assert_eq!(events(app, "role_grant.requested").await, 1);
    assert_eq!(events(app, "role_grant.approved").await, 1);

    // An admin cannot approve a raise of their own limit, even requested by another.
    let me = app.ok(&admin, "{ me { id version } }", json!({})).await["me"].clone();
    app.ok(&admin2, UPDATE, json!({ "id": me["id"], "v": me["version"], "i": { "authorityLimit": "100000" } })).await;
    let grant = pending(app, &admin).await[0]["id"].clone();
    assert_eq!(app.error_code(Some(&admin), APPROVE, json!({ "id": grant })).await, "FORBIDDEN");
    assert_eq!(app.error_code(Some(&admin), REJECT, json!({ "id": grant })).await, "FORBIDDEN");
    assert_eq!(app.ok(&admin2, REJECT, json!({ "id": grant })).await["rejectRoleGrant"]["status"], "REJECTED");
}

async fn a_stale_grant_is_refused_and_lowering_applies_at_once(app: &TestApp) {
    let user = fixtures::create_user(app, "moving@example.com", "AGENT", None).await;
    let admin = app.login_as("admin@example.com").await;
    let admin2 = app.login_as("admin2@example.com").await;
    // A raise of the authority waits.
    let raised = app.ok(&admin, UPDATE, json!({ "id": user["id"], "v": user["version"], "i": { "authorityLimit": "2000" } })).await;
    assert_eq!(raised["updateUser"]["authorityLimit"], "500");
    let grant = pending(app, &admin2).await[0]["id"].clone();
    // The user changes before the approval: the grant is stale.
    let renamed = app.ok(&admin, UPDATE, json!({ "id": user["id"], "v": raised["updateUser"]["version"], "i": { "displayName": "Moved" } })).await;
    assert_eq!(app.error_code(Some(&admin2), APPROVE, json!({ "id": grant })).await, "CONFLICT");
    app.ok(&admin2, REJECT, json!({ "id": grant })).await;
    // A cut applies at once, no grant.
    let cut = app.ok(&admin, UPDATE, json!({ "id": user["id"], "v": renamed["updateUser"]["version"], "i": { "authorityLimit": "100" } })).await;
    assert_eq!(cut["updateUser"]["authorityLimit"], "100");
    assert!(pending(app, &admin2).await.is_empty());
    // So does a demotion.
    let supervisor = fixtures::create_user(app, "stepping-down@example.com", "SUPERVISOR", None).await;
    let demoted = app.ok(&admin, UPDATE, json!({ "id": supervisor["id"], "v": supervisor["version"], "i": { "role": "AGENT" } })).await;
    assert_eq!(demoted["updateUser"]["role"], "AGENT");
    assert!(pending(app, &admin2).await.is_empty());
}

async fn a_new_privileged_account_is_inactive_until_approved(app: &TestApp) {
    let admin = app.login_as("admin@example.com").await;
    let admin2 = app.login_as("admin2@example.com").await;
    let create = "mutation($i: CreateUserInput!) { createUser(input: $i) { id role active } }";
    let created = app
        .ok(&admin, create, json!({ "i": { "email": "counsel@example.com", "displayName": "Counsel", "role": "LEGAL" } }))
        .await["createUser"]
        .clone();
    assert_eq!((created["role"].as_str(), created["active"].as_bool()), (Some("LEGAL"), Some(false)));
    let token = fixtures::issue_reset(app, &admin, &created["id"]).await;
    assert_eq!(app.gql(None, RESET, json!({ "t": token, "p": "counsel-password" })).await["data"]["resetPassword"], true);
    // Not before a second admin approves.
    assert_eq!(first_error_code(&app.login("counsel@example.com", "counsel-password").await), "UNAUTHENTICATED");
    let grant = pending(app, &admin2).await;
    assert_eq!(grant[0]["activatesAccount"], true);
    assert_eq!(app.error_code(Some(&admin), APPROVE, json!({ "id": grant[0]["id"] })).await, "FORBIDDEN");
    let approved = app.ok(&admin2, APPROVE, json!({ "id": grant[0]["id"] })).await["approveRoleGrant"].clone();
    assert_eq!(approved["user"]["active"], true);
    let (access, _) = session(app, "counsel@example.com", "counsel-password").await;
    assert_eq!(app.ok(&access, ME, json!({})).await["me"]["role"], "LEGAL");
}
