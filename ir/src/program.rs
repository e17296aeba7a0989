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
    /// Always [`FORMAT_NAME`]: tells a bundle from any other JSON file.
    pub format: String,
    /// The [`FORMAT_VERSION`] it was written with; another is refused on read.
    pub format_version: u32,
    /// The contexts and fields flags read, with their slots.
    pub schema: Schema,
    /// Named conditions, each referring only to segments before it.
    pub segments: Vec<Segment>,
    /// Every flag, in an order where prerequisites come first.
    pub flags: Vec<Flag>,
    /// Every experiment.
    pub experiments: Vec<Experiment>,
    /// Groups of experiments that share a salt and never enrol a unit twice.
    pub layers: Vec<Layer>,
    /// The repository's `test` blocks, when built with them (`vexil build --with-tests`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestCase>,
}

// ---------------------------------------------------------------- schema

/// Every context field has a slot: its index in a context's flat layout.
pub type Slot = u32;

/// The declared contexts and their fields, with each field's slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// In declaration order.
    pub contexts: Vec<ContextSchema>,
    /// Total number of slots across all contexts.
    pub slot_count: u32,
}

impl Schema {
    /// The context called `name`.
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

/// A `context` block: one kind of thing a flag is evaluated for (`user`, `env`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSchema {
    /// Its name, as rules write it (`user` of `user.id`).
    pub name: String,
    /// The targeting key's slot, if the context declares one.
    pub key: Option<Slot>,
    /// In declaration order.
    pub fields: Vec<FieldSchema>,
    /// Its doc comment, for hover and generated documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// A field of a context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// Its name within the context (`id` of `user.id`).
    pub name: String,
    /// Its declared type, which fixes how its slot holds a value.
    pub ty: FieldType,
    /// Declared with `?`: reading it when missing is unknown, not an error.
    pub optional: bool,
    /// Where its value lives in a context: unique across the schema, below `slot_count`.
    pub slot: Slot,
    /// Its doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// A context field's declared type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// `true` or `false`.
    Bool,
    /// A 64-bit signed integer.
    Int,
    /// A finite 64-bit float.
    Float,
    /// UTF-8 text.
    String,
    /// A semantic version (`2.3.0-beta.1`), compared by semver precedence.
    Semver,
    /// An instant, held as microseconds since the epoch.
    Timestamp,
    /// An IPv4 or IPv6 address (`crate::ip`).
    Ip,
    /// Values in declaration order; a value is stored as its index.
    Enum(Vec<String>),
    /// A list of values of one scalar type, read by `in` and `contains`.
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
            FieldType::Ip => f.write_str("ip"),
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
    /// A constant condition (`when true`).
    Const(bool),
    /// True when all are true, false when any is false, else unknown.
    And(Vec<Expr>),
    /// True when any is true, false when all are false, else unknown.
    Or(Vec<Expr>),
    /// True for false, false for true; unknown stays unknown.
    Not(Box<Expr>),
    /// A bool field used as a condition.
    Field(Slot),
    /// `is set`: never unknown.
    IsSet(Slot),
    /// A comparison at one type.
    Compare {
        /// The left side.
        lhs: Operand,
        /// How the sides must order.
        op: CompareOp,
        /// The right side, at the same type as the left.
        rhs: Operand,
    },
    /// `operand in [..]` against a set of constants of the operand's type.
    InSet {
        /// The value looked up (a field or `now`).
        operand: Operand,
        /// The constants, of the operand's type.
        set: ConstSet,
    },
    /// `value in list_field` (or `list_field contains value`).
    ListContains {
        /// The list field's slot.
        list: Slot,
        /// The item looked for, of the list's element type.
        value: Operand,
    },
    /// `list_field contains any [..]`: some item of the list is in the
    /// set (false for an empty list or set).
    ListContainsAny {
        /// The list field's slot.
        list: Slot,
        /// The constants, of the list's element type.
        set: ConstSet,
    },
    /// `list_field contains all [..]`: every value of the set is an item
    /// of the list (true for an empty set).
    ListContainsAll {
        /// The list field's slot.
        list: Slot,
        /// The constants, of the list's element type.
        set: ConstSet,
    },
    /// String operators; `pattern` is a constant for `matches`.
    StringOp {
        /// The text searched (a string field, or a constant).
        lhs: Operand,
        /// Which operator.
        op: StringOp,
        /// `iequals`, `istarts_with`, `iends_with`, `icontains`: both sides
        /// compared in Unicode lower case (`str::to_lowercase`, no full case
        /// folding: `ß` does not equal `ss`).
        case_insensitive: bool,
        /// The text looked for, or the pattern.
        rhs: Operand,
    },
    /// A reference to a segment, by index.
    Segment(u32),
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    /// A context field's value, by slot.
    Field(Slot),
    /// A constant, of the other side's type.
    Const(Const),
    /// The evaluation time.
    Now,
    /// The evaluation time plus this many microseconds (`now - 30d` is
    /// minus thirty days), saturating at the ends of the range.
    NowOffset(i64),
}

