//! Validation of a bundle read from outside: every index in range, every
//! comparison at a type its operands have, references acyclic.
//!
//! The compiler only writes valid bundles; this guards the runtime (and the
//! machine code it generates, which trusts slot types) against a corrupted or
//! hand-edited file. Acyclicity is checked cheaply: a segment may only use
//! segments before it, and a flag may only require flags before it, which is
//! the order the compiler writes them in.

use std::fmt;

use crate::bucket::BUCKETS;
use crate::program::*;
use crate::value::{FlagValue, ValueType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleError {
    NotABundle,
    Version { found: Option<u64>, expected: u32 },
    Parse(String),
    Invalid { item: String, problem: String },
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::NotABundle => write!(f, "not a Vexil bundle (no `\"format\": \"{FORMAT_NAME}\"`)"),
            BundleError::Version { found: Some(v), expected } => write!(
                f,
                "bundle format version {v} is not supported (this runtime reads version {expected}); rebuild it with a matching `vexil build`"
            ),
            BundleError::Version { found: None, expected } => {
                write!(f, "bundle has no format version (expected {expected})")
            }
            BundleError::Parse(e) => write!(f, "bundle is not valid JSON for this format: {e}"),
            BundleError::Invalid { item, problem } => write!(f, "invalid bundle: {item}: {problem}"),
        }
    }
}

impl std::error::Error for BundleError {}

/// The scalar type an operand has.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Bool,
    Int,
    Float,
    String,
    Semver,
    Timestamp,
    Enum(usize),
    List,
}

struct Checker<'b> {
    bundle: &'b Bundle,
    item: String,
}

type Check = Result<(), BundleError>;

