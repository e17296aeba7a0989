//! The write API: overrides under `/v1/overrides` (reads for `server` and
//! `admin` keys, writes for `admin` keys only, with `ETag`/`If-Match`
//! optimistic concurrency), and the audit log under `/v1/audit` (read
//! only: no endpoint changes or removes an entry). Every write, and every
//! refused write attempt, is audited.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};
use vexil_control::{Action, AuditKind, AuditQuery, NewEntry, Override, StoreError, Write};

use crate::auth::{Caller, Scope};
use crate::errors::{read_body, ApiError};
use crate::state::App;

/// Who made a request, from where: for the audit log.
#[derive(Clone, Debug)]
pub struct Origin(pub String);

fn origin_of(req: &Request, key: &str) -> String {
    let addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown address".to_string());
    format!("{addr} key {key}")
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: reads need a `server`, `viewer` or `admin` key, writes an `admin`
/// key; a refused write is audited with who tried and from where.
pub async fn require_admin(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let write = is_write(req.method());
    let refusal = match app.keys.authenticate(req.headers()) {
        Ok(c) if c.scope == Scope::Admin || (!write && c.scope.operates()) => {
            let origin = origin_of(&req, &c.name);
            req.extensions_mut().insert(Origin(origin));
            req.extensions_mut().insert(c);
            return next.run(req).await;
        }
        Ok(c) => (
            c.name.to_string(),
            ApiError::forbidden(if req.uri().path().starts_with("/v1/keys") {
                "managing API keys needs an `admin` key"
            } else if write {
                "changing overrides needs an `admin` key"
            } else {
                "reading overrides and the audit log needs a `server`, `viewer` or `admin` key"
            }),
        ),
        Err(e) => ("anonymous".to_string(), e),
    };
    let (who, error) = refusal;
    if write {
        let flag = req
            .uri()
            .path()
            .strip_prefix("/v1/overrides/")
            .map(str::to_string);
        let mut entry = NewEntry::new(AuditKind::WriteRefused, who.clone())
            .reason(format!(
                "{} {}: {}",
                req.method(),
                req.uri().path(),
                error.details
            ))
            .origin(origin_of(&req, &who));
        entry.flag = flag;
        app.control.audit(entry);
    }
    app.metrics.refuse(error).into_response()
}

pub(crate) fn store_error(e: StoreError, app: &App) -> Response {
    let (status, code) = match &e {
        StoreError::Stale { .. } => (StatusCode::PRECONDITION_FAILED, "STALE"),
        StoreError::NoOverride(_) | StoreError::NoKey(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        StoreError::Unavailable(_) | StoreError::Corrupt(_) => {
            app.control.set_fault(Some(e.to_string()));
            (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE")
        }
        StoreError::Refused(_) => (StatusCode::CONFLICT, "REFUSED"),
    };
    let mut response = ApiError::status(status, code, e.to_string()).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    if let StoreError::Stale { current, .. } = e {
        if let Ok(v) = HeaderValue::from_str(&etag(current)) {
            response.headers_mut().insert(header::ETAG, v);
        }
    }
    response
}

fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// One override as the API shows it: with whether it applies to the
/// version served, and why not.
fn shown(app: &App, o: &Override) -> Value {
    let served = app.served();
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        let problem = served.problem(&o.flag);
        m.insert("applied".into(), problem.is_none().into());
        if let Some(p) = problem {
            m.insert("problem".into(), p.into());
        }
    }
    v
}

fn state_response(app: &App, state: &vexil_control::OverrideState) -> Response {
    let body = json!({
        "version": state.version,
        "overrides": state.overrides.iter().map(|o| shown(app, o)).collect::<Vec<_>>(),
    });
    with_etag(axum::Json(body).into_response(), state.version)
}

fn with_etag(mut response: Response, version: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// The state to answer reads from: the store's, or the last known one
/// while the store is away.
async fn current(app: &App) -> vexil_control::OverrideState {
    match app.control.store.state().await {
        Ok(state) => {
            app.control.set_fault(None);
            let copy = state.clone();
            app.apply_overrides(state);
            copy
        }
        Err(e) => {
            app.control.set_fault(Some(e.to_string()));
            (*app.control.state()).clone()
        }
    }
}

/// `GET /v1/overrides`.
pub async fn list(State(app): State<Arc<App>>) -> Response {
    let state = current(&app).await;
    state_response(&app, &state)
}

/// `GET /v1/overrides/{flag}`.
pub async fn get_one(State(app): State<Arc<App>>, Path(flag): Path<String>) -> Response {
    let state = current(&app).await;
    match state.get(&flag) {
        Some(o) => with_etag(axum::Json(shown(&app, o)).into_response(), state.version),
        None => ApiError::status(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("`{flag}` has no override"),
        )
        .into_response(),
    }
}

/// The body of `PUT /v1/overrides/{flag}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SetBody {
    action: Action,
    reason: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// What `If-Match` asks: `None` for `*`, else the version it names.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or_else(|| {
            ApiError::status(
                StatusCode::PRECONDITION_REQUIRED,
                "PRECONDITION_REQUIRED",
                "a write needs `If-Match` with the `ETag` of the overrides it read (`GET /v1/overrides`), or `If-Match: *` to write whatever they are",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::parse("`If-Match` is not text"))?
        .trim();
    if value == "*" {
        return Ok(None);
    }
    let bare = value.strip_prefix("W/").unwrap_or(value).trim_matches('"');
    bare.parse::<u64>().map(Some).map_err(|_| {
        ApiError::parse(format!(
            "`If-Match: {value}` is not an ETag of the overrides (`\"N\"`, from `GET /v1/overrides`)"
        ))
    })
}

/// `PUT /v1/overrides/{flag}`: set or replace an override.
pub async fn put(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Extension(Origin(origin)): Extension<Origin>,
    Path(flag): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match prepare_set(&app, &caller, &flag, &headers, body) {
        Ok((expected, o)) => {
            let entry = NewEntry::new(AuditKind::OverrideSet, caller.name.to_string())
                .reason(o.reason.clone())
                .origin(origin);
            write(&app, expected, Write::Set(o), entry).await
        }
        Err(e) => app.metrics.refuse(e).into_response(),
    }
}

fn prepare_set(
    app: &App,
    caller: &Caller,
    flag: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Option<u64>, Override), ApiError> {
    let expected = if_match(headers)?;
    let bytes = read_body(body, app.config.limits.body_bytes)?;
    let body: SetBody = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::parse(format!(
            "the body is not an override: {e} (expected {{\"action\": {{\"kind\": \"off\"}}, \"reason\": \"...\", \"expiresAt\"?: \"RFC 3339\"}}; kinds: off, value, variant, rollout, stop_enrolment)"
        ))
    })?;
    let o = checked_override(app, caller, flag, body.action, body.reason, body.expires_at)?;
    Ok((expected, o))
}

