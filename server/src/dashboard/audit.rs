//! The Audit log page: the store's append-only log, the newest first,
//! filtered by flag, actor, kind of change and time.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use maud::{html, Markup};
use serde::Deserialize;
use vexil_control::{AuditEntry, AuditKind, AuditQuery};

use super::page::{self, given, Nav};
use super::session::User;
use super::Dashboard;

/// Entries shown at once.
const SHOWN: usize = 500;

/// The filters of `GET /admin/audit`; an empty one does not filter.
#[derive(Default, Deserialize)]
pub struct Filters {
    flag: Option<String>,
    actor: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// A time filter: RFC 3339, or a day (`2026-12-07`, from midnight UTC).
fn time(name: &str, text: Option<&str>) -> Result<Option<Timestamp>, String> {
    let Some(text) = text else { return Ok(None) };
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(Some(t));
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| format!("{d}T00:00:00Z").parse::<Timestamp>().ok())
        .map(Some)
        .ok_or_else(|| {
            format!("`{name}` `{text}` is neither a day (2026-12-07) nor an RFC 3339 time")
        })
}

/// `GET /admin/audit`.
pub async fn page(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = filters.map(|q| q.0).unwrap_or_default();
    let app = &dashboard.app;
    let kind = given(&filters.kind).map(|k| AuditKind::parse(k).ok_or(k));
    let entries = match (
        time("since", given(&filters.since)),
        time("until", given(&filters.until)),
        kind,
    ) {
        (Err(e), _, _) | (_, Err(e), _) => Err(e),
        (_, _, Some(Err(k))) => Err(format!("no kind of entry `{k}`")),
        (Ok(since), Ok(until), kind) => {
            let query = AuditQuery {
                flag: given(&filters.flag).map(str::to_string),
                actor: given(&filters.actor).map(str::to_string),
                since,
                until,
                limit: None,
            };
            match app.control.store.audit(&query).await {
                Ok(mut entries) => {
                    if let Some(Ok(k)) = kind {
                        entries.retain(|e| e.kind == k);
                    }
                    entries.reverse();
                    Ok(entries)
                }
                Err(e) => Err(format!("the audit log cannot be read: {e}")),
            }
        }
    };
    let status = if entries.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = html! {
        h1 { "Audit log" }
        form.filters method="get" action="/admin/audit" {
            label { "Flag " input type="text" name="flag" value=[given(&filters.flag)]; }
            label { "Actor " input type="text" name="actor" value=[given(&filters.actor)]; }
            label { "Kind "
                select name="kind" data-autosubmit {
                    option value="" { "any" }
                    @for k in AuditKind::ALL { option value=(k.as_str()) selected[given(&filters.kind) == Some(k.as_str())] { (k.as_str()) } }
                }
            }
            label { "Since " input type="text" name="since" placeholder="2026-12-01" value=[given(&filters.since)]; }
            label { "Until " input type="text" name="until" placeholder="2026-12-08T12:00:00Z" value=[given(&filters.until)]; }
            button type="submit" { "Filter" }
            a href="/admin/audit" { "Clear" }
        }
        @match &entries {
            Ok(list) => {
                p.count { (list.len().min(SHOWN)) " of " (list.len()) " entries, the newest first" }
                (table(&list[..list.len().min(SHOWN)]))
            }
            Err(e) => { p.error role="alert" { (e) } }
        }
    };
    super::html(
        status,
        page::shell("Audit log", &user, Nav::Audit, app.keys.is_empty(), body),
    )
}

/// Entries as a table.
pub fn table(entries: &[AuditEntry]) -> Markup {
    html! {
        table.audit {
            thead { tr { th { "When" } th { "Kind" } th { "Actor" } th { "Flag" } th { "Reason" } th { "From" } } }
            tbody { @for e in entries {
                tr data-kind=(e.kind.as_str()) {
                    td.when { (page::time(e.at)) }
                    td { span class={ "entry " (e.kind.as_str()) } { (e.kind.as_str()) } }
                    td.actor { (e.actor) }
                    td { @if let Some(f) = &e.flag { a href={ "/admin/flags/" (f) } { (f) } } }
                    td.reason { @if let Some(r) = &e.reason { pre.wrap { (r) } } }
                    td.origin { (e.origin.as_deref().unwrap_or("")) }
                }
            } }
        }
    }
}
