//! The interpreter's program: the IR with every constant in the form the
//! context stores it, comparisons specialised by type, literal lists as
//! hash sets, regexes compiled, and bucketing salts pre-hashed. Built once
//! per load, so evaluation does no parsing and no allocation.
//!
//! Built from a [`ValidBundle`], so it refuses nothing: a shape validation
//! excludes (two constants compared, a version that does not pack, ...)
//! becomes [`PExpr::Unknown`], after a `debug_assert!` naming the rule.

use std::collections::HashSet;

use regex::Regex;
use rustc_hash::FxHashSet;
use vexil_ir::bucket::Murmur3;
use vexil_ir::{
    self as ir, CompareOp, Const, ConstSet, FieldType, Operand, OperandType, StringOp, ValidBundle,
};

use crate::context::PackedSemver;
use crate::list_set::ListSet;

/// A comparison's operands that are not a field against a constant.
#[derive(Debug)]
pub enum Src {
    Field(u32),
    /// The evaluation time, moved by this many microseconds (saturating).
    Now(i64),
}

#[derive(Debug)]
pub enum PExpr {
    Const(bool),
    And(Box<[PExpr]>),
    Or(Box<[PExpr]>),
    Not(Box<PExpr>),
    Bool(u32),
    IsSet(u32),
    /// Field (or now) against a constant, by type.
    Int(Src, CompareOp, i64),
    IntAsFloat(Src, CompareOp, f64),
    Float(Src, CompareOp, f64),
    Time(Src, CompareOp, i64),
    Enum(Src, CompareOp, u32),
    BoolCmp(Src, CompareOp, bool),
    Str(Src, CompareOp, Box<str>),
    Semver(Src, CompareOp, Box<PackedSemver>),
    /// An address (high and low words, as its slot holds them).
    Ip(Src, CompareOp, (u64, u64)),
    /// Two fields (or a field and now), at the type they compare at;
    /// `ints` says which sides are ints (read as floats when that type is
    /// float).
    Fields(Src, CompareOp, Src, OperandType, [bool; 2]),
    InStr(Src, StrSet),
    InInt(Src, FxHashSet<i64>),
    InFloat(Src, Box<[f64]>),
    InTime(Src, FxHashSet<i64>),
    InEnum(Src, Box<[bool]>),
    InBool(Src, [bool; 2]),
    InSemver(Src, Box<[PackedSemver]>),
    /// CIDR ranges as `(mask, net)` of 128 bits, `net` already masked.
    InCidr(Src, Box<[(u128, u128)]>),
    ListContains(u32, ListValue),
    /// `contains any` (`false`) or `contains all` (`true`).
    ListSet(u32, ListSet, bool),
    StrOp {
        lhs: StrSrc,
        op: StringOp,
        ci: bool,
        rhs: StrSrc,
    },
    Regex(Src, Regex),
    Segment(u32),
    /// A shape validation excludes: unknown, as an absent segment is.
    Unknown,
}

#[derive(Debug)]
pub enum StrSrc {
    Field(u32),
    /// A constant, lower-cased already when the operator ignores case.
    Const(Box<str>),
}

#[derive(Debug)]
pub enum ListValue {
    /// A field of the list's element type.
    Field(u32, OperandType),
    /// The evaluation time, moved by this many microseconds (saturating).
    Now(i64),
    Str(Box<str>),
    Int(i64),
    Float(f64),
    Time(i64),
    Enum(u32),
    Bool(bool),
    Semver(Box<PackedSemver>),
}

/// A set of strings: a short list is faster to scan than to hash.
#[derive(Debug)]
pub enum StrSet {
    Few(Box<[Box<str>]>),
    Many(HashSet<Box<str>, rustc_hash::FxBuildHasher>),
}

impl StrSet {
    fn new(items: &[String]) -> StrSet {
        if items.len() <= 8 {
            StrSet::Few(items.iter().map(|s| s.as_str().into()).collect())
        } else {
            StrSet::Many(items.iter().map(|s| s.as_str().into()).collect())
        }
    }

    #[inline]
    pub fn contains(&self, s: &str) -> bool {
        match self {
            StrSet::Few(items) => items.iter().any(|i| &**i == s),
            StrSet::Many(set) => set.contains(s),
        }
    }
}

/// Bucketing with the salt already hashed.
#[derive(Clone, Debug)]
pub struct PBucketing {
    pub unit: u32,
    pub prefix: Murmur3,
}

impl PBucketing {
    pub fn new(unit: u32, salt: &str) -> PBucketing {
        let mut prefix = Murmur3::new(0);
        prefix.write(salt.as_bytes());
        prefix.write(b":");
        PBucketing { unit, prefix }
    }
}

