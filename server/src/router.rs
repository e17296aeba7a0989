//! The one `Router`: every endpoint, and the layers every request passes
//! (the envelope: tracing, OFREP error bodies, latency; then CORS, the
//! timeout and the body limit).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::envelope::EnvelopeLayer;
use crate::state::App;
use crate::{
    admin, auth, bundle, dashboard, events, keys, metrics, ofrep, ops, rollouts, stream, usage_api,
};

pub fn router(app: Arc<App>) -> Router {
    let evaluation = Router::new()
        .route("/ofrep/v1/evaluate/flags/{key}", post(ofrep::evaluate_flag))
        .route("/ofrep/v1/evaluate/flags", post(ofrep::evaluate_flags))
        .route("/v1/events", post(events::intake));
    let operations = Router::new()
        .route("/status", get(ops::status))
        .route("/v1/bundle", get(bundle::bundle))
        .route("/metrics", get(metrics::render))
        .route("/v1/explain/{flag}", post(dashboard::explain_api))
        .route_layer(from_fn_with_state(app.clone(), auth::require_server_key));
    // Overrides and the audit log. The audit log has no write route: no
    // endpoint changes or removes an entry.
    let control = Router::new()
        .route("/v1/overrides", get(admin::list))
        .route(
            "/v1/overrides/{flag}",
            put(admin::put).get(admin::get_one).delete(admin::delete),
        )
        .route("/v1/audit", get(admin::audit))
        .route("/v1/rollouts", get(rollouts::list))
        .route("/v1/keys", get(keys::list).post(keys::create))
        .route("/v1/keys/{id}", delete(keys::revoke))
        .route_layer(from_fn_with_state(app.clone(), admin::require_admin));
    let usage = Router::new()
        .route("/v1/usage", get(usage_api::usage))
        .route_layer(from_fn_with_state(app.clone(), usage_api::require_viewer));
    let open = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/v1/openapi.yaml", get(ops::openapi))
        .route(ofrep::STREAM_PATH, get(stream::events));
    let limits = &app.config.limits;
    // One stack (outermost first) applied once, per route so that latency
    // is known by route: each `Router::layer` call boxes every route again,
    // and every box is cloned per request. The body limit is axum's (the
    // extractors apply it): it leaves the body's type alone, so the stack
    // stays one service.
    let layers = ServiceBuilder::new()
        .layer(EnvelopeLayer::new(app.clone()))
        .layer(cors(&app.config.cors.origins))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(limits.request_timeout_ms),
        ))
        .layer(DefaultBodyLimit::max(limits.body_bytes));
    Router::new()
        .merge(evaluation)
        .merge(operations)
        .merge(control)
        .merge(usage)
        .merge(open)
        .merge(dashboard::router(app.clone()))
        .layer(layers)
        .with_state(app)
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::IF_NONE_MATCH,
            header::IF_MATCH,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static(ofrep::EXPOSURES_HEADER),
        ])
        .expose_headers([header::ETAG, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}
