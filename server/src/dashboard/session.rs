//! Who is looking at the dashboard. A person signs in with a `viewer` or
//! `admin` key and gets a session: a random token in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` unless served on loopback without
//! TLS), kept in the control store by the token's SHA-256 with an expiry,
//! so it survives a restart, every server on the store knows it, and
//! signing out ends it everywhere. Or a
//! reverse proxy that the configuration trusts names the person in a
//! header. Either way each person has a CSRF token that every write form
//! carries.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use vexil_control::{Store, StoreError, StoredSession};

use super::{page, Dashboard};
use crate::auth::Scope;
use crate::config::Config;

/// The session cookie's name.
pub const COOKIE: &str = "vexil_session";

/// The dashboard's settings (`[dashboard]`).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// Serve the dashboard under `/admin`.
    pub enabled: bool,
    /// How long a session lasts after signing in, in minutes.
    pub session_minutes: u64,
    /// Mark the session cookie `Secure` (sent over HTTPS only). Default:
    /// yes, unless the server listens on a loopback address (a developer's
    /// machine, served over plain HTTP).
    pub secure_cookie: Option<bool>,
    /// A header a reverse proxy sets to the signed-in person's name
    /// (`X-Forwarded-User`); trusted only on connections from
    /// `trusted_proxies`.
    pub identity_header: Option<String>,
    /// The addresses of the proxies whose identity header is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// People named by the proxy who get the `admin` scope; everyone else
    /// it names is a `viewer`.
    pub proxy_admins: Vec<String>,
    /// How long, in seconds, an experiment page's analysis is reused
    /// before the event store is read again; 0 reads it on every view.
    pub analysis_cache_seconds: u64,
    /// How long, in milliseconds, an experiment page waits for an
    /// analysis it has none of before it answers without it (the page's
    /// script then fills the section in when the analysis is done); 0
    /// never waits.
    pub analysis_wait_ms: u64,
    /// A flag the usage rollups show no evaluation of in this many days
    /// (when their history covers them) is `stale` on the Flags page, as
    /// `vexil stale --unused-days N` reports it; 0 leaves usage out.
    pub unused_days: u32,
    /// Application code to search for references to the flags (files or
    /// directories, `.gitignore` respected; relative to the config file):
    /// a flag no code refers to is `stale` on the Flags page, as `vexil
    /// stale --code` reports it, and a flag's page lists where it is read.
    pub code: Vec<std::path::PathBuf>,
    /// How often the code is searched again, in seconds (also after each
    /// new version).
    pub code_refresh_seconds: u64,
}

impl Default for DashboardConfig {
    fn default() -> DashboardConfig {
        DashboardConfig {
            enabled: true,
            session_minutes: 8 * 60,
            secure_cookie: None,
            identity_header: None,
            trusted_proxies: Vec::new(),
            proxy_admins: Vec::new(),
            analysis_cache_seconds: 60,
            analysis_wait_ms: 50,
            unused_days: 30,
            code: Vec::new(),
            code_refresh_seconds: 300,
        }
    }
}

impl DashboardConfig {
    /// The paths it names exist (checked at start, once paths in a config
    /// file are taken relative to it).
    pub fn check_paths(&self) -> Result<(), String> {
        match self.code.iter().find(|p| !p.exists()) {
            Some(missing) => Err(format!(
                "`dashboard.code` names `{}`, which does not exist",
                missing.display()
            )),
            None => Ok(()),
        }
    }

    /// A configuration that cannot work is refused at start.
    pub fn check(&self) -> Result<(), String> {
        if let Some(name) = &self.identity_header {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!(
                    "`dashboard.identity_header` `{name}` is not a header name"
                ));
            }
            if self.trusted_proxies.is_empty() {
                return Err(
                    "`dashboard.identity_header` needs `dashboard.trusted_proxies`: the addresses of the proxies allowed to set it"
                        .to_string(),
                );
            }
        }
        if self.session_minutes == 0 {
            return Err("`dashboard.session_minutes` must be at least 1".to_string());
        }
        if self.code_refresh_seconds == 0 {
            return Err("`dashboard.code_refresh_seconds` must be at least 1".to_string());
        }
        Ok(())
    }
}