#[derive(Debug)]
pub enum PResult {
    Serve(u32),
    Rollout(PBucketing, u32, u32),
    /// A staged rollout: the stages (start, buckets) and the value.
    Staged(PBucketing, Box<[vexil_ir::Stage]>, u32),
    Split(PBucketing, Box<[(u32, u32)]>),
}

#[derive(Debug)]
pub struct PRule {
    pub condition: PExpr,
    pub result: PResult,
}

#[derive(Debug)]
pub struct PPrerequisite {
    pub flag: u32,
    pub negated: bool,
    pub expect: ir::PrerequisiteValue,
}

#[derive(Debug)]
pub struct PFlag {
    /// The outcome of a flag that cannot vary (switched off, or without
    /// rules and prerequisites), answered without entering the rule loop.
    pub fixed: Option<crate::outcome::Outcome>,
    pub enabled: bool,
    /// `enabled when`: unless true, the flag is off.
    pub switch: Option<PExpr>,
    pub default: u32,
    pub prerequisites: Box<[PPrerequisite]>,
    pub rules: Box<[PRule]>,
}

#[derive(Debug)]
pub struct PExperiment {
    pub control: u32,
    pub uppers: Box<[u32]>,
    pub variant: PBucketing,
    pub enrolment: PBucketing,
    pub range: (u32, u32),
    pub audience: PExpr,
    pub start: Option<i64>,
    pub end: Option<i64>,
}

#[derive(Debug)]
pub struct Program {
    /// Per slot: whether the field is an int (units hash ints as decimal text).
    pub int_slots: Box<[bool]>,
    pub segments: Box<[PExpr]>,
    pub flags: Box<[PFlag]>,
    pub experiments: Box<[PExperiment]>,
}

/// Build the interpreter's program.
pub fn prepare(bundle: &ValidBundle) -> Program {
    let p = Preparer { bundle };
    let segments = bundle
        .segments
        .iter()
        .map(|s| p.expr(&s.condition))
        .collect();
    let mut flags = Vec::with_capacity(bundle.flags.len());
    for f in &bundle.flags {
        let mut rules = Vec::with_capacity(f.rules.len());
        for r in &f.rules {
            rules.push(PRule {
                condition: p.expr(&r.condition),
                result: match &r.result {
                    ir::RuleResult::Serve(v) => PResult::Serve(*v),
                    ir::RuleResult::Rollout {
                        bucketing,
                        buckets,
                        value,
                    } => PResult::Rollout(
                        PBucketing::new(bucketing.unit, &bucketing.salt),
                        *buckets,
                        *value,
                    ),
                    ir::RuleResult::Staged {
                        bucketing,
                        stages,
                        value,
                    } => PResult::Staged(
                        PBucketing::new(bucketing.unit, &bucketing.salt),
                        stages.as_slice().into(),
                        *value,
                    ),
                    ir::RuleResult::Split { bucketing, arms } => PResult::Split(
                        PBucketing::new(bucketing.unit, &bucketing.salt),
                        arms.iter().map(|a| (a.upper, a.value)).collect(),
                    ),
                },
            });
        }
        let fixed = if !f.enabled {
            Some(crate::outcome::Outcome::new(
                f.default,
                vexil_ir::Reason::Disabled,
            ))
        } else if f.rules.is_empty() && f.prerequisites.is_empty() && f.enabled_when.is_none() {
            Some(crate::outcome::Outcome::new(
                f.default,
                vexil_ir::Reason::Static,
            ))
        } else {
            None
        };
        flags.push(PFlag {
            fixed,
            enabled: f.enabled,
            switch: f.enabled_when.as_ref().map(|c| p.expr(c)),
            default: f.default,
            prerequisites: f
                .prerequisites
                .iter()
                .map(|pr| PPrerequisite {
                    flag: pr.flag,
                    negated: pr.negated,
                    expect: pr.expect.clone(),
                })
                .collect(),
            rules: rules.into(),
        });
    }
    let mut experiments = Vec::with_capacity(bundle.experiments.len());
    for e in &bundle.experiments {
        experiments.push(PExperiment {
            control: e.control,
            uppers: e.variants.iter().map(|v| v.upper).collect(),
            variant: PBucketing::new(e.bucketing.unit, &e.bucketing.salt),
            enrolment: PBucketing::new(e.bucketing.unit, &e.enrolment_salt),
            range: e.enrolment_range,
            audience: p.expr(&e.audience),
            start: e.start,
            end: e.end,
        });
    }
    let mut int_slots = vec![false; bundle.schema.slot_count as usize];
    for c in &bundle.schema.contexts {
        for f in &c.fields {
            if let (FieldType::Int, Some(b)) = (&f.ty, int_slots.get_mut(f.slot as usize)) {
                *b = true;
            }
        }
    }
    Program {
        int_slots: int_slots.into(),
        segments,
        flags: flags.into(),
        experiments: experiments.into(),
    }
}

