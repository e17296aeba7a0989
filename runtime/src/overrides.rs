//! Overrides: per-flag replacements of a version's compiled behaviour, set
//! at run time (a kill switch, a forced value, a rollout pinned to another
//! percentage, an experiment's enrolment stopped) without recompiling the
//! flags. An [`Overrides`] table is resolved against one snapshot's bundle
//! once; evaluation then checks one slot per target before the compiled
//! code, and a target without an override pays nothing else.
//!
//! Prerequisites see overrides: a flag that requires an overridden flag
//! (directly or through others) is evaluated on the interpreter over the
//! bundle with every override written into it (an off flag disabled, a
//! forced value made its only outcome, a pinned rollout re-lowered), so it
//! falls through exactly as it would if git said so. The compiled code of
//! every other flag is untouched.

use std::sync::Arc;

use vexil_ir::bucket::BUCKETS;
use vexil_ir::{Bundle, FlagValue, Reason, RuleResult, ValidBundle, ValueType};

use crate::backend::Backend;
use crate::context::Context;
use crate::interp::Interpreter;
use crate::outcome::Outcome;
use crate::snapshot::Target;

/// What an override does.
#[derive(Clone, Debug, PartialEq)]
pub enum OverrideAction {
    /// A flag serves its default, reason `DISABLED`; an experiment serves
    /// its control to everyone, reason `DISABLED`, and records no exposure.
    Off,
    /// A flag serves this value to everyone (JSON of the flag's type).
    Value(serde_json::Value),
    /// A flag or experiment serves this named variant to everyone.
    Variant(String),
    /// The flag's rollout rule of this name serves this percentage of
    /// units (0 to 100, in steps of 0.001): the same buckets, so raising it
    /// only adds units.
    Rollout {
        /// The rule's name.
        rule: String,
        /// The percentage.
        percent: f64,
    },
    /// An experiment enrols nobody: the control for everyone, reason
    /// `DEFAULT`, no exposures.
    StopEnrolment,
}

/// One override, as a service's store holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct OverrideSpec {
    /// The flag or experiment.
    pub target: String,
    /// What it does.
    pub action: OverrideAction,
    /// Who set it, why, and since when: the evaluation details carry these.
    pub info: OverrideInfo,
}

/// Who set an override, why and when: evaluation details carry it, so that
/// nobody debugs a rule that is not in charge.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OverrideInfo {
    /// Who set it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When, in RFC 3339.
    pub since: String,
}

/// An override that does not apply to this version: its flag, variant or
/// rule is not there (a later version removed it), or it does not fit.
/// Reported, never applied to something else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverrideProblem {
    /// The flag or experiment it names.
    pub target: String,
    /// Why it does not apply, in a sentence.
    pub message: String,
}

/// An override resolved against one bundle, or a flag that requires an
/// overridden one (`info` is `None`: no override of its own, its details
/// name none).
pub(crate) struct Applied {
    pub info: Option<OverrideInfo>,
    pub how: How,
}

pub(crate) enum How {
    /// The same value for every context: an index into the flag's values
    /// (or, one past them, `extra`) or the experiment's variants.
    Fixed {
        value: u32,
        reason: Reason,
        extra: Option<FlagValue>,
    },
    /// The flag lowered again with a rule's new percentage, interpreted.
    Relowered(Arc<Interpreter>),
}

/// Every override of one snapshot, one slot per flag and experiment.
pub struct Overrides {
    /// Flags first, then experiments, in bundle order.
    slots: Box<[Option<Applied>]>,
    flags: usize,
    problems: Vec<OverrideProblem>,
    count: usize,
}

