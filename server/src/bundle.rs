//! `GET /v1/bundle`: what an embedded runtime that follows this server
//! loads: the compiled bundle of the version served and the override
//! state laid over it, under one ETag (the served version, which names
//! both), with `If-None-Match` answered 304. `?have=DIGEST` names the
//! bundle the caller holds: while it is still the one served, the answer
//! leaves the bundle out (an override change is then a few hundred bytes,
//! not the whole bundle). For `server` and `admin` keys only: the bundle
//! holds every flag's rules, which client keys never see.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::Caller;
use crate::ofrep::{matches_etag, stream_uri};
use crate::state::App;

/// The body: the follower's whole view of the served version.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    /// The ETag's value: changes with the bundle and with the overrides.
    version: &'a str,
    /// The bundle's digest alone: a follower recompiles only when it changes.
    bundle_version: &'a str,
    /// Left out when the caller holds it (`?have=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle: Option<&'a RawValue>,
    overrides: &'a vexil_control::OverrideState,
    /// The change stream to subscribe to, with this key's token.
    event_stream: String,
}

/// `GET /v1/bundle`'s query.
#[derive(Deserialize)]
pub struct Asked {
    /// The bundle digest the caller holds.
    have: Option<String>,
}

/// `GET /v1/bundle`.
pub async fn bundle(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Query(asked): Query<Asked>,
    headers: HeaderMap,
) -> Response {
    let served = app.served();
    let etag = format!("\"{}\"", served.version);
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if matches_etag(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    let body = Body {
        version: &served.version,
        bundle_version: &served.bundle_version,
        bundle: (asked.have.as_deref() != Some(served.bundle_version.as_str()))
            .then_some(&*served.bundle_json),
        overrides: &served.overrides,
        event_stream: stream_uri(&caller),
    };
    match serde_json::to_string(&body) {
        Ok(text) => (
            [
                (header::ETAG, etag_value),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot write the bundle response");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot write the bundle").into_response()
        }
    }
}