impl Operand {
    /// Whether this is the evaluation time, moved or not.
    pub fn is_now(&self) -> bool {
        matches!(self, Operand::Now | Operand::NowOffset(_))
    }
}

/// A typed constant. Comparisons convert an int field to float when the
/// other side is a float; nothing else converts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Const {
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// A semantic version, within the range the runtime packs.
    Semver(Semver),
    /// Microseconds since the epoch.
    Timestamp(i64),
    /// An enum value's index.
    Enum(u32),
    /// An address, IPv4 mapped into IPv6.
    Ip(crate::ip::Ip),
}

/// The constants of an `in [..]` list, all of one type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstSet {
    /// Ints.
    Int(Vec<i64>),
    /// Floats.
    Float(Vec<f64>),
    /// Strings.
    String(Vec<String>),
    /// Semantic versions.
    Semver(Vec<Semver>),
    /// Timestamps, in microseconds since the epoch.
    Timestamp(Vec<i64>),
    /// Enum value indices.
    Enum(Vec<u32>),
    /// Bools.
    Bool(Vec<bool>),
    /// `ip in [..]`: CIDR ranges (an address is a range of one).
    Cidr(Vec<crate::ip::Cidr>),
}

impl ConstSet {
    /// How many constants the set lists (duplicates counted).
    pub fn len(&self) -> usize {
        match self {
            ConstSet::Int(v) => v.len(),
            ConstSet::Float(v) => v.len(),
            ConstSet::String(v) => v.len(),
            ConstSet::Semver(v) => v.len(),
            ConstSet::Timestamp(v) => v.len(),
            ConstSet::Enum(v) => v.len(),
            ConstSet::Bool(v) => v.len(),
            ConstSet::Cidr(v) => v.len(),
        }
    }

    /// Whether it lists none: `x in []` is false (unknown when `x` is missing).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A comparison operator, applied to the ordering of the left side against the right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// As a `.flag` file writes it: `==`, `<=`...
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

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

/// A string operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringOp {
    /// Equality; written `iequals`, with `case_insensitive` (the language
    /// writes exact equality `==`). `iin [..]` lowers to an `or` of these.
    Equals,
    /// `starts_with`: the right side is a prefix of the left.
    StartsWith,
    /// `ends_with`: the right side is a suffix of the left.
    EndsWith,
    /// `contains`: the right side occurs in the left.
    Contains,
    /// `matches`: the left side matches the constant pattern on the right (see [`compile_pattern`](crate::compile_pattern)).
    Matches,
}

impl StringOp {
    /// Its name, case-sensitive form (`starts_with`; `equals` for equality,
    /// which the language writes `==` or, without case, `iequals`).
    pub fn as_str(self) -> &'static str {
        match self {
            StringOp::Equals => "equals",
            StringOp::StartsWith => "starts_with",
            StringOp::EndsWith => "ends_with",
            StringOp::Contains => "contains",
            StringOp::Matches => "matches",
        }
    }
}

// ---------------------------------------------------------------- segments and flags

