//! Pictures drawn on the server as inline SVG (no script, nothing from
//! another origin): a staged rollout's share over time with the current
//! time, and a layer's enrolment buckets with the experiments in them.
//! Every element is closed explicitly (`{}`): an HTML parser reads a bare
//! `<rect>` inside `<svg>` as an open element.

use maud::{html, Markup};
use vexil_ir::bucket::BUCKETS;

/// One step of a staged rollout: its start and share in buckets.
pub struct Step {
    pub starts: i64,
    pub buckets: u32,
}

const WIDTH: f64 = 640.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 16.0;

fn day_hour(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| "?".to_string())
}

fn share(buckets: u32) -> String {
    vexil_ir::bucket::buckets_to_percent(buckets)
}

/// The share served over time, a step per stage, and a line at `now`.
pub fn stages(steps: &[Step], now: i64) -> Markup {
    let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
        return html! {};
    };
    let span = (last.starts - first.starts).max(3_600_000_000);
    let lo = first.starts.min(now) - span / 10;
    let hi = last.starts.max(now) + span / 4;
    let (top, bottom, height) = (14.0, 96.0, 124.0);
    let plot = WIDTH - LEFT - RIGHT;
    let x = |t: i64| LEFT + (t - lo) as f64 / (hi - lo) as f64 * plot;
    let y = |b: u32| bottom - f64::from(b) / f64::from(BUCKETS) * (bottom - top);
    // The path: 0% until the first stage, then each stage's share until the next.
    let mut path = format!("M{:.1},{:.1}", x(lo), y(0));
    for (i, s) in steps.iter().enumerate() {
        let previous = if i == 0 { 0 } else { steps[i - 1].buckets };
        path.push_str(&format!(
            " L{:.1},{:.1} L{:.1},{:.1}",
            x(s.starts),
            y(previous),
            x(s.starts),
            y(s.buckets)
        ));
    }
    path.push_str(&format!(" L{:.1},{:.1}", x(hi), y(last.buckets)));
    let label = format!(
        "the share served by each stage over time; now is {}",
        day_hour(now)
    );
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-label=(label) {
            @for b in [0, BUCKETS / 2, BUCKETS] {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(b)) y2=(y(b)) stroke="#e5e7eb" {}
                text x=(LEFT - 4.0) y=(y(b) + 4.0) text-anchor="end" { (share(b)) }
            }
            path d=(path) fill="none" stroke="#1f4e79" stroke-width="2.5" {}
            @for (i, s) in steps.iter().enumerate() {
                g.stage {
                    title { "stage " (i + 1) ": " (share(s.buckets)) " from " (day_hour(s.starts)) " UTC" }
                    circle cx=(format!("{:.1}", x(s.starts))) cy=(format!("{:.1}", y(s.buckets))) r="3.5" fill="#1f4e79" {}
                    text x=(format!("{:.1}", x(s.starts))) y=(height - 14.0) text-anchor="middle" { (day_hour(s.starts)) }
                }
            }
            line.now x1=(format!("{:.1}", x(now))) x2=(format!("{:.1}", x(now))) y1="4" y2=(bottom)
                stroke="#b42318" stroke-width="1.5" stroke-dasharray="4 3" {}
            text.now x=(format!("{:.1}", x(now))) y="10" text-anchor="middle" fill="#b42318" { "now" }
        }
    }
}
/// One experiment's range of a layer's enrolment buckets.
pub struct Range<'a> {
    pub name: &'a str,
    pub lo: u32,
    pub hi: u32,
}

/// A layer's buckets as a bar, each experiment's range in it, the free
/// buckets left blank.
pub fn layer(name: &str, ranges: &[Range]) -> Markup {
    const COLOURS: [&str; 6] = [
        "#2563eb", "#d97706", "#7c3aed", "#0d9488", "#db2777", "#4b5563",
    ];
    let (top, bar, height) = (4.0, 30.0, 58.0);
    let plot = WIDTH - LEFT - RIGHT;
    let x = |b: u32| LEFT + f64::from(b) / f64::from(BUCKETS) * plot;
    let label = format!("the enrolment buckets of layer {name} and the experiments in them");
    html! {
        svg.chart.layer xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-label=(label) {
            rect x=(LEFT) y=(top) width=(plot) height=(bar) fill="#f2f4f7" stroke="#d9dee4" {}
            @for (i, r) in ranges.iter().enumerate() {
                g.range data-experiment=(r.name) {
                    title { (r.name) ": buckets " (r.lo) " to " (r.hi) " (" (share(r.hi.saturating_sub(r.lo))) ")" }
                    rect x=(format!("{:.1}", x(r.lo))) y=(top) width=(format!("{:.1}", x(r.hi) - x(r.lo)))
                        height=(bar) fill=(COLOURS[i % COLOURS.len()]) fill-opacity="0.8" {}
                    text x=(format!("{:.1}", (x(r.lo) + x(r.hi)) / 2.0)) y=(top + bar / 2.0 + 4.0)
                        text-anchor="middle" fill="#fff" { (r.name) }
                }
            }
            @for b in [0, BUCKETS / 4, BUCKETS / 2, BUCKETS * 3 / 4, BUCKETS] {
                text x=(format!("{:.1}", x(b))) y=(height - 8.0) text-anchor="middle" { (share(b)) }
            }
        }
    }
}
