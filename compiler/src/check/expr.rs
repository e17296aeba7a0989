//! Conditions: names resolved against the schemas, literals converted to the
//! type they meet, operators checked against their operands' types, and the
//! typed IR built on the way out.
//!
//! Presence tests are tracked the way a type checker tracks flow facts: in
//! `a and b`, `b` may read the fields that `a` proved present; in `a or b`,
//! those that `a` being false proved present.

use vexil_grammar::{
    self as ast, CompareOp, ExprKind, Ident, InTarget, LiteralKind, OperandKind, Span,
};
use vexil_ir as ir;
use vexil_words::with_article;

use super::{FileChecker, Lookup};
use crate::literal::{self, LiteralError};
use crate::suggest::did_you_mean;
use crate::summary::Kind;
use crate::types::Ty;
use crate::Code;

mod address;
mod ignore_case;

/// A checked condition with the fields it proves present when true / false.
struct Cond {
    expr: ir::Expr,
    when_true: Vec<u32>,
    when_false: Vec<u32>,
}

impl Cond {
    fn plain(expr: ir::Expr) -> Cond {
        Cond {
            expr,
            when_true: Vec::new(),
            when_false: Vec::new(),
        }
    }

    /// The placeholder for a condition with an error already reported.
    fn poison() -> Cond {
        Cond::plain(ir::Expr::Const(false))
    }
}

/// An operand after name resolution.
#[derive(Clone, Debug)]
pub(super) enum Opnd<'a> {
    Field(FieldRef),
    /// The evaluation time, moved by this many microseconds.
    Now(i64),
    Lit(&'a ast::Literal),
    Name(&'a Ident),
    /// An error was reported already.
    Poison,
}

#[derive(Clone, Debug)]
pub(super) struct FieldRef {
    pub slot: u32,
    pub ty: Ty,
    pub optional: bool,
    /// `user.country`, for messages.
    pub path: String,
    pub span: Span,
}

impl Opnd<'_> {
    fn ty(&self) -> Option<Ty> {
        match self {
            Opnd::Field(f) => Some(f.ty.clone()),
            Opnd::Now(_) => Some(Ty::Timestamp),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Opnd::Field(f) => format!("`{}` ({})", f.path, f.ty.describe()),
            Opnd::Now(0) => "`now` (timestamp)".to_string(),
            Opnd::Now(_) => "a time relative to `now` (timestamp)".to_string(),
            Opnd::Lit(l) => l.kind.describe().to_string(),
            Opnd::Name(id) => format!("the name `{}`", id.name),
            Opnd::Poison => "this".to_string(),
        }
    }
}

