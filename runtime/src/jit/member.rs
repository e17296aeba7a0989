//! The memberships and string operators that are not pure leaves (see
//! `leaf.rs`): `in` lists of long strings or versions, list fields,
//! substrings, regexes and case-insensitive operators, all through helpers.

use cranelift_codegen::ir::{types, Block, InstBuilder, MemFlagsData, Value};
use rustc_hash::FxHashSet;
use vexil_ir::{Const, ConstSet, Operand, OperandType, StringOp};

use super::abi::{SLOT_A, SLOT_AUX, SLOT_B};
use super::cond::{src, Src};
use super::helpers::{str_op_code, STR_OP_CI, STR_OP_RHS_LOWERED};
use super::lower::{CompileError, FnGen, Result};
use super::module::Helper;
use super::tables::SemverSet;
use crate::context::PackedSemver;
use crate::list_set::ListSet;

enum Side {
    Field(u32),
    Const(String),
}

impl FnGen<'_, '_, '_> {
    /// `operand in [..]` where the list is not probed inline.
    pub fn in_set(
        &mut self,
        operand: &Operand,
        set: &ConstSet,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        let Some(s) = src(operand) else {
            return self.excluded("`in` on a constant", u);
        };
        match set {
            ConstSet::String(items) => {
                let Src::Field(slot) = s else {
                    return self.excluded("a string `in` on `now`", u);
                };
                self.present(slot, u);
                let set: FxHashSet<Box<[u8]>> =
                    items.iter().map(|s| Box::from(s.as_bytes())).collect();
                let set = self.c.tables.str_set(set);
                let set = self.iconst(set);
                let (p, n) = self.str_of(slot);
                let hit = self.call(Helper::StrInSet, &[set, p, n])?;
                self.branch(hit, t, f);
            }
            ConstSet::Enum(items) => {
                // An enum of more than 64 values: a table of its size.
                let n = match self.kind(s) {
                    Some(OperandType::Enum(n)) => n,
                    _ => 0,
                };
                let mut holds = vec![false; n];
                for &i in items {
                    if let Some(h) = holds.get_mut(i as usize) {
                        *h = true;
                    }
                }
                self.read(s, u);
                let w = self.word(s);
                let hit = self.value_in(w, &holds, false);
                self.branch(hit, t, f);
            }
            ConstSet::Semver(items) => {
                let Src::Field(slot) = s else {
                    return self.excluded("a version `in` on `now`", u);
                };
                // Every version of a valid bundle packs; one that did not
                // would be left out, as the interpreter does.
                debug_assert!(
                    items.iter().all(|v| v.in_range()),
                    "validation lets through a version out of range"
                );
                let mut set = SemverSet(Default::default());
                for v in items {
                    if let Some(p) = PackedSemver::new(&v.0) {
                        set.0.entry((p.hi, p.lo)).or_default().push(p.pre);
                    }
                }
                self.present(slot, u);
                let set = self.c.tables.semver_set(set);
                let set = self.iconst(set);
                let ctx = self.ctx();
                let a = self.slot_load(slot, SLOT_A, types::I64);
                let b = self.slot_load(slot, SLOT_B, types::I64);
                let aux = self.slot_load(slot, SLOT_AUX, types::I32);
                let hit = self.call(Helper::SemverInSet, &[set, ctx, a, b, aux])?;
                self.branch(hit, t, f);
            }
            _ => return Err(CompileError("a pure `in` reached the general path".into())),
        }
        Ok(())
    }

    /// `value in list_field`.
    pub fn list_contains(
        &mut self,
        list: u32,
        value: &Operand,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        // Decide every shape validation excludes before emitting code.
        let value_kind = match value {
            Operand::Field(s) => match self.kind(Src::Field(*s)) {
                None => return self.excluded("a list membership of a list", u),
                k => k,
            },
            _ => None,
        };
        if let Operand::Const(Const::Ip(_)) = value {
            return self.excluded("an address in a list (no list holds addresses)", u);
        }
        let version = match value {
            Operand::Const(Const::Semver(v)) => match PackedSemver::new(&v.0) {
                Some(k) => Some(k),
                None => return self.excluded("a version out of range", u),
            },
            _ => None,
        };
        let (items, n) = self.list_items(list, u);
        let word = |g: &mut Self, key: Value, as_bool: i64| -> Result<Value> {
            let as_bool = g.b.ins().iconst(types::I32, as_bool);
            g.call(Helper::ListHasWord, &[items, n, key, as_bool])
        };
        let hit = match (value, value_kind) {
            (Operand::Const(c), _) => match c {
                Const::String(k) => {
                    let text = self.text();
                    let kp = self.c.tables.bytes(k.as_bytes());
                    let kp = self.iconst(kp);
                    let kn = self.iconst(k.len() as i64);
                    self.call(Helper::ListHasStr, &[items, n, text, kp, kn])?
                }
                Const::Int(i) | Const::Timestamp(i) => {
                    let key = self.iconst(*i);
                    word(self, key, 0)?
                }
                Const::Enum(e) => {
                    let key = self.iconst(i64::from(*e));
                    word(self, key, 0)?
                }
                Const::Bool(b) => {
                    let key = self.iconst(i64::from(*b));
                    word(self, key, 1)?
                }
                Const::Float(x) => {
                    let x = self.b.ins().f64const(*x);
                    let exact = self.b.ins().iconst(types::I32, 1);
                    self.call(Helper::ListHasFloat, &[items, n, x, exact])?
                }
                Const::Ip(_) => {
                    return Err(CompileError("an address in a list lost on the way".into()))
                }
                Const::Semver(_) => {
                    let Some(k) = version else {
                        return Err(CompileError("a version lost on the way".into()));
                    };
                    let kp = self.c.tables.version(k);
                    let kp = self.iconst(kp);
                    let ctx = self.ctx();
                    self.call(Helper::ListHasVersion, &[ctx, items, n, kp])?
                }
            },
            (Operand::Now | Operand::NowOffset(_), _) => {
                let offset = match value {
                    Operand::NowOffset(offset) => *offset,
                    _ => 0,
                };
                let now = self.word(Src::Now(offset));
                word(self, now, 0)?
            }
            (Operand::Field(slot), Some(kind)) => {
                let slot = *slot;
                self.present(slot, u);
                let a = self.slot_load(slot, SLOT_A, types::I64);
                match kind {
                    OperandType::Float => {
                        let x = self.b.ins().bitcast(types::F64, MemFlagsData::new(), a);
                        let exact = self.b.ins().iconst(types::I32, 0);
                        self.call(Helper::ListHasFloat, &[items, n, x, exact])?
                    }
                    OperandType::String => {
                        let (p, m) = self.str_of(slot);
                        let text = self.text();
                        self.call(Helper::ListHasStr, &[items, n, text, p, m])?
                    }
                    OperandType::Semver => {
                        let ctx = self.ctx();
                        let b = self.slot_load(slot, SLOT_B, types::I64);
                        let aux = self.slot_load(slot, SLOT_AUX, types::I32);
                        self.call(Helper::ListHasVersionOf, &[ctx, items, n, a, b, aux])?
                    }
                    _ => word(self, a, 0)?,
                }
            }
            (Operand::Field(_), None) => {
                return Err(CompileError("a list value's type lost on the way".into()))
            }
        };
        self.branch(hit, t, f);
        Ok(())
    }

    /// The address of a list field's first item and their number, once
    /// it is present (else to `u`).
    fn list_items(&mut self, list: u32, u: Block) -> (Value, Value) {
        self.present(list, u);
        let first = self.slot_load(list, SLOT_A, types::I64);
        let n = self.slot_load(list, SLOT_B, types::I64);
        let items = self.items();
        let offset = self.b.ins().imul_imm_u(first, super::abi::SLOT_SIZE);
        (self.b.ins().iadd(items, offset), n)
    }

    /// `list contains any [..]` (`all` false) or `contains all [..]`, by
    /// the helper that runs the interpreter's own definition.
    pub fn list_set(
        &mut self,
        list: u32,
        set: &ConstSet,
        all: bool,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        if let ConstSet::Cidr(_) = set {
            return self.excluded("ranges against a list (no list holds addresses)", u);
        }
        let (items, n) = self.list_items(list, u);
        let set = self.c.tables.list_set(ListSet::new(set));
        let set = self.iconst(set);
        let ctx = self.ctx();
        let all = self.b.ins().iconst(types::I32, i64::from(all));
        let hit = self.call(Helper::ListHasSet, &[set, ctx, items, n, all])?;
        self.branch(hit, t, f);
        Ok(())
    }

    /// String operators and regexes.
    #[allow(clippy::too_many_arguments)]
    pub fn string_op(
        &mut self,
        lhs: &Operand,
        op: StringOp,
        ci: bool,
        rhs: &Operand,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        if op == StringOp::Matches {
            let (Some(Src::Field(slot)), Operand::Const(Const::String(pattern))) = (src(lhs), rhs)
            else {
                return self.excluded("`matches` without a field and a constant pattern", u);
            };
            let Some(re) = self.c.regex(pattern, ci) else {
                return self.excluded("a pattern it did not compile", u);
            };
            self.present(slot, u);
            let re = self.iconst(re);
            let (p, n) = self.str_of(slot);
            let hit = self.call(Helper::RegexMatch, &[re, p, n])?;
            self.branch(hit, t, f);
            return Ok(());
        }
        let side = |o: &Operand| -> Option<Side> {
            match o {
                Operand::Field(s) => Some(Side::Field(*s)),
                Operand::Const(Const::String(k)) => {
                    Some(Side::Const(if ci { k.to_lowercase() } else { k.clone() }))
                }
                _ => None,
            }
        };
        let (Some(l), Some(r)) = (side(lhs), side(rhs)) else {
            return self.excluded("a string operator on a non-string", u);
        };
        if let (Side::Field(slot), Side::Const(k), false, StringOp::Contains) = (&l, &r, ci, op) {
            // Case-sensitive `contains` a constant: a finder built at load.
            self.present(*slot, u);
            if k.is_empty() {
                self.jump(t);
                return Ok(());
            }
            let finder = self.c.tables.finder(k.as_bytes());
            let finder = self.iconst(finder);
            let (p, n) = self.str_of(*slot);
            let hit = self.call(Helper::Contains, &[finder, p, n])?;
            self.branch(hit, t, f);
            return Ok(());
        }
        let rhs_lowered = matches!(r, Side::Const(_));
        let (p, n) = self.side(&l, u);
        let (q, m) = self.side(&r, u);
        let mut flags = str_op_code(op);
        if ci {
            flags |= STR_OP_CI;
        }
        if rhs_lowered {
            flags |= STR_OP_RHS_LOWERED;
        }
        let flags = self.b.ins().iconst(types::I32, i64::from(flags));
        let hit = self.call(Helper::StrOp, &[flags, p, n, q, m])?;
        self.branch(hit, t, f);
        Ok(())
    }

    fn side(&mut self, s: &Side, u: Block) -> (Value, Value) {
        match s {
            Side::Field(slot) => {
                self.present(*slot, u);
                self.str_of(*slot)
            }
            Side::Const(k) => {
                let kp = self.c.tables.bytes(k.as_bytes());
                (self.iconst(kp), self.iconst(k.len() as i64))
            }
        }
    }
}
