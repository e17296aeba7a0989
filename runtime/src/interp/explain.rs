//! The explaining evaluation: the path a flag's evaluation took, step by
//! step (its switch, its prerequisites, each rule in order, the default),
//! and for each step that did not decide, why: the comparison that failed
//! with the context's value. It follows the interpreter (the
//! specification) and shares its code, preparing each sub-condition on its
//! own; it is for people (`vexil eval --explain`, the dashboard's Why page),
//! not for the hot path, which it does not touch.

use serde::Serialize;
use vexil_ir::{self as ir, Const, ConstSet, FieldType, Operand, ValidBundle};

use super::{Interpreter, PResult, Scratch, Tri};
use crate::context::{Context, INVALID, MISSING};

/// Why a flag served what it served.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// The flag.
    pub flag: String,
    /// Each step evaluation took, in order; the last one decided.
    pub steps: Vec<ExplainStep>,
}

/// One step of a flag's evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplainStep {
    /// What was tried: `rule launch-na`, `rule 2`, `requires payments-v2`,
    /// `enabled when`, `default`, `off`.
    pub step: String,
    /// `matched`, `not matched`, `unknown` (a value it reads is missing),
    /// `outside the rollout`, `error`, or `served` (the default).
    pub verdict: &'static str,
    /// Why, in words: the failing comparisons with the context's values,
    /// the unit's bucket, what a prerequisite served.
    pub because: Vec<String>,
}

fn step(step: impl Into<String>, verdict: &'static str, because: Vec<String>) -> ExplainStep {
    ExplainStep {
        step: step.into(),
        verdict,
        because,
    }
}

fn verdict(t: Tri) -> &'static str {
    match t {
        Tri::True => "matched",
        Tri::False => "not matched",
        Tri::Unknown => "unknown",
        Tri::Error => "error",
    }
}

/// Reads the bundle's names for slots, segments and constants.
struct Words<'b> {
    bundle: &'b ValidBundle,
    json: Option<&'b serde_json::Value>,
    ctx: &'b Context,
    now: i64,
}

