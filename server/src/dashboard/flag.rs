//! A flag's page: its doc comment and source, its rules in order, what it
//! served (by variant and reason, from the metrics), its prerequisites and
//! dependants, the override in force with the forms to set or lift one
//! (admins only; a reason is required), and its audit trail.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use vexil_control::{Action, AuditKind, AuditQuery, NewEntry, StoreError, Write};
use vexil_ir::{Flag, FlagValue, RuleResult, ServedValue};

use super::flags::day;
use super::page::{self, Nav};
use super::session::{csrf_refused, User};
use super::{source, Dashboard};
use crate::auth::Caller;
use crate::state::Served;

/// Audit entries shown on a flag's page, the newest first.
const TRAIL: usize = 50;

/// `GET /admin/flags/{name}`.
pub async fn page(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    Path(name): Path<String>,
) -> Response {
    let app = &dashboard.app;
    let served = app.served();
    let bundle = served.base.bundle();
    let development = app.keys.is_empty();
    let Some(index) = bundle.flags.iter().position(|f| f.name == name) else {
        if bundle.experiments.iter().any(|x| x.name == name) {
            return Redirect::to(&format!("/admin/experiments/{name}")).into_response();
        }
        let text = format!("no flag named `{name}` in the version served");
        return super::html(StatusCode::NOT_FOUND, page::message("Not found", &text));
    };
    let trail = match app
        .control
        .store
        .audit(&AuditQuery {
            flag: Some(name.clone()),
            ..AuditQuery::default()
        })
        .await
    {
        Ok(mut entries) => {
            entries.reverse();
            entries.truncate(TRAIL);
            Ok(entries)
        }
        Err(e) => Err(e.to_string()),
    };
    let usage = super::usage::read(app, super::usage::FLAG_HOURS, Some(&name)).await;
    let body = flag_body(&dashboard, &served, index, &user, &usage, &trail);
    super::html(
        StatusCode::OK,
        page::shell(&name, &user, Nav::Flags, development, body),
    )
}

fn value_text(flag: &Flag, id: u32) -> String {
    match flag.values.get(id as usize) {
        Some(ServedValue {
            variant: Some(v), ..
        }) => v.clone(),
        Some(ServedValue { value, .. }) => literal(value),
        None => "?".to_string(),
    }
}

