//! The layout of items and of the blocks inside them: one member per line,
//! two-space indentation, one blank line between items, and the blank lines
//! the user left between members kept (at most one).

use std::ops::Range;

use vexil_grammar::{
    ContextDecl, ContextValue, ExpectKind, FieldDecl, FieldValue, Ident, Item, MetricDecl,
    PlanningEntry, Property, PropertyKind, RequireOp, SegmentDecl, Span, TestDecl, TestMember,
    ValueType, VariantDecl,
};

use super::printer::{Blanks, Printer, BRACES, INDENT};

/// Whether the commas between a block's members are printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commas {
    /// Never: properties, metrics and the like have no docs a comma could
    /// keep apart.
    Dropped,
    /// Only where one keeps a doc comment off the next member (fields and
    /// variants): dropped everywhere else.
    Kept,
}

/// Where one item (with its leading and trailing comments) is, in the
/// source and in the output: whole lines, without the final newline.
pub(crate) struct Extent {
    pub source: Range<usize>,
    pub output: Range<usize>,
}

/// The position of a closing delimiter that ends `span`.
pub(crate) fn closing(span: Span) -> Span {
    Span {
        start: span.end.saturating_sub(1),
        end: span.end,
    }
}

impl<'a> Printer<'a> {
    pub(crate) fn file(&mut self, items: &[Item]) -> Vec<Extent> {
        let mut extents = Vec::with_capacity(items.len());
        let mut open: Option<(usize, usize)> = None;
        for (i, item) in items.iter().enumerate() {
            let start = item.span().start;
            self.flush_trailing(start);
            if let Some((source, output)) = open.take() {
                extents.push(self.extent(source, output));
            }
            // Exactly one blank line between items, before their comments.
            self.start_line(0, i > 0);
            let first = self.pending_comment_before(start).unwrap_or(start);
            open = Some((self.line_start(first), self.out_len()));
            self.break_before(start, 0, 0, Blanks::All);
            self.item(item);
        }
        self.flush_trailing(u32::try_from(self.source.len()).unwrap_or(u32::MAX));
        if let Some((source, output)) = open {
            extents.push(self.extent(source, output));
        }
        extents
    }

    fn extent(&self, source: usize, output: usize) -> Extent {
        Extent {
            source: source..(self.last_end() as usize).max(source),
            output: output..self.out_len_without_newline().max(output),
        }
    }

    /// The start of the line holding `pos`, if only whitespace precedes it
    /// there; `pos` otherwise.
    fn line_start(&self, pos: u32) -> usize {
        let pos = pos as usize;
        let before = self.source.get(..pos).unwrap_or("");
        let start = before.rfind('\n').map_or(0, |n| n + 1);
        if before.get(start..).is_some_and(|s| s.trim().is_empty()) {
            start
        } else {
            pos
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Context(c) => self.context(c),
            Item::Segment(s) => self.segment(s),
            Item::Flag(f) => {
                self.flag_head("flag", f.span, &f.name, f.value_type, f.value_type_span);
                self.properties(f.span, &f.properties);
            }
            Item::Experiment(e) => {
                self.flag_head(
                    "experiment",
                    e.span,
                    &e.name,
                    e.value_type,
                    e.value_type_span,
                );
                self.properties(e.span, &e.properties);
            }
            Item::Test(t) => self.test(t),
            Item::Broken(b) => self.verbatim(b.span),
        }
    }

    pub(crate) fn ident(&mut self, id: &Ident) {
        self.tok(id.span, &id.name);
    }

    /// Prints an unspanned token found in the source after the last one.
    pub(crate) fn found(&mut self, text: &str) {
        let at = self.find(text);
        self.tok(at, text);
    }

    // ------------------------------------------------------------ blocks

