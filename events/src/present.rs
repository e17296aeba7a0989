//! An experiment report in words and pictures, shared by `vexil analyze`
//! (its table and `--html` page) and the dashboard's experiment page:
//! percentages, p-values, what a comparison means, and the forest plot of
//! relative lifts as SVG.

use std::fmt::Write as _;

use vexil_ir as ir;

use crate::analysis::{Comparison, GuardrailState, MetricResult, Report};

/// One colour per treatment, in order; the control has no line.
pub const PALETTE: [&str; 6] = [
    "#2563eb", "#d97706", "#7c3aed", "#0d9488", "#db2777", "#4b5563",
];
const GOOD: &str = "#15803d";
const BAD: &str = "#b91c1c";
const NEUTRAL: &str = "#374151";

/// A percentage with `decimals`, signed when `signed`.
pub fn percent(x: f64, decimals: usize, signed: bool) -> String {
    let v = x * 100.0;
    if signed {
        format!("{v:+.decimals$}%")
    } else {
        format!("{v:.decimals$}%")
    }
}

/// A metric value: a rate as a percentage, anything else with four
/// significant digits.
pub fn value(metric: &MetricResult, v: f64) -> String {
    if metric.function == "conversion" {
        return percent(v, 2, false);
    }
    let magnitude = if v == 0.0 {
        0
    } else {
        v.abs().log10().floor() as i32
    };
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

/// A p-value to four places, or `<0.0001`.
pub fn p_value(p: f64) -> String {
    if p < 1e-4 {
        "<0.0001".to_string()
    } else {
        format!("{p:.4}")
    }
}

/// What a comparison means: `better`, `worse`, a guardrail state, or
/// nothing significant; and whether it is good news.
pub fn verdict(metric: &MetricResult, c: &Comparison) -> (&'static str, Option<bool>) {
    if let Some(g) = &c.guardrail {
        return match g.state {
            GuardrailState::Ok => ("ok", Some(true)),
            GuardrailState::AtRisk => ("at risk", None),
            GuardrailState::Breached => ("BREACHED", Some(false)),
        };
    }
    if !c.significant {
        return ("not significant", None);
    }
    let up = c.relative.point > 0.0;
    let good = up == (metric.goal == ir::Goal::Increase);
    if good {
        ("better", Some(true))
    } else {
        ("worse", Some(false))
    }
}

/// A metric's name with its role (and a guardrail's limit).
pub fn metric_label(m: &MetricResult) -> String {
    let role = match m.role {
        ir::MetricRole::Primary => "primary".to_string(),
        ir::MetricRole::Secondary => "secondary".to_string(),
        ir::MetricRole::Guardrail => {
            match m.comparisons.first().and_then(|c| c.guardrail.as_ref()) {
                // The limit is in the bad direction: up for `decrease`.
                Some(g) => {
                    let sign = if m.goal == ir::Goal::Decrease {
                        1.0
                    } else {
                        -1.0
                    };
                    format!("guardrail, limit {}", percent(sign * g.threshold, 0, true))
                }
                None => "guardrail".to_string(),
            }
        }
    };
    format!("{} ({role})", m.name)
}

/// `text` escaped for HTML and SVG text and attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A symmetric-enough axis range covering `values` and zero, with a
/// little room.
pub fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi - lo < 1e-9 {
        return (-0.01, 0.01);
    }
    let pad = (hi - lo) * 0.08;
    (lo - pad, hi + pad)
}

/// Round ticks in steps of 1, 2 or 5 × 10^k covering `[lo, hi]`.
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let mut out = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi && out.len() < 20 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// An axis label: signed, but zero is plain `0%`.
pub fn tick_label(t: f64, decimals: usize) -> String {
    if t == 0.0 {
        "0%".to_string()
    } else {
        percent(t, decimals, true)
    }
}

fn color_of(m: &MetricResult, c: &Comparison) -> &'static str {
    match verdict(m, c).1 {
        Some(true) => GOOD,
        Some(false) => BAD,
        None => NEUTRAL,
    }
}

/// Every treatment's relative lift on every metric with its interval, and
/// each guardrail's limit, as one SVG image (no script, no style element:
/// it can go inline in a page whose policy forbids both).
pub fn forest_plot(report: &Report) -> String {
    let rows: Vec<(&MetricResult, &Comparison)> = report
        .metrics
        .iter()
        .flat_map(|m| m.comparisons.iter().map(move |c| (m, c)))
        .collect();
    if rows.is_empty() {
        return "<p>No comparison could be computed.</p>\n".to_string();
    }
    let thresholds = rows.iter().filter_map(|(m, c)| {
        c.guardrail.as_ref().map(|g| {
            if m.goal == ir::Goal::Decrease {
                g.threshold
            } else {
                -g.threshold
            }
        })
    });
    let (lo, hi) = range(
        rows.iter()
            .flat_map(|(_, c)| [c.relative.ci_lower, c.relative.ci_upper])
            .chain(thresholds),
    );
    let (label_w, plot_w, row_h, top) = (300.0, 520.0, 28.0, 24.0);
    let width = label_w + plot_w + 20.0;
    let height = top + row_h * rows.len() as f64 + 30.0;
    let x = |v: f64| label_w + (v - lo) / (hi - lo) * plot_w;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"forest plot of relative lifts\">\n"
    );
    for t in ticks(lo, hi) {
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{1:.1}\" stroke=\"#e5e7eb\"/><text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{3}</text>",
            x(t),
            height - 24.0,
            height - 8.0,
            tick_label(t, 0)
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{1:.1}\" stroke=\"#6b7280\" stroke-width=\"1.5\"/>",
        x(0.0),
        height - 24.0
    );
    for (i, (m, c)) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let color = color_of(m, c);
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{:.1}\">{} · {}</text>",
            y + 4.0,
            esc(&m.name),
            esc(&c.variant)
        );
        if let Some(g) = &c.guardrail {
            let limit = if m.goal == ir::Goal::Decrease {
                g.threshold
            } else {
                -g.threshold
            };
            let _ = writeln!(
                s,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"{BAD}\" stroke-dasharray=\"3 3\"><title>guardrail limit {3}</title></line>",
                x(limit),
                y - row_h / 2.0 + 3.0,
                y + row_h / 2.0 - 3.0,
                percent(limit, 0, true)
            );
        }
        let _ = writeln!(
            s,
            "<g><title>{} {}: {} [{}, {}]</title><line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{color}\" stroke-width=\"3\"/><circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{color}\"/></g>",
            esc(&m.name),
            esc(&c.variant),
            percent(c.relative.point, 2, true),
            percent(c.relative.ci_lower, 2, true),
            percent(c.relative.ci_upper, 2, true),
            x(c.relative.ci_lower),
            x(c.relative.ci_upper),
            x(c.relative.point),
        );
    }
    s.push_str("</svg>\n");
    s
}
