//! The floor of bench/compare.sh: a plain axum handler that answers
//! `POST /graphql` with fixed bytes (the body of a real casework response,
//! read from a file), so the harness can tell HTTP + JSON transfer cost from
//! the cost of the GraphQL execution and the database.
//!
//!   cargo run --release --example bench_floor -- 127.0.0.1:18183 body.json

use axum::{Router, http::header, routing::post};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18183".to_owned());
    let body: &'static [u8] = match args.next() {
        Some(path) => Vec::leak(std::fs::read(path)?),
        None => b"{\"data\":{\"__typename\":\"Query\"}}",
    };
    let app = Router::new().route(
        "/graphql",
        post(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await
}