    /// ` { members }` with one member per line, closed by the `}` at
    /// `close`; `{}` when there is nothing inside, not even a comment.
    /// Members of `Commas::Kept` blocks may be separated by commas that
    /// matter to doc comments (see `Printer::comma_before`).
    fn block<T>(
        &mut self,
        close: Span,
        members: &[T],
        commas: Commas,
        span_of: impl Fn(&T) -> Span,
        print: impl Fn(&mut Self, &T),
    ) {
        self.sp();
        let open = self.find("{");
        self.tok(open, "{");
        let inside = Span {
            start: open.end,
            end: close.start,
        };
        if members.is_empty() && !self.has_comment_in(inside) {
            self.tok(close, "}");
            return;
        }
        let outer = self.cur_indent();
        let inner = outer + INDENT;
        let saved = self.cont;
        let mut prev: Option<Span> = None;
        for m in members {
            let start = span_of(m).start;
            let comma = prev
                .filter(|_| commas == Commas::Kept)
                .and_then(|p| self.comma_ending(p));
            if let Some(comma) = comma.filter(|c| self.comma_keeps_docs_apart(*c, start)) {
                self.break_before(comma.start, inner, inner, Blanks::All);
                self.tok(comma, ",");
                if self.pending_comment_before(start).is_some() {
                    self.break_before(start, inner, inner, Blanks::All);
                } else {
                    self.sp();
                }
            } else {
                self.break_before(start, inner, inner, Blanks::All);
            }
            self.cont = inner + INDENT;
            print(self, m);
            prev = Some(span_of(m));
        }
        self.break_before(close.start, inner, outer, Blanks::Comments);
        self.cont = saved;
        self.tok(close, "}");
    }

    /// The comma that ends a member's span, if it has one.
    fn comma_ending(&self, span: Span) -> Option<Span> {
        let comma = closing(span);
        (self.source.get(comma.range()) == Some(",")).then_some(comma)
    }

    // ------------------------------------------------------------ contexts

    fn context(&mut self, c: &ContextDecl) {
        self.kw(c.span.start, "context");
        self.sp();
        self.ident(&c.name);
        self.block(
            closing(c.span),
            &c.fields,
            Commas::Kept,
            |f| f.span,
            |p, f| p.field(f),
        );
    }

    fn field(&mut self, f: &FieldDecl) {
        if let Some(key) = f.key {
            self.tok(key, "key");
            self.sp();
        }
        self.ident(&f.name);
        self.found(":");
        self.sp();
        self.type_expr(&f.ty, 0);
    }

    // ------------------------------------------------------------ segments

    fn segment(&mut self, s: &SegmentDecl) {
        self.kw(s.span.start, "segment");
        self.sp();
        self.ident(&s.name);
        self.sp();
        self.found("{");
        let saved = self.cont;
        self.break_before(s.condition.span.start, INDENT, INDENT, Blanks::Comments);
        self.cont = 2 * INDENT;
        self.expr(&s.condition, 0);
        let close = closing(s.span);
        self.break_before(close.start, INDENT, 0, Blanks::Comments);
        self.cont = saved;
        self.tok(close, "}");
    }

    // ------------------------------------------------------------ flags and experiments

    fn flag_head(&mut self, keyword: &str, span: Span, name: &Ident, ty: ValueType, ty_span: Span) {
        self.kw(span.start, keyword);
        self.sp();
        self.ident(name);
        self.found(":");
        self.sp();
        self.tok(ty_span, ty.as_str());
    }

    fn properties(&mut self, span: Span, properties: &[Property]) {
        self.block(
            closing(span),
            properties,
            Commas::Dropped,
            |p| p.span,
            |p, prop| p.property(prop),
        );
    }

    fn property(&mut self, p: &Property) {
        self.tok(p.keyword, p.kind.keyword());
        match &p.kind {
            PropertyKind::Kind(id) | PropertyKind::Layer(id) | PropertyKind::Control(id) => {
                self.sp();
                self.ident(id);
            }
            PropertyKind::Owner(s) | PropertyKind::Salt(s) => {
                self.sp();
                self.str_lit(s);
            }
            PropertyKind::Tags(tags) => {
                self.sp();
                let open = self.find("[");
                self.tags(open, closing(p.span), tags);
            }
            PropertyKind::Expires(l)
            | PropertyKind::Traffic(l)
            | PropertyKind::Start(l)
            | PropertyKind::End(l) => {
                self.sp();
                self.literal(l);
            }
            PropertyKind::Default(v) => {
                self.sp();
                self.value(v, 0);
            }
            PropertyKind::Enabled(on) => {
                self.sp();
                self.found(if *on { "true" } else { "false" });
            }
            PropertyKind::Client => {}
            PropertyKind::Requires(r) => {
                self.sp();
                self.ident(&r.flag);
                if let Some((op, value)) = &r.expected {
                    self.sp();
                    self.found(match op {
                        RequireOp::Eq => "==",
                        RequireOp::Ne => "!=",
                    });
                    self.sp();
                    self.value(value, 0);
                }
            }
            PropertyKind::Variants(variants) => self.block(
                closing(p.span),
                variants,
                Commas::Kept,
                |v| v.span,
                |p, v| p.variant(v),
            ),
            PropertyKind::Rule(r) => self.rule(r),
            PropertyKind::Unit(u) => {
                self.sp();
                self.unit(u);
            }
            PropertyKind::Audience(e) => {
                self.sp();
                self.expr(e, 0);
            }
            PropertyKind::EnabledWhen(e) => {
                self.sp();
                self.found("when");
                self.sp();
                self.expr(e, 0);
            }
            PropertyKind::Metrics(metrics) => self.block(
                closing(p.span),
                metrics,
                Commas::Dropped,
                |m| m.span,
                |p, m| p.metric(m),
            ),
            PropertyKind::Planning(entries) => self.block(
                closing(p.span),
                entries,
                Commas::Dropped,
                |e| e.span,
                |p, e| p.planning_entry(e),
            ),
        }
    }

