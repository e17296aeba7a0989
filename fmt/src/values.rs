//! The layout of literals, served values, JSON and rules.
//!
//! Literals are printed as written. Strings are printed from their source
//! text rather than re-escaped from their decoded value: `"\u{1F600}"` and
//! `"😀"` decode alike, and re-escaping would have to pick one spelling for
//! both and rewrite the other, which is not a formatter's call (it would
//! also turn an invisible character the user escaped on purpose into a raw
//! one). Printing the source text is idempotent by construction. The
//! decoded value is still checked against it, and re-escaped only when the
//! tree did not come from this source.

use std::borrow::Cow;

use vexil_grammar::{
    unescape, EventName, Expr, Goal, GuardDecl, Json, Literal, LiteralKind, RuleDecl, RuleResult,
    Span, SplitArm, StrLit, Unit, Value, ValueKind,
};

use super::items::closing;
use super::printer::{
    width, Blanks, Printer, BRACES, BRACKETS, INDENT, JSON_ARRAY, JSON_OBJECT, WIDTH,
};

impl<'a> Printer<'a> {
    pub(crate) fn literal(&mut self, l: &Literal) {
        let text = literal_text(self.source, l);
        self.tok(l.span, &text);
    }

    pub(crate) fn literal_width(&self, l: &Literal) -> usize {
        width(&literal_text(self.source, l))
    }

    pub(crate) fn str_lit(&mut self, s: &StrLit) {
        let text = string_text(self.source, s.span, &s.value);
        self.tok(s.span, &text);
    }

    pub(crate) fn event(&mut self, e: &EventName) {
        if e.quoted {
            let text = string_text(self.source, e.span, &e.name);
            self.tok(e.span, &text);
        } else {
            self.tok(e.span, &e.name);
        }
    }

    /// `tags ["checkout", "web"]`, filled like any list when long.
    pub(crate) fn tags(&mut self, open: Span, close: Span, tags: &[StrLit]) {
        let source = self.source;
        self.fill_group(open, close, tags, BRACKETS, 0, &|t| {
            (t.span, string_text(source, t.span, &t.value))
        });
    }

    /// A served value; `suffix` columns follow it on its line.
    pub(crate) fn value(&mut self, v: &Value, suffix: usize) {
        match &v.kind {
            ValueKind::Literal(l) => self.literal(l),
            ValueKind::Json(j) => self.json(j, suffix),
            ValueKind::Variant(id) => self.ident(id),
        }
    }

    /// JSON on one line when short, else one member (or element) per line.
    fn json(&mut self, j: &Json, suffix: usize) {
        match j {
            Json::Null(span) => self.tok(*span, "null"),
            Json::Bool(b, span) => self.tok(*span, if *b { "true" } else { "false" }),
            Json::Number(n, span) => self.tok(*span, n),
            Json::String(s) => self.str_lit(s),
            Json::Array(items, span) => self.seq_group(
                first_char(*span),
                closing(*span),
                items,
                JSON_ARRAY,
                suffix,
                &|item: &Json| item.span().start,
                &|p, item, suffix| p.json(item, suffix),
            ),
            Json::Object(members, span) => self.seq_group(
                first_char(*span),
                closing(*span),
                members,
                JSON_OBJECT,
                suffix,
                &|(key, _): &(StrLit, Json)| key.span.start,
                &|p, (key, value), suffix| {
                    p.str_lit(key);
                    p.found(":");
                    p.sp();
                    p.json(value, suffix);
                },
            ),
        }
    }

    /// `user` or `user.id`.
    pub(crate) fn unit(&mut self, u: &Unit) {
        self.ident(&u.context);
        if let Some(field) = &u.field {
            self.found(".");
            self.ident(field);
        }
    }

    /// `rule [NAME:] [from T] [until T] [when COND] => RESULT`, after the
    /// `rule` keyword. Only the condition and the result ever break.
    pub(crate) fn rule(&mut self, r: &RuleDecl) {
        if let Some(name) = &r.name {
            self.sp();
            self.ident(name);
            self.found(":");
        }
        for (keyword, time) in [("from", &r.from), ("until", &r.until)] {
            if let Some(time) = time {
                self.sp();
                self.found(keyword);
                self.sp();
                self.literal(time);
            }
        }
        if let Some(condition) = &r.condition {
            self.sp();
            self.found("when");
            self.sp();
            self.condition_and_result(condition, &r.result);
        } else {
            self.sp();
            self.found("=>");
            self.sp();
            self.rule_result(&r.result);
        }
        self.guards(r);
    }

