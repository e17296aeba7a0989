//! Experiments: variants and weights, control, enrolment, metrics, planning.

use std::collections::HashMap;
use vexil_words::with_article;

use vexil_grammar::{self as ast, PropertyKind, Span};
use vexil_ir::bucket::{buckets_to_percent, BUCKETS};
use vexil_ir::{self as ir, FlagKind};

use super::conventions::Declared;
use super::flag::EXPERIMENT_PROPS;
use super::{FileChecker, LoweredExperiment};
use crate::literal;
use crate::suggest::did_you_mean;
use crate::summary::value_type;
use crate::Code;

const PLANNING_KEYS: &[&str] = &["baseline", "stddev", "mde", "alpha", "power", "daily_units"];

/// Microseconds in a day.
const DAY: i64 = 86_400_000_000;

/// An experiment's declared `start`..`end`, and where `end` is written.
#[derive(Clone, Copy)]
struct Window {
    start: i64,
    end: i64,
    end_span: Span,
}

/// Days in words: `1 day`, `30 days`, `12.5 days`.
fn format_days(days: f64) -> String {
    if days.fract() == 0.0 {
        vexil_words::days(days)
    } else {
        format!("{days:.1} days")
    }
}

/// Days of traffic the planning inputs imply, or `None` when an input is
/// missing (baseline, mde, alpha, power, daily_units; stddev for a mean)
/// or the primary metric cannot be sized (a ratio, or none). Inputs the
/// engine rejects are `None` too: `planning` has already reported what it
/// checks, and the rest (a conversion baseline over 100%) is for
/// `vexil plan` to explain.
fn days_needed(
    plan: &ir::Planning,
    metrics: &[ir::Metric],
    variants: &[ir::Variant],
    traffic: u32,
) -> Option<f64> {
    use vexil_analytics::{duration_for_shares, sample_size, PlanMetric, SampleSizeInput};
    let primary = metrics.iter().find(|m| m.role == ir::MetricRole::Primary)?;
    let metric = match primary.kind {
        ir::MetricKind::Conversion { .. } => PlanMetric::Proportion,
        ir::MetricKind::Mean { .. } => PlanMetric::Mean,
        ir::MetricKind::Ratio { .. } => return None,
    };
    let size = sample_size(&SampleSizeInput {
        metric,
        baseline: plan.baseline?,
        stddev: match metric {
            PlanMetric::Mean => Some(plan.stddev?),
            PlanMetric::Proportion => None,
        },
        mde: plan.mde?,
        alpha: plan.alpha?,
        power: plan.power?,
    })
    .ok()?;
    let mut lower = 0;
    let shares: Vec<f64> = variants
        .iter()
        .map(|v| {
            let width = v.upper.saturating_sub(lower);
            lower = v.upper;
            f64::from(width) / f64::from(BUCKETS)
        })
        .collect();
    duration_for_shares(
        size.per_variant,
        plan.daily_units?,
        f64::from(traffic) / f64::from(BUCKETS),
        &shares,
    )
    .ok()
    .map(|d| d.days_exact)
}