    fn variant(&mut self, v: &VariantDecl) {
        self.ident(&v.name);
        self.sp();
        self.found("=");
        self.sp();
        let weight = v.weight.as_ref().map(|w| self.literal_width(w) + 1);
        self.value(&v.value, weight.unwrap_or(0));
        if let Some(w) = &v.weight {
            self.sp();
            self.literal(w);
        }
    }

    fn metric(&mut self, m: &MetricDecl) {
        self.tok(m.role_span, m.role.as_str());
        self.sp();
        self.ident(&m.name);
        self.found(":");
        self.sp();
        self.metric_call(m);
        self.sp();
        self.tok(m.goal_span, m.goal.as_str());
        if let Some(threshold) = &m.threshold {
            self.sp();
            self.found("threshold");
            self.sp();
            self.literal(threshold);
        }
    }

    /// `FUNCTION(EVENT[, EVENT]) [within D]`: an experiment metric's or a
    /// guardrail's.
    pub(crate) fn metric_call(&mut self, m: &MetricDecl) {
        self.ident(&m.function);
        self.found("(");
        for (i, event) in m.events.iter().enumerate() {
            if i > 0 {
                self.punct(",");
                self.sp();
            }
            self.event(event);
        }
        self.found(")");
        if let Some(window) = &m.window {
            self.sp();
            self.found("within");
            self.sp();
            self.literal(window);
        }
    }

    fn planning_entry(&mut self, e: &PlanningEntry) {
        self.ident(&e.key);
        self.sp();
        self.literal(&e.value);
    }

    // ------------------------------------------------------------ tests

    fn test(&mut self, t: &TestDecl) {
        self.kw(t.span.start, "test");
        self.sp();
        self.str_lit(&t.name);
        self.block(
            closing(t.span),
            &t.members,
            Commas::Dropped,
            test_member_span,
            |p, m| p.test_member(m),
        );
    }

    fn test_member(&mut self, m: &TestMember) {
        match m {
            TestMember::Context { contexts, span } => {
                self.kw(span.start, "context");
                self.block(
                    closing(*span),
                    contexts,
                    Commas::Dropped,
                    |c| c.span,
                    |p, c| p.context_value(c),
                );
            }
            TestMember::Now { time, span } => {
                self.kw(span.start, "now");
                self.sp();
                self.literal(time);
            }
            TestMember::Expect(e) => {
                self.kw(e.span.start, "expect");
                self.sp();
                self.ident(&e.flag);
                self.sp();
                let (keyword, name) = match &e.kind {
                    ExpectKind::Value(v) => {
                        self.found("==");
                        self.sp();
                        self.value(v, 0);
                        return;
                    }
                    ExpectKind::Variant(id) => ("variant", id),
                    ExpectKind::Reason(id) => ("reason", id),
                    ExpectKind::Rule(id) => ("rule", id),
                    ExpectKind::Error(id) => ("error", id),
                    ExpectKind::Stage(l) => {
                        self.found("stage");
                        self.sp();
                        self.literal(l);
                        return;
                    }
                };
                self.found(keyword);
                self.sp();
                self.ident(name);
            }
        }
    }

    /// `user { id: "u-1", plan: pro }` on one line when it fits, else one
    /// field per line.
    fn context_value(&mut self, c: &ContextValue) {
        self.ident(&c.context);
        self.sp();
        let open = self.find("{");
        self.seq_group(
            open,
            closing(c.span),
            &c.fields,
            BRACES,
            0,
            &|f: &FieldValue| f.span.start,
            &|p, f, suffix| {
                p.ident(&f.field);
                p.found(":");
                p.sp();
                p.operand(&f.value, suffix);
            },
        );
    }
}

fn test_member_span(m: &TestMember) -> Span {
    match m {
        TestMember::Context { span, .. } | TestMember::Now { span, .. } => *span,
        TestMember::Expect(e) => e.span,
    }
}
