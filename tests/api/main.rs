//! Integration tests: the real server over real HTTP, on SQLite and (when
//! reachable) PostgreSQL. One binary; one module per area.

mod helpers;

mod accounts;
mod audit;
mod auth;
mod authority;
mod blobs;
mod closed_loop;
mod complaints;
mod console;
mod escalations;
mod evidence;
mod fixtures;
mod groups;
mod http_edge;
mod migrations;
mod permissions;
mod readme;
mod schema;
mod search;
mod security;
mod stats;
mod sessions;
mod work;
