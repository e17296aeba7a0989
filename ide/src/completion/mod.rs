//! Completion: what may be typed at the cursor, from the workspace's
//! declarations. `cursor.rs` reads the place from the text (which rarely
//! parses mid-edit); this module fills it with names, keywords and snippets.

mod cursor;
mod snippets;

use vexil_grammar::Span;
use vexil_ir::{ErrorCode, FlagKind, Reason, ValueType};

use self::cursor::{ConditionPlace, Owner, Place};
use super::nav::{item_decl, owner_props, variant_decls};
use vexil_compiler::db::{self, Db, Name, SourceFile, Workspace};
use vexil_compiler::summary::Kind;
use vexil_compiler::types::{ContextDef, Ty};
use vexil_grammar::lex::{self, TokenKind, STRING_OPS};

/// What a completion inserts, for the editor's icon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompletionKind {
    /// A context's name.
    Context,
    /// A field of a context.
    Field,
    /// A value of an enum field.
    EnumValue,
    /// A segment's name.
    Segment,
    /// A flag's name.
    Flag,
    /// An experiment's name.
    Experiment,
    /// A variant of a flag or experiment.
    Variant,
    /// A named rule.
    Rule,
    /// A keyword.
    Keyword,
    /// A comparison or string operator.
    Operator,
    /// A fixed value: a flag kind, a reason, an error code, a layer.
    Value,
    /// A type name.
    Type,
    /// A whole item to fill in.
    Snippet,
}

/// One thing that may be typed at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionItem {
    /// What the editor shows (and inserts, unless `insert` says otherwise).
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
    /// A short description shown beside the label: a field's type.
    pub detail: Option<String>,
    /// Markdown: a doc comment.
    pub documentation: Option<String>,
    /// What to insert, when it is not the label; a snippet with `$1`
    /// placeholders when `snippet` is set.
    pub insert: Option<String>,
    /// Whether `insert` is a snippet with placeholders.
    pub snippet: bool,
}

impl CompletionItem {
    fn new(label: impl Into<String>, kind: CompletionKind) -> CompletionItem {
        CompletionItem {
            label: label.into(),
            kind,
            detail: None,
            documentation: None,
            insert: None,
            snippet: false,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn doc(mut self, doc: Option<String>) -> Self {
        self.documentation = doc;
        self
    }
}

/// The completions at a cursor, in the order they should be offered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completions {
    /// The partial name at the cursor that an item replaces.
    pub replace: Span,
    /// The completions, best first.
    pub items: Vec<CompletionItem>,
}

/// What may be typed at `offset` in `file`.
pub fn completions(db: &dyn Db, ws: Workspace, file: SourceFile, offset: u32) -> Completions {
    let text = file.text(db);
    let cursor = cursor::analyse(text, offset as usize);
    let mut c = Collector {
        db,
        ws,
        text,
        item_span: cursor.item_span,
        word: cursor.word,
        items: Vec::new(),
    };
    c.place(&cursor.place);
    let mut seen = std::collections::HashSet::new();
    c.items.retain(|i| seen.insert(i.label.clone()));
    Completions {
        replace: cursor.word,
        items: c.items,
    }
}

struct Collector<'a> {
    db: &'a dyn Db,
    ws: Workspace,
    text: &'a str,
    item_span: Option<Span>,
    word: Span,
    items: Vec<CompletionItem>,
}

