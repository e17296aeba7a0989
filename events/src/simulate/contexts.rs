//! Contexts for simulated units. Random strings would almost never satisfy
//! an audience like `location.country in ["US", "CA"] and not internal`,
//! so each field the audience reads (through its segments too) draws from
//! the constants the audience compares it with, plus one value that
//! matches none of them: the runtime then decides eligibility exactly as
//! in production, and a realistic share of units falls outside.

use std::collections::BTreeMap;

use rand::Rng;
use serde_json::{json, Value};
use vexil_ir::{self as ir, Bundle, Const, ConstSet, Expr, FieldType, Operand, StringOp};

/// What a field may be set to.
#[derive(Clone, Debug, Default)]
struct Choices {
    values: Vec<Value>,
    /// The field may be left out (it was tested with `is set`).
    may_be_missing: bool,
}

/// Draws contexts for one experiment.
pub(crate) struct ContextGenerator {
    /// `(context, field, type, choices)` for every field the audience reads.
    fields: Vec<(String, String, FieldType, Choices)>,
    /// Where the unit goes: `(context, field, is_int)`.
    unit: (String, String, bool),
}

fn const_json(c: &Const, ty: &FieldType) -> Value {
    match c {
        Const::Bool(b) => json!(b),
        Const::Int(i) => json!(i),
        Const::Float(f) => json!(f),
        Const::String(s) => json!(s),
        Const::Semver(v) => json!(v.to_string()),
        Const::Timestamp(t) => json!(ir::value::format_timestamp(*t)),
        Const::Enum(i) => enum_name(ty, *i as usize),
        Const::Ip(ip) => json!(ip.to_string()),
    }
}

fn enum_name(ty: &FieldType, i: usize) -> Value {
    match ty {
        FieldType::Enum(values) => values.get(i).map_or(Value::Null, |v| json!(v)),
        _ => Value::Null,
    }
}

/// Values on both sides of an ordered comparison's boundary.
fn around(c: &Const, ty: &FieldType) -> Vec<Value> {
    match c {
        Const::Int(i) => vec![
            json!(i.saturating_sub(1)),
            json!(i),
            json!(i.saturating_add(1)),
        ],
        Const::Float(f) => vec![json!(f - 1.0), json!(f), json!(f + 1.0)],
        Const::Timestamp(t) => [-crate::metric::DAY, 0, crate::metric::DAY]
            .iter()
            .map(|d| json!(ir::value::format_timestamp(t.saturating_add(*d))))
            .collect(),
        other => vec![const_json(other, ty)],
    }
}

fn set_json(set: &ConstSet, ty: &FieldType) -> Vec<Value> {
    match set {
        ConstSet::Int(v) => v.iter().map(|x| json!(x)).collect(),
        ConstSet::Float(v) => v.iter().map(|x| json!(x)).collect(),
        ConstSet::String(v) => v.iter().map(|x| json!(x)).collect(),
        ConstSet::Semver(v) => v.iter().map(|x| json!(x.to_string())).collect(),
        ConstSet::Timestamp(v) => v
            .iter()
            .map(|x| json!(ir::value::format_timestamp(*x)))
            .collect(),
        ConstSet::Enum(v) => v.iter().map(|x| enum_name(ty, *x as usize)).collect(),
        ConstSet::Bool(v) => v.iter().map(|x| json!(x)).collect(),
        // A range's network address is in it.
        ConstSet::Cidr(v) => v.iter().map(|r| json!(r.net.to_string())).collect(),
    }
}

fn string_matching(op: StringOp, s: &str) -> Option<Value> {
    match op {
        StringOp::Equals => Some(json!(s)),
        StringOp::StartsWith => Some(json!(format!("{s}sim"))),
        StringOp::EndsWith => Some(json!(format!("sim{s}"))),
        StringOp::Contains => Some(json!(format!("sim{s}sim"))),
        // A value matching an arbitrary pattern cannot be made up.
        StringOp::Matches => None,
    }
}

/// Collects choices per slot from an expression, following segments.
struct Harvest<'a> {
    bundle: &'a Bundle,
    choices: BTreeMap<ir::Slot, Choices>,
    seen_segments: Vec<u32>,
}

