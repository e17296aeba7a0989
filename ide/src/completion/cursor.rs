//! Where the cursor is, read from the tokens before it.
//!
//! Completion is asked for while a line is half typed, so the item around
//! the cursor rarely parses. This reads the text instead: the item starts at
//! the last line that begins with an item keyword; brackets are counted from
//! there; the last few tokens say what may come next.

use vexil_grammar::Span;

use vexil_grammar::lex::{self, Token, TokenKind, ITEM_KEYWORDS, STRING_OPS};

/// What may be written at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Between items: item keywords and snippets.
    TopLevel,
    /// After `flag x:`: a value type.
    ValueType,
    /// The start of a line in a flag or experiment body.
    Property {
        experiment: bool,
    },
    /// The start of a line in a context body.
    FieldDecl,
    /// After `name:` in a context body.
    FieldType,
    /// In a condition, after these tokens.
    Condition(Vec<Token>),
    /// After `kind`.
    FlagKind,
    /// A flag name (`requires`), or also an experiment (`expect`).
    FlagName {
        experiments: bool,
    },
    /// A value of a flag: its variants, and `true`/`false` for a bool flag.
    Value {
        owner: Owner,
        with_split: bool,
    },
    /// A variant name only (`control`, `expect F variant`).
    Variant(Owner),
    /// A bucketing unit: a context, or a field after `C.`.
    Unit(Option<String>),
    Layer,
    /// After `rule [name:]`: what a rule continues with.
    RuleClause,
    /// After `expect F`.
    Expectation(String),
    Reason,
    ErrorCode,
    RuleOf(String),
    /// The start of a line in a test body.
    TestMember,
    /// A context name inside a test's `context { .. }`.
    TestContext,
    /// A field of this context in a test, except those already given.
    TestField {
        context: String,
        given: Vec<String>,
    },
    /// The value of a field in a test.
    TestValue {
        context: String,
        field: String,
    },
    MetricRole,
    MetricFunction,
    PlanningKey,
    Nothing,
}

/// Whose variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The flag or experiment around the cursor, which may not parse.
    This,
    Named(String),
}

/// The cursor's item, as far as the text says.
pub struct Cursor {
    pub place: Place,
    /// The partial name being typed, which completion replaces.
    pub word: Span,
    /// The span of the whole item (to its next item or the end of file).
    pub item_span: Option<Span>,
}

const FLAG_PROPS: &[&str] = &[
    "kind", "owner", "tags", "expires", "default", "enabled", "client", "salt", "requires",
    "variants", "rule", "unit", "layer", "traffic", "audience", "start", "end", "control",
    "metrics", "planning",
];
/// Tokens after which a construct must continue, so the next line is not a
/// new property.
const CONTINUES: &[&str] = &[
    "and", "or", "not", "(", "[", ",", "when", "=>", "==", "!=", "<", "<=", ">", ">=", ".", "by",
    "for", "split", "in", "is", "from", "until", "salt", "{", ":", "=", "requires", "kind",
    "default", "control", "unit", "layer", "audience", "rule", "expect", "variant", "reason",
    "error", "now", "owner", "tags", "expires", "enabled", "traffic", "start", "end",
];

pub fn analyse(text: &str, offset: usize) -> Cursor {
    let bytes = text.as_bytes();
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let mut start = offset;
    while start > 0
        && (bytes[start - 1].is_ascii_alphanumeric() || matches!(bytes[start - 1], b'_' | b'-'))
    {
        start -= 1;
    }
    let end = lex::ident_end(bytes, offset, bytes.len()).max(offset);
    let word = Span::new(start, end);
    let Some(item_start) = item_start(text, start) else {
        return Cursor {
            place: Place::TopLevel,
            word,
            item_span: None,
        };
    };
    let item_end = next_item_start(text, start).unwrap_or(text.len());
    let toks: Vec<Token> = lex::tokens(text, item_start, start)
        .into_iter()
        .filter(|t| !matches!(t.kind, TokenKind::Comment { .. }))
        .collect();
    let keyword = toks
        .first()
        .map(|t| t.text(text).to_string())
        .unwrap_or_default();
    let reader = Reader {
        text,
        toks: &toks,
        line_start: is_line_start(text, start),
    };
    Cursor {
        place: reader.place(&keyword),
        word,
        item_span: Some(Span::new(item_start, item_end)),
    }
}

