//! API keys: who is calling, with which scope. Keys are known only by the
//! SHA-256 of their secret; a request presents the secret as
//! `Authorization: Bearer <secret>` or `X-API-Key: <secret>`.

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::errors::ApiError;
use crate::state::App;

/// What a key may do. `client` keys are for code users can read (browsers,
/// mobile apps); `server` keys also reach `/status` and `/metrics` and read
/// overrides and the audit log; `viewer` keys are a person's read-only
/// access (the dashboard, and what a `server` key reads); `admin` keys also
/// change overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Client,
    Server,
    Viewer,
    Admin,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "client" => Some(Scope::Client),
            "server" => Some(Scope::Server),
            "viewer" => Some(Scope::Viewer),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Client => "client",
            Scope::Server => "server",
            Scope::Viewer => "viewer",
            Scope::Admin => "admin",
        }
    }

    /// Whether the key reaches operational endpoints and reads overrides
    /// and the audit log.
    pub fn operates(self) -> bool {
        matches!(self, Scope::Server | Scope::Viewer | Scope::Admin)
    }

    /// Whether a person may open the dashboard with the key.
    pub fn sees_dashboard(self) -> bool {
        matches!(self, Scope::Viewer | Scope::Admin)
    }
}

/// One configured key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// For logs and metrics; never the secret.
    pub name: String,
    pub scope: Scope,
    /// The SHA-256 of the secret, in hexadecimal (`printf %s SECRET | sha256sum`).
    pub sha256: String,
}

/// The caller of a request, once authenticated.
#[derive(Clone, Debug)]
pub struct Caller {
    pub name: Arc<str>,
    pub scope: Scope,
    /// The token that opens this caller's event stream; `None` in
    /// development mode, where the stream is open.
    pub stream_token: Option<Arc<str>>,
}

/// The SHA-256 of a secret, in lowercase hexadecimal.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Bytes in lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    text
}

/// A SHA-256 written as 64 hexadecimal digits, as bytes.
fn digest_bytes(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// Keys by hash, and their event-stream tokens.
#[derive(Default)]
struct KeySet {
    /// By the digest's bytes: a request hashes its secret and looks the
    /// 32 bytes up, with nothing formatted. A hash that is not 64
    /// hexadecimal digits (the configuration refuses those) matches no
    /// secret.
    by_hash: FxHashMap<[u8; 32], Caller>,
    /// Event-stream tokens: derived from a key's hash, so that a stream URL
    /// (which browsers cannot send headers with) never carries the secret.
    streams: FxHashMap<String, Caller>,
    /// How many keys were given (malformed ones included).
    entries: usize,
}

impl KeySet {
    fn new(entries: &[KeyEntry]) -> KeySet {
        let mut set = KeySet {
            entries: entries.len(),
            ..KeySet::default()
        };
        for entry in entries {
            let hash = entry.sha256.to_ascii_lowercase();
            let token = hex(&Sha256::digest(format!("vexil-sse:{hash}").as_bytes()));
            let caller = Caller {
                name: entry.name.as_str().into(),
                scope: entry.scope,
                stream_token: Some(token.as_str().into()),
            };
            set.streams.insert(token, caller.clone());
            if let Some(digest) = digest_bytes(&hash) {
                set.by_hash.insert(digest, caller);
            }
        }
        set
    }
}

/// Every key, by hash: those of the configuration, fixed at start, and
/// those created at run time (kept in the store), replaced whole whenever
/// the store's list changes.
pub struct Keys {
    configured: KeySet,
    stored: ArcSwap<KeySet>,
}

impl Keys {
    pub fn new(entries: &[KeyEntry]) -> Keys {
        Keys {
            configured: KeySet::new(entries),
            stored: ArcSwap::from_pointee(KeySet::default()),
        }
    }

    /// The keys created at run time and not revoked: these, from now on.
    pub fn set_stored(&self, entries: &[KeyEntry]) {
        self.stored.store(Arc::new(KeySet::new(entries)));
    }

    fn by_hash(&self, hash: &[u8; 32]) -> Option<Caller> {
        self.configured
            .by_hash
            .get(hash)
            .cloned()
            .or_else(|| self.stored.load().by_hash.get(hash).cloned())
    }

    fn by_stream(&self, token: &str) -> Option<Caller> {
        self.configured
            .streams
            .get(token)
            .cloned()
            .or_else(|| self.stored.load().streams.get(token).cloned())
    }

    /// No configured keys: development mode (keys created at run time
    /// do not end it; it is loopback only).
    pub fn is_empty(&self) -> bool {
        self.configured.entries == 0
    }

    /// The caller a request's headers name.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        if self.is_empty() {
            return Ok(Caller {
                name: "development".into(),
                scope: Scope::Admin,
                stream_token: None,
            });
        }
        let secret = presented_secret(headers).ok_or_else(|| {
            ApiError::unauthorized(
                "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            )
        })?;
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        self.by_hash(&digest)
            .ok_or_else(|| ApiError::unauthorized("the API key is not valid"))
    }

    /// The caller a secret stands for (the dashboard's login form), the
    /// development caller when no keys are configured.
    pub fn by_secret(&self, secret: &str) -> Option<Caller> {
        if self.is_empty() {
            return self.authenticate(&HeaderMap::new()).ok();
        }
        let digest: [u8; 32] = Sha256::digest(secret.trim().as_bytes()).into();
        self.by_hash(&digest)
    }

    /// The caller an event-stream token stands for.
    pub fn stream_caller(&self, token: Option<&str>) -> Result<Caller, ApiError> {
        if self.is_empty() {
            return self.authenticate(&HeaderMap::new());
        }
        token.and_then(|t| self.by_stream(t)).ok_or_else(|| {
            ApiError::unauthorized(
                "the event stream needs the `token` its bulk evaluation response gave",
            )
        })
    }
}