impl Harvest<'_> {
    fn ty(&self, slot: ir::Slot) -> FieldType {
        self.bundle
            .schema
            .field_at(slot)
            .map_or(FieldType::String, |(_, f)| f.ty.clone())
    }

    fn add(&mut self, slot: ir::Slot, values: Vec<Value>) {
        let entry = self.choices.entry(slot).or_default();
        for v in values {
            if !v.is_null() && !entry.values.contains(&v) {
                entry.values.push(v);
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Const(_) => {}
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|i| self.expr(i)),
            Expr::Not(inner) => self.expr(inner),
            Expr::Field(slot) => self.add(*slot, vec![json!(true), json!(false)]),
            Expr::IsSet(slot) => {
                self.choices.entry(*slot).or_default().may_be_missing = true;
            }
            Expr::Compare { lhs, rhs, .. } => match (lhs, rhs) {
                (Operand::Field(slot), Operand::Const(c))
                | (Operand::Const(c), Operand::Field(slot)) => {
                    let ty = self.ty(*slot);
                    self.add(*slot, around(c, &ty));
                }
                _ => {}
            },
            Expr::InSet {
                operand: Operand::Field(slot),
                set,
            } => {
                let ty = self.ty(*slot);
                self.add(*slot, set_json(set, &ty));
            }
            Expr::InSet { .. } => {}
            Expr::ListContains {
                list,
                value: Operand::Const(c),
            } => {
                let elem = match self.ty(*list) {
                    FieldType::List(t) => *t,
                    other => other,
                };
                let item = const_json(c, &elem);
                self.add(*list, vec![json!([item]), json!([])]);
            }
            Expr::ListContains { .. } => {}
            Expr::ListContainsAny { list, set } | Expr::ListContainsAll { list, set } => {
                let elem = match self.ty(*list) {
                    FieldType::List(t) => *t,
                    other => other,
                };
                // The whole set, its first value alone, and nothing.
                let items = set_json(set, &elem);
                let first: Vec<Value> = items.iter().take(1).cloned().collect();
                self.add(*list, vec![json!(items), json!(first), json!([])]);
            }
            Expr::StringOp {
                lhs: Operand::Field(slot),
                op,
                rhs: Operand::Const(Const::String(s)),
                ..
            } => {
                if let Some(v) = string_matching(*op, s) {
                    self.add(*slot, vec![v]);
                }
            }
            Expr::StringOp { .. } => {}
            Expr::Segment(i) => {
                if self.seen_segments.contains(i) {
                    return;
                }
                self.seen_segments.push(*i);
                if let Some(segment) = self.bundle.segments.get(*i as usize) {
                    self.expr(&segment.condition);
                }
            }
        }
    }
}

/// A value of `ty` that no audience constant is likely to equal.
fn other_value(ty: &FieldType, rng: &mut impl Rng) -> Value {
    match ty {
        FieldType::Bool => json!(rng.random_bool(0.5)),
        FieldType::Int => json!(rng.random_range(1_000_000..2_000_000)),
        FieldType::Float => json!(rng.random_range(1.0e6..2.0e6)),
        FieldType::String => json!(format!("other-{}", rng.random_range(0..1000))),
        FieldType::Semver => json!("0.0.1"),
        FieldType::Timestamp => json!("2000-01-01T00:00:00Z"),
        // The documentation range TEST-NET-1, in no audience's list likely.
        FieldType::Ip => json!(format!("192.0.2.{}", rng.random_range(1..255))),
        FieldType::Enum(values) => {
            if values.is_empty() {
                Value::Null
            } else {
                enum_name(ty, rng.random_range(0..values.len()))
            }
        }
        FieldType::List(_) => json!([]),
    }
}

impl ContextGenerator {
    pub(crate) fn new(bundle: &Bundle, experiment: &ir::Experiment) -> Result<Self, String> {
        let mut harvest = Harvest {
            bundle,
            choices: BTreeMap::new(),
            seen_segments: Vec::new(),
        };
        harvest.expr(&experiment.audience);
        let field = |slot: ir::Slot| -> Result<(String, String, FieldType), String> {
            bundle
                .schema
                .field_at(slot)
                .map(|(c, f)| (c.name.clone(), f.name.clone(), f.ty.clone()))
                .ok_or_else(|| format!("the bundle has no field at slot {slot}"))
        };
        let (uc, uf, uty) = field(experiment.bucketing.unit)?;
        let mut fields = Vec::new();
        for (slot, choices) in harvest.choices {
            if slot == experiment.bucketing.unit {
                continue;
            }
            let (c, f, ty) = field(slot)?;
            fields.push((c, f, ty, choices));
        }
        Ok(ContextGenerator {
            fields,
            unit: (uc, uf, uty == FieldType::Int),
        })
    }

    /// The unit's value as the runtime reports it in exposures.
    pub(crate) fn unit_text(&self, index: u64) -> String {
        if self.unit.2 {
            index.to_string()
        } else {
            format!("u-{index}")
        }
    }

    /// A context for unit number `index`: each audience field takes one of
    /// its choices or, as often as any one choice, a value matching none.
    pub(crate) fn context(&self, index: u64, rng: &mut impl Rng) -> Value {
        let mut root = serde_json::Map::new();
        let unit = if self.unit.2 {
            json!(index)
        } else {
            json!(self.unit_text(index))
        };
        set(&mut root, &self.unit.0, &self.unit.1, unit);
        for (context, field, ty, choices) in &self.fields {
            let n = choices.values.len() + 1 + usize::from(choices.may_be_missing);
            let pick = rng.random_range(0..n);
            let value = match choices.values.get(pick) {
                Some(v) => v.clone(),
                None if pick == choices.values.len() => other_value(ty, rng),
                None => continue,
            };
            set(&mut root, context, field, value);
        }
        Value::Object(root)
    }
}

fn set(root: &mut serde_json::Map<String, Value>, context: &str, field: &str, value: Value) {
    let entry = root
        .entry(context.to_string())
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(map) = entry {
        map.insert(field.to_string(), value);
    }
}