/// The start of the line holding `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1)
}

fn is_line_start(text: &str, offset: usize) -> bool {
    text.get(line_of(text, offset)..offset)
        .is_some_and(|t| t.trim().is_empty())
}

/// Whether a line starts an item: an item keyword at its very beginning.
fn starts_item(line: &str) -> bool {
    ITEM_KEYWORDS.iter().any(|k| {
        line.strip_prefix(k)
            .is_some_and(|rest| rest.starts_with([' ', '\t']) || rest.is_empty())
    })
}

/// The last line at or before `offset` that starts an item, if the cursor
/// is past its keyword.
fn item_start(text: &str, offset: usize) -> Option<usize> {
    let mut line = line_of(text, offset);
    loop {
        let content = text.get(line..).unwrap_or("");
        let content = content.split('\n').next().unwrap_or("");
        if starts_item(content) {
            let keyword_end = line + content.find([' ', '\t']).unwrap_or(content.len());
            return (offset > keyword_end).then_some(line);
        }
        if line == 0 {
            return None;
        }
        line = line_of(text, line - 1);
    }
}

fn next_item_start(text: &str, offset: usize) -> Option<usize> {
    let mut at = text.get(offset..)?.find('\n')? + offset + 1;
    loop {
        let rest = text.get(at..)?;
        if starts_item(rest.split('\n').next().unwrap_or("")) {
            return Some(at);
        }
        at += rest.find('\n')? + 1;
    }
}

struct Reader<'a> {
    text: &'a str,
    toks: &'a [Token],
    /// Whether the word being typed is the first thing on its line.
    line_start: bool,
}

