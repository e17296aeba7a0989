//! Conditions as control flow. A condition compiles to jumps to one of
//! three blocks, true, false and unknown, and to the function's error exit
//! when it reads a field of the wrong type, so no three-valued result is
//! ever materialised. `and`/`or` go left to right and stop as soon as the
//! result is known; an unknown operand is remembered in a variable and
//! evaluation goes on, since a later operand can still be false (or an
//! error).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use vexil_ir::{CompareOp, Const, Expr, Operand, OperandType};

use super::abi::{self, SLOT_A, SLOT_AUX, SLOT_B, SLOT_TAG};
use super::lower::{CompileError, FnGen, Result};
use super::module::Helper;
use crate::context::{PackedSemver, INVALID, MISSING};

/// An operand that is not a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    Field(u32),
    /// The evaluation time, moved by this many microseconds (saturating).
    Now(i64),
}

pub(crate) fn src(o: &Operand) -> Option<Src> {
    match o {
        Operand::Field(s) => Some(Src::Field(*s)),
        Operand::Now => Some(Src::Now(0)),
        Operand::NowOffset(offset) => Some(Src::Now(*offset)),
        Operand::Const(_) => None,
    }
}

pub(crate) fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

pub(crate) fn int_cc(op: CompareOp, signed: bool) -> IntCC {
    match (op, signed) {
        (CompareOp::Eq, _) => IntCC::Equal,
        (CompareOp::Ne, _) => IntCC::NotEqual,
        (CompareOp::Lt, true) => IntCC::SignedLessThan,
        (CompareOp::Le, true) => IntCC::SignedLessThanOrEqual,
        (CompareOp::Gt, true) => IntCC::SignedGreaterThan,
        (CompareOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
        (CompareOp::Lt, false) => IntCC::UnsignedLessThan,
        (CompareOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
        (CompareOp::Gt, false) => IntCC::UnsignedGreaterThan,
        (CompareOp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
    }
}

/// The interpreter orders floats with `partial_cmp`, taking an unordered
/// pair (NaN) as equal: so `==` is "not less and not greater".
pub(crate) fn float_cc(op: CompareOp) -> FloatCC {
    match op {
        CompareOp::Eq => FloatCC::UnorderedOrEqual,
        CompareOp::Ne => FloatCC::OrderedNotEqual,
        CompareOp::Lt => FloatCC::LessThan,
        CompareOp::Le => FloatCC::UnorderedOrLessThanOrEqual,
        CompareOp::Gt => FloatCC::GreaterThan,
        CompareOp::Ge => FloatCC::UnorderedOrGreaterThanOrEqual,
    }
}

/// Whether a condition can be unknown (reads a field that may be missing).
pub(crate) fn may_be_unknown(e: &Expr, segments: &[bool]) -> bool {
    match e {
        Expr::Const(_) | Expr::IsSet(_) => false,
        Expr::Not(x) => may_be_unknown(x, segments),
        Expr::And(xs) | Expr::Or(xs) => xs.iter().any(|x| may_be_unknown(x, segments)),
        Expr::Segment(i) => segments.get(*i as usize).copied().unwrap_or(true),
        _ => true,
    }
}

impl FnGen<'_, '_, '_> {
    /// The operand type of a source (see `Compiler::operand_type`).
    pub fn kind(&self, s: Src) -> Option<OperandType> {
        self.c.operand_type(s)
    }

    /// A shape validation excludes, reached only if validation let it
    /// through: unknown, as the interpreter makes it (`interp/prepare.rs`),
    /// after a `debug_assert!` naming the rule (so that tests, built with
    /// debug assertions, catch such a gap).
    pub fn excluded(&mut self, rule: &str, u: Block) -> Result<()> {
        debug_assert!(false, "validation lets through {rule}");
        self.jump(u);
        Ok(())
    }

    /// Check a source is present (see [`FnGen::present`]); `now` always is.
    pub fn read(&mut self, s: Src, unknown: Block) {
        if let Src::Field(slot) = s {
            self.present(slot, unknown);
        }
    }

    /// The `a` word of a present source.
    pub fn word(&mut self, s: Src) -> Value {
        match s {
            Src::Field(slot) => self.slot_load(slot, SLOT_A, types::I64),
            Src::Now(0) => self.now,
            Src::Now(offset) => self.now_moved(offset),
        }
    }

    /// `now + offset`, saturating at the ends of i64 as the interpreter's
    /// `saturating_add`: the sum wrapped exactly when it moved the wrong
    /// way, and then it is the end it went past.
    pub fn now_moved(&mut self, offset: i64) -> Value {
        let k = self.iconst(offset);
        let sum = self.b.ins().iadd(self.now, k);
        let (wrapped_cc, end) = if offset > 0 {
            (IntCC::SignedLessThan, i64::MAX)
        } else {
            (IntCC::SignedGreaterThan, i64::MIN)
        };
        let wrapped = self.b.ins().icmp(wrapped_cc, sum, self.now);
        let end = self.iconst(end);
        self.b.ins().select(wrapped, end, sum)
    }

    /// Compile `e`, ending the current block with jumps to `t`, `f` or `u`.
    pub fn cond(&mut self, e: &Expr, t: Block, f: Block, u: Block) -> Result<()> {
        if !matches!(e, Expr::Const(_)) && self.try_fast(e, t, f, u)? {
            return Ok(());
        }
        if let Some(reads) = self.pure_reads(e) {
            for s in reads {
                self.read(s, u);
            }
            let v = self.pure_value(e, None)?;
            self.branch(v, t, f);
            return Ok(());
        }
        match e {
            Expr::Const(b) => {
                self.jump(if *b { t } else { f });
                Ok(())
            }
            Expr::Not(x) => self.cond(x, f, t, u),
            Expr::And(xs) => self.and(xs, t, f, u),
            Expr::Or(xs) => self.or(xs, t, f, u),
            Expr::Field(slot) => {
                self.present(*slot, u);
                let a = self.slot_load(*slot, SLOT_A, types::I64);
                self.branch(a, t, f);
                Ok(())
            }
            Expr::IsSet(slot) => {
                self.is_set(*slot, t, f);
                Ok(())
            }
            Expr::Segment(i) => self.segment(*i, t, f, u),
            Expr::Compare { lhs, op, rhs } => self.compare(lhs, *op, rhs, t, f, u),
            Expr::InSet { operand, set } => self.in_set(operand, set, t, f, u),
            Expr::ListContains { list, value } => self.list_contains(*list, value, t, f, u),
            Expr::ListContainsAny { list, set } => self.list_set(*list, set, false, t, f, u),
            Expr::ListContainsAll { list, set } => self.list_set(*list, set, true, t, f, u),
            Expr::StringOp {
                lhs,
                op,
                case_insensitive,
                rhs,
            } => self.string_op(lhs, *op, *case_insensitive, rhs, t, f, u),
        }
    }

    fn and(&mut self, xs: &[Expr], t: Block, f: Block, u: Block) -> Result<()> {
        let segs = self.c.segment_may_be_unknown.clone();
        // With `u == t` an unknown operand needs no memory: the end is t.
        let track = u != t && xs.iter().any(|x| may_be_unknown(x, &segs));
        let unknown = track.then(|| {
            let var = self.b.declare_var(types::I8);
            let zero = self.b.ins().iconst(types::I8, 0);
            self.b.def_var(var, zero);
            var
        });
        let end = if track { self.fresh() } else { t };
        for (i, x) in xs.iter().enumerate() {
            let next = if i + 1 == xs.len() { end } else { self.fresh() };
            match unknown {
                Some(var) if may_be_unknown(x, &segs) => {
                    let mark = self.cold();
                    self.cond(x, next, f, mark)?;
                    self.switch(mark);
                    let one = self.b.ins().iconst(types::I8, 1);
                    self.b.def_var(var, one);
                    self.jump(next);
                }
                _ => self.cond(x, next, f, next)?,
            }
            if next != end {
                self.switch(next);
            }
        }
        if xs.is_empty() {
            self.jump(t);
        }
        if let Some(var) = unknown {
            self.switch(end);
            let v = self.b.use_var(var);
            self.branch(v, u, t);
        }
        Ok(())
    }

    fn or(&mut self, xs: &[Expr], t: Block, f: Block, u: Block) -> Result<()> {
        let segs = self.c.segment_may_be_unknown.clone();
        let track = u != f && xs.iter().any(|x| may_be_unknown(x, &segs));
        let unknown = track.then(|| {
            let var = self.b.declare_var(types::I8);
            let zero = self.b.ins().iconst(types::I8, 0);
            self.b.def_var(var, zero);
            var
        });
        let end = if track { self.fresh() } else { f };
        for (i, x) in xs.iter().enumerate() {
            let next = if i + 1 == xs.len() { end } else { self.fresh() };
            match unknown {
                Some(var) if may_be_unknown(x, &segs) => {
                    let mark = self.cold();
                    self.cond(x, t, next, mark)?;
                    self.switch(mark);
                    let one = self.b.ins().iconst(types::I8, 1);
                    self.b.def_var(var, one);
                    self.jump(next);
                }
                _ => self.cond(x, t, next, next)?,
            }
            if next != end {
                self.switch(next);
            }
        }
        if xs.is_empty() {
            self.jump(f);
        }
        if let Some(var) = unknown {
            self.switch(end);
            let v = self.b.use_var(var);
            self.branch(v, u, f);
        }
        Ok(())
    }

    /// `is set`: false when missing, an error when invalid, else true.
    fn is_set(&mut self, slot: u32, t: Block, f: Block) {
        let tag = self.slot_load(slot, SLOT_TAG, types::I32);
        let is_missing = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(MISSING));
        let not_missing = self.fresh();
        self.b.ins().brif(is_missing, f, &[], not_missing, &[]);
        self.switch(not_missing);
        let is_invalid = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, tag, i64::from(INVALID));
        let err = self.error_exit();
        let s = self.iconst(i64::from(slot));
        self.b.ins().brif(is_invalid, err, &[s.into()], t, &[]);
    }

    fn segment(&mut self, i: u32, t: Block, f: Block, u: Block) -> Result<()> {
        let bundle = self.c.bundle;
        let Some(seg) = bundle.segments.get(i as usize) else {
            // As the interpreter: an absent segment is unknown.
            self.jump(u);
            return Ok(());
        };
        let Some(Some(id)) = self.c.segment_fns.get(i as usize).copied() else {
            return self.cond(&seg.condition, t, f, u);
        };
        let args = self.pass_on();
        let r = self.call_fn(id, &args)?;
        let low = self.b.ins().band_imm_u(r, 0xff);
        let is_true = self.b.ins().icmp_imm_u(IntCC::Equal, low, abi::TRI_TRUE);
        let not_true = self.fresh();
        self.b.ins().brif(is_true, t, &[], not_true, &[]);
        self.switch(not_true);
        let is_false = self.b.ins().icmp_imm_u(IntCC::Equal, low, abi::TRI_FALSE);
        let not_false = self.cold();
        self.b.ins().brif(is_false, f, &[], not_false, &[]);
        self.switch(not_false);
        let is_unknown = self.b.ins().icmp_imm_u(IntCC::Equal, low, abi::TRI_UNKNOWN);
        let error = self.cold();
        self.b.ins().brif(is_unknown, u, &[], error, &[]);
        self.switch(error);
        let slot = self.b.ins().ushr_imm_u(r, 32);
        let err = self.error_exit();
        self.b.ins().jump(err, &[slot.into()]);
        Ok(())
    }

    // ------------------------------------------------------------ comparisons

    /// The comparisons that are not pure leaves: strings ordered or too
    /// long to compare inline, versions whose pre-releases may decide, and
    /// (only if validation let one through) shapes it excludes.
    fn compare(
        &mut self,
        lhs: &Operand,
        op: CompareOp,
        rhs: &Operand,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        match (src(lhs), src(rhs), lhs, rhs) {
            (Some(a), Some(b), _, _) => self.compare_sources(a, op, b, t, f, u),
            (Some(a), None, _, Operand::Const(k)) => self.compare_const(a, op, k, t, f, u),
            (None, Some(b), Operand::Const(k), _) => self.compare_const(b, flip(op), k, t, f, u),
            _ => self.excluded("a comparison of two constants", u),
        }
    }

    /// Two string or version fields.
    fn compare_sources(
        &mut self,
        a: Src,
        op: CompareOp,
        b: Src,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        // Validation makes both sides one type; a pure leaf takes the others
        // (and `now`, a timestamp).
        let ty = self.kind(a);
        let (
            Src::Field(sa),
            Src::Field(sb),
            Some(OperandType::String | OperandType::Semver | OperandType::Ip),
        ) = (a, b, ty)
        else {
            return self.excluded("a comparison of operands of different types", u);
        };
        self.present(sa, u);
        self.present(sb, u);
        let wa = self.slot_load(sa, SLOT_A, types::I64);
        let wb = self.slot_load(sb, SLOT_A, types::I64);
        let na = self.slot_load(sa, SLOT_B, types::I64);
        let nb = self.slot_load(sb, SLOT_B, types::I64);
        if ty == Some(OperandType::String) {
            let text = self.text();
            let pa = self.b.ins().iadd(text, wa);
            let pb = self.b.ins().iadd(text, wb);
            if matches!(op, CompareOp::Eq | CompareOp::Ne) {
                // Strings of different lengths are unequal.
                let same = self.b.ins().icmp(IntCC::Equal, na, nb);
                let compare = self.fresh();
                let differ = if op == CompareOp::Eq { f } else { t };
                self.b.ins().brif(same, compare, &[], differ, &[]);
                self.switch(compare);
            }
            let ord = self.call(Helper::StrCmp, &[pa, na, pb, nb])?;
            let r = self.b.ins().icmp_imm_s(int_cc(op, true), ord, 0);
            self.branch(r, t, f);
            return Ok(());
        }
        if ty == Some(OperandType::Ip) {
            // Two addresses: both words, `==` and `!=` only.
            let r = self.lex(wa, na, wb, nb, op);
            self.branch(r, t, f);
            return Ok(());
        }
        // Equal words of two pre-releases: their identifiers decide.
        let eq_hi = self.b.ins().icmp(IntCC::Equal, wa, wb);
        let eq_lo = self.b.ins().icmp(IntCC::Equal, na, nb);
        let eq = self.b.ins().band(eq_hi, eq_lo);
        let release = self.b.ins().band_imm_u(na, 1);
        let pre = self.b.ins().icmp_imm_u(IntCC::Equal, release, 0);
        let tie = self.b.ins().band(eq, pre);
        let tie_block = self.cold();
        let words = self.fresh();
        self.b.ins().brif(tie, tie_block, &[], words, &[]);
        self.switch(words);
        let r = self.lex(wa, na, wb, nb, op);
        self.branch(r, t, f);
        self.switch(tie_block);
        let ctx = self.ctx();
        let aux_a = self.slot_load(sa, SLOT_AUX, types::I32);
        let aux_b = self.slot_load(sb, SLOT_AUX, types::I32);
        let ord = self.call(Helper::PrereleaseCmp, &[ctx, aux_a, aux_b])?;
        let r = self.b.ins().icmp_imm_s(int_cc(op, true), ord, 0);
        self.branch(r, t, f);
        Ok(())
    }

    /// A string field ordered against (or too long to compare inline with)
    /// a constant, or a version field against a pre-release constant.
    fn compare_const(
        &mut self,
        s: Src,
        op: CompareOp,
        k: &Const,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        match k {
            Const::String(k) => {
                let Src::Field(slot) = s else {
                    return self.excluded("a string compared with `now`", u);
                };
                self.present(slot, u);
                let (p, n) = self.str_of(slot);
                if matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    let same = self.b.ins().icmp_imm_u(IntCC::Equal, n, k.len() as i64);
                    let compare = self.fresh();
                    let differ = if op == CompareOp::Eq { f } else { t };
                    self.b.ins().brif(same, compare, &[], differ, &[]);
                    self.switch(compare);
                }
                let kp = self.c.tables.bytes(k.as_bytes());
                let kp = self.iconst(kp);
                let kn = self.iconst(k.len() as i64);
                let ord = self.call(Helper::StrCmp, &[p, n, kp, kn])?;
                let r = self.b.ins().icmp_imm_s(int_cc(op, true), ord, 0);
                self.branch(r, t, f);
            }
            Const::Semver(v) => {
                let Some(k) = PackedSemver::new(&v.0) else {
                    return self.excluded("a version out of range", u);
                };
                let Src::Field(slot) = s else {
                    return self.excluded("a version compared with `now`", u);
                };
                let Some(pre) = k.pre else {
                    return Err(CompileError(
                        "a pure version comparison reached the general path".to_string(),
                    ));
                };
                self.present(slot, u);
                let hi = self.slot_load(slot, SLOT_A, types::I64);
                let lo = self.slot_load(slot, SLOT_B, types::I64);
                let k_hi = self.iconst(k.hi as i64);
                let k_lo = self.iconst(k.lo as i64);
                // Equal words with a pre-release constant: identifiers decide.
                let eq_hi = self.b.ins().icmp(IntCC::Equal, hi, k_hi);
                let eq_lo = self.b.ins().icmp(IntCC::Equal, lo, k_lo);
                let eq = self.b.ins().band(eq_hi, eq_lo);
                let tie = self.cold();
                let words = self.fresh();
                self.b.ins().brif(eq, tie, &[], words, &[]);
                self.switch(words);
                let r = self.lex(hi, lo, k_hi, k_lo, op);
                self.branch(r, t, f);
                self.switch(tie);
                let ctx = self.ctx();
                let aux = self.slot_load(slot, SLOT_AUX, types::I32);
                let kp = self.c.tables.prerelease(pre);
                let kp = self.iconst(kp);
                let ord = self.call(Helper::PrereleaseCmpConst, &[ctx, aux, kp])?;
                let r = self.b.ins().icmp_imm_s(int_cc(op, true), ord, 0);
                self.branch(r, t, f);
            }
            // Every other constant makes a pure leaf.
            _ => {
                return Err(CompileError(
                    "a pure comparison reached the general path".to_string(),
                ))
            }
        }
        Ok(())
    }

    /// Pointer and length of a present string slot.
    pub fn str_of(&mut self, slot: u32) -> (Value, Value) {
        let text = self.text();
        let a = self.slot_load(slot, SLOT_A, types::I64);
        let n = self.slot_load(slot, SLOT_B, types::I64);
        (self.b.ins().iadd(text, a), n)
    }
}
