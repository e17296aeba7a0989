//! Corruptions of a valid bundle. Each kind picks one place at random and
//! changes it to something the compiler would not write: an index, a type,
//! a constant, a slot, a pattern, a version, an enum ordinal, a split's
//! bounds, the order of segments... Many break a rule of validation; some
//! make a bundle that is still valid, only unusual, which both backends
//! must then run alike.

use vexil_runtime::ir::bucket::BUCKETS;
use vexil_runtime::ir::*;

use crate::gen::{
    Rng, COMPARE_OPS, FLOATS, HUGE_VERSION, INTS, IPS, PATTERNS, RANGES, STRINGS, TIMES, VERSIONS,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A slot a condition reads, changed.
    SlotIndex,
    /// A schema field's type, changed.
    FieldType,
    /// A schema field's slot, changed (or two fields' swapped).
    FieldSlot,
    /// The schema's slot count.
    SlotCount,
    /// A constant operand, replaced by one of any type.
    Constant,
    /// An operand replaced by `now`, a field or a constant.
    Operand,
    /// A field operand replaced by a constant of the field's type: well
    /// typed, with nothing left to read.
    ConstantSide,
    /// A comparison's operator.
    CompareOp,
    /// An `in` set, replaced by one of any type.
    Set,
    /// An enum constant's ordinal.
    EnumOrdinal,
    /// A version constant, some out of the packable range.
    Version,
    /// A string operator's pattern (or the operator itself).
    Pattern,
    /// A split's arms: bounds, values, order.
    Split,
    /// A rollout's percentage or value.
    Rollout,
    /// Two segments swapped.
    SegmentOrder,
    /// A condition replaced by a segment reference.
    SegmentRef,
    /// A prerequisite's flag.
    Prerequisite,
    /// A default, a served value or a control.
    ValueIndex,
    /// A served value of another type.
    ValueType,
    /// An experiment's variants, enrolment or layer.
    Experiment,
    /// A layer's experiments.
    Layer,
    /// A bucketing unit.
    Bucketing,
    /// A condition nested deeper.
    Nesting,
    /// A condition replaced by a field read as a bool.
    BoolField,
}

pub const KINDS: &[Kind] = &[
    Kind::SlotIndex,
    Kind::FieldType,
    Kind::FieldSlot,
    Kind::SlotCount,
    Kind::Constant,
    Kind::Operand,
    Kind::ConstantSide,
    Kind::CompareOp,
    Kind::Set,
    Kind::EnumOrdinal,
    Kind::Version,
    Kind::Pattern,
    Kind::Split,
    Kind::Rollout,
    Kind::SegmentOrder,
    Kind::SegmentRef,
    Kind::Prerequisite,
    Kind::ValueIndex,
    Kind::ValueType,
    Kind::Experiment,
    Kind::Layer,
    Kind::Bucketing,
    Kind::Nesting,
    Kind::BoolField,
];

/// Patterns of every sort: most compile, some do not.
const ODD_PATTERNS: &[&str] = &["(", "[a-", "a)", "x{2,1}", "\\", "(?i)B", "^$", ""];

/// Versions at and beyond the edges of the packable range.
const EDGE_VERSIONS: &[&str] = &[
    HUGE_VERSION,
    "0.4294967296.0",
    "0.0.9223372036854775808",
    "4294967295.4294967295.9223372036854775807",
    "4294967295.0.0-rc.1",
];

/// Apply one corruption; the kind applied (after a few tries, a kind that
/// has nothing to change in this bundle gives way to another).
pub fn mutate(b: &mut Bundle, rng: &mut Rng) -> Option<Kind> {
    for _ in 0..32 {
        let kind = rng.pick(KINDS);
        if apply(kind, b, rng) {
            return Some(kind);
        }
    }
    None
}

