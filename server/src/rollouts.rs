//! The rollout monitor: for every staged rule with guardrails in the
//! version served, the stage in force is compared (new experience against
//! old) from the event store on a schedule, with the sequential test of
//! `vexil_events::rollout`; a breach applies its action through the
//! override store (rollback pins the rule at 0%, pause at the stage in
//! force), audited with the evidence, so the webhooks hear of it like of
//! any audit entry. `GET /v1/rollouts` shows where each rollout stands.
//!
//! The monitor reads the clock only through [`App::now`], so tests move
//! time instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::Timestamp;
use serde::Serialize;
use vexil_control::{Action, AuditKind, AuditQuery, NewEntry, Override, Write};
use vexil_events::rollout::{check_stage, GuardedRollout, MonitorOptions, StageCheck};
use vexil_ir::bucket::buckets_to_percent;
use vexil_ir::value::format_timestamp;

use crate::state::App;

/// The actor of the monitor's overrides and audit entries.
pub const MONITOR: &str = "rollout-monitor";

/// Where one guarded rollout stands.
#[derive(Clone, Debug, Serialize)]
pub struct RolloutStatus {
    pub flag: String,
    pub rule: String,
    /// `scheduled` (before its first stage), `rolling` (a stage with units
    /// on both sides), `complete` (its last stage), `rolled_back`,
    /// `paused` or `overridden` (an override set by someone else).
    pub state: &'static str,
    /// The stage in force by the clock, from 1 (0 before the first).
    pub stage: usize,
    pub stages: usize,
    /// The share the stage in force serves.
    pub percent: String,
    /// When the next stage starts, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_stage_at: Option<String>,
    /// The stage in force compared, when it has units on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<StageCheck>,
    /// The override in force on the flag, if any: the action taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Override>,
    /// Why there is no comparison (no event store, a store error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every guarded rollout of the version served, compared at `now`.
pub async fn status(app: &Arc<App>, now: i64) -> Vec<RolloutStatus> {
    let served = app.served();
    let rollouts = GuardedRollout::all(served.base.bundle());
    let overrides = app.control.state();
    let options = MonitorOptions {
        alpha: app.config.rollouts.alpha,
        tuning: app.config.rollouts.tuning,
    };
    let mut out = Vec::with_capacity(rollouts.len());
    for rollout in rollouts {
        let index = vexil_ir::stage_at(&rollout.stages, now);
        let stage = index.and_then(|i| rollout.stages.get(i));
        let action = overrides.get(&rollout.flag).cloned();
        let compared =
            stage.is_some_and(|s| s.buckets > 0 && s.buckets < vexil_ir::bucket::BUCKETS);
        let mut status = RolloutStatus {
            flag: rollout.flag.clone(),
            rule: rollout.rule.clone(),
            state: match (&action, index) {
                (Some(o), _) if o.actor == MONITOR => match &o.action {
                    Action::Rollout { percent, .. } if *percent == 0.0 => "rolled_back",
                    _ => "paused",
                },
                (Some(_), _) => "overridden",
                (None, None) => "scheduled",
                (None, Some(_)) if compared => "rolling",
                (None, Some(_)) => "complete",
            },
            stage: index.map_or(0, |i| i + 1),
            stages: rollout.stages.len(),
            percent: buckets_to_percent(stage.map_or(0, |s| s.buckets)),
            next_stage_at: rollout
                .stages
                .get(index.map_or(0, |i| i + 1))
                .map(|s| format_timestamp(s.starts)),
            check: None,
            action,
            error: None,
        };
        if let (Some(i), true) = (index, compared) {
            match compare(app, &rollout, i, options).await {
                Ok(check) => status.check = Some(check),
                Err(e) => status.error = Some(e),
            }
        }
        out.push(status);
    }
    out
}

/// One stage's comparison, read from the event store off the async threads.
async fn compare(
    app: &App,
    rollout: &GuardedRollout,
    stage: usize,
    options: MonitorOptions,
) -> Result<StageCheck, String> {
    let Some(path) = app.config.events_db.clone() else {
        return Err("no event store (`events_db`): nothing to compare".into());
    };
    let rollout = rollout.clone();
    tokio::task::spawn_blocking(move || {
        let store = vexil_events::Store::open_existing(&path).map_err(|e| e.to_string())?;
        check_stage(&store, &rollout, stage, &options).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Compare every guarded rollout at `now` and act on each breach: what the
/// monitor does on its schedule. Returns the statuses after acting.
pub async fn check(app: &Arc<App>, now: i64) -> Vec<RolloutStatus> {
    let mut statuses = status(app, now).await;
    hold_short_stages(app, now, &mut statuses).await;
    for status in &mut statuses {
        if status.state != "rolling" {
            continue;
        }
        let Some(check) = &status.check else {
            continue;
        };
        let Some(breach) = check.breach() else {
            continue;
        };
        let Some(starts) = stage_starts(app, &status.flag, &status.rule, check.stage) else {
            continue;
        };
        let evidence = serde_json::json!({
            "flag": status.flag,
            "rule": status.rule,
            "stage": check.stage,
            "stage_starts": format_timestamp(starts),
            "percent": check.percent,
            "action": breach.action,
            "guard": breach,
            "units_new": check.units_new,
            "units_old": check.units_old,
            "srm": check.srm,
        });
        let summary = summary(&status.rule, check, breach);
        let percent = match breach.action {
            "rollback" => Some(0.0),
            "pause" => Some(
                check
                    .percent
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .unwrap_or(0.0),
            ),
            _ => None,
        };
        // Once per stage (and guardrail, for a notification): after a
        // person resumes a stage, its evidence does not stop it again.
        let which = if percent.is_none() {
            breach.name.as_str()
        } else {
            ""
        };
        if acted(app, &status.flag, &status.rule, starts, which).await {
            continue;
        }
        app.control.audit(
            NewEntry::new(AuditKind::GuardrailBreached, MONITOR)
                .flag(status.flag.clone())
                .reason(summary.clone())
                .change(None, Some(evidence)),
        );
        let Some(percent) = percent else {
            continue;
        };
        let o = Override {
            flag: status.flag.clone(),
            action: Action::Rollout {
                rule: status.rule.clone(),
                percent,
            },
            actor: MONITOR.to_string(),
            reason: summary.clone(),
            created_at: Timestamp::from_microsecond(now).unwrap_or_else(|_| Timestamp::now()),
            expires_at: None,
        };
        let entry = NewEntry::new(AuditKind::OverrideSet, MONITOR).reason(summary);
        match app
            .control
            .store
            .write(None, Write::Set(o.clone()), entry)
            .await
        {
            Ok(state) => {
                app.control.set_fault(None);
                app.apply_overrides(state);
                status.state = if percent == 0.0 {
                    "rolled_back"
                } else {
                    "paused"
                };
                status.action = Some(o);
                tracing::warn!(flag = %status.flag, rule = %status.rule, guard = %breach.name, "guardrail breached: {}", breach.action);
            }
            Err(e) => {
                tracing::error!(flag = %status.flag, error = %e, "the monitor could not apply a guardrail's action");
                status.error = Some(e.to_string());
            }
        }
    }
    statuses
}

/// `min sample N per stage`: a stage that ended (the next one started by
/// the clock) before each side had N units is held, once: the rule is
/// pinned at that stage's share, audited with the counts.
async fn hold_short_stages(app: &Arc<App>, now: i64, statuses: &mut [RolloutStatus]) {
    let served = app.served();
    let options = MonitorOptions {
        alpha: app.config.rollouts.alpha,
        tuning: app.config.rollouts.tuning,
    };
    for rollout in GuardedRollout::all(served.base.bundle()) {
        let Some(min) = rollout.guardrails.min_sample else {
            continue;
        };
        let Some(status) = statuses.iter_mut().find(|s| s.flag == rollout.flag) else {
            continue;
        };
        let Some(ended) = vexil_ir::stage_at(&rollout.stages, now).and_then(|i| i.checked_sub(1))
        else {
            continue;
        };
        let buckets = rollout.stages.get(ended).map_or(0, |s| s.buckets);
        if !matches!(status.state, "rolling" | "complete")
            || buckets == 0
            || buckets >= vexil_ir::bucket::BUCKETS
        {
            continue;
        }
        let check = match compare(app, &rollout, ended, options).await {
            Ok(check) => check,
            Err(e) => {
                status.error = Some(e);
                continue;
            }
        };
        let starts = rollout.stages.get(ended).map_or(0, |s| s.starts);
        if check.enough_sample || acted(app, &rollout.flag, &rollout.rule, starts, "").await {
            continue;
        }
        let reason = format!(
            "stage {} ({}) of rule `{}` ended with {} new and {} old units, fewer than `min sample {min} per stage`: held at {}",
            check.stage, check.percent, rollout.rule, check.units_new, check.units_old, check.percent
        );
        // The evidence, as for a guardrail: `min sample` is one.
        app.control.audit(
            NewEntry::new(AuditKind::GuardrailBreached, MONITOR)
                .flag(rollout.flag.clone())
                .reason(reason.clone())
                .change(
                    None,
                    Some(serde_json::json!({
                        "flag": rollout.flag,
                        "rule": rollout.rule,
                        "stage": check.stage,
                        "stage_starts": format_timestamp(starts),
                        "percent": check.percent,
                        "action": "hold",
                        "min_sample": min,
                        "units_new": check.units_new,
                        "units_old": check.units_old,
                        "srm": check.srm,
                    })),
                ),
        );
        let o = Override {
            flag: rollout.flag.clone(),
            action: Action::Rollout {
                rule: rollout.rule.clone(),
                percent: f64::from(buckets) / 1000.0,
            },
            actor: MONITOR.to_string(),
            reason: reason.clone(),
            created_at: Timestamp::from_microsecond(now).unwrap_or_else(|_| Timestamp::now()),
            expires_at: None,
        };
        let entry = NewEntry::new(AuditKind::OverrideSet, MONITOR).reason(reason);
        match app
            .control
            .store
            .write(None, Write::Set(o.clone()), entry)
            .await
        {
            Ok(state) => {
                app.control.set_fault(None);
                app.apply_overrides(state);
                status.state = "paused";
                status.action = Some(o);
            }
            Err(e) => status.error = Some(e.to_string()),
        }
    }
}

/// When stage `stage` (from 1) of `flag`'s guarded rule `rule` starts, in
/// the version served.
fn stage_starts(app: &App, flag: &str, rule: &str, stage: usize) -> Option<i64> {
    GuardedRollout::all(app.served().base.bundle())
        .into_iter()
        .find(|r| r.flag == flag && r.rule == rule)
        .and_then(|r| r.stages.get(stage.checked_sub(1)?).map(|s| s.starts))
}

/// Whether the monitor acted on the stage of `flag`'s rule `rule` that
/// starts at `starts` already (`guard`: that guardrail's notification;
/// `""`: a rollback, pause or hold), by this process or, before a restart
/// or on another server sharing the control store, as the audit log says
/// (the monitor's `guardrail_breached` entries name the rule, the stage
/// and its start). Acting once per stage is what lets a person resume a
/// stage: its evidence does not stop it again. When the log cannot be
/// read the answer is no: acting twice is audited and safe, missing a
/// harm is not.
async fn acted(app: &App, flag: &str, rule: &str, starts: i64, guard: &str) -> bool {
    if app.rollouts_acted(flag, rule, starts, guard) {
        return true;
    }
    let query = AuditQuery {
        flag: Some(flag.to_string()),
        actor: Some(MONITOR.to_string()),
        ..AuditQuery::default()
    };
    let entries = match app.control.store.audit(&query).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(flag, error = %e, "the monitor could not read the audit log to see whether it acted on this stage");
            return false;
        }
    };
    let starts = format_timestamp(starts);
    entries.iter().any(|e| {
        let Some(after) = e
            .after
            .as_ref()
            .filter(|_| e.kind == AuditKind::GuardrailBreached)
        else {
            return false;
        };
        let action = after["action"].as_str().unwrap_or("");
        after["rule"] == rule
            && after["stage_starts"] == starts.as_str()
            && if guard.is_empty() {
                action != "notify"
            } else {
                action == "notify" && after["guard"]["name"] == guard
            }
    })
}

/// The evidence in a sentence, for the audit log's reason.
fn summary(rule: &str, check: &StageCheck, g: &vexil_events::rollout::GuardCheck) -> String {
    let (effect, interval, p) = match &g.relative {
        Some(r) => (
            format!("{:+.1}%", r.point * 100.0),
            format!("[{:+.1}%, {:+.1}%]", r.ci_lower * 100.0, r.ci_upper * 100.0),
            format!("{:.2e}", g.p_harm.unwrap_or(1.0)),
        ),
        None => ("?".into(), "?".into(), "?".into()),
    };
    format!(
        "guardrail `{}` breached at stage {} ({}) of rule `{rule}`: {effect} {interval}, significantly harmful (one-sided always-valid p = {p} at alpha {:.4}; stages sized for a {} of {:.1}%), {} new vs {} old units: {}",
        g.name,
        check.stage,
        check.percent,
        g.alpha,
        g.harmful,
        g.threshold * 100.0,
        check.units_new,
        check.units_old,
        g.action
    )
}

/// The monitor's schedule: a check every `rollouts.check_interval_ms`.
pub async fn follow(app: Arc<App>) {
    let every = Duration::from_millis(app.config.rollouts.check_interval_ms.max(100));
    let mut stopping = app.stopping();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopping.changed() => return,
        }
        let _ = check(&app, app.now()).await;
    }
}

/// `GET /v1/rollouts`: every guarded rollout, its stage, the next one, each
/// guardrail's effect and interval so far, and any action taken.
pub async fn list(State(app): State<Arc<App>>) -> Response {
    let now = app.now();
    Json(serde_json::json!({
        "now": format_timestamp(now),
        "rollouts": status(&app, now).await,
    }))
    .into_response()
}