impl Words<'_> {
    fn field(&self, slot: u32) -> String {
        match self.bundle.schema.field_at(slot) {
            Some((c, f)) => format!("{}.{}", c.name, f.name),
            None => format!("slot {slot}"),
        }
    }

    fn enum_name(&self, slot: Option<u32>, index: u32) -> String {
        let values =
            slot.and_then(|s| self.bundle.schema.field_at(s))
                .and_then(|(_, f)| match &f.ty {
                    FieldType::Enum(values) => Some(values),
                    FieldType::List(inner) => match inner.as_ref() {
                        FieldType::Enum(values) => Some(values),
                        _ => None,
                    },
                    _ => None,
                });
        values
            .and_then(|v| v.get(index as usize))
            .cloned()
            .unwrap_or_else(|| format!("#{index}"))
    }

    fn constant(&self, c: &Const, other: Option<u32>) -> String {
        match c {
            Const::Bool(b) => b.to_string(),
            Const::Int(i) => i.to_string(),
            Const::Float(f) => f.to_string(),
            Const::String(s) => format!("{s:?}"),
            Const::Semver(v) => v.to_string(),
            Const::Timestamp(t) => ir::value::format_timestamp(*t),
            Const::Enum(i) => self.enum_name(other, *i),
            // Written as strings in the source, as it reads them back.
            Const::Ip(ip) => format!("\"{ip}\""),
        }
    }

    fn set(&self, set: &ConstSet, other: Option<u32>) -> String {
        let items: Vec<String> = match set {
            ConstSet::Int(v) => v.iter().map(i64::to_string).collect(),
            ConstSet::Float(v) => v.iter().map(f64::to_string).collect(),
            ConstSet::String(v) => v.iter().map(|s| format!("{s:?}")).collect(),
            ConstSet::Semver(v) => v.iter().map(ToString::to_string).collect(),
            ConstSet::Timestamp(v) => v.iter().map(|t| ir::value::format_timestamp(*t)).collect(),
            ConstSet::Enum(v) => v.iter().map(|i| self.enum_name(other, *i)).collect(),
            ConstSet::Bool(v) => v.iter().map(bool::to_string).collect(),
            ConstSet::Cidr(v) => v.iter().map(|r| format!("\"{r}\"")).collect(),
        };
        format!("[{}]", items.join(", "))
    }

    fn operand(&self, o: &Operand, other: Option<u32>) -> String {
        match o {
            Operand::Field(s) => self.field(*s),
            Operand::Const(c) => self.constant(c, other),
            Operand::Now => "now".to_string(),
            Operand::NowOffset(d) => format!(
                "now {} {}µs",
                if *d < 0 { "-" } else { "+" },
                d.unsigned_abs()
            ),
        }
    }

    /// A condition, written back in the language's words.
    fn condition(&self, e: &ir::Expr) -> String {
        let slot = |o: &Operand| match o {
            Operand::Field(s) => Some(*s),
            _ => None,
        };
        match e {
            ir::Expr::Const(b) => b.to_string(),
            ir::Expr::And(xs) => xs
                .iter()
                .map(|x| self.nested(x))
                .collect::<Vec<_>>()
                .join(" and "),
            ir::Expr::Or(xs) => xs
                .iter()
                .map(|x| self.nested(x))
                .collect::<Vec<_>>()
                .join(" or "),
            ir::Expr::Not(x) => format!("not {}", self.nested(x)),
            ir::Expr::Field(s) => self.field(*s),
            ir::Expr::IsSet(s) => format!("{} is set", self.field(*s)),
            ir::Expr::Compare { lhs, op, rhs } => format!(
                "{} {} {}",
                self.operand(lhs, slot(rhs)),
                op.as_str(),
                self.operand(rhs, slot(lhs))
            ),
            ir::Expr::InSet { operand, set } => {
                format!(
                    "{} in {}",
                    self.operand(operand, None),
                    self.set(set, slot(operand))
                )
            }
            ir::Expr::ListContains { list, value } => {
                format!(
                    "{} contains {}",
                    self.field(*list),
                    self.operand(value, Some(*list))
                )
            }
            ir::Expr::ListContainsAny { list, set } => {
                format!(
                    "{} contains any {}",
                    self.field(*list),
                    self.set(set, Some(*list))
                )
            }
            ir::Expr::ListContainsAll { list, set } => {
                format!(
                    "{} contains all {}",
                    self.field(*list),
                    self.set(set, Some(*list))
                )
            }
            ir::Expr::StringOp {
                lhs,
                op,
                case_insensitive,
                rhs,
            } => format!(
                "{} {}{} {}",
                self.operand(lhs, None),
                if *case_insensitive { "i" } else { "" },
                op.as_str(),
                self.operand(rhs, None)
            ),
            ir::Expr::Segment(i) => self
                .bundle
                .segments
                .get(*i as usize)
                .map_or_else(|| format!("segment #{i}"), |s| s.name.clone()),
        }
    }

    fn nested(&self, e: &ir::Expr) -> String {
        match e {
            ir::Expr::And(_) | ir::Expr::Or(_) => format!("({})", self.condition(e)),
            _ => self.condition(e),
        }
    }

    /// What the context holds in `slot`, in words.
    fn value(&self, slot: u32) -> String {
        match self.ctx.slot(slot).tag {
            MISSING => return "missing".to_string(),
            INVALID => return "not of its type (invalid)".to_string(),
            _ => {}
        }
        let given = self.bundle.schema.field_at(slot).and_then(|(c, f)| {
            let json = self.json?;
            json.get(&c.name)
                .and_then(|o| o.get(&f.name))
                .or_else(|| json.get(&f.name))
        });
        match given {
            Some(v) => v.to_string(),
            None => "set".to_string(),
        }
    }

    /// The values a leaf condition reads, as `field is value`.
    fn reads(&self, e: &ir::Expr) -> Vec<String> {
        let mut slots = Vec::new();
        let mut now = false;
        let mut operand = |o: &Operand, slots: &mut Vec<u32>| match o {
            Operand::Field(s) => slots.push(*s),
            Operand::Now | Operand::NowOffset(_) => now = true,
            Operand::Const(_) => {}
        };
        match e {
            ir::Expr::Field(s) | ir::Expr::IsSet(s) => slots.push(*s),
            ir::Expr::Compare { lhs, rhs, .. } | ir::Expr::StringOp { lhs, rhs, .. } => {
                operand(lhs, &mut slots);
                operand(rhs, &mut slots);
            }
            ir::Expr::InSet { operand: o, .. } => operand(o, &mut slots),
            ir::Expr::ListContains { list, value } => {
                slots.push(*list);
                operand(value, &mut slots);
            }
            ir::Expr::ListContainsAny { list, .. } | ir::Expr::ListContainsAll { list, .. } => {
                slots.push(*list)
            }
            _ => {}
        }
        let mut out: Vec<String> = slots
            .into_iter()
            .map(|s| format!("{} is {}", self.field(s), self.value(s)))
            .collect();
        if now {
            out.push(format!("now is {}", ir::value::format_timestamp(self.now)));
        }
        out
    }
}

