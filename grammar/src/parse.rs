//! From text to the syntax tree. Never fails: returns the tree and its errors.
//!
//! pest does the recognising; this module builds the tree from pest's pairs.
//! A pair of an unexpected shape (which the grammar should make impossible)
//! becomes an internal error with a span, never a panic.

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;

use crate::describe::describe_expected;
use crate::lex::{doc_before, lex_comments, RESERVED};
use crate::syntax::*;

#[derive(pest_derive::Parser)]
#[grammar = "vexil.pest"]
struct VexilParser;

pub use self::Rule as GrammarRule;

/// Larger files are refused: spans are 32-bit.
pub const MAX_SOURCE_LEN: usize = u32::MAX as usize / 2;

/// Deeper nesting of brackets is refused before parsing, so that neither the
/// recursive-descent parser nor later recursive passes can exhaust the stack.
pub const MAX_NESTING: usize = 64;

/// Parse one `.flag` file.
pub fn parse(source: &str) -> SourceFile {
    if source.len() > MAX_SOURCE_LEN {
        return SourceFile {
            errors: vec![SyntaxError {
                span: Span::new(0, 0),
                message: format!("file too large ({} bytes)", source.len()),
                expected: Vec::new(),
            }],
            ..SourceFile::default()
        };
    }
    if let Some((at, what)) = too_deep(source) {
        let message = match what {
            Nesting::Condition => {
                format!("a condition nested more than {MAX_NESTING} deep (brackets and `not`s)")
            }
            Nesting::Value => {
                format!("a value nested more than {MAX_NESTING} deep (`{{` and `[`)")
            }
        };
        return SourceFile {
            errors: vec![SyntaxError {
                span: Span::new(at, at + 1),
                message,
                expected: Vec::new(),
            }],
            comments: lex_comments(source),
            ..SourceFile::default()
        };
    }
    let comments = lex_comments(source);
    let mut b = Builder {
        source,
        comments: &comments,
        errors: Vec::new(),
    };
    let mut items = Vec::new();
    match VexilParser::parse(Rule::file, source) {
        Ok(mut pairs) => {
            if let Some(file) = pairs.next() {
                for pair in file.into_inner() {
                    match pair.as_rule() {
                        Rule::EOI => {}
                        Rule::junk => items.push(b.recover(&pair)),
                        _ => {
                            if let Some(item) = b.item(pair) {
                                items.push(item);
                            }
                        }
                    }
                }
            }
        }
        // `junk` accepts anything, so the file rule cannot fail; if it does,
        // report it like any syntax error rather than trust that.
        Err(e) => b.errors.push(pest_error(&e, 0)),
    }
    let errors = b.errors;
    SourceFile {
        items,
        comments,
        errors,
    }
}

/// Where nesting first goes deeper than `MAX_NESTING`, and what nests
/// there. Counted: brackets, except the braces of blocks (a `{` after a
/// name or a string: an item's own, `variants {`, `split by user.id {`,
/// a test's `context {`), which hold conditions and values at the depth
/// they would have outside; and runs of `not` (each one a level of
/// recursion in the grammar). A JSON object after `default` counts.
fn too_deep(source: &str) -> Option<(usize, Nesting)> {
    let bytes = source.as_bytes();
    // The open brackets, innermost last, each with whether it is a level.
    let mut open: Vec<(u8, bool)> = Vec::new();
    let mut levels = 0usize;
    let mut nots = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut in_comment = false;
    // Whether the last token was a name (not `default`) or a string.
    let mut after_block_head = false;
    let mut i = 0;
    let what = |open: &Vec<(u8, bool)>, nots: usize| match open.last() {
        Some((b'{' | b'[', _)) if nots == 0 => Nesting::Value,
        _ => Nesting::Condition,
    };
    while i < bytes.len() {
        let b = bytes[i];
        if in_comment {
            in_comment = b != b'\n';
            i += 1;
            continue;
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    after_block_head = true;
                }
                (false, b'\n') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                nots = 0;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => in_comment = true,
            b'(' | b'[' | b'{' | b'<' => {
                let level = !(b == b'{' && after_block_head);
                levels += usize::from(level);
                open.push((b, level));
            }
            b')' | b']' | b'}' | b'>' => {
                if let Some((_, level)) = open.pop() {
                    levels -= usize::from(level);
                }
            }
            b if b.is_ascii_alphanumeric() || b == b'_' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-')
                {
                    i += 1;
                }
                let word = &bytes[start..i];
                if word == b"not" {
                    nots += 1;
                } else {
                    nots = 0;
                }
                after_block_head = word != b"default";
                if levels + nots > MAX_NESTING {
                    return Some((start, what(&open, nots)));
                }
                continue;
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() && b != b'"' && !in_comment {
            after_block_head = false;
        }
        if levels + nots > MAX_NESTING {
            return Some((i, what(&open, nots)));
        }
        i += 1;
    }
    None
}

/// What nests too deep: a condition (brackets and `not`s) or a value (a
/// JSON value's objects and arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nesting {
    Condition,
    Value,
}

fn pest_error(e: &pest::error::Error<Rule>, offset: usize) -> SyntaxError {
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    SyntaxError {
        span: Span::new(offset + start, offset + end),
        message: String::new(),
        expected,
    }
}

/// A pair's span without trailing whitespace or comments. pest leaves a
/// node ending after the whitespace it skipped before an optional last
/// element that did not match (`unit ~ salt_clause?`); a span must end at
/// the node's last real token.
fn span_of(pair: &Pair<Rule>) -> Span {
    let start = pair.as_span().start();
    // Everything up to the end of the last child is real; after it come only
    // punctuation (like `}`), whitespace and comments. The chain of last
    // children is as long as the nesting is deep, so it is walked in a loop
    // (a recursion overflowed a 2 MiB thread at the nesting limit).
    let mut chain = vec![(start, pair.as_span().end())];
    let mut node = pair.clone();
    while let Some(last) = node.clone().into_inner().last() {
        chain.push((last.as_span().start(), last.as_span().end()));
        node = last;
    }
    let input = pair.get_input();
    let mut real_end = None;
    for (node_start, node_end) in chain.into_iter().rev() {
        let from = real_end.unwrap_or(node_start);
        real_end = Some(from + real_len(input.get(from..node_end).unwrap_or("")));
    }
    Span::new(start, real_end.unwrap_or(start))
}

