//! The spanned syntax tree of a `.flag` file.
//!
//! It is close to the text: literals keep their source spelling (the checker
//! validates and converts them), properties keep their order and duplicates,
//! and parentheses stay as nodes, so that the formatter can print exactly
//! what was written. Every name carries its span for diagnostics and the
//! language server.

use std::fmt;

/// A byte range in one source file. Compact on purpose: a tree holds many.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        // Files over 4 GiB are refused before parsing (`parse::MAX_SOURCE_LEN`),
        // so offsets always fit.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn contains(&self, offset: u32) -> bool {
        self.start <= offset && offset <= self.end
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl fmt::Debug for Span {
    // Short, and easy to strip when comparing trees without positions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}..{}", self.start, self.end)
    }
}

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl Ident {
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

/// A string literal: its decoded value and the span of the quoted text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// A parsed file: its items, its comments (for the formatter) and the syntax
/// errors found. Parsing never fails; a file full of mistakes gives a tree of
/// what could be read plus one error per broken item.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct SourceFile {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
    pub errors: Vec<SyntaxError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Comment {
    pub span: Span,
    /// `///` doc comments attach to the next declaration.
    pub is_doc: bool,
    /// The text after `//` or `///`, as written.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
    /// What the parser was looking for, in words, when it stopped.
    pub expected: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    Context(ContextDecl),
    Segment(SegmentDecl),
    Flag(FlagDecl),
    Experiment(FlagDecl),
    Test(TestDecl),
    /// An item that did not parse. Its keyword and name are kept when they
    /// could be read, so that it still declares its name and uses of it
    /// elsewhere do not turn into a cascade of "unknown name" errors.
    Broken(BrokenItem),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Context(c) => c.span,
            Item::Segment(s) => s.span,
            Item::Flag(f) => f.span,
            Item::Experiment(e) => e.span,
            Item::Test(t) => t.span,
            Item::Broken(b) => b.span,
        }
    }

    /// The declared name, if the item declares one.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Context(c) => Some(&c.name),
            Item::Segment(s) => Some(&s.name),
            Item::Flag(f) => Some(&f.name),
            Item::Experiment(e) => Some(&e.name),
            Item::Test(_) => None,
            Item::Broken(b) => b.name.as_ref(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKeyword {
    Context,
    Segment,
    Flag,
    Experiment,
    Test,
}

impl ItemKeyword {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKeyword::Context => "context",
            ItemKeyword::Segment => "segment",
            ItemKeyword::Flag => "flag",
            ItemKeyword::Experiment => "experiment",
            ItemKeyword::Test => "test",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BrokenItem {
    pub keyword: Option<ItemKeyword>,
    pub name: Option<Ident>,
    pub span: Span,
}

/// Doc comment text, one entry per `///` line, without the slashes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Doc {
    pub lines: Vec<String>,
}

impl Doc {
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

// ---------------------------------------------------------------- contexts

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContextDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldDecl {
    pub doc: Option<Doc>,
    /// The span of the `key` marker: this field is the context's targeting key.
    pub key: Option<Span>,
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeExprKind {
    Prim(PrimType),
    List(Box<TypeExpr>),
    Enum(Vec<Ident>),
    Optional(Box<TypeExpr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrimType {
    Bool,
    Int,
    Float,
    String,
    Semver,
    Timestamp,
    /// An IPv4 or IPv6 address.
    Ip,
}

impl PrimType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrimType::Bool => "bool",
            PrimType::Int => "int",
            PrimType::Float => "float",
            PrimType::String => "string",
            PrimType::Semver => "semver",
            PrimType::Timestamp => "timestamp",
            PrimType::Ip => "ip",
        }
    }
}

// ---------------------------------------------------------------- segments

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegmentDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub condition: Expr,
    pub span: Span,
}

// ---------------------------------------------------------------- flags and experiments

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    Bool,
    String,
    Int,
    Float,
    Json,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Json => "json",
        }
    }
}

