//! `vexil analyze --html`: one self-contained page (inline CSS and SVG, no
//! scripts, no web fonts) with the results table, a forest plot of every
//! relative-lift interval and the cumulative lift of each metric by day.

use std::fmt::Write as _;

use vexil_events::{Report, Series};

use vexil_events::present::{
    esc, forest_plot, metric_label, p_value, percent, range, tick_label, ticks, value, verdict,
    PALETTE,
};

use super::{many, thousands};

fn day_label(day: i64) -> String {
    vexil_ir::value::format_timestamp(day)
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 70rem; color: #111827; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
p.meta { color: #4b5563; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { padding: 0.3rem 0.6rem; text-align: left; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.metric td { border-top: 2px solid #d1d5db; font-weight: 600; }
.good { color: #15803d; font-weight: 600; }
.bad { color: #b91c1c; font-weight: 600; }
.box { border: 1px solid #fca5a5; background: #fef2f2; padding: 0.6rem 1rem; border-radius: 0.4rem; }
.note { border: 1px solid #fcd34d; background: #fffbeb; padding: 0.6rem 1rem; border-radius: 0.4rem; }
svg text { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; font-size: 12px; fill: #374151; }
";

/// The whole page.
pub fn page(report: &Report) -> String {
    let mut h = String::new();
    let title = format!("Experiment {}", report.experiment);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(&title));
    let units: Vec<String> = report
        .variants
        .iter()
        .map(|v| {
            format!(
                "{} {} ({})",
                esc(&v.name),
                thousands(v.units),
                percent(v.weight, 0, false)
            )
        })
        .collect();
    let _ = writeln!(
        h,
        "<p class=\"meta\">control {}; alpha {}; correction {}; CUPED {}; {}<br>units: {}{}</p>",
        esc(&report.control),
        report.alpha,
        esc(report.correction),
        if report.cuped { "on" } else { "off" },
        if report.sequential {
            "sequential testing (always-valid intervals)"
        } else {
            "fixed-horizon intervals"
        },
        units.join(", "),
        match &report.srm {
            Some(s) if s.flagged => format!(
                "; <span class=\"bad\">sample ratio mismatch (p = {:.2e})</span>",
                s.p_value
            ),
            Some(s) => format!("; sample ratio ok (p = {:.3})", s.p_value),
            None => String::new(),
        }
    );
    if !report.problems.is_empty() {
        h.push_str("<div class=\"box\"><strong>Do not act on these results:</strong><ul>");
        for p in &report.problems {
            let _ = write!(h, "<li>{}</li>", esc(p));
        }
        h.push_str("</ul></div>\n");
    }
    if report.mixed_units > 0 || !report.unknown_variants.is_empty() {
        h.push_str("<div class=\"note\"><ul>");
        if report.mixed_units > 0 {
            let _ = write!(
                h,
                "<li>{} {} exposed to more than one variant and left out.</li>",
                many(report.mixed_units, "unit"),
                vexil_words::was_were(report.mixed_units)
            );
        }
        for (name, n) in &report.unknown_variants {
            let _ = write!(
                h,
                "<li>{} {} exposed to undeclared variant <code>{}</code> and left out.</li>",
                many(*n, "unit"),
                vexil_words::was_were(*n),
                esc(name)
            );
        }
        h.push_str("</ul></div>\n");
    }
    h.push_str("<h2>Results</h2>\n");
    h.push_str(&results_table(report));
    h.push_str("<h2>Relative lift with its interval</h2>\n");
    h.push_str(&forest_plot(report));
    h.push_str("<h2>Cumulative lift by day of first exposure</h2>\n");
    h.push_str("<p class=\"meta\">Each day includes every unit first exposed by its end, with all its events in the metric's window; the band is the interval.</p>\n");
    for m in &report.metrics {
        let series: Vec<&Series> = report
            .timeline
            .iter()
            .filter(|s| s.metric == m.name)
            .collect();
        let _ = writeln!(h, "<h3>{}</h3>", esc(&metric_label(m)));
        h.push_str(&timeline_chart(&series));
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn results_table(report: &Report) -> String {
    let mut h = String::from("<table>\n<tr><th>metric</th><th>variant</th><th class=\"num\">units</th><th class=\"num\">value</th><th class=\"num\">lift</th><th class=\"num\">interval</th><th class=\"num\">p</th><th class=\"num\">chance to win</th><th>result</th></tr>\n");
    for m in &report.metrics {
        let _ = writeln!(
            h,
            "<tr class=\"metric\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td colspan=\"5\"></td></tr>",
            esc(&metric_label(m)),
            esc(&report.control),
            thousands(m.control_units),
            m.control_value.map(|v| value(m, v)).unwrap_or_default()
        );
        if let Some(e) = &m.error {
            let _ = writeln!(
                h,
                "<tr><td></td><td colspan=\"8\" class=\"bad\">cannot analyse: {}</td></tr>",
                esc(e)
            );
        }
        for c in &m.comparisons {
            let (words, good) = verdict(m, c);
            let class = match good {
                Some(true) => "good",
                Some(false) => "bad",
                None => "",
            };
            let _ = writeln!(
                h,
                "<tr><td></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">[{}, {}]</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{class}\">{}</td></tr>",
                esc(&c.variant),
                thousands(c.units),
                value(m, c.value),
                percent(c.relative.point, 1, true),
                percent(c.relative.ci_lower, 1, true),
                percent(c.relative.ci_upper, 1, true),
                p_value(c.relative.p_value_adjusted.unwrap_or(c.relative.p_value)),
                percent(c.chance_to_win, 1, false),
                esc(words)
            );
        }
    }
    h.push_str("</table>\n");
    h
}

fn timeline_chart(series: &[&Series]) -> String {
    let points: Vec<&vexil_events::Point> = series.iter().flat_map(|s| &s.points).collect();
    if points.is_empty() {
        return "<p>Not enough data for a daily series yet.</p>\n".to_string();
    }
    let (lo, hi) = range(points.iter().flat_map(|p| [p.ci_lower, p.ci_upper]));
    let first = points.iter().map(|p| p.day).min().unwrap_or(0);
    let last = points.iter().map(|p| p.day).max().unwrap_or(0);
    let (left, plot_w, plot_h, top) = (60.0, 700.0, 220.0, 10.0);
    let width = left + plot_w + 20.0;
    let height = top + plot_h + 60.0;
    // In floating point: days come from user-supplied times, and their
    // difference could overflow an i64.
    let span = (last as f64 - first as f64).max(1.0);
    let x = |day: i64| left + (day as f64 - first as f64) / span * plot_w;
    let y = |v: f64| top + (hi - v) / (hi - lo) * plot_h;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"cumulative lift by day\">\n"
    );
    for t in ticks(lo, hi) {
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#e5e7eb\"/><text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\">{4}</text>",
            left + plot_w,
            y(t),
            left - 6.0,
            y(t) + 4.0,
            tick_label(t, 1)
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#6b7280\" stroke-width=\"1.5\"/>",
        left + plot_w,
        y(0.0)
    );
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{:.1}\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        top + plot_h + 18.0,
        day_label(first),
        left + plot_w,
        top + plot_h + 18.0,
        day_label(last)
    );
    for (k, series) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        if series.points.is_empty() {
            continue;
        }
        let upper: Vec<String> = series
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.day), y(p.ci_upper)))
            .collect();
        let lower: Vec<String> = series
            .points
            .iter()
            .rev()
            .map(|p| format!("{:.1},{:.1}", x(p.day), y(p.ci_lower)))
            .collect();
        let _ = writeln!(
            s,
            "<polygon points=\"{} {}\" fill=\"{color}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
            upper.join(" "),
            lower.join(" ")
        );
        let line: Vec<String> = series
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.day), y(p.lift)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
            line.join(" ")
        );
        for p in &series.points {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{color}\"><title>{} {}: {} [{}, {}], {}</title></circle>",
                x(p.day),
                y(p.lift),
                esc(&series.variant),
                day_label(p.day),
                percent(p.lift, 2, true),
                percent(p.ci_lower, 2, true),
                percent(p.ci_upper, 2, true),
                many(p.units, "unit")
            );
        }
        let legend_x = left + 150.0 * k as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{legend_x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            top + plot_h + 32.0,
            legend_x + 16.0,
            top + plot_h + 42.0,
            esc(&series.variant)
        );
    }
    s.push_str("</svg>\n");
    s
}
