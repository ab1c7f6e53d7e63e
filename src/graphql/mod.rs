//! The GraphQL API: schema assembly, thin resolvers per area, DataLoaders.
//!
//! [`schema`] builds the schema with no I/O (the SDL export uses it too); the
//! HTTP layer adds the per-request [`crate::service::RequestContext`] and
//! [`loaders::Loaders`]. Resolvers take the caller and the services from the
//! context, call one service function and convert the result.

pub mod audit;
pub mod closed_loop;
pub mod complaints;
pub mod connection;
pub mod context;
pub mod escalations;
pub mod evidence;
pub mod groups;
pub mod loaders;
pub mod projection;
pub mod role_grants;
pub mod sessions;
pub mod stats;
pub mod subscriptions;
pub mod types;
pub mod users;
pub mod work;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

pub use subscriptions::Subscription;

/// Every query, by area.
#[derive(MergedObject, Default)]
pub struct Query(
    sessions::SessionQuery,
    complaints::ComplaintQuery,
    escalations::EscalationQuery,
    users::UserQuery,
    role_grants::RoleGrantQuery,
    audit::AuditQuery,
    closed_loop::LoopQuery,
    groups::GroupQuery,
    stats::StatsQuery,
    work::WorkQuery,
);

/// Every mutation, by area.
#[derive(MergedObject, Default)]
pub struct Mutation(
    sessions::SessionMutation,
    complaints::ComplaintMutation,
    escalations::EscalationMutation,
    evidence::EvidenceMutation,
    users::UserMutation,
    role_grants::RoleGrantMutation,
    closed_loop::LoopMutation,
    work::WorkMutation,
    groups::GroupMutation,
);

/// The cost of a field that scans a whole table or log (`verifyAuditTrail`,
/// `complaints(filter: {search})`): more than half the default budget, so a
/// document holds one, however it is aliased.
pub const EXCLUSIVE_COST: usize = 2_600;
/// The cap of a nested list that is not a connection (`Complaint.notes`,
/// `escalations`, `links` when no `first` is given); its cost multiplier.
pub const NESTED_LIST_DEFAULT: i32 = 20;
/// The rows a small admin list (`teams`) may return; its cost multiplier.
pub const SMALL_LIST_CAP: usize = 100;

/// `first` of a capped nested list, checked: 0 ..= 100, default [`NESTED_LIST_DEFAULT`].
pub fn nested_first(first: Option<i32>) -> Result<usize, crate::error::AppError> {
    let first = first.unwrap_or(NESTED_LIST_DEFAULT);
    if !(0..=connection::MAX_PAGE).contains(&first) {
        return Err(crate::error::AppError::validation("first", format!("must be between 0 and {}", connection::MAX_PAGE)));
    }
    Ok(first as usize)
}

/// A resolver's work in its own allocation.
///
/// async-graphql boxes the future of every selected field, and that future
/// is as large as the largest of its object's resolvers: one resolver that
/// awaits the database, kept inline, made every plain field of a complaint
/// (`title`, `status`) copy its kilobytes into a box, 50 complaints × 13
/// fields per list page (a sixteenth of the page's CPU, issue 14). Resolvers
/// of wide objects that await services wrap their body in this, so the
/// object's field future stays small and only they pay for a box.
pub fn boxed<'a, T>(work: impl std::future::Future<Output = T> + Send + 'a) -> futures_util::future::BoxFuture<'a, T> {
    Box::pin(work)
}

pub type CaseworkSchema = Schema<Query, Mutation, Subscription>;

/// Limits that protect the server from expensive queries.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
    /// "Did you mean …" in validation errors (off in production: it spells
    /// the hidden schema out field by field).
    pub suggestions: bool,
    /// `CASEWORK_REPORT_QUERY_COST`: every response carries
    /// `extensions.analyzer { complexity depth }` (the test suite checks each
    /// of its operations against half the budget with it).
    pub report_cost: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 15, max_complexity: 5000, introspection: true, suggestions: true, report_cost: false }
    }
}

/// The schema, with its limits and no data attached.
pub fn schema(limits: Limits) -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(20);
    let builder = if limits.suggestions { builder } else { builder.disable_suggestions() };
    let builder = if limits.report_cost { builder.extension(async_graphql::extensions::Analyzer) } else { builder };
    if limits.introspection { builder } else { builder.disable_introspection() }
}

/// The fields of each object type, by type name.
pub type SdlObjects =
    std::collections::HashMap<String, Vec<async_graphql::Positioned<async_graphql::parser::types::FieldDefinition>>>;

/// The object types of the schema, from its SDL (for tests that walk the
/// schema: every mutation, every `Complaint` field).
pub fn sdl_objects() -> SdlObjects {
    use async_graphql::parser::{
        parse_schema,
        types::{TypeKind, TypeSystemDefinition},
    };
    let document = parse_schema(sdl()).expect("the SDL parses");
    document
        .definitions
        .into_iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(ty) => match ty.node.kind {
                TypeKind::Object(object) => Some((ty.node.name.node.to_string(), object.fields)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let options = async_graphql::SDLExportOptions::new().sorted_fields().sorted_enum_items();
    schema(Limits::default()).finish().sdl_with_options(options)
}