impl Overrides {
    /// Resolve `specs` against `bundle`; those that do not apply are
    /// reported in [`problems`](Overrides::problems) and left out.
    pub(crate) fn resolve(
        bundle: &ValidBundle,
        find: impl Fn(&str) -> Option<Target>,
        specs: &[OverrideSpec],
    ) -> Overrides {
        let flags = bundle.flags.len();
        let mut slots: Vec<Option<Applied>> = Vec::new();
        slots.resize_with(flags + bundle.experiments.len(), || None);
        let mut problems = Vec::new();
        let mut count = 0;
        // The applied specs' flags, to write them into the bundle that
        // their dependents are evaluated over.
        let mut applied_flags: Vec<(u32, &OverrideSpec)> = Vec::new();
        for spec in specs {
            match apply(bundle, &find, spec) {
                Ok((target, how)) => {
                    let index = match target {
                        Target::Flag(i) => i as usize,
                        Target::Experiment(i) => flags + i as usize,
                    };
                    if let Some(slot) = slots.get_mut(index) {
                        if slot.is_none() {
                            count += 1;
                        }
                        *slot = Some(Applied {
                            info: Some(spec.info.clone()),
                            how,
                        });
                        if let Target::Flag(i) = target {
                            applied_flags.retain(|(f, _)| *f != i);
                            applied_flags.push((i, spec));
                        }
                    }
                }
                Err(message) => problems.push(OverrideProblem {
                    target: spec.target.clone(),
                    message,
                }),
            }
        }
        reroute_dependents(bundle, &applied_flags, &mut slots, &mut problems);
        Overrides {
            slots: slots.into(),
            flags,
            problems,
            count,
        }
    }

    /// The overrides that did not apply to this version, and why.
    pub fn problems(&self) -> &[OverrideProblem] {
        &self.problems
    }

    /// How many overrides apply (flags that only require an overridden
    /// flag are not counted).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none applies.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    #[inline]
    pub(crate) fn get(&self, target: Target) -> Option<&Applied> {
        let index = match target {
            Target::Flag(i) => i as usize,
            Target::Experiment(i) => self.flags + i as usize,
        };
        self.slots.get(index)?.as_ref()
    }
}

impl Applied {
    /// The outcome for `ctx`, as a backend would give it.
    pub(crate) fn outcome(&self, target: Target, ctx: &Context, now: i64) -> Outcome {
        match (&self.how, target) {
            (How::Fixed { value, reason, .. }, _) => Outcome::new(*value, *reason),
            (How::Relowered(interp), Target::Flag(i)) => interp.flag(i, ctx, now),
            (How::Relowered(interp), Target::Experiment(i)) => interp.experiment(i, ctx, now),
        }
    }

    /// The value one past the flag's own, when the override serves one
    /// that the flag does not.
    pub(crate) fn extra(&self) -> Option<&FlagValue> {
        match &self.how {
            How::Fixed { extra, .. } => extra.as_ref(),
            How::Relowered(_) => None,
        }
    }

    /// The index every context gets, when it does not depend on the context.
    pub(crate) fn fixed(&self) -> Option<u32> {
        match &self.how {
            How::Fixed { value, .. } => Some(*value),
            How::Relowered(_) => None,
        }
    }
}

/// Route every flag that requires an overridden flag, directly or through
/// others, and every pinned rollout, through one interpreter over the
/// bundle with the overrides written in, so that prerequisites see them.
/// Flags that require no overridden flag keep their compiled code.
fn reroute_dependents(
    bundle: &ValidBundle,
    applied: &[(u32, &OverrideSpec)],
    slots: &mut [Option<Applied>],
    problems: &mut Vec<OverrideProblem>,
) {
    // Prerequisites refer only backwards (validation), so one pass in
    // bundle order finds every flag an override reaches.
    let mut reached = vec![false; bundle.flags.len()];
    for &(i, _) in applied {
        if let Some(r) = reached.get_mut(i as usize) {
            *r = true;
        }
    }
    let mut dependents = Vec::new();
    for (i, flag) in bundle.flags.iter().enumerate() {
        if reached.get(i).copied().unwrap_or(false) {
            continue;
        }
        if flag
            .prerequisites
            .iter()
            .any(|p| reached.get(p.flag as usize).copied().unwrap_or(false))
        {
            if let Some(r) = reached.get_mut(i) {
                *r = true;
            }
            dependents.push(i);
        }
    }
    let pinned = applied
        .iter()
        .any(|(_, spec)| matches!(spec.action, OverrideAction::Rollout { .. }));
    if dependents.is_empty() && !pinned {
        return;
    }
    let mut written: Bundle = bundle.clone().into_inner();
    for &(i, spec) in applied {
        let Some(flag) = written.flags.get_mut(i as usize) else {
            continue;
        };
        write_override(flag, &spec.action);
    }
    let interp = match vexil_ir::validate(written) {
        Ok(valid) => Arc::new(Interpreter::new(&valid)),
        Err(e) => {
            // Each override validated alone; together they only simplify
            // flags, so this is a bug. Say so rather than serve dependents
            // that do not see the overrides without a word.
            for &(i, spec) in applied {
                problems.push(OverrideProblem {
                    target: spec.target.clone(),
                    message: format!(
                        "flags that require `{}` do not see this override: the bundle with it written in does not validate: {e}",
                        bundle.flags.get(i as usize).map_or("", |f| f.name.as_str())
                    ),
                });
            }
            return;
        }
    };
    for &(i, _) in applied {
        if let Some(Some(a)) = slots.get_mut(i as usize) {
            if let How::Relowered(own) = &mut a.how {
                *own = Arc::clone(&interp);
            }
        }
    }
    for i in dependents {
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(Applied {
                info: None,
                how: How::Relowered(Arc::clone(&interp)),
            });
        }
    }
}

