//! The reference interpreter: the semantics every backend must match.
//!
//! Conditions are three-valued (see LANGUAGE.md, "Missing values"), plus an
//! error state for a field of the wrong type that is actually read. `and`
//! and `or` evaluate left to right and stop as soon as the result is known;
//! an error stops evaluation at once.

mod explain;
mod prepare;

use std::cmp::Ordering;

use vexil_ir::bucket::{IntText, BUCKETS};
use vexil_ir::{
    ErrorCode, FlagValue, OperandType, PrerequisiteValue, Reason, StringOp, ValidBundle,
};

use crate::backend::Backend;
use crate::context::{Context, PackedSemver, Slot, INVALID, MISSING};
use crate::outcome::Outcome;
pub use explain::{ExplainStep, Explanation};
use prepare::*;
pub use prepare::{prepare, Program};

/// Condition values. `Error` carries nothing: the slot that caused it is
/// kept in [`Scratch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    False,
    True,
    Unknown,
    Error,
}

impl Tri {
    #[inline]
    fn from(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

/// Per-evaluation state.
struct Scratch {
    /// The slot whose invalid value stopped evaluation.
    error_slot: u32,
}

/// The interpreter backend over a prepared program.
pub struct Interpreter {
    program: Program,
    /// Values served, per flag, to compare prerequisites.
    flag_values: Vec<Vec<(FlagValue, Option<String>)>>,
}

/// How deep prerequisites may chain before evaluation gives up.
pub const MAX_PREREQUISITE_DEPTH: u32 = 64;

impl Interpreter {
    /// Prepare `bundle`: a valid bundle always prepares.
    pub fn new(bundle: &ValidBundle) -> Interpreter {
        Interpreter {
            program: prepare(bundle),
            flag_values: bundle
                .flags
                .iter()
                .map(|f| {
                    f.values
                        .iter()
                        .map(|v| (v.value.clone(), v.variant.clone()))
                        .collect()
                })
                .collect(),
        }
    }

    fn flag_at(&self, index: u32, ctx: &Context, now: i64, depth: u32) -> Outcome {
        let Some(flag) = self.program.flags.get(index as usize) else {
            return Outcome::error(0, ErrorCode::FlagNotFound, None);
        };
        if !flag.enabled {
            return Outcome::new(flag.default, Reason::Disabled);
        }
        let mut scratch = Scratch {
            error_slot: u32::MAX,
        };
        if let Some(switch) = &flag.switch {
            match self.eval(switch, ctx, now, &mut scratch) {
                Tri::True => {}
                Tri::Error => {
                    return Outcome::error(
                        flag.default,
                        ErrorCode::InvalidContext,
                        Some(scratch.error_slot),
                    )
                }
                Tri::False | Tri::Unknown => return Outcome::new(flag.default, Reason::Disabled),
            }
        }
        for p in flag.prerequisites.iter() {
            if depth >= MAX_PREREQUISITE_DEPTH {
                return Outcome::error(flag.default, ErrorCode::General, None);
            }
            let got = self.flag_at(p.flag, ctx, now, depth + 1);
            if let Some(code) = got.error {
                return Outcome {
                    detail: got.detail,
                    ..Outcome::error(flag.default, code, None)
                };
            }
            let served = self
                .flag_values
                .get(p.flag as usize)
                .and_then(|vs| vs.get(got.value as usize));
            let equal = match (&p.expect, served) {
                (PrerequisiteValue::Value(v), Some((value, _))) => value == v,
                (PrerequisiteValue::Variant(name), Some((_, variant))) => {
                    variant.as_deref() == Some(name.as_str())
                }
                (_, None) => false,
            };
            if equal == p.negated {
                return Outcome {
                    detail: Some(p.flag),
                    ..Outcome::new(flag.default, Reason::Default)
                };
            }
        }
        for (i, rule) in flag.rules.iter().enumerate() {
            match self.eval(&rule.condition, ctx, now, &mut scratch) {
                Tri::True => {}
                Tri::Error => {
                    return Outcome::error(
                        flag.default,
                        ErrorCode::InvalidContext,
                        Some(scratch.error_slot),
                    )
                }
                Tri::False | Tri::Unknown => continue,
            }
            let rule_index = Some(i as u32);
            match &rule.result {
                PResult::Serve(v) => {
                    return Outcome {
                        rule: rule_index,
                        ..Outcome::new(*v, Reason::TargetingMatch)
                    }
                }
                PResult::Rollout(b, buckets, v) => match self.bucket(b, ctx) {
                    Ok(bucket) if bucket < *buckets => {
                        return Outcome {
                            rule: rule_index,
                            ..Outcome::new(*v, Reason::Split)
                        }
                    }
                    Ok(_) => continue,
                    Err(e) => return Outcome::error(flag.default, e, Some(b.unit)),
                },
                PResult::Staged(b, stages, v) => match self.bucket(b, ctx) {
                    Ok(bucket) if bucket < vexil_ir::staged_buckets(stages, now) => {
                        return Outcome {
                            rule: rule_index,
                            ..Outcome::new(*v, Reason::Split)
                        }
                    }
                    Ok(_) => continue,
                    Err(e) => return Outcome::error(flag.default, e, Some(b.unit)),
                },
                PResult::Split(b, arms) => match self.bucket(b, ctx) {
                    Ok(bucket) => {
                        let value = arms
                            .iter()
                            .find(|(upper, _)| bucket < *upper)
                            .map_or(flag.default, |(_, v)| *v);
                        return Outcome {
                            rule: rule_index,
                            ..Outcome::new(value, Reason::Split)
                        };
                    }
                    Err(e) => return Outcome::error(flag.default, e, Some(b.unit)),
                },
            }
        }
        let reason = if flag.rules.is_empty() && flag.prerequisites.is_empty() {
            Reason::Static
        } else {
            Reason::Default
        };
        Outcome::new(flag.default, reason)
    }

    /// The unit's bucket, or the error that prevents bucketing.
    fn bucket(&self, b: &PBucketing, ctx: &Context) -> Result<u32, ErrorCode> {
        let s = ctx.slot(b.unit);
        match s.tag {
            MISSING => return Err(ErrorCode::TargetingKeyMissing),
            INVALID => return Err(ErrorCode::InvalidContext),
            _ => {}
        }
        let mut h = b.prefix.clone();
        if self
            .program
            .int_slots
            .get(b.unit as usize)
            .copied()
            .unwrap_or(false)
        {
            h.write(IntText::new(s.a as i64).as_bytes());
        } else {
            h.write(ctx.str_of(s).as_bytes());
        }
        Ok(h.finish() % BUCKETS)
    }

    fn eval(&self, e: &PExpr, ctx: &Context, now: i64, scratch: &mut Scratch) -> Tri {
        match e {
            PExpr::Const(b) => Tri::from(*b),
            PExpr::And(xs) => {
                let mut result = Tri::True;
                for x in xs.iter() {
                    match self.eval(x, ctx, now, scratch) {
                        Tri::False => return Tri::False,
                        Tri::Error => return Tri::Error,
                        Tri::Unknown => result = Tri::Unknown,
                        Tri::True => {}
                    }
                }
                result
            }
            PExpr::Or(xs) => {
                let mut result = Tri::False;
                for x in xs.iter() {
                    match self.eval(x, ctx, now, scratch) {
                        Tri::True => return Tri::True,
                        Tri::Error => return Tri::Error,
                        Tri::Unknown => result = Tri::Unknown,
                        Tri::False => {}
                    }
                }
                result
            }
            PExpr::Not(x) => match self.eval(x, ctx, now, scratch) {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                other => other,
            },
            PExpr::Segment(i) => match self.program.segments.get(*i as usize) {
                Some(seg) => self.eval(seg, ctx, now, scratch),
                None => Tri::Unknown,
            },
            PExpr::IsSet(slot) => match ctx.slot(*slot).tag {
                MISSING => Tri::False,
                INVALID => {
                    scratch.error_slot = *slot;
                    Tri::Error
                }
                _ => Tri::True,
            },
            PExpr::Bool(slot) => self.read(ctx, now, &Src::Field(*slot), scratch, |s| {
                Tri::from(s.a != 0)
            }),
            PExpr::Int(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds((s.a as i64).cmp(k)))
            }),
            PExpr::IntAsFloat(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds(fcmp(s.a as i64 as f64, *k)))
            }),
            PExpr::Float(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds(fcmp(f64::from_bits(s.a), *k)))
            }),
            PExpr::Time(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds((s.a as i64).cmp(k)))
            }),
            PExpr::Enum(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds((s.a as u32).cmp(k)))
            }),
            PExpr::BoolCmp(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds((s.a != 0).cmp(k)))
            }),
            PExpr::Str(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds(ctx.str_of(s).cmp(k)))
            }),
            PExpr::Semver(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds(semver_cmp(ctx, s, k)))
            }),
            PExpr::Ip(src, op, k) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(op.holds((s.a, s.b).cmp(k)))
            }),
            PExpr::InCidr(src, ranges) => self.read(ctx, now, src, scratch, |s| {
                let ip = vexil_ir::ip::Ip::from_words(s.a, s.b).0;
                Tri::from(ranges.iter().any(|(mask, net)| ip & mask == *net))
            }),
            PExpr::Fields(a, op, b, ty, ints) => {
                let sa = match self.operand(ctx, now, a, scratch) {
                    Ok(s) => s,
                    Err(t) => return t,
                };
                let sb = match self.operand(ctx, now, b, scratch) {
                    Ok(s) => s,
                    Err(t) => return t,
                };
                let ord = match ty {
                    OperandType::Float => fcmp(as_float(sa, ints[0]), as_float(sb, ints[1])),
                    other => slots_cmp(ctx, *other, sa, sb),
                };
                Tri::from(op.holds(ord))
            }
            PExpr::InStr(src, set) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(set.contains(ctx.str_of(s)))
            }),
            PExpr::InInt(src, set) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(set.contains(&(s.a as i64)))
            }),
            PExpr::InTime(src, set) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(set.contains(&(s.a as i64)))
            }),
            PExpr::InFloat(src, set) => self.read(ctx, now, src, scratch, |s| {
                let v = f64::from_bits(s.a);
                Tri::from(set.contains(&v))
            }),
            PExpr::InEnum(src, mask) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(mask.get(s.a as usize).copied().unwrap_or(false))
            }),
            PExpr::InBool(src, has) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(has[usize::from(s.a != 0)])
            }),
            PExpr::InSemver(src, set) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(set.iter().any(|k| semver_cmp(ctx, s, k) == Ordering::Equal))
            }),
            PExpr::ListContains(list, value) => self.list_contains(ctx, now, *list, value, scratch),
            PExpr::ListSet(list, set, all) => {
                self.read(ctx, now, &Src::Field(*list), scratch, |l| {
                    let items = ctx.items(l);
                    Tri::from(if *all {
                        set.all(ctx, items)
                    } else {
                        set.any(ctx, items)
                    })
                })
            }
            PExpr::StrOp { lhs, op, ci, rhs } => {
                let a = match self.str_operand(ctx, lhs, scratch) {
                    Ok(s) => s,
                    Err(t) => return t,
                };
                let b = match self.str_operand(ctx, rhs, scratch) {
                    Ok(s) => s,
                    Err(t) => return t,
                };
                Tri::from(string_op(*op, *ci, a, b, matches!(rhs, StrSrc::Const(_))))
            }
            PExpr::Regex(src, re) => self.read(ctx, now, src, scratch, |s| {
                Tri::from(re.is_match(ctx.str_of(s)))
            }),
            PExpr::Unknown => Tri::Unknown,
        }
    }

    /// Read an operand and apply `f` to its slot, or give the missing /
    /// invalid result.
    #[inline]
    fn read(
        &self,
        ctx: &Context,
        now: i64,
        src: &Src,
        scratch: &mut Scratch,
        f: impl FnOnce(Slot) -> Tri,
    ) -> Tri {
        match self.operand(ctx, now, src, scratch) {
            Ok(s) => f(s),
            Err(t) => t,
        }
    }

    #[inline]
    fn operand(
        &self,
        ctx: &Context,
        now: i64,
        src: &Src,
        scratch: &mut Scratch,
    ) -> Result<Slot, Tri> {
        match src {
            Src::Now(offset) => Ok(Slot {
                tag: 1,
                aux: 0,
                a: now.saturating_add(*offset) as u64,
                b: 0,
            }),
            Src::Field(slot) => {
                let s = ctx.slot(*slot);
                match s.tag {
                    MISSING => Err(Tri::Unknown),
                    INVALID => {
                        scratch.error_slot = *slot;
                        Err(Tri::Error)
                    }
                    _ => Ok(s),
                }
            }
        }
    }

    fn str_operand<'c>(
        &self,
        ctx: &'c Context,
        src: &'c StrSrc,
        scratch: &mut Scratch,
    ) -> Result<&'c str, Tri> {
        match src {
            StrSrc::Const(k) => Ok(k),
            StrSrc::Field(slot) => {
                let s = ctx.slot(*slot);
                match s.tag {
                    MISSING => Err(Tri::Unknown),
                    INVALID => {
                        scratch.error_slot = *slot;
                        Err(Tri::Error)
                    }
                    _ => Ok(ctx.str_of(s)),
                }
            }
        }
    }

    fn list_contains(
        &self,
        ctx: &Context,
        now: i64,
        list: u32,
        value: &ListValue,
        scratch: &mut Scratch,
    ) -> Tri {
        let l = match self.operand(ctx, now, &Src::Field(list), scratch) {
            Ok(s) => s,
            Err(t) => return t,
        };
        let items = ctx.items(l);
        match value {
            ListValue::Str(k) => Tri::from(items.iter().any(|i| ctx.str_of(*i) == &**k)),
            ListValue::Int(k) | ListValue::Time(k) => {
                Tri::from(items.iter().any(|i| i.a as i64 == *k))
            }
            ListValue::Float(k) => Tri::from(items.iter().any(|i| f64::from_bits(i.a) == *k)),
            ListValue::Enum(k) => Tri::from(items.iter().any(|i| i.a == u64::from(*k))),
            ListValue::Bool(k) => Tri::from(items.iter().any(|i| (i.a != 0) == *k)),
            ListValue::Semver(k) => Tri::from(
                items
                    .iter()
                    .any(|i| semver_cmp(ctx, *i, k) == Ordering::Equal),
            ),
            ListValue::Now(offset) => {
                let t = now.saturating_add(*offset);
                Tri::from(items.iter().any(|i| i.a as i64 == t))
            }
            ListValue::Field(slot, ty) => {
                let v = match self.operand(ctx, now, &Src::Field(*slot), scratch) {
                    Ok(s) => s,
                    Err(t) => return t,
                };
                Tri::from(
                    items
                        .iter()
                        .any(|i| slots_cmp(ctx, *ty, *i, v) == Ordering::Equal),
                )
            }
        }
    }
}