/// A named, reusable condition (`segment beta_testers { .. }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Its name.
    pub name: String,
    /// Its condition; it refers only to segments before it.
    pub condition: Expr,
}

/// What a flag is for, as its `kind` declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// Rolling out a change, meant to be removed once done.
    Release,
    /// Comparing variants; its exposures are recorded.
    Experiment,
    /// A long-lived switch for operators (a kill switch, a limit).
    Operational,
    /// Entitlements: who may use a feature.
    Permission,
}

impl FlagKind {
    /// Every kind, in the order the language documents them.
    pub const ALL: [FlagKind; 4] = [
        FlagKind::Release,
        FlagKind::Experiment,
        FlagKind::Operational,
        FlagKind::Permission,
    ];

    /// The keyword, as written after `kind`.
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

/// A flag: the value it serves is decided by its prerequisites, then its rules in order, then its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// Its name, the key clients evaluate it by.
    pub name: String,
    /// What it is for.
    pub kind: FlagKind,
    /// The type of every value it serves.
    pub value_type: ValueType,
    /// `false` is the off switch: the flag serves its default, reason DISABLED.
    pub enabled: bool,
    /// `enabled when CONDITION`: evaluated before prerequisites and rules;
    /// unless it is true (false or unknown) the flag serves its default,
    /// reason DISABLED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_when: Option<Expr>,
    /// Every value the flag can serve, each with its variant name if it has one.
    pub values: Vec<ServedValue>,
    /// Served when no rule matches, and when it is off.
    pub default: ValueId,
    /// Checked before the rules: when one fails, the default is served
    /// (reason `DEFAULT`, the failed flag named in the details).
    pub prerequisites: Vec<Prerequisite>,
    /// Tried in order; the first that matches decides.
    pub rules: Vec<Rule>,
    /// Owner, description, tags, expiry, location.
    pub meta: Metadata,
}

/// A value a flag can serve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServedValue {
    /// The value.
    pub value: FlagValue,
    /// Its variant name (`control`, `treatment`), if it has one.
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
    /// What the required flag must serve (or must not, when `negated`).
    pub expect: PrerequisiteValue,
}

/// What a prerequisite compares the required flag's result with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrerequisiteValue {
    /// The served value.
    Value(FlagValue),
    /// The served variant's name.
    Variant(String),
}

/// A rule of a flag: when its condition is true, its result decides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Its name, if given (`rule beta: ..`), reported in details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Time windows are already folded into the condition as `now` comparisons.
    pub condition: Expr,
    /// What it serves when its condition holds.
    pub result: RuleResult,
    /// A staged rollout's guardrails: what `vexil serve`'s monitor
    /// watches. Metadata only: no backend reads them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrails: Option<Guardrails>,
}

/// The guardrails of a staged rollout: metrics compared between the units
/// it serves (the new experience) and those it holds back (the old), and
/// what to do when one is breached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Guardrails {
    /// Each guarded metric with its action, in the order written.
    pub guards: Vec<Guard>,
    /// Units on each side a stage must have seen before it may advance
    /// (`min sample N per stage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sample: Option<u64>,
}

/// One guardrail: a metric of role [`MetricRole::Guardrail`] whose `goal`
/// is the direction that is not harmful and whose `threshold` is the
/// relative change in the harmful one that breaches it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    /// The metric, in an experiment metric's form.
    pub metric: Metric,
    /// What to do on a breach.
    pub action: GuardAction,
}

/// What the monitor does when a guardrail is breached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardAction {
    /// Pin the rule at 0%: nobody gets the new experience (the default).
    Rollback,
    /// Hold the stage in force: the next stages do not start.
    Pause,
    /// Only report: an audit entry and the webhooks.
    Notify,
}

impl GuardAction {
    /// As written after `=>`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardAction::Rollback => "rollback",
            GuardAction::Pause => "pause",
            GuardAction::Notify => "notify",
        }
    }
}