/// `flag` rewritten to do what `action` (already checked against it) makes
/// it serve.
fn write_override(flag: &mut vexil_ir::Flag, action: &OverrideAction) {
    let only = |flag: &mut vexil_ir::Flag, value: u32| {
        flag.enabled = true;
        flag.enabled_when = None;
        flag.default = value;
        flag.prerequisites.clear();
        flag.rules.clear();
    };
    match action {
        OverrideAction::Off => flag.enabled = false,
        OverrideAction::Value(json) => {
            let Some(value) = typed(json, flag.value_type) else {
                return;
            };
            let at = match flag.values.iter().position(|v| v.value == value) {
                Some(at) => at,
                None => {
                    flag.values.push(vexil_ir::ServedValue {
                        value,
                        variant: None,
                    });
                    flag.values.len() - 1
                }
            };
            only(flag, at as u32);
        }
        OverrideAction::Variant(variant) => {
            if let Some(at) = flag
                .values
                .iter()
                .position(|v| v.variant.as_deref() == Some(variant.as_str()))
            {
                only(flag, at as u32);
            }
        }
        OverrideAction::Rollout { rule, percent } => {
            let buckets = rollout_buckets(*percent);
            if let Some(r) = flag
                .rules
                .iter_mut()
                .find(|r| r.name.as_deref() == Some(rule.as_str()))
            {
                pin(&mut r.result, buckets);
            }
        }
        OverrideAction::StopEnrolment => {}
    }
}