/// A `flag` or an `experiment` declaration. The two share their grammar (a
/// name, a value type, then properties), so they share this struct: the
/// [`Item`] variant says which it is, and the checker which properties
/// belong to each.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlagDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub value_type: ValueType,
    pub value_type_span: Span,
    pub properties: Vec<Property>,
    pub span: Span,
}

/// One line of a flag or experiment body. Both share the grammar; the
/// checker says which properties belong where.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Property {
    pub doc: Option<Doc>,
    /// The span of the property's keyword.
    pub keyword: Span,
    pub kind: PropertyKind,
    pub span: Span,
}

// A property lives in its declaration's list, built once per parse; boxing
// the larger variants would cost an allocation each and buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PropertyKind {
    Kind(Ident),
    Owner(StrLit),
    Tags(Vec<StrLit>),
    Expires(Literal),
    Default(Value),
    Enabled(bool),
    /// `enabled when CONDITION`: on where the condition holds, else off
    /// (reason `DISABLED`).
    EnabledWhen(Expr),
    /// `client`: client-side keys may evaluate it.
    Client,
    Salt(StrLit),
    Requires(Requirement),
    Variants(Vec<VariantDecl>),
    Rule(RuleDecl),
    Unit(Unit),
    Layer(Ident),
    Traffic(Literal),
    Audience(Expr),
    Start(Literal),
    End(Literal),
    Control(Ident),
    Metrics(Vec<MetricDecl>),
    Planning(Vec<PlanningEntry>),
}

impl PropertyKind {
    /// The keyword that introduces the property.
    pub fn keyword(&self) -> &'static str {
        match self {
            PropertyKind::Kind(_) => "kind",
            PropertyKind::Owner(_) => "owner",
            PropertyKind::Tags(_) => "tags",
            PropertyKind::Expires(_) => "expires",
            PropertyKind::Default(_) => "default",
            PropertyKind::Enabled(_) | PropertyKind::EnabledWhen(_) => "enabled",
            PropertyKind::Client => "client",
            PropertyKind::Salt(_) => "salt",
            PropertyKind::Requires(_) => "requires",
            PropertyKind::Variants(_) => "variants",
            PropertyKind::Rule(_) => "rule",
            PropertyKind::Unit(_) => "unit",
            PropertyKind::Layer(_) => "layer",
            PropertyKind::Traffic(_) => "traffic",
            PropertyKind::Audience(_) => "audience",
            PropertyKind::Start(_) => "start",
            PropertyKind::End(_) => "end",
            PropertyKind::Control(_) => "control",
            PropertyKind::Metrics(_) => "metrics",
            PropertyKind::Planning(_) => "planning",
        }
    }
}

