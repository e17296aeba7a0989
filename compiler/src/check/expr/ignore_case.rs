//! `iin`: membership in a literal list of strings, ignoring case. It is
//! lowered to `iequals` against each item (an `or`), so both backends share
//! the one case-insensitive equality; an empty list lowers to `in []`,
//! which is false, or unknown when the field is missing, like `in []`.

use vexil_grammar::{self as ast, LiteralKind, OperandKind, Span};
use vexil_ir as ir;

use super::{FileChecker, Opnd};
use crate::types::Ty;
use crate::Code;

impl FileChecker<'_> {
    /// `user.country iin ["us", "ca"]`.
    pub(super) fn in_list_ignoring_case(
        &mut self,
        l: Opnd<'_>,
        items: &[ast::Operand],
        list_span: Span,
        op_span: Span,
    ) -> Option<ir::Expr> {
        let slot = match &l {
            Opnd::Poison => return None,
            Opnd::Field(f) if f.ty == Ty::String => f.slot,
            other => {
                self.rep
                    .report(
                        Code::OperatorType,
                        op_span,
                        format!("`iin` applies to strings, not to {}", other.describe()),
                    )
                    .label("not a string field on the left")
                    .help(
                        "`iin` compares strings ignoring case; use `in` for values of other types",
                    );
                return None;
            }
        };
        if items.is_empty() {
            self.rep
                .report(Code::EmptyList, list_span, "empty list")
                .label("nothing can be in this list")
                .help("`x iin []` is always false; remove the condition or add values");
            return Some(ir::Expr::InSet {
                operand: ir::Operand::Field(slot),
                set: ir::ConstSet::String(Vec::new()),
            });
        }
        let mut alternatives = Vec::with_capacity(items.len());
        for item in items {
            match &item.kind {
                OperandKind::Literal(ast::Literal {
                    kind: LiteralKind::String(s),
                    ..
                }) => alternatives.push(ir::Expr::StringOp {
                    lhs: ir::Operand::Field(slot),
                    op: ir::StringOp::Equals,
                    case_insensitive: true,
                    rhs: ir::Operand::Const(ir::Const::String(s.clone())),
                }),
                other => {
                    let what = match other {
                        OperandKind::Literal(lit) => lit.kind.describe().to_string(),
                        OperandKind::Name(id) => format!("the name `{}`", id.name),
                        _ => "this".to_string(),
                    };
                    self.rep
                        .report(
                            Code::TypeMismatch,
                            item.span,
                            format!("`iin` lists strings, not {what}"),
                        )
                        .label("not a string")
                        .help("quote it: `user.country iin [\"us\", \"ca\"]`");
                }
            }
        }
        if alternatives.len() != items.len() {
            return None;
        }
        Some(match <[ir::Expr; 1]>::try_from(alternatives) {
            Ok([one]) => one,
            Err(all) => ir::Expr::Or(all),
        })
    }

    /// `"admin" iin user.roles`: refused, membership in a list field is
    /// exact.
    pub(super) fn iin_field(&mut self, list: &Opnd<'_>, op_span: Span) -> Option<ir::Expr> {
        if matches!(list, Opnd::Poison) {
            return None;
        }
        self.rep
            .report(
                Code::OperatorType,
                op_span,
                "`iin` needs a literal list of strings",
            )
            .label(format!("{} is not a list written out", list.describe()))
            .help("write the strings: `user.country iin [\"us\", \"ca\"]`; membership in a list field is exact (`in`)");
        None
    }
}
