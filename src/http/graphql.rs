//! `POST /graphql` and `GET /graphql`: our own handler around async-graphql's
//! request extractor (never the stock batch-executing service). It turns the
//! bearer token into the caller, executes one operation, gives every error an
//! `extensions.code`, and never runs a mutation over GET.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::{
    ParseRequestError, ServerError,
    parser::types::{DocumentOperations, OperationType},
};
use async_graphql_axum::GraphQLRequest;
use axum::{
    extract::{ConnectInfo, FromRequest, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use super::{AppState, REQUEST_ID, errors::error_body};
use crate::{
    error::code,
    graphql::loaders::Loaders,
    service::{RequestContext, Services, auth},
};

/// A request body async-graphql could not read, as a JSON error.
pub struct Rejection(ParseRequestError);

impl From<ParseRequestError> for Rejection {
    fn from(error: ParseRequestError) -> Self {
        Rejection(error)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self.0 {
            ParseRequestError::PayloadTooLarge => {
                error_body(StatusCode::PAYLOAD_TOO_LARGE, code::PAYLOAD_TOO_LARGE, "the request body is too large")
            }
            ParseRequestError::Io(e) if e.to_string().contains("length limit exceeded") => {
                error_body(StatusCode::PAYLOAD_TOO_LARGE, code::PAYLOAD_TOO_LARGE, "the request body is too large")
            }
            ParseRequestError::UnsupportedBatch => {
                error_body(StatusCode::BAD_REQUEST, code::VALIDATION, "batched requests are not supported")
            }
            ParseRequestError::InvalidRequest(_) | ParseRequestError::Io(_) => error_body(
                StatusCode::BAD_REQUEST,
                code::VALIDATION,
                "the body is not a GraphQL request: expected JSON {\"query\": …, \"variables\": …}",
            ),
            other => error_body(StatusCode::BAD_REQUEST, code::VALIDATION, &format!("invalid request: {other}")),
        }
    }
}

/// `POST /graphql`: JSON (at most `CASEWORK_MAX_BODY_BYTES`), or a
/// `multipart/form-data` upload (see [`super::upload`]).
pub async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    if super::upload::is_multipart(request.headers()) {
        return super::upload::post(&state, peer, request).await;
    }
    // Only JSON: a form or `text/plain` body is a CSRF "simple request" a
    // browser sends cross-origin without asking.
    if !is_json(request.headers()) {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::VALIDATION,
            "send the request as Content-Type: application/json (or a multipart upload)",
        );
    }
    let limit = state.services.settings.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let headers = request.headers().clone();
    let request = request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    let request = match GraphQLRequest::<Rejection>::from_request(request, &()).await {
        Ok(request) => request.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
    if let Some(refused) = refuse_upload_markers(&request) {
        return refused;
    }
    let ctx = request_context(&state.services, &headers, peer).await;
    execute(&state, &headers, ctx, request).await
}

/// Whether the body is declared as JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .is_some_and(|essence| essence == "application/json")
}

pub(super) fn too_large() -> Response {
    error_body(StatusCode::PAYLOAD_TOO_LARGE, code::PAYLOAD_TOO_LARGE, "the request body is too large")
}

/// The marker async-graphql uses for upload variables. Only the multipart
/// path may produce it; a client sending it itself is refused (async-graphql
/// would panic on a malformed one).
pub(super) const UPLOAD_MARKER: &str = "#__graphql_file__:";

/// Refuses a request whose variables already contain upload markers.
pub(super) fn refuse_upload_markers(request: &async_graphql::Request) -> Option<Response> {
    fn has_marker(value: &async_graphql::Value) -> bool {
        match value {
            async_graphql::Value::String(s) => s.starts_with(UPLOAD_MARKER),
            async_graphql::Value::List(items) => items.iter().any(has_marker),
            async_graphql::Value::Object(fields) => fields.values().any(has_marker),
            _ => false,
        }
    }
    request.variables.values().any(has_marker).then(|| {
        error_body(
            StatusCode::BAD_REQUEST,
            code::VALIDATION,
            "files must be sent as multipart/form-data (GraphQL multipart request spec)",
        )
    })
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    if !query.contains("query=") {
        if state.services.settings.is_production() {
            return error_body(StatusCode::NOT_FOUND, code::NOT_FOUND, "GraphiQL is disabled in production");
        }
        return super::console::graphiql(&headers);
    }
    // In production a GET query must carry a header a browser cannot send
    // cross-origin without a preflight, so a link or an <img> cannot run one.
    if state.services.settings.is_production() && !super::upload::has_preflight_header(&headers) {
        return error_body(
            StatusCode::BAD_REQUEST,
            code::VALIDATION,
            "GET queries need an `apollo-require-preflight` or `x-apollo-operation-name` header in production; or POST JSON",
        );
    }
    let Some(request) = parse_query_string(query) else {
        return error_body(StatusCode::BAD_REQUEST, code::VALIDATION, "the query string is not a GraphQL request");
    };
    if is_mutation(&request) {
        let mut response = error_body(StatusCode::METHOD_NOT_ALLOWED, code::VALIDATION, "mutations must be sent with POST");
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    if let Some(refused) = refuse_upload_markers(&request) {
        return refused;
    }
    let ctx = request_context(&state.services, &headers, peer).await;
    execute(&state, &headers, ctx, request).await
}

/// `?query=…&operationName=…&variables=…` as the GraphQL-over-HTTP spec spells
/// it (async-graphql's own parser expects `operation_name`).
fn parse_query_string(query: &str) -> Option<async_graphql::Request> {
    #[derive(serde::Deserialize)]
    struct Params {
        query: String,
        #[serde(rename = "operationName", alias = "operation_name")]
        operation_name: Option<String>,
        variables: Option<String>,
    }
    let params: Params = serde_urlencoded::from_str(query).ok()?;
    let mut request = async_graphql::Request::new(params.query);
    if let Some(name) = params.operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables.filter(|v| !v.is_empty()) {
        request = request.variables(async_graphql::Variables::from_json(serde_json::from_str(&variables).ok()?));
    }
    Some(request)
}

/// Whether the operation that would run is a mutation (or a subscription).
fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false; // execution reports the syntax error
    };
    let kind = match (&document.operations, &request.operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) => ops.values().next().map(|op| op.node.ty),
    };
    matches!(kind, Some(OperationType::Mutation | OperationType::Subscription))
}