impl Checker<'_> {
    fn fail(&self, problem: impl Into<String>) -> BundleError {
        BundleError::Invalid {
            item: self.item.clone(),
            problem: problem.into(),
        }
    }

    fn field(&self, slot: Slot) -> Result<(&FieldType, bool), BundleError> {
        self.bundle
            .schema
            .field_at(slot)
            .map(|(_, f)| (&f.ty, f.optional))
            .ok_or_else(|| self.fail(format!("slot {slot} is not a field")))
    }

    fn slot_ty(&self, slot: Slot) -> Result<Ty, BundleError> {
        Ok(match self.field(slot)?.0 {
            FieldType::Bool => Ty::Bool,
            FieldType::Int => Ty::Int,
            FieldType::Float => Ty::Float,
            FieldType::String => Ty::String,
            FieldType::Semver => Ty::Semver,
            FieldType::Timestamp => Ty::Timestamp,
            FieldType::Enum(v) => Ty::Enum(v.len()),
            FieldType::List(_) => Ty::List,
        })
    }

    fn operand(&self, op: &Operand) -> Result<Option<Ty>, BundleError> {
        Ok(Some(match op {
            Operand::Field(slot) => self.slot_ty(*slot)?,
            Operand::Now => Ty::Timestamp,
            // An enum constant takes its size from the other side.
            Operand::Const(Const::Enum(_)) => return Ok(None),
            Operand::Const(c) => const_ty(c),
        }))
    }

    fn enum_in_range(&self, other: &Ty, c: &Operand) -> Check {
        if let (Ty::Enum(n), Operand::Const(Const::Enum(i))) = (other, c) {
            if *i as usize >= *n {
                return Err(self.fail(format!("enum value {i} out of range")));
            }
        }
        Ok(())
    }

    fn expr(&self, e: &Expr, segment_limit: usize, depth: usize) -> Check {
        if depth > 256 {
            return Err(self.fail("condition nested too deeply"));
        }
        match e {
            Expr::Const(_) => Ok(()),
            Expr::And(xs) | Expr::Or(xs) => xs
                .iter()
                .try_for_each(|x| self.expr(x, segment_limit, depth + 1)),
            Expr::Not(x) => self.expr(x, segment_limit, depth + 1),
            Expr::Field(slot) => match self.slot_ty(*slot)? {
                Ty::Bool => Ok(()),
                _ => Err(self.fail(format!("slot {slot} used as a condition is not a bool"))),
            },
            Expr::IsSet(slot) => self.field(*slot).map(|_| ()),
            Expr::Compare { lhs, op, rhs } => {
                let (l, r) = (self.operand(lhs)?, self.operand(rhs)?);
                let ok = match (&l, &r) {
                    (Some(a), Some(b)) => {
                        a == b || matches!((a, b), (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int))
                    }
                    (Some(Ty::Enum(_)), None) | (None, Some(Ty::Enum(_))) => true,
                    _ => false,
                };
                if !ok || matches!(l, Some(Ty::List)) {
                    return Err(self.fail("comparison between operands of different types"));
                }
                if op_is_ordering(*op) && matches!(l, Some(Ty::Bool) | Some(Ty::String)) {
                    return Err(self.fail("ordering comparison on a bool or string"));
                }
                if let Some(t) = &l {
                    self.enum_in_range(t, rhs)?;
                }
                if let Some(t) = &r {
                    self.enum_in_range(t, lhs)?;
                }
                Ok(())
            }
            Expr::InSet { operand, set } => {
                let t = self.operand(operand)?;
                let ok = matches!(
                    (&t, set),
                    (Some(Ty::Int), ConstSet::Int(_))
                        | (Some(Ty::Float), ConstSet::Float(_))
                        | (Some(Ty::String), ConstSet::String(_))
                        | (Some(Ty::Semver), ConstSet::Semver(_))
                        | (Some(Ty::Timestamp), ConstSet::Timestamp(_))
                        | (Some(Ty::Enum(_)), ConstSet::Enum(_))
                        | (Some(Ty::Bool), ConstSet::Bool(_))
                );
                if !ok {
                    return Err(self.fail("`in` set of another type than its operand"));
                }
                if let (Some(Ty::Enum(n)), ConstSet::Enum(vs)) = (&t, set) {
                    if vs.iter().any(|v| *v as usize >= *n) {
                        return Err(self.fail("enum value out of range in `in` set"));
                    }
                }
                Ok(())
            }
            Expr::ListContains { list, value } => {
                let FieldType::List(elem) = self.field(*list)?.0 else {
                    return Err(self.fail(format!("slot {list} is not a list")));
                };
                let elem_ty = match elem.as_ref() {
                    FieldType::Bool => Ty::Bool,
                    FieldType::Int => Ty::Int,
                    FieldType::Float => Ty::Float,
                    FieldType::String => Ty::String,
                    FieldType::Semver => Ty::Semver,
                    FieldType::Timestamp => Ty::Timestamp,
                    FieldType::Enum(v) => Ty::Enum(v.len()),
                    FieldType::List(_) => return Err(self.fail("lists of lists are not supported")),
                };
                match self.operand(value)? {
                    Some(t) if t == elem_ty => Ok(()),
                    None if matches!(elem_ty, Ty::Enum(_)) => self.enum_in_range(&elem_ty, value),
                    _ => Err(self.fail("list membership of a value of another type")),
                }
            }
            Expr::StringOp { lhs, op, rhs, .. } => {
                if self.operand(lhs)? != Some(Ty::String) || self.operand(rhs)? != Some(Ty::String)
                {
                    return Err(self.fail("string operator on a non-string"));
                }
                if *op == StringOp::Matches && !matches!(rhs, Operand::Const(Const::String(_))) {
                    return Err(self.fail("`matches` needs a constant pattern"));
                }
                Ok(())
            }
            Expr::Segment(i) => {
                if (*i as usize) < segment_limit {
                    Ok(())
                } else {
                    Err(self.fail(format!("segment {i} is not declared before its use")))
                }
            }
        }
    }

    fn bucketing(&self, b: &Bucketing) -> Check {
        match self.slot_ty(b.unit)? {
            Ty::String | Ty::Int => Ok(()),
            _ => Err(self.fail("bucketing unit must be a string or int field")),
        }
    }

    fn value_of_type(&self, v: &FlagValue, ty: ValueType) -> Check {
        if v.value_type() == ty {
            Ok(())
        } else {
            Err(self.fail(format!("value `{v}` is not a {}", ty.as_str())))
        }
    }
}

fn op_is_ordering(op: CompareOp) -> bool {
    !matches!(op, CompareOp::Eq | CompareOp::Ne)
}