impl Backend for Interpreter {
    fn name(&self) -> &'static str {
        "interpreter"
    }

    #[inline]
    fn flag(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        match self.program.flags.get(index as usize).and_then(|f| f.fixed) {
            Some(fixed) => fixed,
            None => self.flag_at(index, ctx, now, 0),
        }
    }

    fn experiment(&self, index: u32, ctx: &Context, now: i64) -> Outcome {
        let Some(x) = self.program.experiments.get(index as usize) else {
            return Outcome::error(0, ErrorCode::FlagNotFound, None);
        };
        let control = Outcome::new(x.control, Reason::Default);
        if x.start.is_some_and(|s| now < s) || x.end.is_some_and(|e| now >= e) {
            return control;
        }
        let mut scratch = Scratch {
            error_slot: u32::MAX,
        };
        match self.eval(&x.audience, ctx, now, &mut scratch) {
            Tri::True => {}
            Tri::Error => {
                return Outcome::error(
                    x.control,
                    ErrorCode::InvalidContext,
                    Some(scratch.error_slot),
                )
            }
            _ => return control,
        }
        let enrolment = match self.bucket(&x.enrolment, ctx) {
            Ok(b) => b,
            Err(e) => return Outcome::error(x.control, e, Some(x.enrolment.unit)),
        };
        if enrolment < x.range.0 || enrolment >= x.range.1 {
            return control;
        }
        let bucket = match self.bucket(&x.variant, ctx) {
            Ok(b) => b,
            Err(e) => return Outcome::error(x.control, e, Some(x.variant.unit)),
        };
        let variant = x
            .uppers
            .iter()
            .position(|&upper| bucket < upper)
            .map_or(x.control, |i| i as u32);
        Outcome::new(variant, Reason::Split)
    }
}

