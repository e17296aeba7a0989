//! The floor of the serving benchmark (`bench/server/run.sh`): an axum
//! server on tokio's default multi-thread runtime that reads each POST's
//! body and answers a fixed OFREP-sized JSON body, with no evaluation,
//! authentication or middleware. What oha measures against it is what this
//! machine's loopback HTTP stack costs; `vexil serve` cannot be faster.
//!
//! `vexil-bench-floor 127.0.0.1:PORT`

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

/// As long as `vexil serve`'s single answer for the benchmark's shopper.
const ANSWER: &str = r#"{"key":"search-ranking","metadata":{"kind":"experiment","owner":"team-search","rule":"ab","ruleIndex":2,"version":"690ff703cffaa59e"},"reason":"SPLIT","value":"bm25","variant":"classic"}"#;

async fn answer(body: Bytes) -> impl IntoResponse {
    // Read, as a server that parses the context would.
    std::hint::black_box(body);
    ([(header::CONTENT_TYPE, "application/json")], ANSWER)
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let app = Router::new()
            .route("/readyz", get(|| async { "ready" }))
            .route("/{*path}", post(answer));
        axum::serve(listener, app).await
    })
}
