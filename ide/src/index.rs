//! Every name written in a file, with what it names: the index behind go to
//! definition, find references, rename, hover and semantic tokens.
//!
//! It is built from the syntax tree alone, so it is a salsa query of one
//! file that re-runs only when that file changes. Targets are keyed by
//! names, not positions: a use in one file and a declaration in another
//! meet by comparing keys. Whether a key is declared is decided later,
//! against the workspace's symbols.

use vexil_grammar::{
    self as ast, ExpectKind, ExprKind, InTarget, Item, OperandKind, PropertyKind, RuleResult, Span,
    TestMember, TypeExprKind, ValueKind,
};

use vexil_compiler::db::{self, Db, SourceFile};

/// What a name refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A context, segment, flag or experiment: the project-wide namespace.
    Item(String),
    /// A field of a context.
    Field {
        /// The context's name.
        context: String,
        /// The field's name.
        field: String,
    },
    /// A value of an enum field.
    EnumValue {
        /// The context's name.
        context: String,
        /// The field's name.
        field: String,
        /// The value.
        value: String,
    },
    /// A variant of a flag or experiment.
    Variant {
        /// The flag's or experiment's name.
        owner: String,
        /// The variant's name.
        variant: String,
    },
    /// A named rule of a flag.
    Rule {
        /// The flag's name.
        owner: String,
        /// The rule's name.
        rule: String,
    },
}

/// A name as written at `span`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Occurrence {
    /// The name as written.
    pub span: Span,
    /// What it names.
    pub target: Target,
    /// Whether this is where the target is declared.
    pub is_definition: bool,
}

/// Every name written in one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileIndex {
    /// In source order.
    pub occurrences: Vec<Occurrence>,
}

impl FileIndex {
    /// The name under the cursor; at the boundary of two, the one that
    /// starts there (the cursor is before it) wins over the one that ends.
    pub fn at(&self, offset: u32) -> Option<&Occurrence> {
        let mut hit = None;
        for o in &self.occurrences {
            if o.span.start <= offset && offset < o.span.end {
                return Some(o);
            }
            if o.span.end == offset {
                hit = Some(o);
            }
        }
        hit
    }
}

/// The names written in `file`, from its syntax tree alone.
#[salsa::tracked(returns(ref))]
pub fn file_index(db: &dyn Db, file: SourceFile) -> FileIndex {
    let tree = db::parse(db, file);
    let mut w = Walker::default();
    for item in &tree.items {
        w.item(item);
    }
    w.out.sort_by_key(|o| (o.span.start, o.span.end));
    FileIndex { occurrences: w.out }
}

#[derive(Default)]
struct Walker {
    out: Vec<Occurrence>,
}

impl Walker {
    fn def(&mut self, span: Span, target: Target) {
        self.out.push(Occurrence {
            span,
            target,
            is_definition: true,
        });
    }

