//! A guarded rollout's checks, as `vexil serve`'s monitor makes them: for
//! each stage, the units the staged rollout serves (the new experience)
//! against the units it holds back (the old one), on every guardrail, from
//! the event store, with the always-valid sequential test, so that checking
//! every few minutes keeps the false-alarm rate at alpha; plus the sample
//! ratio of the two sides against the stage's cut. Statistics in
//! `analytics/STATISTICS.md` ("The rollout monitor").
//!
//! Each stage has its own exposure key ([`exposure_key`]): within a stage
//! the cut is fixed, so every unit is on one side and the expected ratio is
//! known; a unit held back in one stage and served in the next is counted
//! once in each.

use serde::Serialize;
use vexil_analytics as stats;
use vexil_ir as ir;

use crate::aggregate::Sums;
use crate::analysis::{analyse_metric, Srm};
use crate::metric::MetricSpec;
use crate::store::{Store, StoreError};

/// The variant of units a stage serves.
pub const NEW: &str = "new";
/// The variant of units a stage holds back.
pub const OLD: &str = "old";

/// The `experiment` of a rollout stage's exposures in the store: `rollout:`
/// (no flag name has a colon), the flag, the rule and the stage (from 1).
pub fn exposure_key(flag: &str, rule: &str, stage: usize) -> String {
    format!("rollout:{flag}:{rule}:{stage}")
}

/// Which side of a stage's cut a bucket is on.
pub fn side(bucket: u32, stage_buckets: u32) -> &'static str {
    if bucket < stage_buckets {
        NEW
    } else {
        OLD
    }
}

/// A guarded staged rule, as the monitor reads it from the bundle.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardedRollout {
    /// The flag's name.
    pub flag: String,
    /// The rule's name, or `N` (its position from 1) when it has none.
    pub rule: String,
    /// The rule's index among the flag's rules.
    pub rule_index: usize,
    /// The stages, by start.
    pub stages: Vec<ir::Stage>,
    /// What it is watched for.
    pub guardrails: ir::Guardrails,
    /// How units are bucketed.
    pub bucketing: ir::Bucketing,
}

impl GuardedRollout {
    /// Every guarded staged rule of the bundle.
    pub fn all(bundle: &ir::Bundle) -> Vec<GuardedRollout> {
        let mut out = Vec::new();
        for flag in &bundle.flags {
            for (i, rule) in flag.rules.iter().enumerate() {
                let (
                    Some(guardrails),
                    ir::RuleResult::Staged {
                        stages, bucketing, ..
                    },
                ) = (&rule.guardrails, &rule.result)
                else {
                    continue;
                };
                out.push(GuardedRollout {
                    flag: flag.name.clone(),
                    rule: rule.name.clone().unwrap_or_else(|| (i + 1).to_string()),
                    rule_index: i,
                    stages: stages.clone(),
                    guardrails: guardrails.clone(),
                    bucketing: bucketing.clone(),
                });
            }
        }
        out
    }

    /// Stages with units on both sides (above 0% and below 100%): the ones
    /// the monitor compares.
    pub fn compared_stages(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| s.buckets > 0 && s.buckets < ir::bucket::BUCKETS)
            .count()
    }

    /// The significance level of each test: `alpha` shared out over the
    /// compared stages and the guardrails (Bonferroni), so that the chance
    /// of any false breach over the whole rollout is at most `alpha`.
    pub fn alpha_per_test(&self, alpha: f64) -> f64 {
        let tests = self.compared_stages().max(1) * self.guardrails.guards.len().max(1);
        alpha / tests as f64
    }
}

/// How the monitor tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonitorOptions {
    /// The chance of a false breach over a whole rollout.
    pub alpha: f64,
    /// The mixture SPRT's tuning: the total sample (both sides) at which
    /// its interval is tightest.
    pub tuning: f64,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            alpha: 0.05,
            tuning: stats::DEFAULT_SEQUENTIAL_TUNING,
        }
    }
}

/// One stage's comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageCheck {
    /// The stage, from 1.
    pub stage: usize,
    /// Its share, like `5%`.
    pub percent: String,
    /// Units served (new experience) so far in this stage.
    pub units_new: u64,
    /// Units held back (old experience) so far in this stage.
    pub units_old: u64,
    /// The two sides against the stage's cut.
    pub srm: Option<Srm>,
    /// Each guardrail, in the order written.
    pub guards: Vec<GuardCheck>,
    /// Both sides have reached `min sample N per stage` (true without one).
    pub enough_sample: bool,
}

impl StageCheck {
    /// The first guardrail breached, if any.
    pub fn breach(&self) -> Option<&GuardCheck> {
        self.guards.iter().find(|g| g.state == GuardState::Breached)
    }
}

/// Where a guardrail stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardState {
    /// Not enough data yet (fewer than two units on a side, or a metric
    /// the engine cannot compute yet).
    Waiting,
    /// The interval rules out a harmful change as large as the threshold.
    Ok,
    /// The interval reaches the threshold on the harmful side: a harm the
    /// stages are sized to detect is not ruled out yet.
    AtRisk,
    /// The change is significantly harmful (the one-sided always-valid
    /// test rejects "no harm" at the test's alpha), whatever its size: the
    /// action is due.
    Breached,
}

