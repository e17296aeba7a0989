//! The admin dashboard under `/admin`: pages rendered on the server (maud)
//! from the same state the API answers from (the served version, the
//! override store and its audit log, the metrics registry), one CSS file and
//! a little JavaScript, all embedded in the binary. A person signs in with a
//! `viewer` or `admin` key (or a trusted reverse proxy names them) and gets
//! a session; every write form carries the session's CSRF token.

mod analyses;
mod assets;
mod audit;
mod chart;
mod code;
mod experiments;
mod flag;
mod flags;
mod git;
mod health;
mod page;
mod readings;
mod rollouts;
mod schedule;
mod session;
mod source;
mod usage;
mod why;

pub(crate) use why::api as explain_api;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::state::App;

pub use session::DashboardConfig;

/// The dashboard's state: the server's, and the sessions.
pub(crate) struct Dashboard {
    pub app: Arc<App>,
    pub sessions: session::Sessions,
    pub rate: Arc<health::Rate>,
    /// The Flags page's stale status and last commits.
    pub git: git::Shared,
    /// Where the code refers to each flag.
    pub code: code::Shared,
    /// The experiment pages' analyses, kept for a while.
    pub analyses: analyses::Analyses,
}

/// The dashboard's routes, to merge into the server's router.
pub(crate) fn router<S>(app: Arc<App>) -> Router<S> {
    if !app.config.dashboard.enabled {
        return Router::new().with_state(());
    }
    let rate = Arc::new(health::Rate::default());
    health::sample(app.clone(), rate.clone());
    let dashboard = Arc::new(Dashboard {
        git: git::follow(app.clone()),
        code: code::follow(app.clone()),
        sessions: session::Sessions::new(&app.config, app.control.store.clone()),
        rate,
        analyses: analyses::Analyses::new(std::time::Duration::from_secs(
            app.config.dashboard.analysis_cache_seconds,
        )),
        app,
    });
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/flags") }))
        .route("/admin/", get(|| async { Redirect::to("/admin/flags") }))
        .route(
            "/admin/login",
            get(session::login_page).post(session::login),
        )
        .route("/admin/logout", post(session::logout))
        .route("/admin/flags", get(flags::page))
        .route("/admin/flags/{name}", get(flag::page))
        .route("/admin/flags/{name}/override", post(flag::set_override))
        .route("/admin/flags/{name}/lift", post(flag::lift))
        .route("/admin/experiments", get(experiments::list))
        .route("/admin/experiments/{name}", get(experiments::page))
        .route(
            "/admin/experiments/{name}/analysis",
            get(experiments::section),
        )
        .route("/admin/rollouts", get(rollouts::page))
        .route("/admin/why", get(why::page))
        .route("/admin/schedule", get(schedule::page))
        .route("/admin/audit", get(audit::page))
        .route("/admin/health", get(health::page))
        .route("/admin/assets/{file}", get(assets::serve))
        .layer(middleware::from_fn(security_headers))
        .with_state(dashboard)
}

/// Every dashboard answer: nothing from another origin, never framed, no
/// type sniffing, no referrer leaving the page, pages never cached.
async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/admin/assets/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// An HTML answer with a status.
/// Where a page's time went, answered as a `Server-Timing` header (shown
/// by a browser's developer tools; read by `examples/dashboard_pages`):
/// each part's name and milliseconds, nothing else.
#[derive(Default)]
pub(crate) struct Timings {
    parts: Vec<(&'static str, std::time::Duration)>,
    since: Option<std::time::Instant>,
}

impl Timings {
    /// Start timing (the first part starts now).
    pub fn start() -> Timings {
        Timings {
            parts: Vec::new(),
            since: Some(std::time::Instant::now()),
        }
    }

    /// The part `name` ended now; the next starts.
    pub fn part(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        if let Some(since) = self.since.replace(now) {
            self.parts.push((name, now - since));
        }
    }

    /// `response` with the parts as `Server-Timing`.
    pub fn on(self, mut response: Response) -> Response {
        let text = self
            .parts
            .iter()
            .map(|(name, d)| format!("{name};dur={:.2}", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(value) = header::HeaderValue::from_str(&text) {
            response.headers_mut().insert("server-timing", value);
        }
        response
    }
}

pub(crate) fn html(status: axum::http::StatusCode, markup: maud::Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}
