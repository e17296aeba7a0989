//! The checked program: schemas, segments, flags, experiments and tests.
//!
//! Everything here has been type-checked, so each comparison carries the one
//! type it compares at and every name is an index. The runtime prepares this
//! into an interpreter program or machine code; it never sees source text.

use serde::{Deserialize, Serialize};

use crate::value::{FlagValue, Semver, ValueType};

/// Bumped whenever a bundle written by one version cannot be read by another.
pub const FORMAT_VERSION: u32 = 1;
/// The `format` field of every bundle, so that a wrong file is recognised.
pub const FORMAT_NAME: &str = "vexil-bundle";

/// A compiled flag repository, as written by `vexil build`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    pub format_version: u32,
    pub schema: Schema,
    pub segments: Vec<Segment>,
    pub flags: Vec<Flag>,
    pub experiments: Vec<Experiment>,
    pub layers: Vec<Layer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestCase>,
}

// ---------------------------------------------------------------- schema

/// Every context field has a slot: its index in a context's flat layout.
pub type Slot = u32;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub contexts: Vec<ContextSchema>,
    /// Total number of slots across all contexts.
    pub slot_count: u32,
}

impl Schema {
    pub fn context(&self, name: &str) -> Option<&ContextSchema> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// The field in `slot`, with the context it belongs to.
    pub fn field_at(&self, slot: Slot) -> Option<(&ContextSchema, &FieldSchema)> {
        self.contexts
            .iter()
            .find_map(|c| c.fields.iter().find(|f| f.slot == slot).map(|f| (c, f)))
    }

    /// A fingerprint of the layout: contexts built for one layout are
    /// refused by programs of another.
    pub fn layout_id(&self) -> u64 {
        let mut h = crate::bucket::Murmur3::new(0x5eed);
        let mut h2 = crate::bucket::Murmur3::new(0x0b57);
        for c in &self.contexts {
            for f in &c.fields {
                let text = format!("{}.{}:{}:{}:{};", c.name, f.name, f.ty, f.optional, f.slot);
                h.write(text.as_bytes());
                h2.write(text.as_bytes());
            }
        }
        (u64::from(h.finish()) << 32) | u64::from(h2.finish())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSchema {
    pub name: String,
    /// The targeting key's slot, if the context declares one.
    pub key: Option<Slot>,
    pub fields: Vec<FieldSchema>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSchema {
    pub name: String,
    pub ty: FieldType,
    pub optional: bool,
    pub slot: Slot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Bool,
    Int,
    Float,
    String,
    Semver,
    Timestamp,
    /// Values in declaration order; a value is stored as its index.
    Enum(Vec<String>),
    List(Box<FieldType>),
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldType::Bool => f.write_str("bool"),
            FieldType::Int => f.write_str("int"),
            FieldType::Float => f.write_str("float"),
            FieldType::String => f.write_str("string"),
            FieldType::Semver => f.write_str("semver"),
            FieldType::Timestamp => f.write_str("timestamp"),
            FieldType::Enum(values) => write!(f, "enum {{ {} }}", values.join(", ")),
            FieldType::List(elem) => write!(f, "list<{elem}>"),
        }
    }
}

// ---------------------------------------------------------------- expressions

/// A condition. Conditions are three-valued: reading a missing field makes a
/// comparison *unknown*; `and`, `or` and `not` follow Kleene's logic; a rule
/// matches only when its condition is true.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    Const(bool),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A bool field used as a condition.
    Field(Slot),
    /// `is set`: never unknown.
    IsSet(Slot),
    /// A comparison at one type.
    Compare {
        lhs: Operand,
        op: CompareOp,
        rhs: Operand,
    },
    /// `operand in [..]` against a set of constants of the operand's type.
    InSet {
        operand: Operand,
        set: ConstSet,
    },
    /// `value in list_field` (or `list_field contains value`).
    ListContains {
        list: Slot,
        value: Operand,
    },
    /// String operators; `pattern` is a constant for `matches`.
    StringOp {
        lhs: Operand,
        op: StringOp,
        case_insensitive: bool,
        rhs: Operand,
    },
    /// A reference to a segment, by index.
    Segment(u32),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    Field(Slot),
    Const(Const),
    /// The evaluation time.
    Now,
}

