//! The Experiments pages: every experiment of the version served with its
//! status (from its start and end), traffic, audience and layer, each
//! layer drawn as its enrolment buckets; and one experiment's page with
//! the exposures per variant, the sample-ratio check and the analysis
//! `vexil analyze --sequential` gives (the same
//! `vexil_events::analyze_experiment` over the server's event store, kept
//! for a while by `analyses.rs`; the fixed-horizon view on request), the
//! same forest plot, and its usage over time.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup, PreEscaped};
use vexil_events::present::{forest_plot, metric_label, p_value, percent, value, verdict};
use vexil_events::Report;
use vexil_ir::bucket::{buckets_to_percent, BUCKETS};
use vexil_ir::{Bundle, Experiment, Expr};

use super::analyses::{Lookup, Mode, Patience};
use super::chart::{self, Range};
use super::flags::count;
use super::page::{self, Nav};
use super::session::User;
use super::{source, Dashboard};

/// `scheduled`, `running` or `ended`, by the experiment's window at `now`.
pub fn status(x: &Experiment, now: i64) -> &'static str {
    match (x.start, x.end) {
        (Some(start), _) if now < start => "scheduled",
        (_, Some(end)) if now >= end => "ended",
        _ => "running",
    }
}

/// The share of units an experiment may enrol.
fn traffic(x: &Experiment) -> String {
    buckets_to_percent(x.enrolment_range.1.saturating_sub(x.enrolment_range.0))
}

/// Each layer's name and its experiments' ranges.
fn layers(bundle: &Bundle) -> Vec<(&str, Vec<Range<'_>>)> {
    bundle
        .layers
        .iter()
        .map(|layer| {
            let ranges = layer
                .experiments
                .iter()
                .filter_map(|&i| bundle.experiments.get(i as usize))
                .map(|x| Range {
                    name: &x.name,
                    lo: x.enrolment_range.0,
                    hi: x.enrolment_range.1,
                })
                .collect();
            (layer.name.as_str(), ranges)
        })
        .collect()
}

fn window(x: &Experiment) -> Markup {
    let day = |t: Option<i64>| t.map(super::flags::day).unwrap_or_else(|| "—".into());
    html! { (day(x.start)) " to " (day(x.end)) }
}

/// The audience as written (its line of the source), or `everyone`.
fn audience(x: &Experiment, excerpt: Option<&(String, usize, usize)>) -> String {
    if x.audience == Expr::Const(true) {
        return "everyone".to_string();
    }
    excerpt
        .and_then(|(text, start, end)| text.get(*start..*end))
        .and_then(|decl| {
            decl.lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix("audience "))
        })
        .map_or_else(
            || "a condition (see the source)".to_string(),
            str::to_string,
        )
}

/// `GET /admin/experiments`.
pub async fn list(State(dashboard): State<Arc<Dashboard>>, user: User) -> Response {
    let app = &dashboard.app;
    let served = app.served();
    let bundle = served.base.bundle();
    let now = app.now();
    let root = app.source();
    let body = html! {
        h1 { "Experiments" }
        @if bundle.experiments.is_empty() { p { "No experiment in the version served." } }
        @else {
            table.experiments {
                thead { tr {
                    th { "Experiment" } th { "Status" } th { "Window" } th { "Traffic" } th { "Layer" }
                    th { "Variants" } th { "Audience" } th { "Owner" }
                } }
                tbody { @for x in &bundle.experiments {
                    @let excerpt = source::served_excerpt(&root, x.meta.location.as_ref());
                    tr data-experiment=(x.name) {
                        td { a href={ "/admin/experiments/" (x.name) } { (x.name) }
                             @if let Some(d) = &x.meta.description { div.doc { (super::flags::first_line(d)) } } }
                        td { span class={ "status " (status(x, now)) } { (status(x, now)) }
                             @if served.overrides.get(&x.name).is_some() { " " span.status.overridden { "overridden" } } }
                        td { (window(x)) }
                        td.num { (traffic(x)) }
                        td { (x.layer.and_then(|l| bundle.layers.get(l as usize)).map_or("—", |l| l.name.as_str())) }
                        td { (variants_text(x)) }
                        td { code { (audience(x, excerpt.as_ref())) } }
                        td.owner { (x.meta.owner.as_deref().unwrap_or("—")) }
                    }
                } }
            }
        }
        @let drawn = layers(bundle);
        @if !drawn.is_empty() {
            h2 { "Layers" }
            p.muted { "A layer's experiments take disjoint ranges of one enrolment hash, so no unit is in two of them; the blank part enrols nobody." }
            @for (name, ranges) in &drawn {
                h3 { "Layer " (name) }
                (chart::layer(name, ranges))
            }
        }
    };
    super::html(
        StatusCode::OK,
        page::shell(
            "Experiments",
            &user,
            Nav::Experiments,
            app.keys.is_empty(),
            body,
        ),
    )
}

