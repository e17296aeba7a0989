//! Membership and string operators: `in` lists, list fields, prefixes,
//! suffixes, substrings and regexes.
//!
//! Strings are compared inline against constants of up to 64 bytes, a few
//! overlapping word loads XORed with the constant's words. An `in` list of
//! short strings (up to eight bytes, so country codes, plans, locales)
//! reads the string as one integer and probes a perfect hash table; longer
//! strings and very large lists go to a helper with a hash set.

use std::collections::BTreeSet;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Block, Endianness, InstBuilder, MemFlagsData, Value};
use rustc_hash::FxHashSet;
use vexil_ir::{Const, ConstSet, Operand, StringOp};

use super::abi::{SLOT_A, SLOT_AUX, SLOT_B};
use super::cond::{src, Kind, Src};
use super::helpers::{str_op_code, STR_OP_CI, STR_OP_RHS_LOWERED};
use super::lower::{CompileError, FnGen, Result, PURE};
use super::module::Helper;
use super::tables::{float_key, short_key, FloatSet, PerfectHash, SemverSet};
use crate::context::PackedSemver;

/// Loads from a context's text: unaligned, little-endian (constants are
/// laid out the same way), and never moved above the length checks that
/// keep them inside the text.
const TEXT: MemFlagsData = MemFlagsData::new()
    .with_notrap()
    .with_readonly()
    .with_endianness(Endianness::Little);

/// Constants longer than this compare through a helper.
const INLINE_BYTES: usize = 64;

/// Up to this many keys are compared one by one rather than hashed.
const FEW_KEYS: usize = 4;

/// Byte ranges `(offset, width)` that cover `len` bytes with loads of one
/// width, the last overlapping the one before when `len` is not a multiple.
fn chunks(len: usize) -> Vec<(usize, usize)> {
    let width = match len {
        0 => return Vec::new(),
        1 => 1,
        2..=3 => 2,
        4..=7 => 4,
        _ => 8,
    };
    let mut out: Vec<(usize, usize)> = (0..len / width).map(|i| (i * width, width)).collect();
    if !len.is_multiple_of(width) {
        out.push((len - width, width));
    }
    out
}

fn le_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(bytes) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

enum Side {
    Field(u32),
    Const(String),
}