/// `requires other_flag` or `requires other_flag == value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub flag: Ident,
    /// `None` means "is true" and is only valid for bool flags.
    pub expected: Option<(RequireOp, Value)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequireOp {
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VariantDecl {
    pub doc: Option<Doc>,
    pub name: Ident,
    pub value: Value,
    /// The weight, for experiments: `control = "a" 50%`.
    pub weight: Option<Literal>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleDecl {
    pub name: Option<Ident>,
    pub from: Option<Literal>,
    pub until: Option<Literal>,
    pub condition: Option<Expr>,
    pub result: RuleResult,
    /// Guardrails written after the rule (only a staged rollout may have
    /// them): `guard NAME: METRIC must not increase by P% [=> ACTION]`.
    pub guards: Vec<GuardDecl>,
    /// `min sample N per stage`.
    pub min_sample: Option<MinSample>,
}

/// `min sample N per stage`: the number as written, and the whole clause.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MinSample {
    pub count: Literal,
    pub span: Span,
}

/// A guardrail of a staged rollout. Its metric is an experiment metric's
/// (`role` `guardrail`; `goal` the opposite of the harmful direction
/// written; `threshold` the percentage after `by`), so that one checker
/// reads both.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GuardDecl {
    pub metric: MetricDecl,
    /// `=> rollback`, `=> pause`, `=> notify`; `rollback` when absent.
    pub action: Option<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RuleResult {
    Value(Value),
    /// `25% by user.id` (bool flags: serves true) or `"v" for 25% by user.id`.
    /// Units outside the percentage do not match the rule.
    Rollout {
        value: Option<Value>,
        percent: Literal,
        unit: Unit,
        salt: Option<StrLit>,
        span: Span,
    },
    /// `1% for 1h, 5% for 1d, 100% by user.id` (bool flags: serves true)
    /// or `"v" for 1% for 1h, 100% by user.id`: a rollout whose percentage
    /// rises in stages, the first starting at the rule's `from`.
    Staged {
        value: Option<Value>,
        stages: Vec<Stage>,
        unit: Unit,
        salt: Option<StrLit>,
        span: Span,
    },
    /// `split by user.id { a 50%, b 50% }`: every unit gets one arm.
    Split {
        unit: Unit,
        salt: Option<StrLit>,
        arms: Vec<SplitArm>,
        span: Span,
    },
}

/// One stage of a staged rollout: `5% for 1d` or `5% until
/// 2026-12-11T09:00:00Z`; the last has neither.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stage {
    pub percent: Literal,
    /// `for DURATION`.
    pub duration: Option<Literal>,
    /// `until TIME`: when the stage ends and the next one starts.
    pub until: Option<Literal>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SplitArm {
    pub value: Value,
    pub weight: Literal,
    pub span: Span,
}

/// The bucketing unit: `user` (its key field) or `user.id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Unit {
    pub context: Ident,
    pub field: Option<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetricDecl {
    pub role: MetricRole,
    pub role_span: Span,
    pub name: Ident,
    pub function: Ident,
    pub events: Vec<EventName>,
    pub window: Option<Literal>,
    pub goal: Goal,
    pub goal_span: Span,
    pub threshold: Option<Literal>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricRole {
    Primary,
    Secondary,
    Guardrail,
}

impl MetricRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricRole::Primary => "primary",
            MetricRole::Secondary => "secondary",
            MetricRole::Guardrail => "guardrail",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Goal {
    Increase,
    Decrease,
}

impl Goal {
    pub fn as_str(self) -> &'static str {
        match self {
            Goal::Increase => "increase",
            Goal::Decrease => "decrease",
        }
    }
}

/// An event named by an identifier or, for names with spaces, a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventName {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PlanningEntry {
    pub key: Ident,
    pub value: Literal,
    pub span: Span,
}

