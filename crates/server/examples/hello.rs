//! The benchmark's baseline: bare axum, one route, a current-thread
//! runtime, nothing else.
//!
//! `cargo run --release -p bookbench-server --example hello -- 127.0.0.1:8001`

use axum::Router;
use axum::routing::get;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8001".to_string());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let app = Router::new().route("/", get(|| async { "Hello, World!" }));
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            axum::serve(listener, app).await
        })
}
