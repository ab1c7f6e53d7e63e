//! The HTTP edge: routes, middleware (request id, tracing, limits, CORS,
//! timeouts, panics), the GraphQL handler, health and metrics.

mod assets;
mod console;
pub mod client_addr;
mod errors;
mod evidence;
mod graphql;
mod documents;
mod shape;
mod health;
mod upload;
mod ws;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{HeaderName, HeaderValue, Method, Request, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::PropagateRequestIdLayer,
    trace::TraceLayer,
};

use crate::{config::Settings, db::StatementCounter, graphql::CaseworkSchema, service::Services};

pub use errors::error_body;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: CaseworkSchema,
    pub metrics: Option<PrometheusHandle>,
    pub statements: StatementCounter,
    /// Parsed documents by query text.
    pub documents: Arc<documents::Documents>,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The request id a client sent, after [`request_ids`] checked it: kept for the
/// logs, next to ours, never stored in the audit trail.
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");
/// The longest client request id kept.
const MAX_CLIENT_REQUEST_ID: usize = 64;

/// The CSP of every response that did not set its own: nothing may load,
/// nothing may frame us.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub fn router(state: AppState) -> Router {
    let settings = state.services.settings.clone();
    let middleware = ServiceBuilder::new()
        .layer(middleware::from_fn(request_ids))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let header = |name: &HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("-");
            let (request_id, client_request_id) = (header(&REQUEST_ID), header(&CLIENT_REQUEST_ID));
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id, client_request_id, operation = tracing::field::Empty)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID));
    let limits = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(errors::panic_response))
        .layer(middleware::from_fn_with_state(settings.clone(), timeout))
        .layer(cors(&settings.cors_origins));
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::ws))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_with_token))
        .route("/evidence/{id}/content", get(evidence::content))
        .merge(console::routes())
        .fallback(errors::not_found)
        // Only `POST /graphql` reads a body, and it enforces its own limits:
        // CASEWORK_MAX_BODY_BYTES for JSON, CASEWORK_MAX_UPLOAD_BYTES for uploads.
        .layer(limits)
        .layer(middleware::map_response(errors::json_errors))
        .layer(middleware::map_response(security_headers))
        .layer(middleware)
        .with_state(Arc::new(state))
}

/// The router of `CASEWORK_METRICS_LISTEN`: `/metrics` alone, without a token.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .fallback(errors::not_found)
        .layer(middleware::map_response(security_headers))
        .with_state(Arc::new(state))
}

/// Every request gets an id of ours (a UUID v7), whatever the client sent: a
/// client value is not unique, may be huge or hostile, and ends up in logs
/// and audit rows. A client's `X-Request-Id` is kept, for correlating logs
/// only, as `x-client-request-id` when it is at most 64 characters of
/// `[A-Za-z0-9._:-]`, and dropped otherwise.
async fn request_ids(mut request: Request<axum::body::Body>, next: Next) -> Response {
    let headers = request.headers_mut();
    let client = headers.remove(REQUEST_ID).filter(|v| is_safe_request_id(v.as_bytes()));
    headers.remove(CLIENT_REQUEST_ID);
    if let Some(client) = client {
        headers.insert(CLIENT_REQUEST_ID, client);
    }
    if let Ok(ours) = HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()) {
        headers.insert(REQUEST_ID, ours);
    }
    next.run(request).await
}

fn is_safe_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_CLIENT_REQUEST_ID
        && value.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`, a CSP and a
/// referrer policy on every response — unless the handler chose its own
/// (GraphiQL, the console and evidence downloads set their CSP).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let defaults = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, DEFAULT_CSP),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Abandons a request after CASEWORK_REQUEST_TIMEOUT_SECS (408), or after
/// CASEWORK_UPLOAD_TIMEOUT_SECS for a multipart upload. A download's body
/// streams after its response started, so it is not cut short.
async fn timeout(State(settings): State<Arc<Settings>>, request: Request<axum::body::Body>, next: Next) -> Response {
    let limit = if upload::is_multipart(request.headers()) { settings.upload_timeout } else { settings.request_timeout };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        // Range and the download headers, so a front end can fetch evidence with its token.
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::RANGE,
            REQUEST_ID,
            upload::PREFLIGHT,
            upload::OPERATION_NAME,
        ])
        .expose_headers([REQUEST_ID, header::CONTENT_DISPOSITION, header::CONTENT_RANGE, header::ACCEPT_RANGES, header::ETAG])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(AllowOrigin::any())
    } else {
        let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}
