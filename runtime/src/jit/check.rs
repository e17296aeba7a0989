//! The program errors the interpreter reports while preparing a bundle,
//! found without generating code. Compiled code only visits conditions that
//! are used, but a bundle must be refused for a bad condition anywhere (an
//! unused segment included), exactly when the interpreter refuses it.

use vexil_ir::{Const, Expr, Operand, StringOp};

use super::cond::{src, Kind};
use super::lower::{CompileError, Compiler, Result};
use crate::context::PackedSemver;

fn program(message: &str) -> CompileError {
    CompileError::Program(message.to_string())
}

impl Compiler<'_> {
    pub(crate) fn check(&mut self, e: &Expr) -> Result<()> {
        match e {
            Expr::Const(_) | Expr::Field(_) | Expr::IsSet(_) | Expr::Segment(_) => Ok(()),
            Expr::Not(x) => self.check(x),
            Expr::And(xs) | Expr::Or(xs) => xs.iter().try_for_each(|x| self.check(x)),
            Expr::Compare { lhs, rhs, .. } => match (src(lhs), src(rhs), lhs, rhs) {
                (Some(a), Some(b), _, _) => {
                    let (ka, kb) = (self.kind_of_src(a), self.kind_of_src(b));
                    if ka != Kind::Float
                        && kb != Kind::Float
                        && matches!(ka, Kind::List | Kind::Unknown)
                    {
                        return Err(program("comparison of unsupported types"));
                    }
                    Ok(())
                }
                (Some(_), None, _, Operand::Const(k)) | (None, Some(_), Operand::Const(k), _) => {
                    match k {
                        Const::Semver(v) if PackedSemver::new(&v.0).is_none() => {
                            Err(program("version component out of range"))
                        }
                        _ => Ok(()),
                    }
                }
                _ => Err(program("comparison of two constants")),
            },
            Expr::InSet { operand, .. } => match src(operand) {
                Some(_) => Ok(()),
                None => Err(program("`in` on a constant")),
            },
            Expr::ListContains { value, .. } => match value {
                Operand::Field(s) => match self.kind_of_src(super::cond::Src::Field(*s)) {
                    Kind::List | Kind::Unknown => Err(program("list of unsupported type")),
                    _ => Ok(()),
                },
                Operand::Const(Const::Semver(v)) if PackedSemver::new(&v.0).is_none() => {
                    Err(program("version out of range"))
                }
                _ => Ok(()),
            },
            Expr::StringOp {
                lhs,
                op,
                case_insensitive,
                rhs,
            } => {
                if *op == StringOp::Matches {
                    let (Some(_), Operand::Const(Const::String(pattern))) = (src(lhs), rhs) else {
                        return Err(program("`matches` needs a field and a constant pattern"));
                    };
                    self.regex(pattern, *case_insensitive)?;
                    return Ok(());
                }
                for side in [lhs, rhs] {
                    if !matches!(side, Operand::Field(_) | Operand::Const(Const::String(_))) {
                        return Err(program("string operator on a non-string"));
                    }
                }
                Ok(())
            }
        }
    }
}
