//! Every error the HTTP edge produces is a GraphQL-shaped JSON body with an
//! `extensions.code`, whatever produced it: a bad body, a limit, a panic.

use std::any::Any;

use axum::{
    body::Body,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::error::{AppError, code};

/// `{"errors":[{"message":…,"extensions":{"code":…}}]}`
pub fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Rewrites bodiless or plain-text error responses of the middleware stack
/// (413 from the body limit, 408 from the timeout, …) into JSON errors.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (code::PAYLOAD_TOO_LARGE, "the request body is too large"),
        StatusCode::REQUEST_TIMEOUT => (code::INTERNAL, "the request took too long"),
        StatusCode::NOT_FOUND => (code::NOT_FOUND, "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (code::VALIDATION, "method not allowed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (code::VALIDATION, "unsupported content type"),
        StatusCode::UNAUTHORIZED => (code::UNAUTHENTICATED, "authentication required"),
        StatusCode::FORBIDDEN => (code::FORBIDDEN, "forbidden"),
        StatusCode::TOO_MANY_REQUESTS => (code::RATE_LIMITED, "too many requests"),
        s if s.is_client_error() => (code::VALIDATION, "bad request"),
        _ => (code::INTERNAL, "internal error"),
    };
    let mut rewritten = error_body(status, code, message);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// A panic becomes a logged `INTERNAL`, never a dropped connection.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    error_body(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error")
}

pub async fn not_found() -> Response {
    error_body(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such resource")
}

/// An [`AppError`] outside GraphQL (e.g. a download), with its HTTP status.
/// Internal errors are logged and answered without detail.
pub fn app_error(error: AppError) -> Response {
    let status = match &error {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Validation { .. } | AppError::InvalidTransition(_) | AppError::QueryTooComplex(_) => {
            StatusCode::BAD_REQUEST
        }
        AppError::Conflict(_) | AppError::ApprovalRequired(_) => StatusCode::CONFLICT,
        AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "internal error");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    error_body(status, error.code(), &error.to_string())
}