fn apply(kind: Kind, b: &mut Bundle, rng: &mut Rng) -> bool {
    match kind {
        Kind::SlotIndex => {
            let slot = any_slot(b, rng);
            let mut refs = slot_refs(b);
            pick_mut(&mut refs, rng).map(|s| **s = slot).is_some()
        }
        Kind::FieldType => {
            let ty = field_type(rng);
            pick_mut(&mut fields(b), rng).map(|f| f.ty = ty).is_some()
        }
        Kind::FieldSlot => {
            let slot = any_slot(b, rng);
            let mut fs = fields(b);
            if fs.len() >= 2 && rng.chance(50) {
                let (i, j) = (rng.below(fs.len()), rng.below(fs.len()));
                let (si, sj) = (fs[i].slot, fs[j].slot);
                fs[i].slot = sj;
                fs[j].slot = si;
                return true;
            }
            pick_mut(&mut fs, rng).map(|f| f.slot = slot).is_some()
        }
        Kind::SlotCount => {
            let last = b
                .schema
                .contexts
                .iter()
                .flat_map(|c| c.fields.iter().map(|f| f.slot.saturating_add(1)))
                .max()
                .unwrap_or(0);
            b.schema.slot_count = rng.pick(&[
                0,
                last.saturating_sub(1),
                last,
                last.saturating_add(7),
                MAX_SLOTS,
                MAX_SLOTS + 1,
            ]);
            true
        }
        Kind::Constant => {
            let k = constant(rng);
            let mut ops = operands(b);
            ops.retain(|o| matches!(o, Operand::Const(_)));
            pick_mut(&mut ops, rng)
                .map(|o| **o = Operand::Const(k))
                .is_some()
        }
        Kind::Operand => {
            let new = match rng.below(3) {
                0 => Operand::Now,
                1 => Operand::Field(any_slot(b, rng)),
                _ => Operand::Const(constant(rng)),
            };
            pick_mut(&mut operands(b), rng).map(|o| **o = new).is_some()
        }
        Kind::ConstantSide => {
            let types: Vec<(Slot, FieldType)> = b
                .schema
                .contexts
                .iter()
                .flat_map(|c| c.fields.iter().map(|f| (f.slot, f.ty.clone())))
                .collect();
            let mut fields: Vec<&mut Operand> = operands(b);
            fields.retain(|o| matches!(o, Operand::Field(_)));
            let Some(o) = pick_mut(&mut fields, rng) else {
                return false;
            };
            let Operand::Field(slot) = **o else {
                return false;
            };
            let k = types
                .iter()
                .find(|(s, _)| *s == slot)
                .and_then(|(_, ty)| constant_of(ty, rng));
            match k {
                Some(k) => {
                    **o = Operand::Const(k);
                    true
                }
                None => false,
            }
        }
        Kind::CompareOp => {
            let op = rng.pick(COMPARE_OPS);
            let mut ls = leaves(b);
            ls.retain(|e| matches!(e, Expr::Compare { .. }));
            match pick_mut(&mut ls, rng) {
                Some(Expr::Compare { op: o, .. }) => {
                    *o = op;
                    true
                }
                _ => false,
            }
        }
        Kind::Set => {
            let new = set(rng);
            let mut ls = leaves(b);
            ls.retain(|e| matches!(e, Expr::InSet { .. }));
            match pick_mut(&mut ls, rng) {
                Some(Expr::InSet { set, .. }) => {
                    *set = new;
                    true
                }
                _ => false,
            }
        }
        Kind::EnumOrdinal => {
            let ordinal = rng.pick(&[0, 1, 2, 3, 4, 69, 70, 1000, u32::MAX]);
            let mut ordinals: Vec<&mut u32> = Vec::new();
            for e in leaves(b) {
                match e {
                    Expr::InSet {
                        set: ConstSet::Enum(vs),
                        ..
                    } => ordinals.extend(vs.iter_mut()),
                    other => {
                        for o in expr_operands(other) {
                            if let Operand::Const(Const::Enum(i)) = o {
                                ordinals.push(i);
                            }
                        }
                    }
                }
            }
            pick_mut(&mut ordinals, rng)
                .map(|i| **i = ordinal)
                .is_some()
        }
        Kind::Version => {
            let v = some_version(rng, 70);
            let mut versions: Vec<&mut Semver> = Vec::new();
            for e in leaves(b) {
                match e {
                    Expr::InSet {
                        set: ConstSet::Semver(vs),
                        ..
                    } => versions.extend(vs.iter_mut()),
                    other => {
                        for o in expr_operands(other) {
                            if let Operand::Const(Const::Semver(s)) = o {
                                versions.push(s);
                            }
                        }
                    }
                }
            }
            if versions.is_empty() {
                // No version yet: a constant becomes one.
                let mut ops = operands(b);
                ops.retain(|o| matches!(o, Operand::Const(_)));
                return pick_mut(&mut ops, rng)
                    .map(|o| **o = Operand::Const(Const::Semver(v)))
                    .is_some();
            }
            pick_mut(&mut versions, rng).map(|s| **s = v).is_some()
        }
        Kind::Pattern => {
            let pattern = {
                let odd = rng.chance(50);
                rng.pick(if odd { ODD_PATTERNS } else { PATTERNS })
            };
            let new_op = rng.pick(&[
                StringOp::Matches,
                StringOp::Matches,
                StringOp::StartsWith,
                StringOp::Contains,
            ]);
            let flip_case = rng.chance(30);
            let mut ls = leaves(b);
            ls.retain(|e| matches!(e, Expr::StringOp { .. }));
            match pick_mut(&mut ls, rng) {
                Some(Expr::StringOp {
                    op,
                    case_insensitive,
                    rhs,
                    ..
                }) => {
                    *op = new_op;
                    *rhs = Operand::Const(Const::String(pattern.to_string()));
                    if flip_case {
                        *case_insensitive = !*case_insensitive;
                    }
                    true
                }
                _ => false,
            }
        }
        Kind::Split => {
            let choice = rng.below(4);
            let upper = rng.pick(&[0, 1, 50_000, BUCKETS - 1, BUCKETS, BUCKETS + 1]);
            let value = rng.below(5) as u32;
            let mut results = rule_results(b);
            results.retain(|r| matches!(r, RuleResult::Split { .. }));
            let Some(RuleResult::Split { arms, .. }) = pick_mut(&mut results, rng) else {
                return false;
            };
            match choice {
                0 => arms.reverse(),
                1 => {
                    arms.pop();
                }
                _ => {
                    let n = arms.len();
                    if let Some(arm) = arms.get_mut(value as usize % n.max(1)) {
                        if choice == 2 {
                            arm.upper = upper;
                        } else {
                            arm.value = value;
                        }
                    }
                }
            }
            true
        }
        Kind::Rollout => {
            let buckets = rng.pick(&[0, 1, BUCKETS, BUCKETS + 1, u32::MAX]);
            let value = rng.below(5) as u32;
            let which = rng.chance(50);
            let mut results = rule_results(b);
            results.retain(|r| matches!(r, RuleResult::Rollout { .. }));
            match pick_mut(&mut results, rng) {
                Some(RuleResult::Rollout {
                    buckets: bs,
                    value: v,
                    ..
                }) => {
                    if which {
                        *bs = buckets;
                    } else {
                        *v = value;
                    }
                    true
                }
                _ => false,
            }
        }
        Kind::SegmentOrder => {
            let n = b.segments.len();
            if n < 2 {
                return false;
            }
            let (i, j) = (rng.below(n), rng.below(n));
            b.segments.swap(i, j);
            true
        }
        Kind::SegmentRef => {
            let index = rng.below(b.segments.len() + 2) as u32;
            pick_mut(&mut leaves(b), rng)
                .map(|e| **e = Expr::Segment(index))
                .is_some()
        }
        Kind::Prerequisite => {
            let n = b.flags.len();
            let target = rng.below(n + 1) as u32;
            let mut ps: Vec<&mut Prerequisite> = b
                .flags
                .iter_mut()
                .flat_map(|f| f.prerequisites.iter_mut())
                .collect();
            if let Some(p) = pick_mut(&mut ps, rng) {
                p.flag = target;
                return true;
            }
            // None yet: one flag requires another, maybe a later one.
            let i = rng.below(n);
            match b.flags.get_mut(i) {
                Some(f) => {
                    f.prerequisites.push(Prerequisite {
                        flag: target,
                        negated: false,
                        expect: PrerequisiteValue::Value(FlagValue::Bool(true)),
                    });
                    true
                }
                None => false,
            }
        }
        Kind::ValueIndex => {
            let value = rng.below(5) as u32;
            match rng.below(3) {
                0 => pick_mut(&mut b.flags.iter_mut().collect::<Vec<_>>(), rng)
                    .map(|f| f.default = value)
                    .is_some(),
                1 => pick_mut(&mut b.experiments.iter_mut().collect::<Vec<_>>(), rng)
                    .map(|x| x.control = value)
                    .is_some(),
                _ => {
                    let mut results = rule_results(b);
                    results.retain(|r| matches!(r, RuleResult::Serve(_)));
                    pick_mut(&mut results, rng)
                        .map(|r| **r = RuleResult::Serve(value))
                        .is_some()
                }
            }
        }
        Kind::ValueType => {
            let v = rng.pick(&[
                FlagValue::Bool(true),
                FlagValue::Int(7),
                FlagValue::Float(0.5),
                FlagValue::String("x".into()),
            ]);
            let mut values: Vec<&mut FlagValue> = b
                .flags
                .iter_mut()
                .flat_map(|f| f.values.iter_mut().map(|s| &mut s.value))
                .collect();
            pick_mut(&mut values, rng).map(|x| **x = v).is_some()
        }
        Kind::Experiment => {
            let upper = rng.pick(&[0, 1, 50_000, BUCKETS, BUCKETS + 1]);
            let choice = rng.below(3);
            let layers = b.layers.len() as u32;
            let layer = rng.below(layers as usize + 2) as u32;
            let mut xs: Vec<&mut Experiment> = b.experiments.iter_mut().collect();
            let Some(x) = pick_mut(&mut xs, rng) else {
                return false;
            };
            match choice {
                0 => {
                    let last = x.variants.len().saturating_sub(1);
                    if let Some(v) = x.variants.get_mut(upper as usize % (last + 1)) {
                        v.upper = upper;
                    }
                }
                1 => x.enrolment_range = (upper, x.enrolment_range.1),
                _ => x.layer = Some(layer),
            }
            true
        }
        Kind::Layer => {
            let n = b.experiments.len();
            let e = rng.below(n + 1) as u32;
            match pick_mut(&mut b.layers.iter_mut().collect::<Vec<_>>(), rng) {
                Some(layer) => {
                    layer.experiments.push(e);
                    true
                }
                None => false,
            }
        }
        Kind::Bucketing => {
            let slot = any_slot(b, rng);
            let mut units: Vec<&mut Slot> = b
                .experiments
                .iter_mut()
                .map(|x| &mut x.bucketing.unit)
                .collect();
            for f in &mut b.flags {
                for r in &mut f.rules {
                    match &mut r.result {
                        RuleResult::Rollout { bucketing, .. }
                        | RuleResult::Staged { bucketing, .. }
                        | RuleResult::Split { bucketing, .. } => units.push(&mut bucketing.unit),
                        RuleResult::Serve(_) => {}
                    }
                }
            }
            pick_mut(&mut units, rng).map(|u| **u = slot).is_some()
        }
        Kind::Nesting => {
            let depth = rng.pick(&[1, 2, 40, 255, 300]);
            pick_mut(&mut leaves(b), rng)
                .map(|e| {
                    let mut x = std::mem::replace(&mut **e, Expr::Const(true));
                    for _ in 0..depth {
                        x = Expr::Not(Box::new(x));
                    }
                    **e = x;
                })
                .is_some()
        }
        Kind::BoolField => {
            let slot = any_slot(b, rng);
            pick_mut(&mut leaves(b), rng)
                .map(|e| **e = Expr::Field(slot))
                .is_some()
        }
    }
}