impl Collector<'_> {
    fn push(&mut self, item: CompletionItem) {
        self.items.push(item);
    }

    fn keywords(&mut self, words: &[&str]) {
        for w in words {
            self.push(CompletionItem::new(*w, CompletionKind::Keyword));
        }
    }

    fn place(&mut self, place: &Place) {
        match place {
            Place::TopLevel => {
                let today = self.ws.today(self.db);
                self.items.extend(snippets::items(*today));
            }
            Place::ValueType => {
                for t in ["bool", "string", "int", "float", "json"] {
                    self.push(CompletionItem::new(t, CompletionKind::Type));
                }
            }
            Place::Property { experiment } => {
                let props: &[&str] = if *experiment {
                    &[
                        "owner", "tags", "client", "unit", "salt", "layer", "traffic", "audience",
                        "start", "end", "variants", "control", "metrics", "planning",
                    ]
                } else {
                    &[
                        "kind", "owner", "tags", "expires", "default", "enabled", "client", "salt",
                        "requires", "variants", "rule",
                    ]
                };
                let given = self.given_properties();
                let props: Vec<&str> = props
                    .iter()
                    .copied()
                    .filter(|p| matches!(*p, "rule" | "requires") || !given.contains(p))
                    .collect();
                self.keywords(&props);
            }
            Place::FieldDecl => self.keywords(&["key"]),
            Place::FieldType => {
                for t in [
                    "string",
                    "int",
                    "float",
                    "bool",
                    "semver",
                    "timestamp",
                    "ip",
                ] {
                    self.push(CompletionItem::new(t, CompletionKind::Type));
                }
                let mut e = CompletionItem::new("enum { .. }", CompletionKind::Type);
                e.insert = Some("enum { $1 }".into());
                e.snippet = true;
                self.push(e);
                let mut l = CompletionItem::new("list<..>", CompletionKind::Type);
                l.insert = Some("list<$1>".into());
                l.snippet = true;
                self.push(l);
            }
            Place::Condition(toks) => self.condition(toks),
            Place::FlagKind => {
                for k in FlagKind::ALL {
                    self.push(CompletionItem::new(k.as_str(), CompletionKind::Value));
                }
            }
            Place::FlagName { experiments } => {
                self.items_of(Kind::Flag);
                if *experiments {
                    self.items_of(Kind::Experiment);
                } else if let Some(this) = self.this_name() {
                    // A flag cannot require itself.
                    self.items.retain(|i| i.label != this);
                }
            }
            Place::Value { owner, with_split } => {
                self.variants(owner);
                if self.value_type(owner) == Some(ValueType::Bool) {
                    self.keywords(&["true", "false"]);
                }
                if *with_split {
                    let mut s = CompletionItem::new("split by ..", CompletionKind::Keyword);
                    s.insert = Some("split by ${1:user} {\n  $2\n}".into());
                    s.snippet = true;
                    self.push(s);
                }
            }
            Place::Variant(owner) => self.variants(owner),
            Place::Unit(None) => self.items_of(Kind::Context),
            Place::Unit(Some(context)) => {
                if let Some(def) = self.context(context) {
                    for f in &def.fields {
                        if matches!(f.ty, Ty::String | Ty::Int) && !f.optional {
                            self.push(field_item(f));
                        }
                    }
                }
            }
            Place::Layer => {
                let mut layers: Vec<String> = self
                    .sigs(Kind::Experiment)
                    .into_iter()
                    .filter_map(|(_, sig)| sig.layer)
                    .collect();
                layers.sort();
                for l in layers {
                    self.push(CompletionItem::new(l, CompletionKind::Value).detail("layer"));
                }
            }
            Place::RuleClause => self.keywords(&["when", "from", "until", "=>"]),
            Place::Expectation(_) => {
                for (label, detail) in [
                    ("==", "its value"),
                    ("variant", "the variant served"),
                    ("reason", "why it was served"),
                    ("rule", "the rule that matched"),
                    ("error", "the error code"),
                ] {
                    self.push(CompletionItem::new(label, CompletionKind::Keyword).detail(detail));
                }
            }
            Place::Reason => {
                for r in Reason::ALL {
                    self.push(CompletionItem::new(r.as_str(), CompletionKind::Value));
                }
            }
            Place::ErrorCode => {
                for e in ErrorCode::ALL {
                    self.push(CompletionItem::new(e.as_str(), CompletionKind::Value));
                }
            }
            Place::RuleOf(flag) => {
                if let Some(sig) = self.sig(flag) {
                    for (i, rule) in sig.rules.iter().enumerate() {
                        if let Some(name) = rule {
                            self.push(
                                CompletionItem::new(name.clone(), CompletionKind::Rule)
                                    .detail(format!("rule {}", i + 1)),
                            );
                        }
                    }
                }
            }
            Place::TestMember => self.keywords(&["context", "now", "expect"]),
            Place::TestContext => self.items_of(Kind::Context),
            Place::TestField { context, given } => {
                if let Some(def) = self.context(context) {
                    for f in &def.fields {
                        if !given.contains(&f.name) {
                            self.push(field_item(f));
                        }
                    }
                }
            }
            Place::TestValue { context, field } => self.values_of(context, field),
            Place::MetricRole => self.keywords(&["primary", "secondary", "guardrail"]),
            Place::MetricFunction => {
                for (f, d) in [
                    ("conversion", "share of units with the event"),
                    ("mean", "mean value of the event per unit"),
                    ("ratio", "sum of one event over another"),
                ] {
                    self.push(CompletionItem::new(f, CompletionKind::Keyword).detail(d));
                }
            }
            Place::PlanningKey => {
                self.keywords(&["baseline", "stddev", "mde", "alpha", "power", "daily_units"])
            }
            Place::Nothing => {}
        }
    }

    /// The tokens of the item around the cursor, without comments.
    fn item_tokens(&self) -> Vec<lex::Token> {
        let Some(span) = self.item_span else {
            return Vec::new();
        };
        lex::tokens(self.text, span.start as usize, span.end as usize)
            .into_iter()
            .filter(|t| !matches!(t.kind, TokenKind::Comment { .. }))
            .collect()
    }

    /// The name of the item around the cursor.
    fn this_name(&self) -> Option<String> {
        self.item_tokens()
            .get(1)
            .map(|t| t.text(self.text).to_string())
    }

    /// Property keywords written at the start of a line in the item's body,
    /// except the word being typed.
    fn given_properties(&self) -> Vec<&str> {
        let mut depth = 0;
        let mut out = Vec::new();
        for t in self.item_tokens() {
            match t.text(self.text) {
                "{" | "(" | "[" => depth += 1,
                "}" | ")" | "]" => depth -= 1,
                word if depth == 1
                    && t.span != self.word
                    && t.kind == TokenKind::Ident
                    && self
                        .text
                        .get(..t.span.start as usize)
                        .and_then(|before| before.rsplit('\n').next())
                        .is_some_and(|line| line.trim().is_empty()) =>
                {
                    out.push(word)
                }
                _ => {}
            }
        }
        out
    }

    fn condition(&mut self, toks: &[lex::Token]) {
        match cursor::condition(self.text, toks) {
            ConditionPlace::Field(context) => {
                if let Some(def) = self.context(&context) {
                    for f in &def.fields {
                        self.push(field_item(f));
                    }
                }
            }
            ConditionPlace::ValueOf { context, field } => self.values_of(&context, &field),
            ConditionPlace::Presence => {
                self.keywords(&["set", "not set"]);
            }
            ConditionPlace::After(path) => {
                let field = path.and_then(|(c, f)| {
                    let def = self.context(&c)?;
                    def.field(&f).map(|(_, f)| (f.ty.clone(), f.optional))
                });
                if let Some((ty, optional)) = field {
                    for op in operators(&ty, optional) {
                        let mut item = CompletionItem::new(op, CompletionKind::Operator);
                        item.detail = crate::operators::describe(op).map(str::to_string);
                        self.push(item);
                    }
                }
                self.keywords(&["and", "or"]);
            }
            ConditionPlace::Operand => {
                self.items_of(Kind::Context);
                self.items_of(Kind::Segment);
                self.keywords(&["not", "now", "true", "false"]);
            }
            ConditionPlace::Nothing => {}
        }
    }

    fn context(&self, name: &str) -> Option<std::sync::Arc<ContextDef>> {
        db::context_def(self.db, self.ws, Name::new(self.db, name.to_string())).clone()
    }

    fn sig(&self, name: &str) -> Option<vexil_compiler::types::FlagSig> {
        db::flag_signature(self.db, self.ws, Name::new(self.db, name.to_string())).clone()
    }

    fn sigs(&self, kind: Kind) -> Vec<(String, vexil_compiler::types::FlagSig)> {
        db::symbols(self.db, self.ws)
            .names_of(&[kind])
            .into_iter()
            .filter_map(|n| Some((n.to_string(), self.sig(n)?)))
            .collect()
    }

    /// Every declared name of one kind, with its doc comment.
    fn items_of(&mut self, kind: Kind) {
        let names: Vec<String> = db::symbols(self.db, self.ws)
            .names_of(&[kind])
            .into_iter()
            .map(str::to_string)
            .collect();
        for name in names {
            let (ck, detail) = match kind {
                Kind::Context => (CompletionKind::Context, "context".to_string()),
                Kind::Segment => (CompletionKind::Segment, "segment".to_string()),
                Kind::Flag | Kind::Experiment => {
                    let what = if kind == Kind::Flag {
                        "flag"
                    } else {
                        "experiment"
                    };
                    let ty = self.sig(&name).map_or("", |s| s.value_type.as_str());
                    let ck = if kind == Kind::Flag {
                        CompletionKind::Flag
                    } else {
                        CompletionKind::Experiment
                    };
                    (ck, format!("{what}: {ty}"))
                }
                Kind::Broken(_) => continue,
            };
            let doc = item_doc(self.db, self.ws, &name);
            self.push(CompletionItem::new(name, ck).detail(detail).doc(doc));
        }
    }

    fn values_of(&mut self, context: &str, field: &str) {
        let Some(def) = self.context(context) else {
            return;
        };
        let Some((_, f)) = def.field(field) else {
            return;
        };
        let ty = match &f.ty {
            Ty::List(elem) => elem.as_ref(),
            ty => ty,
        };
        match ty {
            Ty::Enum(values) => {
                let described = f.ty.describe();
                for v in values {
                    self.push(
                        CompletionItem::new(v.clone(), CompletionKind::EnumValue)
                            .detail(format!("{context}.{field}: {described}")),
                    );
                }
            }
            Ty::Bool => self.keywords(&["true", "false"]),
            Ty::Timestamp => {
                self.keywords(&["now"]);
                let mut relative = CompletionItem::new("now - 30d", CompletionKind::Keyword)
                    .detail("a time relative to now: `s`, `m`, `h`, `d`, `w`");
                relative.insert = Some("now ${1|-,+|} ${2:30d}".to_string());
                relative.snippet = true;
                self.push(relative);
            }
            _ => {}
        }
    }

    fn value_type(&self, owner: &Owner) -> Option<ValueType> {
        match owner {
            Owner::Named(name) => self.sig(name).map(|s| s.value_type),
            Owner::This => {
                // `flag NAME: TYPE {`: the type is the fourth token.
                let span = self.item_span?;
                let toks = lex::tokens(self.text, span.start as usize, span.end as usize);
                let ty = toks.get(3)?.text(self.text);
                [
                    ValueType::Bool,
                    ValueType::String,
                    ValueType::Int,
                    ValueType::Float,
                    ValueType::Json,
                ]
                .into_iter()
                .find(|v| v.as_str() == ty)
            }
        }
    }

    fn variants(&mut self, owner: &Owner) {
        match owner {
            Owner::Named(name) => {
                let Some(sig) = self.sig(name) else { return };
                let values = owner_props(self.db, self.ws, name).map(|(file, props)| {
                    variant_decls(props)
                        .map(|v| {
                            let text = file.text(self.db).get(v.value.span.range()).unwrap_or("");
                            (v.name.name.clone(), text.to_string())
                        })
                        .collect::<Vec<_>>()
                });
                for v in sig.variants {
                    let value = values
                        .as_ref()
                        .and_then(|vs| vs.iter().find(|(n, _)| n == &v))
                        .map(|(_, text)| text.clone());
                    let mut item = CompletionItem::new(v, CompletionKind::Variant);
                    item.detail = value;
                    self.push(item);
                }
            }
            Owner::This => {
                let Some(span) = self.item_span else { return };
                for (name, value) in lexical_variants(self.text, span) {
                    self.push(CompletionItem::new(name, CompletionKind::Variant).detail(value));
                }
            }
        }
    }
}