fn presented_secret(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim()).filter(|s| !s.is_empty());
    }
    let auth = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|s| !s.is_empty())
}

/// The evaluation endpoints' caller: authenticated, within its rate limit.
/// An extractor rather than a middleware layer (which would box and clone
/// the route's service on every request); extracted before the body, so a
/// request without a valid key is refused before its body is read.
pub struct Authorized(pub Caller);

impl FromRequestParts<Arc<App>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let caller = app
            .keys
            .authenticate(&parts.headers)
            .map_err(|e| app.metrics.refuse(e).into_response())?;
        app.limiter
            .check(&caller)
            .map_err(|e| app.metrics.refuse(e).into_response())?;
        Ok(Authorized(caller))
    }
}

/// Middleware for operational endpoints: a `server` key (any request in
/// development mode).
pub async fn require_server_key(
    State(app): State<Arc<App>>,
    mut req: Request,
    next: Next,
) -> Response {
    match app.keys.authenticate(req.headers()) {
        Ok(c) if c.scope.operates() => {
            req.extensions_mut().insert(c);
            next.run(req).await
        }
        Ok(_) => app
            .metrics
            .refuse(ApiError::forbidden("this endpoint needs a `server` key"))
            .into_response(),
        Err(e) => app.metrics.refuse(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(&[KeyEntry {
            name: "web".into(),
            scope: Scope::Client,
            sha256: hash_secret("pub-123"),
        }])
    }

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, axum::http::HeaderValue::from_static(value));
        h
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), expected);
    }

    #[test]
    fn an_uppercase_hash_matches_and_a_malformed_one_matches_nothing() {
        let upper = Keys::new(&[KeyEntry {
            name: "web".into(),
            scope: Scope::Server,
            sha256: hash_secret("pub-123").to_ascii_uppercase(),
        }]);
        assert!(upper.authenticate(&headers("x-api-key", "pub-123")).is_ok());
        let malformed = Keys::new(&[KeyEntry {
            name: "web".into(),
            scope: Scope::Server,
            sha256: "not-a-digest".into(),
        }]);
        // Still keyed (not development mode), and nothing gets in.
        assert!(!malformed.is_empty());
        assert!(malformed
            .authenticate(&headers("x-api-key", "not-a-digest"))
            .is_err());
    }

    #[test]
    fn bearer_and_api_key_headers_both_work() {
        let keys = keys();
        let by_bearer = keys.authenticate(&headers("authorization", "Bearer pub-123"));
        assert_eq!(
            by_bearer.map(|c| c.name.to_string()).ok(),
            Some("web".into())
        );
        let by_header = keys.authenticate(&headers("x-api-key", "pub-123"));
        assert_eq!(by_header.map(|c| c.scope).ok(), Some(Scope::Client));
    }

    #[test]
    fn missing_wrong_or_malformed_keys_are_refused() {
        let keys = keys();
        assert!(keys.authenticate(&HeaderMap::new()).is_err());
        assert!(keys.authenticate(&headers("x-api-key", "pub-124")).is_err());
        assert!(keys
            .authenticate(&headers("authorization", "Basic pub-123"))
            .is_err());
        assert!(keys
            .authenticate(&headers("authorization", "Bearer"))
            .is_err());
    }

    #[test]
    fn a_stream_token_is_not_the_secret_and_opens_only_the_stream() {
        let keys = keys();
        let caller = keys
            .authenticate(&headers("x-api-key", "pub-123"))
            .expect("valid");
        let token = caller.stream_token.expect("keys have tokens");
        assert!(!token.contains("pub-123"));
        assert_ne!(token.as_ref(), hash_secret("pub-123"));
        assert!(keys.stream_caller(Some(&token)).is_ok());
        assert!(keys.stream_caller(Some("nope")).is_err());
        assert!(keys.stream_caller(None).is_err());
        let header = format!("{token}");
        assert!(keys
            .authenticate(&{
                let mut h = HeaderMap::new();
                h.insert("x-api-key", header.parse().expect("ascii"));
                h
            })
            .is_err());
    }
}
