//! Reaching the caller, the services and the loaders from a resolver.

use async_graphql::Context;

use super::loaders::Loaders;
use crate::{
    auth::Actor,
    error::{AppError, AppResult},
    service::{RequestContext, Services},
};

pub trait ContextExt {
    fn services(&self) -> AppResult<&Services>;
    fn request(&self) -> AppResult<&RequestContext>;
    fn loaders(&self) -> AppResult<&Loaders>;
    /// The signed-in caller, or `UNAUTHENTICATED`.
    fn actor(&self) -> AppResult<&Actor> {
        self.request()?.actor()
    }
}

fn missing(what: &str) -> AppError {
    AppError::internal(anyhow::anyhow!("{what} missing from the GraphQL context"))
}

impl ContextExt for Context<'_> {
    fn services(&self) -> AppResult<&Services> {
        self.data_opt::<Services>().ok_or_else(|| missing("Services"))
    }

    fn request(&self) -> AppResult<&RequestContext> {
        self.data_opt::<RequestContext>().ok_or_else(|| missing("RequestContext"))
    }

    fn loaders(&self) -> AppResult<&Loaders> {
        self.data_opt::<std::sync::Arc<Loaders>>().map(|l| l.as_ref()).ok_or_else(|| missing("Loaders"))
    }
}