impl FileChecker<'_> {
    pub(super) fn experiment_decl(&mut self, e: &ast::FlagDecl) {
        let props = self.props(&e.properties, EXPERIMENT_PROPS, "experiment");
        let vt = value_type(e.value_type);
        self.require(&props, "unit", &e.name, "experiment", "unit user.id");
        self.require(
            &props,
            "variants",
            &e.name,
            "experiment",
            "variants { control = ..  treatment = .. }",
        );

        let variants = self.experiment_variants(props.one("variants"), vt);
        let control = self.control(&props, e, variants.as_deref());

        let unit = match props.one("unit").map(|p| &p.kind) {
            Some(PropertyKind::Unit(u)) => self.unit(u),
            _ => None,
        };
        let salt = match props.one("salt").map(|p| &p.kind) {
            Some(PropertyKind::Salt(s)) => s.value.clone(),
            _ => e.name.name.clone(),
        };
        let layer = match props.one("layer").map(|p| &p.kind) {
            Some(PropertyKind::Layer(l)) => Some(l.name.clone()),
            _ => None,
        };
        let traffic = match props.one("traffic").map(|p| &p.kind) {
            Some(PropertyKind::Traffic(t)) => self.percent(t),
            _ => Some(BUCKETS),
        };
        let audience = match props.one("audience").map(|p| &p.kind) {
            Some(PropertyKind::Audience(a)) => self.condition(a),
            _ => ir::Expr::Const(true),
        };
        let start = self.timestamp_prop(&props, "start");
        let end = self.timestamp_prop(&props, "end");
        if let (Some((s, ss)), Some((t, ts))) = (start, end) {
            if s >= t {
                self.rep
                    .report(
                        Code::EmptyWindow,
                        ss.to(ts),
                        "the experiment ends before it starts",
                    )
                    .label("`start` is not before `end`")
                    .secondary(ss, "start")
                    .secondary(ts, "end")
                    .help("`start` is inclusive and `end` exclusive");
            }
        }
        let metrics = match props.one("metrics").map(|p| &p.kind) {
            Some(PropertyKind::Metrics(ms)) => self.metrics(ms),
            _ => Vec::new(),
        };
        let planning = match props.one("planning").map(|p| &p.kind) {
            Some(PropertyKind::Planning(entries)) => Some(self.planning(entries)),
            _ => None,
        };
        let meta = self.metadata(&props, &e.doc, e.name.span);
        self.conventions(Declared {
            name: &e.name,
            kind: FlagKind::Experiment,
            item: "experiment",
            props: &props,
            expires: end,
        });
        if let (Some(plan), Some(p), Some((s, _)), Some((t, ts)), Some(vs), Some(tr)) = (
            &planning,
            props.one("planning"),
            start,
            end,
            &variants,
            traffic,
        ) {
            let window = Window {
                start: s,
                end: t,
                end_span: ts,
            };
            // The `planning` keyword, not the whole block.
            let keyword = Span {
                start: p.span.start,
                end: p.span.start.saturating_add("planning".len() as u32),
            };
            self.plan_fits(plan, keyword, &metrics, vs, tr, window);
        }

        if let (Some(variants), Some(control), Some(unit), Some(traffic)) =
            (variants, control, unit, traffic)
        {
            self.lowered.experiments.push(LoweredExperiment {
                experiment: ir::Experiment {
                    name: e.name.name.clone(),
                    value_type: vt,
                    variants,
                    control,
                    bucketing: ir::Bucketing { unit, salt },
                    // Filled in when linking, once the layer is known.
                    enrolment_salt: String::new(),
                    enrolment_range: (0, 0),
                    layer: None,
                    audience,
                    start: start.map(|s| s.0),
                    end: end.map(|s| s.0),
                    metrics,
                    planning,
                    meta,
                },
                layer,
                traffic,
            });
        }
    }

    fn experiment_variants(
        &mut self,
        prop: Option<&ast::Property>,
        vt: ir::ValueType,
    ) -> Option<Vec<ir::Variant>> {
        let Some(PropertyKind::Variants(vs)) = prop.map(|p| &p.kind) else {
            return None;
        };
        let prop_span = prop.map_or(Span::default(), |p| p.span);
        if vs.is_empty() {
            self.rep
                .report(
                    Code::MissingProperty,
                    prop_span,
                    "an experiment needs at least one variant",
                )
                .label("no variants")
                .help(
                    "declare the arms: `variants { control = \"a\" 50%  treatment = \"b\" 50% }`",
                );
            return None;
        }
        let weighted = vs.iter().filter(|v| v.weight.is_some()).count();
        if weighted != 0 && weighted != vs.len() {
            self.rep
                .report(
                    Code::WeightsNot100,
                    prop_span,
                    "some variants have weights and some do not",
                )
                .label("give every variant a weight, or none for equal weights")
                .help("without weights, variants share traffic equally");
            return None;
        }
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut out = Vec::with_capacity(vs.len());
        let mut ok = true;
        let mut total: u32 = 0;
        let n = vs.len() as u32;
        for (i, v) in vs.iter().enumerate() {
            if let Some(first) = seen.insert(&v.name.name, v.name.span) {
                self.declared_twice("variant", &v.name, first);
                ok = false;
            }
            let what = format!("variant `{}`", v.name.name);
            let value = self.plain_value(&v.value, vt, &what);
            let weight = match &v.weight {
                Some(w) => self.percent(w),
                // Equal weights; the first variant takes the remainder.
                None => Some(BUCKETS / n + if i == 0 { BUCKETS % n } else { 0 }),
            };
            match (value, weight) {
                (Some(value), Some(w)) => {
                    total = total.saturating_add(w);
                    out.push(ir::Variant {
                        name: v.name.name.clone(),
                        value,
                        upper: total,
                    });
                }
                _ => ok = false,
            }
        }
        if ok && total != BUCKETS {
            self.rep
                .report(
                    Code::WeightsNot100,
                    prop_span,
                    format!("variant weights sum to {}, not 100%", buckets_to_percent(total)),
                )
                .label("every enrolled unit must get a variant")
                .help("make the weights add up to exactly 100%, or leave them all out for equal weights");
            return None;
        }
        ok.then_some(out)
    }

    fn control(
        &mut self,
        props: &super::flag::Props<'_>,
        e: &ast::FlagDecl,
        variants: Option<&[ir::Variant]>,
    ) -> Option<u32> {
        match props.one("control").map(|p| &p.kind) {
            Some(PropertyKind::Control(id)) => {
                let variants = variants?;
                if let Some(i) = variants.iter().position(|v| v.name == id.name) {
                    return Some(i as u32);
                }
                let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
                self.unknown(Code::UnknownVariant, "variant", id, &names);
                None
            }
            _ => {
                let d = self
                    .rep
                    .report(
                        Code::MissingControl,
                        e.name.span,
                        format!(
                            "experiment `{}` does not name its control variant",
                            e.name.name
                        ),
                    )
                    .label("no `control`");
                // Offer the first variant, inserted after the variants block.
                match (variants.and_then(|v| v.first()), props.one("variants")) {
                    (Some(first), Some(vp)) => {
                        let at = Span {
                            start: vp.span.end,
                            end: vp.span.end,
                        };
                        d.help(format!(
                            "add `control {}` (or whichever arm is the baseline)",
                            first.name
                        ))
                        .fix(
                            format!("Add `control {}`", first.name),
                            at,
                            format!("\n  control {}", first.name),
                        );
                    }
                    _ => {
                        d.help("add `control NAME`, naming the baseline arm");
                    }
                }
                None
            }
        }
    }

    /// W0107: a metric reading an event that nothing emits. With the
    /// project file's `events` list (what the services emit), an event not
    /// in it; without one, an event no other metric of the project reads
    /// while a name a typo away is read elsewhere (`search_eror` beside
    /// `search_error`): such a metric watches nothing, and a guardrail on it
    /// would never stop its rollout.
    fn metric_events(&mut self, events: &[ast::EventName]) {
        let listed = &self.ws.conventions(self.db).events;
        if !listed.is_empty() {
            let listed = listed.clone();
            for event in events {
                if listed.contains(&event.name) {
                    continue;
                }
                let help = match did_you_mean(&event.name, listed.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "add it to `events` in `vexil.toml` once a service emits it".to_string()
                    }
                };
                self.rep
                    .report(
                        Code::UnknownEvent,
                        event.span,
                        format!(
                            "nothing emits `{}`: it is not one of the project's events",
                            event.name
                        ),
                    )
                    .label("unknown event")
                    .help(help);
            }
            return;
        }
        let uses = crate::db::project_events(self.db, self.ws);
        for event in events {
            if uses.get(&event.name).copied().unwrap_or(0) > 1 {
                continue;
            }
            let Some(near) = did_you_mean(&event.name, uses.keys().map(String::as_str)) else {
                continue;
            };
            let elsewhere = uses.get(&near).copied().unwrap_or(0);
            let help = if elsewhere > 1 {
                format!("did you mean `{near}`?")
            } else {
                format!("if `{}` or `{near}` is a typo, fix it", event.name)
            };
            self.rep
                .report(
                    Code::UnknownEvent,
                    event.span,
                    format!(
                        "`{}` is read only here, and `{near}`, a typo away, {}: is one a mistake?",
                        event.name,
                        if elsewhere > 1 {
                            format!("by {elsewhere} other metrics")
                        } else {
                            "by one other metric".to_string()
                        }
                    ),
                )
                .label("read only here")
                .help(format!(
                    "{help} (listing what the services emit in `events` in `vexil.toml` checks every event)"
                ));
        }
    }

    /// Experiment metrics, and a staged rollout's guardrails (`guard.rs`).
    pub(super) fn metrics(&mut self, metrics: &[ast::MetricDecl]) -> Vec<ir::Metric> {
        for m in metrics {
            self.metric_events(&m.events);
        }
        let mut out = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for m in metrics {
            if let Some(first) = seen.insert(&m.name.name, m.name.span) {
                self.declared_twice("metric", &m.name, first);
                continue;
            }
            let events: Vec<String> = m.events.iter().map(|e| e.name.clone()).collect();
            let kind = match (m.function.name.as_str(), events.as_slice()) {
                ("conversion", [event]) => Some(ir::MetricKind::Conversion {
                    event: event.clone(),
                }),
                ("mean", [event]) => Some(ir::MetricKind::Mean {
                    event: event.clone(),
                }),
                ("ratio", [num, den]) => Some(ir::MetricKind::Ratio {
                    numerator: num.clone(),
                    denominator: den.clone(),
                }),
                (f @ ("conversion" | "mean" | "ratio"), _) => {
                    let wants = if f == "ratio" {
                        "two events"
                    } else {
                        "one event"
                    };
                    self.rep
                        .report(
                            Code::InvalidMetric,
                            m.function.span,
                            format!("`{f}` takes {wants}"),
                        )
                        .label(format!("{} given", events.len()))
                        .help(match f {
                            "ratio" => "write `ratio(numerator_event, denominator_event)`",
                            _ => "write `conversion(event)` or `mean(event)`",
                        });
                    None
                }
                (f, _) => {
                    let d = self
                        .rep
                        .report(
                            Code::InvalidMetric,
                            m.function.span,
                            format!("unknown metric function `{f}`"),
                        )
                        .label("not a metric function");
                    match did_you_mean(f, ["conversion", "mean", "ratio"]) {
                        Some(s) => {
                            d.help(format!("did you mean `{s}`?")).fix(
                                format!("Replace with `{s}`"),
                                m.function.span,
                                s,
                            );
                        }
                        None => {
                            d.help("metrics are `conversion(event)`, `mean(event)` or `ratio(num, den)`");
                        }
                    }
                    None
                }
            };
            let window = m.window.as_ref().and_then(|w| match literal::duration(w) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.rep
                        .report(e.code, w.span, e.message)
                        .label("invalid window");
                    None
                }
            });
            let threshold = match &m.threshold {
                Some(t) if m.role != ast::MetricRole::Guardrail => {
                    self.rep
                        .report(
                            Code::InvalidMetric,
                            t.span,
                            "only guardrail metrics have a threshold",
                        )
                        .label("threshold on a non-guardrail metric")
                        .secondary(
                            m.role_span,
                            format!("this is {} metric", with_article(m.role.as_str())),
                        )
                        .help("make it `guardrail`, or remove the threshold");
                    None
                }
                Some(t) => match literal::fraction(t) {
                    Ok(v) if v > 0.0 => Some(v),
                    _ => {
                        self.rep
                            .report(Code::InvalidMetric, t.span, "a threshold is a positive percentage")
                            .label("invalid threshold")
                            .help("write the largest acceptable relative change, a positive percentage like `5%`");
                        None
                    }
                },
                None => None,
            };
            if let Some(kind) = kind {
                out.push(ir::Metric {
                    name: m.name.name.clone(),
                    role: match m.role {
                        ast::MetricRole::Primary => ir::MetricRole::Primary,
                        ast::MetricRole::Secondary => ir::MetricRole::Secondary,
                        ast::MetricRole::Guardrail => ir::MetricRole::Guardrail,
                    },
                    kind,
                    goal: match m.goal {
                        ast::Goal::Increase => ir::Goal::Increase,
                        ast::Goal::Decrease => ir::Goal::Decrease,
                    },
                    window,
                    threshold,
                });
            }
        }
        out
    }

    /// W0006: the planning inputs need more days than `start`..`end`
    /// gives. Sized with the statistics engine for the primary metric
    /// (conversion or mean); the smallest variant sets the pace, since
    /// every arm needs the sample size.
    fn plan_fits(
        &mut self,
        plan: &ir::Planning,
        plan_span: Span,
        metrics: &[ir::Metric],
        variants: &[ir::Variant],
        traffic: u32,
        window: Window,
    ) {
        let Some(days) = days_needed(plan, metrics, variants, traffic) else {
            return;
        };
        let available = (window.end - window.start) as f64 / DAY as f64;
        if days <= available {
            return;
        }
        let needed = days.ceil();
        // Absurd inputs can need more days than a timestamp holds.
        let end = (needed as i64)
            .checked_mul(DAY)
            .and_then(|d| window.start.checked_add(d))
            .map(ir::value::format_timestamp)
            .filter(|t| !t.starts_with('<'));
        self.rep
            .report(
                Code::PlanTooLong,
                plan_span,
                format!(
                    "the planning inputs need {} of traffic, but the experiment runs {}",
                    format_days(needed),
                    format_days(available)
                ),
            )
            .label(format!("needs {}", format_days(needed)))
            .secondary(
                window.end_span,
                format!("{} after `start`", format_days(available)),
            )
            .help(match end {
                Some(end) => format!(
                    "end on {} or later, raise `traffic` or `daily_units`, or plan for a larger `mde`",
                    end.get(..10).unwrap_or(&end)
                ),
                None => "raise `traffic` or `daily_units`, or plan for a larger `mde`".to_string(),
            });
    }

    /// An experiment's `planning`, and a flag's for its guarded rollouts.
    pub(super) fn planning(&mut self, entries: &[ast::PlanningEntry]) -> ir::Planning {
        let mut plan = ir::Planning::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for entry in entries {
            let key = entry.key.name.as_str();
            if !PLANNING_KEYS.contains(&key) {
                let d = self
                    .rep
                    .report(
                        Code::InvalidPlanning,
                        entry.key.span,
                        format!("unknown planning input `{key}`"),
                    )
                    .label("not a planning input");
                match did_you_mean(key, PLANNING_KEYS.iter().copied()) {
                    Some(s) => {
                        d.help(format!("did you mean `{s}`?")).fix(
                            format!("Replace with `{s}`"),
                            entry.key.span,
                            s,
                        );
                    }
                    None => {
                        d.help(
                            "planning takes baseline, stddev, mde, alpha, power and daily_units",
                        );
                    }
                }
                continue;
            }
            if let Some(first) = seen.insert(key, entry.key.span) {
                self.rep
                    .report(
                        Code::DuplicateProperty,
                        entry.key.span,
                        format!("`{key}` is given twice"),
                    )
                    .label("given again here")
                    .secondary(first, "first given here");
                continue;
            }
            let value = match literal::fraction(&entry.value) {
                Ok(v) => v,
                Err(e) => {
                    self.rep
                        .report(Code::InvalidPlanning, entry.value.span, e.message)
                        .label("here");
                    continue;
                }
            };
            let valid = match key {
                "alpha" | "power" => value > 0.0 && value < 1.0,
                "stddev" | "mde" | "daily_units" => value > 0.0,
                _ => value.is_finite(),
            };
            if !valid {
                self.rep
                    .report(
                        Code::InvalidPlanning,
                        entry.value.span,
                        format!("`{key}` is out of range"),
                    )
                    .label(match key {
                        "alpha" | "power" => "must be strictly between 0 and 1 (or 0% and 100%)",
                        _ => "must be positive",
                    });
                continue;
            }
            let slot = match key {
                "baseline" => &mut plan.baseline,
                "stddev" => &mut plan.stddev,
                "mde" => &mut plan.mde,
                "alpha" => &mut plan.alpha,
                "power" => &mut plan.power,
                _ => &mut plan.daily_units,
            };
            *slot = Some(value);
        }
        plan
    }
}