impl<'a> Reader<'a> {
    fn t(&self, i: usize) -> &'a str {
        self.toks.get(i).map_or("", |t| t.text(self.text))
    }

    fn last(&self, toks: &[Token], back: usize) -> &'a str {
        toks.len()
            .checked_sub(back + 1)
            .and_then(|i| toks.get(i))
            .map_or("", |t| t.text(self.text))
    }

    /// Open braces (`{` only) as indices into `toks`, innermost last; `None`
    /// when the item's body was closed.
    fn open_braces(&self) -> Option<Vec<usize>> {
        let mut stack = Vec::new();
        let mut opened = false;
        for (i, t) in self.toks.iter().enumerate() {
            match t.text(self.text) {
                "{" => {
                    stack.push(i);
                    opened = true;
                }
                "}" => {
                    stack.pop();
                    if stack.is_empty() && opened {
                        return None;
                    }
                }
                _ => {}
            }
        }
        Some(stack)
    }

    fn place(&self, keyword: &str) -> Place {
        let Some(braces) = self.open_braces() else {
            return Place::TopLevel;
        };
        let Some(&body) = braces.first() else {
            // Still in the header.
            return match (keyword, self.last(self.toks, 0)) {
                ("flag" | "experiment", ":") => Place::ValueType,
                _ => Place::Nothing,
            };
        };
        let inner = braces.last().copied().unwrap_or(body);
        let after_body = self.toks.get(body + 1..).unwrap_or(&[]);
        match keyword {
            "context" if braces.len() == 1 => self.context_body(after_body),
            "segment" => Place::Condition(after_body.to_vec()),
            "flag" | "experiment" => {
                let experiment = keyword == "experiment";
                if braces.len() == 1 {
                    self.property(after_body, experiment)
                } else {
                    self.nested_block(inner, experiment)
                }
            }
            "test" => match braces.len() {
                1 => self.test_member(after_body),
                2 if self.t(inner.wrapping_sub(1)) == "context" => match self.last(self.toks, 0) {
                    "{" | "}" | "," => Place::TestContext,
                    _ => Place::Nothing,
                },
                3 => self.test_field(inner),
                _ => Place::Nothing,
            },
            _ => Place::Nothing,
        }
    }

    fn context_body(&self, toks: &[Token]) -> Place {
        match self.last(toks, 0) {
            ":" | "<" => Place::FieldType,
            "?" | "," | "{" | "}" if self.line_start => Place::FieldDecl,
            _ if self.line_start => Place::FieldDecl,
            _ => Place::Nothing,
        }
    }

    /// Within a block inside a flag or experiment: variants, metrics,
    /// planning, a split's arms, a JSON value.
    fn nested_block(&self, brace: usize, experiment: bool) -> Place {
        let before = self.t(brace.wrapping_sub(1));
        let after = self.toks.get(brace + 1..).unwrap_or(&[]);
        match before {
            "metrics" => match self.last(after, 0) {
                ":" => Place::MetricFunction,
                _ if self.line_start => Place::MetricRole,
                _ => Place::Nothing,
            },
            "planning" if self.line_start => Place::PlanningKey,
            _ => {
                // `split by user.id [salt ".."] {`: the arms serve variants.
                let head = self.toks.get(..brace).unwrap_or(&[]);
                let is_split = head
                    .iter()
                    .rev()
                    .take(8)
                    .any(|t| t.text(self.text) == "split");
                let at_arm = matches!(self.last(after, 0), "" | ",") || self.line_start;
                if is_split && at_arm && !experiment {
                    Place::Value {
                        owner: Owner::This,
                        with_split: false,
                    }
                } else {
                    Place::Nothing
                }
            }
        }
    }

    /// The index in `toks` of the property the cursor is in: the last
    /// property keyword that begins a line at the body's own depth.
    fn current_start(&self, toks: &[Token], keywords: &[&str]) -> Option<usize> {
        let mut depth = 0i32;
        let mut found = None;
        for (i, t) in toks.iter().enumerate() {
            let text = t.text(self.text);
            match text {
                "{" | "(" | "[" => depth += 1,
                "}" | ")" | "]" => depth -= 1,
                _ if depth == 0
                    && keywords.contains(&text)
                    && is_line_start(self.text, t.span.start as usize) =>
                {
                    found = Some(i)
                }
                _ => {}
            }
        }
        found
    }

    /// Whether the construct before the cursor is complete, so that a new
    /// line starts a new property.
    fn complete(&self, toks: &[Token]) -> bool {
        let mut depth = 0i32;
        for t in toks {
            match t.text(self.text) {
                "{" | "(" | "[" => depth += 1,
                "}" | ")" | "]" => depth -= 1,
                _ => {}
            }
        }
        depth <= 0 && !CONTINUES.contains(&self.last(toks, 0))
    }

    fn property(&self, body: &[Token], experiment: bool) -> Place {
        let start = self.current_start(body, FLAG_PROPS);
        let Some(start) = start else {
            return if self.line_start || body.is_empty() {
                Place::Property { experiment }
            } else {
                Place::Nothing
            };
        };
        let args = body.get(start + 1..).unwrap_or(&[]);
        if self.line_start && self.complete(args) && !args.is_empty() {
            return Place::Property { experiment };
        }
        let arg = |i: usize| args.get(i).map_or("", |t| t.text(self.text));
        match (self.t_of(body, start), args.len()) {
            ("kind", 0) => Place::FlagKind,
            ("requires", 0) => Place::FlagName { experiments: false },
            ("requires", 2) if matches!(arg(1), "==" | "!=") => Place::Value {
                owner: Owner::Named(arg(0).to_string()),
                with_split: false,
            },
            ("default", 0) => Place::Value {
                owner: Owner::This,
                with_split: false,
            },
            ("control", 0) => Place::Variant(Owner::This),
            ("unit", 0) => Place::Unit(None),
            ("unit", 2) if arg(1) == "." => Place::Unit(Some(arg(0).to_string())),
            ("layer", 0) => Place::Layer,
            ("audience", _) => Place::Condition(args.to_vec()),
            ("rule", _) => self.rule(args),
            _ => Place::Nothing,
        }
    }

    fn t_of(&self, toks: &[Token], i: usize) -> &'a str {
        toks.get(i).map_or("", |t| t.text(self.text))
    }

    fn rule(&self, args: &[Token]) -> Place {
        let find = |word: &str| args.iter().position(|t| t.text(self.text) == word);
        if let Some(arrow) = find("=>") {
            let result = args.get(arrow + 1..).unwrap_or(&[]);
            return match (result.len(), self.last(result, 0), self.last(result, 1)) {
                (0, _, _) => Place::Value {
                    owner: Owner::This,
                    with_split: true,
                },
                (_, "by", _) => Place::Unit(None),
                (_, ".", "") => Place::Nothing,
                (_, ".", ctx) if self.last(result, 2) == "by" => Place::Unit(Some(ctx.to_string())),
                _ => Place::Nothing,
            };
        }
        if let Some(when) = find("when") {
            return Place::Condition(args.get(when + 1..).unwrap_or(&[]).to_vec());
        }
        match self.last(args, 0) {
            "from" | "until" => Place::Nothing,
            _ => Place::RuleClause,
        }
    }

    fn test_member(&self, body: &[Token]) -> Place {
        let start = self.current_start(body, &["context", "now", "expect"]);
        let Some(start) = start else {
            return Place::TestMember;
        };
        let args = body.get(start + 1..).unwrap_or(&[]);
        if self.line_start && self.complete(args) && !args.is_empty() {
            return Place::TestMember;
        }
        if self.t_of(body, start) != "expect" {
            return Place::Nothing;
        }
        let arg = |i: usize| args.get(i).map_or("", |t| t.text(self.text));
        let flag = arg(0).to_string();
        match (args.len(), arg(1)) {
            (0, _) => Place::FlagName { experiments: true },
            (1, _) => Place::Expectation(flag),
            (2, "variant") => Place::Variant(Owner::Named(flag)),
            (2, "reason") => Place::Reason,
            (2, "error") => Place::ErrorCode,
            (2, "rule") => Place::RuleOf(flag),
            (2, "==") => Place::Value {
                owner: Owner::Named(flag),
                with_split: false,
            },
            _ => Place::Nothing,
        }
    }

    /// Inside `user { .. }` of a test's `context` block.
    fn test_field(&self, brace: usize) -> Place {
        let context = self.t(brace.wrapping_sub(1)).to_string();
        let after = self.toks.get(brace + 1..).unwrap_or(&[]);
        let mut given = Vec::new();
        let mut depth = 0;
        for (i, t) in after.iter().enumerate() {
            match t.text(self.text) {
                "[" => depth += 1,
                "]" => depth -= 1,
                ":" if depth == 0 => given.push(self.t_of(after, i.wrapping_sub(1)).to_string()),
                _ => {}
            }
        }
        // The field whose value is being written, if any: the last `:`
        // not followed by a complete value.
        let value_of = after
            .iter()
            .rposition(|t| t.text(self.text) == ":")
            .and_then(|colon| {
                let rest = after.get(colon + 1..).unwrap_or(&[]);
                let open = rest.iter().filter(|t| t.text(self.text) == "[").count()
                    > rest.iter().filter(|t| t.text(self.text) == "]").count();
                let writing = rest.is_empty() || (open && matches!(self.last(rest, 0), "[" | ","));
                writing.then(|| self.t_of(after, colon.wrapping_sub(1)).to_string())
            });
        match value_of {
            Some(field) => Place::TestValue { context, field },
            None => match self.last(after, 0) {
                "" | "," => Place::TestField { context, given },
                _ if self.line_start => Place::TestField { context, given },
                _ => Place::Nothing,
            },
        }
    }
}

