//! The Schedule page: the release calendar the flags declare (`vexil
//! schedule`'s, computed by the lifecycle crate from the bundle served):
//! rules starting and ending, each stage of a staged rollout, experiments
//! starting and ending, expiries; the coming ones first, past ones on
//! request.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::page::{self, Nav};
use super::session::User;
use super::Dashboard;

/// `?past=1` shows what already happened too.
#[derive(Default, Deserialize)]
pub struct Filters {
    past: Option<String>,
}

/// `GET /admin/schedule`.
pub async fn page(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = filters.map(|q| q.0).unwrap_or_default();
    let past = filters
        .past
        .as_deref()
        .is_some_and(|p| !p.is_empty() && p != "0");
    let app = &dashboard.app;
    let served = app.served();
    let now = vexil_runtime::now();
    let changes = vexil_lifecycle::schedule::schedule(served.base.bundle());
    let shown: Vec<_> = changes.iter().filter(|c| past || c.at >= now).collect();
    let body = html! {
        h1 { "Schedule" }
        p.muted { "Every time-based change the flags served declare, as " code { "vexil schedule" } " lists it." }
        p {
            @if past { a href="/admin/schedule" { "Hide what already happened" } }
            @else { a href="/admin/schedule?past=1" { "Show what already happened too" } }
        }
        p.count { (shown.len()) " of " (changes.len()) " changes" }
        table.schedule {
            thead { tr { th { "When" } th { "Item" } th { "Name" } th { "Change" } th { "Declared at" } } }
            tbody { @for c in &shown {
                tr class=(if c.at < now { "past" } else { "coming" }) {
                    td.when { (page::time_micros(c.at)) }
                    td { (c.item) }
                    td { @if c.item == "flag" { a href={ "/admin/flags/" (c.name) } { (c.name) } } @else { (c.name) } }
                    td { (c.summary) }
                    td { code { (c.file) ":" (c.line) } }
                }
            } }
        }
    };
    super::html(
        StatusCode::OK,
        page::shell("Schedule", &user, Nav::Schedule, app.keys.is_empty(), body),
    )
}
