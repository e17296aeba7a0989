//! `GET /v1/usage`: the usage rollups the store holds, per flag and
//! experiment (totals by variant, reason, rule and error code, the last
//! evaluation, the hourly series) and since when the store's history is
//! complete, so a caller knows whether "unused in N days" is provable.
//! The dashboard's usage columns and charts read the same [`Summary`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use vexil_control::{hour_of, StoreError, UsageQuery};

use crate::errors::ApiError;
use crate::state::App;

/// Middleware: usage is for people and their tools, `viewer` or `admin`
/// keys; `server` and `client` keys (services) are refused.
pub async fn require_viewer(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    match app.keys.authenticate(req.headers()) {
        Ok(c) if c.scope.sees_dashboard() => next.run(req).await,
        Ok(_) => app
            .metrics
            .refuse(ApiError::forbidden(
                "reading usage needs a `viewer` or `admin` key",
            ))
            .into_response(),
        Err(e) => app.metrics.refuse(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    since: Option<String>,
    hours: Option<String>,
    flag: Option<String>,
}

/// The longest window `hours` may ask for: a year.
const MAX_HOURS: i64 = 24 * 366;

/// Usage since a time, as `GET /v1/usage` answers it.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The window's start (rounded down to its hour) and end (now).
    pub since: Timestamp,
    pub until: Timestamp,
    /// Since when the store holds all usage (the first server that
    /// recorded into it started, or the retention's cut); none when no
    /// server recorded usage into it yet.
    pub history_starts: Option<Timestamp>,
    /// Whether the history covers the whole window.
    pub complete: bool,
    pub retention_days: u32,
    /// How far the counts may lag: other servers of a fleet write theirs
    /// every flush interval.
    pub flush_interval_ms: u64,
    /// Every flag and experiment served now, and those the store has
    /// usage of that are not served any more, by name.
    pub flags: Vec<FlagUsage>,
}

/// One flag's or experiment's usage in the window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FlagUsage {
    pub flag: String,
    /// Whether the served version has it.
    pub served: bool,
    /// Evaluations in the window.
    pub total: u64,
    /// Its last evaluation (to the flush interval), even before the
    /// window or the retention; none: never, as far as the history goes.
    pub last_evaluated: Option<Timestamp>,
    /// Absent labels are `null`: no variant, no rule matched.
    pub by_variant: Vec<Count>,
    pub by_reason: Vec<Count>,
    pub by_rule: Vec<Count>,
    pub by_error: Vec<Count>,
    /// Hours with evaluations, oldest first.
    pub hours: Vec<Hour>,
}

/// A count under one label.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    pub label: Option<String>,
    pub count: u64,
}

/// One hour's evaluations.
#[derive(Clone, Debug, Serialize)]
pub struct Hour {
    /// The hour's start.
    pub hour: Timestamp,
    pub count: u64,
    pub by_variant: Vec<Count>,
    pub by_reason: Vec<Count>,
}

fn add(counts: &mut BTreeMap<String, u64>, label: &str, n: u64) {
    *counts.entry(label.to_string()).or_default() += n;
}

fn listed(counts: BTreeMap<String, u64>) -> Vec<Count> {
    counts
        .into_iter()
        .map(|(label, count)| Count {
            label: (!label.is_empty()).then_some(label),
            count,
        })
        .collect()
}

/// One hour's total, by variant and by reason.
type HourTotals = (u64, BTreeMap<String, u64>, BTreeMap<String, u64>);

#[derive(Default)]
struct Totals {
    total: u64,
    variant: BTreeMap<String, u64>,
    reason: BTreeMap<String, u64>,
    rule: BTreeMap<String, u64>,
    error: BTreeMap<String, u64>,
    hours: BTreeMap<Timestamp, HourTotals>,
}

/// The usage since `since` (of one flag, or all), after writing this
/// server's counts so far.
pub async fn summary(
    app: &App,
    since: Timestamp,
    flag: Option<&str>,
) -> Result<Summary, StoreError> {
    read(app, since, flag, false).await
}

/// Each flag's total and last evaluation only (the breakdowns and hours
/// left empty): what a list of every flag shows, summed by the store.
pub async fn totals(app: &App, since: Timestamp) -> Result<Summary, StoreError> {
    read(app, since, None, true).await
}

