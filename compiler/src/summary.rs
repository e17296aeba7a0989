//! A file's declarations without positions: names, kinds and signatures.
//!
//! Salsa compares a new summary with the old one; an edit inside a rule body
//! leaves the summary equal, so nothing that depends only on declarations
//! (other files' checks, the symbol table) runs again.

use vexil_grammar as ast;
use vexil_grammar::{ExprKind, Item, OperandKind, PropertyKind};
use vexil_ir::{FlagKind, ValueType};

use crate::literal;
use crate::types::{ContextDef, FieldDef, FlagSig, Ty};

/// The named items of one file, in source order (tests, and broken items
/// without a name, are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileSummary {
    /// One per named item.
    pub items: Vec<ItemSummary>,
}

/// One declaration of a file, without positions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ItemSummary {
    /// The declared name.
    pub name: String,
    /// What it declares.
    pub kind: Kind,
    /// Index of the item in the file's syntax tree.
    pub ordinal: u32,
    /// What other files' checks read of it.
    pub sig: ItemSig,
}

/// What a top-level name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A context schema.
    Context,
    /// A named condition.
    Segment,
    /// A flag.
    Flag,
    /// An experiment.
    Experiment,
    /// An item that did not parse; it declares its name so that uses of it
    /// are not reported again as unknown.
    Broken(Option<ast::ItemKeyword>),
}

impl Kind {
    /// The keyword it is declared with, for messages: `flag`, `context`.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Context => "context",
            Kind::Segment => "segment",
            Kind::Flag => "flag",
            Kind::Experiment => "experiment",
            Kind::Broken(Some(k)) => k.as_str(),
            Kind::Broken(None) => "item",
        }
    }

    /// Whether a broken item could be a `want`: then uses of it are not errors.
    pub(crate) fn could_be(self, want: Kind) -> bool {
        match self {
            Kind::Broken(None) => true,
            Kind::Broken(Some(k)) => matches!(
                (k, want),
                (ast::ItemKeyword::Context, Kind::Context)
                    | (ast::ItemKeyword::Segment, Kind::Segment)
                    | (ast::ItemKeyword::Flag, Kind::Flag)
                    | (ast::ItemKeyword::Experiment, Kind::Experiment)
            ),
            k => k == want,
        }
    }
}

/// What an item declares for other files to read, without positions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemSig {
    /// A context's schema.
    Context(ContextDef),
    /// A segment, with the segments its condition refers to (for cycles).
    Segment {
        /// The segments named in its condition.
        uses: Vec<String>,
    },
    /// A flag's or an experiment's signature.
    Flag(FlagSig),
    /// An item that did not parse.
    Broken,
}

pub(crate) fn summarize(file: &ast::SourceFile) -> FileSummary {
    let mut items = Vec::new();
    for (ordinal, item) in file.items.iter().enumerate() {
        let ordinal = ordinal as u32;
        let summary = match item {
            Item::Context(c) => ItemSummary {
                name: c.name.name.clone(),
                kind: Kind::Context,
                ordinal,
                sig: ItemSig::Context(context_def(c)),
            },
            Item::Segment(s) => {
                let mut uses = Vec::new();
                segment_uses(&s.condition, &mut uses);
                ItemSummary {
                    name: s.name.name.clone(),
                    kind: Kind::Segment,
                    ordinal,
                    sig: ItemSig::Segment { uses },
                }
            }
            Item::Flag(f) => ItemSummary {
                name: f.name.name.clone(),
                kind: Kind::Flag,
                ordinal,
                sig: ItemSig::Flag(flag_sig(false, f.value_type, &f.properties)),
            },
            Item::Experiment(e) => ItemSummary {
                name: e.name.name.clone(),
                kind: Kind::Experiment,
                ordinal,
                sig: ItemSig::Flag(flag_sig(true, e.value_type, &e.properties)),
            },
            Item::Broken(b) => match &b.name {
                Some(name) => ItemSummary {
                    name: name.name.clone(),
                    kind: Kind::Broken(b.keyword),
                    ordinal,
                    sig: ItemSig::Broken,
                },
                None => continue,
            },
            Item::Test(_) => continue,
        };
        items.push(summary);
    }
    FileSummary { items }
}

