//! The usage rollups on the dashboard, read through the same
//! [`Summary`](crate::usage_api::Summary) as `GET /v1/usage`: the Flags
//! page's evaluations in the last 24 hours and "never evaluated" status,
//! and a flag's evaluations over time by variant and by reason (stacked
//! bars drawn as inline SVG), the share each rule served and its errors by
//! code.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use maud::{html, Markup};

use crate::state::App;
use crate::usage_api::{summary, totals, Count, FlagUsage, Hour, Summary};

/// The window of a flag's page.
pub const FLAG_HOURS: i64 = 7 * 24;
/// The window of the Flags page's column.
pub const LIST_HOURS: i64 = 24;

/// The usage of the last `hours` hours (of one flag, or all), or why it
/// cannot be read.
pub async fn read(app: &App, hours: i64, flag: Option<&str>) -> Result<Summary, String> {
    let now = Timestamp::from_microsecond(app.now()).unwrap_or(Timestamp::UNIX_EPOCH);
    summary(app, now - SignedDuration::from_hours(hours), flag)
        .await
        .map_err(|e| e.to_string())
}

/// Each flag's evaluations in the last `hours` hours and last evaluation,
/// without the breakdowns (the Flags page).
pub async fn read_totals(app: &App, hours: i64) -> Result<Summary, String> {
    let now = Timestamp::from_microsecond(app.now()).unwrap_or(Timestamp::UNIX_EPOCH);
    totals(app, now - SignedDuration::from_hours(hours))
        .await
        .map_err(|e| e.to_string())
}

/// A rule's share of the flag's evaluations in the window, as text.
pub fn rule_share(usage: &FlagUsage, label: &str) -> Option<String> {
    if usage.total == 0 {
        return None;
    }
    let n = usage
        .by_rule
        .iter()
        .find(|c| c.label.as_deref() == Some(label))
        .map_or(0, |c| c.count);
    Some(share(n, usage.total))
}

/// The share of evaluations no rule decided (the default, or a static or
/// disabled flag).
pub fn no_rule_share(usage: &FlagUsage) -> Option<String> {
    if usage.total == 0 {
        return None;
    }
    let n = usage
        .by_rule
        .iter()
        .find(|c| c.label.is_none())
        .map_or(0, |c| c.count);
    Some(share(n, usage.total))
}

fn share(n: u64, total: u64) -> String {
    format!("{:.1}%", 100.0 * n as f64 / total.max(1) as f64)
}

/// A flag's usage section: totals, the two charts, errors by code.
pub fn section(summary: &Result<Summary, String>, flag: &str) -> Markup {
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            return html! {
                section #usage { h2 { "Usage" } p.error { "The usage rollups cannot be read: " (e) } }
            }
        }
    };
    let usage = summary.flags.iter().find(|f| f.flag == flag);
    let total = usage.map_or(0, |u| u.total);
    html! {
        section #usage {
            h2 { "Usage, the last 7 days" }
            p.facts {
                span.total { (super::flags::count(total as f64)) } " evaluations"
                " · last evaluated "
                @match usage.and_then(|u| u.last_evaluated) {
                    Some(t) => { span.last-evaluated { (super::page::time(t)) } }
                    None => { span.never { "never" } }
                }
                " · history since "
                @match summary.history_starts {
                    Some(t) => { (super::page::time(t)) }
                    None => { "none recorded" }
                }
            }
            @if let Some(u) = usage.filter(|u| u.total > 0) {
                h3 { "By variant" }
                (stacked(&u.hours, |h| &h.by_variant, summary.since, summary.until, "variant"))
                h3 { "By reason" }
                (stacked(&u.hours, |h| &h.by_reason, summary.since, summary.until, "reason"))
                h3 { "Errors by code" }
                @if u.by_error.is_empty() { p { "None." } } @else {
                    table.errors {
                        thead { tr { th { "Code" } th.num { "Evaluations" } th.num { "Share" } } }
                        tbody { @for c in &u.by_error {
                            tr data-code=[c.label.as_deref()] {
                                td { code { (c.label.as_deref().unwrap_or("?")) } }
                                td.num { (super::flags::count(c.count as f64)) }
                                td.num { (share(c.count, u.total)) }
                            }
                        } }
                    }
                }
            } @else {
                p { "No evaluations in the last 7 days." }
            }
        }
    }
}

