//! Integration tests: the real server over real HTTP, on SQLite and (when
//! reachable) PostgreSQL. One binary; one module per area.

mod helpers;

mod audit;
mod auth;
mod authority;
mod closed_loop;
mod complaints;
mod console;
mod escalations;
mod evidence;
mod fixtures;
mod groups;
mod http_edge;
mod permissions;
mod schema;
mod security;
mod stats;
mod sessions;