// ---------------------------------------------------------------- tests

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TestDecl {
    pub doc: Option<Doc>,
    pub name: StrLit,
    pub members: Vec<TestMember>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TestMember {
    Context {
        contexts: Vec<ContextValue>,
        span: Span,
    },
    Now {
        time: Literal,
        span: Span,
    },
    Expect(Expectation),
}

/// `user { id: "u1", plan: pro }` inside a test's `context` block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContextValue {
    pub context: Ident,
    pub fields: Vec<FieldValue>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldValue {
    pub field: Ident,
    pub value: Operand,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Expectation {
    pub flag: Ident,
    pub kind: ExpectKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExpectKind {
    Value(Value),
    Variant(Ident),
    Reason(Ident),
    /// A rule by name, or by its 1-based position.
    Rule(Ident),
    Error(Ident),
    /// The stage of the flag's staged rollout: `stage 2` (from 1) or `stage 5%`.
    Stage(Literal),
}

// ---------------------------------------------------------------- values

/// A value a flag can serve: a literal, a JSON object, or a variant's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    Literal(Literal),
    Json(Json),
    Variant(Ident),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Json {
    Null(Span),
    Bool(bool, Span),
    /// The number as written.
    Number(String, Span),
    String(StrLit),
    Array(Vec<Json>, Span),
    Object(Vec<(StrLit, Json)>, Span),
}

impl Json {
    pub fn span(&self) -> Span {
        match self {
            Json::Null(s) | Json::Bool(_, s) | Json::Number(_, s) | Json::Array(_, s) => *s,
            Json::String(s) => s.span,
            Json::Object(_, s) => *s,
        }
    }
}

/// A literal as written. Numbers, versions and times keep their spelling;
/// the checker validates and converts them against the type they meet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Literal {
    pub kind: LiteralKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LiteralKind {
    Bool(bool),
    /// An integer or decimal number: `42`, `-3`, `0.25`, `1e6`.
    Number(String),
    String(String),
    Semver(String),
    /// `2026-12-01`: midnight UTC of that day.
    Date(String),
    /// `2026-12-01T09:30:00Z`: RFC 3339.
    Timestamp(String),
    /// `25%`, `33.333%`: the text before the percent sign.
    Percent(String),
    /// `7d`, `12h`: the text as written.
    Duration(String),
}

impl LiteralKind {
    /// What kind of literal this is, in words, for diagnostics.
    pub fn describe(&self) -> &'static str {
        match self {
            LiteralKind::Bool(_) => "a boolean",
            LiteralKind::Number(n) if n.contains(['.', 'e', 'E']) => "a decimal number",
            LiteralKind::Number(_) => "an integer",
            LiteralKind::String(_) => "a string",
            LiteralKind::Semver(_) => "a version",
            LiteralKind::Date(_) => "a date",
            LiteralKind::Timestamp(_) => "a timestamp",
            LiteralKind::Percent(_) => "a percentage",
            LiteralKind::Duration(_) => "a duration",
        }
    }
}

// ---------------------------------------------------------------- expressions

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// Kept so that the formatter prints what was written.
    Paren(Box<Expr>),
    Compare {
        op: CompareOp,
        op_span: Span,
        lhs: Operand,
        rhs: Operand,
    },
    In {
        negated: bool,
        /// `iin`: strings compared ignoring case.
        case_insensitive: bool,
        op_span: Span,
        lhs: Operand,
        rhs: InTarget,
    },
    StringOp {
        op: StringOp,
        case_insensitive: bool,
        op_span: Span,
        lhs: Operand,
        rhs: Operand,
    },
    /// `user.roles contains any ["a", "b"]` (`all`: `contains all [..]`):
    /// whether a list field holds one of the values, or every one.
    ContainsList {
        all: bool,
        /// `contains any` / `contains all`.
        op_span: Span,
        lhs: Operand,
        items: Vec<Operand>,
        list_span: Span,
    },
    /// `user.company is set` / `is not set`.
    IsSet {
        negated: bool,
        operand: Operand,
    },
    /// A bare operand in a boolean position: a bool field, a segment, `true`.
    Operand(Operand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
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

    pub fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StringOp {
    /// Only written `iequals` (equality ignoring case); `==` is exact.
    Equals,
    StartsWith,
    EndsWith,
    Contains,
    Matches,
}

impl StringOp {
    pub fn as_str(self, case_insensitive: bool) -> &'static str {
        match (self, case_insensitive) {
            (StringOp::Equals, _) => "iequals",
            (StringOp::StartsWith, false) => "starts_with",
            (StringOp::EndsWith, false) => "ends_with",
            (StringOp::Contains, false) => "contains",
            (StringOp::Matches, false) => "matches",
            (StringOp::StartsWith, true) => "istarts_with",
            (StringOp::EndsWith, true) => "iends_with",
            (StringOp::Contains, true) => "icontains",
            (StringOp::Matches, true) => "imatches",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InTarget {
    /// `in ["US", "CA"]`
    List(Vec<Operand>, Span),
    /// `in user.roles`: membership in a list-typed field.
    Operand(Operand),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operand {
    pub kind: OperandKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OperandKind {
    /// `user.country`
    Path {
        context: Ident,
        field: Ident,
    },
    /// A bare name: a segment in a boolean position, an enum value when
    /// compared with an enum field.
    Name(Ident),
    /// The evaluation time.
    Now,
    /// `now - 30d`, `now + 1h`: the evaluation time moved by `amount`
    /// (a duration, as the checker requires; any literal parses).
    NowOffset {
        negative: bool,
        sign_span: Span,
        amount: Literal,
    },
    Literal(Literal),
    /// A list literal, in a test's context values.
    List(Vec<Operand>),
}