fn literal(value: &FlagValue) -> String {
    match value {
        FlagValue::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn percent(buckets: u32) -> String {
    vexil_ir::bucket::buckets_to_percent(buckets)
}

fn result_text(flag: &Flag, result: &RuleResult) -> String {
    match result {
        RuleResult::Serve(v) => format!("serves {}", value_text(flag, *v)),
        RuleResult::Rollout { buckets, value, .. } => {
            format!(
                "serves {} to {}",
                value_text(flag, *value),
                percent(*buckets)
            )
        }
        RuleResult::Staged { stages, value, .. } => format!(
            "serves {} in {} stages (staged rollout)",
            value_text(flag, *value),
            stages.len()
        ),
        RuleResult::Split { arms, .. } => {
            let mut lower = 0;
            let parts: Vec<String> = arms
                .iter()
                .map(|a| {
                    let share = percent(a.upper.saturating_sub(lower));
                    lower = a.upper;
                    format!("{} {share}", value_text(flag, a.value))
                })
                .collect();
            format!("splits: {}", parts.join(", "))
        }
    }
}

fn flag_body(
    dashboard: &Dashboard,
    served: &Served,
    index: usize,
    user: &User,
    usage: &Result<crate::usage_api::Summary, String>,
    trail: &Result<Vec<vexil_control::AuditEntry>, String>,
) -> Markup {
    let bundle = served.base.bundle();
    let Some(flag) = bundle.flags.get(index) else {
        return html! {};
    };
    let meta = &flag.meta;
    let active = served.overrides.get(&flag.name);
    let requires: Vec<&str> = flag
        .prerequisites
        .iter()
        .filter_map(|p| bundle.flags.get(p.flag as usize).map(|f| f.name.as_str()))
        .collect();
    let dependants: Vec<&str> = bundle
        .flags
        .iter()
        .filter(|f| f.prerequisites.iter().any(|p| p.flag as usize == index))
        .map(|f| f.name.as_str())
        .collect();
    let flag_usage = usage
        .as_ref()
        .ok()
        .and_then(|u| u.flags.iter().find(|f| f.flag == flag.name));
    let rule_share = |i: usize, rule: &vexil_ir::Rule| {
        let label = rule.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        flag_usage.and_then(|u| super::usage::rule_share(u, &label))
    };
    let default_share = flag_usage.and_then(super::usage::no_rule_share);
    let excerpt = source::served_excerpt(&dashboard.app.source(), meta.location.as_ref());
    html! {
        h1 { (flag.name) }
        p.facts {
            span.kind { (flag.kind.as_str()) } " · " code { (flag.value_type.as_str()) }
            " · owner " (meta.owner.as_deref().unwrap_or("none"))
            @if let Some(e) = meta.expires { " · expires " (day(e)) }
            @if !flag.enabled { " · " span.status.overridden { "off in the source" } }
            @for t in &meta.tags { " " span.tag { (t) } }
        }
        @if let Some(doc) = &meta.description { div.doc-comment { @for line in doc.lines() { p { (line) } } } }

        section #override {
            h2 { "Override" }
            @match active {
                Some(o) => {
                    div.override-active {
                        p { strong { (o.action.describe()) } " since " (page::time(o.created_at)) " by " strong.actor { (o.actor) } }
                        p { "Reason: " span.reason { (o.reason) } }
                        @if let Some(at) = o.expires_at { p { "Lifts itself at " (page::time(at)) } }
                        @if let Some(problem) = served.problem(&flag.name) { p.error { "Not applied: " (problem) } }
                    }
                }
                None => { p { "None: the flag serves what its source says." } }
            }
            @if user.is_admin() {
                (override_forms(flag, user, served, active.is_some()))
            } @else {
                p.muted { "Setting or lifting an override needs an " code { "admin" } " key." }
            }
        }

        section {
            h2 { "Rules, in order" }
            ol.rules {
                @if flag.enabled_when.is_some() { li { "enabled only when its condition holds (else the default, reason DISABLED)" } }
                @for (i, rule) in flag.rules.iter().enumerate() {
                    li { span.rule-name { (rule.name.clone().unwrap_or_else(|| format!("rule {}", i + 1))) } ": " (result_text(flag, &rule.result))
                        @if let Some(share) = rule_share(i, rule) { " " span.rule-share title="of the evaluations in the last 7 days" { (share) } } }
                }
                li { "otherwise: the default, " (value_text(flag, flag.default))
                    @if let Some(share) = &default_share { " " span.rule-share title="evaluations no rule decided, last 7 days" { (share) } } }
            }
        }

        (super::usage::section(usage, &flag.name))

        section {
            h2 { "Prerequisites and dependants" }
            p { "Requires: " @if requires.is_empty() { "nothing" } @for r in &requires { a href={ "/admin/flags/" (r) } { (r) } " " } }
            p { "Required by: " @if dependants.is_empty() { "nothing" } @for d in &dependants { a href={ "/admin/flags/" (d) } { (d) } " " } }
        }

        (source::section(meta.location.as_ref(), excerpt.as_ref()))

        (super::code::section(&dashboard.code.load(), &flag.name))

        section {
            h2 { "Audit trail" }
            @match trail {
                Ok(entries) if entries.is_empty() => { p { "No entries." } }
                Ok(entries) => { (super::audit::table(entries)) }
                Err(e) => { p.error { "The audit log cannot be read: " (e) } }
            }
        }
    }
}

fn override_forms(flag: &Flag, user: &User, served: &Served, active: bool) -> Markup {
    let version = served.overrides.version;
    let variants: Vec<&str> = flag
        .values
        .iter()
        .filter_map(|v| v.variant.as_deref())
        .collect();
    html! {
        form.override-set method="post" action={ "/admin/flags/" (flag.name) "/override" } {
            input type="hidden" name="csrf" value=(user.csrf);
            input type="hidden" name="version" value=(version);
            label { "Action "
                select name="action" {
                    option value="off" { "switch off (serve the default, DISABLED)" }
                    @for v in &variants { option value={ "variant:" (v) } { "serve variant " (v) } }
                    @if variants.is_empty() { option value="value" { "serve a value…" } }
                }
            }
            @if variants.is_empty() {
                label { "Value (JSON, for “serve a value”) " input type="text" name="value" placeholder="true"; }
            }
            label { "Reason (required) " input type="text" name="reason" required maxlength="2000"; }
            button.danger type="submit" { "Set override" }
        }
        @if active {
            form.override-lift method="post" action={ "/admin/flags/" (flag.name) "/lift" } {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="version" value=(version);
                label { "Reason (required) " input type="text" name="reason" required maxlength="2000"; }
                button type="submit" { "Lift override" }
            }
        }
    }
}

/// The fields of the override forms.
#[derive(Deserialize)]
pub struct OverrideForm {
    csrf: Option<String>,
    version: Option<u64>,
    action: Option<String>,
    value: Option<String>,
    reason: Option<String>,
}

fn refused(status: StatusCode, text: &str) -> Response {
    super::html(status, page::message("Not changed", text))
}

/// The checks every dashboard write passes: the CSRF token, then the
/// `admin` scope (a refusal is audited, as the API's are).
fn may_write(
    dashboard: &Dashboard,
    user: &User,
    csrf: Option<&str>,
    flag: &str,
    origin: &str,
) -> Result<Caller, Box<Response>> {
    if !user.csrf_matches(csrf) {
        return Err(Box::new(csrf_refused()));
    }
    if !user.is_admin() {
        let mut entry = NewEntry::new(AuditKind::WriteRefused, user.name.to_string())
            .reason(format!(
                "dashboard: changing the override of `{flag}` needs an `admin` key"
            ))
            .origin(origin);
        entry.flag = Some(flag.to_string());
        dashboard.app.control.audit(entry);
        dashboard.app.metrics.error("GENERAL");
        return Err(Box::new(refused(
            StatusCode::FORBIDDEN,
            "changing overrides needs an `admin` key",
        )));
    }
    Ok(Caller {
        name: user.name.clone(),
        scope: user.scope,
        stream_token: None,
    })
}

/// The address a request came from, when the server knows it.
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Peer, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

fn origin(peer: &Peer, user: &User) -> String {
    let at = peer
        .0
        .map_or_else(|| "unknown address".to_string(), |a| a.to_string());
    format!("{at} dashboard {}", user.name)
}

fn written(
    dashboard: &Dashboard,
    flag: &str,
    result: Result<vexil_control::OverrideState, StoreError>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/admin/flags/{flag}#override")).into_response(),
        Err(StoreError::Stale { .. }) => refused(
            StatusCode::PRECONDITION_FAILED,
            "the overrides changed since this page was loaded: reload it, check, and try again",
        ),
        Err(e @ StoreError::NoOverride(_)) => refused(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e @ (StoreError::Unavailable(_) | StoreError::Corrupt(_))) => {
            dashboard.app.control.set_fault(Some(e.to_string()));
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the override store is unavailable, nothing changed: {e}"),
            )
        }
        Err(e) => refused(StatusCode::CONFLICT, &e.to_string()),
    }
}

