//! The diff's view of a compiled bundle (`vexil build` output): every flag,
//! experiment, segment and context rendered back from the IR into the
//! words a `.flag` file uses (field paths, segment and flag names, variant
//! names, percentages, dates), so that `diff.rs` compares two bundles, or a
//! bundle and compiled sources, with the same rules as two sources.
//!
//! A bundle holds less than the sources: no comments, a rule's `from` and
//! `until` folded into its condition as `now` comparisons, a staged
//! rollout's stages as start times, an experiment's traffic as its range of
//! enrolment buckets. [`LIMITS`] says so to the reader; nothing here
//! guesses what the sources said.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use vexil_ir::bucket::BUCKETS;
use vexil_ir::{
    Bucketing, Bundle, Const, ConstSet, Expr, FieldType, Flag, FlagValue, Metric, MetricKind,
    Operand, PrerequisiteValue, RuleResult, ServedValue, Slot, StringOp,
};

use crate::diff::{Rule, View};

/// What a diff of bundles cannot show, said once with its changes.
pub const LIMITS: &str = "compared as compiled bundles, which keep no comments: a rule's `from`/`until` is part of its condition (`now` comparisons), a staged rollout's stages are start times, and an experiment's traffic is its range of enrolment buckets";

/// The version a server names a bundle by (`bundleVersion` of `GET
/// /v1/bundle`): the first 8 bytes of the SHA-256 of its JSON, in hex.
pub fn version(bundle: &Bundle) -> String {
    let digest = Sha256::digest(bundle.to_json().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Every item of `bundle` by name, as [`View`]s.
pub(crate) fn views(bundle: &Bundle) -> BTreeMap<String, View> {
    let names = Names { bundle };
    let mut out = BTreeMap::new();
    for c in &bundle.schema.contexts {
        let fields = c
            .fields
            .iter()
            .map(|f| {
                let mut ty = f.ty.to_string();
                if f.optional {
                    ty.push('?');
                }
                if c.key == Some(f.slot) {
                    ty = format!("key {ty}");
                }
                (f.name.clone(), ty)
            })
            .collect::<Vec<_>>();
        let body = fields
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect::<Vec<_>>()
            .join("; ");
        out.insert(c.name.clone(), View::context(fields, body));
    }
    for s in &bundle.segments {
        let condition = names.expr(&s.condition);
        out.insert(s.name.clone(), View::segment(condition.clone(), condition));
    }
    for flag in &bundle.flags {
        out.insert(flag.name.clone(), names.flag(flag));
    }
    for (n, _) in bundle.experiments.iter().enumerate() {
        if let Some((name, view)) = names.experiment(n) {
            out.insert(name, view);
        }
    }
    out
}

/// Properties every item may carry: owner, tags, expiry, description,
/// `client`.
fn metadata(
    meta: &vexil_ir::Metadata,
    properties: &mut BTreeMap<&'static str, Vec<String>>,
) -> Option<String> {
    if let Some(owner) = &meta.owner {
        properties.insert("owner", vec![format!("{owner:?}")]);
    }
    if !meta.tags.is_empty() {
        let tags: Vec<String> = meta.tags.iter().map(|t| format!("{t:?}")).collect();
        properties.insert("tags", vec![format!("[{}]", tags.join(", "))]);
    }
    if let Some(expires) = meta.expires {
        properties.insert("expires", vec![time(expires)]);
    }
    if let Some(description) = &meta.description {
        properties.insert("description", vec![format!("{description:?}")]);
    }
    if meta.client {
        properties.insert("client", vec!["yes".into()]);
    }
    meta.owner.clone()
}

/// The body a rename keeps: every property and rule, one per line.
fn body(properties: &BTreeMap<&'static str, Vec<String>>, rules: &[Rule]) -> String {
    let mut lines: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{k} {}", v.join("; ")))
        .collect();
    lines.extend(rules.iter().map(|r| format!("rule {}", r.text)));
    lines.join("\n")
}

/// Resolves the indices of the IR back to names.
struct Names<'b> {
    bundle: &'b Bundle,
}

impl Names<'_> {
    fn flag(&self, flag: &Flag) -> View {
        let mut properties: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let owner = metadata(&flag.meta, &mut properties);
        properties.insert("kind", vec![flag.kind.as_str().into()]);
        properties.insert("type", vec![flag.value_type.as_str().into()]);
        let served = |id: u32| served(&flag.values, id);
        properties.insert("default", vec![served(flag.default)]);
        if !flag.enabled {
            properties.insert("enabled", vec!["false".into()]);
        } else if let Some(when) = &flag.enabled_when {
            properties.insert("enabled", vec![format!("when {}", self.expr(when))]);
        }
        let variants: Vec<String> = flag
            .values
            .iter()
            .filter_map(|v| Some(format!("{} = {}", v.variant.as_ref()?, v.value)))
            .collect();
        if !variants.is_empty() {
            properties.insert("variants", vec![format!("{{ {} }}", variants.join(" "))]);
        }
        let requires: Vec<String> = flag
            .prerequisites
            .iter()
            .map(|p| {
                let name = self
                    .bundle
                    .flags
                    .get(p.flag as usize)
                    .map_or_else(|| format!("#{}", p.flag), |f| f.name.clone());
                let op = if p.negated { "!=" } else { "==" };
                match &p.expect {
                    PrerequisiteValue::Value(FlagValue::Bool(true)) if !p.negated => name,
                    PrerequisiteValue::Value(v) => format!("{name} {op} {v}"),
                    PrerequisiteValue::Variant(v) => format!("{name} {op} {v}"),
                }
            })
            .collect();
        if !requires.is_empty() {
            properties.insert("requires", requires);
        }
        let rules: Vec<Rule> = flag
            .rules
            .iter()
            .map(|r| {
                let condition = match &r.condition {
                    Expr::Const(true) => "always".to_string(),
                    c => self.expr(c),
                };
                let mut result = self.result(&r.result, &flag.values, &flag.name);
                if let Some(g) = &r.guardrails {
                    let guards: Vec<String> = g
                        .guards
                        .iter()
                        .map(|g| format!("{} => {}", metric(&g.metric), g.action.as_str()))
                        .collect();
                    result.push_str(&format!(" guarded by {{ {} }}", guards.join(", ")));
                    if let Some(n) = g.min_sample {
                        result.push_str(&format!(" min sample {n} per stage"));
                    }
                }
                let name = r.name.clone();
                let when = if condition == "always" {
                    String::new()
                } else {
                    format!("when {condition} ")
                };
                let text = match &name {
                    Some(n) => format!("{n}: {when}=> {result}"),
                    None => format!("{when}=> {result}"),
                };
                Rule {
                    name,
                    // A bundle keeps the schedule inside the condition.
                    schedule: "always".into(),
                    condition,
                    result,
                    text,
                }
            })
            .collect();
        View {
            item: "flag",
            owner,
            body: body(&properties, &rules),
            properties,
            rules,
            fields: Vec::new(),
        }
    }

    fn experiment(&self, n: usize) -> Option<(String, View)> {
        let e = self.bundle.experiments.get(n)?;
        let mut properties: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let owner = metadata(&e.meta, &mut properties);
        properties.insert("type", vec![e.value_type.as_str().into()]);
        properties.insert("unit", vec![self.slot(e.bucketing.unit)]);
        if e.bucketing.salt != e.name {
            properties.insert("salt", vec![format!("{:?}", e.bucketing.salt)]);
        }
        let (lo, hi) = e.enrolment_range;
        properties.insert(
            "traffic",
            vec![format!(
                "{} (enrolment buckets {lo}..{hi})",
                percent(hi.saturating_sub(lo))
            )],
        );
        if let Some(layer) = e.layer {
            let name = self
                .bundle
                .layers
                .get(layer as usize)
                .map_or_else(|| format!("#{layer}"), |l| l.name.clone());
            properties.insert("layer", vec![name]);
        }
        if e.audience != Expr::Const(true) {
            properties.insert("audience", vec![self.expr(&e.audience)]);
        }
        if let Some(start) = e.start {
            properties.insert("start", vec![time(start)]);
        }
        if let Some(end) = e.end {
            properties.insert("end", vec![time(end)]);
        }
        let mut lower = 0;
        let variants: Vec<String> = e
            .variants
            .iter()
            .map(|v| {
                let weight = percent(v.upper.saturating_sub(lower));
                lower = v.upper;
                format!("{} = {} {weight}", v.name, v.value)
            })
            .collect();
        properties.insert("variants", vec![format!("{{ {} }}", variants.join(" "))]);
        if let Some(control) = e.variants.get(e.control as usize) {
            properties.insert("control", vec![control.name.clone()]);
        }
        if !e.metrics.is_empty() {
            properties.insert("metrics", e.metrics.iter().map(metric).collect());
        }
        if let Some(p) = &e.planning {
            let fields = [
                ("baseline", p.baseline),
                ("stddev", p.stddev),
                ("mde", p.mde),
                ("alpha", p.alpha),
                ("power", p.power),
                ("daily_units", p.daily_units),
            ];
            let written: Vec<String> = fields
                .iter()
                .filter_map(|(k, v)| Some(format!("{k} {}", (*v)?)))
                .collect();
            properties.insert("planning", vec![format!("{{ {} }}", written.join(" "))]);
        }
        let view = View {
            item: "experiment",
            owner,
            body: body(&properties, &[]),
            properties,
            rules: Vec::new(),
            fields: Vec::new(),
        };
        Some((e.name.clone(), view))
    }

    /// A rule's result as a `.flag` file writes it; the salt is named only
    /// when it is not the flag's own.
    fn result(&self, result: &RuleResult, values: &[ServedValue], flag: &str) -> String {
        let by = |b: &Bucketing| {
            let salt = if b.salt == flag {
                String::new()
            } else {
                format!(" salt {:?}", b.salt)
            };
            format!("by {}{salt}", self.slot(b.unit))
        };
        // A bool rollout serves `true` without saying so.
        let what = |value: u32| match values.get(value as usize) {
            Some(ServedValue {
                value: FlagValue::Bool(true),
                variant: None,
            }) => String::new(),
            _ => format!("{} for ", served(values, value)),
        };
        match result {
            RuleResult::Serve(v) => served(values, *v),
            RuleResult::Rollout {
                bucketing,
                buckets,
                value,
            } => format!("{}{} {}", what(*value), percent(*buckets), by(bucketing)),
            RuleResult::Staged {
                bucketing,
                stages,
                value,
            } => {
                let stages: Vec<String> = stages
                    .iter()
                    .map(|s| format!("{} from {}", percent(s.buckets), time(s.starts)))
                    .collect();
                format!("{}{} {}", what(*value), stages.join(", "), by(bucketing))
            }
            RuleResult::Split { bucketing, arms } => {
                let mut lower = 0;
                let arms: Vec<String> = arms
                    .iter()
                    .map(|a| {
                        let weight = percent(a.upper.saturating_sub(lower));
                        lower = a.upper;
                        format!("{} {weight}", served(values, a.value))
                    })
                    .collect();
                format!("split {} {{ {} }}", by(bucketing), arms.join(", "))
            }
        }
    }

    /// `context.field` of a slot.
    fn slot(&self, slot: Slot) -> String {
        match self.bundle.schema.field_at(slot) {
            Some((c, f)) => format!("{}.{}", c.name, f.name),
            None => format!("#{slot}"),
        }
    }

    fn field_type(&self, slot: Slot) -> Option<&FieldType> {
        self.bundle.schema.field_at(slot).map(|(_, f)| &f.ty)
    }

    /// A condition with the least parentheses `and` over `or` needs.
    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Const(b) => b.to_string(),
            Expr::And(items) => items
                .iter()
                .map(|i| match i {
                    Expr::Or(_) => format!("({})", self.expr(i)),
                    _ => self.expr(i),
                })
                .collect::<Vec<_>>()
                .join(" and "),
            Expr::Or(items) => items
                .iter()
                .map(|i| self.expr(i))
                .collect::<Vec<_>>()
                .join(" or "),
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Field(_) | Expr::Segment(_) | Expr::Const(_) => {
                    format!("not {}", self.expr(inner))
                }
                _ => format!("not ({})", self.expr(inner)),
            },
            Expr::Field(slot) => self.slot(*slot),
            Expr::IsSet(slot) => format!("{} is set", self.slot(*slot)),
            Expr::Compare { lhs, op, rhs } => {
                let ty = self.operand_type(lhs).or_else(|| self.operand_type(rhs));
                format!(
                    "{} {} {}",
                    self.operand(lhs, ty),
                    op.as_str(),
                    self.operand(rhs, ty)
                )
            }
            Expr::InSet { operand, set } => {
                let ty = self.operand_type(operand);
                format!("{} in {}", self.operand(operand, ty), set_text(set, ty))
            }
            Expr::ListContains { list, value } => {
                let elem = self.element_type(*list);
                format!(
                    "{} contains {}",
                    self.slot(*list),
                    self.operand(value, elem)
                )
            }
            Expr::ListContainsAny { list, set } => format!(
                "{} contains any {}",
                self.slot(*list),
                set_text(set, self.element_type(*list))
            ),
            Expr::ListContainsAll { list, set } => format!(
                "{} contains all {}",
                self.slot(*list),
                set_text(set, self.element_type(*list))
            ),
            Expr::StringOp {
                lhs,
                op,
                case_insensitive,
                rhs,
            } => {
                let word = match (op, case_insensitive) {
                    (StringOp::Equals, false) => "==".to_string(),
                    (op, false) => op.as_str().to_string(),
                    (op, true) => format!("i{}", op.as_str()),
                };
                format!(
                    "{} {word} {}",
                    self.operand(lhs, None),
                    self.operand(rhs, None)
                )
            }
            Expr::Segment(n) => self
                .bundle
                .segments
                .get(*n as usize)
                .map_or_else(|| format!("#{n}"), |s| s.name.clone()),
        }
    }

    fn operand_type(&self, o: &Operand) -> Option<&FieldType> {
        match o {
            Operand::Field(slot) => self.field_type(*slot),
            _ => None,
        }
    }

    fn element_type(&self, list: Slot) -> Option<&FieldType> {
        match self.field_type(list) {
            Some(FieldType::List(elem)) => Some(elem),
            _ => None,
        }
    }

    fn operand(&self, o: &Operand, ty: Option<&FieldType>) -> String {
        match o {
            Operand::Field(slot) => self.slot(*slot),
            Operand::Const(c) => constant(c, ty),
            Operand::Now => "now".into(),
            Operand::NowOffset(micros) => {
                let sign = if *micros < 0 { '-' } else { '+' };
                format!("now {sign} {}", duration(micros.unsigned_abs()))
            }
        }
    }
}

