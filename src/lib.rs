//! casework: a GraphQL backend for customer-complaint case management.
//!
//! A tour, from the edge inwards:
//! - [`config`]: flags and environment, parsed once into [`config::Settings`].
//! - [`startup`]: [`startup::Application`] connects, migrates, binds and serves.
//! - [`http`]: the axum router, middleware, the GraphQL handler, health, metrics.
//! - [`graphql`]: the schema and thin resolvers per area, DataLoaders.
//! - [`service`]: use cases — authorize, validate, one transaction with its audit event.
//! - [`domain`]: the rules as plain Rust — lifecycle, policy, validation, SLA.
//! - [`audit`]: the append-only, hash-chained audit trail.
//! - [`auth`]: JWT access tokens, argon2id passwords, refresh tokens.
//! - [`jobs`]: background work: the SLA monitor, audit checkpoints.
//! - [`storage`]: where evidence files live (a local directory or S3), content-addressed.
//! - [`db`]: connecting to SQLite or PostgreSQL, migrations, trigger checks.
//! - [`events`]: change notifications for subscriptions, across instances.
//! - [`jobs`]: background work: the SLA monitor.
//! - [`error`]: [`error::AppError`] and its `extensions.code`.

pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod service;
pub mod startup;
pub mod storage;
pub mod telemetry;