#[inline]
fn fcmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

fn as_float(s: Slot, is_int: bool) -> f64 {
    if is_int {
        s.a as i64 as f64
    } else {
        f64::from_bits(s.a)
    }
}

/// A context semver against a constant, by SemVer precedence.
fn semver_cmp(ctx: &Context, s: Slot, k: &PackedSemver) -> Ordering {
    (s.a, s.b)
        .cmp(&(k.hi, k.lo))
        .then_with(|| match (ctx.prerelease(s), &k.pre) {
            (Some(a), Some(b)) => a.cmp(b),
            _ => Ordering::Equal,
        })
}

/// Two present values of one type.
fn slots_cmp(ctx: &Context, ty: OperandType, a: Slot, b: Slot) -> Ordering {
    match ty {
        OperandType::Int | OperandType::Timestamp => (a.a as i64).cmp(&(b.a as i64)),
        OperandType::Float => fcmp(f64::from_bits(a.a), f64::from_bits(b.a)),
        OperandType::Bool | OperandType::Enum(_) => a.a.cmp(&b.a),
        OperandType::String => ctx.str_of(a).cmp(ctx.str_of(b)),
        OperandType::Semver => semver_slots_cmp(ctx, a, b),
        OperandType::Ip => (a.a, a.b).cmp(&(b.a, b.b)),
    }
}