/// The override `caller` asks for on `flag`, checked: a reason (required,
/// at most 2000 bytes), an expiry in the future, and an action the version
/// served can apply (a flag, variant or rule it has, a value of its type).
pub(crate) fn checked_override(
    app: &App,
    caller: &Caller,
    flag: &str,
    action: Action,
    reason: Option<String>,
    expires_at: Option<String>,
) -> Result<Override, ApiError> {
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::parse("an override needs a `reason`: say why, for the audit log")
        })?;
    if reason.len() > 2000 {
        return Err(ApiError::parse("the `reason` is longer than 2000 bytes"));
    }
    let now = Timestamp::now();
    let expires_at = match expires_at {
        None => None,
        Some(text) => {
            let at: Timestamp = text.parse().map_err(|e| {
                ApiError::parse(format!(
                    "`expiresAt` `{text}` is not an RFC 3339 time such as 2026-12-07T18:00:00Z: {e}"
                ))
            })?;
            if at <= now {
                return Err(ApiError::parse(format!(
                    "`expiresAt` {at} is in the past: an override must expire after it is set"
                )));
            }
            Some(at)
        }
    };
    let o = Override {
        flag: flag.to_string(),
        action,
        actor: caller.name.to_string(),
        reason,
        created_at: now,
        expires_at,
    };
    // Checked against the version served: unknown flag, variant or rule, a
    // value of the wrong type.
    let served = app.served();
    let checked = served.base.with_overrides(&[o.spec()]);
    if let Some(problem) = checked.overrides().and_then(|t| t.problems().first()) {
        return Err(ApiError::parse(problem.message.clone()));
    }
    Ok(o)
}