impl FileChecker<'_> {
    /// Check and lower a condition.
    pub(super) fn condition(&mut self, e: &ast::Expr) -> ir::Expr {
        let mut warned = Vec::new();
        self.cond(e, &[], &mut warned).expr
    }

    fn cond(&mut self, e: &ast::Expr, guarded: &[u32], warned: &mut Vec<u32>) -> Cond {
        match &e.kind {
            ExprKind::Paren(inner) => self.cond(inner, guarded, warned),
            ExprKind::Not(inner) => {
                let c = self.cond(inner, guarded, warned);
                Cond {
                    expr: ir::Expr::Not(Box::new(c.expr)),
                    when_true: c.when_false,
                    when_false: c.when_true,
                }
            }
            ExprKind::And(a, b) => {
                let a = self.cond(a, guarded, warned);
                let inner_guard = union(guarded, &a.when_true);
                let b = self.cond(b, &inner_guard, warned);
                Cond {
                    expr: flatten(true, a.expr, b.expr),
                    when_true: union(&a.when_true, &b.when_true),
                    when_false: intersection(&a.when_false, &b.when_false),
                }
            }
            ExprKind::Or(a, b) => {
                let a = self.cond(a, guarded, warned);
                let inner_guard = union(guarded, &a.when_false);
                let b = self.cond(b, &inner_guard, warned);
                Cond {
                    expr: flatten(false, a.expr, b.expr),
                    when_true: intersection(&a.when_true, &b.when_true),
                    when_false: union(&a.when_false, &b.when_false),
                }
            }
            ExprKind::IsSet { negated, operand } => match self.operand(operand) {
                Opnd::Field(f) => {
                    let set = ir::Expr::IsSet(f.slot);
                    if *negated {
                        Cond {
                            expr: ir::Expr::Not(Box::new(set)),
                            when_true: Vec::new(),
                            when_false: vec![f.slot],
                        }
                    } else {
                        Cond {
                            expr: set,
                            when_true: vec![f.slot],
                            when_false: Vec::new(),
                        }
                    }
                }
                Opnd::Poison => Cond::poison(),
                other => {
                    self.rep
                        .report(
                            Code::OperatorType,
                            operand.span,
                            "`is set` applies to context fields",
                        )
                        .label(format!("{} is not a field", other.describe()))
                        .help("test a field's presence: `user.company is set`");
                    Cond::poison()
                }
            },
            ExprKind::Operand(op) => self.bare_operand(op, guarded, warned),
            ExprKind::Compare {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                let (l, r) = (self.operand(lhs), self.operand(rhs));
                self.guard_check(&[&l, &r], guarded, warned);
                Cond::plain(
                    self.compare(*op, *op_span, l, r, e.span)
                        .unwrap_or(ir::Expr::Const(false)),
                )
            }
            ExprKind::In {
                negated,
                case_insensitive,
                op_span,
                lhs,
                rhs,
            } => {
                let l = self.operand(lhs);
                let expr = match rhs {
                    InTarget::List(items, list_span) if *case_insensitive => {
                        self.guard_check(&[&l], guarded, warned);
                        self.in_list_ignoring_case(l, items, *list_span, *op_span)
                    }
                    InTarget::Operand(list) if *case_insensitive => {
                        let r = self.operand(list);
                        self.guard_check(&[&l, &r], guarded, warned);
                        self.iin_field(&r, *op_span)
                    }
                    InTarget::List(items, list_span) => {
                        self.guard_check(&[&l], guarded, warned);
                        self.in_list(l, items, *list_span, *op_span)
                    }
                    InTarget::Operand(list) => {
                        let r = self.operand(list);
                        self.guard_check(&[&l, &r], guarded, warned);
                        self.membership(r, l, *op_span, list.span)
                    }
                };
                let expr = expr.unwrap_or(ir::Expr::Const(false));
                Cond::plain(if *negated {
                    ir::Expr::Not(Box::new(expr))
                } else {
                    expr
                })
            }
            ExprKind::ContainsList {
                all,
                op_span,
                lhs,
                items,
                list_span,
            } => {
                let l = self.operand(lhs);
                self.guard_check(&[&l], guarded, warned);
                let expr = self.contains_list(*all, l, items, *list_span, *op_span);
                Cond::plain(expr.unwrap_or(ir::Expr::Const(false)))
            }
            ExprKind::StringOp {
                op,
                case_insensitive,
                op_span,
                lhs,
                rhs,
            } => {
                let (l, r) = (self.operand(lhs), self.operand(rhs));
                self.guard_check(&[&l, &r], guarded, warned);
                let expr = if let (ast::StringOp::Contains, Opnd::Field(f)) = (op, &l) {
                    if matches!(f.ty, Ty::List(_)) {
                        if *case_insensitive {
                            self.rep
                                .report(
                                    Code::OperatorType,
                                    *op_span,
                                    "`icontains` does not apply to lists",
                                )
                                .label("list membership is exact")
                                .help("use `contains` for list membership");
                            None
                        } else {
                            self.membership(l.clone(), r, *op_span, rhs.span)
                        }
                    } else {
                        self.string_op(*op, *case_insensitive, *op_span, l, r)
                    }
                } else {
                    self.string_op(*op, *case_insensitive, *op_span, l, r)
                };
                Cond::plain(expr.unwrap_or(ir::Expr::Const(false)))
            }
        }
    }

    /// Warn, once per condition, about optional fields read without a
    /// presence test.
    fn guard_check(&mut self, operands: &[&Opnd<'_>], guarded: &[u32], warned: &mut Vec<u32>) {
        for op in operands {
            if let Opnd::Field(f) = op {
                if f.optional && !guarded.contains(&f.slot) && !warned.contains(&f.slot) {
                    warned.push(f.slot);
                    self.rep
                        .report(
                            Code::UnguardedOptional,
                            f.span,
                            format!("`{}` is optional and is read without a presence test", f.path),
                        )
                        .label("may be missing")
                        .help(format!(
                            "test it first: `{} is set and ...`; without it, a missing value makes this condition unknown",
                            f.path
                        ));
                }
            }
        }
    }

    pub(super) fn field_path(
        &mut self,
        context: &Ident,
        field: &Ident,
        span: Span,
    ) -> Opnd<'static> {
        let def = match self.context(&context.name) {
            Lookup::Found(def) => def,
            Lookup::Broken => return Opnd::Poison,
            Lookup::Missing => {
                let candidates = self.names_of(&[Kind::Context]);
                self.unknown(Code::UnknownContext, "context", context, &candidates);
                return Opnd::Poison;
            }
        };
        match def.field(&field.name) {
            Some((index, f)) => {
                let slot = self.slot(&def.name, index);
                Opnd::Field(FieldRef {
                    slot,
                    ty: f.ty.clone(),
                    optional: f.optional,
                    path: format!("{}.{}", context.name, field.name),
                    span,
                })
            }
            None => {
                let candidates: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
                let owner = format!("context `{}`", def.name);
                self.unknown_in(
                    Code::UnknownField,
                    "field",
                    Some(&owner),
                    field,
                    &candidates,
                );
                Opnd::Poison
            }
        }
    }

    pub(super) fn operand<'a>(&mut self, o: &'a ast::Operand) -> Opnd<'a> {
        match &o.kind {
            OperandKind::Path { context, field } => self.field_path(context, field, o.span),
            OperandKind::Name(id) => Opnd::Name(id),
            OperandKind::Now => Opnd::Now(0),
            OperandKind::NowOffset {
                negative,
                sign_span,
                amount,
            } => self.now_offset(*negative, *sign_span, amount),
            OperandKind::Literal(l) => Opnd::Lit(l),
            OperandKind::List(_) => {
                self.rep
                    .report(Code::OperatorType, o.span, "a list is not allowed here")
                    .label("list")
                    .help("lists go on the right of `in`: `user.country in [\"US\", \"CA\"]`");
                Opnd::Poison
            }
        }
    }

    /// `now - 30d` / `now + 1h`: the evaluation time moved by a duration.
    fn now_offset(
        &mut self,
        negative: bool,
        sign_span: Span,
        amount: &ast::Literal,
    ) -> Opnd<'static> {
        let sign = if negative { '-' } else { '+' };
        match &amount.kind {
            LiteralKind::Duration(_) => match literal::duration(amount) {
                // A duration is at least zero and fits in i64, so it negates.
                Ok(micros) => Opnd::Now(if negative { -micros } else { micros }),
                Err(e) => {
                    let d = self
                        .rep
                        .report(e.code, amount.span, e.message)
                        .label("here");
                    if let Some(h) = e.help {
                        d.help(h);
                    }
                    Opnd::Poison
                }
            },
            LiteralKind::Number(n) if !n.contains(['.', 'e', 'E', '-']) => {
                self.rep
                    .report(
                        Code::InvalidDuration,
                        amount.span,
                        format!("`{n}` has no unit: `now {sign}` takes a duration"),
                    )
                    .label("a number of what?")
                    .secondary(sign_span, "moves `now` by a duration")
                    .help(format!(
                        "give the unit: `{n}s`, `{n}m`, `{n}h`, `{n}d` or `{n}w` (seconds, minutes, hours, days, weeks)"
                    ));
                Opnd::Poison
            }
            other => {
                self.rep
                    .report(
                        Code::InvalidDuration,
                        amount.span,
                        format!("`now {sign}` takes a duration, not {}", other.describe()),
                    )
                    .label("expected a duration like `30d`")
                    .secondary(sign_span, "moves `now` by a duration")
                    .help("durations are a whole number and a unit: `30d`, `12h`, `15m`, `90s`, `2w`; to compare with a fixed time, write it alone: `user.created_at > 2026-01-01`");
                Opnd::Poison
            }
        }
    }

    fn bare_operand(&mut self, op: &ast::Operand, guarded: &[u32], warned: &mut Vec<u32>) -> Cond {
        let resolved = self.operand(op);
        match resolved {
            Opnd::Field(ref f) if f.ty == Ty::Bool => {
                self.guard_check(&[&resolved], guarded, warned);
                Cond::plain(match resolved {
                    Opnd::Field(f) => ir::Expr::Field(f.slot),
                    _ => ir::Expr::Const(false),
                })
            }
            Opnd::Field(f) => {
                self.rep
                    .report(
                        Code::NotACondition,
                        op.span,
                        format!(
                            "`{}` is {}, not a condition",
                            f.path,
                            crate::types::with_article(&f.ty.describe())
                        ),
                    )
                    .label("not a bool")
                    .help(format!(
                        "compare it with a value, for example `{} == ...`",
                        f.path
                    ));
                Cond::poison()
            }
            Opnd::Name(id) => Cond::plain(self.segment_use(id).unwrap_or(ir::Expr::Const(false))),
            Opnd::Lit(ast::Literal {
                kind: LiteralKind::Bool(b),
                ..
            }) => Cond::plain(ir::Expr::Const(*b)),
            Opnd::Lit(l) => {
                self.rep
                    .report(
                        Code::NotACondition,
                        op.span,
                        format!("{} is not a condition", l.kind.describe()),
                    )
                    .label("not a condition")
                    .help(
                        "a condition is a comparison, a bool field, a segment, `true` or `false`",
                    );
                Cond::poison()
            }
            Opnd::Now(_) => {
                self.rep
                    .report(
                        Code::NotACondition,
                        op.span,
                        "`now` is a timestamp, not a condition",
                    )
                    .label("not a condition")
                    .help("compare it: `now >= 2026-12-01`");
                Cond::poison()
            }
            Opnd::Poison => Cond::poison(),
        }
    }

    fn segment_use(&mut self, id: &Ident) -> Option<ir::Expr> {
        match self.kind_of(&id.name) {
            Some(Kind::Segment) => Some(ir::Expr::Segment(self.segment_ref(&id.name))),
            Some(k) if k.could_be(Kind::Segment) => None,
            Some(k @ (Kind::Flag | Kind::Experiment)) => {
                self.rep
                    .report(
                        Code::UnknownSegment,
                        id.span,
                        format!(
                            "`{}` is {}, not a segment",
                            id.name,
                            with_article(k.describe())
                        ),
                    )
                    .label(format!(
                        "{} cannot be used in a condition",
                        with_article(k.describe())
                    ))
                    .help(format!(
                        "to depend on it, write `requires {}` in the flag",
                        id.name
                    ));
                None
            }
            Some(k) => {
                self.rep
                    .report(
                        Code::UnknownSegment,
                        id.span,
                        format!(
                            "`{}` is {}, not a segment",
                            id.name,
                            with_article(k.describe())
                        ),
                    )
                    .label("not a segment")
                    .help(format!("to read a field, write `{}.FIELD`", id.name));
                None
            }
            None => {
                let candidates = self.names_of(&[Kind::Segment]);
                self.unknown(Code::UnknownSegment, "segment", id, &candidates);
                None
            }
        }
    }

    fn compare(
        &mut self,
        op: CompareOp,
        op_span: Span,
        l: Opnd<'_>,
        r: Opnd<'_>,
        span: Span,
    ) -> Option<ir::Expr> {
        if matches!(l, Opnd::Poison) || matches!(r, Opnd::Poison) {
            return None;
        }
        let ty = match (l.ty(), r.ty()) {
            (Some(a), Some(b)) => {
                if !a.comparable_with(&b) {
                    self.rep
                        .report(
                            Code::TypeMismatch,
                            span,
                            format!("cannot compare {} with {}", l.describe(), r.describe()),
                        )
                        .label("different types")
                        .help("both sides of a comparison must have the same type");
                    return None;
                }
                if a == Ty::Float || b == Ty::Float {
                    Ty::Float
                } else {
                    a
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => {
                self.rep
                    .report(Code::TypeMismatch, span, "this compares two constants")
                    .label("no field on either side")
                    .help("compare a context field (or `now`) with a value: `user.age >= 18`");
                return None;
            }
        };
        if matches!(ty, Ty::List(_)) {
            self.rep
                .report(
                    Code::OperatorType,
                    op_span,
                    format!("`{}` does not apply to lists", op.as_str()),
                )
                .label("list operand")
                .help("test list membership with `contains`: `user.roles contains \"admin\"`");
            return None;
        }
        if op.is_ordering() && !ty.is_ordered() {
            self.rep
                .report(
                    Code::OperatorType,
                    op_span,
                    format!("`{}` does not apply to {} values", op.as_str(), ty.describe()),
                )
                .label("no ordering")
                .help(match ty {
                    Ty::String => "strings are compared with `==`, `!=`, `starts_with`, `ends_with`, `contains` or `matches`",
                    Ty::Ip => "addresses have no order: compare them with `==` and `!=`, or test them `in` CIDR ranges: `request.ip in [\"10.0.0.0/8\"]`",
                    _ => "ordering applies to numbers, versions, timestamps and enums",
                });
            return None;
        }
        let lhs = self.lower_operand(&l, &ty, &r)?;
        let rhs = self.lower_operand(&r, &ty, &l)?;
        Some(ir::Expr::Compare {
            lhs,
            op: match op {
                CompareOp::Eq => ir::CompareOp::Eq,
                CompareOp::Ne => ir::CompareOp::Ne,
                CompareOp::Lt => ir::CompareOp::Lt,
                CompareOp::Le => ir::CompareOp::Le,
                CompareOp::Gt => ir::CompareOp::Gt,
                CompareOp::Ge => ir::CompareOp::Ge,
            },
            rhs,
        })
    }

    /// Lower one side of a comparison at type `ty`; `other` names the side it meets.
    fn lower_operand(&mut self, o: &Opnd<'_>, ty: &Ty, other: &Opnd<'_>) -> Option<ir::Operand> {
        match o {
            Opnd::Field(f) => Some(ir::Operand::Field(f.slot)),
            Opnd::Now(offset) => Some(now_operand(*offset)),
            Opnd::Lit(l) => self
                .constant(ConstSource::Lit(l), ty, other)
                .map(ir::Operand::Const),
            Opnd::Name(id) => self
                .constant(ConstSource::Name(id), ty, other)
                .map(ir::Operand::Const),
            Opnd::Poison => None,
        }
    }

    /// A literal or bare name as a constant of type `ty`.
    pub(super) fn constant(
        &mut self,
        src: ConstSource<'_>,
        ty: &Ty,
        other: &Opnd<'_>,
    ) -> Option<ir::Const> {
        let span = src.span();
        let mismatch = |this: &mut Self, found: String| {
            this.rep
                .report(
                    Code::TypeMismatch,
                    span,
                    format!("{} is compared with {found}", other.describe()),
                )
                .label(format!("expected {}", expected_words(ty)))
                .help(format!("write {}", example_of(ty)));
        };
        let lit = match src {
            ConstSource::Name(id) => {
                return match ty {
                    Ty::Enum(values) => self.enum_value(&id.name, id.span, values, other),
                    Ty::String => {
                        self.rep
                            .report(
                                Code::TypeMismatch,
                                id.span,
                                format!(
                                    "{} is compared with the name `{}`",
                                    other.describe(),
                                    id.name
                                ),
                            )
                            .label("expected a string")
                            .help(format!("strings are quoted: `\"{}\"`", id.name))
                            .fix("Quote it", id.span, format!("\"{}\"", id.name));
                        None
                    }
                    _ => {
                        mismatch(self, format!("the name `{}`", id.name));
                        None
                    }
                };
            }
            ConstSource::Lit(l) => l,
        };
        let converted: Result<ir::Const, LiteralError> = match (ty, &lit.kind) {
            (Ty::Bool, LiteralKind::Bool(b)) => Ok(ir::Const::Bool(*b)),
            (Ty::Int, LiteralKind::Number(_)) => literal::int(lit).map(ir::Const::Int),
            (Ty::Float, LiteralKind::Number(_)) => literal::float(lit).map(ir::Const::Float),
            (Ty::String, LiteralKind::String(s)) => Ok(ir::Const::String(s.clone())),
            (Ty::Semver, LiteralKind::Semver(_) | LiteralKind::String(_)) => {
                literal::semver(lit).map(ir::Const::Semver)
            }
            (
                Ty::Timestamp,
                LiteralKind::Date(_) | LiteralKind::Timestamp(_) | LiteralKind::String(_),
            ) => literal::timestamp(lit).map(ir::Const::Timestamp),
            (Ty::Enum(values), LiteralKind::String(s)) => {
                return self.enum_value(s, lit.span, values, other);
            }
            (Ty::Ip, LiteralKind::String(_)) => literal::address(lit).map(ir::Const::Ip),
            _ => {
                mismatch(self, lit.kind.describe().to_string());
                return None;
            }
        };
        match converted {
            Ok(c) => Some(c),
            Err(e) => {
                let d = self.rep.report(e.code, lit.span, e.message).label("here");
                if let Some(h) = e.help {
                    d.help(h);
                }
                None
            }
        }
    }

    fn enum_value(
        &mut self,
        name: &str,
        span: Span,
        values: &[String],
        other: &Opnd<'_>,
    ) -> Option<ir::Const> {
        if let Some(i) = values.iter().position(|v| v == name) {
            return Some(ir::Const::Enum(i as u32));
        }
        let suggestion = did_you_mean(name, values.iter().map(String::as_str));
        let d = self
            .rep
            .report(
                Code::UnknownEnumValue,
                span,
                format!("`{name}` is not a value of {}", other.describe()),
            )
            .label("unknown value");
        match suggestion {
            Some(s) => {
                d.help(format!("did you mean `{s}`?"))
                    .fix(format!("Replace with `{s}`"), span, s);
            }
            None => {
                d.help(format!("its values are {}", super::quote_list(values)));
            }
        }
        None
    }

    fn in_list(
        &mut self,
        l: Opnd<'_>,
        items: &[ast::Operand],
        list_span: Span,
        op_span: Span,
    ) -> Option<ir::Expr> {
        let ty = match &l {
            Opnd::Poison => return None,
            Opnd::Field(f) => f.ty.clone(),
            Opnd::Now(_) => Ty::Timestamp,
            other => {
                self.rep
                    .report(Code::TypeMismatch, op_span, "`in` needs a field on its left")
                    .label(format!("{} is not a field", other.describe()))
                    .help("write `user.country in [\"US\", \"CA\"]`, or `\"admin\" in user.roles` for a list field");
                return None;
            }
        };
        if let Ty::List(_) = ty {
            self.rep
                .report(
                    Code::OperatorType,
                    op_span,
                    "a list field cannot be `in` a list",
                )
                .label("list on the left")
                .help("test membership the other way: `user.roles contains \"admin\"`");
            return None;
        }
        if items.is_empty() {
            self.rep
                .report(Code::EmptyList, list_span, "empty list")
                .label("nothing can be in this list")
                .help("`x in []` is always false; remove the condition or add values");
        }
        if ty == Ty::Ip {
            let operand = match l {
                Opnd::Field(f) => ir::Operand::Field(f.slot),
                _ => return None,
            };
            let set = self.ranges(items)?;
            return Some(ir::Expr::InSet { operand, set });
        }
        let set = self.literal_set(items, &ty, &l)?;
        let operand = match l {
            Opnd::Field(f) => ir::Operand::Field(f.slot),
            Opnd::Now(offset) => now_operand(offset),
            _ => return None,
        };
        Some(ir::Expr::InSet { operand, set })
    }

    /// The items of a literal list as a set of constants of type `ty`
    /// (`other` is the side they meet, for messages); `None` when one is
    /// not such a constant (reported).
    fn literal_set(
        &mut self,
        items: &[ast::Operand],
        ty: &Ty,
        other: &Opnd<'_>,
    ) -> Option<ir::ConstSet> {
        let mut consts = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let src = match &item.kind {
                OperandKind::Literal(lit) => ConstSource::Lit(lit),
                OperandKind::Name(id) => ConstSource::Name(id),
                _ => {
                    ok = false;
                    continue;
                }
            };
            match self.constant(src, ty, other) {
                Some(c) => consts.push(c),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        const_set(ty, consts)
    }

    /// `list_field contains any [..]` / `contains all [..]`.
    fn contains_list(
        &mut self,
        all: bool,
        l: Opnd<'_>,
        items: &[ast::Operand],
        list_span: Span,
        op_span: Span,
    ) -> Option<ir::Expr> {
        let name = if all { "contains all" } else { "contains any" };
        let (slot, elem) = match &l {
            Opnd::Poison => return None,
            Opnd::Field(FieldRef {
                slot,
                ty: Ty::List(elem),
                ..
            }) => (*slot, (**elem).clone()),
            other => {
                let help = match other.ty() {
                    Some(Ty::String) => format!(
                        "for text, join substring tests: `{} contains \"a\" or ... contains \"b\"`",
                        match other {
                            Opnd::Field(f) => f.path.as_str(),
                            _ => "x",
                        }
                    ),
                    _ => "for a single value, test membership with `in`: `user.country in [\"US\", \"CA\"]`".to_string(),
                };
                self.rep
                    .report(
                        Code::OperatorType,
                        op_span,
                        format!(
                            "`{name}` applies to list fields, not to {}",
                            other.describe()
                        ),
                    )
                    .label("needs a list field on its left")
                    .help(help);
                return None;
            }
        };
        if items.is_empty() {
            let (always, advice) = if all {
                ("true", "every list contains all of no values")
            } else {
                ("false", "no list contains any of no values")
            };
            self.rep
                .report(Code::EmptyList, list_span, "empty list")
                .label(advice)
                .help(format!(
                    "`{name} []` is always {always}; remove the condition or add values"
                ));
        }
        let set = self.literal_set(items, &elem, &l)?;
        Some(if all {
            ir::Expr::ListContainsAll { list: slot, set }
        } else {
            ir::Expr::ListContainsAny { list: slot, set }
        })
    }

    /// `value in list_field` / `list_field contains value`.
    fn membership(
        &mut self,
        list: Opnd<'_>,
        value: Opnd<'_>,
        op_span: Span,
        list_span: Span,
    ) -> Option<ir::Expr> {
        if matches!(list, Opnd::Poison) || matches!(value, Opnd::Poison) {
            return None;
        }
        let (slot, elem) = match &list {
            Opnd::Field(FieldRef {
                slot,
                ty: Ty::List(elem),
                ..
            }) => (*slot, (**elem).clone()),
            other => {
                self.rep
                    .report(
                        Code::OperatorType,
                        list_span,
                        format!("{} is not a list", other.describe()),
                    )
                    .label("expected a list field or a list like `[\"a\", \"b\"]`")
                    .secondary(op_span, "membership test");
                return None;
            }
        };
        let value = match &value {
            Opnd::Field(f) => {
                if f.ty != elem {
                    self.rep
                        .report(
                            Code::TypeMismatch,
                            f.span,
                            format!(
                                "{} cannot be in a list of {}",
                                value.describe(),
                                elem.describe()
                            ),
                        )
                        .label("different type");
                    return None;
                }
                ir::Operand::Field(f.slot)
            }
            Opnd::Now(offset) if elem == Ty::Timestamp => now_operand(*offset),
            Opnd::Lit(l) => ir::Operand::Const(self.constant(ConstSource::Lit(l), &elem, &list)?),
            Opnd::Name(id) => {
                ir::Operand::Const(self.constant(ConstSource::Name(id), &elem, &list)?)
            }
            _ => {
                self.rep
                    .report(
                        Code::TypeMismatch,
                        op_span,
                        "this value cannot be in the list",
                    )
                    .label("different type");
                return None;
            }
        };
        Some(ir::Expr::ListContains { list: slot, value })
    }

    fn string_op(
        &mut self,
        op: ast::StringOp,
        case_insensitive: bool,
        op_span: Span,
        l: Opnd<'_>,
        r: Opnd<'_>,
    ) -> Option<ir::Expr> {
        if matches!(l, Opnd::Poison) || matches!(r, Opnd::Poison) {
            return None;
        }
        let name = op.as_str(case_insensitive);
        let side = |this: &mut Self, o: &Opnd<'_>| -> Option<ir::Operand> {
            match o {
                Opnd::Field(f) if f.ty == Ty::String => Some(ir::Operand::Field(f.slot)),
                Opnd::Lit(ast::Literal {
                    kind: LiteralKind::String(s),
                    ..
                }) => Some(ir::Operand::Const(ir::Const::String(s.clone()))),
                other => {
                    let span = match other {
                        Opnd::Field(f) => f.span,
                        Opnd::Lit(l) => l.span,
                        Opnd::Name(id) => id.span,
                        _ => op_span,
                    };
                    this.rep
                        .report(
                            Code::OperatorType,
                            span,
                            format!("`{name}` applies to strings, not to {}", other.describe()),
                        )
                        .label("not a string")
                        .secondary(op_span, "string operator");
                    None
                }
            }
        };
        let lhs = side(self, &l)?;
        let rhs = side(self, &r)?;
        if matches!(lhs, ir::Operand::Const(_)) && matches!(rhs, ir::Operand::Const(_)) {
            self.rep
                .report(
                    Code::TypeMismatch,
                    op_span,
                    format!("`{name}` between two constants"),
                )
                .label("no field on either side")
                .help("apply it to a context field: `user.email ends_with \"@example.com\"`");
            return None;
        }
        let ir_op = match op {
            ast::StringOp::Equals => ir::StringOp::Equals,
            ast::StringOp::StartsWith => ir::StringOp::StartsWith,
            ast::StringOp::EndsWith => ir::StringOp::EndsWith,
            ast::StringOp::Contains => ir::StringOp::Contains,
            ast::StringOp::Matches => ir::StringOp::Matches,
        };
        if ir_op == ir::StringOp::Matches {
            match (&rhs, &r) {
                (ir::Operand::Const(ir::Const::String(pattern)), Opnd::Lit(lit)) => {
                    // Built as validation and the runtime build it.
                    if let Err(e) = ir::compile_pattern(pattern, case_insensitive) {
                        self.rep
                            .report(Code::InvalidRegex, lit.span, "invalid regular expression")
                            .label(ir::pattern_error_summary(&e))
                            .help("patterns use Rust's `regex` syntax; escape special characters with `\\\\`");
                        return None;
                    }
                }
                _ => {
                    self.rep
                        .report(Code::OperatorType, op_span, format!("`{name}` needs a literal pattern"))
                        .label("the pattern must be a string literal")
                        .help("patterns are compiled once when flags load: `user.email matches \"^qa\\\\+\"`");
                    return None;
                }
            }
        }
        Some(ir::Expr::StringOp {
            lhs,
            op: ir_op,
            case_insensitive,
            rhs,
        })
    }
}

/// Where a constant comes from: a literal, or a bare name (an enum value).
#[derive(Clone, Copy)]
pub(super) enum ConstSource<'a> {
    Lit(&'a ast::Literal),
    Name(&'a Ident),
}

impl ConstSource<'_> {
    fn span(&self) -> Span {
        match self {
            ConstSource::Lit(l) => l.span,
            ConstSource::Name(id) => id.span,
        }
    }
}

fn expected_words(ty: &Ty) -> String {
    match ty {
        Ty::Enum(_) => "one of its values".to_string(),
        other => with_article(&other.describe()),
    }
}

fn example_of(ty: &Ty) -> String {
    match ty {
        Ty::Bool => "`true` or `false`".into(),
        Ty::Int => "an integer like `18`".into(),
        Ty::Float => "a number like `9.99`".into(),
        Ty::String => "a quoted string like `\"US\"`".into(),
        Ty::Semver => "a version like `2.3.0`".into(),
        Ty::Timestamp => {
            "a date like `2026-12-01` or a timestamp like `2026-12-01T09:00:00Z`".into()
        }
        Ty::Ip => "an address as a string like `\"10.1.2.3\"`".into(),
        Ty::Enum(values) => format!("one of {}", super::quote_list(values)),
        Ty::List(elem) => format!("a list of {}", elem.describe()),
    }
}

fn const_set(ty: &Ty, consts: Vec<ir::Const>) -> Option<ir::ConstSet> {
    macro_rules! collect {
        ($variant:ident) => {
            ir::ConstSet::$variant(
                consts
                    .into_iter()
                    .filter_map(|c| match c {
                        ir::Const::$variant(v) => Some(v),
                        _ => None,
                    })
                    .collect(),
            )
        };
    }
    Some(match ty {
        Ty::Bool => collect!(Bool),
        Ty::Int => {
            // A decimal in an int list would have promoted the comparison to
            // float; an `in` set keeps the field's own type.
            if consts.iter().any(|c| matches!(c, ir::Const::Float(_))) {
                return None;
            }
            collect!(Int)
        }
        Ty::Float => ir::ConstSet::Float(
            consts
                .into_iter()
                .filter_map(|c| match c {
                    ir::Const::Float(v) => Some(v),
                    ir::Const::Int(v) => Some(v as f64),
                    _ => None,
                })
                .collect(),
        ),
        Ty::String => collect!(String),
        Ty::Semver => collect!(Semver),
        Ty::Timestamp => collect!(Timestamp),
        Ty::Enum(_) => collect!(Enum),
        // Ranges are read by `in_list` itself.
        Ty::Ip | Ty::List(_) => return None,
    })
}

/// The evaluation time moved by `offset` microseconds.
fn now_operand(offset: i64) -> ir::Operand {
    if offset == 0 {
        ir::Operand::Now
    } else {
        ir::Operand::NowOffset(offset)
    }
}

/// `and`/`or` chains become one n-ary node.
fn flatten(is_and: bool, a: ir::Expr, b: ir::Expr) -> ir::Expr {
    let mut parts = Vec::new();
    for e in [a, b] {
        match (is_and, e) {
            (true, ir::Expr::And(xs)) | (false, ir::Expr::Or(xs)) => parts.extend(xs),
            (_, e) => parts.push(e),
        }
    }
    if is_and {
        ir::Expr::And(parts)
    } else {
        ir::Expr::Or(parts)
    }
}

fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = a.to_vec();
    out.extend(b.iter().filter(|x| !a.contains(x)));
    out
}

fn intersection(a: &[u32], b: &[u32]) -> Vec<u32> {
    a.iter().copied().filter(|x| b.contains(x)).collect()
}