    /// A staged rollout's guardrails, each on a line of its own under the
    /// rule, in the order written.
    fn guards(&mut self, r: &RuleDecl) {
        let mut lines: Vec<(u32, Option<&GuardDecl>)> =
            r.guards.iter().map(|g| (g.span.start, Some(g))).collect();
        if let Some(m) = &r.min_sample {
            lines.push((m.span.start, None));
        }
        lines.sort_by_key(|(start, _)| *start);
        let indent = self.cur_indent() + INDENT;
        for (start, guard) in lines {
            self.break_before(start, indent, indent, Blanks::None);
            match (guard, &r.min_sample) {
                (Some(g), _) => self.guard(g),
                (None, Some(m)) => {
                    self.kw(start, "min");
                    self.sp();
                    self.found("sample");
                    self.sp();
                    self.literal(&m.count);
                    self.sp();
                    self.found("per");
                    self.sp();
                    self.found("stage");
                }
                (None, None) => {}
            }
        }
    }

    /// `guard NAME: METRIC [within D] must not increase|decrease by P% [=> ACTION]`.
    fn guard(&mut self, g: &GuardDecl) {
        let m = &g.metric;
        self.tok(m.role_span, "guard");
        self.sp();
        self.ident(&m.name);
        self.found(":");
        self.sp();
        self.metric_call(m);
        self.sp();
        self.found("must");
        self.sp();
        self.found("not");
        self.sp();
        // The goal is the direction that is not harmful; the text says the
        // harmful one.
        self.tok(
            m.goal_span,
            match m.goal {
                Goal::Increase => "decrease",
                Goal::Decrease => "increase",
            },
        );
        self.sp();
        self.found("by");
        if let Some(threshold) = &m.threshold {
            self.sp();
            self.literal(threshold);
        }
        if let Some(action) = &g.action {
            self.sp();
            self.found("=>");
            self.sp();
            self.ident(action);
        }
    }

    /// `COND => RESULT`: on one line if it fits. Otherwise a split or a
    /// JSON value that fits on a line of its own goes on the next line,
    /// `=> ` first, when the condition fits alone; in every other case the
    /// condition breaks (before `or`, then `and`) and the result follows its
    /// last line, broken after its brace if it must.
    fn condition_and_result(&mut self, condition: &Expr, result: &RuleResult) {
        let arrow = " => ".len();
        let flat_result = if self.has_comment_in(result_span(result)) {
            None
        } else {
            self.measure(&|p, _| p.rule_result(result))
        };
        let cond_layout = |p: &mut Printer<'a>, _| p.expr(condition, 0);
        let break_before_arrow = is_compound(result)
            && flat_result.is_some_and(|w| {
                !self.fits(condition.span, arrow + w, &cond_layout)
                    && self.fits(condition.span, 0, &cond_layout)
                    && self.cont + "=> ".len() + w <= WIDTH
            });
        if break_before_arrow {
            self.expr(condition, 0);
            let at = self.find("=>");
            let cont = self.cont;
            self.break_before(at.start, cont, cont, Blanks::None);
            self.tok(at, "=>");
        } else {
            let tail = flat_result.unwrap_or_else(|| self.result_head_width(result));
            self.expr(condition, arrow + tail);
            self.sp();
            self.found("=>");
        }
        self.sp();
        self.rule_result(result);
    }

    /// How much of a result too long for a line stays on the line of `=>`.
    fn result_head_width(&self, result: &RuleResult) -> usize {
        match result {
            RuleResult::Split {
                unit, salt, span, ..
            } => {
                let head = self.measure(&|p, _| p.split_head(*span, unit, salt.as_ref()));
                head.unwrap_or(0) + " {".len()
            }
            // A JSON value, broken after its opening brace.
            _ => 1,
        }
    }

    fn rule_result(&mut self, result: &RuleResult) {
        match result {
            RuleResult::Value(v) => self.value(v, 0),
            RuleResult::Rollout {
                value,
                percent,
                unit,
                salt,
                ..
            } => {
                self.served_for(value.as_ref());
                self.literal(percent);
                self.by_unit(unit, salt.as_ref());
            }
            RuleResult::Staged {
                value,
                stages,
                unit,
                salt,
                ..
            } => {
                self.served_for(value.as_ref());
                for (i, stage) in stages.iter().enumerate() {
                    if i > 0 {
                        self.found(",");
                        self.sp();
                    }
                    self.literal(&stage.percent);
                    if let Some(d) = &stage.duration {
                        self.sp();
                        self.found("for");
                        self.sp();
                        self.literal(d);
                    } else if let Some(t) = &stage.until {
                        self.sp();
                        self.found("until");
                        self.sp();
                        self.literal(t);
                    }
                }
                self.by_unit(unit, salt.as_ref());
            }
            RuleResult::Split {
                unit,
                salt,
                arms,
                span,
            } => {
                self.split_head(*span, unit, salt.as_ref());
                self.sp();
                let open = self.find("{");
                self.seq_group(
                    open,
                    closing(*span),
                    arms,
                    BRACES,
                    0,
                    &|arm: &SplitArm| arm.span.start,
                    &|p, arm, _| {
                        let weight = p.literal_width(&arm.weight) + 1;
                        p.value(&arm.value, weight);
                        p.sp();
                        p.literal(&arm.weight);
                    },
                );
            }
        }
    }