fn pick_mut<'v, T>(items: &'v mut [T], rng: &mut Rng) -> Option<&'v mut T> {
    let i = rng.below(items.len());
    items.get_mut(i)
}

/// A slot: mostly one a field has, sometimes none does.
fn any_slot(b: &Bundle, rng: &mut Rng) -> Slot {
    let slots: Vec<Slot> = b
        .schema
        .contexts
        .iter()
        .flat_map(|c| c.fields.iter().map(|f| f.slot))
        .collect();
    if slots.is_empty() || rng.chance(15) {
        rng.pick(&[
            b.schema.slot_count,
            b.schema.slot_count.saturating_add(1),
            u32::MAX,
        ])
    } else {
        rng.pick(&slots)
    }
}

fn fields(b: &mut Bundle) -> Vec<&mut FieldSchema> {
    b.schema
        .contexts
        .iter_mut()
        .flat_map(|c| c.fields.iter_mut())
        .collect()
}

fn version(text: &str) -> Semver {
    Semver::parse(text).unwrap()
}

/// A version at an edge of the packable range `edge` percent of the time,
/// else an ordinary one.
fn some_version(rng: &mut Rng, edge: u64) -> Semver {
    let at_edge = rng.chance(edge);
    version(rng.pick(if at_edge { EDGE_VERSIONS } else { VERSIONS }))
}

