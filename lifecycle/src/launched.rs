//! Whether a flag serves one value to every unit: fully launched (a rollout
//! at 100%, a split with one arm at 100%, a rule that always matches), or
//! switched off. Read from the checked program, so "always" is exact: a
//! rule with a condition, a time window or a rollout below 100% may let
//! some units through to what follows, and then the flag is not constant.

use vexil_ir::bucket::BUCKETS;
use vexil_ir::{Expr, Flag, RuleResult, ValueId};

/// Why a flag serves one value to everyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constant {
    /// `enabled false`: the default, always.
    Off,
    /// No rules and no prerequisites: the default, always.
    NoRules,
    /// The rules and the default reachable all serve this value; the rule
    /// that ends the search (by number, from 1), if one always matches.
    Launched {
        /// The rule that always matches, counted from 1.
        rule: Option<usize>,
    },
}

/// The one value a flag serves to everyone, with why; `None` when units
/// can get different values.
pub fn constant_value(flag: &Flag) -> Option<(ValueId, Constant)> {
    if !flag.enabled {
        return Some((flag.default, Constant::Off));
    }
    if flag.rules.is_empty() && flag.prerequisites.is_empty() {
        return Some((flag.default, Constant::NoRules));
    }
    let mut served: Option<ValueId> = None;
    let mut same = |v: ValueId| match served {
        None => {
            served = Some(v);
            true
        }
        Some(s) => s == v,
    };
    // A prerequisite or a switch that does not hold serves the default.
    if !flag.prerequisites.is_empty() || flag.enabled_when.is_some() {
        same(flag.default);
    }
    for (i, rule) in flag.rules.iter().enumerate() {
        let always = rule.condition == Expr::Const(true);
        if rule.condition == Expr::Const(false) {
            continue;
        }
        let (value, covers_all) = match &rule.result {
            RuleResult::Serve(v) => (*v, always),
            RuleResult::Rollout { buckets, value, .. } => (*value, always && *buckets >= BUCKETS),
            // Its share depends on the time: taken as letting some units
            // through, whatever stage is in force.
            RuleResult::Staged { value, .. } => (*value, false),
            RuleResult::Split { arms, .. } => {
                // Arms with no buckets serve no one.
                let mut live = arms
                    .iter()
                    .scan(0u32, |lower, arm| {
                        let width = arm.upper.saturating_sub(*lower);
                        *lower = arm.upper;
                        Some((width, arm.value))
                    })
                    .filter(|(width, _)| *width > 0);
                let first = live.next()?;
                if live.any(|(_, v)| v != first.1) {
                    return None;
                }
                (first.1, always)
            }
        };
        if !same(value) {
            return None;
        }
        if covers_all {
            return served.map(|v| (v, Constant::Launched { rule: Some(i + 1) }));
        }
    }
    if !same(flag.default) {
        return None;
    }
    served.map(|v| (v, Constant::Launched { rule: None }))
}
