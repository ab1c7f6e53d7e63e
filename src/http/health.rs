//! Liveness, readiness and Prometheus metrics.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use serde_json::json;

use super::{AppState, errors::error_body};
use crate::error::code;

/// The process is up.
pub async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// The database answers and the audit trail was not found tampered with.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if let Some(failure) = state.services.checkpoints.compromised() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "status": "audit trail compromised",
                "chainKey": failure.chain_key,
                "seq": failure.seq,
                "reason": failure.reason,
            })),
        )
            .into_response();
    }
    if crate::db::ping(&state.services.db).await {
        axum::Json(json!({ "status": "ready" })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "database unreachable" }))).into_response()
    }
}

/// `/metrics` on the API address: only with `Authorization: Bearer
/// <CASEWORK_METRICS_TOKEN>`; not served there (404) without a token, or when
/// `CASEWORK_METRICS_LISTEN` gives metrics an address of their own.
pub async fn metrics_with_token(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let settings = &state.services.settings.edge;
    // With a metrics address of its own, the API address serves no metrics at all.
    let Some(expected) = settings.metrics_token.as_ref().filter(|_| settings.metrics_listen.is_none()) else {
        return super::errors::not_found().await;
    };
    let given = super::graphql::bearer(&headers).unwrap_or_default();
    // Constant-time: compare digests.
    let same = Sha256::digest(given.as_bytes()) == Sha256::digest(expected.expose().as_bytes());
    if !same {
        let mut response = error_body(StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED, "send Authorization: Bearer <metrics token>");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    metrics(State(state)).await
}

/// Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    body.push_str("# HELP casework_db_statements_total SQL statements executed by this server.\n");
    body.push_str("# TYPE casework_db_statements_total counter\n");
    body.push_str(&format!("casework_db_statements_total {}\n", state.statements.get()));
    body.push_str("# HELP casework_evidence_hash_checks_total Whole-blob SHA-256 checks before downloads.\n");
    body.push_str("# TYPE casework_evidence_hash_checks_total counter\n");
    let checks = state.services.guards.hash_checks.load(std::sync::atomic::Ordering::Relaxed);
    body.push_str(&format!("casework_evidence_hash_checks_total {checks}\n"));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