fn scalar_type(rng: &mut Rng) -> FieldType {
    match rng.below(9) {
        8 => FieldType::Ip,
        0 => FieldType::Bool,
        1 => FieldType::Int,
        2 => FieldType::Float,
        3 => FieldType::String,
        4 => FieldType::Semver,
        5 => FieldType::Timestamp,
        // Never empty: the context generator picks a value of each enum.
        _ => {
            let n = rng.pick(&[1, 2, 3, 70]);
            FieldType::Enum((0..n).map(|i| format!("e{i}")).collect())
        }
    }
}

fn field_type(rng: &mut Rng) -> FieldType {
    match rng.below(10) {
        0 | 1 => FieldType::List(Box::new(scalar_type(rng))),
        2 if rng.chance(30) => FieldType::List(Box::new(FieldType::List(Box::new(FieldType::Int)))),
        _ => scalar_type(rng),
    }
}

fn constant(rng: &mut Rng) -> Const {
    match rng.below(8) {
        7 => Const::Ip(ip::Ip::parse(rng.pick(IPS)).expect("pool addresses parse")),
        0 => Const::Bool(rng.chance(50)),
        1 => Const::Int(rng.pick(INTS)),
        2 => Const::Float(rng.pick(FLOATS)),
        3 => Const::String(rng.pick(STRINGS).to_string()),
        4 => Const::Semver(some_version(rng, 30)),
        5 => Const::Timestamp(rng.pick(TIMES)),
        _ => Const::Enum(rng.pick(&[0, 1, 2, 70])),
    }
}