/// What a condition's tokens say about the next token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionPlace {
    /// After `C.`: its fields.
    Field(String),
    /// After `C.f ==` or inside `C.f in [..`: values of the field.
    ValueOf {
        context: String,
        field: String,
    },
    /// After `is`: `set`, `not set`.
    Presence,
    /// After a complete operand: operators (by the field's type when the
    /// operand is a field), `and`, `or`.
    After(Option<(String, String)>),
    /// Where an operand starts: contexts, segments, `not`, `now`.
    Operand,
    Nothing,
}

pub fn condition(text: &str, toks: &[Token]) -> ConditionPlace {
    let t = |back: usize| -> &str {
        toks.len()
            .checked_sub(back + 1)
            .and_then(|i| toks.get(i))
            .map_or("", |t| t.text(text))
    };
    let path_before = |back: usize| -> Option<(String, String)> {
        let ok = t(back + 1) == "." && is_ident(toks, back, text) && is_ident(toks, back + 2, text);
        ok.then(|| (t(back + 2).to_string(), t(back).to_string()))
    };
    match t(0) {
        "." if is_ident(toks, 1, text) => return ConditionPlace::Field(t(1).to_string()),
        "==" | "!=" | "<" | "<=" | ">" | ">=" => {
            return match path_before(1) {
                Some((context, field)) => ConditionPlace::ValueOf { context, field },
                None => ConditionPlace::Nothing,
            }
        }
        "is" => return ConditionPlace::Presence,
        _ => {}
    }
    // Inside an open list: `C.f in [a, ` or `C.f not in [`.
    let mut depth = 0i32;
    for (i, tok) in toks.iter().enumerate().rev() {
        match tok.text(text) {
            "]" => depth += 1,
            "[" if depth == 0 => {
                let back = toks.len() - i; // tokens from the end to just before `[`
                let quantified = matches!(t(back), "any" | "all") && t(back + 1) == "contains";
                if !(t(back) == "in" || quantified) || !matches!(t(0), "[" | ",") {
                    return ConditionPlace::Nothing;
                }
                let path_at = if t(back + 1) == "not" || quantified {
                    back + 2
                } else {
                    back + 1
                };
                return match path_before(path_at) {
                    Some((context, field)) => ConditionPlace::ValueOf { context, field },
                    None => ConditionPlace::Nothing,
                };
            }
            "[" => depth -= 1,
            _ => {}
        }
    }
    let last = toks.last();
    match last.map(|tok| (tok.kind, tok.text(text))) {
        None => ConditionPlace::Operand,
        Some((TokenKind::Ident, "and" | "or" | "not" | "when" | "audience")) => {
            ConditionPlace::Operand
        }
        Some((TokenKind::Punct, "(" | "{")) => ConditionPlace::Operand,
        Some((TokenKind::Ident, "in" | "set" | "now" | "true" | "false")) => {
            ConditionPlace::After(None)
        }
        Some((TokenKind::Ident, word)) if STRING_OPS.contains(&word) => ConditionPlace::Nothing,
        Some((TokenKind::Ident, _)) => ConditionPlace::After(path_before(0)),
        Some((TokenKind::String | TokenKind::Literal, _)) => ConditionPlace::After(None),
        Some((TokenKind::Punct, ")" | "]")) => ConditionPlace::After(None),
        _ => ConditionPlace::Nothing,
    }
}

fn is_ident(toks: &[Token], back: usize, text: &str) -> bool {
    toks.len()
        .checked_sub(back + 1)
        .and_then(|i| toks.get(i))
        .is_some_and(|t| t.kind == TokenKind::Ident && !lex::RESERVED.contains(&t.text(text)))
}