/// A person using the dashboard.
#[derive(Clone, Debug)]
pub struct User {
    pub name: Arc<str>,
    pub scope: Scope,
    /// The token every write form must carry.
    pub csrf: String,
    /// The session's token digest in hexadecimal, when signed in by key
    /// (not by proxy).
    session: Option<String>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.scope == Scope::Admin
    }

    /// Whether `token` is this person's CSRF token (compared in constant
    /// time).
    pub fn csrf_matches(&self, token: Option<&str>) -> bool {
        let Some(token) = token else { return false };
        let (a, b) = (self.csrf.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The sessions, kept in the control store by the SHA-256 of their token
/// (the token itself is only in the browser's cookie).
pub struct Sessions {
    store: Arc<dyn Store>,
    ttl: Duration,
    secure: bool,
    /// Signs the CSRF tokens of people the proxy names (they have no
    /// session to keep one in); random per process.
    proxy_key: [u8; 32],
    identity_header: Option<axum::http::HeaderName>,
    trusted: Vec<IpAddr>,
    proxy_admins: Vec<String>,
}

fn digest(token: &str) -> String {
    crate::auth::hex(&Sha256::digest(token.as_bytes()))
}

impl Sessions {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Sessions {
        let d = &config.dashboard;
        Sessions {
            store,
            ttl: Duration::from_secs(d.session_minutes.saturating_mul(60)),
            secure: d.secure_cookie.unwrap_or(!config.listen.ip().is_loopback()),
            proxy_key: rand::random(),
            identity_header: d
                .identity_header
                .as_deref()
                .and_then(|h| axum::http::HeaderName::from_bytes(h.as_bytes()).ok()),
            trusted: d.trusted_proxies.clone(),
            proxy_admins: d.proxy_admins.clone(),
        }
    }

    /// A new session for `name`; its token, for the cookie.
    async fn open(&self, name: &str, scope: Scope) -> Result<String, StoreError> {
        let token = crate::keys::random_hex(32);
        let now = jiff::Timestamp::now();
        let ttl = jiff::SignedDuration::try_from(self.ttl).unwrap_or(jiff::SignedDuration::MAX);
        let session = StoredSession {
            digest: digest(&token),
            name: name.to_string(),
            scope: scope.as_str().to_string(),
            csrf: crate::keys::random_hex(32),
            expires_at: now.checked_add(ttl).unwrap_or(jiff::Timestamp::MAX),
        };
        self.store.open_session(session, now).await?;
        Ok(token)
    }

    /// The person whose session `token` opens, unless it ended.
    async fn find(&self, token: &str) -> Result<Option<User>, StoreError> {
        let key = digest(token);
        let found = self.store.session(&key, jiff::Timestamp::now()).await?;
        Ok(found.and_then(|s| {
            // A scope this server does not know (a newer one's) is no session.
            let scope = Scope::parse(&s.scope).filter(|s| s.sees_dashboard())?;
            Some(User {
                name: s.name.into(),
                scope,
                csrf: s.csrf,
                session: Some(key),
            })
        }))
    }

    /// The person a trusted proxy names, if the request came through one.
    fn proxied(&self, parts: &Parts) -> Option<User> {
        let header = self.identity_header.as_ref()?;
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
        if !self.trusted.contains(&peer) {
            return None;
        }
        let name = parts.headers.get(header)?.to_str().ok()?.trim();
        if name.is_empty() || name.len() > 200 {
            return None;
        }
        let scope = if self.proxy_admins.iter().any(|a| a == name) {
            Scope::Admin
        } else {
            Scope::Viewer
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.proxy_key).ok()?;
        mac.update(format!("proxy:{name}:{}", scope.as_str()).as_bytes());
        Some(User {
            name: format!("{name} (proxy)").into(),
            scope,
            csrf: crate::auth::hex(&mac.finalize().into_bytes()),
            session: None,
        })
    }

    /// The `Set-Cookie` value for `token` (empty and expired: sign out).
    fn cookie(&self, token: Option<&str>) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        match token {
            Some(t) => format!(
                "{COOKIE}={t}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                self.ttl.as_secs()
            ),
            None => format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
        }
    }
}

/// The session token in a request's cookies.
fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Pages take a [`User`]; without one, the browser is sent to sign in.
impl FromRequestParts<Arc<Dashboard>> for User {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        dashboard: &Arc<Dashboard>,
    ) -> Result<User, Response> {
        let sessions = &dashboard.sessions;
        if let Some(user) = sessions.proxied(parts) {
            return Ok(user);
        }
        if let Some(token) = session_token(&parts.headers) {
            match sessions.find(token).await {
                Ok(Some(user)) => return Ok(user),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the dashboard's sessions cannot be read from the store");
                    return Err(super::html(
                        StatusCode::SERVICE_UNAVAILABLE,
                        page::message(
                            "Unavailable",
                            "the store that keeps sessions cannot be reached: try again in a moment",
                        ),
                    ));
                }
            }
        }
        if parts.method == axum::http::Method::GET {
            Err(Redirect::to("/admin/login").into_response())
        } else {
            Err(super::html(
                StatusCode::UNAUTHORIZED,
                page::message(
                    "Signed out",
                    "your session has ended: sign in again, then repeat the change",
                ),
            ))
        }
    }
}

