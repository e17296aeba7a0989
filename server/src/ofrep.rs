//! OFREP 0.3.0's two evaluation endpoints: one flag, and every flag for
//! one context (with an `ETag` and the event stream to follow).

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vexil_ir::{ErrorCode, FlagValue};
use vexil_runtime::{Context, Evaluation, Target};

use crate::auth::{Authorized, Caller, Scope};
use crate::errors::{read_body, ApiError};
use crate::request_json::{Json, Object};
use crate::state::{App, Served};

/// The event stream's path; its URL is handed out in bulk responses.
pub const STREAM_PATH: &str = "/ofrep/v1/event-stream";

/// `POST /ofrep/v1/evaluate/flags/{key}`.
pub async fn evaluate_flag(
    State(app): State<Arc<App>>,
    Authorized(caller): Authorized,
    Path(key): Path<String>,
    asked: Asked,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let served = app.served();
    match evaluate_one(&app, &served, &caller, &key, asked.exposing, body) {
        Ok(body) => json_response(body).into_response(),
        Err(e) => app.metrics.refuse(e.for_key(&key)).into_response(),
    }
}

/// A JSON body already written to bytes.
fn json_response(body: Vec<u8>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
}

/// Write an answer's JSON; serialising these types cannot fail (string
/// keys, no maps with other keys), but a failure would be a 500, not a
/// panic.
fn to_json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(256);
    serde_json::to_writer(&mut out, value).map_err(|e| {
        ApiError::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "GENERAL",
            format!("the answer could not be written: {e}"),
        )
    })?;
    Ok(out)
}

fn evaluate_one(
    app: &App,
    served: &Served,
    caller: &Caller,
    key: &str,
    exposing: bool,
    body: Result<Bytes, BytesRejection>,
) -> Result<Vec<u8>, ApiError> {
    let ctx = request_context(app, served, body)?;
    let snapshot = &served.snapshot;
    let target = snapshot
        .target(key)
        .filter(|t| visible(served, caller, *t))
        .ok_or_else(|| ApiError::not_found(key))?;
    let evaluation = evaluate(snapshot, target, &ctx, app.now(), exposing);
    app.metrics
        .evaluated_in(&served.counters, &app.usage, target, &evaluation);
    match item(served, target, &evaluation) {
        Item::Success(body) => to_json_bytes(&body),
        Item::Failure(failure) => {
            app.metrics.error(failure.error_code);
            Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                key: Some(key.to_string()),
                code: failure.error_code,
                details: failure.error_details,
                retry_after: None,
            })
        }
    }
}

/// `POST /ofrep/v1/evaluate/flags`.
pub async fn evaluate_flags(
    State(app): State<Arc<App>>,
    Authorized(caller): Authorized,
    asked: Asked,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // `flagConfigEtag` and `flagConfigLastModified` (query) are accepted and
    // need nothing: every request is answered from the newest version.
    let served = app.served();
    let ctx = match request_context(&app, &served, body) {
        Ok(ctx) => ctx,
        Err(e) => return app.metrics.refuse(e).into_response(),
    };
    let now = app.now();
    let exposing = asked.exposing;
    let snapshot = &served.snapshot;
    let evaluations: Vec<(Target, Evaluation<'_>)> = snapshot
        .targets()
        .filter(|(_, target)| visible(&served, &caller, *target))
        .map(|(_, target)| (target, evaluate(snapshot, target, &ctx, now, exposing)))
        .collect();
    let mut flags = Vec::with_capacity(evaluations.len());
    for (target, evaluation) in &evaluations {
        app.metrics
            .evaluated_in(&served.counters, &app.usage, *target, evaluation);
        let item = item(&served, *target, evaluation);
        if let Item::Failure(failure) = &item {
            app.metrics.error(failure.error_code);
        }
        flags.push(item);
    }
    let answer = Bulk {
        event_streams: event_stream(&app, &caller).map(|s| [s]),
        flags,
        metadata: BulkMetadata {
            version: &served.version,
        },
    };
    let text = match to_json_bytes(&answer) {
        Ok(text) => text,
        Err(e) => return app.metrics.refuse(e).into_response(),
    };
    // The body's own digest: it changes exactly when the answer does (a new
    // version, or a context that evaluates differently).
    let etag = format!("\"{}\"", crate::auth::hex(&Sha256::digest(&text)[..16]));
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if etag_listed(asked.if_none_match.iter(), &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    (
        [
            (header::ETAG, etag_value),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        text,
    )
        .into_response()
}

/// The bulk answer (members in alphabetical order, as before).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bulk<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    event_streams: Option<[Value; 1]>,
    flags: Vec<Item<'a>>,
    metadata: BulkMetadata<'a>,
}

#[derive(Serialize)]
struct BulkMetadata<'a> {
    version: &'a str,
}

/// The header by which a caller says it reports exposures itself, when it
/// renders a variant (`@vexil/react` does): the server then records none
/// for the evaluations it answers, so a variant evaluated for a page but
/// never shown does not count a unit into the experiment.
pub const EXPOSURES_HEADER: &str = "vexil-exposures";

/// Whether the server records the exposures of this request's evaluations:
/// yes unless it carries `Vexil-Exposures: rendered`.
fn records_exposures(headers: &HeaderMap) -> bool {
    headers
        .get(EXPOSURES_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("rendered"))
}

fn evaluate<'s>(
    snapshot: &'s vexil_runtime::Snapshot,
    target: Target,
    ctx: &Context,
    now: i64,
    exposing: bool,
) -> Evaluation<'s> {
    if exposing {
        snapshot.evaluate_target(target, ctx, now)
    } else {
        snapshot.evaluate_target_unexposed(target, ctx, now)
    }
}