fn variants_text(x: &Experiment) -> String {
    let mut lower = 0;
    let parts: Vec<String> = x
        .variants
        .iter()
        .map(|v| {
            let share = buckets_to_percent(v.upper.saturating_sub(lower));
            lower = v.upper;
            format!("{} {share}", v.name)
        })
        .collect();
    parts.join(", ")
}

/// `?mode=` on an experiment's page.
#[derive(serde::Deserialize, Default)]
pub struct View {
    mode: Option<String>,
}

/// `GET /admin/experiments/{name}`.
pub async fn page(
    State(dashboard): State<Arc<Dashboard>>,
    user: User,
    Path(name): Path<String>,
    view: Result<Query<View>, QueryRejection>,
) -> Response {
    let app = &dashboard.app;
    let served = app.served();
    let (x, mode) = match experiment(&served, &name, view) {
        Ok(found) => found,
        Err((status, page)) => return super::html(status, page),
    };
    let bundle = served.base.bundle();
    let wait = Duration::from_millis(app.config.dashboard.analysis_wait_ms);
    let analysis = analysis_section(&dashboard, bundle, x, mode, Patience::Budget(wait)).await;
    let usage = super::usage::read(app, super::usage::FLAG_HOURS, Some(&name)).await;
    let root = app.source();
    let excerpt = source::served_excerpt(&root, x.meta.location.as_ref());
    let now = app.now();
    let layer = x
        .layer
        .and_then(|l| layers(bundle).into_iter().nth(l as usize));
    let body = html! {
        h1 { (x.name) }
        p.facts {
            span class={ "status " (status(x, now)) } { (status(x, now)) }
            " · " (window(x)) " · traffic " (traffic(x))
            " · owner " (x.meta.owner.as_deref().unwrap_or("none"))
            @for t in &x.meta.tags { " " span.tag { (t) } }
        }
        @if let Some(doc) = &x.meta.description { div.doc-comment { @for line in doc.lines() { p { (line) } } } }
        @if let Some(o) = served.overrides.get(&x.name) {
            p.override-active { "Override in force: " strong { (o.action.describe()) } " by " strong.actor { (o.actor) } ": " span.reason { (o.reason) } }
        }
        p { "Audience: " code.audience { (audience(x, excerpt.as_ref())) } }
        @if let Some((name, ranges)) = &layer {
            h2 { "Layer " (name) }
            p.muted { "Enrolment buckets " (x.enrolment_range.0) " to " (x.enrolment_range.1) " of " (BUCKETS) "." }
            (chart::layer(name, ranges))
        }
        // The section may be replaced by the page's script: announced
        // politely when it is.
        div.analysis-region aria-live="polite" { (analysis) }
        (super::usage::section(&usage, &x.name))
        (source::section(x.meta.location.as_ref(), excerpt.as_ref()))
        (super::code::section(&dashboard.code.load(), &x.name))
    };
    super::html(
        StatusCode::OK,
        page::shell(&name, &user, Nav::Experiments, app.keys.is_empty(), body),
    )
}

/// `GET /admin/experiments/{name}/analysis`: the page's analysis section
/// alone, the newest there is (waiting for the computation under way):
/// what the page's script asks for when the page was answered without an
/// analysis, or with an old one while a newer was computed.
pub async fn section(
    State(dashboard): State<Arc<Dashboard>>,
    _user: User,
    Path(name): Path<String>,
    view: Result<Query<View>, QueryRejection>,
) -> Response {
    let served = dashboard.app.served();
    let (x, mode) = match experiment(&served, &name, view) {
        Ok(found) => found,
        Err((status, page)) => return super::html(status, page),
    };
    let bundle = served.base.bundle();
    let section = analysis_section(&dashboard, bundle, x, mode, Patience::Newest).await;
    super::html(StatusCode::OK, section)
}