/// The length of `text` up to the end of its last character that is not
/// whitespace or inside a `//` comment. `text` holds no string literals (it
/// is what follows a node's last child).
fn real_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                i += 1;
                last = i;
            }
        }
    }
    last
}

struct Builder<'s> {
    source: &'s str,
    comments: &'s [Comment],
    errors: Vec<SyntaxError>,
}

/// Each builder method returns `None` after recording an internal error if a
/// pair does not have the shape the grammar promises.
impl<'s> Builder<'s> {
    fn internal(&mut self, span: Span, what: &str) {
        self.errors.push(SyntaxError {
            span,
            message: format!(
                "internal parser error: unexpected shape of {what}; please report this"
            ),
            expected: Vec::new(),
        });
    }

    fn doc(&self, span: Span) -> Option<Doc> {
        doc_before(self.source, self.comments, span.start)
    }

    // ------------------------------------------------------------ recovery

    /// A stretch of text that did not parse as an item: re-parse it alone
    /// for a precise message, and recover its keyword and name.
    fn recover(&mut self, junk: &Pair<Rule>) -> Item {
        let span = span_of(junk);
        let text = junk.as_str();
        let offset = span.start as usize;
        let mut error = match VexilParser::parse(Rule::single_item, text) {
            Err(e) => pest_error(&e, offset),
            Ok(_) => SyntaxError {
                span,
                message: String::new(),
                expected: Vec::new(),
            },
        };
        error.message = self.syntax_message(&error);
        // The caret covers the token that was not expected, not one byte.
        if error.span.is_empty() {
            let start = error.span.start as usize;
            error.span = Span::new(start, self.token_end(start));
        }
        self.errors.push(error);

        let (keyword, name) = self.item_head(text, offset);
        Item::Broken(BrokenItem {
            keyword,
            name,
            span: Span::new(offset, offset + text.trim_end().len()),
        })
    }

    fn syntax_message(&self, error: &SyntaxError) -> String {
        let found = self.found_at(error.span.start as usize);
        let word = found.trim_matches('`');
        if RESERVED.contains(&word) && error.expected.iter().any(|e| e == "a name") {
            return format!("`{word}` is a reserved word and cannot be a name");
        }
        format!("unexpected {found}")
    }

    /// The token at `offset`, in words, for "unexpected ..." messages.
    fn found_at(&self, offset: usize) -> String {
        let rest = self.source.get(offset..).unwrap_or("");
        match rest.chars().next() {
            None => "end of file".to_string(),
            Some('\n' | '\r') => "end of line".to_string(),
            Some(_) => {
                let word = self
                    .source
                    .get(offset..self.token_end(offset))
                    .unwrap_or("");
                format!("`{word}`")
            }
        }
    }

    /// The end of the token at `offset`: a word (up to 40 characters, dots
    /// and hyphens included) or one character; `offset` itself at the end
    /// of a line or of the file.
    fn token_end(&self, offset: usize) -> usize {
        let rest = self.source.get(offset..).unwrap_or("");
        let mut chars = rest.char_indices();
        let Some((_, c)) = chars.next() else {
            return offset;
        };
        if c == '\n' || c == '\r' {
            return offset;
        }
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        if !is_word(c) {
            return offset + c.len_utf8();
        }
        let len = rest
            .char_indices()
            .take_while(|(_, c)| is_word(*c) || *c == '-' || *c == '.')
            .take(40)
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        offset + len
    }

    fn item_head(&mut self, text: &str, offset: usize) -> (Option<ItemKeyword>, Option<Ident>) {
        let Ok(mut pairs) = VexilParser::parse(Rule::item_head, text) else {
            return (None, None);
        };
        let Some(head) = pairs.next() else {
            return (None, None);
        };
        let mut keyword = None;
        let mut name = None;
        for p in head.into_inner() {
            match p.as_rule() {
                Rule::item_keyword_tok => {
                    keyword = match p.as_str() {
                        "context" => Some(ItemKeyword::Context),
                        "segment" => Some(ItemKeyword::Segment),
                        "flag" => Some(ItemKeyword::Flag),
                        "experiment" => Some(ItemKeyword::Experiment),
                        "test" => Some(ItemKeyword::Test),
                        _ => None,
                    }
                }
                Rule::ident => {
                    let s = span_of(&p);
                    name = Some(Ident {
                        name: p.as_str().to_string(),
                        span: Span::new(offset + s.start as usize, offset + s.end as usize),
                    });
                }
                _ => {}
            }
        }
        (keyword, name)
    }

    // ------------------------------------------------------------ items