impl FnGen<'_, '_, '_> {
    /// A zero-extended little-endian load of `width` bytes at `p + offset`.
    fn load_bytes(&mut self, p: Value, offset: usize, width: usize) -> Value {
        let off = offset as i32;
        match width {
            1 => self.b.ins().uload8(types::I64, TEXT, p, off),
            2 => self.b.ins().uload16(types::I64, TEXT, p, off),
            4 => self.b.ins().uload32(TEXT, p, off),
            8 => self.b.ins().load(types::I64, TEXT, p, off),
            // Three, five, six or seven bytes: a word, masked. The text's
            // padding keeps the word inside the allocation.
            _ => {
                let w = self.b.ins().load(types::I64, TEXT, p, off);
                let mask = (1u64 << (8 * width)) - 1;
                self.b.ins().band_imm_u(w, mask as i64)
            }
        }
    }

    /// Whether the bytes at `p` equal `k` (`k.len()` bytes readable at `p`).
    fn bytes_eq_const(&mut self, p: Value, k: &[u8]) -> Value {
        let mut diff: Option<Value> = None;
        for (offset, width) in chunks(k.len()) {
            let v = self.load_bytes(p, offset, width);
            let c = le_word(k.get(offset..offset + width).unwrap_or(&[]));
            let x = self.b.ins().bxor_imm_u(v, c as i64);
            diff = Some(match diff {
                Some(d) => self.b.ins().bor(d, x),
                None => x,
            });
        }
        match diff {
            Some(d) => self.b.ins().icmp_imm_u(IntCC::Equal, d, 0),
            None => self.b.ins().iconst(types::I8, 1),
        }
    }

    /// Branch on a present string slot being equal to `k`.
    pub fn str_eq_const(&mut self, slot: u32, k: &[u8], t: Block, f: Block) -> Result<()> {
        let (p, n) = self.str_of(slot);
        let same_len = self.b.ins().icmp_imm_u(IntCC::Equal, n, k.len() as i64);
        if k.is_empty() {
            self.branch(same_len, t, f);
            return Ok(());
        }
        let compare = self.fresh();
        self.b.ins().brif(same_len, compare, &[], f, &[]);
        self.switch(compare);
        let eq = if k.len() <= INLINE_BYTES {
            self.bytes_eq_const(p, k)
        } else {
            let kp = self.c.tables.bytes(k);
            let kp = self.iconst(kp);
            let ord = self.call(Helper::StrCmp, &[p, n, kp, n])?;
            self.b.ins().icmp_imm_u(IntCC::Equal, ord, 0)
        };
        self.branch(eq, t, f);
        Ok(())
    }

    /// Branch on a key being one of `keys`.
    fn member_words(&mut self, key: Value, keys: &[u64], t: Block, f: Block) -> Result<()> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            self.jump(f);
            return Ok(());
        }
        if keys.len() <= FEW_KEYS {
            let mut any: Option<Value> = None;
            for k in &keys {
                let eq = self.b.ins().icmp_imm_u(IntCC::Equal, key, *k as i64);
                any = Some(match any {
                    Some(a) => self.b.ins().bor(a, eq),
                    None => eq,
                });
            }
            if let Some(any) = any {
                self.branch(any, t, f);
            }
            return Ok(());
        }
        if let Some(ph) = PerfectHash::build(&keys) {
            let table = self.c.tables.words(ph.table);
            let table = self.iconst(table);
            let h = self.b.ins().imul_imm_u(key, ph.multiplier as i64);
            let h = self.b.ins().ushr_imm_u(h, i64::from(ph.shift));
            let offset = self.b.ins().ishl_imm_u(h, 3);
            let addr = self.b.ins().iadd(table, offset);
            // Any hash indexes inside the table, so the load may move.
            let entry = self.b.ins().load(types::I64, PURE, addr, 0);
            let hit = self.b.ins().icmp(IntCC::Equal, entry, key);
            self.branch(hit, t, f);
            return Ok(());
        }
        let set: FxHashSet<u64> = keys.into_iter().collect();
        let set = self.c.tables.word_set(set);
        let set = self.iconst(set);
        let hit = self.call(Helper::WordInSet, &[set, key])?;
        self.branch(hit, t, f);
        Ok(())
    }

    /// `operand in [..]`.
    pub fn in_set(
        &mut self,
        operand: &Operand,
        set: &ConstSet,
        t: Block,
        f: Block,
        u: Block,
    ) -> Result<()> {
        let s = src(operand).ok_or_else(|| CompileError::Program("`in` on a constant".into()))?;
        match set {
            ConstSet::String(items) => {
                let Src::Field(slot) = s else {
                    return Err(CompileError::Program("string `in` on `now`".into()));
                };
                self.present(slot, u);
                self.str_in_set(slot, items, t, f)?;
            }
            ConstSet::Int(items) | ConstSet::Timestamp(items) => {
                self.read(s, u);
                let key = self.word(s);
                let keys: Vec<u64> = items.iter().map(|i| *i as u64).collect();
                self.member_words(key, &keys, t, f)?;
            }
            ConstSet::Float(items) => {
                self.read(s, u);
                let w = self.word(s);
                let x = self.b.ins().bitcast(types::F64, MemFlagsData::new(), w);
                if items.len() <= 8 {
                    let mut any = self.b.ins().iconst(types::I8, 0);
                    for k in items {
                        let k = self.b.ins().f64const(*k);
                        let eq = self.b.ins().fcmp(FloatCC::Equal, x, k);
                        any = self.b.ins().bor(any, eq);
                    }
                    self.branch(any, t, f);
                } else {
                    let keys = items
                        .iter()
                        .filter(|k| !k.is_nan())
                        .map(|k| float_key(*k))
                        .collect();
                    let set = self.c.tables.float_set(FloatSet(keys));
                    let set = self.iconst(set);
                    let hit = self.call(Helper::FloatInSet, &[set, x])?;
                    self.branch(hit, t, f);
                }
            }
            ConstSet::Enum(items) => {
                // Indices outside the enum are in no set (as a mask of the
                // enum's size in the interpreter).
                let n = match self.kind(s) {
                    Kind::Enum(n) => n,
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
            ConstSet::Bool(items) => {
                let (has_false, has_true) = (items.contains(&false), items.contains(&true));
                self.read(s, u);
                match (has_false, has_true) {
                    (true, true) => self.jump(t),
                    (false, false) => self.jump(f),
                    (false, true) => {
                        let w = self.word(s);
                        self.branch(w, t, f);
                    }
                    (true, false) => {
                        let w = self.word(s);
                        self.branch(w, f, t);
                    }
                }
            }
            ConstSet::Semver(items) => {
                let Src::Field(slot) = s else {
                    return Err(CompileError::Program("version `in` on `now`".into()));
                };
                // Versions out of range are left out, as the interpreter does.
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
        }
        Ok(())
    }

    /// A present string slot in a list of strings.
    fn str_in_set(&mut self, slot: u32, items: &[String], t: Block, f: Block) -> Result<()> {
        let set: BTreeSet<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
        let Some(first) = set.iter().next() else {
            self.jump(f);
            return Ok(());
        };
        let len = first.len();
        let (p, n) = self.str_of(slot);
        if set.iter().all(|s| s.len() == len) && len <= 8 {
            // One length: the string is a word of that many bytes.
            let right_len = self.b.ins().icmp_imm_u(IntCC::Equal, n, len as i64);
            if len == 0 {
                self.branch(right_len, t, f);
                return Ok(());
            }
            let probe = self.fresh();
            self.b.ins().brif(right_len, probe, &[], f, &[]);
            self.switch(probe);
            let key = self.load_bytes(p, 0, len);
            let keys: Vec<u64> = set.iter().map(|s| short_key(s, false)).collect();
            return self.member_words(key, &keys, t, f);
        }
        if set.iter().all(|s| s.len() <= 7) {
            // Mixed short lengths: the bytes, masked, with the length on top.
            let short = self
                .b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, n, 7);
            let probe = self.fresh();
            self.b.ins().brif(short, probe, &[], f, &[]);
            self.switch(probe);
            let w = self.b.ins().load(types::I64, TEXT, p, 0);
            let bits = self.b.ins().ishl_imm_u(n, 3);
            let one = self.iconst(1);
            let mask = self.b.ins().ishl(one, bits);
            let mask = self.b.ins().iadd_imm_s(mask, -1);
            let bytes = self.b.ins().band(w, mask);
            let len = self.b.ins().ishl_imm_u(n, 56);
            let key = self.b.ins().bor(bytes, len);
            let keys: Vec<u64> = set.iter().map(|s| short_key(s, true)).collect();
            return self.member_words(key, &keys, t, f);
        }
        let set: FxHashSet<Box<[u8]>> = set.into_iter().map(Box::from).collect();
        let set = self.c.tables.str_set(set);
        let set = self.iconst(set);
        let hit = self.call(Helper::StrInSet, &[set, p, n])?;
        self.branch(hit, t, f);
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
        // Decide everything that can fail before emitting code.
        let value_kind = match value {
            Operand::Field(s) => match self.kind(Src::Field(*s)) {
                Kind::List | Kind::Unknown => {
                    return Err(CompileError::Program("list of unsupported type".into()))
                }
                k => Some(k),
            },
            _ => None,
        };
        let version = match value {
            Operand::Const(Const::Semver(v)) => Some(
                PackedSemver::new(&v.0)
                    .ok_or_else(|| CompileError::Program("version out of range".into()))?,
            ),
            _ => None,
        };
        self.present(list, u);
        let first = self.slot_load(list, SLOT_A, types::I64);
        let n = self.slot_load(list, SLOT_B, types::I64);
        let items = self.items();
        let offset = self.b.ins().imul_imm_u(first, super::abi::SLOT_SIZE);
        let items = self.b.ins().iadd(items, offset);
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
                Const::Semver(_) => {
                    let Some(k) = version else {
                        return Err(CompileError::Program("version out of range".into()));
                    };
                    let kp = self.c.tables.version(k);
                    let kp = self.iconst(kp);
                    let ctx = self.ctx();
                    self.call(Helper::ListHasVersion, &[ctx, items, n, kp])?
                }
            },
            (Operand::Now, _) => {
                let now = self.now;
                word(self, now, 0)?
            }
            (Operand::Field(slot), Some(kind)) => {
                let slot = *slot;
                self.present(slot, u);
                let a = self.slot_load(slot, SLOT_A, types::I64);
                match kind {
                    Kind::Float => {
                        let x = self.b.ins().bitcast(types::F64, MemFlagsData::new(), a);
                        let exact = self.b.ins().iconst(types::I32, 0);
                        self.call(Helper::ListHasFloat, &[items, n, x, exact])?
                    }
                    Kind::Str => {
                        let (p, m) = self.str_of(slot);
                        let text = self.text();
                        self.call(Helper::ListHasStr, &[items, n, text, p, m])?
                    }
                    Kind::Semver => {
                        let ctx = self.ctx();
                        let b = self.slot_load(slot, SLOT_B, types::I64);
                        let aux = self.slot_load(slot, SLOT_AUX, types::I32);
                        self.call(Helper::ListHasVersionOf, &[ctx, items, n, a, b, aux])?
                    }
                    _ => word(self, a, 0)?,
                }
            }
            (Operand::Field(_), None) => {
                return Err(CompileError::Program("list of unsupported type".into()))
            }
        };
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
                return Err(CompileError::Program(
                    "`matches` needs a field and a constant pattern".into(),
                ));
            };
            let re = self.c.regex(pattern, ci)?;
            self.present(slot, u);
            let re = self.iconst(re);
            let (p, n) = self.str_of(slot);
            let hit = self.call(Helper::RegexMatch, &[re, p, n])?;
            self.branch(hit, t, f);
            return Ok(());
        }
        let side = |o: &Operand| -> Result<Side> {
            match o {
                Operand::Field(s) => Ok(Side::Field(*s)),
                Operand::Const(Const::String(k)) => {
                    Ok(Side::Const(if ci { k.to_lowercase() } else { k.clone() }))
                }
                _ => Err(CompileError::Program(
                    "string operator on a non-string".into(),
                )),
            }
        };
        let (l, r) = (side(lhs)?, side(rhs)?);
        if let (Side::Field(slot), Side::Const(k), false) = (&l, &r, ci) {
            if k.len() <= INLINE_BYTES {
                self.present(*slot, u);
                return self.affix(*slot, op, k.as_bytes(), t, f);
            }
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

    /// `starts_with`, `ends_with` or `contains` a constant, case-sensitive.
    fn affix(&mut self, slot: u32, op: StringOp, k: &[u8], t: Block, f: Block) -> Result<()> {
        if k.is_empty() {
            self.jump(t);
            return Ok(());
        }
        let (p, n) = self.str_of(slot);
        if op == StringOp::Contains {
            let finder = self.c.tables.finder(k);
            let finder = self.iconst(finder);
            let hit = self.call(Helper::Contains, &[finder, p, n])?;
            self.branch(hit, t, f);
            return Ok(());
        }
        let long_enough =
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, n, k.len() as i64);
        let compare = self.fresh();
        self.b.ins().brif(long_enough, compare, &[], f, &[]);
        self.switch(compare);
        let at = if op == StringOp::EndsWith {
            let end = self.b.ins().iadd(p, n);
            self.b.ins().iadd_imm_s(end, -(k.len() as i64))
        } else {
            p
        };
        let eq = self.bytes_eq_const(at, k);
        self.branch(eq, t, f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_cover_every_byte_once_or_twice() {
        for len in 0..=64 {
            let mut seen = vec![0u8; len];
            for (off, width) in chunks(len) {
                assert!(off + width <= len, "{len}: {off}+{width}");
                for s in &mut seen[off..off + width] {
                    *s += 1;
                }
            }
            assert!(seen.iter().all(|s| *s >= 1), "{len}");
        }
    }
}
