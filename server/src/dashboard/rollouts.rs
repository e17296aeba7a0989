//! The Rollouts page: every guarded staged rule, from the same statuses
//! `GET /v1/rollouts` answers (the monitor's comparison of the stage in
//! force): its stages over time with the current time, the stage in force
//! and when the next starts, each guardrail's effect and interval, and the
//! actions the monitor took (its audit entries).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use vexil_control::{AuditEntry, AuditQuery};
use vexil_events::rollout::{GuardCheck, GuardState, GuardedRollout};

use super::chart::{self, Step};
use super::page::{self, Nav};
use super::session::User;
use super::Dashboard;
use crate::rollouts::{RolloutStatus, MONITOR};

/// `GET /admin/rollouts`.
pub async fn page(State(dashboard): State<Arc<Dashboard>>, user: User) -> Response {
    let app = &dashboard.app;
    let now = app.now();
    let statuses = crate::rollouts::status(app, now).await;
    let served = app.served();
    let rollouts = GuardedRollout::all(served.base.bundle());
    let mut sections = Vec::with_capacity(statuses.len());
    for status in &statuses {
        let steps: Vec<Step> = rollouts
            .iter()
            .find(|r| r.flag == status.flag && r.rule == status.rule)
            .map(|r| {
                r.stages
                    .iter()
                    .map(|s| Step {
                        starts: s.starts,
                        buckets: s.buckets,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let actions = app
            .control
            .store
            .audit(&AuditQuery {
                flag: Some(status.flag.clone()),
                actor: Some(MONITOR.to_string()),
                ..AuditQuery::default()
            })
            .await
            .map(|mut entries| {
                entries.reverse();
                entries
            })
            .map_err(|e| e.to_string());
        sections.push(rollout(status, &steps, now, &actions));
    }
    let body = html! {
        h1 { "Rollouts" }
        p.muted {
            "Every staged rule with guardrails in the version served, compared by the rollout monitor as "
            code { "GET /v1/rollouts" } " reports it, at " (page::time_micros(now)) "."
        }
        @if app.config.events_db.is_none() {
            p.error role="alert" { "No event store (" code { "events_db" } "): the guardrails cannot be compared." }
        }
        @if statuses.is_empty() {
            p { "No staged rule with guardrails in the version served." }
        }
        @for s in &sections { (s) }
    };
    super::html(
        StatusCode::OK,
        page::shell("Rollouts", &user, Nav::Rollouts, app.keys.is_empty(), body),
    )
}

fn rollout(
    status: &RolloutStatus,
    steps: &[Step],
    now: i64,
    actions: &Result<Vec<AuditEntry>, String>,
) -> Markup {
    html! {
        section.rollout data-flag=(status.flag) data-state=(status.state) {
            h2 { a href={ "/admin/flags/" (status.flag) } { (status.flag) } " · rule " (status.rule) }
            p.facts {
                span class={ "status rollout-" (status.state.replace('_', "-")) } { (status.state.replace('_', " ")) }
                " · stage " strong.stage { (status.stage) " of " (status.stages) } " (" (status.percent) ")"
                @if let Some(next) = &status.next_stage_at { " · next stage at " (next) }
            }
            (chart::stages(steps, now))
            @if let Some(o) = &status.action {
                p.override-active { "Override in force: " strong { (o.action.describe()) } " by " strong.actor { (o.actor) } ": " span.reason { (o.reason) } }
            }
            @if let Some(e) = &status.error { p.error { (e) } }
            @if let Some(check) = &status.check {
                p {
                    "Stage " (check.stage) " (" (check.percent) "): "
                    (check.units_new) " units served the new experience, " (check.units_old) " held back"
                    @if let Some(srm) = &check.srm { " · sample-ratio p = " (format!("{:.3}", srm.p_value)) @if srm.flagged { " " span.error { "mismatch" } } }
                    @if !check.enough_sample { " · short of its minimum sample" }
                }
                table.guardrails {
                    thead { tr {
                        th { "Guardrail" } th { "Sized for" } th.num { "Old" } th.num { "New" }
                        th.num { "Effect" } th { "Interval" } th.num title="one-sided always-valid p-value of no harm" { "p (harm)" } th { "State" } th { "On breach" }
                    } }
                    tbody { @for g in &check.guards { (guard(g)) } }
                }
            } @else if status.error.is_none() {
                p.muted { "No comparison: the stage in force does not split units (before the first stage, at 100%, or overridden)." }
            }
            h3 { "Actions taken" }
            @match actions {
                Ok(entries) if entries.is_empty() => { p { "None." } }
                Ok(entries) => { (super::audit::table(entries)) }
                Err(e) => { p.error { "The audit log cannot be read: " (e) } }
            }
        }
    }
}

fn signed_percent(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn guard(g: &GuardCheck) -> Markup {
    let state = match g.state {
        GuardState::Waiting => "waiting",
        GuardState::Ok => "ok",
        GuardState::AtRisk => "at risk",
        GuardState::Breached => "breached",
    };
    let number = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.4}"));
    html! {
        tr data-guard=(g.name) {
            td { (g.name) }
            td { (g.harmful) " by " (format!("{:.1}%", g.threshold * 100.0)) }
            td.num { (number(g.old_value)) }
            td.num { (number(g.new_value)) }
            @match &g.relative {
                Some(r) => {
                    td.num.effect { (signed_percent(r.point)) }
                    td.interval { "[" (signed_percent(r.ci_lower)) ", " (signed_percent(r.ci_upper)) "]" }
                    td.num { (format!("{:.2e}", g.p_harm.unwrap_or(1.0))) }
                }
                None => { td.num { "—" } td { (g.error.as_deref().unwrap_or("—")) } td.num { "—" } }
            }
            td { span class={ "guard " (state.replace(' ', "-")) } { (state) } }
            td { (g.action) }
        }
    }
}
