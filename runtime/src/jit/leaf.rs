//! Pure leaves: comparisons and memberships that take a few instructions
//! over present fields, with no branch and no helper that could have an
//! effect. The exact path checks presence first and then computes them;
//! the fast path (`fast.rs`) computes them before knowing whether the
//! fields are present, so every load from the text is kept inside the
//! text by a guard: when the guard is off, the load reads a static buffer
//! of zeros instead.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Value};
use vexil_ir::{CompareOp, Const, ConstSet, Expr, Operand, OperandType, StringOp};

use super::abi::{SLOT_AUX, SLOT_B};
use super::cond::{flip, float_cc, int_cc, src, Src};
use super::lower::{Compiler, FnGen, Result, PURE};
use super::module::Helper;
use super::tables::{float_key, short_key, FloatSet, PerfectHash};
use crate::context::{PackedSemver, STR_PREFIX_BYTES};

/// Loads from a context's text: unaligned, little-endian (constants are
/// laid out the same way), never moved above what keeps them in bounds.
const TEXT: MemFlagsData = MemFlagsData::new()
    .with_notrap()
    .with_readonly()
    .with_endianness(Endianness::Little);

/// Constants up to this length compare inline.
pub(crate) const INLINE_BYTES: usize = 64;

/// Up to this many keys are compared one by one rather than hashed.
const FEW_KEYS: usize = 4;

/// Read instead of a string whose guard is off: long enough for any
/// inline comparison, plus a word.
static ZEROS: [u8; INLINE_BYTES + 8] = [0; INLINE_BYTES + 8];

/// Byte ranges `(offset, width)` covering `len` bytes with loads of one
/// width, the last overlapping the one before when `len` is not a multiple.
pub(crate) fn chunks(len: usize) -> Vec<(usize, usize)> {
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

/// The keys of short strings, as `short_key` makes them.
fn short_keys(items: &[String], with_len: bool) -> Vec<u64> {
    items
        .iter()
        .map(|s| short_key(s.as_bytes(), with_len))
        .collect()
}

/// How an `in` list of strings is probed.
pub(crate) enum StrPlan {
    /// No strings: never a member.
    Empty,
    /// All of one length (at most 8): the string is a word of that length.
    Fixed(usize),
    /// All of at most 7 bytes: the bytes, and the length in the top byte.
    Short,
    /// Longer strings: a helper with a hash set.
    Helper,
}

pub(crate) fn str_plan(items: &[String]) -> StrPlan {
    let Some(first) = items.first() else {
        return StrPlan::Empty;
    };
    let len = first.len();
    if len <= 8 && items.iter().all(|s| s.len() == len) {
        StrPlan::Fixed(len)
    } else if items.iter().all(|s| s.len() <= 7) {
        StrPlan::Short
    } else {
        StrPlan::Helper
    }
}

impl Compiler<'_> {
    fn kind(&self, s: Src) -> Option<OperandType> {
        self.operand_type(s)
    }

    /// If `e` is a pure leaf: the sources it reads, in the order the
    /// interpreter reads them.
    pub fn pure_reads(&self, e: &Expr) -> Option<Vec<Src>> {
        match e {
            Expr::Field(slot) => Some(vec![Src::Field(*slot)]),
            Expr::Compare { lhs, rhs, .. } => match (src(lhs), src(rhs), lhs, rhs) {
                (Some(a), Some(b), _, _) => {
                    let ty = self
                        .kind(a)
                        .zip(self.kind(b))
                        .and_then(|(ka, kb)| OperandType::compared_at(ka, kb));
                    matches!(
                        ty,
                        Some(
                            OperandType::Float
                                | OperandType::Int
                                | OperandType::Timestamp
                                | OperandType::Bool
                                | OperandType::Enum(_)
                        )
                    )
                    .then(|| vec![a, b])
                }
                (Some(s), None, _, Operand::Const(k)) | (None, Some(s), Operand::Const(k), _) => {
                    let op_eq = match e {
                        Expr::Compare { op, .. } => matches!(op, CompareOp::Eq | CompareOp::Ne),
                        _ => false,
                    };
                    let pure = match k {
                        Const::String(k) => {
                            op_eq && k.len() <= INLINE_BYTES && matches!(s, Src::Field(_))
                        }
                        Const::Semver(v) => {
                            matches!(s, Src::Field(_))
                                && PackedSemver::new(&v.0).is_some_and(|p| p.pre.is_none())
                        }
                        Const::Ip(_) => matches!(s, Src::Field(_)),
                        _ => true,
                    };
                    pure.then(|| vec![s])
                }
                _ => None,
            },
            Expr::InSet { operand, set } => {
                let s = src(operand)?;
                let pure = match set {
                    ConstSet::String(items) => {
                        matches!(s, Src::Field(_)) && !matches!(str_plan(items), StrPlan::Helper)
                    }
                    ConstSet::Int(_) | ConstSet::Timestamp(_) | ConstSet::Float(_) => true,
                    ConstSet::Bool(_) => true,
                    ConstSet::Enum(_) => match self.kind(s) {
                        Some(OperandType::Enum(n)) => n <= 64,
                        _ => true,
                    },
                    ConstSet::Semver(_) => false,
                    ConstSet::Cidr(_) => matches!(s, Src::Field(_)),
                };
                pure.then(|| vec![s])
            }
            Expr::StringOp {
                lhs: Operand::Field(slot),
                op: StringOp::StartsWith | StringOp::EndsWith,
                case_insensitive: false,
                rhs: Operand::Const(Const::String(k)),
            } if k.len() <= INLINE_BYTES => Some(vec![Src::Field(*slot)]),
            _ => None,
        }
    }
}

