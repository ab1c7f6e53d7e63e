//! The reference web console (`/console`) and GraphiQL (`GET /graphql` in a
//! browser), both served from files embedded in the binary (see [`super::assets`]).
//! The console is a static single-page app that talks to the public API only:
//! `POST /graphql`, `/graphql/ws` and the evidence download.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde_json::json;

use super::{
    AppState,
    assets::{self, CONSOLE_CSP, GRAPHIQL_CSP},
    errors::not_found,
};
use crate::service::{audit, demo};

/// The console's routes: `/` (a browser is sent to the console), `/console`,
/// its files, and `/console/config.json`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(root))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/config.json", get(config))
        .route("/console/{dir}/{file}", get(file))
        .route("/audit/export", get(audit_export))
}

/// `GET /`: a browser (asking for HTML) goes to the console; anything else gets the usual 404.
async fn root(headers: HeaderMap) -> Response {
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if wants_html { Redirect::to("/console").into_response() } else { not_found().await }
}

async fn index(headers: HeaderMap) -> Response {
    serve(&headers, "console/index.html", CONSOLE_CSP)
}

/// `GET /console/{console,vendor}/{file}`: an embedded file.
async fn file(headers: HeaderMap, Path((dir, file)): Path<(String, String)>) -> Response {
    if dir != "console" && dir != "vendor" && dir != "graphiql" {
        return not_found().await;
    }
    // A script's or stylesheet's own CSP does not govern the page; only
    // GraphiQL's page needs the looser style policy.
    serve(&headers, &format!("{dir}/{file}"), CONSOLE_CSP)
}

fn serve(headers: &HeaderMap, path: &str, csp: &'static str) -> Response {
    match assets::find(path) {
        Some(asset) => asset.respond(headers, csp),
        None => super::errors::error_body(StatusCode::NOT_FOUND, crate::error::code::NOT_FOUND, "no such resource"),
    }
}

/// `GET /console/config.json`: what the sign-in page may show. Only public
/// facts: whether the server runs in demo mode and, if so, the demo accounts
/// (and their password when it is the documented default).
async fn config(State(state): State<Arc<AppState>>) -> Response {
    let settings = &state.services.settings;
    let demo = settings.demo && !settings.is_production();
    let accounts: Vec<_> = if demo {
        demo::ACCOUNTS.iter().map(|(email, name, role, _)| json!({ "email": email, "name": name, "role": role })).collect()
    } else {
        Vec::new()
    };
    let password = (demo && settings.demo_password.expose() == DEFAULT_DEMO_PASSWORD).then_some(DEFAULT_DEMO_PASSWORD);
    let mut response = Json(json!({
        "demo": demo,
        "demoAccounts": accounts,
        "demoPassword": password,
        "graphiql": !settings.is_production(),
    }))
    .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The documented default of `CASEWORK_DEMO_PASSWORD` (printed in the README).
const DEFAULT_DEMO_PASSWORD: &str = "casework-demo";

/// GraphiQL, from the vendored graphiql/react packages, under [`GRAPHIQL_CSP`].
pub fn graphiql(headers: &HeaderMap) -> Response {
    serve(headers, "graphiql/index.html", GRAPHIQL_CSP)
}

/// `GET /audit/export` with a bearer token: the whole audit trail as JSON Lines
/// (what `casework audit export` writes), as a download, for legal, auditors and
/// administrators. The export is itself recorded (`audit.exported`).
async fn audit_export(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let ctx = super::graphql::request_context(&state.services, &headers, peer).await;
    match audit::export(&state.services, &ctx).await {
        Ok((file, _)) => {
            let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
            let name = format!("casework-audit-{}.jsonl", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
            let disposition = format!("attachment; filename=\"{name}\"");
            let mut response = body.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jsonl; charset=utf-8"));
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, value);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        Err(error) => super::errors::app_error(error),
    }
}