/// A served value: its variant's name, else the value.
fn served(values: &[ServedValue], id: u32) -> String {
    match values.get(id as usize) {
        Some(ServedValue {
            variant: Some(name),
            ..
        }) => name.clone(),
        Some(v) => v.value.to_string(),
        None => format!("#{id}"),
    }
}

/// An enum value by its name, when the field's type says it.
fn enum_name(i: u32, ty: Option<&FieldType>) -> String {
    match ty {
        Some(FieldType::Enum(names)) => names
            .get(i as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{i}")),
        _ => format!("#{i}"),
    }
}

fn constant(c: &Const, ty: Option<&FieldType>) -> String {
    match c {
        Const::Bool(b) => b.to_string(),
        Const::Int(i) => i.to_string(),
        Const::Float(x) => format!("{x:?}"),
        Const::String(s) => format!("{s:?}"),
        Const::Semver(v) => v.to_string(),
        Const::Timestamp(t) => time(*t),
        Const::Enum(i) => enum_name(*i, ty),
        Const::Ip(ip) => ip.to_string(),
    }
}

fn set_text(set: &ConstSet, ty: Option<&FieldType>) -> String {
    let items: Vec<String> = match set {
        ConstSet::Int(v) => v.iter().map(i64::to_string).collect(),
        ConstSet::Float(v) => v.iter().map(|x| format!("{x:?}")).collect(),
        ConstSet::String(v) => v.iter().map(|s| format!("{s:?}")).collect(),
        ConstSet::Semver(v) => v.iter().map(ToString::to_string).collect(),
        ConstSet::Timestamp(v) => v.iter().map(|t| time(*t)).collect(),
        ConstSet::Enum(v) => v.iter().map(|i| enum_name(*i, ty)).collect(),
        ConstSet::Bool(v) => v.iter().map(bool::to_string).collect(),
        ConstSet::Cidr(v) => v.iter().map(ToString::to_string).collect(),
    };
    format!("[{}]", items.join(", "))
}

fn metric(m: &Metric) -> String {
    let kind = match &m.kind {
        MetricKind::Conversion { event } => format!("conversion {event}"),
        MetricKind::Mean { event } => format!("mean {event}"),
        MetricKind::Ratio {
            numerator,
            denominator,
        } => format!("ratio {numerator} / {denominator}"),
    };
    let goal = match m.goal {
        vexil_ir::Goal::Increase => "increase",
        vexil_ir::Goal::Decrease => "decrease",
    };
    let role = match m.role {
        vexil_ir::MetricRole::Primary => "primary",
        vexil_ir::MetricRole::Secondary => "secondary",
        vexil_ir::MetricRole::Guardrail => "guardrail",
    };
    let mut out = format!("{} = {kind} ({role}, {goal})", m.name);
    if let Some(w) = m.window {
        out.push_str(&format!(" within {}", duration(w.unsigned_abs())));
    }
    if let Some(t) = m.threshold {
        out.push_str(&format!(" threshold {}%", trim(t * 100.0)));
    }
    out
}

/// Buckets as a percentage of [`BUCKETS`], without trailing zeros.
fn percent(buckets: u32) -> String {
    format!("{}%", trim(f64::from(buckets) * 100.0 / f64::from(BUCKETS)))
}

fn trim(x: f64) -> String {
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A time: the day when it is midnight UTC, else RFC 3339.
fn time(micros: i64) -> String {
    if micros.rem_euclid(crate::DAY) == 0 {
        return crate::date(micros);
    }
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| micros.to_string())
}

/// Microseconds in the largest whole unit: `30d`, `12h`, `90s`.
fn duration(micros: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000_000, "d"),
        (3_600_000_000, "h"),
        (60_000_000, "m"),
        (1_000_000, "s"),
    ];
    for (size, unit) in UNITS {
        if micros >= size && micros.is_multiple_of(size) {
            return format!("{}{unit}", micros / size);
        }
    }
    format!("{micros}us")
}