/// A write form read and allowed: the form, who writes, from where.
fn writing(
    dashboard: &Dashboard,
    user: &User,
    peer: &Peer,
    name: &str,
    form: Result<Form<OverrideForm>, axum::extract::rejection::FormRejection>,
) -> Result<(OverrideForm, Caller, String), Box<Response>> {
    let Ok(Form(form)) = form else {
        return Err(Box::new(refused(
            StatusCode::BAD_REQUEST,
            "the form did not read",
        )));
    };
    let origin = origin(peer, user);
    let caller = may_write(dashboard, user, form.csrf.as_deref(), name, &origin)?;
    Ok((form, caller, origin))
}

/// `POST /admin/flags/{name}/override`.
pub async fn set_override(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    peer: Peer,
    Path(name): Path<String>,
    form: Result<Form<OverrideForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (form, caller, origin) = match writing(&dashboard, &user, &peer, &name, form) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let action = match form.action.as_deref() {
        Some("off") => Action::Off,
        Some("value") => {
            let text = form.value.unwrap_or_default();
            let value = serde_json::from_str(text.trim())
                .unwrap_or(serde_json::Value::String(text.trim().to_string()));
            Action::Value { value }
        }
        Some(other) => match other.strip_prefix("variant:") {
            Some(variant) => Action::Variant {
                variant: variant.to_string(),
            },
            None => return refused(StatusCode::BAD_REQUEST, &format!("no action `{other}`")),
        },
        None => return refused(StatusCode::BAD_REQUEST, "choose an action"),
    };
    let app = &dashboard.app;
    let o = match crate::admin::checked_override(app, &caller, &name, action, form.reason, None) {
        Ok(o) => o,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e.details),
    };
    let entry = NewEntry::new(AuditKind::OverrideSet, caller.name.to_string())
        .reason(o.reason.clone())
        .origin(origin);
    let result = crate::admin::commit(app, form.version, Write::Set(o), entry).await;
    written(&dashboard, &name, result)
}

/// `POST /admin/flags/{name}/lift`.
pub async fn lift(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    peer: Peer,
    Path(name): Path<String>,
    form: Result<Form<OverrideForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let (form, caller, origin) = match writing(&dashboard, &user, &peer, &name, form) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Some(reason) = form
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty() && r.len() <= 2000)
    else {
        return refused(
            StatusCode::BAD_REQUEST,
            "lifting an override needs a reason (at most 2000 bytes): say why, for the audit log",
        );
    };
    let entry = NewEntry::new(AuditKind::OverrideLifted, caller.name.to_string())
        .reason(reason)
        .origin(origin);
    let result = crate::admin::commit(
        &dashboard.app,
        form.version,
        Write::Lift(name.clone()),
        entry,
    )
    .await;
    written(&dashboard, &name, result)
}