/// A constant of a field's type (none for a list).
fn constant_of(ty: &FieldType, rng: &mut Rng) -> Option<Const> {
    Some(match ty {
        FieldType::Bool => Const::Bool(rng.chance(50)),
        FieldType::Int => Const::Int(rng.pick(INTS)),
        FieldType::Float => Const::Float(rng.pick(FLOATS)),
        FieldType::String => Const::String(rng.pick(STRINGS).to_string()),
        FieldType::Semver => Const::Semver(some_version(rng, 0)),
        FieldType::Timestamp => Const::Timestamp(rng.pick(TIMES)),
        FieldType::Enum(values) => Const::Enum(rng.below(values.len()) as u32),
        FieldType::Ip => Const::Ip(ip::Ip::parse(rng.pick(IPS)).expect("pool addresses parse")),
        FieldType::List(_) => return None,
    })
}

fn set(rng: &mut Rng) -> ConstSet {
    let n = rng.below(4);
    match rng.below(8) {
        7 => ConstSet::Cidr(
            (0..n)
                .map(|_| ip::Cidr::parse(rng.pick(RANGES)).expect("pool ranges parse"))
                .collect(),
        ),
        0 => ConstSet::Bool((0..n).map(|_| rng.chance(50)).collect()),
        1 => ConstSet::Int((0..n).map(|_| rng.pick(INTS)).collect()),
        2 => ConstSet::Float((0..n).map(|_| rng.pick(FLOATS)).collect()),
        3 => ConstSet::String((0..n).map(|_| rng.pick(STRINGS).to_string()).collect()),
        4 => ConstSet::Semver((0..n).map(|_| some_version(rng, 30)).collect()),
        5 => ConstSet::Timestamp((0..n).map(|_| rng.pick(TIMES)).collect()),
        _ => ConstSet::Enum((0..n).map(|_| rng.pick(&[0, 1, 2, 69, 70])).collect()),
    }
}