/// `GET /admin/login`.
pub async fn login_page(State(dashboard): State<Arc<Dashboard>>) -> Response {
    super::html(
        StatusCode::OK,
        login_form(dashboard.app.keys.is_empty(), None),
    )
}

fn login_form(development: bool, error: Option<&str>) -> maud::Markup {
    page::bare(
        "Sign in",
        development,
        html! {
            form.login method="post" action="/admin/login" {
                h1 { "Vexil" }
                p { "Sign in with a " code { "viewer" } " or " code { "admin" } " API key." }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="current-password" autofocus;
                button type="submit" { "Sign in" }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    key: Option<String>,
}

/// `POST /admin/login`: a key in, a session cookie out.
pub async fn login(
    State(dashboard): State<Arc<Dashboard>>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let app = &dashboard.app;
    let development = app.keys.is_empty();
    let key = form.ok().and_then(|f| f.0.key).unwrap_or_default();
    if key.len() > 1000 {
        let page = login_form(development, Some("that key is too long to be one"));
        return super::html(StatusCode::BAD_REQUEST, page);
    }
    let refused =
        |status, message: &str| super::html(status, login_form(development, Some(message)));
    match app.keys.by_secret(&key) {
        Some(caller) if caller.scope.sees_dashboard() => {
            let token = match dashboard.sessions.open(&caller.name, caller.scope).await {
                Ok(token) => token,
                Err(e) => {
                    tracing::error!(error = %e, "a dashboard session cannot be stored");
                    return refused(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the store that keeps sessions cannot be reached: try again in a moment",
                    );
                }
            };
            tracing::info!(key = %caller.name, scope = caller.scope.as_str(), "dashboard sign-in");
            let mut response = Redirect::to("/admin/flags").into_response();
            if let Ok(v) = HeaderValue::from_str(&dashboard.sessions.cookie(Some(&token))) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            response
        }
        Some(caller) => {
            app.metrics.error("GENERAL");
            refused(
                StatusCode::FORBIDDEN,
                &format!(
                    "a `{}` key cannot open the dashboard: use a `viewer` or `admin` key",
                    caller.scope.as_str()
                ),
            )
        }
        None => {
            app.metrics.error("GENERAL");
            tracing::warn!("dashboard sign-in refused: the key is not valid");
            refused(StatusCode::UNAUTHORIZED, "that key is not valid")
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /admin/logout`: the session ends on the server too.
pub async fn logout(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let token = form.ok().and_then(|f| f.0.csrf);
    if !user.csrf_matches(token.as_deref()) {
        return csrf_refused();
    }
    if let Some(key) = &user.session {
        if let Err(e) = dashboard.sessions.store.close_session(key).await {
            tracing::error!(error = %e, "a dashboard session cannot be ended in the store");
            return super::html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::message(
                    "Unavailable",
                    "the store that keeps sessions cannot be reached, so the session is not ended: try again in a moment",
                ),
            );
        }
    }
    let mut response = Redirect::to("/admin/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&dashboard.sessions.cookie(None)) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The answer to a write whose CSRF token is missing or wrong.
pub fn csrf_refused() -> Response {
    super::html(
        StatusCode::FORBIDDEN,
        page::message(
            "Refused",
            "the form's CSRF token is missing or not this session's: reload the page and try again",
        ),
    )
}