/// One condition of `bundle`, prepared on its own (the explaining
/// evaluation's sub-conditions).
pub(crate) fn prepare_expr(bundle: &ValidBundle, e: &ir::Expr) -> PExpr {
    Preparer { bundle }.expr(e)
}

struct Preparer<'b> {
    bundle: &'b ValidBundle,
}

/// What a shape validation excludes becomes: unknown, with a
/// `debug_assert!` that names the rule it breaks (so that tests, built
/// with debug assertions, catch a gap between validation and this file).
fn excluded(rule: &str) -> PExpr {
    debug_assert!(false, "validation lets through {rule}");
    PExpr::Unknown
}

fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

fn src(o: &Operand) -> Option<Src> {
    match o {
        Operand::Field(s) => Some(Src::Field(*s)),
        Operand::Now => Some(Src::Now(0)),
        Operand::NowOffset(offset) => Some(Src::Now(*offset)),
        Operand::Const(_) => None,
    }
}

impl Preparer<'_> {
    fn ty(&self, s: &Src) -> Option<&FieldType> {
        match s {
            Src::Field(slot) => self.bundle.schema.field_at(*slot).map(|(_, f)| &f.ty),
            Src::Now(_) => Some(&FieldType::Timestamp),
        }
    }

    /// The operand type of a field or `now` (`None` for a list, or a slot
    /// without a field, which validation refuses as an operand).
    fn operand_type(&self, s: &Src) -> Option<OperandType> {
        self.ty(s).and_then(OperandType::of_field)
    }

    fn expr(&self, e: &ir::Expr) -> PExpr {
        match e {
            ir::Expr::Const(b) => PExpr::Const(*b),
            ir::Expr::And(xs) => PExpr::And(xs.iter().map(|x| self.expr(x)).collect()),
            ir::Expr::Or(xs) => PExpr::Or(xs.iter().map(|x| self.expr(x)).collect()),
            ir::Expr::Not(x) => PExpr::Not(Box::new(self.expr(x))),
            ir::Expr::Field(s) => PExpr::Bool(*s),
            ir::Expr::IsSet(s) => PExpr::IsSet(*s),
            ir::Expr::Segment(i) => PExpr::Segment(*i),
            ir::Expr::Compare { lhs, op, rhs } => self.compare(lhs, *op, rhs),
            ir::Expr::InSet { operand, set } => {
                let Some(s) = src(operand) else {
                    return excluded("`in` on a constant");
                };
                self.in_set(s, set)
            }
            ir::Expr::ListContains { list, value } => match self.list_value(value) {
                Some(value) => PExpr::ListContains(*list, value),
                None => excluded("a list membership of a value the list cannot hold"),
            },
            ir::Expr::ListContainsAny {
                set: ConstSet::Cidr(_),
                ..
            }
            | ir::Expr::ListContainsAll {
                set: ConstSet::Cidr(_),
                ..
            } => excluded("ranges against a list (no list holds addresses)"),
            ir::Expr::ListContainsAny { list, set } => {
                PExpr::ListSet(*list, ListSet::new(set), false)
            }
            ir::Expr::ListContainsAll { list, set } => {
                PExpr::ListSet(*list, ListSet::new(set), true)
            }
            ir::Expr::StringOp {
                lhs,
                op,
                case_insensitive,
                rhs,
            } => self.string_op(lhs, *op, *case_insensitive, rhs),
        }
    }

    fn in_set(&self, s: Src, set: &ConstSet) -> PExpr {
        match set {
            ConstSet::String(v) => PExpr::InStr(s, StrSet::new(v)),
            ConstSet::Int(v) => PExpr::InInt(s, v.iter().copied().collect()),
            ConstSet::Float(v) => PExpr::InFloat(s, v.clone().into()),
            ConstSet::Timestamp(v) => PExpr::InTime(s, v.iter().copied().collect()),
            ConstSet::Enum(v) => {
                let n = match self.operand_type(&s) {
                    Some(OperandType::Enum(n)) => n,
                    _ => 0,
                };
                let mut mask = vec![false; n];
                for &i in v {
                    if let Some(m) = mask.get_mut(i as usize) {
                        *m = true;
                    }
                }
                PExpr::InEnum(s, mask.into())
            }
            ConstSet::Bool(v) => PExpr::InBool(s, [v.contains(&false), v.contains(&true)]),
            ConstSet::Semver(v) => {
                // Every version of a valid bundle packs; one that did not
                // could be in no context, so it is left out.
                debug_assert!(
                    v.iter().all(|x| x.in_range()),
                    "validation lets through a version out of range"
                );
                PExpr::InSemver(
                    s,
                    v.iter().filter_map(|x| PackedSemver::new(&x.0)).collect(),
                )
            }
            ConstSet::Cidr(v) => PExpr::InCidr(
                s,
                v.iter().map(|r| (r.mask(), r.net.0 & r.mask())).collect(),
            ),
        }
    }

    /// The value a list is searched for; `None` for a shape validation
    /// excludes (a list or an unpackable version).
    fn list_value(&self, value: &Operand) -> Option<ListValue> {
        Some(match value {
            Operand::Field(s) => ListValue::Field(*s, self.operand_type(&Src::Field(*s))?),
            Operand::Now => ListValue::Now(0),
            Operand::NowOffset(offset) => ListValue::Now(*offset),
            Operand::Const(c) => match c {
                Const::String(s) => ListValue::Str(s.as_str().into()),
                Const::Int(i) => ListValue::Int(*i),
                Const::Float(f) => ListValue::Float(*f),
                Const::Timestamp(t) => ListValue::Time(*t),
                Const::Enum(e) => ListValue::Enum(*e),
                Const::Bool(b) => ListValue::Bool(*b),
                Const::Semver(v) => ListValue::Semver(Box::new(PackedSemver::new(&v.0)?)),
                // No list holds addresses (validation refuses `list<ip>`).
                Const::Ip(_) => return None,
            },
        })
    }

    fn string_op(&self, lhs: &Operand, op: StringOp, ci: bool, rhs: &Operand) -> PExpr {
        if op == StringOp::Matches {
            let (Some(s), Operand::Const(Const::String(pattern))) = (src(lhs), rhs) else {
                return excluded("`matches` without a field and a constant pattern");
            };
            // Validation compiled every pattern of the bundle.
            return match self.bundle.pattern(pattern, ci) {
                Some(re) => PExpr::Regex(s, re.clone()),
                None => excluded("a pattern it did not compile"),
            };
        }
        let side = |o: &Operand| -> Option<StrSrc> {
            match o {
                Operand::Field(s) => Some(StrSrc::Field(*s)),
                Operand::Const(Const::String(k)) => Some(StrSrc::Const(if ci {
                    k.to_lowercase().into()
                } else {
                    k.as_str().into()
                })),
                _ => None,
            }
        };
        match (side(lhs), side(rhs)) {
            (Some(lhs), Some(rhs)) => PExpr::StrOp { lhs, op, ci, rhs },
            _ => excluded("a string operator on a non-string"),
        }
    }

    fn compare(&self, lhs: &Operand, op: CompareOp, rhs: &Operand) -> PExpr {
        // Put the non-constant side first.
        let (s, op, k) = match (src(lhs), src(rhs), lhs, rhs) {
            (Some(a), Some(b), _, _) => {
                let (ta, tb) = (self.operand_type(&a), self.operand_type(&b));
                let Some(ty) = ta.zip(tb).and_then(|(x, y)| OperandType::compared_at(x, y)) else {
                    return excluded("a comparison of operands of different types");
                };
                let ints = [ta == Some(OperandType::Int), tb == Some(OperandType::Int)];
                return PExpr::Fields(a, op, b, ty, ints);
            }
            (Some(a), None, _, Operand::Const(k)) => (a, op, k),
            (None, Some(b), Operand::Const(k), _) => (b, flip(op), k),
            _ => return excluded("a comparison of two constants"),
        };
        let ty = self.operand_type(&s);
        let is_int_field = ty == Some(OperandType::Int);
        let is_float_field = ty == Some(OperandType::Float);
        match k {
            Const::Int(i) if is_float_field => PExpr::Float(s, op, *i as f64),
            Const::Int(i) => PExpr::Int(s, op, *i),
            Const::Float(f) if is_int_field => PExpr::IntAsFloat(s, op, *f),
            Const::Float(f) => PExpr::Float(s, op, *f),
            Const::Timestamp(t) => PExpr::Time(s, op, *t),
            Const::Enum(e) => PExpr::Enum(s, op, *e),
            Const::Bool(b) => PExpr::BoolCmp(s, op, *b),
            Const::String(v) => PExpr::Str(s, op, v.as_str().into()),
            Const::Semver(v) => match PackedSemver::new(&v.0) {
                Some(packed) => PExpr::Semver(s, op, Box::new(packed)),
                None => excluded("a version out of range"),
            },
            Const::Ip(ip) => PExpr::Ip(s, op, ip.words()),
        }
    }
}