/// What a matching rule does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleResult {
    /// Serve this value to everyone it matches.
    Serve(ValueId),
    /// Units whose bucket is below `buckets` get `value`; the others do not
    /// match this rule and evaluation goes on to the next.
    Rollout {
        /// How units are bucketed.
        bucketing: Bucketing,
        /// How many of the [`BUCKETS`](crate::bucket::BUCKETS) buckets get the value.
        buckets: u32,
        /// The value served to them.
        value: ValueId,
    },
    /// A rollout whose share rises with the evaluation time: units whose
    /// bucket is below the buckets of the stage in force at `now` (see
    /// [`stage_at`](crate::stage_at)) get `value`; the others, and every
    /// unit before the first stage starts, do not match this rule. The
    /// bucket cut is the rollout's, so a later stage only adds units.
    Staged {
        /// How units are bucketed.
        bucketing: Bucketing,
        /// By strictly ascending start time, with buckets that never fall.
        stages: Vec<Stage>,
        /// The value served to the units inside.
        value: ValueId,
    },
    /// Every unit gets the first arm whose upper bound is above its bucket.
    Split {
        /// How units are bucketed.
        bucketing: Bucketing,
        /// The arms, by ascending upper bound.
        arms: Vec<SplitArm>,
    },
}

/// One stage of a staged rollout: in force from `starts` until the next
/// stage starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// When it starts, in microseconds since the Unix epoch (inclusive).
    pub starts: i64,
    /// How many of the [`BUCKETS`](crate::bucket::BUCKETS) buckets get the value.
    pub buckets: u32,
}

/// One arm of a split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitArm {
    /// Exclusive upper bound in `0..=BUCKETS`; the last arm's is `BUCKETS`.
    pub upper: u32,
    /// The value served to units in this arm.
    pub value: ValueId,
}

/// How a unit is hashed: `bucket(salt, value of unit)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucketing {
    /// A string or int field.
    pub unit: Slot,
    /// Hashed before the unit's value: a flag's name by default, so that flags bucket independently.
    pub salt: String,
}

/// What people and tools want to know about a flag or experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Who to ask about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What it does, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-form labels for search and grouping.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Microseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// Where it was declared, for tools that point back to the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// `client`: client-side keys (browsers, apps) may evaluate it; a server
    /// shows every other flag to server keys only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub client: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where something was declared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file, relative to the repository root.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// Byte offsets in the file.
    /// Where the declaration starts.
    pub start: u32,
    /// Where it ends (exclusive).
    pub end: u32,
}

// ---------------------------------------------------------------- experiments

/// An experiment: units in its audience and enrolment range get a variant by
/// bucket, the others its control; evaluations record exposures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Its name, the key clients evaluate it by.
    pub name: String,
    /// The type of its variants' values.
    pub value_type: ValueType,
    /// Its variants, by ascending cumulative upper bound.
    pub variants: Vec<Variant>,
    /// Index into `variants`: served to units not enrolled.
    pub control: u32,
    /// How a unit's variant is chosen.
    pub bucketing: Bucketing,
    /// Enrolment: the unit's bucket under `enrolment_salt` must fall in
    /// `enrolment_range`. For an experiment in a layer the salt is the
    /// layer's, and the ranges of a layer's experiments never overlap.
    pub enrolment_salt: String,
    /// The range of enrolment buckets, `lo..hi`, that enrols a unit.
    pub enrolment_range: (u32, u32),
    /// The layer it belongs to, by index into the bundle's layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// Who may be enrolled; others get the control.
    pub audience: Expr,
    /// When enrolment starts, in microseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// When enrolment ends, in microseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// What the analysis measures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Inputs for `vexil plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planning: Option<Planning>,
    /// Owner, description, tags, expiry, location.
    pub meta: Metadata,
}

/// An experiment arm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Its name, reported with each exposure.
    pub name: String,
    /// The value it serves.
    pub value: FlagValue,
    /// Exclusive upper bound of the variant's buckets, cumulative.
    pub upper: u32,
}

/// Experiments that must not share units: they take disjoint ranges of one enrolment salt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// Its name.
    pub name: String,
    /// Experiment indices in the order their ranges were assigned.
    pub experiments: Vec<u32>,
}