/// A typed constant. Comparisons convert an int field to float when the
/// other side is a float; nothing else converts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Const {
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Semver(Semver),
    /// Microseconds since the epoch.
    Timestamp(i64),
    /// An enum value's index.
    Enum(u32),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstSet {
    Int(Vec<i64>),
    Float(Vec<f64>),
    String(Vec<String>),
    Semver(Vec<Semver>),
    Timestamp(Vec<i64>),
    Enum(Vec<u32>),
    Bool(Vec<bool>),
}

impl ConstSet {
    pub fn len(&self) -> usize {
        match self {
            ConstSet::Int(v) => v.len(),
            ConstSet::Float(v) => v.len(),
            ConstSet::String(v) => v.len(),
            ConstSet::Semver(v) => v.len(),
            ConstSet::Timestamp(v) => v.len(),
            ConstSet::Enum(v) => v.len(),
            ConstSet::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// Whether `ordering` (of lhs against rhs) satisfies the operator.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CompareOp::Eq => ordering == Equal,
            CompareOp::Ne => ordering != Equal,
            CompareOp::Lt => ordering == Less,
            CompareOp::Le => ordering != Greater,
            CompareOp::Gt => ordering == Greater,
            CompareOp::Ge => ordering != Less,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringOp {
    StartsWith,
    EndsWith,
    Contains,
    Matches,
}

// ---------------------------------------------------------------- segments and flags

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub name: String,
    pub condition: Expr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    Release,
    Experiment,
    Operational,
    Permission,
}

impl FlagKind {
    pub const ALL: [FlagKind; 4] = [
        FlagKind::Release,
        FlagKind::Experiment,
        FlagKind::Operational,
        FlagKind::Permission,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::Release => "release",
            FlagKind::Experiment => "experiment",
            FlagKind::Operational => "operational",
            FlagKind::Permission => "permission",
        }
    }
}

/// Index into a flag's or experiment's `values`.
pub type ValueId = u32;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub name: String,
    pub kind: FlagKind,
    pub value_type: ValueType,
    /// `false` is the off switch: the flag serves its default, reason DISABLED.
    pub enabled: bool,
    /// Every value the flag can serve, each with its variant name if it has one.
    pub values: Vec<ServedValue>,
    pub default: ValueId,
    pub prerequisites: Vec<Prerequisite>,
    pub rules: Vec<Rule>,
    pub meta: Metadata,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServedValue {
    pub value: FlagValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// This flag applies only if another flag's value compares as given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prerequisite {
    /// Index into the bundle's flags.
    pub flag: u32,
    /// `requires F != V`.
    pub negated: bool,
    pub expect: PrerequisiteValue,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrerequisiteValue {
    Value(FlagValue),
    /// The served variant's name.
    Variant(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Time windows are already folded into the condition as `now` comparisons.
    pub condition: Expr,
    pub result: RuleResult,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleResult {
    Serve(ValueId),
    /// Units whose bucket is below `buckets` get `value`; the others do not
    /// match this rule and evaluation goes on to the next.
    Rollout {
        bucketing: Bucketing,
        buckets: u32,
        value: ValueId,
    },
    /// Every unit gets the first arm whose upper bound is above its bucket.
    Split {
        bucketing: Bucketing,
        arms: Vec<SplitArm>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitArm {
    /// Exclusive upper bound in `0..=BUCKETS`; the last arm's is `BUCKETS`.
    pub upper: u32,
    pub value: ValueId,
}

/// How a unit is hashed: `bucket(salt, value of unit)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucketing {
    /// A string or int field.
    pub unit: Slot,
    pub salt: String,
}

/// What people and tools want to know about a flag or experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Microseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// Where something was declared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// Byte offsets in the file.
    pub start: u32,
    pub end: u32,
}

// ---------------------------------------------------------------- experiments

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    pub value_type: ValueType,
    pub variants: Vec<Variant>,
    /// Index into `variants`: served to units not enrolled.
    pub control: u32,
    pub bucketing: Bucketing,
    /// Enrolment: the unit's bucket under `enrolment_salt` must fall in
    /// `enrolment_range`. For an experiment in a layer the salt is the
    /// layer's, and the ranges of a layer's experiments never overlap.
    pub enrolment_salt: String,
    pub enrolment_range: (u32, u32),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    pub audience: Expr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planning: Option<Planning>,
    pub meta: Metadata,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub name: String,
    pub value: FlagValue,
    /// Exclusive upper bound of the variant's buckets, cumulative.
    pub upper: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    pub name: String,
    /// Experiment indices in the order their ranges were assigned.
    pub experiments: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub role: MetricRole,
    pub kind: MetricKind,
    pub goal: Goal,
    /// Microseconds after first exposure in which events count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<i64>,
    /// For guardrails: the relative change in the bad direction that raises
    /// an alert, as a fraction (`0.1` for 10%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricRole {
    Primary,
    Secondary,
    Guardrail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// The unit did the event (within the window).
    Conversion { event: String },
    /// The mean per unit of the event's summed numeric value.
    Mean { event: String },
    /// Sum of the numerator event's values over sum of the denominator's.
    Ratio {
        numerator: String,
        denominator: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    Increase,
    Decrease,
}

/// Inputs for sample-size and duration planning.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Planning {
    /// Baseline conversion rate (fraction) or mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Standard deviation, for mean metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stddev: Option<f64>,
    /// Minimum detectable effect, relative, as a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mde: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// Eligible units per day, before traffic allocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_units: Option<f64>,
}

// ---------------------------------------------------------------- tests

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    pub name: String,
    pub location: Location,
    pub context: Vec<TestField>,
    /// Microseconds since the epoch; absent means the time of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<i64>,
    pub expectations: Vec<TestExpectation>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestField {
    pub slot: Slot,
    pub value: TestValue,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestValue {
    Scalar(Const),
    List(Vec<Const>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestExpectation {
    /// A flag or experiment name.
    pub target: String,
    pub expect: Expect,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Value(FlagValue),
    Variant(String),
    Reason(crate::Reason),
    /// The matched rule's name, or its 1-based position as text.
    Rule(String),
    Error(crate::ErrorCode),
}

// ---------------------------------------------------------------- the clock

impl Expr {
    /// Whether evaluating this condition reads the evaluation time, given
    /// which segments do (by index; a segment not in `segments` counts as
    /// reading it).
    pub fn reads_clock(&self, segments: &[bool]) -> bool {
        let operand = |o: &Operand| matches!(o, Operand::Now);
        match self {
            Expr::Const(_) | Expr::Field(_) | Expr::IsSet(_) => false,
            Expr::And(xs) | Expr::Or(xs) => xs.iter().any(|x| x.reads_clock(segments)),
            Expr::Not(x) => x.reads_clock(segments),
            Expr::Compare { lhs, rhs, .. } | Expr::StringOp { lhs, rhs, .. } => {
                operand(lhs) || operand(rhs)
            }
            Expr::InSet { operand: o, .. } => operand(o),
            Expr::ListContains { value, .. } => operand(value),
            Expr::Segment(i) => segments.get(*i as usize).copied().unwrap_or(true),
        }
    }
}

impl Bundle {
    /// For each flag, whether its evaluation can depend on the evaluation
    /// time: a time window or a `now` comparison in its rules, its
    /// segments, or the flags it requires. A flag that does not can be
    /// evaluated without reading the clock. Conservative: a reference
    /// forward (which a valid bundle has not) counts as reading it.
    pub fn flags_reading_clock(&self) -> Vec<bool> {
        let mut segments = Vec::with_capacity(self.segments.len());
        for s in &self.segments {
            let reads = s.condition.reads_clock(&segments);
            segments.push(reads);
        }
        let mut flags: Vec<bool> = Vec::with_capacity(self.flags.len());
        for f in &self.flags {
            let reads = f.enabled
                && (f.rules.iter().any(|r| r.condition.reads_clock(&segments))
                    || f.prerequisites
                        .iter()
                        .any(|p| flags.get(p.flag as usize).copied().unwrap_or(true)));
            flags.push(reads);
        }
        flags
    }
}
