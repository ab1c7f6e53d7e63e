//! Liveness, readiness and Prometheus metrics.

use std::sync::Arc;

use axum::{extract::State, http::{StatusCode, header}, response::{IntoResponse, Response}};
use serde_json::json;

use super::AppState;

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

/// Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    body.push_str("# HELP casework_db_statements_total SQL statements executed by this server.\n");
    body.push_str("# TYPE casework_db_statements_total counter\n");
    body.push_str(&format!("casework_db_statements_total {}\n", state.statements.get()));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
