//! `ip in [..]`: an address tested against CIDR ranges, written as
//! strings (`"10.0.0.0/8"`, `"2001:db8::/32"`, or one address, a range of
//! one), each checked when compiled.

use vexil_grammar::{self as ast, OperandKind};
use vexil_ir as ir;

use super::FileChecker;
use crate::literal;
use crate::Code;

impl FileChecker<'_> {
    /// The ranges of `request.ip in [..]`; `None` when one is not a
    /// range (each reported).
    pub(super) fn ranges(&mut self, items: &[ast::Operand]) -> Option<ir::ConstSet> {
        let mut ranges = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let result = match &item.kind {
                OperandKind::Literal(lit) => literal::range(lit),
                _ => {
                    self.rep
                        .report(
                            Code::TypeMismatch,
                            item.span,
                            "an address is tested against ranges written as strings",
                        )
                        .label("not a string")
                        .help("quote it: `\"10.0.0.0/8\"`, `\"2001:db8::/32\"`, or one address");
                    ok = false;
                    continue;
                }
            };
            match result {
                Ok(range) => ranges.push(range),
                Err(e) => {
                    let d = self.rep.report(e.code, item.span, e.message).label(
                        if e.code == Code::InvalidAddress {
                            "not a range"
                        } else {
                            "not a string"
                        },
                    );
                    if let Some(h) = e.help {
                        d.help(h);
                    }
                    ok = false;
                }
            }
        }
        ok.then_some(ir::ConstSet::Cidr(ranges))
    }
}
