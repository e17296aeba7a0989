//! Operational endpoints: liveness, readiness, what is being served, and
//! the API's own OpenAPI document.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::state::App;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: a version is loaded. The server starts only with one, so
/// this answers 200 from the first request on.
pub async fn readyz(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "status": "ready", "version": app.served().version }))
}

/// The OpenAPI document of every endpoint but OFREP's evaluations (which
/// OFREP's own document specifies) and the dashboard.
pub const OPENAPI: &str = include_str!("../openapi.yaml");

/// `GET /v1/openapi.yaml`: the document, to anyone (it holds no data).
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI)
}

/// `GET /status`: the served version, its source, and the last reload attempt.
pub async fn status(State(app): State<Arc<App>>) -> Json<Value> {
    let served = app.served();
    let bundle = served.snapshot.bundle();
    let source = app.source();
    Json(json!({
        "version": served.version,
        "loadedAt": vexil_ir::value::format_timestamp(served.loaded_at),
        "source": { "path": source.path, "kind": source.kind, "cache": source.cache },
        "backend": served.snapshot.backend_name(),
        "flags": bundle.flags.len(),
        "experiments": bundle.experiments.len(),
        "tests": bundle.tests.len(),
        "context": {
            "targetingKey": served.mapping.targeting_field(),
            "default": served.mapping.default_context(),
        },
        "devMode": app.keys.is_empty(),
        "lastReload": app.last_attempt(),
        // Each webhook's deliveries: position in the audit log, failures.
        "webhooks": app.webhooks.status(),
        // Drift: what is not as git says, by whom, since when.
        "overrides": {
            "store": app.control.store.describe(),
            "available": app.control.fault().is_none(),
            "error": app.control.fault(),
            "version": served.overrides.version,
            "flags": served.overrides.overrides.iter().map(|o| {
                let problem = served.problem(&o.flag);
                json!({
                    "flag": o.flag,
                    "action": o.action,
                    "description": o.action.describe(),
                    "actor": o.actor,
                    "reason": o.reason,
                    "since": o.created_at,
                    "expiresAt": o.expires_at,
                    "applied": problem.is_none(),
                    "problem": problem,
                })
            }).collect::<Vec<_>>(),
        },
    }))
}