async fn read(
    app: &App,
    since: Timestamp,
    flag: Option<&str>,
    totals_only: bool,
) -> Result<Summary, StoreError> {
    if app.config.usage.enabled {
        crate::usage::flush(app).await;
    }
    let until = Timestamp::from_microsecond(app.now()).unwrap_or(Timestamp::UNIX_EPOCH);
    let since = hour_of(since);
    let report = app
        .control
        .store
        .usage(&UsageQuery {
            since: Some(since),
            until: None,
            flag: flag.map(str::to_string),
            totals_only,
        })
        .await?;
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    let served = app.served();
    for (name, _) in served.snapshot.targets() {
        if flag.is_none_or(|f| f == name) {
            totals.entry(name.to_string()).or_default();
        }
    }
    for c in &report.counts {
        let t = totals.entry(c.flag.clone()).or_default();
        t.total += c.count;
        if totals_only {
            continue;
        }
        add(&mut t.variant, &c.variant, c.count);
        add(&mut t.reason, &c.reason, c.count);
        add(&mut t.rule, &c.rule, c.count);
        if !c.error.is_empty() {
            add(&mut t.error, &c.error, c.count);
        }
        let h = t.hours.entry(c.hour).or_default();
        h.0 += c.count;
        add(&mut h.1, &c.variant, c.count);
        add(&mut h.2, &c.reason, c.count);
    }
    let last: BTreeMap<&str, Timestamp> = report
        .last_evaluated
        .iter()
        .map(|(f, at)| (f.as_str(), *at))
        .collect();
    let flags = totals
        .into_iter()
        .map(|(name, t)| FlagUsage {
            served: served.snapshot.target(&name).is_some(),
            last_evaluated: last.get(name.as_str()).copied(),
            total: t.total,
            by_variant: listed(t.variant),
            by_reason: listed(t.reason),
            by_rule: listed(t.rule),
            by_error: listed(t.error),
            hours: t
                .hours
                .into_iter()
                .map(|(hour, (count, variant, reason))| Hour {
                    hour,
                    count,
                    by_variant: listed(variant),
                    by_reason: listed(reason),
                })
                .collect(),
            flag: name,
        })
        .collect();
    Ok(Summary {
        since,
        until,
        complete: report.history_starts.is_some_and(|h| h <= since),
        history_starts: report.history_starts,
        retention_days: app.config.usage.retention_days,
        flush_interval_ms: app.config.usage.flush_interval_ms,
        flags,
    })
}

/// `GET /v1/usage?since=RFC3339|hours=N[&flag=KEY]`.
pub async fn usage(
    State(app): State<Arc<App>>,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let refuse = |e: ApiError| app.metrics.refuse(e).into_response();
    let params = match query {
        Ok(Query(p)) => p,
        Err(e) => return refuse(ApiError::parse(e.body_text())),
    };
    let now = Timestamp::from_microsecond(app.now()).unwrap_or(Timestamp::UNIX_EPOCH);
    let since = match (params.since, params.hours) {
        (Some(_), Some(_)) => return refuse(ApiError::parse("give `since` or `hours`, not both")),
        (Some(text), None) => match text.parse::<Timestamp>() {
            Ok(t) => t,
            Err(e) => {
                return refuse(ApiError::parse(format!(
                    "`since` `{text}` is not an RFC 3339 time such as 2026-12-07T18:00:00Z: {e}"
                )))
            }
        },
        (None, hours) => {
            let text = hours.unwrap_or_else(|| "24".to_string());
            match text.parse::<i64>() {
                Ok(h) if (1..=MAX_HOURS).contains(&h) => now - SignedDuration::from_hours(h),
                _ => {
                    return refuse(ApiError::parse(format!(
                        "`hours` is a whole number of hours from 1 to {MAX_HOURS}, not `{text}`"
                    )))
                }
            }
        }
    };
    match summary(&app, since, params.flag.as_deref()).await {
        Ok(s) => {
            if let Some(flag) = &params.flag {
                if s.flags.is_empty() {
                    return refuse(ApiError::not_found(flag));
                }
            }
            axum::Json(s).into_response()
        }
        Err(e) => crate::admin::store_error(e, &app),
    }
}