    fn item(&mut self, pair: Pair<'s, Rule>) -> Option<Item> {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::context_decl => self.context(pair).map(Item::Context),
            Rule::segment_decl => self.segment(pair).map(Item::Segment),
            Rule::flag_decl => self.flag_like(pair).map(Item::Flag),
            Rule::experiment_decl => self.flag_like(pair).map(Item::Experiment),
            Rule::test_decl => self.test(pair).map(Item::Test),
            _ => {
                self.internal(span, "an item");
                None
            }
        }
    }

    fn ident(&mut self, pair: Pair<'s, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: span_of(&pair),
        }
    }

    fn expect_ident(
        &mut self,
        pair: Option<Pair<'s, Rule>>,
        span: Span,
        what: &str,
    ) -> Option<Ident> {
        match pair {
            Some(p) if matches!(p.as_rule(), Rule::ident | Rule::field_name) => Some(self.ident(p)),
            _ => {
                self.internal(span, what);
                None
            }
        }
    }

    fn context(&mut self, pair: Pair<'s, Rule>) -> Option<ContextDecl> {
        let span = span_of(&pair);
        let doc = self.doc(span);
        let mut inner = pair
            .into_inner()
            .filter(|p| p.as_rule() != Rule::kw_context);
        let name = self.expect_ident(inner.next(), span, "a context name")?;
        let mut fields = Vec::new();
        for f in inner {
            if let Some(field) = self.field(f) {
                fields.push(field);
            }
        }
        Some(ContextDecl {
            doc,
            name,
            fields,
            span,
        })
    }

    fn field(&mut self, pair: Pair<'s, Rule>) -> Option<FieldDecl> {
        let span = span_of(&pair);
        let doc = self.doc(span);
        let mut key = None;
        let mut name = None;
        let mut ty = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::key_marker => key = Some(span_of(&p)),
                Rule::field_name => name = Some(self.ident(p)),
                Rule::type_expr => ty = self.type_expr(p),
                _ => {}
            }
        }
        match (name, ty) {
            (Some(name), Some(ty)) => Some(FieldDecl {
                doc,
                key,
                name,
                ty,
                span,
            }),
            _ => {
                self.internal(span, "a field");
                None
            }
        }
    }

    fn type_expr(&mut self, pair: Pair<'s, Rule>) -> Option<TypeExpr> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let base = inner.next()?;
        let base_span = span_of(&base);
        let kind = match base.as_rule() {
            Rule::prim_type => TypeExprKind::Prim(match base.as_str() {
                "bool" => PrimType::Bool,
                "int" => PrimType::Int,
                "float" => PrimType::Float,
                "string" => PrimType::String,
                "semver" => PrimType::Semver,
                "timestamp" => PrimType::Timestamp,
                "ip" => PrimType::Ip,
                _ => {
                    self.internal(base_span, "a type");
                    return None;
                }
            }),
            Rule::list_type => {
                let elem = base.into_inner().find(|p| p.as_rule() == Rule::type_expr);
                let elem = match elem {
                    Some(e) => self.type_expr(e)?,
                    None => {
                        self.internal(base_span, "a list type");
                        return None;
                    }
                };
                TypeExprKind::List(Box::new(elem))
            }
            Rule::enum_type => TypeExprKind::Enum(
                base.into_inner()
                    .filter(|p| p.as_rule() == Rule::ident)
                    .map(|p| self.ident(p))
                    .collect(),
            ),
            _ => {
                self.internal(base_span, "a type");
                return None;
            }
        };
        let base = TypeExpr {
            kind,
            span: base_span,
        };
        if inner
            .next()
            .is_some_and(|p| p.as_rule() == Rule::optional_mark)
        {
            Some(TypeExpr {
                kind: TypeExprKind::Optional(Box::new(base)),
                span,
            })
        } else {
            Some(base)
        }
    }

    fn segment(&mut self, pair: Pair<'s, Rule>) -> Option<SegmentDecl> {
        let span = span_of(&pair);
        let doc = self.doc(span);
        let mut inner = pair
            .into_inner()
            .filter(|p| p.as_rule() != Rule::kw_segment);
        let name = self.expect_ident(inner.next(), span, "a segment name")?;
        let condition = match inner.next() {
            Some(e) => self.expr(e)?,
            None => {
                self.internal(span, "a segment");
                return None;
            }
        };
        Some(SegmentDecl {
            doc,
            name,
            condition,
            span,
        })
    }

    /// A flag or an experiment: they differ only in their keyword.
    fn flag_like(&mut self, pair: Pair<'s, Rule>) -> Option<FlagDecl> {
        let span = span_of(&pair);
        let doc = self.doc(span);
        let mut inner = pair
            .into_inner()
            .filter(|p| !matches!(p.as_rule(), Rule::kw_flag | Rule::kw_experiment));
        let name = self.expect_ident(inner.next(), span, "a flag name")?;
        let vt = inner.next()?;
        let vt_span = span_of(&vt);
        let value_type = match vt.as_str() {
            "bool" => ValueType::Bool,
            "string" => ValueType::String,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "json" => ValueType::Json,
            _ => {
                self.internal(vt_span, "a value type");
                return None;
            }
        };
        let mut properties = Vec::new();
        for p in inner {
            if let Some(prop) = self.property(p) {
                properties.push(prop);
            }
        }
        Some(FlagDecl {
            doc,
            name,
            value_type,
            value_type_span: vt_span,
            properties,
            span,
        })
    }

    // ------------------------------------------------------------ properties

    fn property(&mut self, pair: Pair<'s, Rule>) -> Option<Property> {
        let span = span_of(&pair);
        let doc = self.doc(span);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kw = inner.next()?;
        let keyword = span_of(&kw);
        let rest: Vec<Pair<'s, Rule>> = inner.collect();
        let kind = match rule {
            Rule::kind_prop => PropertyKind::Kind(self.first_ident(&rest, span)?),
            Rule::owner_prop => PropertyKind::Owner(self.first_string(&rest, span)?),
            Rule::tags_prop => {
                PropertyKind::Tags(rest.into_iter().filter_map(|p| self.string(p)).collect())
            }
            Rule::expires_prop => PropertyKind::Expires(self.first_literal(rest, span)?),
            Rule::default_prop => PropertyKind::Default(self.first_value(rest, span)?),
            Rule::enabled_prop => match rest.iter().find(|p| p.as_rule() == Rule::expr) {
                Some(e) => PropertyKind::EnabledWhen(self.expr(e.clone())?),
                None => PropertyKind::Enabled(rest.first().is_some_and(|p| p.as_str() == "true")),
            },
            Rule::client_prop => PropertyKind::Client,
            Rule::salt_prop => PropertyKind::Salt(self.first_string(&rest, span)?),
            Rule::requires_prop => PropertyKind::Requires(self.requirement(rest, span)?),
            Rule::variants_prop => {
                PropertyKind::Variants(rest.into_iter().filter_map(|p| self.variant(p)).collect())
            }
            Rule::rule_prop => PropertyKind::Rule(self.rule(rest, span)?),
            Rule::unit_prop => PropertyKind::Unit(self.unit(rest.into_iter().next(), span)?),
            Rule::layer_prop => PropertyKind::Layer(self.first_ident(&rest, span)?),
            Rule::traffic_prop => PropertyKind::Traffic(self.first_literal(rest, span)?),
            Rule::audience_prop => {
                let e = rest.into_iter().next()?;
                PropertyKind::Audience(self.expr(e)?)
            }
            Rule::start_prop => PropertyKind::Start(self.first_literal(rest, span)?),
            Rule::end_prop => PropertyKind::End(self.first_literal(rest, span)?),
            Rule::control_prop => PropertyKind::Control(self.first_ident(&rest, span)?),
            Rule::metrics_prop => {
                PropertyKind::Metrics(rest.into_iter().filter_map(|p| self.metric(p)).collect())
            }
            Rule::planning_prop => PropertyKind::Planning(
                rest.into_iter()
                    .filter_map(|p| self.planning_entry(p))
                    .collect(),
            ),
            _ => {
                self.internal(span, "a property");
                return None;
            }
        };
        Some(Property {
            doc,
            keyword,
            kind,
            span,
        })
    }

    /// The first pair of `rest`, built by `build`; an internal error naming
    /// `what` if there is none.
    fn first<T>(
        &mut self,
        rest: &[Pair<'s, Rule>],
        span: Span,
        what: &str,
        build: impl FnOnce(&mut Self, Pair<'s, Rule>) -> Option<T>,
    ) -> Option<T> {
        match rest.first() {
            Some(p) => build(self, p.clone()),
            None => {
                self.internal(span, what);
                None
            }
        }
    }

    fn first_ident(&mut self, rest: &[Pair<'s, Rule>], span: Span) -> Option<Ident> {
        self.first(rest, span, "a name", |b, p| {
            (p.as_rule() == Rule::ident).then(|| b.ident(p))
        })
    }

    fn first_string(&mut self, rest: &[Pair<'s, Rule>], span: Span) -> Option<StrLit> {
        self.first(rest, span, "a string", Self::string)
    }

    fn first_literal(&mut self, rest: Vec<Pair<'s, Rule>>, span: Span) -> Option<Literal> {
        self.first(&rest, span, "a literal", Self::literal)
    }

    fn first_value(&mut self, rest: Vec<Pair<'s, Rule>>, span: Span) -> Option<Value> {
        self.first(&rest, span, "a value", Self::value)
    }

    fn requirement(&mut self, rest: Vec<Pair<'s, Rule>>, span: Span) -> Option<Requirement> {
        let mut it = rest.into_iter();
        let flag = self.expect_ident(it.next(), span, "a prerequisite")?;
        let expected = match (it.next(), it.next()) {
            (Some(op), Some(v)) => {
                let op = if op.as_str() == "!=" {
                    RequireOp::Ne
                } else {
                    RequireOp::Eq
                };
                Some((op, self.value(v)?))
            }
            _ => None,
        };
        Some(Requirement { flag, expected })
    }

    fn variant(&mut self, pair: Pair<'s, Rule>) -> Option<VariantDecl> {
        let span = span_of(&pair);
        let doc = self.doc(span);
        let mut it = pair.into_inner();
        let name = self.expect_ident(it.next(), span, "a variant")?;
        let value = self.value(it.next()?)?;
        let weight = match it.next() {
            Some(p) => Some(self.literal(p)?),
            None => None,
        };
        Some(VariantDecl {
            doc,
            name,
            value,
            weight,
            span,
        })
    }

    fn rule(&mut self, rest: Vec<Pair<'s, Rule>>, span: Span) -> Option<RuleDecl> {
        let mut name = None;
        let mut from = None;
        let mut until = None;
        let mut condition = None;
        let mut result = None;
        let mut guards = Vec::new();
        let mut min_sample = None;
        for p in rest {
            match p.as_rule() {
                Rule::rule_guard => {
                    let g = p.into_inner().next()?;
                    match g.as_rule() {
                        Rule::guard_decl => guards.push(self.guard(g)?),
                        _ => {
                            let span = span_of(&g);
                            let number = g.into_inner().find(|q| q.as_rule() == Rule::number)?;
                            min_sample = Some(MinSample {
                                count: self.literal(number)?,
                                span,
                            });
                        }
                    }
                }
                Rule::rule_name => {
                    let id = p.into_inner().next()?;
                    name = Some(self.ident(id));
                }
                Rule::rule_from => from = self.literal(p.into_inner().nth(1)?),
                Rule::rule_until => until = self.literal(p.into_inner().nth(1)?),
                Rule::rule_when => condition = self.expr(p.into_inner().nth(1)?),
                Rule::rule_result => result = self.rule_result(p),
                _ => {}
            }
        }
        let Some(result) = result else {
            self.internal(span, "a rule");
            return None;
        };
        Some(RuleDecl {
            name,
            from,
            until,
            condition,
            result,
            guards,
            min_sample,
        })
    }

    /// `guard NAME: METRIC [within D] must not increase|decrease by P% [=> ACTION]`,
    /// read as a guardrail metric whose goal is the other direction.
    fn guard(&mut self, pair: Pair<'s, Rule>) -> Option<GuardDecl> {
        let span = span_of(&pair);
        let mut keyword = span;
        let mut name = None;
        let mut function = None;
        let mut events = Vec::new();
        let mut window = None;
        let mut harmful = None;
        let mut threshold = None;
        let mut action = None;
        for p in pair.into_inner() {
            let ps = span_of(&p);
            match p.as_rule() {
                Rule::kw_guard => keyword = ps,
                Rule::ident => name = Some(self.ident(p)),
                Rule::metric_kind => {
                    let (f, e) = self.metric_kind(p)?;
                    function = Some(f);
                    events = e;
                }
                Rule::metric_window => window = self.literal(p.into_inner().nth(1)?),
                Rule::metric_goal => harmful = Some((p.as_str() == "increase", ps)),
                Rule::percent => threshold = self.literal(p),
                Rule::guard_action => action = Some(self.ident(p.into_inner().next()?)),
                _ => {}
            }
        }
        match (name, function, harmful) {
            (Some(name), Some(function), Some((increase_harms, goal_span))) => Some(GuardDecl {
                metric: MetricDecl {
                    role: MetricRole::Guardrail,
                    role_span: keyword,
                    name,
                    function,
                    events,
                    window,
                    goal: if increase_harms {
                        Goal::Decrease
                    } else {
                        Goal::Increase
                    },
                    goal_span,
                    threshold,
                    span,
                },
                action,
                span,
            }),
            _ => {
                self.internal(span, "a guardrail");
                None
            }
        }
    }

    /// `FUNCTION(EVENT[, EVENT])`: the function's name and the events.
    fn metric_kind(&mut self, pair: Pair<'s, Rule>) -> Option<(Ident, Vec<EventName>)> {
        let mut function = None;
        let mut events = Vec::new();
        for k in pair.into_inner() {
            match k.as_rule() {
                Rule::metric_fn => function = Some(self.ident(k)),
                Rule::event_name => {
                    let e = k.into_inner().next()?;
                    let es = span_of(&e);
                    if e.as_rule() == Rule::string {
                        let s = self.string(e)?;
                        events.push(EventName {
                            name: s.value,
                            quoted: true,
                            span: es,
                        });
                    } else {
                        events.push(EventName {
                            name: e.as_str().to_string(),
                            quoted: false,
                            span: es,
                        });
                    }
                }
                _ => {}
            }
        }
        Some((function?, events))
    }

    fn rule_result(&mut self, pair: Pair<'s, Rule>) -> Option<RuleResult> {
        let span = span_of(&pair);
        let inner = pair.into_inner().next()?;
        let inner_span = span_of(&inner);
        match inner.as_rule() {
            Rule::value => Some(RuleResult::Value(self.value(inner)?)),
            Rule::rollout => {
                let mut value = None;
                let mut percent = None;
                let mut unit = None;
                let mut salt = None;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::value => value = Some(self.value(p)?),
                        Rule::percent => percent = self.literal(p),
                        Rule::unit => unit = self.unit(Some(p), inner_span),
                        Rule::salt_clause => salt = self.string(p.into_inner().nth(1)?),
                        _ => {}
                    }
                }
                match (percent, unit) {
                    (Some(percent), Some(unit)) => Some(RuleResult::Rollout {
                        value,
                        percent,
                        unit,
                        salt,
                        span: inner_span,
                    }),
                    _ => {
                        self.internal(span, "a rollout");
                        None
                    }
                }
            }
            Rule::staged => {
                let mut value = None;
                let mut stages = Vec::new();
                let mut unit = None;
                let mut salt = None;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::value => value = Some(self.value(p)?),
                        Rule::stage => {
                            let stage_span = span_of(&p);
                            // `PERCENT [for|until LITERAL]`: the literal may
                            // be of any kind (the checker says which it
                            // needs).
                            let mut it = p.into_inner();
                            let percent = self.literal(it.next()?)?;
                            let (mut duration, mut until) = (None, None);
                            if let Some(keyword) = it.next() {
                                let end = Some(self.literal(it.next()?)?);
                                if keyword.as_rule() == Rule::kw_until {
                                    until = end;
                                } else {
                                    duration = end;
                                }
                            }
                            stages.push(Stage {
                                percent,
                                duration,
                                until,
                                span: stage_span,
                            });
                        }
                        Rule::unit => unit = self.unit(Some(p), inner_span),
                        Rule::salt_clause => salt = self.string(p.into_inner().nth(1)?),
                        _ => {}
                    }
                }
                Some(RuleResult::Staged {
                    value,
                    stages,
                    unit: unit?,
                    salt,
                    span: inner_span,
                })
            }
            Rule::split => {
                let mut unit = None;
                let mut salt = None;
                let mut arms = Vec::new();
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::unit => unit = self.unit(Some(p), inner_span),
                        Rule::salt_clause => salt = self.string(p.into_inner().nth(1)?),
                        Rule::split_arm => {
                            let arm_span = span_of(&p);
                            let mut it = p.into_inner();
                            let value = self.value(it.next()?)?;
                            let weight = self.literal(it.next()?)?;
                            arms.push(SplitArm {
                                value,
                                weight,
                                span: arm_span,
                            });
                        }
                        _ => {}
                    }
                }
                Some(RuleResult::Split {
                    unit: unit?,
                    salt,
                    arms,
                    span: inner_span,
                })
            }
            _ => {
                self.internal(span, "a rule result");
                None
            }
        }
    }

    fn unit(&mut self, pair: Option<Pair<'s, Rule>>, span: Span) -> Option<Unit> {
        let Some(pair) = pair.filter(|p| p.as_rule() == Rule::unit) else {
            self.internal(span, "a bucketing unit");
            return None;
        };
        let unit_span = span_of(&pair);
        let mut it = pair.into_inner();
        let context = self.expect_ident(it.next(), unit_span, "a bucketing unit")?;
        let field = it.next().map(|p| self.ident(p));
        Some(Unit {
            context,
            field,
            span: unit_span,
        })
    }

    fn metric(&mut self, pair: Pair<'s, Rule>) -> Option<MetricDecl> {
        let span = span_of(&pair);
        let mut role = None;
        let mut name = None;
        let mut function = None;
        let mut events = Vec::new();
        let mut window = None;
        let mut goal = None;
        let mut threshold = None;
        for p in pair.into_inner() {
            let ps = span_of(&p);
            match p.as_rule() {
                Rule::metric_role => {
                    role = Some((
                        match p.as_str() {
                            "primary" => MetricRole::Primary,
                            "secondary" => MetricRole::Secondary,
                            _ => MetricRole::Guardrail,
                        },
                        ps,
                    ))
                }
                Rule::ident => name = Some(self.ident(p)),
                Rule::metric_kind => {
                    let (f, e) = self.metric_kind(p)?;
                    function = Some(f);
                    events = e;
                }
                Rule::metric_window => window = self.literal(p.into_inner().nth(1)?),
                Rule::metric_goal => {
                    goal = Some((
                        if p.as_str() == "increase" {
                            Goal::Increase
                        } else {
                            Goal::Decrease
                        },
                        ps,
                    ))
                }
                Rule::metric_threshold => threshold = self.literal(p.into_inner().nth(1)?),
                _ => {}
            }
        }
        match (role, name, function, goal) {
            (Some((role, role_span)), Some(name), Some(function), Some((goal, goal_span))) => {
                Some(MetricDecl {
                    role,
                    role_span,
                    name,
                    function,
                    events,
                    window,
                    goal,
                    goal_span,
                    threshold,
                    span,
                })
            }
            _ => {
                self.internal(span, "a metric");
                None
            }
        }
    }

    fn planning_entry(&mut self, pair: Pair<'s, Rule>) -> Option<PlanningEntry> {
        let span = span_of(&pair);
        let mut it = pair.into_inner();
        let key = self.expect_ident(it.next(), span, "a planning entry")?;
        let value = self.literal(it.next()?)?;
        Some(PlanningEntry { key, value, span })
    }

    // ------------------------------------------------------------ tests

    fn test(&mut self, pair: Pair<'s, Rule>) -> Option<TestDecl> {
        let span = span_of(&pair);
        let doc = self.doc(span);
        let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_test);
        let name = self.string(inner.next()?)?;
        let mut members = Vec::new();
        for m in inner {
            let ms = span_of(&m);
            match m.as_rule() {
                Rule::test_context => {
                    let mut contexts = Vec::new();
                    for cv in m
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::context_value)
                    {
                        if let Some(c) = self.context_value(cv) {
                            contexts.push(c);
                        }
                    }
                    members.push(TestMember::Context { contexts, span: ms });
                }
                Rule::test_now => {
                    let time = self.literal(m.into_inner().nth(1)?)?;
                    members.push(TestMember::Now { time, span: ms });
                }
                Rule::test_expect => {
                    if let Some(e) = self.expectation(m) {
                        members.push(TestMember::Expect(e));
                    }
                }
                _ => self.internal(ms, "a test member"),
            }
        }
        Some(TestDecl {
            doc,
            name,
            members,
            span,
        })
    }

    fn context_value(&mut self, pair: Pair<'s, Rule>) -> Option<ContextValue> {
        let span = span_of(&pair);
        let mut it = pair.into_inner();
        let context = self.expect_ident(it.next(), span, "a context value")?;
        let mut fields = Vec::new();
        for fv in it {
            let fs = span_of(&fv);
            let mut fit = fv.into_inner();
            let field = self.expect_ident(fit.next(), fs, "a field value")?;
            let tv = fit.next()?;
            let value = self.test_value(tv)?;
            fields.push(FieldValue {
                field,
                value,
                span: fs,
            });
        }
        Some(ContextValue {
            context,
            fields,
            span,
        })
    }

    fn test_value(&mut self, pair: Pair<'s, Rule>) -> Option<Operand> {
        let span = span_of(&pair);
        let inner = pair.into_inner().next()?;
        let kind = match inner.as_rule() {
            Rule::list_literal => OperandKind::List(self.list_items(inner)),
            Rule::ident => OperandKind::Name(self.ident(inner)),
            _ => OperandKind::Literal(self.literal(inner)?),
        };
        Some(Operand { kind, span })
    }

    fn expectation(&mut self, pair: Pair<'s, Rule>) -> Option<Expectation> {
        let span = span_of(&pair);
        let mut it = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_expect);
        let flag = self.expect_ident(it.next(), span, "an expectation")?;
        let exp = it.next()?.into_inner().next()?;
        let es = span_of(&exp);
        let rule = exp.as_rule();
        let last = exp.into_inner().last();
        let kind = match (rule, last) {
            (Rule::expect_value, Some(v)) => ExpectKind::Value(self.value(v)?),
            (Rule::expect_variant, Some(v)) => ExpectKind::Variant(self.ident(v)),
            (Rule::expect_reason, Some(v)) => ExpectKind::Reason(self.ident(v)),
            (Rule::expect_rule, Some(v)) => ExpectKind::Rule(self.ident(v)),
            (Rule::expect_error, Some(v)) => ExpectKind::Error(self.ident(v)),
            (Rule::expect_stage, Some(v)) => ExpectKind::Stage(self.literal(v)?),
            _ => {
                self.internal(es, "an expectation");
                return None;
            }
        };
        Some(Expectation { flag, kind, span })
    }

    // ------------------------------------------------------------ expressions

    fn expr(&mut self, mut pair: Pair<'s, Rule>) -> Option<Expr> {
        // The grammar wraps each level in rules of one child (`expr`,
        // `or_expr` and `and_expr` of one operand, `not_expr`, a
        // `predicate` that is a bracket): stepped through in a loop, so a
        // level of nesting costs one call, not six (which overflowed a 2 MiB
        // thread at the nesting limit in a debug build).
        loop {
            let mut inner = pair.clone().into_inner();
            let only = match (inner.next(), inner.next()) {
                (Some(only), None) => only,
                _ => break,
            };
            let step = match pair.as_rule() {
                Rule::expr | Rule::not_expr | Rule::or_expr | Rule::and_expr => true,
                Rule::predicate => only.as_rule() == Rule::paren_expr,
                _ => false,
            };
            if !step {
                break;
            }
            pair = only;
        }
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::expr => {
                let inner = pair.into_inner().next()?;
                self.expr(inner)
            }
            Rule::or_expr | Rule::and_expr => {
                let is_or = pair.as_rule() == Rule::or_expr;
                let mut operands = Vec::new();
                for p in pair.into_inner() {
                    if !matches!(p.as_rule(), Rule::kw_or | Rule::kw_and) {
                        operands.push(self.expr(p)?);
                    }
                }
                if operands.is_empty() {
                    self.internal(span, "an expression");
                }
                balanced(operands, is_or)
            }
            Rule::not_expr => {
                let inner = pair.into_inner().next()?;
                self.expr(inner)
            }
            Rule::negation => {
                let inner = pair.into_inner().nth(1)?;
                let e = self.expr(inner)?;
                Some(Expr {
                    kind: ExprKind::Not(Box::new(e)),
                    span,
                })
            }
            Rule::predicate => self.predicate(pair),
            Rule::paren_expr => {
                let inner = pair.into_inner().next()?;
                let e = self.expr(inner)?;
                Some(Expr {
                    kind: ExprKind::Paren(Box::new(e)),
                    span,
                })
            }
            _ => {
                self.internal(span, "an expression");
                None
            }
        }
    }

    fn predicate(&mut self, pair: Pair<'s, Rule>) -> Option<Expr> {
        let span = span_of(&pair);
        let mut it = pair.into_inner();
        let first = it.next()?;
        if first.as_rule() == Rule::paren_expr {
            return self.expr(first);
        }
        let lhs = self.operand(first)?;
        let Some(tail) = it.next() else {
            return Some(Expr {
                kind: ExprKind::Operand(lhs),
                span,
            });
        };
        let tail_rule = tail.as_rule();
        let parts: Vec<Pair<'s, Rule>> = tail.into_inner().collect();
        let kind = match tail_rule {
            Rule::compare_tail => {
                let [op, rhs] = <[Pair<'s, Rule>; 2]>::try_from(parts).ok()?;
                let op_span = span_of(&op);
                let op = match op.as_str() {
                    "==" => CompareOp::Eq,
                    "!=" => CompareOp::Ne,
                    "<" => CompareOp::Lt,
                    "<=" => CompareOp::Le,
                    ">" => CompareOp::Gt,
                    _ => CompareOp::Ge,
                };
                ExprKind::Compare {
                    op,
                    op_span,
                    lhs,
                    rhs: self.operand(rhs)?,
                }
            }
            Rule::in_tail => {
                let negated = parts.iter().any(|p| p.as_rule() == Rule::not_in);
                let op_span = parts
                    .iter()
                    .filter(|p| matches!(p.as_rule(), Rule::not_in | Rule::kw_in | Rule::kw_iin))
                    .map(span_of)
                    .reduce(Span::to)?;
                let case_insensitive = parts.iter().any(|p| p.as_rule() == Rule::kw_iin);
                let target = parts.into_iter().last()?;
                let rhs = if target.as_rule() == Rule::list_literal {
                    let ls = span_of(&target);
                    InTarget::List(self.list_items(target), ls)
                } else {
                    InTarget::Operand(self.operand(target)?)
                };
                ExprKind::In {
                    negated,
                    case_insensitive,
                    op_span,
                    lhs,
                    rhs,
                }
            }
            Rule::string_tail => {
                let [op, rhs] = <[Pair<'s, Rule>; 2]>::try_from(parts).ok()?;
                let op_span = span_of(&op);
                let text = op.as_str();
                let case_insensitive = text.starts_with('i');
                let op = match text.trim_start_matches('i') {
                    "starts_with" => StringOp::StartsWith,
                    "ends_with" => StringOp::EndsWith,
                    "contains" => StringOp::Contains,
                    "equals" => StringOp::Equals,
                    _ => StringOp::Matches,
                };
                ExprKind::StringOp {
                    op,
                    case_insensitive,
                    op_span,
                    lhs,
                    rhs: self.operand(rhs)?,
                }
            }
            Rule::list_tail => {
                let [op, list] = <[Pair<'s, Rule>; 2]>::try_from(parts).ok()?;
                let op_span = span_of(&op);
                let all = op.as_str().ends_with("all");
                let list_span = span_of(&list);
                ExprKind::ContainsList {
                    all,
                    op_span,
                    lhs,
                    items: self.list_items(list),
                    list_span,
                }
            }
            Rule::presence_tail => ExprKind::IsSet {
                negated: parts.iter().any(|p| p.as_rule() == Rule::not_in),
                operand: lhs,
            },
            _ => {
                self.internal(span, "a condition");
                return None;
            }
        };
        Some(Expr { kind, span })
    }

    fn list_items(&mut self, pair: Pair<'s, Rule>) -> Vec<Operand> {
        let mut items = Vec::new();
        for p in pair.into_inner() {
            let span = span_of(&p);
            let kind = if p.as_rule() == Rule::ident {
                OperandKind::Name(self.ident(p))
            } else {
                match self.literal(p) {
                    Some(l) => OperandKind::Literal(l),
                    None => continue,
                }
            };
            items.push(Operand { kind, span });
        }
        items
    }

    fn operand(&mut self, pair: Pair<'s, Rule>) -> Option<Operand> {
        let span = span_of(&pair);
        let inner = pair.into_inner().next()?;
        let kind = match inner.as_rule() {
            Rule::kw_now => OperandKind::Now,
            Rule::now_offset => {
                let mut it = inner.into_inner().skip(1);
                let sign = it.next()?;
                let amount = self.literal(it.next()?)?;
                OperandKind::NowOffset {
                    negative: sign.as_str() == "-",
                    sign_span: span_of(&sign),
                    amount,
                }
            }
            Rule::path => {
                let mut it = inner.into_inner();
                let context = self.expect_ident(it.next(), span, "a field path")?;
                let field = self.expect_ident(it.next(), span, "a field path")?;
                OperandKind::Path { context, field }
            }
            Rule::ident => OperandKind::Name(self.ident(inner)),
            _ => OperandKind::Literal(self.literal(inner)?),
        };
        Some(Operand { kind, span })
    }

    // ------------------------------------------------------------ values and literals

    fn value(&mut self, pair: Pair<'s, Rule>) -> Option<Value> {
        let span = span_of(&pair);
        let inner = if pair.as_rule() == Rule::value {
            pair.into_inner().next()?
        } else {
            pair
        };
        let kind = match inner.as_rule() {
            Rule::json_object | Rule::json_array => ValueKind::Json(self.json(inner)?),
            Rule::ident => ValueKind::Variant(self.ident(inner)),
            _ => ValueKind::Literal(self.literal(inner)?),
        };
        Some(Value { kind, span })
    }

    fn json(&mut self, pair: Pair<'s, Rule>) -> Option<Json> {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::json_value => self.json(pair.into_inner().next()?),
            Rule::json_object => {
                let mut members = Vec::new();
                for m in pair.into_inner() {
                    let mut it = m.into_inner();
                    let key = self.string(it.next()?)?;
                    let value = self.json(it.next()?)?;
                    members.push((key, value));
                }
                Some(Json::Object(members, span))
            }
            Rule::json_array => {
                let mut items = Vec::new();
                for v in pair.into_inner() {
                    items.push(self.json(v)?);
                }
                Some(Json::Array(items, span))
            }
            Rule::json_null => Some(Json::Null(span)),
            Rule::boolean => Some(Json::Bool(pair.as_str() == "true", span)),
            Rule::number => Some(Json::Number(pair.as_str().to_string(), span)),
            Rule::string => Some(Json::String(self.string(pair)?)),
            _ => {
                self.internal(span, "a JSON value");
                None
            }
        }
    }

    fn literal(&mut self, pair: Pair<'s, Rule>) -> Option<Literal> {
        let span = span_of(&pair);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::boolean => LiteralKind::Bool(text == "true"),
            Rule::number | Rule::int => LiteralKind::Number(text.to_string()),
            Rule::string => LiteralKind::String(self.string(pair)?.value),
            Rule::semver => LiteralKind::Semver(text.to_string()),
            Rule::date => LiteralKind::Date(text.to_string()),
            Rule::timestamp => LiteralKind::Timestamp(text.to_string()),
            Rule::percent => LiteralKind::Percent(text.trim_end_matches('%').to_string()),
            Rule::duration => LiteralKind::Duration(text.to_string()),
            _ => {
                self.internal(span, "a literal");
                return None;
            }
        };
        Some(Literal { kind, span })
    }

    fn string(&mut self, pair: Pair<'s, Rule>) -> Option<StrLit> {
        let span = span_of(&pair);
        if pair.as_rule() != Rule::string {
            self.internal(span, "a string");
            return None;
        }
        let raw = pair.into_inner().next().map_or("", |p| p.as_str());
        let value = match unescape(raw) {
            Ok(v) => v,
            Err((offset, message)) => {
                let at = span.start as usize + 1 + offset;
                self.errors.push(SyntaxError {
                    span: Span::new(at, at + 2),
                    message,
                    expected: Vec::new(),
                });
                raw.to_string()
            }
        };
        Some(StrLit { value, span })
    }
}