/// The body of `DELETE /v1/overrides/{flag}` (optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LiftBody {
    reason: Option<String>,
}

/// `DELETE /v1/overrides/{flag}`: lift an override.
pub async fn delete(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Extension(Origin(origin)): Extension<Origin>,
    Path(flag): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let prepared = if_match(&headers).and_then(|expected| {
        let bytes = read_body(body, app.config.limits.body_bytes)?;
        let lift: LiftBody = if bytes.iter().all(u8::is_ascii_whitespace) {
            LiftBody::default()
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::parse(format!("the body is not `{{\"reason\": \"...\"}}`: {e}"))
            })?
        };
        Ok((expected, lift))
    });
    let (expected, lift) = match prepared {
        Ok(p) => p,
        Err(e) => return app.metrics.refuse(e).into_response(),
    };
    let reason = lift
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "lifted".to_string());
    let entry = NewEntry::new(AuditKind::OverrideLifted, caller.name.to_string())
        .reason(reason)
        .origin(origin);
    write(&app, expected, Write::Lift(flag), entry).await
}

async fn write(app: &App, expected: Option<u64>, change: Write, entry: NewEntry) -> Response {
    match commit(app, expected, change, entry).await {
        Ok(state) => state_response(app, &state),
        Err(e) => store_error(e, app),
    }
}

/// Write an override change with its audit entry, and serve the state it
/// makes (the API's writes and the dashboard's).
pub(crate) async fn commit(
    app: &App,
    expected: Option<u64>,
    change: Write,
    entry: NewEntry,
) -> Result<vexil_control::OverrideState, StoreError> {
    let state = app.control.store.write(expected, change, entry).await?;
    app.control.set_fault(None);
    app.apply_overrides(state.clone());
    Ok(state)
}

/// The query of `GET /v1/audit`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    flag: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
    format: Option<String>,
}

fn time(name: &str, text: Option<String>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| {
        t.parse::<Timestamp>().map_err(|e| {
            ApiError::parse(format!(
                "`{name}` `{t}` is not an RFC 3339 time such as 2026-12-07T18:00:00Z: {e}"
            ))
        })
    })
    .transpose()
}

/// `GET /v1/audit`: JSON, or JSON Lines (`format=jsonl`, or `Accept:
/// application/jsonl` or `application/x-ndjson`).
pub async fn audit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(params) = match query {
        Ok(q) => q,
        Err(e) => {
            return app
                .metrics
                .refuse(ApiError::parse(e.body_text()))
                .into_response()
        }
    };
    let jsonl = match params.format.as_deref() {
        Some("jsonl") => true,
        Some("json") => false,
        Some(other) => {
            let e = ApiError::parse(format!("`format` is `json` or `jsonl`, not `{other}`"));
            return app.metrics.refuse(e).into_response();
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/jsonl") || a.contains("application/x-ndjson")),
    };
    let query = match (time("since", params.since), time("until", params.until)) {
        (Ok(since), Ok(until)) => AuditQuery {
            flag: params.flag,
            actor: params.actor,
            since,
            until,
            limit: params.limit,
        },
        (Err(e), _) | (_, Err(e)) => return app.metrics.refuse(e).into_response(),
    };
    match app.control.store.audit(&query).await {
        Ok(entries) => {
            app.control.set_fault(None);
            if jsonl {
                let mut text = String::new();
                for e in &entries {
                    text.push_str(&serde_json::to_string(e).unwrap_or_default());
                    text.push('\n');
                }
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/jsonl"),
                    )],
                    text,
                )
                    .into_response()
            } else {
                axum::Json(json!({ "entries": entries })).into_response()
            }
        }
        Err(e) => store_error(e, &app),
    }
}