fn semver_slots_cmp(ctx: &Context, a: Slot, b: Slot) -> Ordering {
    (a.a, a.b)
        .cmp(&(b.a, b.b))
        .then_with(|| match (ctx.prerelease(a), ctx.prerelease(b)) {
            (Some(x), Some(y)) => x.cmp(y),
            _ => Ordering::Equal,
        })
}

/// `a OP b`; with `ci`, `b` is already lower-cased when it is a constant.
/// Both backends use this one definition; it is written without indexing,
/// since compiled code calls it through a helper that must not panic.
pub(crate) fn string_op(op: StringOp, ci: bool, a: &str, b: &str, b_lowered: bool) -> bool {
    if !ci {
        return match op {
            StringOp::Equals => a == b,
            StringOp::StartsWith => a.starts_with(b),
            StringOp::EndsWith => a.ends_with(b),
            StringOp::Contains => a.contains(b),
            StringOp::Matches => false,
        };
    }
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        return match op {
            StringOp::Equals => a.eq_ignore_ascii_case(b),
            StringOp::StartsWith => a.get(..b.len()).is_some_and(|x| x.eq_ignore_ascii_case(b)),
            StringOp::EndsWith => a
                .len()
                .checked_sub(b.len())
                .and_then(|start| a.get(start..))
                .is_some_and(|x| x.eq_ignore_ascii_case(b)),
            StringOp::Contains => {
                b.is_empty() || a.windows(b.len()).any(|w| w.eq_ignore_ascii_case(b))
            }
            StringOp::Matches => false,
        };
    }
    let a = a.to_lowercase();
    let b = if b_lowered {
        b.to_string()
    } else {
        b.to_lowercase()
    };
    match op {
        StringOp::Equals => a == b,
        StringOp::StartsWith => a.starts_with(&b),
        StringOp::EndsWith => a.ends_with(&b),
        StringOp::Contains => a.contains(&b),
        StringOp::Matches => false,
    }
}