/// Join operands with `and`/`or` as a balanced tree: both are associative,
/// and a long chain then costs logarithmic, not linear, recursion depth in
/// every pass that walks the tree.
fn balanced(mut operands: Vec<Expr>, is_or: bool) -> Option<Expr> {
    match operands.len() {
        0 => None,
        1 => operands.pop(),
        n => {
            let right = operands.split_off(n / 2);
            let (lhs, rhs) = (balanced(operands, is_or)?, balanced(right, is_or)?);
            let span = lhs.span.to(rhs.span);
            let kind = if is_or {
                ExprKind::Or(Box::new(lhs), Box::new(rhs))
            } else {
                ExprKind::And(Box::new(lhs), Box::new(rhs))
            };
            Some(Expr { kind, span })
        }
    }
}

/// Decode the escapes of a string literal's body. On a bad escape, the
/// offset of its backslash and a message.
pub fn unescape(raw: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, '"')) => out.push('"'),
            Some((_, '0')) => out.push('\0'),
            Some((_, 'u')) => {
                let rest = &raw[i + 2..];
                let Some(body) = rest.strip_prefix('{').and_then(|r| r.split_once('}')) else {
                    return Err((i, "invalid unicode escape: write `\\u{XXXX}`".to_string()));
                };
                let hex = body.0;
                let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                let Some(ch) = ch else {
                    return Err((i, format!("invalid unicode escape `\\u{{{hex}}}`")));
                };
                out.push(ch);
                // Skip `{hex}`.
                for _ in 0..hex.chars().count() + 2 {
                    chars.next();
                }
            }
            Some((_, other)) => {
                return Err((
                    i,
                    format!(
                    "unknown escape `\\{other}`: use one of \\n \\t \\r \\\\ \\\" \\0 \\u{{...}}"
                ),
                ))
            }
            None => return Err((i, "a string cannot end with a lone backslash".to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_result_span(src: &str) -> &str {
        let file = parse(src);
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        let Some(Item::Flag(f)) = file.items.first() else {
            panic!("a flag")
        };
        let Some(PropertyKind::Rule(r)) = f
            .properties
            .iter()
            .map(|p| &p.kind)
            .find(|k| matches!(k, PropertyKind::Rule(_)))
        else {
            panic!("a rule")
        };
        let span = match &r.result {
            RuleResult::Rollout { span, .. }
            | RuleResult::Staged { span, .. }
            | RuleResult::Split { span, .. } => *span,
            RuleResult::Value(v) => v.span,
        };
        &src[span.range()]
    }

    #[test]
    fn spans_end_at_the_last_real_token() {
        let src =
            "flag f: string {\n  rule => \"a\" for 25% by user.id   // why\n  rule => \"b\"\n}\n";
        assert_eq!(rule_result_span(src), "\"a\" for 25% by user.id");
        let src = "flag f: string {\n  rule => split by user.id { \"a\" 50%, \"b\" 50% }  \n}\n";
        assert_eq!(
            rule_result_span(src),
            "split by user.id { \"a\" 50%, \"b\" 50% }"
        );
        let file = parse("flag f: bool {\n  kind release   // note\n\n}\n");
        let Some(Item::Flag(f)) = file.items.first() else {
            panic!("a flag")
        };
        assert_eq!(
            f.properties[0].span.end as usize,
            "flag f: bool {\n  kind release".len()
        );
        assert!(
            f.span.end as usize
                == file_len_without_newline("flag f: bool {\n  kind release   // note\n\n}\n")
        );
    }

    fn file_len_without_newline(s: &str) -> usize {
        s.trim_end().len()
    }
}
