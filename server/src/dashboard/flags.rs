//! The Flags page: the inventory of the version served, searchable and
//! filtered by kind, owner, tag and status.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use vexil_control::AuditEntry;
use vexil_ir::Metadata;

use super::code::{CodeFacts, Found};
use super::git::{Commit, Facts, GitFacts};
use super::page::{self, given, Nav};
use super::session::User;
use super::Dashboard;
use crate::state::Served;
use crate::usage_api::Summary;

/// How soon an expiry counts as `expiring`.
const EXPIRING_WITHIN_MICROS: i64 = 30 * 24 * 3600 * 1_000_000;

/// A flag's statuses, as the filter names them.
pub const STATUSES: [&str; 7] = [
    "live",
    "overridden",
    "scheduled",
    "expiring",
    "expired",
    "stale",
    "never-evaluated",
];

/// One row of the inventory: a flag or an experiment.
pub struct Row<'a> {
    pub name: &'a str,
    pub kind: &'static str,
    pub value_type: &'static str,
    pub meta: &'a Metadata,
    pub statuses: Vec<&'static str>,
    pub evaluations: f64,
}

/// The signals a flag is `stale` by, as `vexil stale` reads them: the
/// sources' git history, the store's usage rollups and the application's
/// code, each when there is one.
pub struct Staleness<'a> {
    pub git: Option<&'a Facts>,
    /// Flags unused for the configured days, with the evidence in words.
    pub unused: rustc_hash::FxHashMap<&'a str, String>,
    pub code: Option<&'a Found>,
}

impl Staleness<'_> {
    fn is_stale(&self, name: &str) -> bool {
        self.git.is_some_and(|g| g.stale.contains_key(name))
            || self.unused.contains_key(name)
            || self.code.is_some_and(|c| c.unreferenced.contains(name))
    }

    /// Why a flag is stale, one reason after another.
    fn evidence(&self, name: &str) -> String {
        let mut reasons: Vec<String> = self
            .git
            .and_then(|g| g.stale.get(name))
            .cloned()
            .unwrap_or_default();
        reasons.extend(self.unused.get(name).cloned());
        reasons.extend(self.code.and_then(|c| c.evidence(name)));
        reasons.join("; ")
    }
}

/// Every flag and experiment of `served`, with its statuses.
pub fn rows<'a>(
    served: &'a Served,
    evaluations: &rustc_hash::FxHashMap<&str, f64>,
    evaluated_ever: Option<&rustc_hash::FxHashSet<&str>>,
    staleness: &Staleness,
    now: i64,
) -> Vec<Row<'a>> {
    let bundle = served.base.bundle();
    let clock = bundle.flags_reading_clock();
    let overridden = |name: &str| served.overrides.get(name).is_some();
    let statuses = |name: &str, meta: &Metadata, scheduled: bool, count: f64| {
        let mut s = Vec::new();
        if overridden(name) {
            s.push("overridden");
        }
        if scheduled {
            s.push("scheduled");
        }
        match meta.expires {
            Some(at) if at <= now => s.push("expired"),
            Some(at) if at - now <= EXPIRING_WITHIN_MICROS => s.push("expiring"),
            _ => {}
        }
        // Never, as far as the store's usage history goes (not shown
        // when it cannot be read).
        if evaluated_ever.is_some_and(|ever| count == 0.0 && !ever.contains(name)) {
            s.push("never-evaluated");
        }
        if s.is_empty() || s == ["scheduled"] {
            s.insert(0, "live");
        }
        // As `vexil stale` reports it.
        if staleness.is_stale(name) {
            s.push("stale");
        }
        s
    };
    let flags = bundle.flags.iter().enumerate().map(|(i, f)| {
        let count = evaluations.get(f.name.as_str()).copied().unwrap_or(0.0);
        Row {
            name: &f.name,
            kind: f.kind.as_str(),
            value_type: f.value_type.as_str(),
            meta: &f.meta,
            statuses: statuses(
                &f.name,
                &f.meta,
                clock.get(i).copied().unwrap_or(false),
                count,
            ),
            evaluations: count,
        }
    });
    let experiments = bundle.experiments.iter().map(|x| {
        let count = evaluations.get(x.name.as_str()).copied().unwrap_or(0.0);
        let windowed = x.start.is_some() || x.end.is_some();
        Row {
            name: &x.name,
            kind: "a/b test",
            value_type: x.value_type.as_str(),
            meta: &x.meta,
            statuses: statuses(&x.name, &x.meta, windowed, count),
            evaluations: count,
        }
    });
    flags.chain(experiments).collect()
}

