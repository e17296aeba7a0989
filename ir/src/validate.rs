//! Validation: the one definition of a program the runtime can run. Every
//! refusal is decided here, and both evaluation backends take the
//! [`ValidBundle`] it makes and refuse nothing themselves:
//!
//! - indices in range: slots, values, segments, flags, experiments, layers;
//! - types: every comparison, `in`, membership and string operator at a
//!   type its operands have ([`OperandType`]), with a field or `now` on
//!   at least one side (never two constants), ordering only on ordered
//!   types, enum values inside their enum;
//! - values the runtime's representation holds: versions within
//!   [`semver_in_range`](crate::value::semver_in_range), at most [`MAX_SLOTS`] slots, patterns that
//!   compile (with [`compile_pattern`](crate::compile_pattern), as the backends build them);
//! - acyclic references, checked cheaply: a segment may only use segments
//!   before it, and a flag may only require flags before it (the order the
//!   compiler writes them in); and conditions at most [`MAX_DEPTH`] deep
//!   with the segments they use expanded, so that no pass over them
//!   exhausts the stack.
//!
//! The compiler only writes valid bundles (it validates what it links);
//! this guards the runtime, and the machine code it generates, which
//! trusts slot types, against a corrupted or hand-edited file.

use std::fmt;

use crate::bucket::BUCKETS;
use crate::operand::OperandType;
use crate::pattern::{pattern_error_summary, Patterns};
use crate::program::*;
use crate::valid::ValidBundle;
use crate::value::{FlagValue, ValueType};

/// The most slots a schema may have: every context of the runtime holds
/// one per slot, so a corrupted count must not make it allocate without
/// bound.
pub const MAX_SLOTS: u32 = 1 << 16;

/// How deep a condition may nest, counting the conditions of the segments
/// it uses as nested in it.
pub const MAX_DEPTH: usize = 256;

/// Why a bundle was refused: on read ([`Bundle::from_json`]) or by
/// [`validate`]. Its `Display` is the message the CLI and the server show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// The JSON is not an object whose `format` is `vexil-bundle`.
    NotABundle,
    /// A bundle of another format version.
    Version {
        /// The file's `format_version`, if it is a number at all.
        found: Option<u64>,
        /// The [`FORMAT_VERSION`] this build reads.
        expected: u32,
    },
    /// The JSON does not have a bundle's shape (serde's message).
    Parse(String),
    /// Validation refused it: a program neither backend may be given.
    Invalid {
        /// The item refused, by kind and name, as in ``flag `checkout` ``.
        item: String,
        /// What is wrong with it.
        problem: String,
    },
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

/// One side of a comparison, as validation sees it.
#[derive(Clone, Copy, Debug)]
enum Side {
    /// A field or `now`.
    Source(OperandType),
    /// A constant of a type of its own.
    Const(OperandType),
    /// An enum value's index: its enum is the other side's.
    EnumIndex(u32),
}

fn const_side(c: &Const) -> Side {
    Side::Const(match c {
        Const::Bool(_) => OperandType::Bool,
        Const::Int(_) => OperandType::Int,
        Const::Float(_) => OperandType::Float,
        Const::String(_) => OperandType::String,
        Const::Semver(_) => OperandType::Semver,
        Const::Timestamp(_) => OperandType::Timestamp,
        Const::Ip(_) => OperandType::Ip,
        Const::Enum(i) => return Side::EnumIndex(*i),
    })
}

fn is_ordering(op: CompareOp) -> bool {
    !matches!(op, CompareOp::Eq | CompareOp::Ne)
}

struct Checker<'b> {
    bundle: &'b Bundle,
    item: String,
    patterns: Patterns,
    /// Per segment checked so far: how deep its condition nests, with the
    /// segments it uses expanded.
    segment_depths: Vec<usize>,
}

type Check = Result<(), BundleError>;

