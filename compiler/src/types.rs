//! What the checker knows about declarations in other files: context
//! schemas with their field types, and the signatures of flags and
//! experiments. Plain data, comparable, so that salsa can tell when a
//! declaration really changed.

use vexil_ir::{FlagKind, OperandType, ValueType};

/// A field's type as the checker sees it: `vexil_ir::FieldType`'s shape,
/// hashable for salsa and described for diagnostics. Its typing rules are
/// validation's (`OperandType`), except that two enums compare only when
/// they are the same enum (validation sees enums by size alone).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `string`.
    String,
    /// `semver`.
    Semver,
    /// `timestamp`.
    Timestamp,
    /// `ip`.
    Ip,
    /// Values in declaration order.
    Enum(Vec<String>),
    /// `list<..>` of this element type.
    List(Box<Ty>),
}

impl Ty {
    /// The type as written in `.flag` files (a long enum shortened).
    pub fn describe(&self) -> String {
        match self {
            Ty::Bool => "bool".into(),
            Ty::Int => "int".into(),
            Ty::Float => "float".into(),
            Ty::String => "string".into(),
            Ty::Semver => "semver".into(),
            Ty::Timestamp => "timestamp".into(),
            Ty::Ip => "ip".into(),
            Ty::Enum(values) => {
                if values.len() <= 6 {
                    format!("enum {{ {} }}", values.join(", "))
                } else {
                    format!("enum {{ {}, .. }}", values[..5].join(", "))
                }
            }
            Ty::List(elem) => format!("list<{}>", elem.describe()),
        }
    }

    /// The type of a field of this type used as an operand (`None` for a
    /// list).
    pub(crate) fn operand_type(&self) -> Option<OperandType> {
        Some(match self {
            Ty::Bool => OperandType::Bool,
            Ty::Int => OperandType::Int,
            Ty::Float => OperandType::Float,
            Ty::String => OperandType::String,
            Ty::Semver => OperandType::Semver,
            Ty::Timestamp => OperandType::Timestamp,
            Ty::Ip => OperandType::Ip,
            Ty::Enum(values) => OperandType::Enum(values.len()),
            Ty::List(_) => return None,
        })
    }

    /// Whether `<`, `<=`, `>` and `>=` apply (enums by declaration order).
    pub(crate) fn is_ordered(&self) -> bool {
        self.operand_type().is_some_and(OperandType::is_ordered)
    }

    /// Whether values of the two types can be compared with each other:
    /// the same type, or two types validation compares at one (an int and
    /// a float).
    pub(crate) fn comparable_with(&self, other: &Ty) -> bool {
        self == other
            || match (self.operand_type(), other.operand_type()) {
                (Some(a), Some(b)) if a != b => OperandType::compared_at(a, b).is_some(),
                _ => false,
            }
    }

    /// The same type in the IR's terms.
    pub(crate) fn to_ir(&self) -> vexil_ir::FieldType {
        use vexil_ir::FieldType as F;
        match self {
            Ty::Bool => F::Bool,
            Ty::Int => F::Int,
            Ty::Float => F::Float,
            Ty::String => F::String,
            Ty::Semver => F::Semver,
            Ty::Timestamp => F::Timestamp,
            Ty::Ip => F::Ip,
            Ty::Enum(v) => F::Enum(v.clone()),
            Ty::List(e) => F::List(Box::new(e.to_ir())),
        }
    }
}

/// A context's schema.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContextDef {
    /// The context's name.
    pub name: String,
    /// Index of the targeting key in `fields`.
    pub key: Option<u32>,
    /// In declaration order.
    pub fields: Vec<FieldDef>,
    /// The doc comment's text.
    pub doc: Option<String>,
}

impl ContextDef {
    /// The field named `name`, with its index in `fields`.
    pub fn field(&self, name: &str) -> Option<(u32, &FieldDef)> {
        self.fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
            .map(|(i, f)| (i as u32, f))
    }
}

/// A field of a context.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldDef {
    /// The field's name.
    pub name: String,
    /// Its type, without the optional mark.
    pub ty: Ty,
    /// Declared with `?`: it may be missing from a context.
    pub optional: bool,
    /// The doc comment's text.
    pub doc: Option<String>,
}

/// What other files need to know about a flag or an experiment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlagSig {
    /// An experiment rather than a flag.
    pub is_experiment: bool,
    /// The type of the values it serves.
    pub value_type: ValueType,
    /// A flag's `kind`, when given and valid.
    pub kind: Option<FlagKind>,
    /// Variant names in declaration order.
    pub variants: Vec<String>,
    /// Rule names in order (`None` for unnamed rules).
    pub rules: Vec<Option<String>>,
    /// Flags this one requires, for cycle detection.
    pub requires: Vec<String>,
    /// An experiment's layer.
    pub layer: Option<String>,
    /// Traffic in buckets, when it could be read.
    pub traffic: Option<u32>,
    /// Start time in microseconds, when given and valid.
    pub start: Option<i64>,
}

/// `a bool`, `an int`, `an enum { .. }`.
pub(crate) fn with_article(word: &str) -> String {
    let vowel = word.chars().next().is_some_and(|c| "aeiou".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}