impl FnGen<'_, '_, '_> {
    pub fn pure_reads(&self, e: &Expr) -> Option<Vec<Src>> {
        self.c.pure_reads(e)
    }

    /// The value (an I8, 0 or 1) of a pure leaf, given its fields are
    /// present; `guard`, when given, says whether they are, and keeps text
    /// loads in bounds when they are not.
    pub fn pure_value(&mut self, e: &Expr, guard: Option<Value>) -> Result<Value> {
        match e {
            Expr::Field(slot) => {
                let a = self.word(Src::Field(*slot));
                Ok(self.b.ins().icmp_imm_u(IntCC::NotEqual, a, 0))
            }
            Expr::Compare { lhs, op, rhs } => match (src(lhs), src(rhs), lhs, rhs) {
                (Some(a), Some(b), _, _) => Ok(self.sources_value(a, *op, b)),
                (Some(s), None, _, Operand::Const(k)) => self.const_value(s, *op, k, guard),
                (None, Some(s), Operand::Const(k), _) => self.const_value(s, flip(*op), k, guard),
                _ => Ok(self.b.ins().iconst(types::I8, 0)),
            },
            Expr::InSet { operand, set } => match src(operand) {
                Some(s) => self.in_set_value(s, set, guard),
                None => Ok(self.b.ins().iconst(types::I8, 0)),
            },
            Expr::StringOp {
                lhs: Operand::Field(slot),
                op,
                rhs: Operand::Const(Const::String(k)),
                ..
            } => Ok(self.affix_value(*slot, *op, k.as_bytes(), guard)),
            _ => Ok(self.b.ins().iconst(types::I8, 0)),
        }
    }

    pub fn as_float(&mut self, word: Value, is_int: bool) -> Value {
        if is_int {
            self.b.ins().fcvt_from_sint(types::F64, word)
        } else {
            self.b.ins().bitcast(types::F64, MemFlagsData::new(), word)
        }
    }

    /// Two fields (or a field and `now`) at a numeric, bool or enum type.
    fn sources_value(&mut self, a: Src, op: CompareOp, b: Src) -> Value {
        let (ka, kb) = (self.kind(a), self.kind(b));
        let (wa, wb) = (self.word(a), self.word(b));
        let float = Some(OperandType::Float);
        if ka == float || kb == float {
            let x = self.as_float(wa, ka == Some(OperandType::Int));
            let y = self.as_float(wb, kb == Some(OperandType::Int));
            return self.b.ins().fcmp(float_cc(op), x, y);
        }
        let signed = matches!(ka, Some(OperandType::Int | OperandType::Timestamp));
        self.b.ins().icmp(int_cc(op, signed), wa, wb)
    }

    /// A field (or `now`) against a constant, dispatched on the constant as
    /// the interpreter does: an int constant against a float field compares
    /// as floats, and a float constant against an int field too.
    fn const_value(
        &mut self,
        s: Src,
        op: CompareOp,
        k: &Const,
        guard: Option<Value>,
    ) -> Result<Value> {
        let kind = self.kind(s);
        if let Const::String(k) = k {
            // Through its length, prefix and text: not its first word.
            let Src::Field(slot) = s else {
                return Ok(self.b.ins().iconst(types::I8, 0));
            };
            let eq = self.str_eq_value(slot, k.as_bytes(), guard);
            return Ok(if op == CompareOp::Ne {
                self.b.ins().bxor_imm_u(eq, 1)
            } else {
                eq
            });
        }
        let w = self.word(s);
        Ok(match k {
            Const::Int(i) if kind == Some(OperandType::Float) => {
                let x = self.as_float(w, false);
                let y = self.b.ins().f64const(*i as f64);
                self.b.ins().fcmp(float_cc(op), x, y)
            }
            Const::Int(i) | Const::Timestamp(i) => self.b.ins().icmp_imm_s(int_cc(op, true), w, *i),
            Const::Float(y) => {
                let x = self.as_float(w, kind == Some(OperandType::Int));
                let y = self.b.ins().f64const(*y);
                self.b.ins().fcmp(float_cc(op), x, y)
            }
            Const::Enum(e) => {
                let index = self.b.ins().ireduce(types::I32, w);
                self.b
                    .ins()
                    .icmp_imm_u(int_cc(op, false), index, i64::from(*e))
            }
            Const::Bool(k) => {
                let v = self.b.ins().icmp_imm_u(IntCC::NotEqual, w, 0);
                self.b.ins().icmp_imm_u(int_cc(op, false), v, i64::from(*k))
            }
            // Handled above.
            Const::String(_) => self.b.ins().iconst(types::I8, 0),
            Const::Semver(v) => {
                let (Src::Field(slot), Some(k)) = (s, PackedSemver::new(&v.0)) else {
                    return Ok(self.b.ins().iconst(types::I8, 0));
                };
                // A release constant: equal words are equal versions.
                let lo = self.slot_load(slot, super::abi::SLOT_B, types::I64);
                let (k_hi, k_lo) = (self.iconst(k.hi as i64), self.iconst(k.lo as i64));
                self.lex(w, lo, k_hi, k_lo, op)
            }
            Const::Ip(ip) => {
                let Src::Field(slot) = s else {
                    return Ok(self.b.ins().iconst(types::I8, 0));
                };
                // Two words, the high one first: `==` and `!=` only.
                let lo = self.slot_load(slot, super::abi::SLOT_B, types::I64);
                let (hi, low) = ip.words();
                let (k_hi, k_lo) = (self.iconst(hi as i64), self.iconst(low as i64));
                self.lex(w, lo, k_hi, k_lo, op)
            }
        })
    }

    /// `(a1, b1) OP (a2, b2)` in lexicographic, unsigned order.
    pub fn lex(&mut self, a1: Value, b1: Value, a2: Value, b2: Value, op: CompareOp) -> Value {
        match op {
            CompareOp::Eq | CompareOp::Ne => {
                let eq_a = self.b.ins().icmp(IntCC::Equal, a1, a2);
                let eq_b = self.b.ins().icmp(IntCC::Equal, b1, b2);
                let eq = self.b.ins().band(eq_a, eq_b);
                if op == CompareOp::Eq {
                    eq
                } else {
                    self.b.ins().bxor_imm_u(eq, 1)
                }
            }
            _ => {
                // One 128-bit comparison, `a` the high word: on x86-64 a
                // compare and a subtract-with-borrow.
                let x = self.b.ins().iconcat(b1, a1);
                let y = self.b.ins().iconcat(b2, a2);
                self.b.ins().icmp(int_cc(op, false), x, y)
            }
        }
    }

    /// `cond` and the guard.
    fn guarded(&mut self, cond: Value, guard: Option<Value>) -> Value {
        match guard {
            Some(g) => self.b.ins().band(cond, g),
            None => cond,
        }
    }

    /// `p` when `cond` holds, else the zero buffer.
    fn safe_ptr(&mut self, cond: Value, p: Value) -> Value {
        let zeros = self.iconst(ZEROS.as_ptr() as i64);
        self.b.ins().select(cond, p, zeros)
    }

    /// A zero-extended little-endian load of `width` bytes at `p + offset`.
    fn load_bytes(&mut self, p: Value, offset: usize, width: usize) -> Value {
        let off = offset as i32;
        match width {
            1 => self.b.ins().uload8(types::I64, TEXT, p, off),
            2 => self.b.ins().uload16(types::I64, TEXT, p, off),
            4 => self.b.ins().uload32(TEXT, p, off),
            8 => self.b.ins().load(types::I64, TEXT, p, off),
            // Three, five, six or seven bytes: a word, masked. The text's
            // padding (and the zero buffer's) keeps the word readable.
            _ => {
                let w = self.b.ins().load(types::I64, TEXT, p, off);
                let mask = (1u64 << (8 * width)) - 1;
                self.b.ins().band_imm_u(w, mask as i64)
            }
        }
    }

    /// Whether the `k.len()` bytes at `p` equal `k`.
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

    /// A string slot's first bytes, as its `aux` keeps them (I64).
    fn str_prefix(&mut self, slot: u32) -> Value {
        let aux = self.slot_load(slot, SLOT_AUX, types::I32);
        self.b.ins().uextend(types::I64, aux)
    }

    /// A string slot equal to `k` (`whole`) or starting with it, `k` at
    /// most `STR_PREFIX_BYTES` long: the slot's length and prefix answer.
    fn prefix_value(&mut self, slot: u32, k: &[u8], whole: bool) -> Value {
        let n = self.slot_load(slot, SLOT_B, types::I64);
        let len_cc = if whole {
            IntCC::Equal
        } else {
            IntCC::UnsignedGreaterThanOrEqual
        };
        let len_ok = self.b.ins().icmp_imm_u(len_cc, n, k.len() as i64);
        let mut head = self.str_prefix(slot);
        if !whole {
            // Past `k`'s length, the prefix holds the string's next
            // bytes: masked off.
            let mask = (1u64 << (8 * k.len())) - 1;
            head = self.b.ins().band_imm_u(head, mask as i64);
        }
        let eq = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, head, le_word(k) as i64);
        self.b.ins().band(len_ok, eq)
    }

    /// A string slot equal to `k` (at most `INLINE_BYTES`). Up to
    /// `STR_PREFIX_BYTES`, the slot alone answers: its length and prefix.
    fn str_eq_value(&mut self, slot: u32, k: &[u8], guard: Option<Value>) -> Value {
        if k.len() <= STR_PREFIX_BYTES {
            return self.prefix_value(slot, k, true);
        }
        let (p, n) = self.str_of(slot);
        let same_len = self.b.ins().icmp_imm_u(IntCC::Equal, n, k.len() as i64);
        let ok = self.guarded(same_len, guard);
        if k.is_empty() {
            return same_len;
        }
        let at = self.safe_ptr(ok, p);
        let eq = self.bytes_eq_const(at, k);
        self.b.ins().band(same_len, eq)
    }

    /// A string slot `starts_with` or `ends_with` `k`, case-sensitive.
    fn affix_value(&mut self, slot: u32, op: StringOp, k: &[u8], guard: Option<Value>) -> Value {
        if k.is_empty() {
            return self.b.ins().iconst(types::I8, 1);
        }
        if op == StringOp::StartsWith && k.len() <= STR_PREFIX_BYTES {
            return self.prefix_value(slot, k, false);
        }
        let (p, n) = self.str_of(slot);
        let long_enough =
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, n, k.len() as i64);
        let ok = self.guarded(long_enough, guard);
        let at = if op == StringOp::EndsWith {
            let end = self.b.ins().iadd(p, n);
            self.b.ins().iadd_imm_s(end, -(k.len() as i64))
        } else {
            p
        };
        let at = self.safe_ptr(ok, at);
        let eq = self.bytes_eq_const(at, k);
        self.b.ins().band(long_enough, eq)
    }

    /// Whether a key is one of `keys`.
    pub fn member_value(&mut self, key: Value, keys: &[u64]) -> Result<Value> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(self.b.ins().iconst(types::I8, 0));
        }
        if keys.len() <= FEW_KEYS {
            let mut any = self.b.ins().iconst(types::I8, 0);
            for k in &keys {
                let eq = self.b.ins().icmp_imm_u(IntCC::Equal, key, *k as i64);
                any = self.b.ins().bor(any, eq);
            }
            return Ok(any);
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
            return Ok(self.b.ins().icmp(IntCC::Equal, entry, key));
        }
        let set = self.c.tables.word_set(keys.into_iter().collect());
        let set = self.iconst(set);
        self.call(Helper::WordInSet, &[set, key])
    }

    fn in_set_value(&mut self, s: Src, set: &ConstSet, guard: Option<Value>) -> Result<Value> {
        Ok(match set {
            ConstSet::String(items) => match s {
                Src::Field(slot) => self.str_in_set_value(slot, items, guard)?,
                Src::Now(_) => self.b.ins().iconst(types::I8, 0),
            },
            ConstSet::Int(items) | ConstSet::Timestamp(items) => {
                let key = self.word(s);
                let keys: Vec<u64> = items.iter().map(|i| *i as u64).collect();
                self.member_value(key, &keys)?
            }
            ConstSet::Float(items) => {
                let w = self.word(s);
                let x = self.b.ins().bitcast(types::F64, MemFlagsData::new(), w);
                if items.len() <= 8 {
                    let mut any = self.b.ins().iconst(types::I8, 0);
                    for k in items {
                        let k = self.b.ins().f64const(*k);
                        let eq = self.b.ins().fcmp(FloatCC::Equal, x, k);
                        any = self.b.ins().bor(any, eq);
                    }
                    any
                } else {
                    let keys = items
                        .iter()
                        .filter(|k| !k.is_nan())
                        .map(|k| float_key(*k))
                        .collect();
                    let set = self.c.tables.float_set(FloatSet(keys));
                    let set = self.iconst(set);
                    self.call(Helper::FloatInSet, &[set, x])?
                }
            }
            ConstSet::Enum(items) => {
                // Indices outside the enum are in no set (as a mask of the
                // enum's size in the interpreter).
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
                let w = self.word(s);
                self.value_in(w, &holds, false)
            }
            ConstSet::Bool(items) => {
                let (has_false, has_true) = (items.contains(&false), items.contains(&true));
                let w = self.word(s);
                match (has_false, has_true) {
                    (true, true) => self.b.ins().iconst(types::I8, 1),
                    (false, false) => self.b.ins().iconst(types::I8, 0),
                    (false, true) => self.b.ins().icmp_imm_u(IntCC::NotEqual, w, 0),
                    (true, false) => self.b.ins().icmp_imm_u(IntCC::Equal, w, 0),
                }
            }
            ConstSet::Semver(_) => self.b.ins().iconst(types::I8, 0),
            ConstSet::Cidr(ranges) => match s {
                Src::Field(slot) => self.cidr_value(slot, ranges),
                Src::Now(_) => self.b.ins().iconst(types::I8, 0),
            },
        })
    }

    /// Whether an address slot is in any of `ranges`: per range, both
    /// words masked and compared, inline (a list of ranges is short).
    fn cidr_value(&mut self, slot: u32, ranges: &[vexil_ir::ip::Cidr]) -> Value {
        let hi = self.word(Src::Field(slot));
        let lo = self.slot_load(slot, super::abi::SLOT_B, types::I64);
        let mut any = self.b.ins().iconst(types::I8, 0);
        for r in ranges {
            let mask = r.mask();
            let net = r.net.0 & mask;
            let word_in = |g: &mut Self, w: Value, mask: u64, net: u64| -> Value {
                let masked = g.b.ins().band_imm_u(w, mask as i64);
                g.b.ins().icmp_imm_u(IntCC::Equal, masked, net as i64)
            };
            let h = word_in(self, hi, (mask >> 64) as u64, (net >> 64) as u64);
            let l = word_in(self, lo, mask as u64, net as u64);
            let both = self.b.ins().band(h, l);
            any = self.b.ins().bor(any, both);
        }
        any
    }

    /// A string slot in a list of short strings (see [`StrPlan`]).
    fn str_in_set_value(
        &mut self,
        slot: u32,
        items: &[String],
        guard: Option<Value>,
    ) -> Result<Value> {
        let mut items = items.to_vec();
        items.sort_unstable();
        items.dedup();
        let fits = items.iter().all(|s| s.len() <= STR_PREFIX_BYTES);
        let plan = str_plan(&items);
        if fits && matches!(plan, StrPlan::Fixed(_) | StrPlan::Short) {
            let n = self.slot_load(slot, SLOT_B, types::I64);
            return self.short_in_set_value(slot, n, &items, plan);
        }
        let (p, n) = self.str_of(slot);
        match plan {
            StrPlan::Empty | StrPlan::Helper => Ok(self.b.ins().iconst(types::I8, 0)),
            StrPlan::Fixed(len) => {
                let right_len = self.b.ins().icmp_imm_u(IntCC::Equal, n, len as i64);
                if len == 0 {
                    return Ok(right_len);
                }
                let ok = self.guarded(right_len, guard);
                let at = self.safe_ptr(ok, p);
                let key = self.load_bytes(at, 0, len);
                let hit = self.member_value(key, &short_keys(&items, false))?;
                Ok(self.b.ins().band(right_len, hit))
            }
            StrPlan::Short => {
                let short = self
                    .b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, n, 7);
                let ok = self.guarded(short, guard);
                let at = self.safe_ptr(ok, p);
                let w = self.b.ins().load(types::I64, TEXT, at, 0);
                // Beyond seven bytes the mask is meaningless, and unused.
                let bits = self.b.ins().ishl_imm_u(n, 3);
                let one = self.iconst(1);
                let mask = self.b.ins().ishl(one, bits);
                let mask = self.b.ins().iadd_imm_s(mask, -1);
                let bytes = self.b.ins().band(w, mask);
                let len = self.b.ins().ishl_imm_u(n, 56);
                let key = self.b.ins().bor(bytes, len);
                let hit = self.member_value(key, &short_keys(&items, true))?;
                Ok(self.b.ins().band(short, hit))
            }
        }
    }

    /// A string slot in a list of strings that all fit in a slot's prefix:
    /// so must the string, and the slot alone answers, with the keys the
    /// text path builds.
    fn short_in_set_value(
        &mut self,
        slot: u32,
        n: Value,
        items: &[String],
        plan: StrPlan,
    ) -> Result<Value> {
        let prefix = self.str_prefix(slot);
        let (fits, key, with_len) = match plan {
            StrPlan::Fixed(len) => {
                let right_len = self.b.ins().icmp_imm_u(IntCC::Equal, n, len as i64);
                (right_len, prefix, false)
            }
            _ => {
                let short = self.b.ins().icmp_imm_u(
                    IntCC::UnsignedLessThanOrEqual,
                    n,
                    STR_PREFIX_BYTES as i64,
                );
                let len = self.b.ins().ishl_imm_u(n, 56);
                (short, self.b.ins().bor(prefix, len), true)
            }
        };
        let hit = self.member_value(key, &short_keys(items, with_len))?;
        Ok(self.b.ins().band(fits, hit))
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