/// The experiment `name` of the version served and the view asked for;
/// else the refusal (400 for an unknown view, 404 for an unknown name).
fn experiment<'s>(
    served: &'s crate::state::Served,
    name: &str,
    view: Result<Query<View>, QueryRejection>,
) -> Result<(&'s Experiment, Mode), (StatusCode, Markup)> {
    let mode = Mode::parse(view.map(|q| q.0).unwrap_or_default().mode.as_deref())
        .map_err(|e| (StatusCode::BAD_REQUEST, page::message("Bad request", &e)))?;
    let x = served
        .base
        .bundle()
        .experiments
        .iter()
        .find(|x| x.name == name)
        .ok_or_else(|| {
            let text = format!("no experiment named `{name}` in the version served");
            (StatusCode::NOT_FOUND, page::message("Not found", &text))
        })?;
    Ok((x, mode))
}

/// The exposures and the analysis, as a section a script can replace:
/// with `data-src` (where the newest is read) when there is none yet or
/// a newer one is being computed.
async fn analysis_section(
    dashboard: &Dashboard,
    bundle: &Bundle,
    x: &Experiment,
    mode: Mode,
    patience: Patience,
) -> Markup {
    let Some(store) = dashboard.app.config.events_db.clone() else {
        return html! {
            section #analysis {
                h2 { "Exposures and analysis" }
                p.error role="alert" { "No event store (`events_db` is not set): no exposures or analysis to show. `vexil analyze` reads the store the server would write." }
            }
        };
    };
    let lookup = dashboard
        .analyses
        .get(store, bundle, x, mode, patience)
        .await;
    let src = format!(
        "/admin/experiments/{}/analysis{}",
        x.name,
        if mode == Mode::Fixed {
            "?mode=fixed"
        } else {
            ""
        }
    );
    let keep = dashboard.analyses.keep();
    match lookup {
        Lookup::Pending => html! {
            section #analysis data-src=(src) aria-busy="true" {
                h2 { "Exposures and analysis" }
                p.as-of.pending {
                    "Reading the event store (as " code { "vexil analyze" } " does): this section fills in when it is done; "
                    a href="" { "reload" } " to see it without scripts."
                }
            }
        },
        Lookup::Ready { analysis: a, newer } => {
            let as_of = html! {
                p.as-of {
                    "From the event store as of " time datetime=(a.as_of) { (page::time(a.as_of)) }
                    " (read in " (format!("{:.0} ms", a.took.as_secs_f64() * 1e3))
                    @if keep.is_zero() {
                        ", for this view)."
                    } @else if newer {
                        "; a newer reading is under way and takes its place when it is done)."
                    } @else {
                        "; read again in the background by a view after "
                        (keep.as_secs()) " s)."
                    }
                }
            };
            html! {
                section #analysis data-src=[newer.then_some(&src)] {
                    @match &a.report {
                        Ok(report) => { (results(x, report, mode, as_of)) }
                        Err(e) => { h2 { "Exposures and analysis" } (as_of) p.error role="alert" { (e) } }
                    }
                }
            }
        }
    }
}

/// What the analysis's intervals and p-values are valid for, with a link
/// to the other view.
fn validity(x: &Experiment, report: &Report, mode: Mode) -> Markup {
    let end = x.end.map(super::flags::day);
    html! {
        @match mode {
            Mode::Sequential => p.validity.sequential {
                strong { "Always-valid intervals and p-values" }
                " (sequential test, mixture SPRT with tuning "
                (count(vexil_events::AnalysisOptions::sequential().sequential.unwrap_or_default()))
                "): valid however often this page is looked at, so a result may be acted on as soon as it is significant. "
                a href={ "/admin/experiments/" (x.name) "?mode=fixed" } { "Fixed-horizon view" }
                " (narrower, valid only for one look at the planned end"
                @if let Some(end) = &end { ", " (end) }
                ")."
            }
            Mode::Fixed => p.validity.fixed role="note" {
                strong { "Fixed-horizon intervals and p-values" }
                ": valid only for one look at the planned end"
                @if let Some(end) = &end { " (" (end) ")" }
                "; looking at them repeatedly before then and acting on the first significant one inflates false positives. "
                a href={ "/admin/experiments/" (x.name) } { "Always-valid view" }
                " (the default)."
            }
        }
        p.muted {
            "As " code { "vexil analyze " (x.name) @if mode == Mode::Sequential { " --sequential" } } " reports it: alpha " (report.alpha)
            ", correction " (report.correction) ", CUPED " (if report.cuped { "on" } else { "off" }) "."
        }
    }
}