/// One guardrail's comparison in one stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardCheck {
    /// The guardrail's name.
    pub name: String,
    /// What a breach does.
    pub action: &'static str,
    /// The harmful direction: `increase` or `decrease`.
    pub harmful: &'static str,
    /// The relative change the stages are sized to detect (W0009), a
    /// fraction: an interval reaching it is at risk.
    pub threshold: f64,
    /// The metric among the units held back.
    pub old_value: Option<f64>,
    /// The metric among the units served.
    pub new_value: Option<f64>,
    /// New against old, relative, with its always-valid interval and
    /// (two-sided) p-value.
    pub relative: Option<stats::Estimate>,
    /// The always-valid one-sided p-value of "no harm": the test of a
    /// breach.
    pub p_harm: Option<f64>,
    /// The significance level this test is held to.
    pub alpha: f64,
    /// Where it stands.
    pub state: GuardState,
    /// Why there is no estimate yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Compares the two sides of stage `stage` (an index into the stages).
pub fn check_stage(
    store: &Store,
    rollout: &GuardedRollout,
    stage: usize,
    options: &MonitorOptions,
) -> Result<StageCheck, StoreError> {
    let buckets = rollout.stages.get(stage).map_or(0, |s| s.buckets);
    let specs: Vec<MetricSpec> = rollout
        .guardrails
        .guards
        .iter()
        .map(|g| MetricSpec::from_ir(&g.metric, false))
        .collect();
    let key = exposure_key(&rollout.flag, &rollout.rule, stage + 1);
    let aggregates = store.aggregate(&key, &specs)?;
    let side_totals = |variant: &str| {
        aggregates
            .variant_total(variant)
            .unwrap_or((0, vec![Sums::default(); specs.len()]))
    };
    let (units_old, sums_old) = side_totals(OLD);
    let (units_new, sums_new) = side_totals(NEW);
    let share_new = f64::from(buckets) / f64::from(ir::bucket::BUCKETS);
    let weights = [1.0 - share_new, share_new];
    let srm = stats::srm_p_value(&[units_old as f64, units_new as f64], &weights)
        .ok()
        .filter(|_| units_old + units_new > 0)
        .map(|p| Srm {
            p_value: p,
            flagged: p < stats::SRM_THRESHOLD,
        });
    let alpha = rollout.alpha_per_test(options.alpha);
    let guards = rollout
        .guardrails
        .guards
        .iter()
        .zip(&specs)
        .zip(sums_old.into_iter().zip(sums_new))
        .map(|((guard, spec), (old, new))| {
            let arms = [
                (OLD.to_string(), units_old, old),
                (NEW.to_string(), units_new, new),
            ];
            let result = analyse_metric(spec, &arms, &weights, alpha, Some(options.tuning));
            let comparison = result.comparisons.first();
            let harmful_up = guard.metric.goal == ir::Goal::Decrease;
            let threshold = guard.metric.threshold.unwrap_or(0.0);
            // "No harm" is the same hypothesis on either scale; the
            // absolute difference is tested because its variance needs no
            // delta method (more power at large effects, and it is what
            // `W0009` sizes stages for).
            let p_harm = comparison.map(|c| {
                stats::one_sided_p_value(
                    &c.absolute,
                    (units_old + units_new) as f64,
                    harmful_up,
                    alpha,
                    options.tuning,
                )
            });
            let state = match (comparison, p_harm) {
                _ if units_old < 2 || units_new < 2 => GuardState::Waiting,
                (Some(c), Some(p)) => guard_state(&c.relative, harmful_up, threshold, p, alpha),
                _ => GuardState::Waiting,
            };
            GuardCheck {
                name: guard.metric.name.clone(),
                action: guard.action.as_str(),
                harmful: match guard.metric.goal {
                    ir::Goal::Increase => "decrease",
                    ir::Goal::Decrease => "increase",
                },
                threshold,
                old_value: result.control_value,
                new_value: comparison.map(|c| c.value),
                relative: comparison.map(|c| c.relative),
                p_harm,
                alpha,
                state,
                error: result.error.clone(),
            }
        })
        .collect();
    let min = rollout.guardrails.min_sample.unwrap_or(0);
    Ok(StageCheck {
        stage: stage + 1,
        percent: ir::bucket::buckets_to_percent(buckets),
        units_new,
        units_old,
        srm,
        guards,
        enough_sample: units_new >= min && units_old >= min,
    })
}

/// Where a guardrail stands: breached on significant harm (`p_harm` below
/// `alpha`); otherwise at risk while the always-valid interval reaches the
/// threshold on the harmful side, ok once it rules that out.
fn guard_state(
    relative: &stats::Estimate,
    harmful_up: bool,
    threshold: f64,
    p_harm: f64,
    alpha: f64,
) -> GuardState {
    let worst = if harmful_up {
        relative.ci_upper
    } else {
        -relative.ci_lower
    };
    if p_harm < alpha {
        GuardState::Breached
    } else if worst >= threshold {
        GuardState::AtRisk
    } else {
        GuardState::Ok
    }
}