pub(crate) fn value_type(vt: ast::ValueType) -> ValueType {
    match vt {
        ast::ValueType::Bool => ValueType::Bool,
        ast::ValueType::String => ValueType::String,
        ast::ValueType::Int => ValueType::Int,
        ast::ValueType::Float => ValueType::Float,
        ast::ValueType::Json => ValueType::Json,
    }
}

/// The checker's type for a declared field type; `None` inside when the
/// declaration is invalid (reported by the context's own check).
pub fn field_ty(t: &ast::TypeExpr) -> (Ty, bool) {
    match &t.kind {
        ast::TypeExprKind::Optional(inner) => (field_ty(inner).0, true),
        ast::TypeExprKind::Prim(p) => (
            match p {
                ast::PrimType::Bool => Ty::Bool,
                ast::PrimType::Int => Ty::Int,
                ast::PrimType::Float => Ty::Float,
                ast::PrimType::String => Ty::String,
                ast::PrimType::Semver => Ty::Semver,
                ast::PrimType::Timestamp => Ty::Timestamp,
                ast::PrimType::Ip => Ty::Ip,
            },
            false,
        ),
        ast::TypeExprKind::Enum(values) => (
            Ty::Enum(values.iter().map(|v| v.name.clone()).collect()),
            false,
        ),
        ast::TypeExprKind::List(elem) => (Ty::List(Box::new(field_ty(elem).0)), false),
    }
}

fn context_def(c: &ast::ContextDecl) -> ContextDef {
    let fields: Vec<FieldDef> = c
        .fields
        .iter()
        .map(|f| {
            let (ty, optional) = field_ty(&f.ty);
            FieldDef {
                name: f.name.name.clone(),
                ty,
                optional,
                doc: f.doc.as_ref().map(ast::Doc::text),
            }
        })
        .collect();
    ContextDef {
        name: c.name.name.clone(),
        key: c
            .fields
            .iter()
            .position(|f| f.key.is_some())
            .map(|i| i as u32),
        fields,
        doc: c.doc.as_ref().map(ast::Doc::text),
    }
}

/// Segment names a condition uses, for cycle detection.
pub(crate) fn segment_uses(e: &ast::Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Or(a, b) | ExprKind::And(a, b) => {
            segment_uses(a, out);
            segment_uses(b, out);
        }
        ExprKind::Not(a) | ExprKind::Paren(a) => segment_uses(a, out),
        ExprKind::Operand(op) => {
            if let OperandKind::Name(id) = &op.kind {
                if !out.contains(&id.name) {
                    out.push(id.name.clone());
                }
            }
        }
        _ => {}
    }
}

fn flag_sig(is_experiment: bool, vt: ast::ValueType, props: &[ast::Property]) -> FlagSig {
    let mut sig = FlagSig {
        is_experiment,
        value_type: value_type(vt),
        kind: None,
        variants: Vec::new(),
        rules: Vec::new(),
        requires: Vec::new(),
        layer: None,
        traffic: None,
        start: None,
    };
    let mut traffic_seen = false;
    for p in props {
        match &p.kind {
            PropertyKind::Kind(k) => {
                sig.kind = FlagKind::ALL.into_iter().find(|fk| fk.as_str() == k.name);
            }
            PropertyKind::Variants(vs) => {
                sig.variants.extend(vs.iter().map(|v| v.name.name.clone()))
            }
            PropertyKind::Rule(r) => sig.rules.push(r.name.as_ref().map(|n| n.name.clone())),
            PropertyKind::Requires(r) => sig.requires.push(r.flag.name.clone()),
            PropertyKind::Layer(l) => sig.layer = Some(l.name.clone()),
            PropertyKind::Traffic(t) => {
                traffic_seen = true;
                sig.traffic = literal::percent(t).ok();
            }
            PropertyKind::Start(t) => sig.start = literal::timestamp(t).ok(),
            _ => {}
        }
    }
    if is_experiment && !traffic_seen {
        sig.traffic = Some(vexil_ir::bucket::BUCKETS);
    }
    sig
}