impl Interpreter {
    /// A sub-condition's value, prepared on its own.
    fn tri(&self, bundle: &ValidBundle, e: &ir::Expr, ctx: &Context, now: i64) -> Tri {
        let prepared = super::prepare::prepare_expr(bundle, e);
        let mut scratch = Scratch {
            error_slot: u32::MAX,
        };
        self.eval(&prepared, ctx, now, &mut scratch)
    }

    /// Why `e` is not true: its failing parts, as far down as they go.
    fn why(&self, words: &Words, e: &ir::Expr, out: &mut Vec<String>, depth: u32) {
        let t = self.tri(words.bundle, e, words.ctx, words.now);
        if depth > 32 {
            out.push(format!("`{}` is {}", words.condition(e), word(t)));
            return;
        }
        match e {
            ir::Expr::And(xs) => {
                // The first part that is not true decides (or leaves it unknown).
                for x in xs {
                    if self.tri(words.bundle, x, words.ctx, words.now) != Tri::True {
                        self.why(words, x, out, depth + 1);
                        if self.tri(words.bundle, x, words.ctx, words.now) != Tri::Unknown {
                            return;
                        }
                    }
                }
            }
            ir::Expr::Or(xs) => {
                for x in xs {
                    self.why(words, x, out, depth + 1);
                }
            }
            ir::Expr::Not(x) => {
                let inner = self.tri(words.bundle, x, words.ctx, words.now);
                let mut line = format!("`{}` is {}", words.condition(x), word(inner));
                let reads = leaf_reads(words, x);
                if !reads.is_empty() {
                    line.push_str(": ");
                    line.push_str(&reads.join(", "));
                }
                out.push(line);
            }
            ir::Expr::Segment(i) => {
                let name = words.condition(e);
                out.push(format!("segment `{name}` is {}", word(t)));
                if let Some(s) = words.bundle.segments.get(*i as usize) {
                    self.why(words, &s.condition, out, depth + 1);
                }
            }
            leaf => {
                let mut line = format!("`{}` is {}", words.condition(leaf), word(t));
                let reads = words.reads(leaf);
                if !reads.is_empty() {
                    line.push_str(": ");
                    line.push_str(&reads.join(", "));
                }
                out.push(line);
            }
        }
    }