/// What the evaluation endpoints read from the request's headers, taken
/// without copying the others: axum's `HeaderMap` extractor clones every
/// header of every request.
pub struct Asked {
    /// Whether the evaluations record exposures ([`EXPOSURES_HEADER`]).
    exposing: bool,
    /// The `If-None-Match` headers (usually none: nothing allocated).
    if_none_match: Vec<HeaderValue>,
}

impl<S: Send + Sync> FromRequestParts<S> for Asked {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Asked, Self::Rejection> {
        Ok(Asked {
            exposing: records_exposures(&parts.headers),
            if_none_match: parts
                .headers
                .get_all(header::IF_NONE_MATCH)
                .iter()
                .cloned()
                .collect(),
        })
    }
}

/// Whether `If-None-Match` names this ETag (or is `*`).
pub(crate) fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    etag_listed(headers.get_all(header::IF_NONE_MATCH).iter(), etag)
}

/// Whether these `If-None-Match` values name this ETag (or are `*`).
fn etag_listed<'a>(values: impl Iterator<Item = &'a HeaderValue>, etag: &str) -> bool {
    values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// The path (and query) of `caller`'s event stream.
pub(crate) fn stream_uri(caller: &Caller) -> String {
    match &caller.stream_token {
        Some(token) => format!("{STREAM_PATH}?token={token}"),
        None => STREAM_PATH.to_string(),
    }
}

/// The SSE stream entry of a bulk response.
fn event_stream(app: &App, caller: &Caller) -> Option<Value> {
    let request_uri = stream_uri(caller);
    let delay = app.config.sse.inactivity_delay_secs;
    Some(match &app.config.public_url {
        Some(base) => json!({
            "type": "sse",
            "url": format!("{}{request_uri}", base.trim_end_matches('/')),
            "inactivityDelaySec": delay,
        }),
        None => json!({
            "type": "sse",
            "endpoint": { "requestUri": request_uri },
            "inactivityDelaySec": delay,
        }),
    })
}

/// Which flags a caller may evaluate: `server` keys (and development mode)
/// every one, `client` keys only those marked `client` in the language. A
/// flag hidden from a caller is answered as one that does not exist.
fn visible(served: &Served, caller: &Caller, target: Target) -> bool {
    match caller.scope {
        Scope::Server | Scope::Viewer | Scope::Admin => true,
        Scope::Client => {
            let bundle = served.snapshot.bundle();
            let meta = match target {
                Target::Flag(i) => bundle.flags.get(i as usize).map(|f| &f.meta),
                Target::Experiment(i) => bundle.experiments.get(i as usize).map(|x| &x.meta),
            };
            meta.is_some_and(|m| m.client)
        }
    }
}

/// The context of an evaluation request body.
fn request_context(
    app: &App,
    served: &Served,
    body: Result<Bytes, BytesRejection>,
) -> Result<Context, ApiError> {
    let bytes = read_body(body, app.config.limits.body_bytes)?;
    // Read in place: the context's strings borrow from the body.
    let request: Json = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::parse(format!("the request body is not JSON: {e}")))?;
    let Json::Object(mut request) = request else {
        return Err(ApiError::parse(
            "the request body must be a JSON object: `{\"context\": {...}}`",
        ));
    };
    let context = match request.remove("context") {
        Some(Json::Object(context)) => context,
        // Lenient: a request without a context evaluates an empty one.
        None | Some(Json::Null) => Object::default(),
        Some(_) => return Err(ApiError::parse("`context` must be a JSON object")),
    };
    let ctx = served
        .mapping
        .context(served.snapshot.layout(), &context, &app.config.limits)?;
    // Ignored, but counted: a caller's typo shows on `/metrics`.
    app.metrics
        .unknown_names(served.mapping.unknown_names(&context));
    Ok(ctx)
}

