//! API keys created and revoked at run time, under `/v1/keys`, for `admin`
//! keys only: create (the token is returned once, and only its SHA-256 is
//! stored), list (no secret, no hash) and revoke, each audited with its
//! actor. They work beside the configuration's keys. A revocation takes
//! effect at once on the server that made it, and on every other server
//! sharing the store at its next re-read of the keys (every 500 ms).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use vexil_control::{AuditKind, NewEntry, StoredKey};

use crate::admin::{store_error, Origin};
use crate::auth::{hash_secret, Caller, KeyEntry, Scope};
use crate::errors::{read_body, ApiError};
use crate::state::App;

/// How often the keys are read again from the store.
const REREAD: Duration = Duration::from_millis(500);
/// The longest key name.
const MAX_NAME: usize = 64;

/// `POST /v1/keys`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    scope: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `DELETE /v1/keys/{id}`'s optional body.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Revocation {
    #[serde(default)]
    reason: Option<String>,
}

fn admin_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.scope == Scope::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "managing API keys needs an `admin` key",
        ))
    }
}

/// Random bytes as lowercase hexadecimal.
pub(crate) fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// `POST /v1/keys`: a new key; its token is in this answer and nowhere else.
pub async fn create(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Extension(origin): Extension<Origin>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match create_key(&app, &caller, origin, body).await {
        Ok(response) => response,
        Err(e) => e,
    }
}

async fn create_key(
    app: &Arc<App>,
    caller: &Caller,
    origin: Origin,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Response> {
    let refuse = |e: ApiError| app.metrics.refuse(e).into_response();
    admin_only(caller).map_err(refuse)?;
    let bytes = read_body(body, app.config.limits.body_bytes).map_err(refuse)?;
    let new: NewKey = serde_json::from_slice(&bytes).map_err(|e| {
        refuse(ApiError::parse(format!(
            "the body must be {{\"name\": \"…\", \"scope\": \"client\" | \"server\" | \"admin\", \"reason\"?: \"…\"}}: {e}"
        )))
    })?;
    let name = new.name.trim();
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(refuse(ApiError::parse(format!(
            "a key's name is 1 to {MAX_NAME} letters, digits, `-`, `_` or `.`; `{}` is not",
            new.name
        ))));
    }
    let scope = Scope::parse(&new.scope).ok_or_else(|| {
        refuse(ApiError::parse(format!(
            "a key's scope is `client`, `server`, `viewer` or `admin`, not `{}`",
            new.scope
        )))
    })?;
    // 256 bits from the operating system's generator (rand's `ThreadRng`
    // is a CSPRNG seeded from it).
    let token = format!("vx_{}", random_hex(32));
    let key = StoredKey {
        id: format!("key_{}", random_hex(8)),
        name: name.to_string(),
        scope: scope.as_str().to_string(),
        sha256: hash_secret(&token),
        created_at: Timestamp::now(),
        created_by: caller.name.to_string(),
        revoked_at: None,
        revoked_by: None,
    };
    let mut entry = NewEntry::new(AuditKind::KeyCreated, caller.name.to_string())
        .origin(origin.0)
        .change(None, serde_json::to_value(&key).ok());
    entry.reason = new.reason;
    let stored = app
        .control
        .store
        .create_key(key, entry)
        .await
        .map_err(|e| store_error(e, app))?;
    refresh(app).await;
    let mut body = serde_json::to_value(&stored).unwrap_or_default();
    if let Some(members) = body.as_object_mut() {
        members.insert("token".into(), token.into());
    }
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    // The token must not linger in a cache.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /v1/keys`: the keys created at run time (revoked ones marked) and
/// the configuration's, without secrets or hashes.
pub async fn list(State(app): State<Arc<App>>, Extension(caller): Extension<Caller>) -> Response {
    if let Err(e) = admin_only(&caller) {
        return app.metrics.refuse(e).into_response();
    }
    match app.control.store.keys().await {
        Ok(keys) => {
            let configured: Vec<_> = app
                .config
                .keys
                .iter()
                .map(|k| json!({ "name": k.name, "scope": k.scope.as_str() }))
                .collect();
            Json(json!({ "keys": keys, "configured": configured })).into_response()
        }
        Err(e) => store_error(e, &app),
    }
}

/// `DELETE /v1/keys/{id}`: revoke a key created at run time.
pub async fn revoke(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Extension(origin): Extension<Origin>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let refuse = |e: ApiError| app.metrics.refuse(e).into_response();
    if let Err(e) = admin_only(&caller) {
        return refuse(e);
    }
    let bytes = match read_body(body, app.config.limits.body_bytes) {
        Ok(b) => b,
        Err(e) => return refuse(e),
    };
    let revocation: Revocation = if bytes.iter().all(u8::is_ascii_whitespace) {
        Revocation::default()
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                return refuse(ApiError::parse(format!(
                    "the body, when there is one, must be {{\"reason\": \"…\"}}: {e}"
                )))
            }
        }
    };
    let mut entry = NewEntry::new(AuditKind::KeyRevoked, caller.name.to_string())
        .origin(origin.0)
        .change(Some(json!({ "id": id })), None);
    entry.reason = revocation.reason;
    match app
        .control
        .store
        .revoke_key(&id, Timestamp::now(), &caller.name, entry)
        .await
    {
        Ok(key) => {
            refresh(&app).await;
            Json(json!({ "key": key })).into_response()
        }
        Err(e) => store_error(e, &app),
    }
}

/// Read the keys from the store and use those not revoked; `false` when
/// the store could not be read (the last known keys stay).
pub async fn refresh(app: &App) -> bool {
    // One refresh at a time: a re-read that began before a revocation
    // committed must not install its older list after the revocation's.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    match app.control.store.keys().await {
        Ok(keys) => {
            let active: Vec<KeyEntry> = keys
                .into_iter()
                .filter(|k| k.revoked_at.is_none())
                .filter_map(|k| {
                    Some(KeyEntry {
                        scope: Scope::parse(&k.scope)?,
                        name: k.name,
                        sha256: k.sha256,
                    })
                })
                .collect();
            app.keys.set_stored(&active);
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the API keys from the store; the last known stay in use");
            false
        }
    }
}

/// Re-read the keys every [`REREAD`], so that a key created or revoked on
/// another server sharing the store is known here within a second.
pub async fn follow(app: Arc<App>) {
    let mut stopping = app.stopping();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REREAD) => {}
            _ = stopping.changed() => return,
        }
        if *stopping.borrow() {
            return;
        }
        refresh(&app).await;
    }
}
