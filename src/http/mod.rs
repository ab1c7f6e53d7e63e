//! The HTTP edge: routes, middleware (request id, tracing, limits, CORS,
//! timeouts, panics), the GraphQL handler, health and metrics.

mod client_addr;
mod errors;
mod evidence;
mod graphql;
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
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{config::Settings, db::StatementCounter, graphql::CaseworkSchema, service::Services};

pub use client_addr::{TrustedProxies, client_addr};
pub use errors::error_body;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: CaseworkSchema,
    pub metrics: Option<PrometheusHandle>,
    pub statements: StatementCounter,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let settings = state.services.settings.clone();
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id, operation = tracing::field::Empty)
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
        .route("/metrics", get(health::metrics))
        .route("/evidence/{id}/content", get(evidence::content))
        .fallback(errors::not_found)
        // Only `POST /graphql` reads a body, and it enforces its own limits:
        // CASEWORK_MAX_BODY_BYTES for JSON, CASEWORK_MAX_UPLOAD_BYTES for uploads.
        .layer(limits)
        .layer(middleware::map_response(errors::json_errors))
        .layer(middleware)
        .with_state(Arc::new(state))
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
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT, header::RANGE, REQUEST_ID])
        .expose_headers([REQUEST_ID, header::CONTENT_DISPOSITION, header::CONTENT_RANGE, header::ACCEPT_RANGES, header::ETAG])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(AllowOrigin::any())
    } else {
        let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}