/// One flag's answer: OFREP's `evaluationSuccess` or `evaluationFailure`,
/// borrowed from the evaluation and written straight to the response's
/// bytes (no `serde_json::Value` is built per flag). Members are in
/// alphabetical order, as a `serde_json::Map` would write them.
#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a> {
    Success(Success<'a>),
    Failure(Failure<'a>),
}

#[derive(Serialize)]
struct Success<'a> {
    key: &'a str,
    metadata: Metadata<'a>,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a FlagValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure<'a> {
    error_code: &'static str,
    error_details: String,
    key: &'a str,
    metadata: Metadata<'a>,
}

/// Flag metadata: kind, owner, the matched rule, the version. OFREP
/// metadata values are flat (string, number, bool): an override is four
/// keys rather than one object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    kind: &'a str,
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    overridden: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    override_actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    override_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    override_since: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<u32>,
    version: &'a str,
}

fn item<'a>(served: &'a Served, target: Target, e: &'a Evaluation<'a>) -> Item<'a> {
    let metadata = metadata(served, target, e);
    if let Some(error) = e.error {
        let error_code = match error {
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::ParseError => "PARSE_ERROR",
            // Not found is answered before evaluation; type mismatches cannot
            // happen (no type is asked for).
            ErrorCode::FlagNotFound | ErrorCode::TypeMismatch | ErrorCode::General => "GENERAL",
        };
        return Item::Failure(Failure {
            error_code,
            error_details: e.error_message().unwrap_or_else(|| error_code.to_string()),
            key: e.key,
            metadata,
        });
    }
    // OFREP makes `variant` optional, but Python's official OFREP provider
    // (openfeature-provider-ofrep 0.3.0) fails on an answer without one. A
    // flag without named variants has its value's text as its variant.
    let variant = match (e.variant, e.value) {
        (Some(name), _) => Some(Cow::Borrowed(name)),
        (None, Some(FlagValue::String(text))) => Some(Cow::Borrowed(text.as_str())),
        (None, Some(other)) => Some(Cow::Owned(other.to_json().to_string())),
        (None, None) => None,
    };
    Item::Success(Success {
        key: e.key,
        metadata,
        // OpenFeature's reason names, `DEFAULT` included (what `vexil eval`
        // gives), though OFREP's schema lists fewer.
        reason: e.reason.as_str(),
        value: e.value,
        variant,
    })
}

fn metadata<'a>(served: &'a Served, target: Target, e: &'a Evaluation<'a>) -> Metadata<'a> {
    let bundle = served.snapshot.bundle();
    let (kind, meta) = match target {
        Target::Flag(i) => match bundle.flags.get(i as usize) {
            Some(f) => (f.kind.as_str(), Some(&f.meta)),
            None => ("flag", None),
        },
        Target::Experiment(i) => (
            "experiment",
            bundle.experiments.get(i as usize).map(|x| &x.meta),
        ),
    };
    let o = e.overridden;
    Metadata {
        kind,
        overridden: o.map(|_| true),
        override_actor: o.map(|o| o.actor.as_str()),
        override_reason: o.map(|o| o.reason.as_str()),
        override_since: o.map(|o| o.since.as_str()),
        owner: meta.and_then(|m| m.owner.as_deref()),
        rule: e.rule.and_then(|(_, name)| name),
        rule_index: e.rule.map(|(index, _)| index + 1),
        version: &served.version,
    }
}