    fn use_(&mut self, span: Span, target: Target) {
        self.out.push(Occurrence {
            span,
            target,
            is_definition: false,
        });
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Context(c) => {
                self.def(c.name.span, Target::Item(c.name.name.clone()));
                for f in &c.fields {
                    self.def(
                        f.name.span,
                        Target::Field {
                            context: c.name.name.clone(),
                            field: f.name.name.clone(),
                        },
                    );
                    for v in enum_values(&f.ty) {
                        self.def(
                            v.span,
                            Target::EnumValue {
                                context: c.name.name.clone(),
                                field: f.name.name.clone(),
                                value: v.name.clone(),
                            },
                        );
                    }
                }
            }
            Item::Segment(s) => {
                self.def(s.name.span, Target::Item(s.name.name.clone()));
                self.expr(&s.condition);
            }
            Item::Flag(f) => {
                self.def(f.name.span, Target::Item(f.name.name.clone()));
                self.properties(&f.name.name, &f.properties);
            }
            Item::Experiment(e) => {
                self.def(e.name.span, Target::Item(e.name.name.clone()));
                self.properties(&e.name.name, &e.properties);
            }
            Item::Test(t) => self.test(t),
            Item::Broken(b) => {
                if let Some(name) = &b.name {
                    self.def(name.span, Target::Item(name.name.clone()));
                }
            }
        }
    }

    fn properties(&mut self, owner: &str, props: &[ast::Property]) {
        for p in props {
            match &p.kind {
                PropertyKind::Requires(req) => {
                    self.use_(req.flag.span, Target::Item(req.flag.name.clone()));
                    if let Some((_, v)) = &req.expected {
                        self.value(v, &req.flag.name);
                    }
                }
                PropertyKind::Variants(vs) => {
                    for v in vs {
                        self.def(v.name.span, variant(owner, &v.name.name));
                    }
                }
                PropertyKind::Default(v) => self.value(v, owner),
                PropertyKind::Rule(r) => {
                    if let Some(name) = &r.name {
                        self.def(
                            name.span,
                            Target::Rule {
                                owner: owner.to_string(),
                                rule: name.name.clone(),
                            },
                        );
                    }
                    if let Some(c) = &r.condition {
                        self.expr(c);
                    }
                    match &r.result {
                        RuleResult::Value(v) => self.value(v, owner),
                        RuleResult::Rollout { value, unit, .. }
                        | RuleResult::Staged { value, unit, .. } => {
                            if let Some(v) = value {
                                self.value(v, owner);
                            }
                            self.unit(unit);
                        }
                        RuleResult::Split { unit, arms, .. } => {
                            self.unit(unit);
                            for arm in arms {
                                self.value(&arm.value, owner);
                            }
                        }
                    }
                }
                PropertyKind::Unit(u) => self.unit(u),
                PropertyKind::Audience(e) | PropertyKind::EnabledWhen(e) => self.expr(e),
                PropertyKind::Control(id) => self.use_(id.span, variant(owner, &id.name)),
                _ => {}
            }
        }
    }

    fn value(&mut self, v: &ast::Value, owner: &str) {
        if let ValueKind::Variant(id) = &v.kind {
            self.use_(id.span, variant(owner, &id.name));
        }
    }

    fn unit(&mut self, u: &ast::Unit) {
        self.use_(u.context.span, Target::Item(u.context.name.clone()));
        if let Some(f) = &u.field {
            self.use_(f.span, field(&u.context.name, &f.name));
        }
    }

    fn test(&mut self, t: &ast::TestDecl) {
        for m in &t.members {
            match m {
                TestMember::Context { contexts, .. } => {
                    for cv in contexts {
                        let ctx = &cv.context.name;
                        self.use_(cv.context.span, Target::Item(ctx.clone()));
                        for fv in &cv.fields {
                            self.use_(fv.field.span, field(ctx, &fv.field.name));
                            self.enum_names(&fv.value, ctx, &fv.field.name);
                        }
                    }
                }
                TestMember::Now { .. } => {}
                TestMember::Expect(e) => {
                    let flag = &e.flag.name;
                    self.use_(e.flag.span, Target::Item(flag.clone()));
                    match &e.kind {
                        ExpectKind::Value(v) => self.value(v, flag),
                        ExpectKind::Variant(id) => self.use_(id.span, variant(flag, &id.name)),
                        // A rule may be named by its position: `rule 2`.
                        ExpectKind::Rule(id)
                            if !id.name.starts_with(|c: char| c.is_ascii_digit()) =>
                        {
                            self.use_(
                                id.span,
                                Target::Rule {
                                    owner: flag.clone(),
                                    rule: id.name.clone(),
                                },
                            )
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Bare names in a test value are enum values of the field.
    fn enum_names(&mut self, o: &ast::Operand, ctx: &str, field: &str) {
        match &o.kind {
            OperandKind::Name(id) => self.use_(id.span, enum_value(ctx, field, &id.name)),
            OperandKind::List(items) => {
                for i in items {
                    self.enum_names(i, ctx, field);
                }
            }
            _ => {}
        }
    }

    /// A field and a literal list of its values: a bare name in the list
    /// is a value of the field's enum.
    fn listed(&mut self, lhs: &ast::Operand, items: &[ast::Operand]) {
        self.operand(lhs);
        for item in items {
            match (&lhs.kind, &item.kind) {
                (OperandKind::Path { context, field: f }, OperandKind::Name(id)) => {
                    self.use_(id.span, enum_value(&context.name, &f.name, &id.name))
                }
                _ => self.operand(item),
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ExprKind::Or(a, b) | ExprKind::And(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Not(a) | ExprKind::Paren(a) => self.expr(a),
            ExprKind::Compare { lhs, rhs, .. } | ExprKind::StringOp { lhs, rhs, .. } => {
                self.pair(lhs, rhs)
            }
            ExprKind::In { lhs, rhs, .. } => match rhs {
                InTarget::List(items, _) => self.listed(lhs, items),
                InTarget::Operand(list) => self.pair(lhs, list),
            },
            ExprKind::ContainsList { lhs, items, .. } => self.listed(lhs, items),
            ExprKind::IsSet { operand, .. } => self.operand(operand),
            ExprKind::Operand(op) => match &op.kind {
                // A bare name standing as a condition is a segment.
                OperandKind::Name(id) => self.use_(id.span, Target::Item(id.name.clone())),
                _ => self.operand(op),
            },
        }
    }

    /// Two operands of one operator: a bare name facing a field is a value
    /// of that field's enum.
    fn pair(&mut self, a: &ast::Operand, b: &ast::Operand) {
        for (this, other) in [(a, b), (b, a)] {
            match (&this.kind, &other.kind) {
                (OperandKind::Name(id), OperandKind::Path { context, field: f }) => {
                    self.use_(id.span, enum_value(&context.name, &f.name, &id.name))
                }
                _ => self.operand(this),
            }
        }
    }

    fn operand(&mut self, o: &ast::Operand) {
        match &o.kind {
            OperandKind::Path { context, field: f } => {
                self.use_(context.span, Target::Item(context.name.clone()));
                self.use_(f.span, field(&context.name, &f.name));
            }
            OperandKind::List(items) => {
                for i in items {
                    self.operand(i);
                }
            }
            // A bare name that faces no field names nothing we can resolve.
            OperandKind::Name(_)
            | OperandKind::Now
            | OperandKind::NowOffset { .. }
            | OperandKind::Literal(_) => {}
        }
    }
}

/// The values of an enum field type, through `?` and `list<..>`.
pub(crate) fn enum_values(t: &ast::TypeExpr) -> &[ast::Ident] {
    match &t.kind {
        TypeExprKind::Enum(values) => values,
        TypeExprKind::Optional(inner) | TypeExprKind::List(inner) => enum_values(inner),
        TypeExprKind::Prim(_) => &[],
    }
}

fn field(context: &str, field: &str) -> Target {
    Target::Field {
        context: context.to_string(),
        field: field.to_string(),
    }
}

fn enum_value(context: &str, field: &str, value: &str) -> Target {
    Target::EnumValue {
        context: context.to_string(),
        field: field.to_string(),
        value: value.to_string(),
    }
}

fn variant(owner: &str, variant: &str) -> Target {
    Target::Variant {
        owner: owner.to_string(),
        variant: variant.to_string(),
    }
}