/// Every condition of the bundle, at its root.
fn roots(b: &mut Bundle) -> Vec<&mut Expr> {
    let mut out: Vec<&mut Expr> = b.segments.iter_mut().map(|s| &mut s.condition).collect();
    for f in b.flags.iter_mut() {
        out.extend(f.rules.iter_mut().map(|r| &mut r.condition));
        out.extend(f.enabled_when.as_mut());
    }
    out.extend(b.experiments.iter_mut().map(|x| &mut x.audience));
    out
}

/// Every leaf of every condition (whatever is not `and`, `or`, `not`).
fn leaves(b: &mut Bundle) -> Vec<&mut Expr> {
    fn walk<'a>(e: &'a mut Expr, out: &mut Vec<&'a mut Expr>) {
        match e {
            Expr::And(xs) | Expr::Or(xs) => xs.iter_mut().for_each(|x| walk(x, out)),
            Expr::Not(x) => walk(x, out),
            other => out.push(other),
        }
    }
    let mut out = Vec::new();
    for root in roots(b) {
        walk(root, &mut out);
    }
    out
}

fn expr_operands(e: &mut Expr) -> Vec<&mut Operand> {
    match e {
        Expr::Compare { lhs, rhs, .. } | Expr::StringOp { lhs, rhs, .. } => vec![lhs, rhs],
        Expr::InSet { operand, .. } => vec![operand],
        Expr::ListContains { value, .. } => vec![value],
        _ => Vec::new(),
    }
}

fn operands(b: &mut Bundle) -> Vec<&mut Operand> {
    leaves(b).into_iter().flat_map(expr_operands).collect()
}

/// Every slot a condition names.
fn slot_refs(b: &mut Bundle) -> Vec<&mut Slot> {
    let mut out = Vec::new();
    for e in leaves(b) {
        match e {
            Expr::Field(s) | Expr::IsSet(s) => out.push(s),
            Expr::ListContains { list, value } => {
                out.push(list);
                if let Operand::Field(s) = value {
                    out.push(s);
                }
            }
            other => {
                for o in expr_operands(other) {
                    if let Operand::Field(s) = o {
                        out.push(s);
                    }
                }
            }
        }
    }
    out
}

fn rule_results(b: &mut Bundle) -> Vec<&mut RuleResult> {
    b.flags
        .iter_mut()
        .flat_map(|f| f.rules.iter_mut().map(|r| &mut r.result))
        .collect()
}