/// Exposures per variant (read `as_of`), the sample-ratio check, then the
/// analysis.
fn results(x: &Experiment, report: &Report, mode: Mode, as_of: Markup) -> Markup {
    let total: u64 = report.variants.iter().map(|v| v.units).sum();
    html! {
        h2 { "Exposures" }
        (as_of)
        table.exposures {
            thead { tr { th { "Variant" } th { "Value" } th.num { "Declared" } th.num { "Units exposed" } th.num { "Observed" } } }
            tbody { @for v in &report.variants {
                tr data-variant=(v.name) {
                    td { (v.name) @if v.name == report.control { " " span.muted { "(control)" } } }
                    td { code { (x.variants.iter().find(|d| d.name == v.name).map(|d| d.value.to_string()).unwrap_or_default()) } }
                    td.num { (percent(v.weight, 0, false)) }
                    td.num.units { (count(v.units as f64)) }
                    td.num { @if total > 0 { (percent(v.units as f64 / total as f64, 1, false)) } @else { "—" } }
                }
            } }
        }
        p.srm {
            @match report.srm.as_ref().filter(|_| total > 0) {
                Some(s) if s.flagged => { span.error { "Sample ratio mismatch" } ": the units per variant differ from the declared weights (p = " (format!("{:.2e}", s.p_value)) ")." }
                Some(s) => { "Sample ratio check: ok (p = " (format!("{:.3}", s.p_value)) ")." }
                None => { "Sample ratio check: not computed (no exposures)." }
            }
            @if report.mixed_units > 0 { " " (report.mixed_units) " units exposed to more than one variant are left out." }
        }
        @if total == 0 { p { "No exposures of " code { (x.name) } " in the event store yet." } }
        @else {
            @if !report.problems.is_empty() {
                div.problems role="alert" { strong { "Do not act on these results:" } ul { @for p in &report.problems { li { (p) } } } }
            }
            h2 { "Analysis" }
            (validity(x, report, mode))
            table.analysis {
                thead { tr {
                    th { "Metric" } th { "Variant" } th.num { "Control" } th.num { "Variant" } th.num { "Lift" }
                    th { "Interval" } th.num { "p" } th.num { "Chance to win" } th { "Verdict" }
                } }
                tbody { @for m in &report.metrics {
                    @if let Some(e) = &m.error {
                        tr data-metric=(m.name) { td { (metric_label(m)) } td colspan="8" { span.error { (e) } } }
                    }
                    @for c in &m.comparisons {
                        @let (said, _) = verdict(m, c);
                        tr data-metric=(m.name) data-variant=(c.variant) {
                            td { (metric_label(m)) }
                            td { (c.variant) }
                            td.num { (m.control_value.map(|v| value(m, v)).unwrap_or_default()) }
                            td.num { (value(m, c.value)) }
                            td.num.lift { (percent(c.relative.point, 2, true)) }
                            td.interval { "[" (percent(c.relative.ci_lower, 2, true)) ", " (percent(c.relative.ci_upper, 2, true)) "]" }
                            td.num { (p_value(c.relative.p_value_adjusted.unwrap_or(c.relative.p_value))) }
                            td.num.chance { (percent(c.chance_to_win, 1, false)) }
                            td { span class={ "verdict " (said.to_lowercase().replace(' ', "-")) } { (said) } }
                        }
                    }
                } }
            }
            h3 { "Relative lift with its interval" }
            div.forest { (PreEscaped(forest_plot(report))) }
        }
    }
}