fn const_ty(c: &Const) -> Ty {
    match c {
        Const::Bool(_) => Ty::Bool,
        Const::Int(_) => Ty::Int,
        Const::Float(_) => Ty::Float,
        Const::String(_) => Ty::String,
        Const::Semver(_) => Ty::Semver,
        Const::Timestamp(_) => Ty::Timestamp,
        Const::Enum(_) => Ty::Enum(usize::MAX),
    }
}

/// Check a bundle's internal consistency.
pub fn validate(bundle: &Bundle) -> Result<(), BundleError> {
    let mut c = Checker {
        bundle,
        item: "schema".to_string(),
    };
    let mut seen = vec![false; bundle.schema.slot_count as usize];
    for ctx in &bundle.schema.contexts {
        for f in &ctx.fields {
            match seen.get_mut(f.slot as usize) {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err(c.fail(format!(
                        "field `{}.{}` has a bad or repeated slot",
                        ctx.name, f.name
                    )))
                }
            }
        }
        if let Some(key) = ctx.key {
            if !ctx.fields.iter().any(|f| f.slot == key) {
                return Err(c.fail(format!(
                    "context `{}` has a key outside its fields",
                    ctx.name
                )));
            }
        }
    }
    for (i, seg) in bundle.segments.iter().enumerate() {
        c.item = format!("segment `{}`", seg.name);
        c.expr(&seg.condition, i, 0)?;
    }
    let segments = bundle.segments.len();
    for (i, flag) in bundle.flags.iter().enumerate() {
        c.item = format!("flag `{}`", flag.name);
        for v in &flag.values {
            c.value_of_type(&v.value, flag.value_type)?;
        }
        let values = flag.values.len();
        if flag.default as usize >= values {
            return Err(c.fail("default is not one of its values"));
        }
        for p in &flag.prerequisites {
            if p.flag as usize >= i {
                return Err(c.fail("prerequisite is not declared before the flag"));
            }
        }
        for rule in &flag.rules {
            c.expr(&rule.condition, segments, 0)?;
            match &rule.result {
                RuleResult::Serve(v) if (*v as usize) < values => {}
                RuleResult::Rollout {
                    bucketing,
                    buckets,
                    value,
                } if (*value as usize) < values && *buckets <= BUCKETS => c.bucketing(bucketing)?,
                RuleResult::Split { bucketing, arms } => {
                    c.bucketing(bucketing)?;
                    let mut last = 0;
                    for arm in arms {
                        if arm.upper < last || arm.value as usize >= values {
                            return Err(c.fail("split arms out of order or out of range"));
                        }
                        last = arm.upper;
                    }
                    if last != BUCKETS {
                        return Err(c.fail("split arms do not cover every bucket"));
                    }
                }
                _ => return Err(c.fail("rule result out of range")),
            }
        }
    }
    for exp in &bundle.experiments {
        c.item = format!("experiment `{}`", exp.name);
        c.expr(&exp.audience, segments, 0)?;
        c.bucketing(&exp.bucketing)?;
        if exp.control as usize >= exp.variants.len() {
            return Err(c.fail("control is not one of its variants"));
        }
        let mut last = 0;
        for v in &exp.variants {
            c.value_of_type(&v.value, exp.value_type)?;
            if v.upper < last {
                return Err(c.fail("variant weights out of order"));
            }
            last = v.upper;
        }
        if last != BUCKETS {
            return Err(c.fail("variant weights do not sum to 100%"));
        }
        let (lo, hi) = exp.enrolment_range;
        if lo > hi || hi > BUCKETS {
            return Err(c.fail("enrolment range out of bounds"));
        }
        if exp.layer.is_some_and(|l| l as usize >= bundle.layers.len()) {
            return Err(c.fail("layer out of range"));
        }
    }
    for layer in &bundle.layers {
        c.item = format!("layer `{}`", layer.name);
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for &e in &layer.experiments {
            let exp = bundle
                .experiments
                .get(e as usize)
                .ok_or_else(|| c.fail("experiment out of range"))?;
            ranges.push(exp.enrolment_range);
        }
        ranges.sort_unstable();
        if ranges.windows(2).any(|w| w[0].1 > w[1].0) {
            return Err(c.fail("experiments of one layer overlap"));
        }
    }
    for test in &bundle.tests {
        c.item = format!("test `{}`", test.name);
        for f in &test.context {
            c.field(f.slot)?;
        }
    }
    Ok(())
}