/// One bar segment: its label, colour, top and height.
type Segment<'a> = (String, &'a str, f64, f64);

const COLOURS: [&str; 8] = [
    "#2563eb", "#d97706", "#0d9488", "#7c3aed", "#db2777", "#4b5563", "#65a30d", "#b42318",
];

const WIDTH: f64 = 640.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;

fn label_text(label: &Option<String>, what: &str) -> String {
    label.clone().unwrap_or_else(|| format!("(no {what})"))
}

/// Evaluations per hour as stacked bars, one colour per label, with a
/// legend; every element closed explicitly (see `chart.rs`).
fn stacked(
    hours: &[Hour],
    pick: fn(&Hour) -> &Vec<Count>,
    since: Timestamp,
    until: Timestamp,
    what: &str,
) -> Markup {
    let labels: BTreeSet<String> = hours
        .iter()
        .flat_map(|h| pick(h).iter().map(|c| label_text(&c.label, what)))
        .collect();
    let colour: BTreeMap<&str, &str> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), COLOURS[i % COLOURS.len()]))
        .collect();
    let slots = ((until - since).as_secs() / 3600 + 1).max(1) as f64;
    let (top, bottom, height) = (10.0, 110.0, 150.0);
    let plot = WIDTH - LEFT - RIGHT;
    let bar = (plot / slots).max(1.0);
    let peak = hours.iter().map(|h| h.count).max().unwrap_or(1).max(1) as f64;
    let x = |t: Timestamp| LEFT + (t - since).as_secs() as f64 / 3600.0 * (plot / slots);
    let y = |n: f64| bottom - n / peak * (bottom - top);
    // Each hour's segments, bottom up: (label, colour, top, height).
    let bars: Vec<(&Hour, Vec<Segment>)> = hours
        .iter()
        .map(|h| {
            let mut below = 0.0;
            let segments = pick(h)
                .iter()
                .map(|c| {
                    let name = label_text(&c.label, what);
                    let fill = colour.get(name.as_str()).copied().unwrap_or("#4b5563");
                    let (from, to) = (below, below + c.count as f64);
                    below = to;
                    (name, fill, y(to), y(from) - y(to))
                })
                .collect();
            (h, segments)
        })
        .collect();
    let aria = format!(
        "evaluations per hour by {what}, {} to {}",
        day_hour(since),
        day_hour(until)
    );
    html! {
        svg.chart.usage xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-label=(aria) data-by=(what) {
            line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(bottom) y2=(bottom) stroke="#d9dee4" {}
            text x=(LEFT - 4.0) y=(top + 4.0) text-anchor="end" { (super::flags::count(peak)) }
            text x=(LEFT - 4.0) y=(bottom) text-anchor="end" { "0" }
            @for (h, segments) in &bars {
                g.hour {
                    title { (day_hour(h.hour)) " UTC: " (h.count) " evaluations" }
                    @for (name, fill, top_y, tall) in segments {
                        rect x=(format!("{:.1}", x(h.hour))) y=(format!("{top_y:.1}"))
                            width=(format!("{bar:.1}")) height=(format!("{tall:.1}"))
                            fill=(fill) data-label=(name) {}
                    }
                }
            }
            text x=(LEFT) y=(bottom + 14.0) { (day_hour(since)) }
            text x=(WIDTH - RIGHT) y=(bottom + 14.0) text-anchor="end" { (day_hour(until)) }
            @for (i, l) in labels.iter().enumerate() {
                g.legend {
                    rect x=(LEFT + 130.0 * i as f64) y=(height - 14.0) width="10" height="10"
                        fill=(colour.get(l.as_str()).copied().unwrap_or("#4b5563")) {}
                    text x=(LEFT + 14.0 + 130.0 * i as f64) y=(height - 5.0) { (l) }
                }
            }
        }
    }
}

fn day_hour(t: Timestamp) -> String {
    t.strftime("%m-%d %H:%M").to_string()
}