    /// A rollout's `VALUE for ` when it names what it serves.
    fn served_for(&mut self, value: Option<&Value>) {
        if let Some(v) = value {
            self.value(v, 0);
            self.sp();
            self.found("for");
            self.sp();
        }
    }

    /// A rollout's ` by UNIT [salt "s"]`.
    fn by_unit(&mut self, unit: &Unit, salt: Option<&StrLit>) {
        self.sp();
        self.found("by");
        self.sp();
        self.unit(unit);
        self.salt_clause(salt);
    }

    fn split_head(&mut self, span: Span, unit: &Unit, salt: Option<&StrLit>) {
        self.kw(span.start, "split");
        self.sp();
        self.found("by");
        self.sp();
        self.unit(unit);
        self.salt_clause(salt);
    }

    fn salt_clause(&mut self, salt: Option<&StrLit>) {
        if let Some(salt) = salt {
            self.sp();
            self.found("salt");
            self.sp();
            self.str_lit(salt);
        }
    }
}

/// A result that would break over lines: a split or a JSON value.
fn is_compound(result: &RuleResult) -> bool {
    match result {
        RuleResult::Split { .. } => true,
        RuleResult::Value(v) => matches!(v.kind, ValueKind::Json(_)),
        RuleResult::Rollout { .. } | RuleResult::Staged { .. } => false,
    }
}

fn result_span(result: &RuleResult) -> Span {
    match result {
        RuleResult::Value(v) => v.span,
        RuleResult::Rollout { span, .. }
        | RuleResult::Staged { span, .. }
        | RuleResult::Split { span, .. } => *span,
    }
}

fn first_char(span: Span) -> Span {
    Span {
        start: span.start,
        end: span.start.saturating_add(1).min(span.end),
    }
}

/// A literal as written.
pub(crate) fn literal_text<'t>(source: &'t str, l: &'t Literal) -> Cow<'t, str> {
    match &l.kind {
        LiteralKind::Bool(true) => Cow::Borrowed("true"),
        LiteralKind::Bool(false) => Cow::Borrowed("false"),
        LiteralKind::Number(text)
        | LiteralKind::Semver(text)
        | LiteralKind::Date(text)
        | LiteralKind::Timestamp(text)
        | LiteralKind::Duration(text) => Cow::Borrowed(text.as_str()),
        LiteralKind::Percent(number) => Cow::Owned(format!("{number}%")),
        LiteralKind::String(value) => string_text(source, l.span, value),
    }
}

/// A string literal as written, when `span` holds a quoted string that
/// decodes to `value`; `value` freshly escaped otherwise.
pub(crate) fn string_text<'t>(source: &'t str, span: Span, value: &'t str) -> Cow<'t, str> {
    let written = source.get(span.range()).filter(|text| {
        text.len() >= 2
            && text.starts_with('"')
            && text.ends_with('"')
            && !text.contains('\n')
            && text
                .get(1..text.len() - 1)
                .is_some_and(|body| match unescape(body) {
                    Ok(decoded) => decoded == value,
                    // The parser keeps a body with a bad escape as it is.
                    Err(_) => body == value,
                })
    });
    match written {
        Some(text) => Cow::Borrowed(text),
        None => Cow::Owned(escape(value)),
    }
}

/// A string literal that decodes to `value`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_strings_decode_to_their_value() {
        for value in [
            "plain",
            "quote \" and \\ back",
            "line\nbreak\ttab\r\0",
            "bell \u{7}",
            "😀",
        ] {
            let text = escape(value);
            let body = &text[1..text.len() - 1];
            assert_eq!(unescape(body).as_deref(), Ok(value), "{text}");
        }
    }

    #[test]
    fn strings_keep_their_spelling_when_the_source_matches() {
        let source = r#"x "\u{1F600}" y"#;
        let span = Span::new(2, 13);
        assert_eq!(string_text(source, span, "😀"), r#""\u{1F600}""#);
        // A tree that does not belong to the source: re-escaped.
        assert_eq!(string_text(source, span, "other"), r#""other""#);
        assert_eq!(string_text(source, Span::new(50, 60), "a\"b"), r#""a\"b""#);
    }
}