/// Check `spec` against `bundle`: how it applies, or why it does not.
fn apply(
    bundle: &ValidBundle,
    find: &impl Fn(&str) -> Option<Target>,
    spec: &OverrideSpec,
) -> Result<(Target, How), String> {
    let name = &spec.target;
    let target = find(name)
        .ok_or_else(|| format!("no flag or experiment named `{name}` in this version"))?;
    let fixed = |value: u32, reason: Reason| How::Fixed {
        value,
        reason,
        extra: None,
    };
    let how = match (target, &spec.action) {
        (Target::Flag(i), action) => {
            let flag = bundle
                .flags
                .get(i as usize)
                .ok_or_else(|| format!("no flag named `{name}`"))?;
            match action {
                OverrideAction::Off => fixed(flag.default, Reason::Disabled),
                OverrideAction::Value(json) => {
                    let value = typed(json, flag.value_type).ok_or_else(|| {
                        format!(
                            "`{name}` serves {} values; `{json}` is not one",
                            flag.value_type.as_str()
                        )
                    })?;
                    match flag.values.iter().position(|v| v.value == value) {
                        Some(at) => fixed(at as u32, Reason::Static),
                        None => How::Fixed {
                            value: flag.values.len() as u32,
                            reason: Reason::Static,
                            extra: Some(value),
                        },
                    }
                }
                OverrideAction::Variant(variant) => {
                    let at = flag
                        .values
                        .iter()
                        .position(|v| v.variant.as_deref() == Some(variant.as_str()))
                        .ok_or_else(|| {
                            let known: Vec<_> =
                                flag.values.iter().filter_map(|v| v.variant.as_deref()).collect();
                            format!(
                                "`{name}` has no variant `{variant}` (its variants: {})",
                                list(&known)
                            )
                        })?;
                    fixed(at as u32, Reason::Static)
                }
                OverrideAction::Rollout { rule, percent } => {
                    How::Relowered(Arc::new(relower(bundle, i, rule, *percent)?))
                }
                OverrideAction::StopEnrolment => {
                    return Err(format!(
                        "`{name}` is a flag, not an experiment: only an experiment's enrolment can be stopped (switch the flag off instead)"
                    ))
                }
            }
        }
        (Target::Experiment(i), action) => {
            let x = bundle
                .experiments
                .get(i as usize)
                .ok_or_else(|| format!("no experiment named `{name}`"))?;
            match action {
                OverrideAction::Off => fixed(x.control, Reason::Disabled),
                OverrideAction::StopEnrolment => fixed(x.control, Reason::Default),
                OverrideAction::Variant(variant) => {
                    let at = x
                        .variants
                        .iter()
                        .position(|v| &v.name == variant)
                        .ok_or_else(|| {
                            let known: Vec<_> = x.variants.iter().map(|v| v.name.as_str()).collect();
                            format!(
                                "`{name}` has no variant `{variant}` (its variants: {})",
                                list(&known)
                            )
                        })?;
                    fixed(at as u32, Reason::Static)
                }
                OverrideAction::Value(_) => {
                    return Err(format!(
                        "`{name}` is an experiment: force one of its variants by name instead of a value"
                    ))
                }
                OverrideAction::Rollout { .. } => {
                    return Err(format!(
                        "`{name}` is an experiment: it has no rollout rules (stop its enrolment instead)"
                    ))
                }
            }
        }
    };
    Ok((target, how))
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A JSON value as a value of type `ty`, if it is one.
fn typed(json: &serde_json::Value, ty: ValueType) -> Option<FlagValue> {
    match ty {
        ValueType::Bool => json.as_bool().map(FlagValue::Bool),
        ValueType::Int => json.as_i64().map(FlagValue::Int),
        ValueType::Float => json.as_f64().map(FlagValue::Float),
        ValueType::String => json.as_str().map(|s| FlagValue::String(s.to_string())),
        ValueType::Json => Some(FlagValue::Json(json.clone())),
    }
}

/// The bundle with flag `flag`'s rollout rule `rule` at `percent`, on the
/// interpreter: only that flag is evaluated through it.
fn relower(
    bundle: &ValidBundle,
    flag: u32,
    rule: &str,
    percent: f64,
) -> Result<Interpreter, String> {
    if !(0.0..=100.0).contains(&percent) || percent.is_nan() {
        return Err(format!(
            "a rollout's percentage is between 0 and 100; `{percent}` is not"
        ));
    }
    let buckets = rollout_buckets(percent);
    let mut changed: Bundle = bundle.clone().into_inner();
    let name = changed
        .flags
        .get(flag as usize)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let found = changed
        .flags
        .get_mut(flag as usize)
        .and_then(|f| f.rules.iter_mut().find(|r| r.name.as_deref() == Some(rule)));
    let Some(found) = found else {
        let names: Vec<String> = bundle
            .flags
            .get(flag as usize)
            .map(|f| f.rules.iter().filter_map(|r| r.name.clone()).collect())
            .unwrap_or_default();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return Err(format!(
            "`{name}` has no rule named `{rule}` (its named rules: {})",
            list(&names)
        ));
    };
    if !pin(&mut found.result, buckets) {
        return Err(format!(
            "rule `{rule}` of `{name}` is not a percentage rollout (`N% by ..`)"
        ));
    }
    let valid = vexil_ir::validate(changed)
        .map_err(|e| format!("the flag with the new percentage does not validate: {e}"))?;
    Ok(Interpreter::new(&valid))
}

/// Pin a rollout rule's share at `buckets`; false if it is not a rollout.
/// A staged rollout stops following its stages and holds the pinned share,
/// with the same bucket cut.
fn pin(result: &mut RuleResult, buckets: u32) -> bool {
    match result {
        RuleResult::Rollout { buckets: b, .. } => *b = buckets,
        RuleResult::Staged {
            bucketing, value, ..
        } => {
            *result = RuleResult::Rollout {
                bucketing: bucketing.clone(),
                buckets,
                value: *value,
            }
        }
        _ => return false,
    }
    true
}

/// A rollout's bucket count for `percent` (checked to be 0 to 100).
fn rollout_buckets(percent: f64) -> u32 {
    (percent * f64::from(BUCKETS) / 100.0).round() as u32
}