impl Checker<'_> {
    fn fail(&self, problem: impl Into<String>) -> BundleError {
        BundleError::Invalid {
            item: self.item.clone(),
            problem: problem.into(),
        }
    }

    fn field(&self, slot: Slot) -> Result<&FieldSchema, BundleError> {
        self.bundle
            .schema
            .field_at(slot)
            .map(|(_, f)| f)
            .ok_or_else(|| self.fail(format!("slot {slot} is not a field")))
    }

    /// The type of the value in `slot`: not a list.
    fn scalar(&self, slot: Slot) -> Result<OperandType, BundleError> {
        OperandType::of_field(&self.field(slot)?.ty)
            .ok_or_else(|| self.fail(format!("slot {slot} holds a list, not a value")))
    }

    fn side(&self, o: &Operand) -> Result<Side, BundleError> {
        Ok(match o {
            Operand::Field(slot) => Side::Source(self.scalar(*slot)?),
            Operand::Now | Operand::NowOffset(_) => Side::Source(OperandType::Timestamp),
            Operand::Const(c) => {
                self.constant(c)?;
                const_side(c)
            }
        })
    }

    /// A constant the runtime can hold.
    fn constant(&self, c: &Const) -> Check {
        match c {
            Const::Semver(v) if !v.in_range() => Err(self.version_out_of_range(v)),
            _ => Ok(()),
        }
    }

    fn version_out_of_range(&self, v: &crate::Semver) -> BundleError {
        self.fail(format!(
            "version `{v}` is out of range (major and minor up to {}, patch up to {})",
            crate::value::SEMVER_MAX_MAJOR,
            crate::value::SEMVER_MAX_PATCH
        ))
    }

    fn enum_index(&self, index: u32, values: usize) -> Check {
        if (index as usize) < values {
            Ok(())
        } else {
            Err(self.fail(format!(
                "enum value {index} out of range (the enum has {values})"
            )))
        }
    }

    /// The type two sides of a comparison compare at.
    fn compared_at(&self, l: Side, r: Side) -> Result<OperandType, BundleError> {
        match (l, r) {
            (Side::Source(a), Side::Source(b) | Side::Const(b))
            | (Side::Const(a), Side::Source(b)) => {
                OperandType::compared_at(a, b).ok_or_else(|| {
                    self.fail(format!("comparison of {} with {}", a.as_str(), b.as_str()))
                })
            }
            (Side::Source(OperandType::Enum(n)), Side::EnumIndex(i))
            | (Side::EnumIndex(i), Side::Source(OperandType::Enum(n))) => {
                self.enum_index(i, n)?;
                Ok(OperandType::Enum(n))
            }
            (Side::Source(t), Side::EnumIndex(_)) | (Side::EnumIndex(_), Side::Source(t)) => {
                Err(self.fail(format!("comparison of {} with an enum value", t.as_str())))
            }
            _ => Err(self.fail("comparison of two constants")),
        }
    }

    /// Check `e`, which sits `depth` levels deep (its root at 1); how deep
    /// it reaches, with the segments it uses expanded.
    fn expr(&mut self, e: &Expr, segment_limit: usize, depth: usize) -> Result<usize, BundleError> {
        if depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        match e {
            Expr::Const(_) => {}
            Expr::And(xs) | Expr::Or(xs) => {
                let mut reached = depth;
                for x in xs {
                    reached = reached.max(self.expr(x, segment_limit, depth + 1)?);
                }
                return Ok(reached);
            }
            Expr::Not(x) => return self.expr(x, segment_limit, depth + 1),
            Expr::Field(slot) => {
                if self.scalar(*slot)? != OperandType::Bool {
                    return Err(self.fail(format!("slot {slot} used as a condition is not a bool")));
                }
            }
            Expr::IsSet(slot) => {
                self.field(*slot)?;
            }
            Expr::Compare { lhs, op, rhs } => {
                let ty = self.compared_at(self.side(lhs)?, self.side(rhs)?)?;
                if is_ordering(*op) && !ty.is_ordered() {
                    return Err(self.fail(format!("ordering comparison of {} values", ty.as_str())));
                }
            }
            Expr::InSet { operand, set } => self.in_set(operand, set)?,
            Expr::ListContains { list, value } => {
                let items = OperandType::of_items(&self.field(*list)?.ty)
                    .ok_or_else(|| self.fail(format!("slot {list} is not a list of values")))?;
                match self.side(value)? {
                    Side::Source(t) | Side::Const(t) if t == items => {}
                    Side::EnumIndex(i) => match items {
                        OperandType::Enum(n) => self.enum_index(i, n)?,
                        _ => return Err(self.fail("list membership of a value of another type")),
                    },
                    _ => return Err(self.fail("list membership of a value of another type")),
                }
            }
            Expr::ListContainsAny { list, set } | Expr::ListContainsAll { list, set } => {
                let items = OperandType::of_items(&self.field(*list)?.ty)
                    .ok_or_else(|| self.fail(format!("slot {list} is not a list of values")))?;
                self.set_of(items, set, "list")?;
            }
            Expr::StringOp {
                lhs,
                op,
                case_insensitive,
                rhs,
            } => self.string_op(lhs, *op, *case_insensitive, rhs)?,
            Expr::Segment(i) => {
                let reached = match self.segment_depths.get(*i as usize) {
                    Some(d) if (*i as usize) < segment_limit => depth + d,
                    _ => {
                        return Err(self.fail(format!("segment {i} is not declared before its use")))
                    }
                };
                if reached > MAX_DEPTH {
                    return Err(self.too_deep());
                }
                return Ok(reached);
            }
        }
        Ok(depth)
    }

    fn too_deep(&self) -> BundleError {
        self.fail(format!(
            "condition nested more than {MAX_DEPTH} deep (counting the segments it uses)"
        ))
    }

    fn in_set(&self, operand: &Operand, set: &ConstSet) -> Check {
        let Side::Source(t) = self.side(operand)? else {
            return Err(self.fail("`in` on a constant"));
        };
        self.set_of(t, set, "operand")
    }

    /// A set of constants of type `t`, which is `what`'s (an operand's,
    /// or a list's items').
    fn set_of(&self, t: OperandType, set: &ConstSet, what: &str) -> Check {
        let ok = matches!(
            (t, set),
            (OperandType::Int, ConstSet::Int(_))
                | (OperandType::Float, ConstSet::Float(_))
                | (OperandType::String, ConstSet::String(_))
                | (OperandType::Semver, ConstSet::Semver(_))
                | (OperandType::Timestamp, ConstSet::Timestamp(_))
                | (OperandType::Enum(_), ConstSet::Enum(_))
                | (OperandType::Bool, ConstSet::Bool(_))
                | (OperandType::Ip, ConstSet::Cidr(_))
        );
        if !ok {
            return Err(self.fail(format!(
                "a set of another type than its {} {what}",
                t.as_str()
            )));
        }
        match (t, set) {
            (OperandType::Enum(n), ConstSet::Enum(vs)) => {
                vs.iter().try_for_each(|v| self.enum_index(*v, n))
            }
            (_, ConstSet::Semver(vs)) => match vs.iter().find(|v| !v.in_range()) {
                Some(v) => Err(self.version_out_of_range(v)),
                None => Ok(()),
            },
            (_, ConstSet::Cidr(rs)) => match rs.iter().find(|r| r.prefix > 128) {
                Some(r) => Err(self.fail(format!("range prefix {} above 128", r.prefix))),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn string_op(&mut self, lhs: &Operand, op: StringOp, ci: bool, rhs: &Operand) -> Check {
        let (l, r) = (self.side(lhs)?, self.side(rhs)?);
        let string = |s: Side| {
            matches!(
                s,
                Side::Source(OperandType::String) | Side::Const(OperandType::String)
            )
        };
        if !string(l) || !string(r) {
            return Err(self.fail("string operator on a non-string"));
        }
        if let (Side::Const(_), Side::Const(_)) = (l, r) {
            return Err(self.fail("string operator between two constants"));
        }
        if op == StringOp::Matches {
            let (Operand::Field(_), Operand::Const(Const::String(pattern))) = (lhs, rhs) else {
                return Err(self.fail("`matches` needs a field and a constant pattern"));
            };
            if let Err(e) = self.patterns.add(pattern, ci) {
                return Err(self.fail(format!(
                    "pattern `{pattern}` does not compile: {}",
                    pattern_error_summary(&e)
                )));
            }
        }
        Ok(())
    }

    fn bucketing(&self, b: &Bucketing) -> Check {
        match self.scalar(b.unit)? {
            OperandType::String | OperandType::Int => Ok(()),
            _ => Err(self.fail("bucketing unit must be a string or int field")),
        }
    }

    fn value_of_type(&self, v: &FlagValue, ty: ValueType) -> Check {
        if v.value_type() == ty {
            Ok(())
        } else {
            Err(self.fail(format!(
                "value `{v}` is not {}",
                vexil_words::with_article(ty.as_str())
            )))
        }
    }

    fn schema(&self) -> Check {
        let schema = &self.bundle.schema;
        if schema.slot_count > MAX_SLOTS {
            return Err(self.fail(format!(
                "{} slots, more than the {MAX_SLOTS} a schema may have",
                schema.slot_count
            )));
        }
        let mut seen = vec![false; schema.slot_count as usize];
        for ctx in &schema.contexts {
            for f in &ctx.fields {
                if let FieldType::List(item) = &f.ty {
                    if **item == FieldType::Ip {
                        return Err(self.fail(format!(
                            "field `{}.{}` is a list of addresses, which no backend holds",
                            ctx.name, f.name
                        )));
                    }
                }
                match seen.get_mut(f.slot as usize) {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return Err(self.fail(format!(
                            "field `{}.{}` has a bad or repeated slot",
                            ctx.name, f.name
                        )))
                    }
                }
            }
            if let Some(key) = ctx.key {
                if !ctx.fields.iter().any(|f| f.slot == key) {
                    return Err(self.fail(format!(
                        "context `{}` has a key outside its fields",
                        ctx.name
                    )));
                }
            }
        }
        Ok(())
    }

    fn flag(&mut self, index: usize, flag: &Flag) -> Check {
        for v in &flag.values {
            self.value_of_type(&v.value, flag.value_type)?;
        }
        let values = flag.values.len();
        if flag.default as usize >= values {
            return Err(self.fail("default is not one of its values"));
        }
        for p in &flag.prerequisites {
            if p.flag as usize >= index {
                return Err(self.fail("prerequisite is not declared before the flag"));
            }
        }
        let segments = self.bundle.segments.len();
        if let Some(switch) = &flag.enabled_when {
            self.expr(switch, segments, 1)?;
        }
        for rule in &flag.rules {
            self.expr(&rule.condition, segments, 1)?;
            match &rule.result {
                RuleResult::Serve(v) if (*v as usize) < values => {}
                RuleResult::Rollout {
                    bucketing,
                    buckets,
                    value,
                } if (*value as usize) < values && *buckets <= BUCKETS => {
                    self.bucketing(bucketing)?
                }
                RuleResult::Staged {
                    bucketing,
                    stages,
                    value,
                } if (*value as usize) < values => {
                    self.bucketing(bucketing)?;
                    if stages.is_empty() {
                        return Err(self.fail("a staged rollout without stages"));
                    }
                    let ordered = stages
                        .windows(2)
                        .all(|w| w[0].starts < w[1].starts && w[0].buckets <= w[1].buckets);
                    if !ordered || stages.iter().any(|s| s.buckets > BUCKETS) {
                        return Err(self.fail("stages out of order or out of range"));
                    }
                }
                RuleResult::Split { bucketing, arms } => {
                    self.bucketing(bucketing)?;
                    let mut last = 0;
                    for arm in arms {
                        if arm.upper < last || arm.value as usize >= values {
                            return Err(self.fail("split arms out of order or out of range"));
                        }
                        last = arm.upper;
                    }
                    if last != BUCKETS {
                        return Err(self.fail("split arms do not cover every bucket"));
                    }
                }
                _ => return Err(self.fail("rule result out of range")),
            }
        }
        Ok(())
    }

    fn experiment(&mut self, exp: &Experiment) -> Check {
        self.expr(&exp.audience, self.bundle.segments.len(), 1)?;
        self.bucketing(&exp.bucketing)?;
        if exp.control as usize >= exp.variants.len() {
            return Err(self.fail("control is not one of its variants"));
        }
        let mut last = 0;
        for v in &exp.variants {
            self.value_of_type(&v.value, exp.value_type)?;
            if v.upper < last {
                return Err(self.fail("variant weights out of order"));
            }
            last = v.upper;
        }
        if last != BUCKETS {
            return Err(self.fail("variant weights do not sum to 100%"));
        }
        let (lo, hi) = exp.enrolment_range;
        if lo > hi || hi > BUCKETS {
            return Err(self.fail("enrolment range out of bounds"));
        }
        if exp
            .layer
            .is_some_and(|l| l as usize >= self.bundle.layers.len())
        {
            return Err(self.fail("layer out of range"));
        }
        Ok(())
    }

    fn layer(&self, layer: &Layer) -> Check {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for &e in &layer.experiments {
            let exp = self
                .bundle
                .experiments
                .get(e as usize)
                .ok_or_else(|| self.fail("experiment out of range"))?;
            ranges.push(exp.enrolment_range);
        }
        ranges.sort_unstable();
        if ranges.windows(2).any(|w| w[0].1 > w[1].0) {
            return Err(self.fail("experiments of one layer overlap"));
        }
        Ok(())
    }
}

/// Check every rule of a bundle (see the module's documentation); the
/// bundle, as a [`ValidBundle`] the runtime loads, if it keeps them all.
pub fn validate(bundle: Bundle) -> Result<ValidBundle, BundleError> {
    let patterns = check(&bundle)?;
    Ok(ValidBundle::new(bundle, patterns))
}

/// The rules, and the patterns compiled on the way.
fn check(bundle: &Bundle) -> Result<Patterns, BundleError> {
    let mut c = Checker {
        bundle,
        item: "schema".to_string(),
        patterns: Patterns::default(),
        segment_depths: Vec::with_capacity(bundle.segments.len()),
    };
    c.schema()?;
    for (i, seg) in bundle.segments.iter().enumerate() {
        c.item = format!("segment `{}`", seg.name);
        let depth = c.expr(&seg.condition, i, 1)?;
        c.segment_depths.push(depth);
    }
    for (i, flag) in bundle.flags.iter().enumerate() {
        c.item = format!("flag `{}`", flag.name);
        c.flag(i, flag)?;
    }
    for exp in &bundle.experiments {
        c.item = format!("experiment `{}`", exp.name);
        c.experiment(exp)?;
    }
    for layer in &bundle.layers {
        c.item = format!("layer `{}`", layer.name);
        c.layer(layer)?;
    }
    for test in &bundle.tests {
        c.item = format!("test `{}`", test.name);
        for f in &test.context {
            c.field(f.slot)?;
        }
    }
    Ok(c.patterns)
}