/// A measurement of an experiment, computed from ingested events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Its name in reports.
    pub name: String,
    /// What decisions it drives.
    pub role: MetricRole,
    /// How it is computed from events.
    pub kind: MetricKind,
    /// Which direction is better.
    pub goal: Goal,
    /// Microseconds after first exposure in which events count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<i64>,
    /// For guardrails: the relative change in the bad direction that raises
    /// an alert, as a fraction (`0.1` for 10%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// What a metric is for in an experiment's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricRole {
    /// The metric the experiment is decided on.
    Primary,
    /// Reported, but not what the decision rests on.
    Secondary,
    /// Must not get worse by more than its threshold.
    Guardrail,
}

/// How a metric is computed from a unit's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// The unit did the event (within the window).
    Conversion {
        /// The event's name.
        event: String,
    },
    /// The mean per unit of the event's summed numeric value.
    Mean {
        /// The event's name.
        event: String,
    },
    /// Sum of the numerator event's values over sum of the denominator's.
    Ratio {
        /// The event summed above the line.
        numerator: String,
        /// The event summed below it.
        denominator: String,
    },
}

/// The direction in which a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Higher is better.
    Increase,
    /// Lower is better.
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
    /// Significance level (false positive rate), as a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Statistical power wanted, as a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// Eligible units per day, before traffic allocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_units: Option<f64>,
}

// ---------------------------------------------------------------- tests

/// A `test` block: a context, a time and expected results, run by `vexil
/// test` and before a reload when `EngineOptions::run_tests` is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Its name.
    pub name: String,
    /// Where it was declared.
    pub location: Location,
    /// The fields it sets; the others are missing.
    pub context: Vec<TestField>,
    /// Microseconds since the epoch; absent means the time of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<i64>,
    /// What it expects, each checked in turn.
    pub expectations: Vec<TestExpectation>,
}

/// A field a test sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestField {
    /// The field's slot.
    pub slot: Slot,
    /// Its value, of the field's type.
    pub value: TestValue,
}

/// A test's value for a field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestValue {
    /// A scalar field's value.
    Scalar(Const),
    /// A list field's items.
    List(Vec<Const>),
}

/// One `expect` line of a test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestExpectation {
    /// A flag or experiment name.
    pub target: String,
    /// What it must give.
    pub expect: Expect,
    /// Where the line is, to report a failure at.
    pub location: Location,
}

/// What an `expect` line checks of a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The served value.
    Value(FlagValue),
    /// The served variant's name.
    Variant(String),
    /// The OpenFeature reason.
    Reason(crate::Reason),
    /// The matched rule's name, or its 1-based position as text.
    Rule(String),
    /// The error code (the result must be an error).
    Error(crate::ErrorCode),
    /// The stage in force of the flag's staged rollout (its first, if it
    /// has several) at the test's time.
    Stage(StageExpect),
}

/// Which stage a test expects: by number or by share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageExpect {
    /// Counted from 1; 0 before the first stage starts.
    Number(u32),
    /// The buckets the stage serves (`stage 5%` is 5000).
    Buckets(u32),
}

// ---------------------------------------------------------------- the clock

impl Expr {
    /// Whether evaluating this condition reads the evaluation time, given
    /// which segments do (by index; a segment not in `segments` counts as
    /// reading it).
    pub fn reads_clock(&self, segments: &[bool]) -> bool {
        let operand = Operand::is_now;
        match self {
            Expr::Const(_)
            | Expr::Field(_)
            | Expr::IsSet(_)
            | Expr::ListContainsAny { .. }
            | Expr::ListContainsAll { .. } => false,
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
                && (f.rules.iter().any(|r| {
                    r.condition.reads_clock(&segments)
                        || matches!(r.result, RuleResult::Staged { .. })
                }) || f
                    .enabled_when
                    .as_ref()
                    .is_some_and(|c| c.reads_clock(&segments))
                    || f.prerequisites
                        .iter()
                        .any(|p| flags.get(p.flag as usize).copied().unwrap_or(true)));
            flags.push(reads);
        }
        flags
    }
}
