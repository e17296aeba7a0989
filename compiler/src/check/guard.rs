//! Guardrails of a staged rollout, written after its rule (`guard errors:
//! conversion(search_error) must not increase by 10% => rollback`, `min
//! sample 1000 per stage`): metrics in an experiment metric's form, checked
//! by the same code, and lowered as metadata for `vexil serve`'s monitor
//! (no backend reads them).

use vexil_grammar::{self as ast, LiteralKind, Span};
use vexil_ir as ir;

use super::FileChecker;
use crate::suggest::did_you_mean;
use crate::Code;

const ACTIONS: [&str; 3] = ["rollback", "pause", "notify"];

/// Microseconds in a day.
const DAY: f64 = 86_400_000_000.0;

impl FileChecker<'_> {
    /// The rule's guardrails, or `None` when it has none or after
    /// reporting why they cannot be kept. `staged` says whether the rule's
    /// result is a staged rollout; `result_span` is where it is written.
    pub(super) fn guardrails(
        &mut self,
        r: &ast::RuleDecl,
        staged: bool,
        result_span: Span,
    ) -> Option<ir::Guardrails> {
        let first = r
            .guards
            .first()
            .map(|g| g.metric.role_span)
            .or(r.min_sample.as_ref().map(|m| m.span))?;
        if !staged {
            self.rep
                .report(
                    Code::InvalidGuardrail,
                    first,
                    "only a staged rollout has guardrails",
                )
                .label("guardrail of a rule without stages")
                .secondary(result_span, "this rule serves without stages")
                .help("guardrails watch the stages of a rollout: `=> 1% for 1h, 5% for 1d, 100% by user.id`");
            return None;
        }
        if r.name.is_none() {
            // The monitor's override and `vexil rollout` name the rule.
            self.rep
                .report(
                    Code::InvalidGuardrail,
                    first,
                    "a rollout with guardrails needs a name",
                )
                .label("guardrail of an unnamed rule")
                .help("name the rule, which the monitor's rollback names: `rule ramp: from ..`");
            return None;
        }
        let min_sample = r
            .min_sample
            .as_ref()
            .and_then(|m| self.min_sample(&m.count));
        if r.guards.is_empty() {
            if let Some(m) = &r.min_sample {
                self.rep
                    .report(
                        Code::InvalidGuardrail,
                        m.span,
                        "a minimum sample without a guardrail",
                    )
                    .label("samples of what?")
                    .help("add the metric the samples are for: `guard errors: conversion(error) must not increase by 10%`");
            }
            return None;
        }
        let metrics: Vec<ast::MetricDecl> = r.guards.iter().map(|g| g.metric.clone()).collect();
        let lowered = self.metrics(&metrics);
        let mut guards = Vec::with_capacity(lowered.len());
        for g in &r.guards {
            let action = self.guard_action(g.action.as_ref());
            // `metrics` leaves out a metric it refused (and a second one
            // of the same name); the first of each name is the one kept.
            let Some(metric) = lowered.iter().find(|m| m.name == g.metric.name.name) else {
                continue;
            };
            if guards
                .iter()
                .any(|k: &ir::Guard| k.metric.name == metric.name)
            {
                continue;
            }
            if let Some(action) = action {
                guards.push(ir::Guard {
                    metric: metric.clone(),
                    action,
                });
            }
        }
        Some(ir::Guardrails { guards, min_sample })
    }

    /// W0009: with the flag's planning inputs, each guarded stage's smaller
    /// side against the units the monitor's test (one-sided, always valid,
    /// at the default tuning) needs to detect a harm of each guardrail's
    /// threshold with the planned power (`vexil plan`'s effect and
    /// variances; alpha shared out over the stages and guardrails as the
    /// monitor does).
    pub(super) fn stages_detect(&mut self, rules: &[ir::Rule], plan: &ir::Planning, span: Span) {
        use vexil_analytics::{
            sequential_sample_size, PlanMetric, SampleSizeInput, DEFAULT_SEQUENTIAL_TUNING,
        };
        let (Some(baseline), Some(daily)) = (plan.baseline, plan.daily_units) else {
            return;
        };
        for (index, rule) in rules.iter().enumerate() {
            let (Some(g), ir::RuleResult::Staged { stages, .. }) = (&rule.guardrails, &rule.result)
            else {
                continue;
            };
            let compared = stages
                .iter()
                .filter(|s| s.buckets > 0 && s.buckets < ir::bucket::BUCKETS)
                .count();
            let tests = (compared.max(1) * g.guards.len().max(1)) as f64;
            let alpha = plan.alpha.unwrap_or(0.05) / tests;
            for guard in &g.guards {
                let metric = match guard.metric.kind {
                    ir::MetricKind::Conversion { .. } => PlanMetric::Proportion,
                    ir::MetricKind::Mean { .. } => PlanMetric::Mean,
                    ir::MetricKind::Ratio { .. } => continue,
                };
                let input = SampleSizeInput {
                    metric,
                    baseline,
                    stddev: plan.stddev,
                    mde: guard.metric.threshold.unwrap_or(0.0),
                    alpha,
                    power: plan.power.unwrap_or(0.8),
                };
                let Ok(size) = sequential_sample_size(&input, DEFAULT_SEQUENTIAL_TUNING) else {
                    continue;
                };
                let short: Vec<(usize, f64)> = stages
                    .windows(2)
                    .enumerate()
                    .filter_map(|(i, w)| {
                        let share = f64::from(w[0].buckets) / f64::from(ir::bucket::BUCKETS);
                        let days = (w[1].starts - w[0].starts) as f64 / DAY;
                        let smaller = daily * days * share.min(1.0 - share);
                        (share > 0.0 && share < 1.0 && smaller < size.per_variant)
                            .then_some((i + 1, smaller.round()))
                    })
                    .collect();
                let Some(&(first, fewest)) = short.first() else {
                    continue;
                };
                let numbers: Vec<String> = short.iter().map(|(n, _)| n.to_string()).collect();
                let name = rule.name.clone().unwrap_or_else(|| (index + 1).to_string());
                self.rep
                    .report(
                        Code::StageTooShort,
                        span,
                        format!(
                            "{} of rule `{name}` {} too short to detect a {}% {} of `{}`",
                            if short.len() == 1 {
                                format!("stage {first}")
                            } else {
                                format!("stages {}", numbers.join(", "))
                            },
                            if short.len() == 1 { "is" } else { "are" },
                            (guard.metric.threshold.unwrap_or(0.0) * 100.0).round(),
                            match guard.metric.goal {
                                ir::Goal::Decrease => "rise",
                                ir::Goal::Increase => "fall",
                            },
                            guard.metric.name
                        ),
                    )
                    .label(format!(
                        "about {fewest} units on the smaller side of stage {first}; the test needs {} on each",
                        size.per_variant
                    ))
                    .help("lengthen the stages, or plan for more `daily_units`");
            }
        }
    }

    fn guard_action(&mut self, action: Option<&ast::Ident>) -> Option<ir::GuardAction> {
        let Some(a) = action else {
            return Some(ir::GuardAction::Rollback);
        };
        match a.name.as_str() {
            "rollback" => Some(ir::GuardAction::Rollback),
            "pause" => Some(ir::GuardAction::Pause),
            "notify" => Some(ir::GuardAction::Notify),
            other => {
                let d = self
                    .rep
                    .report(
                        Code::InvalidGuardrail,
                        a.span,
                        format!("unknown guardrail action `{other}`"),
                    )
                    .label("not an action");
                match did_you_mean(other, ACTIONS) {
                    Some(s) => {
                        d.help(format!("did you mean `{s}`?")).fix(
                            format!("Replace with `{s}`"),
                            a.span,
                            s,
                        );
                    }
                    None => {
                        d.help("a breach can `rollback` (the default), `pause` or `notify`");
                    }
                }
                None
            }
        }
    }

    fn min_sample(&mut self, l: &ast::Literal) -> Option<u64> {
        let n = match &l.kind {
            LiteralKind::Number(text) => text.parse::<u64>().ok().filter(|n| *n > 0),
            _ => None,
        };
        if n.is_none() {
            self.rep
                .report(
                    Code::InvalidGuardrail,
                    l.span,
                    "a minimum sample is a positive whole number of units",
                )
                .label("not a count of units")
                .help("write how many units each side needs before a stage may advance: `min sample 1000 per stage`");
        }
        n
    }
}