/// The caller (from the bearer token), the request id and the client address.
pub(super) async fn request_context(services: &Services, headers: &HeaderMap, peer: SocketAddr) -> RequestContext {
    let mut ctx = request_origin(services, headers, peer);
    if let Some(token) = bearer(headers) {
        match auth::authenticate(services, token).await {
            Ok(caller) => {
                ctx.actor = Some(caller.actor);
                ctx.session = caller.session;
            }
            Err(error) => ctx.auth_error = Some(error),
        }
    }
    ctx
}

pub(super) async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    ctx: RequestContext,
    request: async_graphql::Request,
) -> Response {
    if request.query.trim().is_empty() {
        return error_body(StatusCode::BAD_REQUEST, code::VALIDATION, "the request has no query");
    }
    let services = &state.services;
    if let Some(name) = &request.operation_name {
        tracing::Span::current().record("operation", name.as_str());
    }
    // An overloaded document is a request error, answered like any other.
    let mut request = request;
    let mut response = match state.documents.prepare(&mut request) {
        Some(reason) => {
            let mut error = ServerError::new(reason, None);
            error.extensions.get_or_insert_with(Default::default).set("code", code::QUERY_TOO_COMPLEX);
            async_graphql::Response::from_errors(vec![error])
        }
        None => state.schema.execute(request.data(Arc::new(Loaders::new(services))).data(ctx)).await,
    };
    let request_error = response.data == async_graphql::Value::Null && response.errors.iter().all(|e| e.path.is_empty());
    for error in &mut response.errors {
        classify(error);
    }
    let wants_graphql_response = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/graphql-response+json"));
    let (content_type, status) = if wants_graphql_response {
        let status = if request_error && !response.errors.is_empty() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        ("application/graphql-response+json", status)
    } else {
        ("application/json", StatusCode::OK)
    };
    // A request error (nothing executed) has no `data` entry at all under
    // application/graphql-response+json (GraphQL over HTTP, §7.2).
    let body = if wants_graphql_response && request_error {
        serde_json::to_value(&response).and_then(|mut body| {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("data");
            }
            serde_json::to_vec(&body)
        })
    } else {
        // Straight to bytes: no intermediate JSON tree for a page of results.
        serde_json::to_vec(&response)
    };
    match body {
        Ok(body) => (status, [(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "serialising a GraphQL response");
            error_body(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error")
        }
    }
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of a `Bearer <token>` credential (the scheme is case-insensitive).
pub(super) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The request id and client address of a request, before anyone is signed in.
/// The request id is always ours (see `request_ids`); the address is the
/// peer's, or what our trusted proxies say (see [`super::client_addr`]).
pub(super) fn request_origin(services: &Services, headers: &HeaderMap, peer: SocketAddr) -> RequestContext {
    let client = services.settings.edge.trusted_proxies.client_addr(peer, headers);
    RequestContext {
        request_id: headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned),
        client_addr: Some(client.to_string()),
        ..RequestContext::default()
    }
}

/// Gives errors raised by async-graphql itself (syntax, validation, limits,
/// bad input values) a code: they never pass through [`AppError`].
pub(super) fn classify(error: &mut ServerError) {
    let has_code = error.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
    if has_code {
        return;
    }
    let message = error.message.to_ascii_lowercase();
    let code = if message.contains("too complex") || message.contains("nested too deep") || message.contains("recursion") || message.contains("too many directives") {
        code::QUERY_TOO_COMPLEX
    } else if message.contains("internal") {
        code::INTERNAL
    } else {
        code::VALIDATION
    };
    error.extensions.get_or_insert_with(Default::default).set("code", code);
}

