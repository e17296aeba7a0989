//! The layer every request passes first: its tracing span, the OFREP error
//! body for an error answered without one, its latency by route, and a log
//! line for a server error. One service and one future for all four (they
//! were four middleware layers: each `Router::layer` boxes every route
//! again, and each box is cloned per request).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;

use crate::errors;
use crate::state::App;

/// Wraps each route (so the route a request matched is known).
#[derive(Clone)]
pub struct EnvelopeLayer {
    app: Arc<App>,
}

impl EnvelopeLayer {
    pub fn new(app: Arc<App>) -> Self {
        EnvelopeLayer { app }
    }
}

impl<S> Layer<S> for EnvelopeLayer {
    type Service = Envelope<S>;

    fn layer(&self, inner: S) -> Envelope<S> {
        Envelope {
            inner,
            app: self.app.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Envelope<S> {
    inner: S,
    app: Arc<App>,
}

impl<S> Service<Request> for Envelope<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EnvelopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // Method and path only: a query may hold an event-stream token.
        let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path());
        // A `MatchedPath` is an `Arc<str>`: cloning it allocates nothing.
        let endpoint = req.extensions().get::<MatchedPath>().cloned();
        let start = Instant::now();
        let inner = {
            let _in = span.enter();
            self.inner.call(req)
        };
        EnvelopeFuture {
            inner,
            span,
            endpoint,
            start,
            app: self.app.clone(),
        }
    }
}

pin_project! {
    pub struct EnvelopeFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        endpoint: Option<MatchedPath>,
        start: Instant,
        app: Arc<App>,
    }
}

impl<F> Future for EnvelopeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _in = this.span.enter();
        let Ok(response) = ready!(this.inner.poll(cx));
        let response = errors::with_error_body(response);
        let elapsed = this.start.elapsed();
        if response.status().is_server_error() {
            tracing::error!(
                status = response.status().as_u16(),
                latency_ms = elapsed.as_secs_f64() * 1e3,
                "response failed"
            );
        }
        this.app.metrics.observe(
            this.endpoint.as_ref().map_or("unmatched", |p| p.as_str()),
            elapsed.as_secs_f64(),
        );
        Poll::Ready(Ok(response))
    }
}