    /// The path of flag `index`'s evaluation for `ctx` at `now`. `json`,
    /// the context as given, lets messages quote its values.
    pub(crate) fn explain_flag(
        &self,
        bundle: &ValidBundle,
        index: u32,
        ctx: &Context,
        json: Option<&serde_json::Value>,
        now: i64,
    ) -> Option<Explanation> {
        let flag = bundle.flags.get(index as usize)?;
        let prepared = self.program.flags.get(index as usize)?;
        let words = Words {
            bundle,
            json,
            ctx,
            now,
        };
        let value = |id: u32| {
            flag.values.get(id as usize).map_or_else(
                || "?".to_string(),
                |v| match &v.variant {
                    Some(name) => format!("{name} ({})", v.value),
                    None => v.value.to_string(),
                },
            )
        };
        let mut steps = Vec::new();
        let done = |mut steps: Vec<ExplainStep>, last: ExplainStep| {
            steps.push(last);
            Some(Explanation {
                flag: flag.name.clone(),
                steps,
            })
        };
        if !flag.enabled {
            return done(
                steps,
                step(
                    "off",
                    "served",
                    vec![format!(
                        "the flag is off in its source: it serves its default, {}",
                        value(flag.default)
                    )],
                ),
            );
        }
        if let Some(switch) = &flag.enabled_when {
            let t = self.tri(bundle, switch, ctx, now);
            let mut because = Vec::new();
            if t != Tri::True {
                self.why(&words, switch, &mut because, 0);
                because.push(format!(
                    "so the flag is off: it serves its default, {}",
                    value(flag.default)
                ));
                return done(steps, step("enabled when", verdict(t), because));
            }
            steps.push(step("enabled when", "matched", Vec::new()));
        }
        for p in &flag.prerequisites {
            let Some(required) = bundle.flags.get(p.flag as usize) else {
                continue;
            };
            let got = self.flag_at(p.flag, ctx, now, 1);
            let served = required.values.get(got.value as usize);
            let equal = match (&p.expect, served) {
                (ir::PrerequisiteValue::Value(v), Some(s)) => &s.value == v,
                (ir::PrerequisiteValue::Variant(name), Some(s)) => {
                    s.variant.as_deref() == Some(name.as_str())
                }
                (_, None) => false,
            };
            let expected = match &p.expect {
                ir::PrerequisiteValue::Value(v) => v.to_string(),
                ir::PrerequisiteValue::Variant(v) => v.clone(),
            };
            let what = format!(
                "requires {} {} {expected}",
                required.name,
                if p.negated { "!=" } else { "==" }
            );
            let got_text = served.map_or_else(
                || "nothing".to_string(),
                |s| match &s.variant {
                    Some(n) => format!("{n} ({})", s.value),
                    None => s.value.to_string(),
                },
            );
            let because = vec![format!(
                "{} served {got_text} ({})",
                required.name,
                got.reason.as_str()
            )];
            if equal == p.negated {
                let mut because = because;
                because.push(format!(
                    "so the flag serves its default, {}",
                    value(flag.default)
                ));
                return done(steps, step(what, "not matched", because));
            }
            steps.push(step(what, "matched", because));
        }
        for (i, (rule, p)) in flag.rules.iter().zip(prepared.rules.iter()).enumerate() {
            let name = match &rule.name {
                Some(n) => format!("rule {n}"),
                None => format!("rule {}", i + 1),
            };
            let t = self.tri(bundle, &rule.condition, ctx, now);
            if t != Tri::True {
                let mut because = Vec::new();
                self.why(&words, &rule.condition, &mut because, 0);
                if t == Tri::Error {
                    return done(steps, step(name, "error", because));
                }
                steps.push(step(name, verdict(t), because));
                continue;
            }
            let decided = |because: Vec<String>| step(name.clone(), "matched", because);
            match &p.result {
                PResult::Serve(v) => {
                    return done(steps, decided(vec![format!("it serves {}", value(*v))]));
                }
                PResult::Rollout(b, _, v) | PResult::Staged(b, _, v) => {
                    let cut = match &p.result {
                        PResult::Staged(_, stages, _) => vexil_ir::staged_buckets(stages, now),
                        PResult::Rollout(_, buckets, _) => *buckets,
                        PResult::Serve(_) | PResult::Split(..) => 0,
                    };
                    match self.bucket(b, ctx) {
                        Ok(bucket) if bucket < cut => {
                            return done(steps, decided(vec![format!(
                                "the unit's bucket {bucket} is inside the rollout's {} ({} of {}): it serves {}",
                                vexil_ir::bucket::buckets_to_percent(cut),
                                cut,
                                vexil_ir::bucket::BUCKETS,
                                value(*v)
                            )]));
                        }
                        Ok(bucket) => steps.push(step(name, "outside the rollout", vec![format!(
                            "its condition holds, but the unit's bucket {bucket} is not below {cut} ({} rolled out)",
                            vexil_ir::bucket::buckets_to_percent(cut)
                        )])),
                        Err(e) => {
                            return done(steps, step(name, "error", vec![format!("the unit cannot be bucketed: {}", e.as_str())]));
                        }
                    }
                }
                PResult::Split(b, arms) => match self.bucket(b, ctx) {
                    Ok(bucket) => {
                        let v = arms
                            .iter()
                            .find(|(upper, _)| bucket < *upper)
                            .map_or(flag.default, |(_, v)| *v);
                        return done(
                            steps,
                            decided(vec![format!(
                                "the unit's bucket {bucket} falls to {}",
                                value(v)
                            )]),
                        );
                    }
                    Err(e) => {
                        return done(
                            steps,
                            step(
                                name,
                                "error",
                                vec![format!("the unit cannot be bucketed: {}", e.as_str())],
                            ),
                        );
                    }
                },
            }
        }
        done(
            steps,
            step(
                "default",
                "served",
                vec![format!(
                    "no rule matched: it serves its default, {}",
                    value(flag.default)
                )],
            ),
        )
    }
}

fn word(t: Tri) -> &'static str {
    match t {
        Tri::True => "true",
        Tri::False => "false",
        Tri::Unknown => "unknown",
        Tri::Error => "an error",
    }
}

/// The values a condition reads, for a `not`'s inner leaf.
fn leaf_reads(words: &Words, e: &ir::Expr) -> Vec<String> {
    match e {
        ir::Expr::And(_) | ir::Expr::Or(_) | ir::Expr::Not(_) | ir::Expr::Segment(_) => Vec::new(),
        leaf => words.reads(leaf),
    }
}
