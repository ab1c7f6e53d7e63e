//! The one error type of casework and its mapping to GraphQL `extensions.code`.
//!
//! Use a typed variant for anything a caller branches on (a stale version, a
//! refused transition, a bad field); use `anyhow` with context for our own
//! failures, which become [`AppError::Internal`]: logged with the request span,
//! answered as `INTERNAL` with no detail.

use std::sync::Arc;

/// The stable codes of DESIGN.md §3, as sent in `extensions.code`.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const VALIDATION: &str = "VALIDATION";
    pub const CONFLICT: &str = "CONFLICT";
    pub const INVALID_TRANSITION: &str = "INVALID_TRANSITION";
    pub const APPROVAL_REQUIRED: &str = "APPROVAL_REQUIRED";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const INTERNAL: &str = "INTERNAL";
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("{0}")]
    ApprovalRequired(String),
    #[error("too many requests; try again later")]
    RateLimited,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    QueryTooComplex(String),
    #[error("internal error")]
    Internal(Arc<anyhow::Error>),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation { field: field.into(), message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(Arc::new(error.into()))
    }

    /// A stale `expectedVersion`.
    pub fn stale(entity: &str) -> Self {
        AppError::Conflict(format!("the {entity} was changed by someone else; reload it and try again"))
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => code::UNAUTHENTICATED,
            AppError::Forbidden(_) => code::FORBIDDEN,
            AppError::NotFound(_) => code::NOT_FOUND,
            AppError::Validation { .. } => code::VALIDATION,
            AppError::Conflict(_) => code::CONFLICT,
            AppError::InvalidTransition(_) => code::INVALID_TRANSITION,
            AppError::ApprovalRequired(_) => code::APPROVAL_REQUIRED,
            AppError::RateLimited => code::RATE_LIMITED,
            AppError::PayloadTooLarge => code::PAYLOAD_TOO_LARGE,
            AppError::QueryTooComplex(_) => code::QUERY_TOO_COMPLEX,
            AppError::Internal(_) => code::INTERNAL,
        }
    }

    /// Logs internal errors (with the current request span) and returns self, so
    /// the cause is on record before it is replaced by a bare `INTERNAL`.
    fn logged(self) -> Self {
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        self
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        AppError::internal(error)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        AppError::Internal(Arc::new(error))
    }
}

impl From<crate::domain::enums::UnknownValue> for AppError {
    fn from(error: crate::domain::enums::UnknownValue) -> Self {
        AppError::internal(error)
    }
}

/// Parses an enumeration as stored in the database; a value this build does
/// not know is an internal error, not the client's.
pub fn stored<T: std::str::FromStr<Err = crate::domain::enums::UnknownValue>>(value: &str) -> AppResult<T> {
    Ok(value.parse()?)
}

impl From<crate::domain::ValidationError> for AppError {
    fn from(error: crate::domain::ValidationError) -> Self {
        AppError::Validation { field: error.field.to_string(), message: error.message }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        let error = error.logged();
        let mut gql = async_graphql::Error::new(error.to_string());
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", error.code());
        if let AppError::Validation { field, .. } = &error {
            extensions.set("field", field.as_str());
        }
        gql.extensions = Some(extensions);
        gql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_documented_code() {
        let cases = [
            (AppError::Unauthenticated("x"), "UNAUTHENTICATED"),
            (AppError::forbidden("x"), "FORBIDDEN"),
            (AppError::NotFound("complaint"), "NOT_FOUND"),
            (AppError::validation("title", "empty"), "VALIDATION"),
            (AppError::stale("complaint"), "CONFLICT"),
            (AppError::InvalidTransition("x".into()), "INVALID_TRANSITION"),
            (AppError::ApprovalRequired("x".into()), "APPROVAL_REQUIRED"),
            (AppError::RateLimited, "RATE_LIMITED"),
            (AppError::PayloadTooLarge, "PAYLOAD_TOO_LARGE"),
            (AppError::QueryTooComplex("x".into()), "QUERY_TOO_COMPLEX"),
            (AppError::internal(anyhow::anyhow!("db down")), "INTERNAL"),
        ];
        for (error, expected) in cases {
            assert_eq!(error.code(), expected, "{error:?}");
        }
    }

    #[test]
    fn internal_errors_reveal_nothing_to_the_client() {
        let gql: async_graphql::Error =
            AppError::internal(anyhow::anyhow!("relation \"complaint\" does not exist")).into();
        assert_eq!(gql.message, "internal error");
    }

    #[test]
    fn validation_errors_name_their_field() {
        let gql: async_graphql::Error = AppError::validation("input.title", "must not be empty").into();
        let ext = serde_json::to_value(gql.extensions.unwrap()).unwrap();
        assert_eq!(ext["field"], "input.title");
        assert_eq!(ext["code"], "VALIDATION");
    }
}