/// The flags the usage rollups show unused for `days` days (what
/// `vexil stale --usage` says of them), with the evidence in words; and,
/// when the history is too short to show it of a flag never evaluated,
/// a sentence saying so.
fn unused_flags(
    summary: &Summary,
    days: i64,
) -> (rustc_hash::FxHashMap<&str, String>, Option<String>) {
    let usage = vexil_lifecycle::Usage {
        source: "in this server's usage rollups".to_string(),
        evaluations: Default::default(),
        window: Some(vexil_lifecycle::usage::Window {
            days,
            now: summary.until.as_microsecond(),
            history_starts: summary.history_starts.map(|t| t.as_microsecond()),
            last: summary
                .flags
                .iter()
                .filter_map(|f| Some((f.flag.clone(), f.last_evaluated?.as_microsecond())))
                .collect(),
        }),
    };
    let unused = summary
        .flags
        .iter()
        .filter(|f| f.served)
        .filter_map(|f| {
            let evidence = vexil_lifecycle::stale::unused(&usage, &f.flag)?;
            Some((f.flag.as_str(), evidence.describe()))
        })
        .collect();
    (unused, usage.too_short())
}

/// The filters of `GET /admin/flags`; an empty one does not filter.
#[derive(Default, Deserialize)]
pub struct Filters {
    q: Option<String>,
    kind: Option<String>,
    owner: Option<String>,
    tag: Option<String>,
    status: Option<String>,
}

impl Filters {
    fn keeps(&self, row: &Row) -> bool {
        if let Some(q) = given(&self.q) {
            let q = q.to_lowercase();
            let text = |t: &str| t.to_lowercase().contains(&q);
            let found = text(row.name)
                || row.meta.description.as_deref().is_some_and(text)
                || row.meta.owner.as_deref().is_some_and(text)
                || row.meta.tags.iter().any(|t| text(t));
            if !found {
                return false;
            }
        }
        given(&self.kind).is_none_or(|k| row.kind == k)
            && given(&self.owner).is_none_or(|o| row.meta.owner.as_deref() == Some(o))
            && given(&self.tag).is_none_or(|t| row.meta.tags.iter().any(|x| x == t))
            && given(&self.status).is_none_or(|s| row.statuses.contains(&s))
    }
}

/// `GET /admin/flags`.
pub async fn page(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = filters.map(|q| q.0).unwrap_or_default();
    let app = &dashboard.app;
    let served = app.served();
    let mut timings = super::Timings::start();
    let usage = super::usage::read_totals(app, super::usage::LIST_HOURS).await;
    timings.part("usage");
    let (evaluations, ever) = match &usage {
        Ok(u) => (
            u.flags
                .iter()
                .map(|f| (f.flag.as_str(), f.total as f64))
                .collect(),
            Some(
                u.flags
                    .iter()
                    .filter(|f| f.last_evaluated.is_some())
                    .map(|f| f.flag.as_str())
                    .collect(),
            ),
        ),
        Err(_) => (rustc_hash::FxHashMap::default(), None),
    };
    let git = dashboard.git.load();
    let facts = match &**git {
        GitFacts::Ready(f) => Some(f),
        _ => None,
    };
    let unused_days = app.config.dashboard.unused_days;
    let (unused, unprovable) = match &usage {
        Ok(u) if unused_days > 0 => unused_flags(u, i64::from(unused_days)),
        _ => (rustc_hash::FxHashMap::default(), None),
    };
    let code = dashboard.code.load();
    let staleness = Staleness {
        git: facts,
        unused,
        code: match &**code {
            CodeFacts::Ready(found) => Some(found),
            _ => None,
        },
    };
    let all = rows(
        &served,
        &evaluations,
        ever.as_ref(),
        &staleness,
        vexil_runtime::now(),
    );
    timings.part("rows");
    let changes = app.control.store.last_changes().await;
    timings.part("audit");
    let last: rustc_hash::FxHashMap<&str, &AuditEntry> = changes
        .as_ref()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| Some((e.flag.as_deref()?, e)))
                .collect()
        })
        .unwrap_or_default();
    let mut body = html! {
        @match &**git {
            GitFacts::Pending => { p.muted.git { "The stale status and the last commits are being read from git." } }
            GitFacts::Unavailable(why) => { p.muted.git { "No stale status and no last commits: " (why) "." } }
            GitFacts::Ready(f) if f.bundle_version != served.bundle_version => {
                p.muted.git { "The stale status and the last commits are of the version before; the served one's are being read from git." }
            }
            GitFacts::Ready(_) => {}
        }
        @if let Some(note) = &unprovable { p.muted.unused { "Stale from usage: " (note) "." } }
        @match &**code {
            CodeFacts::Pending => { p.muted.code { "The code is being searched for references to the flags." } }
            CodeFacts::Failed(why) => { p.muted.code { "No stale status from the code: " (why) "." } }
            CodeFacts::NotSearched | CodeFacts::Ready(_) => {}
        }
        (inventory(&all, &filters, &last, &staleness))
        @if let Err(e) = &changes { p.error { "The audit log cannot be read for the last changes: " (e) } }
    };
    if let Err(e) = &usage {
        body = html! { p.error { "The usage rollups cannot be read: " (e) } (body) };
    }
    let page = page::shell("Flags", &user, Nav::Flags, app.keys.is_empty(), body);
    timings.part("render");
    timings.on(super::html(StatusCode::OK, page))
}

