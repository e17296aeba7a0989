//! The layout of conditions and types. A condition too long for its line
//! breaks before each top-level `or`, continuing two columns in; an operand
//! still too long breaks before its own `and`s, two columns further; then
//! lists inside fill their lines. Parentheses stay exactly as written.

use std::borrow::Cow;

use vexil_grammar::{Expr, ExprKind, InTarget, Operand, OperandKind, Span, TypeExpr, TypeExprKind};

use super::items::closing;
use super::printer::{Blanks, Printer, BRACES, BRACKETS, INDENT};
use super::values::literal_text;

impl<'a> Printer<'a> {
    /// A condition, with `suffix` columns that must follow it on its last
    /// line (` => true` after a rule's condition).
    pub(crate) fn expr(&mut self, e: &Expr, suffix: usize) {
        self.group(e.span, suffix, &|p, broken| {
            p.expr_layout(e, broken, suffix)
        });
    }

    fn expr_layout(&mut self, e: &Expr, broken: bool, suffix: usize) {
        match &e.kind {
            ExprKind::Or(..) => self.chain(e, "or", broken, suffix),
            ExprKind::And(..) => self.chain(e, "and", broken, suffix),
            ExprKind::Not(_) => {
                // `not not ... x` has no brackets to bound its depth: walk
                // it in a loop rather than one recursion per `not`.
                let mut inner = e;
                while let ExprKind::Not(operand) = &inner.kind {
                    self.kw(inner.span.start, "not");
                    self.sp();
                    inner = operand;
                }
                self.expr(inner, suffix);
            }
            ExprKind::Paren(inner) => {
                self.kw(e.span.start, "(");
                self.expr(inner, suffix + 1);
                self.tok(closing(e.span), ")");
            }
            ExprKind::Compare {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(lhs, *op_span, op.as_str(), rhs, suffix),
            ExprKind::StringOp {
                op,
                case_insensitive,
                op_span,
                lhs,
                rhs,
            } => self.binary(lhs, *op_span, op.as_str(*case_insensitive), rhs, suffix),
            ExprKind::In {
                negated,
                case_insensitive,
                op_span,
                lhs,
                rhs,
            } => {
                self.operand(lhs, 0);
                self.sp();
                let (word, len) = if *case_insensitive {
                    ("iin", 3)
                } else {
                    ("in", 2)
                };
                if *negated {
                    self.kw(op_span.start, "not");
                    self.sp();
                    self.kw(op_span.end.saturating_sub(len), word);
                } else {
                    self.tok(*op_span, word);
                }
                self.sp();
                match rhs {
                    InTarget::List(items, span) => self.operand_list(items, *span, suffix),
                    InTarget::Operand(o) => self.operand(o, suffix),
                }
            }
            ExprKind::ContainsList {
                all,
                op_span,
                lhs,
                items,
                list_span,
            } => {
                self.operand(lhs, 0);
                self.sp();
                self.kw(op_span.start, "contains");
                self.sp();
                let quantifier = if *all { "all" } else { "any" };
                let at = self.find(quantifier);
                self.tok(at, quantifier);
                self.sp();
                self.operand_list(items, *list_span, suffix);
            }
            ExprKind::IsSet { negated, operand } => {
                self.operand(operand, 0);
                self.sp();
                self.found("is");
                if *negated {
                    self.sp();
                    self.found("not");
                }
                self.sp();
                self.found("set");
            }
            ExprKind::Operand(o) => self.operand(o, suffix),
        }
    }

    fn binary(&mut self, lhs: &Operand, op_span: Span, op: &str, rhs: &Operand, suffix: usize) {
        self.operand(lhs, 0);
        self.sp();
        self.tok(op_span, op);
        self.sp();
        self.operand(rhs, suffix);
    }

    /// `a or b or c` (or `and`): flat, or broken before every operator.
    fn chain(&mut self, e: &Expr, keyword: &str, broken: bool, suffix: usize) {
        let operands = chain_operands(e);
        let last = operands.len().saturating_sub(1);
        for (i, operand) in operands.into_iter().enumerate() {
            if i > 0 {
                // Measuring gives up at the width, however long the chain.
                if self.overflowed() {
                    return;
                }
                let at = self.find(keyword);
                if broken {
                    let cont = self.cont;
                    self.break_before(at.start, cont, cont, Blanks::None);
                } else {
                    self.sp();
                }
                self.tok(at, keyword);
                self.sp();
            }
            let tail = if i == last { suffix } else { 0 };
            if broken {
                let saved = self.cont;
                self.cont += INDENT;
                self.expr(operand, tail);
                self.cont = saved;
            } else {
                self.expr(operand, tail);
            }
        }
    }

    pub(crate) fn operand(&mut self, o: &Operand, suffix: usize) {
        match &o.kind {
            OperandKind::Path { context, field } => {
                self.ident(context);
                self.found(".");
                self.ident(field);
            }
            OperandKind::Name(id) => self.ident(id),
            OperandKind::Now => self.kw(o.span.start, "now"),
            OperandKind::NowOffset {
                negative,
                sign_span,
                amount,
            } => {
                self.kw(o.span.start, "now");
                self.sp();
                self.tok(*sign_span, if *negative { "-" } else { "+" });
                self.sp();
                self.literal(amount);
            }
            OperandKind::Literal(l) => self.literal(l),
            OperandKind::List(items) => self.operand_list(items, o.span, suffix),
        }
    }

    fn operand_list(&mut self, items: &[Operand], span: Span, suffix: usize) {
        let source = self.source;
        let open = Span {
            start: span.start,
            end: span.start.saturating_add(1),
        };
        self.fill_group(open, closing(span), items, BRACKETS, suffix, &|o| {
            (o.span, operand_text(source, o))
        });
    }

    pub(crate) fn type_expr(&mut self, t: &TypeExpr, suffix: usize) {
        match &t.kind {
            TypeExprKind::Prim(prim) => self.tok(t.span, prim.as_str()),
            TypeExprKind::List(elem) => {
                self.kw(t.span.start, "list");
                self.found("<");
                self.type_expr(elem, suffix + 1);
                self.found(">");
            }
            TypeExprKind::Enum(members) => {
                self.kw(t.span.start, "enum");
                self.sp();
                let open = self.find("{");
                self.fill_group(open, closing(t.span), members, BRACES, suffix, &|m| {
                    (m.span, Cow::Borrowed(m.name.as_str()))
                });
            }
            TypeExprKind::Optional(base) => {
                self.type_expr(base, suffix + 1);
                self.found("?");
            }
        }
    }
}

/// The operands of a chain of one operator, in order. The parser may nest
/// a chain either way (`and` and `or` are associative); walked here with a
/// stack, so a chain of thousands costs no recursion.
fn chain_operands(e: &Expr) -> Vec<&Expr> {
    let is_or = matches!(e.kind, ExprKind::Or(..));
    let mut operands = Vec::new();
    let mut stack = vec![e];
    while let Some(cur) = stack.pop() {
        match &cur.kind {
            ExprKind::Or(lhs, rhs) if is_or => {
                stack.push(rhs);
                stack.push(lhs);
            }
            ExprKind::And(lhs, rhs) if !is_or => {
                stack.push(rhs);
                stack.push(lhs);
            }
            _ => operands.push(cur),
        }
    }
    operands
}

/// The text of an atom in a list: a literal or a name (lists hold nothing
/// else, but any operand gets a faithful text).
fn operand_text<'t>(source: &'t str, o: &'t Operand) -> Cow<'t, str> {
    match &o.kind {
        OperandKind::Literal(l) => literal_text(source, l),
        OperandKind::Name(id) => Cow::Borrowed(id.name.as_str()),
        OperandKind::Now => Cow::Borrowed("now"),
        OperandKind::NowOffset {
            negative, amount, ..
        } => Cow::Owned(format!(
            "now {} {}",
            if *negative { "-" } else { "+" },
            literal_text(source, amount)
        )),
        OperandKind::Path { context, field } => {
            Cow::Owned(format!("{}.{}", context.name, field.name))
        }
        OperandKind::List(items) => {
            let inner: Vec<Cow<'_, str>> = items.iter().map(|i| operand_text(source, i)).collect();
            Cow::Owned(format!("[{}]", inner.join(", ")))
        }
    }
}