fn field_item(f: &vexil_compiler::types::FieldDef) -> CompletionItem {
    let ty = format!("{}{}", f.ty.describe(), if f.optional { "?" } else { "" });
    CompletionItem::new(f.name.clone(), CompletionKind::Field)
        .detail(ty)
        .doc(f.doc.clone())
}

fn item_doc(db: &dyn Db, ws: Workspace, name: &str) -> Option<String> {
    use vexil_grammar::Item;
    let (_, item) = item_decl(db, ws, name)?;
    let doc = match item {
        Item::Context(c) => c.doc.as_ref(),
        Item::Segment(s) => s.doc.as_ref(),
        Item::Flag(f) => f.doc.as_ref(),
        Item::Experiment(e) => e.doc.as_ref(),
        _ => None,
    };
    doc.map(vexil_grammar::Doc::text)
}

/// The operators that apply to a field of this type.
fn operators(ty: &Ty, optional: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    match ty {
        Ty::List(_) => out.extend(["contains", "contains any", "contains all"]),
        Ty::Bool => out.extend(["==", "!="]),
        Ty::String => {
            out.extend(["==", "!=", "in", "not in"]);
            out.extend(STRING_OPS);
            out.push("not iin");
        }
        Ty::Enum(_) => out.extend(["==", "!=", "in", "not in", "<", "<=", ">", ">="]),
        _ => out.extend(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]),
    }
    if optional {
        out.extend(["is set", "is not set"]);
    }
    out
}

/// `name = value` pairs of the `variants { .. }` block in the item at
/// `span`, read from the text because the item may not parse.
fn lexical_variants(text: &str, span: Span) -> Vec<(String, String)> {
    let toks: Vec<lex::Token> = lex::tokens(text, span.start as usize, span.end as usize)
        .into_iter()
        .filter(|t| !matches!(t.kind, TokenKind::Comment { .. }))
        .collect();
    let Some(start) = toks.iter().position(|t| t.text(text) == "variants") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0;
    let mut i = start + 1;
    while let Some(t) = toks.get(i) {
        match t.text(text) {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth <= 0 {
                    break;
                }
            }
            "=" if depth == 1 => {
                let name = toks.get(i.wrapping_sub(1)).map(|t| t.text(text));
                let value = toks.get(i + 1).map(|t| t.text(text));
                if let (Some(name), Some(value)) = (name, value) {
                    out.push((name.to_string(), value.to_string()));
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}