fn select(name: &str, label: &str, options: &BTreeSet<&str>, chosen: Option<&str>) -> Markup {
    html! {
        label {
            (label)
            select name=(name) data-autosubmit {
                option value="" { "any" }
                @for o in options {
                    option value=(o) selected[chosen == Some(*o)] { (o) }
                }
            }
        }
    }
}

fn inventory(
    all: &[Row],
    filters: &Filters,
    last: &rustc_hash::FxHashMap<&str, &AuditEntry>,
    staleness: &Staleness,
) -> Markup {
    let git = staleness.git;
    let kinds: BTreeSet<&str> = all.iter().map(|r| r.kind).collect();
    let owners: BTreeSet<&str> = all.iter().filter_map(|r| r.meta.owner.as_deref()).collect();
    let tags: BTreeSet<&str> = all
        .iter()
        .flat_map(|r| r.meta.tags.iter().map(String::as_str))
        .collect();
    let statuses: BTreeSet<&str> = STATUSES.into_iter().collect();
    let shown: Vec<&Row> = all.iter().filter(|r| filters.keeps(r)).collect();
    html! {
        h1 { "Flags" }
        form.filters method="get" action="/admin/flags" {
            label { "Search" input type="search" name="q" value=[given(&filters.q)] placeholder="name, owner, tag, description"; }
            (select("kind", "Kind", &kinds, given(&filters.kind)))
            (select("owner", "Owner", &owners, given(&filters.owner)))
            (select("tag", "Tag", &tags, given(&filters.tag)))
            (select("status", "Status", &statuses, given(&filters.status)))
            button type="submit" { "Filter" }
            a href="/admin/flags" { "Clear" }
        }
        p.count { (shown.len()) " of " (all.len()) " shown" }
        table.inventory {
            thead { tr {
                th { "Flag" } th { "Kind" } th { "Type" } th { "Owner" } th { "Tags" }
                th { "Expires" } th title="the later of the newest audit entry (an override set, lifted or expired, a guardrail breached) and the last commit changing the declaration (git)" { "Last change" } th { "Status" } th.num title="evaluations in the last 24 hours, from the store's usage rollups" { "Evaluations (24 h)" }
            } }
            tbody {
                @for r in shown.iter().take(2000) {
                    tr data-flag=(r.name) {
                        td { a href={ (if r.kind == "a/b test" { "/admin/experiments/" } else { "/admin/flags/" }) (r.name) } { (r.name) }
                            @if let Some(d) = &r.meta.description { div.doc { (first_line(d)) } } }
                        td.kind { (r.kind) }
                        td { code { (r.value_type) } }
                        td.owner { (r.meta.owner.as_deref().unwrap_or("—")) }
                        td { @for t in &r.meta.tags { span.tag { (t) } " " } }
                        td { (r.meta.expires.map(day).unwrap_or_else(|| "—".to_string())) }
                        td.last-change { (last_change(last.get(r.name).copied(), git.and_then(|g| Some((*g.changed.get(r.name)?, g.commits.get(r.name)))))) }
                        td { @for s in &r.statuses {
                            @if *s == "stale" {
                                span class="status stale" title=(staleness.evidence(r.name)) { (s) } " "
                            } @else {
                                span class={ "status " (s) } { (s) } " "
                            }
                        } }
                        td.num { (count(r.evaluations)) }
                    }
                }
            }
        }
        @if shown.len() > 2000 { p { "The first 2,000 are shown: narrow the search to see the others." } }
    }
}

/// The later of a flag's newest audit entry and its last commit, with
/// where the date comes from.
/// The later of the audit log's last entry and the last commit (its time,
/// and its id and subject line when the newest change is a commit).
fn last_change(audit: Option<&AuditEntry>, commit: Option<(i64, Option<&Commit>)>) -> Markup {
    match (audit, commit) {
        (Some(e), c) if c.is_none_or(|(c, _)| e.at.as_microsecond() >= c) => html! {
            span title=(e.reason.as_deref().unwrap_or("")) {
                (day(e.at.as_microsecond())) " " (e.kind.as_str().replace('_', " ")) " by " (e.actor)
            }
            " " span.source title="from the audit log" { "audit" }
        },
        (_, Some((c, id))) => html! {
            span title="the last commit changing its declaration (git)" { (day(c)) " committed" }
            @if let Some((sha, subject)) = id {
                " " code.commit title=(subject.as_deref().unwrap_or(sha)) { (sha.get(..7).unwrap_or(sha)) }
            }
            " " span.source title="from git" { "git" }
        },
        _ => html! { "—" },
    }
}

/// The first line of a doc comment.
pub fn first_line(doc: &str) -> &str {
    doc.lines().next().unwrap_or("")
}

/// A day, from microseconds since the epoch.
pub fn day(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// A count as a whole number with thousands separated.
pub fn count(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
